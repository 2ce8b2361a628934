import Foundation
import HoloDevABI
import XCTest

/// The patch agent (runtime/agent, docs/PATCHING.md): builds it into an archive, links it
/// with runtime/agent/tests/patchable.c (a C imitation of a dev-built holo program) and
/// lets runtime/agent/tests/daemon.py (a stand-in for `holoc dev`) patch the running
/// program. The daemon reports what it saw as JSON; the assertions are here.
final class AgentTests: XCTestCase {
  func testAgentCompilesWithoutWarnings() throws {
    XCTAssertNil(AgentBuild.shared.failure)
    for compiler in ["cc", "clang"] where commandExists(compiler) {
      for source in AgentLayout.agentSources {
        let result = try runProcess(
          "/usr/bin/env",
          [compiler] + AgentLayout.agentFlags + ["-Werror", "-c", source.path, "-o", "/dev/null"])
        XCTAssertEqual(
          result.status, 0, "\(compiler) \(source.lastPathComponent): \(result.stderr)")
        XCTAssertEqual(result.stderr, "", "\(compiler) \(source.lastPathComponent)")
      }
    }
  }

  func testExecutablesWithoutTheAgentHaveNoTraceOfIt() throws {
    let program = try AgentBuild.shared.program(withAgent: false)
    let symbols = try runProcess("/usr/bin/env", ["nm", program])
    XCTAssertFalse(symbols.stdout.contains("holo_agent"), symbols.stdout)
    let dynamic = try runProcess("/usr/bin/env", ["readelf", "-d", program])
    XCTAssertFalse(dynamic.stdout.contains("LLVM"), dynamic.stdout)

    // The variable alone does nothing without the agent.
    let result = try runProcess(
      program, ["read"], environment: [DevABI.Environment.agentSocket: "/nonexistent/holo.sock"])
    XCTAssertEqual(result.status, 0)
    XCTAssertEqual(result.stderr, "")
    XCTAssertTrue(result.stdout.hasPrefix("slept "), result.stdout)
  }

  func testAgentIsDormantWithoutItsSocket() throws {
    let program = try AgentBuild.shared.program(withAgent: true)
    let dormant = try runProcess(program, ["read"])
    XCTAssertEqual(dormant.status, 0)
    XCTAssertEqual(dormant.stderr, "")

    // A daemon that is not there is worth a warning, not a failure.
    let missing = try runProcess(
      program, ["read"], environment: [DevABI.Environment.agentSocket: "/nonexistent/holo.sock"])
    XCTAssertEqual(missing.status, 0)
    XCTAssertTrue(missing.stdout.hasPrefix("slept "), missing.stdout)
    XCTAssertEqual(
      missing.stderr,
      "holo agent: cannot connect to /nonexistent/holo.sock: No such file or directory\n")
  }

  func testDormantAgentDoesNotLoadLLVM() throws {
    let program = try AgentBuild.shared.program(withAgent: true)
    let dynamic = try runProcess("/usr/bin/env", ["readelf", "-d", program])
    XCTAssertEqual(dynamic.status, 0, dynamic.stderr)
    XCTAssertFalse(dynamic.stdout.contains("LLVM"), dynamic.stdout)

    // Neither without the variable nor with no daemon behind it.
    for environment in [[:], [DevABI.Environment.agentSocket: "/nonexistent/holo.sock"]] {
      let mapped = try XCTUnwrap(mappedFilesWhileRunning(program, environment: environment))
      XCTAssertTrue(mapped.contains { $0.hasSuffix("/libc.so.6") }, "\(mapped)")
      XCTAssertFalse(mapped.contains { $0.contains("/libLLVM") }, "\(environment): \(mapped)")
    }
  }

  func testAgentThatCannotLoadLLVMStaysDormant() throws {
    let facts = try scenario("unloadable", as: UnloadableFacts.self)
    XCTAssertNil(facts.daemonError)
    XCTAssertNil(facts.hello)
    XCTAssertEqual(facts.llvmMapped, false)
    XCTAssertEqual(facts.before, "value 1")
    XCTAssertEqual(facts.running, true)
    let lines = facts.stderr.split(separator: "\n")
    XCTAssertEqual(lines.count, 1, facts.stderr)
    XCTAssertTrue(
      facts.stderr.hasPrefix(
        "holo agent: cannot load LLVM: /usr/lib/llvm-19/lib/libLLVM.so.19.1: "),
      facts.stderr)
  }

