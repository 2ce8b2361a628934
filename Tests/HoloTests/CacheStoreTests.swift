import Foundation
import Synchronization
import XCTest

@testable import HoloCache

/// The local store: keys, entry framing, round trips, damage, linked outputs, eviction,
/// concurrency, and `holoc cache stats|clean`.
final class CacheStoreTests: CacheTestCase {
  /// The files of one kind (`cas` or `ac`) in the store.
  private func entryFiles(_ kind: String, in directory: String? = nil) -> [String] {
    let root = (directory ?? self.directory) + "/" + kind
    let paths = FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []
    return paths.map { root + "/" + $0 }.filter {
      var isFolder: ObjCBool = false
      return FileManager.default.fileExists(atPath: $0, isDirectory: &isFolder)
        && !isFolder.boolValue
    }.sorted()
  }

  // MARK: Digests and keys

  func testDigestsAreSHA256() {
    // FIPS 180-2 examples.
    XCTAssertEqual(
      ContentDigest(of: Array("abc".utf8)).hex,
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    XCTAssertEqual(
      ContentDigest(of: []).hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    XCTAssertEqual(
      ContentDigest(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hex,
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    let digest = ContentDigest(of: Array("x".utf8))
    XCTAssertEqual(ContentDigest(hex: digest.hex), digest)
    XCTAssertEqual(ContentDigest(hex: digest.hex.uppercased()), digest)
    XCTAssertNil(ContentDigest(hex: "ab"))
    XCTAssertNil(ContentDigest(hex: String(repeating: "g", count: 64)))
  }

  func testKeysHashLengthPrefixedPartsInOrder() {
    func key(_ kind: String, _ parts: [(String, String)]) -> CacheKey {
      var builder = CacheKey.Builder(kind: kind)
      for (label, value) in parts { builder.add(label, value) }
      return builder.key
    }
    XCTAssertEqual(key("k", [("a", "b")]), key("k", [("a", "b")]))
    XCTAssertNotEqual(key("k", [("a", "bc")]), key("k", [("ab", "c")]))
    XCTAssertNotEqual(key("k", [("a", "b"), ("c", "d")]), key("k", [("c", "d"), ("a", "b")]))
    XCTAssertNotEqual(key("k", [("x", "")]), key("k", []))
    XCTAssertNotEqual(key("k", [("", "")]), key("k", []))
    XCTAssertNotEqual(key("k", [("a", "b")]), key("l", [("a", "b")]))
    var bytes = CacheKey.Builder(kind: "k")
    bytes.add("a", Array("b".utf8))
    XCTAssertEqual(bytes.key, key("k", [("a", "b")]), "text is hashed as its UTF-8")
  }

  // MARK: Entry formats

  func testActionResultsAreBazelProtobuf() throws {
    let digest = ContentDigest(of: Array("x".utf8))
    let digestMessage = [0x0a, 0x40] + Array(digest.hex.utf8) + [0x10, 0x01]
    let outputFile =
      [0x0a, 0x01, UInt8(ascii: "o"), 0x12, UInt8(digestMessage.count)] + digestMessage
    let expected = [0x12, UInt8(outputFile.count)] + outputFile
    let result = ActionResult(outputs: [CacheOutput(name: "o", bytes: Array("x".utf8))])
    XCTAssertEqual(result.encoded(), expected)
    XCTAssertEqual(ActionResult(decoding: expected), result)
    // Unknown fields (exit_code = 4, a fixed64, a string) are skipped.
    let withOthers =
      [0x20, 0x07] + expected + [0x39] + Array(repeating: 0, count: 8) + [0x42, 0x01, 0x41]
    XCTAssertEqual(ActionResult(decoding: withOthers), result)
    XCTAssertEqual(ActionResult(decoding: []), ActionResult(outputFiles: []))
    XCTAssertNil(ActionResult(decoding: Array(expected.dropLast())), "truncated")
    XCTAssertNil(ActionResult(decoding: [0x12, 0x02, 0x0a, 0x00]), "no digest")
    XCTAssertNil(ActionResult(decoding: [0x0f]), "wire type 7")
  }

  func testEntryFramingDetectsDamage() {
    let payload = Array("payload".utf8)
    let entry =
      EntryFormat.header(payloadCount: payload.count, digest: ContentDigest(of: payload)) + payload
    XCTAssertEqual(entry.count, EntryFormat.headerSize + payload.count)
    XCTAssertEqual(EntryFormat.payload(of: entry)?.payload, payload)
    for index in entry.indices {
      var damaged = entry
      damaged[index] ^= 0x01
      XCTAssertNil(EntryFormat.payload(of: damaged), "byte \(index) flipped")
    }
    for length in 0..<entry.count {
      XCTAssertNil(EntryFormat.payload(of: Array(entry.prefix(length))), "truncated to \(length)")
    }
    XCTAssertNil(EntryFormat.payload(of: entry + [0]), "trailing byte")
  }

  // MARK: Round trips

  func testStoredOutputsAreFoundAgainByAnotherProcessesCache() {
    let outputs = [
      CacheOutput(name: "object", bytes: Array(repeating: 7, count: 10_000)),
      CacheOutput(name: "analysis", bytes: Array("types".utf8)),
      CacheOutput(name: "empty", bytes: []),
    ]
    let cache = BuildCache(directory: directory)
    XCTAssertNil(cache.lookup(key("a")))
    cache.store(key("a"), outputs)
    XCTAssertEqual(cache.lookup(key("a")), outputs)
    XCTAssertEqual(BuildCache(directory: directory).lookup(key("a")), outputs)
    XCTAssertNil(cache.lookup(key("b")))
    cache.store(key("a"), [CacheOutput(name: "object", bytes: [1])])
    XCTAssertEqual(cache.lookup(key("a")), [CacheOutput(name: "object", bytes: [1])], "replaced")
    XCTAssertEqual(cache.local.discardedEntries, 0)
  }

  func testTheDirectoryComesFromTheEnvironment() throws {
    let fromDirectory = BuildCache.directory(environment: ["HOLO_CACHE_DIR": "/c", "HOME": "/h"])
    XCTAssertEqual(fromDirectory, "/c")
    XCTAssertEqual(
      BuildCache.directory(environment: ["HOLO_CACHE_DIR": "rel"]),
      FileManager.default.currentDirectoryPath + "/rel")
    XCTAssertEqual(
      BuildCache.directory(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]), "/x/holo")
    XCTAssertEqual(
      BuildCache.directory(environment: ["XDG_CACHE_HOME": "x", "HOME": "/h"]), "/h/.cache/holo")
    XCTAssertEqual(BuildCache.directory(environment: ["HOME": "/h"]), "/h/.cache/holo")
    XCTAssertEqual(try BuildCache.sizeLimit(environment: [:]), 2 << 30)
    XCTAssertEqual(try BuildCache.sizeLimit(environment: ["HOLO_CACHE_SIZE_LIMIT": "512"]), 512)
    XCTAssertEqual(try BuildCache.sizeLimit(environment: ["HOLO_CACHE_SIZE_LIMIT": "3k"]), 3072)
    XCTAssertEqual(try BuildCache.sizeLimit(environment: ["HOLO_CACHE_SIZE_LIMIT": "5G"]), 5 << 30)
    XCTAssertThrowsError(try BuildCache.sizeLimit(environment: ["HOLO_CACHE_SIZE_LIMIT": "lots"]))
  }

  // MARK: Damage

  func testDamagedEntriesAreMissesAndAreRemovedAndRebuilt() throws {
    let cache = BuildCache(directory: directory)
    let outputs = [CacheOutput(name: "object", bytes: Array(repeating: 1, count: 4096))]
    cache.store(key("a"), outputs)
    let blob = try XCTUnwrap(entryFiles("cas").first)

    // A flipped byte in the blob.
    var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: blob)))
    bytes[bytes.count / 2] ^= 0xff
    try Data(bytes).write(to: URL(fileURLWithPath: blob))
    XCTAssertNil(cache.lookup(key("a")))
    XCTAssertFalse(FileManager.default.fileExists(atPath: blob), "the damaged blob is deleted")
    XCTAssertEqual(cache.local.discardedEntries, 1)
    cache.store(key("a"), outputs)
    XCTAssertEqual(cache.lookup(key("a")), outputs)

    // A truncated action result.
    let action = try XCTUnwrap(entryFiles("ac").first)
    let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: action))
    try handle.truncate(atOffset: 30)
    try handle.close()
    XCTAssertNil(cache.lookup(key("a")))
    XCTAssertFalse(FileManager.default.fileExists(atPath: action))
    XCTAssertEqual(cache.local.discardedEntries, 2)
    cache.store(key("a"), outputs)
    XCTAssertEqual(cache.lookup(key("a")), outputs)

    // A whole blob whose contents are not those its name says.
    try Data([9]).write(to: URL(fileURLWithPath: try XCTUnwrap(entryFiles("cas").first)))
    XCTAssertNil(cache.lookup(key("a")))
    XCTAssertEqual(cache.local.discardedEntries, 3)
  }

  /// `link` gives a file that is the blob (a hard link, nothing copied), checked as a read
  /// is: a damaged blob is deleted and the link is a miss, leaving no file.
  func testLinkedOutputsAreTheStoredFilesAndDamagedOnesAreMisses() throws {
    let cache = BuildCache(directory: directory)
    let object = Array(repeating: UInt8(7), count: 8192)
    cache.store(key("a"), [CacheOutput(name: "object", bytes: object)])
    let blob = try XCTUnwrap(entryFiles("cas").first)
    XCTAssertEqual(try Array(Data(contentsOf: URL(fileURLWithPath: blob))), object, "stored as is")
    let linked = directory + "/linked.o"
    XCTAssertTrue(cache.link(key("a"), output: "object", to: linked))
    XCTAssertEqual(try Array(Data(contentsOf: URL(fileURLWithPath: linked))), object)
    let (linkedInfo, blobInfo) = try (
      FileManager.default.attributesOfItem(atPath: linked),
      FileManager.default.attributesOfItem(atPath: blob)
    )
    XCTAssertEqual(
      linkedInfo[.systemFileNumber] as? UInt64, blobInfo[.systemFileNumber] as? UInt64,
      "a hard link")
    // The caller's link outlives the store's entry.
    try cache.clean()
    XCTAssertEqual(try Array(Data(contentsOf: URL(fileURLWithPath: linked))), object)
    XCTAssertFalse(cache.link(key("a"), output: "object", to: directory + "/missing.o"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/missing.o"))

    cache.store(key("a"), [CacheOutput(name: "object", bytes: object)])
    var damaged = object
    damaged[100] ^= 0xff
    try Data(damaged).write(to: URL(fileURLWithPath: try XCTUnwrap(entryFiles("cas").first)))
    XCTAssertFalse(cache.link(key("a"), output: "object", to: directory + "/damaged.o"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/damaged.o"))
    XCTAssertEqual(entryFiles("cas"), [], "the damaged blob is deleted")
    XCTAssertFalse(cache.link(key("a"), output: "other", to: directory + "/other.o"))
  }

  /// An output stored from its file is the same entry as one stored from its bytes.
  func testAnOutputStoredFromAFileIsTheSameEntry() throws {
    let cache = BuildCache(directory: directory)
    let bytes = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
    let file = directory + "/output"
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    cache.store(key("a"), output: "output", file: file)
    XCTAssertEqual(cache.lookup(key("a")), [CacheOutput(name: "output", bytes: bytes)])
    let blobs = entryFiles("cas")
    cache.store(key("b"), [CacheOutput(name: "output", bytes: bytes)])
    XCTAssertEqual(cache.lookup(key("b")), cache.lookup(key("a")))
    XCTAssertEqual(entryFiles("cas"), blobs, "one blob for both")
    cache.store(key("c"), output: "output", file: directory + "/missing")
    XCTAssertNil(cache.lookup(key("c")))
  }

  /// A file stored as an output is linked, not copied; replaced afterwards (as a linker
  /// replaces its output) it leaves the entry as it was, and changed in place it is caught
  /// by the next read, which discards the entry.
  func testAnOutputFileIsStoredAsALinkAndAChangeInPlaceIsCaught() throws {
    let cache = BuildCache(directory: directory)
    let bytes = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 * 5) }
    let file = directory + "/program"
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    cache.store(key("a"), output: "output", file: file)
    let blob = try XCTUnwrap(entryFiles("cas").first)
    XCTAssertEqual(try inode(of: blob), try inode(of: file), "a hard link")

    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: file), options: .atomic)
    XCTAssertEqual(cache.lookup(key("a")), [CacheOutput(name: "output", bytes: bytes)])

    let other = bytes.map { $0 ^ 0x55 }
    try Data(other).write(to: URL(fileURLWithPath: file))
    cache.store(key("b"), output: "output", file: file)
    XCTAssertEqual(cache.lookup(key("b")), [CacheOutput(name: "output", bytes: other)])
    let handle = try XCTUnwrap(FileHandle(forWritingAtPath: file))
    try handle.seek(toOffset: 100)
    try handle.write(contentsOf: [0xff])
    try handle.close()
    XCTAssertNil(cache.lookup(key("b")))
    XCTAssertEqual(entryFiles("cas"), [blob], "the changed blob is deleted")
  }

  private func inode(of path: String) throws -> UInt64 {
    try XCTUnwrap(
      (FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber)?
        .uint64Value)
  }

  // MARK: Size limit

  func testTheLeastRecentlyUsedEntriesAreEvictedAboveTheLimit() throws {
    let output = { (name: String) in
      [CacheOutput(name: "o", bytes: Array(repeating: UInt8(name.utf8.first!), count: 1000))]
    }
    let probe = BuildCache(directory: directory + "/probe")
    probe.store(key("probe"), output("p"))
    let entrySize = probe.stats().bytes
    let limit = entrySize * 7 / 2
    let cache = BuildCache(directory: directory + "/lru", sizeLimit: limit)
    for name in ["a", "b", "c"] { cache.store(key(name), output(name)) }
    XCTAssertEqual(cache.stats().entries, 6, "three entries fit")
    XCTAssertNotNil(cache.lookup(key("a")), "a is now more recent than b")
    cache.store(key("d"), output("d"))
    XCTAssertLessThanOrEqual(cache.stats().bytes, limit)
    XCTAssertNil(cache.lookup(key("b")), "b was the least recently used")
    for name in ["a", "c", "d"] {
      XCTAssertEqual(cache.lookup(key(name)), output(name), name)
    }
  }

  func testEntriesAreShardedByTheirFirstHexDigitAndOldShardsAgeOut() throws {
    let cache = BuildCache(directory: directory, sizeLimit: 1 << 20)
    for index in 0..<64 { cache.store(key("\(index)"), [CacheOutput(name: "o", bytes: [1])]) }
    for kind in ["cas", "ac"] {
      let shards = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(kind)")
      XCTAssertFalse(shards.isEmpty)
      XCTAssertTrue(shards.allSatisfy { $0.count == 1 && $0.allSatisfy(\.isHexDigit) }, "\(shards)")
    }
    // An entry of a cache made by a holoc with Bazel's 256 shards: never read, still
    // counted, and evicted first.
    let blob = try XCTUnwrap(entryFiles("cas").first)
    let name = URL(fileURLWithPath: blob).lastPathComponent
    let oldShard = "\(directory)/cas/\(name.prefix(2))"
    try FileManager.default.createDirectory(atPath: oldShard, withIntermediateDirectories: true)
    let oldEntry = "\(oldShard)/\(String(repeating: "0", count: 64))"
    try FileManager.default.copyItem(atPath: blob, toPath: oldEntry)
    try FileManager.default.setAttributes(
      [.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: oldEntry)
    XCTAssertEqual(cache.stats().blobs.entries, 2, "the one blob all stores share, and the old")
    let small = BuildCache(directory: directory, sizeLimit: cache.stats().bytes - 1)
    small.local.trim()
    XCTAssertFalse(FileManager.default.fileExists(atPath: oldEntry), "the oldest goes first")
    XCTAssertTrue(FileManager.default.fileExists(atPath: blob))
  }

  func testTrimmingRemovesTemporaryFilesOfDeadWriters() throws {
    let cache = BuildCache(directory: directory)
    cache.store(key("a"), [CacheOutput(name: "o", bytes: [1])])
    let shard = URL(fileURLWithPath: try XCTUnwrap(entryFiles("cas").first))
      .deletingLastPathComponent()
    let stale = shard.appendingPathComponent(".tmp.1.1.1").path
    let fresh = shard.appendingPathComponent(".tmp.2.2.2").path
    for path in [stale, fresh] { try Data([1, 2]).write(to: URL(fileURLWithPath: path)) }
    try FileManager.default.setAttributes(
      [.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: stale)
    XCTAssertEqual(cache.stats().entries, 2, "temporary files are not entries")
    cache.local.trim()
    XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
    XCTAssertTrue(FileManager.default.fileExists(atPath: fresh), "it may be a write in progress")
  }

  // MARK: Stats and clean

  func testAnEmptyOutputNeedsNoBlob() {
    let cache = BuildCache(directory: directory)
    cache.store(key("a"), [CacheOutput(name: "output", bytes: [])])
    XCTAssertEqual(cache.stats().blobs.entries, 0, "nothing to read back, so nothing stored")
    XCTAssertEqual(cache.lookup(key("a")), [CacheOutput(name: "output", bytes: [])])
    XCTAssertEqual(BuildCache(directory: directory).lookup(key("a"))?.first?.bytes, [])
  }

  func testStatsCountEachKindAndCleanRemovesEverything() throws {
    let cache = BuildCache(directory: directory, sizeLimit: 1 << 20)
    cache.store(key("a"), [CacheOutput(name: "o", bytes: Array(repeating: 1, count: 100))])
    cache.store(key("b"), [CacheOutput(name: "o", bytes: Array(repeating: 1, count: 100))])
    cache.store(key("c"), [CacheOutput(name: "o", bytes: [2]), CacheOutput(name: "p", bytes: [3])])
    let stats = cache.stats()
    XCTAssertEqual(stats.directory, directory)
    XCTAssertEqual(stats.sizeLimit, 1 << 20)
    XCTAssertEqual(stats.actions.entries, 3)
    XCTAssertEqual(stats.blobs.entries, 3, "a and b share their blob")
    XCTAssertEqual(stats.blobs.bytes, 102, "blobs are stored as they are")
    XCTAssertEqual(stats.bytes, stats.blobs.bytes + stats.actions.bytes)
    try cache.clean()
    XCTAssertEqual(cache.stats().entries, 0)
    XCTAssertEqual(cache.stats().bytes, 0)
    XCTAssertNil(cache.lookup(key("a")))
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory)
    XCTAssertEqual(leftovers.filter { $0 != "trim.lock" }, [])
    cache.store(key("a"), [CacheOutput(name: "o", bytes: [1])])
    XCTAssertEqual(cache.lookup(key("a")), [CacheOutput(name: "o", bytes: [1])])
  }

  func testCleanWhileOthersWriteAndRead() throws {
    let cache = BuildCache(directory: directory)
    let stopped = StopFlag()
    let writers = DispatchGroup()
    for writer in 0..<2 {
      DispatchQueue.global().async(group: writers) {
        var round = 0
        while !stopped.isSet {
          var name = CacheKey.Builder(kind: "test")
          name.add("name", "\(writer)-\(round % 50)")
          let outputs = [CacheOutput(name: "o", bytes: Array("\(writer)-\(round % 50)".utf8))]
          cache.store(name.key, outputs)
          if let found = cache.lookup(name.key) { XCTAssertEqual(found, outputs) }
          round += 1
        }
      }
    }
    for _ in 0..<20 {
      try cache.clean()
      usleep(2000)
    }
    stopped.set()
    writers.wait()
    XCTAssertEqual(cache.local.discardedEntries, 0, "a clean never leaves a torn entry")
    try cache.clean()
    XCTAssertEqual(cache.stats().entries, 0)
  }

  // MARK: Concurrency

  /// The outputs writer `writer` stores under the shared key: large enough that a write is
  /// many system calls, and recognisable, so a mix of two writers' bytes is seen.
  private static func contendedOutputs(writer: Int) -> [CacheOutput] {
    [
      CacheOutput(
        name: "object", bytes: Array(repeating: UInt8(writer), count: 128 * 1024 + writer)),
      CacheOutput(name: "analysis", bytes: Array(repeating: UInt8(writer), count: 1000)),
    ]
  }

  /// Stores and looks up the shared key `rounds` times; every hit must be one writer's whole
  /// outputs, and no entry may ever be found damaged.
  private static func contend(directory: String, writer: Int, rounds: Int) {
    let cache = BuildCache(directory: directory)
    var sharedKey = CacheKey.Builder(kind: "test")
    sharedKey.add("name", "contended")
    for _ in 0..<rounds {
      cache.store(sharedKey.key, contendedOutputs(writer: writer))
      guard let found = cache.lookup(sharedKey.key) else { continue }
      // The first byte names the writer whose outputs the whole hit must be.
      let writer = Int(found.first?.bytes.first ?? 0)
      let expected = contendedOutputs(writer: writer)
      let isWhole =
        found.map(\.name) == expected.map(\.name)
        && zip(found, expected).allSatisfy { haveEqualBytes($0.bytes, $1.bytes) }
      XCTAssertTrue(isWhole, "a hit mixes writers' outputs")
    }
    XCTAssertEqual(cache.local.discardedEntries, 0, "an entry was found torn")
  }

  func testConcurrentThreadsNeverSeeATornEntry() {
    let directory = directory
    DispatchQueue.concurrentPerform(iterations: 8) { writer in
      Self.contend(directory: directory, writer: writer + 1, rounds: 40)
    }
  }

  private static let helperDirectoryVariable = "HOLO_CACHE_TEST_CONTEND_DIR"
  private static let helperWriterVariable = "HOLO_CACHE_TEST_CONTEND_WRITER"

  /// The body of each process `testConcurrentProcessesNeverSeeATornEntry` starts: this test
  /// binary, running only this test.
  func testContendingProcessHelper() throws {
    let environment = ProcessInfo.processInfo.environment
    guard let directory = environment[Self.helperDirectoryVariable],
      let writer = environment[Self.helperWriterVariable].flatMap(Int.init)
    else {
      throw XCTSkip("runs only in the processes of testConcurrentProcessesNeverSeeATornEntry")
    }
    Self.contend(directory: directory, writer: writer, rounds: 60)
  }

  func testConcurrentProcessesNeverSeeATornEntry() throws {
    let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    let processes = try (1...4).map { writer in
      let process = Process()
      process.executableURL = URL(fileURLWithPath: testBinary)
      process.arguments = ["HoloTests.CacheStoreTests/testContendingProcessHelper"]
      var environment = ProcessInfo.processInfo.environment
      environment[Self.helperDirectoryVariable] = directory
      environment[Self.helperWriterVariable] = String(writer)
      process.environment = environment
      process.standardInput = FileHandle.nullDevice
      process.standardOutput = FileHandle.nullDevice
      let errors = Pipe()
      process.standardError = errors
      try process.run()
      return (process, errors)
    }
    for (process, errors) in processes {
      let output = String(
        decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      XCTAssertEqual(process.terminationStatus, 0, output)
    }
    XCTAssertEqual(BuildCache(directory: directory).stats().actions.entries, 1)
  }

  // MARK: holoc cache

  private static let holocPath =
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    .appendingPathComponent("holoc").path

  private func holoc(_ arguments: [String]) throws -> CapturedOutput {
    var environment = ProcessInfo.processInfo.environment
    environment["HOLO_CACHE_DIR"] = directory
    environment["HOLO_CACHE_SIZE_LIMIT"] = "10M"
    return try runCapturingOutput(Self.holocPath, arguments, environment: environment)
  }

  func testHolocCacheStatsAndClean() throws {
    let cache = BuildCache(directory: directory)
    cache.store(key("a"), [CacheOutput(name: "o", bytes: Array(repeating: 1, count: 2000))])
    cache.store(key("b"), [CacheOutput(name: "o", bytes: [2]), CacheOutput(name: "p", bytes: [3])])

    let json = try holoc(["cache", "stats", "--format", "json"])
    XCTAssertEqual(json.status, 0, json.stderr)
    let report = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(report["directory"] as? String, directory)
    XCTAssertEqual(report["entries"] as? Int, 5)
    XCTAssertEqual(report["bytes"] as? Int, Int(cache.stats().bytes))
    XCTAssertEqual(report["size_limit"] as? Int, 10 << 20)
    XCTAssertEqual((report["blobs"] as? [String: Any])?["entries"] as? Int, 3)
    XCTAssertEqual((report["actions"] as? [String: Any])?["entries"] as? Int, 2)

    let human = try holoc(["cache", "stats"])
    XCTAssertEqual(human.status, 0, human.stderr)
    XCTAssertTrue(human.stdout.hasPrefix("cache directory   \(directory)\n"), human.stdout)
    XCTAssertTrue(human.stdout.contains("\nsize              2.3 KiB of 10.0 MiB\n"), human.stdout)
    XCTAssertTrue(human.stdout.contains("\n  blobs           3 (2.0 KiB)\n"), human.stdout)

    let clean = try holoc(["cache", "clean"])
    XCTAssertEqual(clean.status, 0, clean.stderr)
    XCTAssertEqual(clean.stdout, "removed 5 entries (2.3 KiB) from \(directory)\n")
    XCTAssertEqual(cache.stats().entries, 0)
    XCTAssertNil(cache.lookup(key("a")))
  }

  func testHolocCacheRefusesABadSizeLimit() throws {
    var environment = ProcessInfo.processInfo.environment
    environment["HOLO_CACHE_DIR"] = directory
    environment["HOLO_CACHE_SIZE_LIMIT"] = "huge"
    let outcome = try runCapturingOutput(
      Self.holocPath, ["cache", "stats"], environment: environment)
    XCTAssertEqual(outcome.status, 1)
    XCTAssertTrue(
      outcome.stderr.contains("HOLO_CACHE_SIZE_LIMIT=huge is not a size"), outcome.stderr)
  }
}

/// Whether `a` and `b` are the same bytes, compared as a whole (an element-wise comparison
/// of large arrays is slow in a debug build).
private func haveEqualBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
  Data(a) == Data(b)
}

/// A flag one thread sets and others poll.
private final class StopFlag: Sendable {
  private let value = Atomic(false)

  var isSet: Bool { value.load(ordering: .acquiring) }

  func set() { value.store(true, ordering: .releasing) }
}
