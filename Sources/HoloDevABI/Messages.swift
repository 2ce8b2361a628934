/// The messages of the patch protocol (docs/PATCHING.md, "Wire protocol"), with their
/// codec. Integers are little-endian; a string is a u32 byte length and UTF-8 bytes; a
/// list is a u32 count and its elements. `framed` encodes a message with its length
/// prefix; `init?(payload:)` decodes a payload (the frame without its prefix).

/// A message the agent sends to the daemon.
public enum AgentMessage: Equatable, Sendable {
  public struct PatchAck: Equatable, Sendable {
    public var patchID: UInt64
    /// Sent as `DevABI.PatchStatus`; any status but `applied` reads as failed.
    public var applied: Bool
    public var linkMicroseconds: UInt32
    public var applyMicroseconds: UInt32
    /// Empty when applied.
    public var error: String
    /// Slots whose previous version is still on the main thread's stack.
    public var staleSlots: [String]
    /// Per conversion of the patch's migration, in the patch's order: how many values it
    /// converted and how many of them lost information.
    public var migrations: [MigrationCount]
    /// The lossy conversions, told one by one (`world.enemies[3].hp: 3.7 → 3`): at most
    /// `DevABI.Migration.maximumReports`, all counted in `migrations`.
    public var lossyReports: [String]

    public init(
      patchID: UInt64, applied: Bool, linkMicroseconds: UInt32, applyMicroseconds: UInt32,
      error: String, staleSlots: [String], migrations: [MigrationCount] = [],
      lossyReports: [String] = []
    ) {
      self.patchID = patchID
      self.applied = applied
      self.linkMicroseconds = linkMicroseconds
      self.applyMicroseconds = applyMicroseconds
      self.error = error
      self.staleSlots = staleSlots
      self.migrations = migrations
      self.lossyReports = lossyReports
    }
  }

  public struct MigrationCount: Equatable, Sendable {
    public var values: UInt64
    public var lossy: UInt64
    public init(values: UInt64, lossy: UInt64) {
      self.values = values
      self.lossy = lossy
    }
  }

  public struct StatusReply: Equatable, Sendable {
    public var requestID: UInt64
    public var livePatches: UInt32
    public var freedPatches: UInt32
    public var residentKiB: UInt64

    public init(requestID: UInt64, livePatches: UInt32, freedPatches: UInt32, residentKiB: UInt64) {
      self.requestID = requestID
      self.livePatches = livePatches
      self.freedPatches = freedPatches
      self.residentKiB = residentKiB
    }
  }

  public struct FramesReply: Equatable, Sendable {
    public var requestID: UInt64
    /// False when the agent could not stop the main thread to look: nothing is known.
    public var scanned: Bool
    /// Slots one of whose replaced versions still has a frame on the main thread's stack.
    public var staleSlots: [String]

    public init(requestID: UInt64, scanned: Bool, staleSlots: [String]) {
      self.requestID = requestID
      self.scanned = scanned
      self.staleSlots = staleSlots
    }
  }

  case hello(version: UInt32, processID: UInt32)
  case patchAck(PatchAck)
  case statusReply(StatusReply)
  case framesReply(FramesReply)

  /// Decodes an agent → daemon payload; nil when it is malformed or of another type (the
  /// daemon skips those, so a newer agent may add types). Bytes after the last field are
  /// ignored, for the same reason.
  public init?(payload: [UInt8]) {
    var reader = ByteReader(payload)
    guard let type = reader.u8().flatMap(DevABI.MessageType.init(rawValue:)) else { return nil }
    switch type {
    case .hello:
      guard let version = reader.u32(), let processID = reader.u32() else { return nil }
      self = .hello(version: version, processID: processID)
    case .patchAck:
      guard let patchID = reader.u64(), let status = reader.u8(), let link = reader.u32(),
        let apply = reader.u32(), let error = reader.string(), let slots = reader.strings(),
        let migrations = reader.list({ reader in
          reader.u64().flatMap { values in
            reader.u64().map { MigrationCount(values: values, lossy: $0) }
          }
        }), let reports = reader.strings()
      else { return nil }
      self = .patchAck(
        PatchAck(
          patchID: patchID, applied: status == DevABI.PatchStatus.applied.rawValue,
          linkMicroseconds: link, applyMicroseconds: apply, error: error, staleSlots: slots,
          migrations: migrations, lossyReports: reports))
    case .statusReply:
      guard let requestID = reader.u64(), let live = reader.u32(), let freed = reader.u32(),
        let resident = reader.u64()
      else { return nil }
      self = .statusReply(
        StatusReply(
          requestID: requestID, livePatches: live, freedPatches: freed, residentKiB: resident))
    case .framesReply:
      guard let requestID = reader.u64(), let scanned = reader.u8(), let slots = reader.strings()
      else { return nil }
      self = .framesReply(
        FramesReply(requestID: requestID, scanned: scanned != 0, staleSlots: slots))
    case .patch, .status, .frames:
      return nil
    }
  }