  func testBodySignatureAndRejectedPatches() throws {
    let facts = try scenario("patches", as: PatchFacts.self)
    XCTAssertEqual(
      facts.hello, Hello(type: 1, version: Int(DevABI.protocolVersion), pidMatches: true))
    // The agent loaded LLVM when it activated.
    XCTAssertEqual(facts.llvmMapped, true)
    assertTheFirstPatchesApply(facts)
    assertRejected(facts.garbageAck, id: 4, containing: "invalid patch object")
    assertRejected(
      facts.unknownSlotAck, id: 5, containing: "unknown slot `holo.slot.nothing()->()`")
    assertRejected(facts.malformedAck, id: 6, containing: "malformed PATCH message")
    // A symbol name past the string table: LLVM's Object C API would abort the process.
    assertRejected(facts.corruptAck, id: 7, containing: "past the end of the string table")
    assertRejected(
      facts.unfilledSlotAck, id: 8,
      containing: "new slot `holo.slot.value(bool)->i64` is given no function")
    // Names of the wrong kind (the wire fuzz's finds): the agent writes only slots and
    // cells, and a slot only with a version of its own function.
    assertRejected(facts.notASlotAck, id: 10, containing: "`holo.value()->i64#0` is not a slot")
    assertRejected(
      facts.otherSignatureAck, id: 11,
      containing:
        "`holo.tick()->()#0` is not a version of the function of slot `holo.slot.value()->i64`")
    assertRejected(
      facts.notACellAck, id: 12, containing: "`holo.slot.tick()->()` is not a line-base cell")
    assertRejected(facts.notUtf8Ack, id: 13, containing: "unknown slot `holo.slot.v?()->()`")
    // The failures changed nothing: the program still runs the code of patch 2.
    XCTAssertEqual(facts.afterFailures, "wide 3 70")

    // Unknown messages are skipped. Patch 1's value() is in no slot and on no stack any more.
    XCTAssertEqual(facts.status?.id, 9)
    XCTAssertEqual(facts.status?.live, 1)
    XCTAssertEqual(facts.status?.freed, 1)

    // Without the daemon the program runs on, patched.
    XCTAssertEqual(facts.afterDisconnect, "wide 3 70")
    XCTAssertEqual(facts.running, true)
    XCTAssertEqual(facts.stderr, "")
    XCTAssertNil(facts.daemonError)
  }

  /// Without a symbol table, the agent links patches against the dynamic symbol table of
  /// an executable linked with -rdynamic.
  func testAStrippedExecutableExportingItsSymbolsIsPatched() throws {
    assertTheFirstPatchesApply(try scenario("patches", as: PatchFacts.self, stripped: true))
  }

  /// The first three patches of the `patches` scenario: a body, then a new slot for a new
  /// signature with a caller using it and a new body, all at once; then one naming a
  /// function nothing defines.
  private func assertTheFirstPatchesApply(
    _ facts: PatchFacts, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(facts.before, "value 1", file: file, line: line)
    assertApplied(facts.bodyAck, id: 1, stale: [], file: file, line: line)
    XCTAssertEqual(facts.afterBody, "value 2", file: file, line: line)
    assertApplied(facts.wideAck, id: 2, stale: [], file: file, line: line)
    XCTAssertEqual(facts.afterWide, "wide 3 70", file: file, line: line)
    assertRejected(
      facts.brokenAck, id: 3, containing: "holo_agent_test_missing_function", file: file,
      line: line)
  }

  func testStaleFramesAreReported() throws {
    let facts = try scenario("stale", as: StaleFacts.self)
    XCTAssertEqual(facts.before, "value 1")
    // spin() version 0 loops forever, so it is still running after its slot changes.
    assertApplied(facts.spinAck, id: 1, stale: ["holo.slot.spin()->()"])
    assertApplied(facts.valueAck, id: 2, stale: [])
    XCTAssertEqual(facts.after, "value 2")
    XCTAssertEqual(facts.status?.live, 2)
    // `value` was replaced too, but its old version returns at once: only spin is reported.
    XCTAssertEqual(facts.frames?.id, 4)
    XCTAssertEqual(facts.frames?.scanned, 1)
    XCTAssertEqual(facts.frames?.stale, ["holo.slot.spin()->()"])
    XCTAssertEqual(facts.stderr, "")
    XCTAssertNil(facts.daemonError)
  }

