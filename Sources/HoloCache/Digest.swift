import Crypto

/// A SHA-256 digest: the name of a blob in the content-addressed store, and of an action.
public struct ContentDigest: Sendable, Hashable, CustomStringConvertible {
  /// The 32 bytes of the digest.
  public let bytes: [UInt8]

  /// The digest of `data`.
  public init(of data: some Sequence<UInt8>) {
    var hasher = SHA256()
    // Contiguous bytes (an array, a slice of one) are hashed in place, not copied first.
    let hashedInPlace: Void? = data.withContiguousStorageIfAvailable { bytes in
      hasher.update(bufferPointer: UnsafeRawBufferPointer(bytes))
    }
    if hashedInPlace == nil { hasher.update(data: Array(data)) }
    self.init(hasher)
  }

  /// The digest of the bytes at `buffer`.
  public init(of buffer: UnsafeRawBufferPointer) {
    var hasher = SHA256()
    hasher.update(bufferPointer: buffer)
    self.init(hasher)
  }

  init(_ hasher: SHA256) {
    bytes = hasher.finalize().withUnsafeBytes { Array($0) }
  }

  /// Its first eight bytes: a SHA-256 digest's bytes are uniformly distributed, so they
  /// hash as well as all 32, combined one by one.
  public func hash(into hasher: inout Hasher) {
    bytes.withUnsafeBytes { hasher.combine($0.loadUnaligned(as: UInt64.self)) }
  }

  /// The digest spelled as 64 lower-case hexadecimal digits, as Bazel's remote cache names it.
  public init?(hex: some StringProtocol) {
    let digits = Array(hex.utf8)
    guard digits.count == 64 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(32)
    for index in stride(from: 0, to: 64, by: 2) {
      guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else {
        return nil
      }
      bytes.append(high << 4 | low)
    }
    self.bytes = bytes
  }

  /// 64 lower-case hexadecimal digits.
  public var hex: String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(64)
    for byte in bytes {
      text.append(digits[Int(byte >> 4)])
      text.append(digits[Int(byte & 0xf)])
    }
    return String(decoding: text, as: UTF8.self)
  }

  public var description: String { hex }
}

private func hexValue(_ digit: UInt8) -> UInt8? {
  switch digit {
  case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
  case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
  case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
  default: nil
  }
}

/// The identity of a cache entry: the digest of an ordered list of labelled parts, each
/// being something the entry's contents depend on (a function's source, what it read, the
/// compiler version, the target, the options). Made with a `CacheKey.Builder`.
public struct CacheKey: Sendable, Hashable, CustomStringConvertible {
  /// The digest naming the key's action-cache entry.
  public let digest: ContentDigest

  public var description: String { digest.hex }

  /// Hashes a key's parts as they are added.
  ///
  /// Every label and value is hashed with its length in front, so no two different lists
  /// hash the same bytes: `("a", "bc")` and `("ab", "c")` are different keys, and so are
  /// `[("x", "")]` and `[]`. Order matters; callers add parts in a fixed order.
  public struct Builder {
    private var hasher = SHA256()

    /// A key with no parts yet; `kind` names what the entries keyed this way are (e.g.
    /// "function-object"), so keys for different kinds of entry never coincide.
    public init(kind: String) {
      hash(Array("holo-cache-key-v1".utf8))
      hash(Array(kind.utf8))
    }

    /// Adds a part whose value is raw bytes.
    public mutating func add(_ label: String, _ value: [UInt8]) {
      hash(Array(label.utf8))
      hash(value)
    }

    /// Adds a part whose value is text (hashed as UTF-8).
    public mutating func add(_ label: String, _ value: String) {
      add(label, Array(value.utf8))
    }

    /// The key of the parts added so far.
    public var key: CacheKey { CacheKey(digest: ContentDigest(hasher)) }

    private mutating func hash(_ bytes: [UInt8]) {
      withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { hasher.update(bufferPointer: $0) }
      hasher.update(data: bytes)
    }
  }
}