  /// The message with its length prefix, as the agent sends it.
  public var framed: [UInt8] {
    switch self {
    case .hello(let version, let processID):
      var writer = ByteWriter(type: .hello)
      writer.u32(version)
      writer.u32(processID)
      return writer.framed
    case .patchAck(let ack):
      var writer = ByteWriter(type: .patchAck)
      writer.u64(ack.patchID)
      writer.u8((ack.applied ? DevABI.PatchStatus.applied : .failed).rawValue)
      writer.u32(ack.linkMicroseconds)
      writer.u32(ack.applyMicroseconds)
      writer.string(ack.error)
      writer.strings(ack.staleSlots)
      writer.u32(UInt32(ack.migrations.count))
      for migration in ack.migrations {
        writer.u64(migration.values)
        writer.u64(migration.lossy)
      }
      writer.strings(ack.lossyReports)
      return writer.framed
    case .statusReply(let reply):
      var writer = ByteWriter(type: .statusReply)
      writer.u64(reply.requestID)
      writer.u32(reply.livePatches)
      writer.u32(reply.freedPatches)
      writer.u64(reply.residentKiB)
      return writer.framed
    case .framesReply(let reply):
      var writer = ByteWriter(type: .framesReply)
      writer.u64(reply.requestID)
      writer.u8(reply.scanned ? 1 : 0)
      writer.strings(reply.staleSlots)
      return writer.framed
    }
  }
}

/// A message the daemon sends to the agent.
public enum DaemonMessage: Equatable, Sendable {
  /// A patch: the agent creates `newSlots` and `newCells` (zeroed 8-byte cells) and the
  /// storage of `newGlobals`, links `object` (which may be empty: a patch that only writes
  /// data or repoints slots at code the process has), then at one safepoint applies
  /// `dataWrites`, then `updates`, then calls `safepointFunction` (when not empty: the
  /// safepoint is then taken where the main thread polls); with `restartsFrames`, the main
  /// thread then restarts the outermost frame running code a patch replaced: it unwinds
  /// the stack down to it and calls its function's current version with the same
  /// arguments (`--restart frame`).
  public struct Patch: Equatable, Sendable {
    public struct SlotUpdate: Equatable, Sendable {
      public var slot: String
      public var function: String

      public init(slot: String, function: String) {
        self.slot = slot
        self.function = function
      }
    }

    public struct DataWrite: Equatable, Sendable {
      public var cell: String
      public var value: UInt64

      public init(cell: String, value: UInt64) {
        self.cell = cell
        self.value = value
      }
    }

    /// Storage of a global the patch adds: `size` zeroed bytes aligned to `alignment`.
    public struct NewGlobal: Equatable, Sendable {
      public var symbol: String
      public var size: UInt32
      public var alignment: UInt32

      public init(symbol: String, size: UInt32, alignment: UInt32) {
        self.symbol = symbol
        self.size = size
        self.alignment = alignment
      }
    }

    public var id: UInt64
    public var newSlots: [String]
    public var newCells: [String]
    public var object: [UInt8]
    public var updates: [SlotUpdate]
    public var dataWrites: [DataWrite]
    public var newGlobals: [NewGlobal]
    /// `holo.safepoint#ID`, defined by `object`, or empty.
    public var safepointFunction: String
    public var restartsFrames: Bool

    public init(
      id: UInt64, newSlots: [String], newCells: [String], object: [UInt8],
      updates: [SlotUpdate], dataWrites: [DataWrite], newGlobals: [NewGlobal] = [],
      safepointFunction: String = "", restartsFrames: Bool = false
    ) {
      self.id = id
      self.newSlots = newSlots
      self.newCells = newCells
      self.object = object
      self.updates = updates
      self.dataWrites = dataWrites
      self.newGlobals = newGlobals
      self.safepointFunction = safepointFunction
      self.restartsFrames = restartsFrames
    }
  }

  case patch(Patch)
  /// Asks for a `STATUS_REPLY` with the same id.
  case status(requestID: UInt64)
  /// Asks which replaced versions still have frames: a `FRAMES_REPLY` with the same id.
  case frames(requestID: UInt64)

