import Foundation

/// Identifies a file registered with a `SourceManager`.
public struct FileID: Hashable, Sendable, Comparable {
  public let index: Int
  public init(_ index: Int) { self.index = index }
  public static func < (a: FileID, b: FileID) -> Bool { a.index < b.index }
}

/// A half-open range of UTF-8 byte offsets `[start, end)` inside one file.
public struct Span: Hashable, Sendable {
  public var file: FileID
  public var start: Int
  public var end: Int

  public init(file: FileID, start: Int, end: Int) {
    self.file = file
    self.start = start
    self.end = max(start, end)
  }

  /// The smallest span covering both (they must be in the same file).
  public func to(_ other: Span) -> Span {
    Span(file: file, start: min(start, other.start), end: max(end, other.end))
  }

  public var isEmpty: Bool { start == end }

  /// The same span `delta` bytes further into its file: where it is after an edit above it.
  public func shifted(by delta: Int) -> Span {
    Span(file: file, start: start + delta, end: end + delta)
  }
}

/// A 1-based line and column. Columns count Unicode scalars, which is what editors show.
public struct LineColumn: Hashable, Sendable {
  public var line: Int
  public var column: Int
  public init(line: Int, column: Int) {
    self.line = line
    self.column = column
  }
}

/// One source file's text and the index needed to turn offsets into lines and columns.
public final class SourceFile: Sendable {
  public let id: FileID
  /// The path as the user should see it (relative to the working directory when possible).
  public let path: String
  public let text: String
  public let bytes: [UInt8]
  private let lineStarts: [Int]
  /// How many scalars precede every `checkpointStride`-th byte; empty when the text is
  /// ASCII (a byte is a scalar). A column is counted from the nearest checkpoint, not from
  /// the start of its line, so locating is fast on megabyte-long lines too.
  private let scalarCheckpoints: [Int]
  private static let checkpointStride = 64

  public init(id: FileID, path: String, text: String) {
    self.id = id
    self.path = path
    self.text = text
    let bytes = Array(text.utf8)
    self.bytes = bytes
    // Every save of a file pays these passes, so they are the machine's fast ones: the line
    // starts by `memchr`, whether the text is ASCII by a loop the compiler vectorises; the
    // checkpoints only for text that is not ASCII.
    var starts = [0]
    var highBits: UInt8 = 0
    bytes.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      var offset = 0
      while offset < buffer.count,
        let newline = memchr(base + offset, Int32(UInt8(ascii: "\n")), buffer.count - offset)
      {
        offset = base.distance(to: newline.assumingMemoryBound(to: UInt8.self)) + 1
        starts.append(offset)
      }
      for byte in buffer { highBits |= byte }
    }
    self.lineStarts = starts
    guard highBits & 0x80 != 0 else {
      scalarCheckpoints = []
      return
    }
    var checkpoints: [Int] = []
    var scalars = 0
    for (offset, byte) in bytes.enumerated() {
      if offset % Self.checkpointStride == 0 { checkpoints.append(scalars) }
      if byte & 0xC0 != 0x80 { scalars += 1 }
    }
    if bytes.count % Self.checkpointStride == 0 { checkpoints.append(scalars) }
    self.scalarCheckpoints = checkpoints
  }

  public var lineCount: Int { lineStarts.count }

  /// The 0-based index of the line holding `offset`.
  public func lineIndex(of offset: Int) -> Int {
    var low = 0
    var high = lineStarts.count - 1
    while low < high {
      let mid = (low + high + 1) / 2
      if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
    }
    return low
  }

  public func location(of offset: Int) -> LineColumn {
    let clamped = min(max(0, offset), bytes.count)
    let line = lineIndex(of: clamped)
    let start = lineStarts[line]
    return LineColumn(line: line + 1, column: scalarCount(from: start, to: clamped) + 1)
  }

  /// The text of a 1-based line, without its terminator.
  public func lineText(_ line: Int) -> String {
    guard line >= 1, line <= lineStarts.count else { return "" }
    return String(decoding: bytes[lineStartOffset(line)..<lineEndOffset(line)], as: UTF8.self)
  }

  /// The byte offset where a 1-based line starts.
  public func lineStartOffset(_ line: Int) -> Int {
    lineStarts[min(max(line - 1, 0), lineStarts.count - 1)]
  }

  /// The byte offset where a 1-based line's text ends, before its `\n` or `\r\n`.
  public func lineEndOffset(_ line: Int) -> Int {
    let index = min(max(line - 1, 0), lineStarts.count - 1)
    let start = lineStarts[index]
    var end = index + 1 < lineStarts.count ? lineStarts[index + 1] - 1 : bytes.count
    if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
    return max(start, end)
  }

  public func text(of span: Span) -> String {
    let start = min(span.start, bytes.count)
    let end = min(span.end, bytes.count)
    return String(decoding: bytes[start..<end], as: UTF8.self)
  }

  /// The number of Unicode scalars in the bytes `start..<end`.
  public func scalarCount(from start: Int, to end: Int) -> Int {
    scalarsBefore(end) - scalarsBefore(start)
  }

  private func scalarsBefore(_ offset: Int) -> Int {
    guard !scalarCheckpoints.isEmpty else { return offset }
    let checkpoint = offset / Self.checkpointStride
    return bytes.withUnsafeBufferPointer { bytes in
      var count = scalarCheckpoints[checkpoint]
      // Count the bytes that start a UTF-8 sequence.
      for index in checkpoint * Self.checkpointStride..<offset where bytes[index] & 0xC0 != 0x80 {
        count += 1
      }
      return count
    }
  }
}

/// Owns every loaded source file. Thread-safe so the driver can share it with test workers.
public final class SourceManager: @unchecked Sendable {
  private var files: [SourceFile] = []
  private let lock = NSLock()

  public init() {}

  @discardableResult
  public func add(path: String, text: String) -> SourceFile {
    lock.lock()
    defer { lock.unlock() }
    let file = SourceFile(id: FileID(files.count), path: path, text: text)
    files.append(file)
    return file
  }

  /// The file at `path` with `text`: the registered one when its text is unchanged, the
  /// same `FileID` with the new text when it changed, or a new file. Long-lived users (the
  /// dev daemon) reload files through this so IDs stay stable and memory stays bounded.
  public func update(path: String, text: String) -> SourceFile {
    lock.lock()
    defer { lock.unlock() }
    if let index = files.firstIndex(where: { $0.path == path }) {
      if files[index].text == text { return files[index] }
      files[index] = SourceFile(id: FileID(index), path: path, text: text)
      return files[index]
    }
    let file = SourceFile(id: FileID(files.count), path: path, text: text)
    files.append(file)
    return file
  }

  /// A manager holding the files as they are now; later updates here do not change it.
  /// A long-lived program keeps one to render diagnostics about code it compiled earlier.
  public func snapshot() -> SourceManager {
    let copy = SourceManager()
    copy.files = allFiles
    return copy
  }

  public func file(_ id: FileID) -> SourceFile {
    lock.lock()
    defer { lock.unlock() }
    return files[id.index]
  }

  public var allFiles: [SourceFile] {
    lock.lock()
    defer { lock.unlock() }
    return files
  }

  public func location(of span: Span) -> (start: LineColumn, end: LineColumn) {
    let file = file(span.file)
    return (file.location(of: span.start), file.location(of: span.end))
  }
}
