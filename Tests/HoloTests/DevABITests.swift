import Foundation
import HoloDevABI
import XCTest

/// The dev ABI is defined once (HoloDevABI) and mirrored by runtime/include/holo_dev_abi.h.
/// These tests hold the two together: the golden messages in DevABI/messages.golden are
/// encoded and decoded here and by the agent's own codec (runtime/agent/wire.c), and the
/// header's constants are compared with the module's. Each fails when one side changes
/// alone.
final class DevABITests: XCTestCase {
  // MARK: The Swift codec

  func testSwiftEncodesAndDecodesEveryGoldenMessage() throws {
    let entries = try GoldenFile.load()
    let messages = entries.filter { !$0.rejected }
    XCTAssertEqual(Set(messages.map(\.name)), Set(Self.expected.keys), "golden vs table")
    for entry in messages {
      guard let expected = Self.expected[entry.name] else { continue }
      let payload = Array(entry.bytes.dropFirst(DevABI.lengthPrefixSize))
      switch expected {
      case .toAgent(let message):
        XCTAssertEqual(hex(message.framed), hex(entry.bytes), "\(entry.name): encoding")
        let decoded = DaemonMessage(payload: payload)
        XCTAssertEqual(decoded, message, "\(entry.name): decoding")
        XCTAssertNil(AgentMessage(payload: payload), "\(entry.name) is no agent message")
        XCTAssertEqual(decoded.map(Self.fields), entry.fields, "\(entry.name): fields")
      case .toDaemon(let message):
        XCTAssertEqual(hex(message.framed), hex(entry.bytes), "\(entry.name): encoding")
        let decoded = AgentMessage(payload: payload)
        XCTAssertEqual(decoded, message, "\(entry.name): decoding")
        XCTAssertNil(DaemonMessage(payload: payload), "\(entry.name) is no daemon message")
        XCTAssertEqual(decoded.map(Self.fields), entry.fields, "\(entry.name): fields")
      }
    }
  }

  func testSwiftRefusesEveryRejectedGoldenPayload() throws {
    let rejected = try GoldenFile.load().filter(\.rejected)
    XCTAssertFalse(rejected.isEmpty)
    for entry in rejected {
      XCTAssertNil(DaemonMessage(payload: entry.bytes), entry.name)
      XCTAssertNil(AgentMessage(payload: entry.bytes), entry.name)
    }
  }

  func testGoldenMessagesCoverEveryTypeAndTheEdges() throws {
    let messages = try GoldenFile.load().filter { !$0.rejected }
    let types = Set(messages.compactMap { $0.bytes.dropFirst(DevABI.lengthPrefixSize).first })
    XCTAssertEqual(types, Set(DevABI.MessageType.allCases.map(\.rawValue)))
    // Protocol v2 allows a PATCH with nothing in it at all.
    let empty = DaemonMessage.patch(
      .init(id: 0, newSlots: [], newCells: [], object: [], updates: [], dataWrites: []))
    XCTAssertTrue(Self.expected.values.contains { $0 == .toAgent(empty) })
  }

  // MARK: The C side

  func testAgentCodecAgreesWithTheGoldenMessages() throws {
    let program = try compile(
      "wire_golden",
      sources: ["tests/wire_golden.c", "wire.c", "migration.c"].map(AgentLayout.file))
    let result = try runCapturingOutput(program, [GoldenFile.path], environment: [:])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(result.stderr, "")
    let counts = try GoldenFile.load().reduce(into: (0, 0)) { counts, entry in
      if entry.rejected { counts.1 += 1 } else { counts.0 += 1 }
    }
    XCTAssertEqual(
      result.stdout, "\(counts.0) messages, \(counts.1) rejected payloads, 0 mismatches\n")
  }

  func testCHeaderMirrorsHoloDevABI() throws {
    let program = try compile(
      "abi_constants", sources: [AgentLayout.file("tests/abi_constants.c")])
    let result = try runCapturingOutput(program, [], environment: [:])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(result.stdout.split(separator: "\n").map(String.init), Self.swiftConstants)
  }

  // MARK: Symbol names

