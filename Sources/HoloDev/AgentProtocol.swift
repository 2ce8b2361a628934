/// The messages between the daemon and the patch agent (docs/PATCHING.md, "Wire
/// protocol"): a u32 little-endian length, then the payload, whose first byte is the type.
enum AgentMessage: Equatable, Sendable {
  struct PatchAck: Equatable, Sendable {
    var patchID: UInt64
    var applied: Bool
    var linkMicroseconds: UInt32
    var applyMicroseconds: UInt32
    var error: String
    /// Slots whose previous version is still on the main thread's stack.
    var staleSlots: [String]
  }

  struct StatusReply: Equatable, Sendable {
    var requestID: UInt64
    var livePatches: UInt32
    var freedPatches: UInt32
    var residentKiB: UInt64
  }

  struct FramesReply: Equatable, Sendable {
    var requestID: UInt64
    /// False when the agent could not stop the main thread to look: nothing is known.
    var scanned: Bool
    /// Slots one of whose replaced versions still has a frame on the main thread's stack.
    var staleSlots: [String]
  }

  case hello(version: UInt32, processID: UInt32)
  case patchAck(PatchAck)
  case statusReply(StatusReply)
  case framesReply(FramesReply)

  static let protocolVersion: UInt32 = 2

  enum MessageType: UInt8 {
    case hello = 1
    case patch = 2
    case patchAck = 3
    case status = 4
    case statusReply = 5
    case frames = 6
    case framesReply = 7
  }

  /// Decodes an agent → daemon payload; nil when malformed or of another type.
  init?(payload: [UInt8]) {
    var reader = ByteReader(payload)
    guard let type = reader.u8().flatMap(MessageType.init(rawValue:)) else { return nil }
    switch type {
    case .hello:
      guard let version = reader.u32(), let processID = reader.u32() else { return nil }
      self = .hello(version: version, processID: processID)
    case .patchAck:
      guard let patchID = reader.u64(), let status = reader.u8(), let link = reader.u32(),
        let apply = reader.u32(), let error = reader.string(), let slots = reader.strings()
      else { return nil }
      self = .patchAck(
        PatchAck(
          patchID: patchID, applied: status == 0, linkMicroseconds: link,
          applyMicroseconds: apply, error: error, staleSlots: slots))
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

  /// A framed `PATCH` message. `newSlots` and `newCells` are the zeroed cells the agent
  /// creates before linking `object` (which may be empty: a patch that only writes data);
  /// at the safepoint the agent applies `dataWrites`, then `updates`.
  static func patch(
    id: UInt64, newSlots: [String], newCells: [String], object: [UInt8],
    updates: [(slot: String, function: String)], dataWrites: [(symbol: String, value: UInt64)]
  ) -> [UInt8] {
    var writer = ByteWriter(type: .patch)
    writer.u64(id)
    writer.u32(UInt32(newSlots.count))
    newSlots.forEach { writer.string($0) }
    writer.u32(UInt32(newCells.count))
    newCells.forEach { writer.string($0) }
    writer.bytes(object)
    writer.u32(UInt32(updates.count))
    for update in updates {
      writer.string(update.slot)
      writer.string(update.function)
    }
    writer.u32(UInt32(dataWrites.count))
    for write in dataWrites {
      writer.string(write.symbol)
      writer.u64(write.value)
    }
    return writer.framed
  }

  /// A framed `STATUS` message.
  static func status(requestID: UInt64) -> [UInt8] {
    var writer = ByteWriter(type: .status)
    writer.u64(requestID)
    return writer.framed
  }

  /// A framed `FRAMES` message: which replaced versions are still on the stack?
  static func frames(requestID: UInt64) -> [UInt8] {
    var writer = ByteWriter(type: .frames)
    writer.u64(requestID)
    return writer.framed
  }
}

private struct ByteReader {
  private let bytes: [UInt8]
  private var offset = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  mutating func u8() -> UInt8? { integer(1).map(UInt8.init) }
  mutating func u32() -> UInt32? { integer(4).map(UInt32.init) }
  mutating func u64() -> UInt64? { integer(8) }

  mutating func string() -> String? {
    guard let length = u32(), bytes.count - offset >= Int(length) else { return nil }
    defer { offset += Int(length) }
    return String(decoding: bytes[offset..<offset + Int(length)], as: UTF8.self)
  }

  /// A u32 count, then that many strings.
  mutating func strings() -> [String]? {
    guard let count = u32() else { return nil }
    var strings: [String] = []
    for _ in 0..<count {
      guard let string = string() else { return nil }
      strings.append(string)
    }
    return strings
  }

  private mutating func integer(_ size: Int) -> UInt64? {
    guard bytes.count - offset >= size else { return nil }
    var value: UInt64 = 0
    for index in 0..<size { value |= UInt64(bytes[offset + index]) << (8 * index) }
    offset += size
    return value
  }
}

private struct ByteWriter {
  private var payload: [UInt8]

  init(type: AgentMessage.MessageType) { payload = [type.rawValue] }

  mutating func u32(_ value: UInt32) { integer(UInt64(value), size: 4) }
  mutating func u64(_ value: UInt64) { integer(value, size: 8) }

  mutating func bytes(_ value: [UInt8]) {
    u32(UInt32(value.count))
    payload += value
  }

  mutating func string(_ value: String) { bytes(Array(value.utf8)) }

  private mutating func integer(_ value: UInt64, size: Int) {
    for index in 0..<size { payload.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
  }

  var framed: [UInt8] {
    var frame: [UInt8] = []
    let length = UInt32(payload.count)
    for index in 0..<4 { frame.append(UInt8(truncatingIfNeeded: length >> (8 * index))) }
    return frame + payload
  }
}