  func testAPointerToAVersionIsNotAFrameOfIt() throws {
    let facts = try scenario("pointer", as: PointerFacts.self)
    XCTAssertEqual(facts.before, "value 1")
    assertApplied(facts.valueAck, id: 1, stale: [])
    XCTAssertEqual(facts.after, "value 2")
    XCTAssertEqual(facts.frames?.scanned, 1)
    XCTAssertEqual(facts.frames?.stale, [])
    XCTAssertNil(facts.daemonError)
  }

  func testThousandPatchesKeepMemoryBounded() throws {
    let facts = try scenario("memory", as: MemoryFacts.self)
    XCTAssertEqual(facts.failures, [])
    let first = try XCTUnwrap(facts.first)
    let last = try XCTUnwrap(facts.last)
    XCTAssertEqual(first.freed, 0)
    XCTAssertGreaterThanOrEqual(last.freed, 990)
    XCTAssertLessThanOrEqual(last.live, 10)
    XCTAssertLessThan(last.rssKib, first.rssKib + 8 * 1024, "RSS grew from \(first) to \(last)")
    XCTAssertEqual(facts.after, "value 2")
    XCTAssertEqual(facts.stderr, "")
    XCTAssertNil(facts.daemonError)
  }

  func testPatchesWhileTheProgramRunsThePatchedCode() throws {
    // Each safepoint most likely interrupts the version it replaces: only the registers say
    // it is running. Freeing it then would crash the program.
    let facts = try scenario("busy", as: BusyFacts.self)
    XCTAssertNil(facts.daemonError)
    XCTAssertEqual(facts.before, "value 1")
    XCTAssertEqual(facts.failures, [])
    let status = try XCTUnwrap(facts.status)
    XCTAssertGreaterThanOrEqual(status.freed, 290)
    XCTAssertLessThanOrEqual(status.live, 10)
    XCTAssertEqual(facts.after, "value 2")
    XCTAssertEqual(facts.running, true)
    XCTAssertEqual(facts.stderr, "")
  }

  func testPatchesWhileSleepingAndReading() throws {
    let facts = try scenario("blocking", as: BlockingFacts.self)
    XCTAssertNil(facts.daemonError)
    let acks = facts.sleepAcks ?? []
    XCTAssertEqual(acks.map(\.status), [0, 0, 0])
    // The patches landed during the 500 ms sleep, which still lasted its full time.
    XCTAssertLessThan(facts.ackedMs ?? .infinity, 500)
    let slept = Int(facts.slept?.dropFirst("slept ".count) ?? "") ?? 0
    XCTAssertGreaterThanOrEqual(slept, 500, facts.slept ?? "no sleep report")
    XCTAssertLessThan(slept, 1500)

    // Patched while blocked in read_line; the read still returns the whole line.
    assertApplied(facts.readAck, id: 4, stale: [])
    XCTAssertEqual(facts.first, ["value 20", "first line"])
    assertApplied(facts.writeAck, id: 5, stale: [])
    XCTAssertEqual(facts.second, ["value 30", "second line"])
    XCTAssertEqual(facts.exitStatus, 0)
    XCTAssertEqual(facts.stderr, "")
  }

  func testAPatchAddingAGlobalRunsItsSafepointFunctionWhereTheProgramPolls() throws {
    let facts = try scenario("globals", as: GlobalFacts.self)
    XCTAssertNil(facts.daemonError)
    assertApplied(facts.added, id: 1, stale: [])
    XCTAssertEqual(facts.after, "value 42")
    XCTAssertEqual(facts.wrongFunction?.status, 1)
    XCTAssertEqual(
      facts.wrongFunction?.error, "`holo.safepoint#1` is not the safepoint function of patch 2")
    XCTAssertEqual(facts.wrongGlobal?.status, 1)
    XCTAssertEqual(
      facts.wrongGlobal?.error, "new global `holo.slot.counter` is not named as a global")
    XCTAssertEqual(facts.tooBig?.status, 1)
    XCTAssertEqual(
      facts.tooBig?.error, "new global `holo.global.big:i64` has size 1073741824 and alignment 8")
    assertApplied(facts.again, id: 2, stale: [])
    XCTAssertEqual(facts.againAfter, "value 7")
    XCTAssertEqual(facts.running, true)
    XCTAssertEqual(facts.stderr, "")
  }

