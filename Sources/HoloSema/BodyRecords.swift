import Crypto
import HoloIR

/// What a clean check of one body found, kept from process to process (the driver stores
/// them in the build cache): the names the body read and what each was. A later database
/// that finds a body with the same key, whose names are still what they were, knows how
/// its check comes out — cleanly, with these reads — and defers making its code until
/// something needs it (`IRFunction(deferredID:…)`): a build whose objects are all cached
/// but one checks one body.
public struct BodyRecord: Sendable, Equatable {
  /// A name the body looked up, and the shape it found (`GlobalShape.recorded`; "" for
  /// nothing).
  public struct Read: Sendable, Equatable {
    public var name: String
    public var shape: String
  }

  /// The SHA-256 of everything the check depends on but the names it reads: the body's
  /// text, the file's path, the column the text starts at, its name, kind, whether it is
  /// exported, and its signature.
  public var key: BodyRecordKey
  /// Sorted by name.
  public var reads: [Read]
}

public struct BodyRecordKey: Hashable, Sendable {
  /// 32 bytes.
  public let bytes: [UInt8]

  init(
    text: ArraySlice<UInt8>, path: String, column: Int, name: String, kind: FunctionKind,
    isExport: Bool, parameterTypes: [IRType], returnType: IRType
  ) {
    // One buffer, hashed at once; every part with its length in front, so different
    // bodies cannot encode alike.
    var buffer: [UInt8] = []
    buffer.reserveCapacity(text.count + path.utf8.count + name.utf8.count + 64)
    buffer.appendPrefixed(path.utf8)
    buffer.appendLength(column)
    buffer.appendPrefixed(name.utf8)
    buffer.appendPrefixed(kind.rawValue.utf8)
    buffer.append(isExport ? 1 : 0)
    for type in parameterTypes { buffer.appendPrefixed(type.description.utf8) }
    buffer.appendPrefixed(returnType.description.utf8)
    buffer.appendPrefixed(text)
    bytes = SHA256.hash(data: buffer).withUnsafeBytes { Array($0) }
  }

  /// Its first eight bytes: a SHA-256 digest's bytes are uniformly distributed, so they
  /// hash as well as all 32, combined one by one.
  public func hash(into hasher: inout Hasher) {
    bytes.withUnsafeBytes { hasher.combine($0.loadUnaligned(as: UInt64.self)) }
  }

  init?(_ bytes: ArraySlice<UInt8>) {
    guard bytes.count == 32 else { return nil }
    self.bytes = Array(bytes)
  }
}

/// Body records by key, as a database is given them; and their file format: "HOLOREC1",
/// the record count, each record (key, read count, each read's name and shape, lengths
/// as 4 bytes little-endian in front), then the SHA-256 of all before it, so a torn or
/// corrupt file is detected (and then read as no records).
public struct BodyRecords: Sendable {
  private var reads: [BodyRecordKey: [BodyRecord.Read]] = [:]

  public init() {}

  public init(_ records: [BodyRecord]) {
    reads.reserveCapacity(records.count)
    for record in records { reads[record.key] = record.reads }
  }

  public var isEmpty: Bool { reads.isEmpty }

  subscript(key: BodyRecordKey) -> [BodyRecord.Read]? { reads[key] }

  private static let magic = Array("HOLOREC1".utf8)

  public static func encode(_ records: [BodyRecord]) -> [UInt8] {
    var bytes = magic
    bytes.appendLength(records.count)
    for record in records {
      bytes.append(contentsOf: record.key.bytes)
      bytes.appendLength(record.reads.count)
      for read in record.reads {
        bytes.appendPrefixed(read.name.utf8)
        bytes.appendPrefixed(read.shape.utf8)
      }
    }
    bytes.append(contentsOf: SHA256.hash(data: bytes))
    return bytes
  }

  /// The records `bytes` holds; nil when they are not a whole, intact file.
  public static func decode(_ bytes: [UInt8]) -> [BodyRecord]? {
    guard bytes.count >= magic.count + 4 + 32,
      bytes.starts(with: magic),
      Array(SHA256.hash(data: bytes[..<(bytes.count - 32)])) == Array(bytes.suffix(32))
    else { return nil }
    var reader = Reader(bytes: bytes[magic.count..<(bytes.count - 32)])
    guard let count = reader.integer() else { return nil }
    var records: [BodyRecord] = []
    records.reserveCapacity(min(count, bytes.count / 36))
    for _ in 0..<count {
      guard let key = reader.take(32).flatMap(BodyRecordKey.init), let reads = reader.integer()
      else { return nil }
      var record = BodyRecord(key: key, reads: [])
      for _ in 0..<reads {
        guard let name = reader.text(), let shape = reader.text() else { return nil }
        record.reads.append(BodyRecord.Read(name: name, shape: shape))
      }
      records.append(record)
    }
    return reader.isAtEnd ? records : nil
  }

  private struct Reader {
    var bytes: ArraySlice<UInt8>

    var isAtEnd: Bool { bytes.isEmpty }

    mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
      guard count <= bytes.count else { return nil }
      defer { bytes = bytes.dropFirst(count) }
      return bytes.prefix(count)
    }

    mutating func integer() -> Int? {
      take(4).map { $0.reversed().reduce(0) { $0 << 8 | Int($1) } }
    }

    mutating func text() -> String? {
      integer().flatMap { take($0) }.map { String(decoding: $0, as: UTF8.self) }
    }
  }
}

extension [UInt8] {
  /// A count or length as records write them: 4 bytes, little-endian.
  fileprivate mutating func appendLength(_ value: Int) {
    Swift.withUnsafeBytes(of: UInt32(value).littleEndian) { append(contentsOf: $0) }
  }

  /// `part` with its length in front.
  fileprivate mutating func appendPrefixed(_ part: some Collection<UInt8>) {
    appendLength(part.count)
    append(contentsOf: part)
  }
}