  func testSymbolNamesFollowTheDevCallingConvention() {
    let key = DevSymbols.key(name: "add", parameterTypes: ["i64", "i64"], resultType: "i64")
    XCTAssertEqual(key, "add(i64,i64)->i64")
    XCTAssertEqual(DevSymbols.key(name: "main", parameterTypes: [], resultType: "()"), "main()->()")
    XCTAssertEqual(DevSymbols.slot(key: key), "holo.slot.add(i64,i64)->i64")
    XCTAssertEqual(DevSymbols.lineBase(key: key), "holo.line.add(i64,i64)->i64")
    XCTAssertEqual(DevSymbols.version(3, key: key), "holo.add(i64,i64)->i64#3")
    XCTAssertEqual(DevSymbols.functionTable(ofPatch: 3), "holo.functions#3")
    XCTAssertEqual(DevSymbols.release(name: "add"), "holo.add")

    XCTAssertEqual(DevSymbols.key(ofSlot: "holo.slot.add(i64,i64)->i64"), key)
    XCTAssertNil(DevSymbols.key(ofSlot: "holo.slot."))
    XCTAssertNil(DevSymbols.key(ofSlot: "holo.line.add(i64,i64)->i64"))
    XCTAssertNil(DevSymbols.key(ofSlot: "holo.add(i64,i64)->i64#0"))
    XCTAssertEqual(DevSymbols.functionName(ofKey: key), "add")
  }

  // MARK: The expected values

  enum Expected: Equatable {
    case toAgent(DaemonMessage)
    case toDaemon(AgentMessage)
  }

  /// The value of every golden message, by name, written independently of the file.
  static let expected: [String: Expected] = {
    typealias Patch = DaemonMessage.Patch
    let add = "holo.slot.add(i64,i64)->i64"
    let addLine = "holo.line.add(i64,i64)->i64"
    let greet = "holo.slot.gr\u{FC}\u{DF}e()->string"
    func patch(
      _ id: UInt64, slots: [String] = [], cells: [String] = [], object: [UInt8] = [],
      updates: [(String, String)] = [], writes: [(String, UInt64)] = [],
      globals: [Patch.NewGlobal] = [], safepointFunction: String = "", restart: Bool = false
    ) -> Expected {
      .toAgent(
        .patch(
          Patch(
            id: id, newSlots: slots, newCells: cells, object: object,
            updates: updates.map { Patch.SlotUpdate(slot: $0.0, function: $0.1) },
            dataWrites: writes.map { Patch.DataWrite(cell: $0.0, value: $0.1) },
            newGlobals: globals, safepointFunction: safepointFunction, restartsFrames: restart)))
    }
    func ack(
      _ id: UInt64, applied: Bool, link: UInt32, apply: UInt32, error: String = "",
      stale: [String] = [], migrations: [AgentMessage.MigrationCount] = [],
      lossy: [String] = []
    ) -> Expected {
      .toDaemon(
        .patchAck(
          .init(
            patchID: id, applied: applied, linkMicroseconds: link, applyMicroseconds: apply,
            error: error, staleSlots: stale, migrations: migrations, lossyReports: lossy)))
    }
    func status(_ id: UInt64, live: UInt32, freed: UInt32, kib: UInt64) -> Expected {
      .toDaemon(
        .statusReply(.init(requestID: id, livePatches: live, freedPatches: freed, residentKiB: kib))
      )
    }
    func frames(_ id: UInt64, scanned: Bool, stale: [String] = []) -> Expected {
      .toDaemon(.framesReply(.init(requestID: id, scanned: scanned, staleSlots: stale)))
    }
    return [
      "patch_new_function": patch(
        1, slots: [add], cells: [addLine], object: [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0],
        updates: [
          (add, "holo.add(i64,i64)->i64#1"), ("holo.slot.main()->()", "holo.main()->()#1"),
        ],
        writes: [(addLine, 12)]),
      "patch_empty": patch(0),
      "patch_restart_entry": patch(11, restart: true),
      "patch_moved_only": patch(
        2, writes: [("holo.line.main()->()", 1), ("holo.line.share(i64)->i64", .max)]),
      "patch_max_id_existing_code": patch(
        .max, updates: [("holo.slot.tick()->()", "holo.tick()->()#0")]),
      "patch_empty_strings": patch(
        3, slots: [""], cells: [""], object: [0], updates: [("", "")], writes: [("", 0)]),
      "patch_utf8_names": patch(
        4, slots: [greet], updates: [(greet, "holo.gr\u{FC}\u{DF}e()->string#4")]),
      "patch_new_global": patch(
        5, slots: ["holo.slot.bonus()->i64"], object: [2],
        updates: [("holo.slot.bonus()->i64", "holo.bonus()->i64#5")],
        globals: [Patch.NewGlobal(symbol: "holo.global.bonus:i64", size: 8, alignment: 8)],
        safepointFunction: "holo.safepoint#5"),
      "status_zero": .toAgent(.status(requestID: 0)),
      "status_max": .toAgent(.status(requestID: .max)),
      "frames": .toAgent(.frames(requestID: 5)),
      "frames_max": .toAgent(.frames(requestID: .max)),
      "hello": .toDaemon(.hello(version: DevABI.protocolVersion, processID: 4242)),
      "hello_max_pid": .toDaemon(.hello(version: DevABI.protocolVersion, processID: .max)),
      "patch_ack_applied": ack(1, applied: true, link: 1830, apply: 41),
      "patch_ack_stale": ack(
        2, applied: true, link: 0, apply: 0,
        stale: ["holo.slot.spin()->()", "holo.slot.tick()->()"]),
      "patch_ack_failed": ack(
        6, applied: false, link: 95, apply: 0, error: "malformed PATCH message"),
      "patch_ack_failed_quoting": ack(
        13, applied: false, link: 7, apply: 0,
        error: "unknown slot `holo.slot.v?()->()` in \"caf\u{E9}\" \\ tab\there"),
      "patch_ack_migrated": ack(
        4, applied: true, link: 300, apply: 52,
        migrations: [.init(values: 10000, lossy: 2), .init(values: 1, lossy: 0)],
        lossy: ["world.enemies[3].hp: 3.7 \u{2192} 3", "world.enemies[5].shield: 5 dropped"]),
      "patch_ack_max": ack(
        .max, applied: false, link: .max, apply: .max, error: "x", stale: ["holo.slot.a()->()"]),
      "status_reply_zero": status(0, live: 0, freed: 0, kib: 0),
      "status_reply_max": status(.max, live: .max, freed: .max, kib: .max),
      "status_reply": status(9, live: 2, freed: 3, kib: 10240),
      "frames_reply_not_scanned": frames(7, scanned: false),
      "frames_reply_scanned_empty": frames(8, scanned: true),
      "frames_reply_stale": frames(
        .max, scanned: true, stale: ["holo.slot.spin()->()", "holo.slot.deep(i64)->i64"]),
    ]
  }()