  func testAPatchNeedingACooperativeSafepointFailsWhenTheProgramNeverPolls() throws {
    let facts = try scenario("no_poll", as: NoPollFacts.self)
    XCTAssertNil(facts.daemonError)
    XCTAssertEqual(facts.cooperative?.status, 1)
    XCTAssertEqual(
      facts.cooperative?.error, "the main thread did not reach a safepoint within 5 s")
    XCTAssertGreaterThanOrEqual(facts.waitedMs ?? 0, 5000)
    XCTAssertEqual(facts.unchanged, "value 1", "the failed patch wrote no slot")
    // Applied; the busy loop may be interrupted inside value(), so its old version may be
    // reported as still running.
    XCTAssertEqual(facts.plain?.status, 0, facts.plain?.error ?? "no PATCH_ACK for patch 2")
    XCTAssertEqual(facts.after, "value 5")
    XCTAssertEqual(facts.stderr, "")
  }

  func testDataOfAPatchStaysWhileTheStackPointsIntoIt() throws {
    let facts = try scenario("hold", as: HoldFacts.self)
    XCTAssertNil(facts.daemonError)
    XCTAssertEqual(facts.acks?.map(\.status), [0, 0, 0])
    // Version 0 holds the string literal patch 1 returned while patch 2 replaces it.
    XCTAssertEqual(facts.whileHeld?.live, 2)
    XCTAssertEqual(facts.whileHeld?.freed, 0)
    XCTAssertEqual(facts.held, ["held hello", "held one", "held two"])
    XCTAssertEqual(facts.afterRelease?.freed, 1)
    XCTAssertEqual(facts.exitStatus, 0)
    XCTAssertEqual(facts.stderr, "")
  }

  func testDataWritesNewCellsAndPatchesWithoutAnObject() throws {
    let facts = try scenario("cells", as: CellFacts.self)
    XCTAssertNil(facts.daemonError)
    XCTAssertEqual(facts.before, "line 7 value 1")
    // An empty object: nothing linked, one cell written.
    assertApplied(facts.movedAck, id: 1, stale: [])
    XCTAssertEqual(facts.afterMove, "line 42 value 1")
    // A new cell the agent creates, written before the slot that lets code read it.
    assertApplied(facts.freshAck, id: 2, stale: [])
    XCTAssertEqual(facts.afterFresh, "line 43 value 9")
    // A failed write changes nothing, not even the writes before it.
    assertRejected(
      facts.unknownCellAck, id: 3, containing: "unknown cell `holo.line.nothing()->()`")
    XCTAssertEqual(facts.afterUnknown, "line 43 value 9")
    // No object, one slot update back to version 0.
    assertApplied(facts.repointAck, id: 4, stale: [])
    XCTAssertEqual(facts.afterRepoint, "line 43 value 1")
    assertRejected(facts.truncatedAck, id: 5, containing: "malformed PATCH message")
    // Only patch 2 linked code, and no slot points into it any more.
    XCTAssertEqual(try XCTUnwrap(facts.status).live + facts.status!.freed, 1)
    XCTAssertEqual(facts.stderr, "")
  }

  func testStackOverflowInPatchedCodeNamesThePatchedFunction() throws {
    let facts = try scenario("overflow", as: OverflowFacts.self)
    XCTAssertNil(facts.daemonError)
    XCTAssertEqual(facts.before, "value 1")
    XCTAssertEqual(facts.exitStatus, 101)
    XCTAssertEqual(facts.stderr, "patch.holo:12:3: runtime failure: stack overflow\n")
  }

