/// One output of a cached action: a name the caller chose and the bytes it stands for.
public struct CacheOutput: Sendable, Hashable {
  public var name: String
  public var bytes: [UInt8]

  public init(name: String, bytes: [UInt8]) {
    self.name = name
    self.bytes = bytes
  }
}

/// The value of an action-cache entry: the outputs of an action, by name, each referring to
/// a blob of the content-addressed store.
///
/// It is stored, locally and remotely, as the protobuf encoding of Bazel's
/// `build.bazel.remote.execution.v2.ActionResult` with only `output_files` set, so a Bazel
/// remote cache that validates action results (bazel-remote does) accepts it:
///
///     ActionResult { repeated OutputFile output_files = 2; }
///     OutputFile   { string path = 1; Digest digest = 2; }
///     Digest       { string hash = 1; int64 size_bytes = 2; }
struct ActionResult: Equatable {
  struct OutputFile: Equatable {
    /// The output's name (`path` in the protobuf).
    var name: String
    var digest: ContentDigest
    var size: UInt64
  }

  var outputFiles: [OutputFile]

  init(outputFiles: [OutputFile]) {
    self.outputFiles = outputFiles
  }

  /// The result naming `outputs`, each by the digest of its bytes.
  init(outputs: [CacheOutput]) {
    outputFiles = outputs.map {
      OutputFile(name: $0.name, digest: ContentDigest(of: $0.bytes), size: UInt64($0.bytes.count))
    }
  }

  func encoded() -> [UInt8] {
    var message = ProtobufWriter()
    for file in outputFiles {
      var digest = ProtobufWriter()
      digest.writeBytes(field: 1, Array(file.digest.hex.utf8))
      digest.writeVarint(field: 2, file.size)
      var outputFile = ProtobufWriter()
      outputFile.writeBytes(field: 1, Array(file.name.utf8))
      outputFile.writeBytes(field: 2, digest.bytes)
      message.writeBytes(field: 2, outputFile.bytes)
    }
    return message.bytes
  }

  /// Decodes `bytes`, skipping fields other than `output_files`; nil when they are not a
  /// well-formed message or an output file lacks a path or a valid SHA-256 digest.
  init?(decoding bytes: [UInt8]) {
    var files: [OutputFile] = []
    var message = ProtobufReader(bytes[...])
    while let field = message.nextField() {
      guard case .bytes(let fileBytes) = field.value, field.number == 2 else { continue }
      var path: String?
      var hash: ContentDigest?
      var size: UInt64 = 0
      var file = ProtobufReader(fileBytes)
      while let fileField = file.nextField() {
        switch (fileField.number, fileField.value) {
        case (1, .bytes(let text)): path = String(validating: text, as: UTF8.self)
        case (2, .bytes(let digestBytes)):
          var digest = ProtobufReader(digestBytes)
          while let digestField = digest.nextField() {
            switch (digestField.number, digestField.value) {
            case (1, .bytes(let text)):
              hash = ContentDigest(hex: String(decoding: text, as: UTF8.self))
            case (2, .varint(let value)): size = value
            default: break
            }
          }
          guard digest.isAtEnd else { return nil }
        default: break
        }
      }
      guard file.isAtEnd, let path, let hash else { return nil }
      files.append(OutputFile(name: path, digest: hash, size: size))
    }
    guard message.isAtEnd else { return nil }
    outputFiles = files
  }
}

/// Writes protobuf wire format: varints and length-delimited fields are all we need.
private struct ProtobufWriter {
  var bytes: [UInt8] = []

  mutating func writeVarint(field: Int, _ value: UInt64) {
    writeRawVarint(UInt64(field << 3 | 0))
    writeRawVarint(value)
  }

  mutating func writeBytes(field: Int, _ value: [UInt8]) {
    writeRawVarint(UInt64(field << 3 | 2))
    writeRawVarint(UInt64(value.count))
    bytes += value
  }

  private mutating func writeRawVarint(_ value: UInt64) {
    var rest = value
    while rest >= 0x80 {
      bytes.append(UInt8(rest & 0x7f) | 0x80)
      rest >>= 7
    }
    bytes.append(UInt8(rest))
  }
}

/// Reads protobuf wire format, field by field. A malformed message stops the reading
/// before its end, which `isAtEnd` then tells.
private struct ProtobufReader {
  enum Value {
    case varint(UInt64)
    case bytes(ArraySlice<UInt8>)
    case fixed
  }

  private var rest: ArraySlice<UInt8>
  private var failed = false

  init(_ bytes: ArraySlice<UInt8>) {
    rest = bytes
  }

  var isAtEnd: Bool { !failed && rest.isEmpty }

  mutating func nextField() -> (number: Int, value: Value)? {
    guard !failed, !rest.isEmpty else { return nil }
    guard let tag = readVarint(), tag >> 3 > 0, tag >> 3 <= 0x1fff_ffff else { return fail() }
    let number = Int(tag >> 3)
    switch tag & 7 {
    case 0:
      guard let value = readVarint() else { return fail() }
      return (number, .varint(value))
    case 1, 5:
      let width = tag & 7 == 1 ? 8 : 4
      guard rest.count >= width else { return fail() }
      rest = rest.dropFirst(width)
      return (number, .fixed)
    case 2:
      guard let length = readVarint(), length <= UInt64(rest.count) else { return fail() }
      let value = rest.prefix(Int(length))
      rest = rest.dropFirst(Int(length))
      return (number, .bytes(value))
    default:
      return fail()
    }
  }

  private mutating func fail() -> (number: Int, value: Value)? {
    failed = true
    return nil
  }

  private mutating func readVarint() -> UInt64? {
    var value: UInt64 = 0
    for shift in stride(from: 0, to: 64, by: 7) {
      guard let byte = rest.popFirst() else { return nil }
      value |= UInt64(byte & 0x7f) << UInt64(shift)
      if byte < 0x80 { return value }
    }
    return nil
  }
}