  /// What runtime/agent/tests/abi_constants.c must print from the header.
  static var swiftConstants: [String] {
    var lines = [
      "protocol_version \(DevABI.protocolVersion)",
      "length_prefix_size \(DevABI.lengthPrefixSize)",
      "payload_max \(DevABI.maximumPayloadLength)",
    ]
    lines += DevABI.MessageType.allCases.map { "type \(wireName($0)) \($0.rawValue)" }
    lines += DevABI.PatchStatus.allCases.map {
      "patch_status \($0 == .applied ? "APPLIED" : "FAILED") \($0.rawValue)"
    }
    lines += [
      "function_prefix \(DevSymbols.functionPrefix)",
      "slot_prefix \(DevSymbols.slotPrefix)",
      "line_base_prefix \(DevSymbols.lineBasePrefix)",
      "version_separator \(DevSymbols.versionSeparator)",
      "function_table_prefix \(DevSymbols.functionTablePrefix)",
      "global_prefix \(DevSymbols.globalPrefix)",
      "safepoint_function_prefix \(DevSymbols.safepointFunctionPrefix)",
      "safepoint_requested \(DevSymbols.safepointRequested)",
      "safepoint_handler \(DevSymbols.safepointHandler)",
      "global_size_max \(DevABI.maximumGlobalSize)",
      "global_alignment_max \(DevABI.maximumGlobalAlignment)",
      "migration_lossy \(DevABI.Migration.lossy)",
      "migration_counted \(DevABI.Migration.counted)",
      "migration_reports_max \(DevABI.Migration.maximumReports)",
      "restart_claim \(DevABI.FrameRestart.claim)",
      "env agent_socket \(DevABI.Environment.agentSocket)",
      "env parent_pid \(DevABI.Environment.parentProcessID)",
      "env failure_report \(DevABI.Environment.failureReport)",
      "env runtime_dir \(DevABI.Environment.runtimeDirectory)",
    ]
    lines += DevABI.ValueKind.allCases.map { "value_kind \($0) \($0.rawValue)" }
    return lines
  }

  // MARK: Rendering fields as the golden file writes them

  static func wireName(_ type: DevABI.MessageType) -> String {
    switch type {
    case .hello: "HELLO"
    case .patch: "PATCH"
    case .patchAck: "PATCH_ACK"
    case .status: "STATUS"
    case .statusReply: "STATUS_REPLY"
    case .frames: "FRAMES"
    case .framesReply: "FRAMES_REPLY"
    }
  }

  static func fields(_ message: DaemonMessage) -> [String] {
    switch message {
    case .patch(let patch):
      var lines = ["type PATCH", "id \(patch.id)"]
      lines += list("new_slots", "new_slot", patch.newSlots)
      lines += list("new_cells", "new_cell", patch.newCells)
      lines.append("object hex:" + hex(patch.object))
      lines.append("updates \(patch.updates.count)")
      lines += patch.updates.map { "update \(quoted($0.slot)) \(quoted($0.function))" }
      lines.append("data_writes \(patch.dataWrites.count)")
      lines += patch.dataWrites.map { "data_write \(quoted($0.cell)) \($0.value)" }
      lines.append("new_globals \(patch.newGlobals.count)")
      lines += patch.newGlobals.map {
        "new_global \(quoted($0.symbol)) \($0.size) \($0.alignment)"
      }
      lines.append("safepoint_function \(quoted(patch.safepointFunction))")
      lines.append("restart \(patch.restartsFrames ? 1 : 0)")
      return lines
    case .status(let id): return ["type STATUS", "id \(id)"]
    case .frames(let id): return ["type FRAMES", "id \(id)"]
    }
  }