  func testBadMessagesLeaveTheProgramRunning() throws {
    // 400 damaged PATCH, STATUS and FRAMES messages (seed 1), each followed by a STATUS the
    // agent must answer while the program runs on.
    let facts = try scenario("fuzz", as: FuzzFacts.self, arguments: ["1", "400"])
    XCTAssertNil(facts.daemonError)
    XCTAssertEqual(facts.before, "value 1")
    XCTAssertEqual(facts.failures, [], "reproduce with: daemon.py PROGRAM fuzz 1 400")
    XCTAssertEqual(facts.messages, 400)
    XCTAssertEqual(
      Set(facts.mutations?.keys.map { $0 } ?? []),
      ["flip", "truncate", "extend", "count", "type", "random", "symbol", "elf"])
    // Some damage still makes a patch that applies (into a slot no code calls), most not.
    XCTAssertGreaterThan(facts.acks?["applied"] ?? 0, 0)
    XCTAssertGreaterThan(facts.acks?["failed"] ?? 0, 100)
    XCTAssertNotNil(facts.afterMessages)
    // A frame longer than the agent accepts: it hangs up, the program runs on.
    XCTAssertEqual(facts.hungUp, true)
    XCTAssertNotNil(facts.afterHangUp)
    XCTAssertEqual(facts.running, true)
    XCTAssertEqual(facts.stderr, "")
  }

  // MARK: - Scenario results

  struct Hello: Decodable, Equatable {
    var type: Int
    var version: Int
    var pidMatches: Bool
  }

  struct Ack: Decodable {
    var id: UInt64
    var status: Int
    var linkUs: UInt32
    var applyUs: UInt32
    var error: String
    var stale: [String]
  }

  struct Status: Decodable {
    var id: UInt64
    var live: Int
    var freed: Int
    var rssKib: Int
  }

  struct PatchFacts: Decodable {
    var hello: Hello?
    var llvmMapped: Bool?
    var before, afterBody, afterWide, afterFailures, afterDisconnect: String?
    var bodyAck, wideAck, brokenAck, garbageAck, unknownSlotAck, malformedAck: Ack?
    var corruptAck, unfilledSlotAck, notASlotAck, otherSignatureAck, notACellAck, notUtf8Ack: Ack?
    var status: Status?
    var running: Bool?
    var stderr: String
    var daemonError: String?
  }

  struct FuzzFailure: Decodable, Equatable {
    var message: Int
    var base, mutation, error, payload: String
  }

  struct FuzzFacts: Decodable {
    var before, afterMessages, afterHangUp: String?
    var mutations: [String: Int]?
    var acks: [String: Int]?
    var failures: [FuzzFailure]?
    var messages: Int?
    var hungUp, running: Bool?
    var stderr: String
    var daemonError: String?
  }

  struct CellFacts: Decodable {
    var before, afterMove, afterFresh, afterUnknown, afterRepoint: String?
    var movedAck, freshAck, unknownCellAck, repointAck, truncatedAck: Ack?
    var status: Status?
    var stderr: String
    var daemonError: String?
  }

  struct OverflowFacts: Decodable {
    var before: String?
    var exitStatus: Int32?
    var stderr: String
    var daemonError: String?
  }

  struct UnloadableFacts: Decodable {
    var hello: Hello?
    var llvmMapped: Bool?
    var before: String?
    var running: Bool?
    var stderr: String
    var daemonError: String?
  }

  struct Frames: Decodable {
    var id: UInt64
    var scanned: Int
    var stale: [String]
  }

  struct StaleFacts: Decodable {
    var before, after: String?
    var spinAck, valueAck: Ack?
    var status: Status?
    var frames: Frames?
    var stderr: String
    var daemonError: String?
  }

  struct PointerFacts: Decodable {
    var before, after: String?
    var valueAck: Ack?
    var frames: Frames?
    var daemonError: String?
  }

  struct MemoryFacts: Decodable {
    var first, last: Status?
    var failures: [String]?
    var after: String?
    var stderr: String
    var daemonError: String?
  }

  struct BusyFacts: Decodable {
    var before, after: String?
    var failures: [String]?
    var status: Status?
    var running: Bool?
    var stderr: String
    var daemonError: String?
  }