  /// Decodes a daemon → agent payload as the agent reads it: nil when it is of another
  /// type or malformed, which for `PATCH` includes a name with a NUL byte and bytes after
  /// its last field (the agent answers those with a failed `PATCH_ACK`).
  public init?(payload: [UInt8]) {
    var reader = ByteReader(payload)
    guard let type = reader.u8().flatMap(DevABI.MessageType.init(rawValue:)) else { return nil }
    switch type {
    case .patch:
      guard let id = reader.u64(), let newSlots = reader.list({ $0.name() }),
        let newCells = reader.list({ $0.name() }), let object = reader.bytes(),
        let updates = reader.list({ reader in
          reader.name().flatMap { slot in
            reader.name().map { Patch.SlotUpdate(slot: slot, function: $0) }
          }
        }),
        let dataWrites = reader.list({ reader in
          reader.name().flatMap { cell in
            reader.u64().map { Patch.DataWrite(cell: cell, value: $0) }
          }
        }),
        let newGlobals = reader.list({ reader in
          reader.name().flatMap { symbol in
            reader.u32().flatMap { size in
              reader.u32().map {
                Patch.NewGlobal(symbol: symbol, size: size, alignment: $0)
              }
            }
          }
        }),
        let safepointFunction = reader.name(), let restart = reader.u8(), restart <= 1,
        reader.isAtEnd
      else { return nil }
      self = .patch(
        Patch(
          id: id, newSlots: newSlots, newCells: newCells, object: object, updates: updates,
          dataWrites: dataWrites, newGlobals: newGlobals, safepointFunction: safepointFunction,
          restartsFrames: restart == 1))
    case .status:
      guard let id = reader.u64() else { return nil }
      self = .status(requestID: id)
    case .frames:
      guard let id = reader.u64() else { return nil }
      self = .frames(requestID: id)
    case .hello, .patchAck, .statusReply, .framesReply:
      return nil
    }
  }

  /// The message with its length prefix, as the daemon sends it.
  public var framed: [UInt8] {
    switch self {
    case .patch(let patch):
      var writer = ByteWriter(type: .patch)
      writer.u64(patch.id)
      writer.strings(patch.newSlots)
      writer.strings(patch.newCells)
      writer.bytes(patch.object)
      writer.u32(UInt32(patch.updates.count))
      for update in patch.updates {
        writer.string(update.slot)
        writer.string(update.function)
      }
      writer.u32(UInt32(patch.dataWrites.count))
      for write in patch.dataWrites {
        writer.string(write.cell)
        writer.u64(write.value)
      }
      writer.u32(UInt32(patch.newGlobals.count))
      for global in patch.newGlobals {
        writer.string(global.symbol)
        writer.u32(global.size)
        writer.u32(global.alignment)
      }
      writer.string(patch.safepointFunction)
      writer.u8(patch.restartsFrames ? 1 : 0)
      return writer.framed
    case .status(let id):
      var writer = ByteWriter(type: .status)
      writer.u64(id)
      return writer.framed
    case .frames(let id):
      var writer = ByteWriter(type: .frames)
      writer.u64(id)
      return writer.framed
    }
  }
}

/// Reads a payload; every read past its end yields nil.
private struct ByteReader {
  private let payload: [UInt8]
  private var offset = 0

  init(_ payload: [UInt8]) { self.payload = payload }

  var isAtEnd: Bool { offset == payload.count }

  mutating func u8() -> UInt8? { integer(1).map(UInt8.init) }
  mutating func u32() -> UInt32? { integer(4).map(UInt32.init) }
  mutating func u64() -> UInt64? { integer(8) }

  /// A u32 length, then that many bytes.
  mutating func bytes() -> [UInt8]? {
    guard let length = u32(), payload.count - offset >= Int(length) else { return nil }
    defer { offset += Int(length) }
    return Array(payload[offset..<offset + Int(length)])
  }

  mutating func string() -> String? { bytes().map { String(decoding: $0, as: UTF8.self) } }

  mutating func strings() -> [String]? { list { $0.string() } }

  /// A string without NUL bytes: the agent reads symbol names as C strings.
  mutating func name() -> String? {
    bytes().flatMap { $0.contains(0) ? nil : String(decoding: $0, as: UTF8.self) }
  }

  /// A u32 count, then that many elements.
  mutating func list<Element>(_ element: (inout ByteReader) -> Element?) -> [Element]? {
    guard let count = u32() else { return nil }
    var elements: [Element] = []
    for _ in 0..<count {
      guard let next = element(&self) else { return nil }
      elements.append(next)
    }
    return elements
  }

  private mutating func integer(_ size: Int) -> UInt64? {
    guard payload.count - offset >= size else { return nil }
    var value: UInt64 = 0
    for index in 0..<size { value |= UInt64(payload[offset + index]) << (8 * index) }
    offset += size
    return value
  }
}

private struct ByteWriter {
  private var payload: [UInt8]

  init(type: DevABI.MessageType) { payload = [type.rawValue] }

  mutating func u8(_ value: UInt8) { payload.append(value) }
  mutating func u32(_ value: UInt32) { integer(UInt64(value), size: 4) }
  mutating func u64(_ value: UInt64) { integer(value, size: 8) }

  mutating func bytes(_ value: [UInt8]) {
    u32(UInt32(value.count))
    payload += value
  }

  mutating func string(_ value: String) { bytes(Array(value.utf8)) }

  mutating func strings(_ values: [String]) {
    u32(UInt32(values.count))
    for value in values { string(value) }
  }

  private mutating func integer(_ value: UInt64, size: Int) {
    for index in 0..<size { payload.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
  }

  var framed: [UInt8] {
    var frame: [UInt8] = []
    let length = UInt32(payload.count)
    for index in 0..<DevABI.lengthPrefixSize {
      frame.append(UInt8(truncatingIfNeeded: length >> (8 * index)))
    }
    return frame + payload
  }
}
