import HoloIR
import XCTest

/// The chunked array the program database shares between versions behaves like an array.
final class ChunkedArrayTests: XCTestCase {
  func testRandomOperationsMatchAnArrayAndCopiesAreIndependent() {
    var generator = SplitMix(seed: 3)
    var chunked = ChunkedArray<Int>()
    var plain: [Int] = []
    var copies: [(ChunkedArray<Int>, [Int])] = []
    for step in 0..<5000 {
      switch generator.next(below: 10) {
      case 0..<5:
        chunked.append(step)
        plain.append(step)
      case 5..<7 where !plain.isEmpty:
        let position = generator.next(below: plain.count)
        chunked[position] = -step
        plain[position] = -step
      case 7 where !plain.isEmpty:
        let k = generator.next(below: min(plain.count, 300) + 1)
        chunked.removeLast(k)
        plain.removeLast(k)
      case 8:
        let count = plain.count + generator.next(below: 300)
        chunked.pad(to: count, with: 7)
        plain += repeatElement(7, count: count - plain.count)
      default:
        copies.append((chunked, plain))
      }
      XCTAssertEqual(chunked.count, plain.count)
    }
    XCTAssertEqual(Array(chunked), plain)
    // Every copy kept what it held when it was taken, whatever was written since.
    for (copy, expected) in copies { XCTAssertEqual(Array(copy), expected) }
  }

  func testInitialisersAndIndices() {
    XCTAssertEqual(Array(ChunkedArray(0..<1000)), Array(0..<1000))
    XCTAssertEqual(Array(ChunkedArray(repeating: 3, count: 513)), Array(repeating: 3, count: 513))
    XCTAssertTrue(ChunkedArray<Int>().isEmpty)
    XCTAssertEqual(ChunkedArray(0..<600).indices, 0..<600)
  }
}