  struct BlockingFacts: Decodable {
    var ackedMs: Double?
    var sleepAcks: [Ack]?
    var slept: String?
    var readAck, writeAck: Ack?
    var first, second: [String]?
    var exitStatus: Int32?
    var stderr: String
    var daemonError: String?
  }

  struct GlobalFacts: Decodable {
    var added, wrongFunction, wrongGlobal, tooBig, again: Ack?
    var after, againAfter: String?
    var running: Bool?
    var stderr: String
    var daemonError: String?
  }

  struct NoPollFacts: Decodable {
    var cooperative, plain: Ack?
    var waitedMs: Double?
    var unchanged, after: String?
    var stderr: String
    var daemonError: String?
  }

  struct HoldFacts: Decodable {
    var acks: [Ack]?
    var held: [String]?
    var whileHeld, afterRelease: Status?
    var exitStatus: Int32?
    var stderr: String
    var daemonError: String?
  }

  private func assertApplied(
    _ ack: Ack?, id: UInt64, stale: [String], file: StaticString = #filePath, line: UInt = #line
  ) {
    guard let ack else {
      return XCTFail("no PATCH_ACK for patch \(id)", file: file, line: line)
    }
    XCTAssertEqual(ack.id, id, file: file, line: line)
    XCTAssertEqual(ack.status, 0, ack.error, file: file, line: line)
    XCTAssertEqual(ack.error, "", file: file, line: line)
    XCTAssertEqual(ack.stale, stale, file: file, line: line)
    XCTAssertGreaterThan(ack.linkUs, 0, file: file, line: line)
    XCTAssertGreaterThan(ack.applyUs, 0, file: file, line: line)
  }

  private func assertRejected(
    _ ack: Ack?, id: UInt64, containing text: String, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    guard let ack else {
      return XCTFail("no PATCH_ACK for patch \(id)", file: file, line: line)
    }
    XCTAssertEqual(ack.id, id, file: file, line: line)
    XCTAssertEqual(ack.status, 1, file: file, line: line)
    XCTAssertTrue(ack.error.contains(text), ack.error, file: file, line: line)
    XCTAssertEqual(ack.applyUs, 0, file: file, line: line)
    XCTAssertEqual(ack.stale, [], file: file, line: line)
  }

  /// Runs one scenario of daemon.py against the patchable program built with the agent.
  private func scenario<Facts: Decodable>(
    _ name: String, as type: Facts.Type, arguments: [String] = [], stripped: Bool = false
  ) throws -> Facts {
    guard commandExists("python3") else {
      throw XCTSkip("python3 is needed to run the test daemon")
    }
    let program = try AgentBuild.shared.program(withAgent: true, stripped: stripped)
    let result = try runProcess(
      "/usr/bin/env",
      [
        "python3", AgentLayout.testsDirectory.appendingPathComponent("daemon.py").path, program,
        name,
      ] + arguments)
    XCTAssertEqual(result.status, 0, result.stderr)
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    do {
      return try decoder.decode(type, from: Data(result.stdout.utf8))
    } catch {
      XCTFail("daemon output: \(result.stdout)\n\(result.stderr)")
      throw error
    }
  }
}

// MARK: - Building and running

/// Where the agent's sources and tests are, found from this file's path.
enum AgentLayout {
  static let agentDirectory = RuntimeLayout.runtimeDirectory.appendingPathComponent("agent")
  static let testsDirectory = agentDirectory.appendingPathComponent("tests")
  /// The flags the driver compiles the agent with (the runtime's, plus LLVM's headers).
  static let agentFlags = RuntimeLayout.runtimeFlags + ["-g", "-I", "/usr/lib/llvm-19/include"]
  /// What a dev executable is linked with besides the runtime and the agent archive (which
  /// the program's reference to `holo_agent_start` pulls in). LLVM is not linked: the
  /// agent loads it with dlopen when it activates.
  static let agentLinkFlags = DevABI.LinkFlags.agentLibraries

  static var agentSources: [URL] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: agentDirectory.path)) ?? []
    return names.filter { $0.hasSuffix(".c") }.sorted().map {
      agentDirectory.appendingPathComponent($0)
    }
  }
}

/// The agent archive and the patchable test program, built once per test process.
final class AgentBuild: Sendable {
  static let shared = AgentBuild()

  let directory: URL
  let failure: String?
  private let archive: String