  static func fields(_ message: AgentMessage) -> [String] {
    switch message {
    case .hello(let version, let processID):
      return ["type HELLO", "version \(version)", "process_id \(processID)"]
    case .patchAck(let ack):
      let status = ack.applied ? DevABI.PatchStatus.applied : .failed
      return [
        "type PATCH_ACK", "id \(ack.patchID)", "status \(status.rawValue)",
        "link_us \(ack.linkMicroseconds)", "apply_us \(ack.applyMicroseconds)",
        "error \(quoted(ack.error))",
      ] + list("stale_slots", "stale_slot", ack.staleSlots)
        + ["migrations \(ack.migrations.count)"]
        + ack.migrations.map { "migration \($0.values) \($0.lossy)" }
        + list("lossy_reports", "lossy_report", ack.lossyReports)
    case .statusReply(let reply):
      return [
        "type STATUS_REPLY", "id \(reply.requestID)", "live_patches \(reply.livePatches)",
        "freed_patches \(reply.freedPatches)", "resident_kib \(reply.residentKiB)",
      ]
    case .framesReply(let reply):
      return ["type FRAMES_REPLY", "id \(reply.requestID)", "scanned \(reply.scanned ? 1 : 0)"]
        + list("stale_slots", "stale_slot", reply.staleSlots)
    }
  }

  private static func list(_ label: String, _ item: String, _ values: [String]) -> [String] {
    ["\(label) \(values.count)"] + values.map { "\(item) \(quoted($0))" }
  }

  /// A string as the golden file quotes it: printable ASCII but `"` and `\` as is, every
  /// other byte as \xNN.
  private static func quoted(_ text: String) -> String {
    let escaped = text.utf8.map { byte in
      (0x20...0x7e).contains(byte) && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
        ? String(UnicodeScalar(byte)) : "\\x" + hex([byte])
    }
    return "\"" + escaped.joined() + "\""
  }

  // MARK: Helpers

  /// Compiles `sources` with the runtime's flags (warnings are errors) into a program.
  private func compile(_ name: String, sources: [String]) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "holo-dev-abi-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
    let program = directory.appendingPathComponent(name).path
    let result = try runCapturingOutput(
      "/usr/bin/env",
      ["cc"] + RuntimeLayout.runtimeFlags + [
        "-Werror", "-I", AgentLayout.agentDirectory.path, "-o", program,
      ] + sources, environment: ProcessInfo.processInfo.environment)
    XCTAssertEqual(result.stderr, "", "compiling \(name)")
    guard result.status == 0 else { throw RuntimeTestError.compilation(result.stderr) }
    return program
  }
}

extension AgentLayout {
  static func file(_ path: String) -> String { agentDirectory.appendingPathComponent(path).path }
}

private func hex(_ bytes: [UInt8]) -> String {
  bytes.map { String(format: "%02x", $0) }.joined()
}

/// Tests/HoloTests/DevABI/messages.golden, in entries (the format is described there).
struct GoldenFile {
  struct Entry {
    var name: String
    var rejected: Bool
    var fields: [String] = []
    var bytes: [UInt8] = []
  }

  static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("DevABI/messages.golden").path

  static func load() throws -> [Entry] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var entries: [Entry] = []
    var current: Entry?
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("#") { continue }
      if line.isEmpty || line.hasPrefix("message ") || line.hasPrefix("rejected ") {
        if let entry = current { entries.append(entry) }
        current = nil
        if let space = line.firstIndex(of: " ") {
          current = Entry(
            name: String(line[line.index(after: space)...]), rejected: line.hasPrefix("rejected"))
        }
      } else if line.hasPrefix("bytes ") {
        let digits = Array(line.dropFirst(6).filter { !$0.isWhitespace })
        guard digits.count.isMultiple(of: 2) else { throw GoldenError.badHex(String(line)) }
        for index in stride(from: 0, to: digits.count, by: 2) {
          guard let byte = UInt8(String(digits[index...index + 1]), radix: 16) else {
            throw GoldenError.badHex(String(line))
          }
          current?.bytes.append(byte)
        }
      } else {
        guard current != nil else { throw GoldenError.outsideAnEntry(String(line)) }
        current?.fields.append(String(line))
      }
    }
    if let entry = current { entries.append(entry) }
    return entries
  }

  enum GoldenError: Error {
    case badHex(String)
    case outsideAnEntry(String)
  }
}
