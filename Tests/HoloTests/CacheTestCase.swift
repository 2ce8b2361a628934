import Foundation
import XCTest

@testable import HoloCache

/// What the cache's test classes share: a scratch folder of their own per test, and keys
/// named by a text.
class CacheTestCase: XCTestCase {
  var directory = ""

  override func setUpWithError() throws {
    directory = try makeScratchFolder("holo-cache-tests")
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: directory)
  }

  func key(_ text: String) -> CacheKey {
    var builder = CacheKey.Builder(kind: "test")
    builder.add("name", text)
    return builder.key
  }
}