  private init() {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "holo-agent-build-\(UUID().uuidString)")
    archive = directory.appendingPathComponent("libholoagent.a").path
    var failure: String?
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      var objects: [String] = []
      for source in AgentLayout.agentSources {
        let object = directory.appendingPathComponent(source.lastPathComponent + ".o").path
        let compiled = try runProcess(
          "/usr/bin/env", ["cc"] + AgentLayout.agentFlags + ["-c", source.path, "-o", object])
        if compiled.status != 0 {
          failure = "cannot compile \(source.lastPathComponent): \(compiled.stderr)"
        }
        objects.append(object)
      }
      let archived = try runProcess("/usr/bin/env", ["ar", "rcs", archive] + objects)
      if failure == nil && archived.status != 0 {
        failure = "cannot archive the agent: \(archived.stderr)"
      }
    } catch {
      failure = "cannot build the agent: \(error)"
    }
    self.failure = failure
  }

  /// Links patchable.c with the runtime, and with the agent when asked. `stripped`: without
  /// a symbol table, exporting its symbols instead (a C host linked with -rdynamic and
  /// stripped), where the agent falls back to `dlsym`.
  func program(withAgent: Bool, stripped: Bool = false) throws -> String {
    if let failure = failure ?? CompiledRuntime.shared.failure {
      throw RuntimeTestError.compilation(failure)
    }
    let executable = directory.appendingPathComponent(
      withAgent ? (stripped ? "patchable-dev-stripped" : "patchable-dev") : "patchable-release"
    ).path
    if FileManager.default.fileExists(atPath: executable) {
      return executable
    }
    let source = AgentLayout.testsDirectory.appendingPathComponent("patchable.c").path
    var arguments = ["cc"] + RuntimeLayout.runtimeFlags + ["-Werror", source]
    if !withAgent { arguments.append("-DPATCHABLE_RELEASE") }
    arguments += CompiledRuntime.shared.objects
    arguments += withAgent ? [archive] + AgentLayout.agentLinkFlags : []
    arguments += stripped ? ["-rdynamic", "-s"] : []
    arguments += ["-o", executable, "-lm"]
    let linked = try runProcess("/usr/bin/env", arguments)
    if linked.status != 0 {
      throw RuntimeTestError.compilation(linked.stderr)
    }
    return executable
  }
}

/// Runs a program to completion (at most 60 s) with its output captured in files.
private func runProcess(
  _ executable: String, _ arguments: [String], environment: [String: String] = [:]
) throws -> CapturedOutput {
  var processEnvironment = ProcessInfo.processInfo.environment
  processEnvironment[DevABI.Environment.agentSocket] = nil
  processEnvironment.merge(environment) { _, new in new }
  return try runCapturingOutput(executable, arguments, environment: processEnvironment)
}

/// The files mapped into `program` once it has started its entry function (run in `read`
/// mode, it reports its sleep and then waits for input); nil if it ended before that.
private func mappedFilesWhileRunning(
  _ program: String, environment: [String: String]
) throws -> [String]? {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: program)
  process.arguments = ["read"]
  var processEnvironment = ProcessInfo.processInfo.environment
  processEnvironment[DevABI.Environment.agentSocket] = nil
  processEnvironment.merge(environment) { _, new in new }
  process.environment = processEnvironment
  let input = Pipe()
  let output = Pipe()
  process.standardInput = input
  process.standardOutput = output
  process.standardError = FileHandle.nullDevice
  try process.run()
  defer {
    try? input.fileHandleForWriting.close()
    process.waitUntilExit()
  }
  var printed = Data()
  while !printed.contains(UInt8(ascii: "\n")) {
    let chunk = output.fileHandleForReading.availableData
    if chunk.isEmpty {
      return nil
    }
    printed.append(chunk)
  }
  let maps = try String(
    contentsOfFile: "/proc/\(process.processIdentifier)/maps", encoding: .utf8)
  return maps.split(separator: "\n").compactMap { line in
    line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(5).first.map(String.init)
  }
}

private func commandExists(_ name: String) -> Bool {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
  return path.split(separator: ":").contains {
    FileManager.default.isExecutableFile(atPath: "\($0)/\(name)")
  }
}
