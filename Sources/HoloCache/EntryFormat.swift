/// The on-disk framing of a local action result (a blob needs none: its name is its
/// digest): a fixed header in front of the payload, so a reader tells a complete entry from
/// a truncated or damaged one.
///
///     offset  size  field
///          0     8  magic "holocach"
///          8     4  format version, little-endian (1)
///         12     8  payload length in bytes, little-endian
///         20    32  SHA-256 of the payload
///         52     …  payload
enum EntryFormat {
  static let magic = Array("holocach".utf8)
  static let version: UInt32 = 1
  static let headerSize = 52

  /// The header of an entry whose payload has `payloadCount` bytes hashing to `digest`:
  /// written in front of the payload, which is then written as it is.
  static func header(payloadCount: Int, digest: ContentDigest) -> [UInt8] {
    var header = magic
    appendLittleEndian(version, to: &header)
    appendLittleEndian(UInt64(payloadCount), to: &header)
    header += digest.bytes
    return header
  }

  /// The payload of a complete, undamaged entry and its digest, or nil: wrong magic or
  /// version, a length that disagrees with the entry's size, or a payload that does not hash
  /// to its digest.
  static func payload(of entry: [UInt8]) -> (payload: [UInt8], digest: ContentDigest)? {
    guard entry.count >= headerSize, Array(entry[0..<8]) == magic,
      readLittleEndian(entry, at: 8, as: UInt32.self) == version,
      readLittleEndian(entry, at: 12, as: UInt64.self) == UInt64(entry.count - headerSize)
    else { return nil }
    let payload = Array(entry[headerSize...])
    let digest = ContentDigest(of: payload)
    guard digest.bytes == Array(entry[20..<headerSize]) else { return nil }
    return (payload, digest)
  }
}

private func appendLittleEndian<Integer: FixedWidthInteger>(
  _ value: Integer, to bytes: inout [UInt8]
) {
  withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
}

private func readLittleEndian<Integer: FixedWidthInteger>(
  _ bytes: [UInt8], at offset: Int, as: Integer.Type
) -> Integer {
  var value: Integer = 0
  for index in (0..<MemoryLayout<Integer>.size).reversed() {
    value = value << 8 | Integer(bytes[offset + index])
  }
  return value
}
