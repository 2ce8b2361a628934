import Foundation

/// Renders diagnostics as CLI.md specifies: the human excerpt format or JSON lines.
public struct DiagnosticRenderer {
  public enum Format: String, Sendable {
    case human
    case json
  }

  public let sources: SourceManager
  public let useColor: Bool

  public init(sources: SourceManager, useColor: Bool = false) {
    self.sources = sources
    self.useColor = useColor
  }

  /// Whether stderr should get colour: a terminal, and `NO_COLOR` unset.
  public static func stderrWantsColor() -> Bool { wantsColor(fileDescriptor: 2) }

  /// Whether output to `fileDescriptor` should get colour: it is a terminal, and `NO_COLOR`
  /// is unset in `environment`.
  public static func wantsColor(
    fileDescriptor: Int32, environment: [String: String] = ProcessInfo.processInfo.environment
  ) -> Bool {
    isatty(fileDescriptor) != 0 && environment["NO_COLOR"] == nil
  }

  public func render(_ diagnostic: Diagnostic, format: Format) -> String {
    switch format {
    case .human: return renderHuman(diagnostic)
    case .json: return renderJSON(diagnostic)
    }
  }

  /// How many diagnostics of one file human output shows; the rest are counted in one line
  /// per file at the end. JSON output lists every one: tools choose what to show.
  public static let humanLimitPerFile = 100

  /// Renders a run's diagnostics in order: human ones each followed by a blank line, up to
  /// `humanLimitPerFile` per file, JSON ones one per line.
  public func render(_ diagnostics: [Diagnostic], format: Format) -> String {
    guard format == .human else {
      return diagnostics.map { renderJSON($0) + "\n" }.joined()
    }
    var text = ""
    var shown: [String: Int] = [:]
    var omitted: [(file: String, count: Int, allErrors: Bool)] = []
    for diagnostic in diagnostics {
      let file = diagnostic.span.map { sources.file($0.file).path } ?? diagnostic.path ?? ""
      if shown[file, default: 0] < Self.humanLimitPerFile {
        shown[file, default: 0] += 1
        text += renderHuman(diagnostic) + "\n"
      } else if let index = omitted.firstIndex(where: { $0.file == file }) {
        omitted[index].count += 1
        omitted[index].allErrors = omitted[index].allErrors && diagnostic.severity == .error
      } else {
        omitted.append((file, 1, diagnostic.severity == .error))
      }
    }
    for (file, count, allErrors) in omitted {
      let noun = (allErrors ? "error" : "diagnostic") + (count == 1 ? "" : "s")
      let place = file.isEmpty ? "" : " in \(file)"
      text += "and \(Self.grouped(count)) more \(noun)\(place) (`--format json` lists them all)\n\n"
    }
    return text
  }

  /// `9900` as `9,900`.
  private static func grouped(_ number: Int) -> String {
    var digits = String(number)
    var index = digits.endIndex
    while digits.distance(from: digits.startIndex, to: index) > 3 {
      index = digits.index(index, offsetBy: -3)
      digits.insert(",", at: index)
    }
    return digits
  }

  // MARK: Human

  /// Lines wider than this many columns are shown as windows around their marks.
  static let maximumLineWidth = 120
  /// Columns of text shown on each side of a mark in a line shown in windows.
  static let contextWidth = 40
  /// Columns of a long mark drawn in a line shown in windows.
  static let maximumMarkWidth = 60
  /// Messages are cut with `…` after this many characters.
  static let maximumMessageWidth = 300
  /// Lines of a message's details shown; the rest are counted.
  static let maximumDetailLines = 20

  public func renderHuman(_ diagnostic: Diagnostic) -> String {
    let icon = diagnostic.phase == .runtime ? "💥" : "⚒️"
    let code = diagnostic.phase == .runtime ? "" : "[\(diagnostic.code.rawValue)]"
    // The headline is the message's first line; the others are details below the location.
    let lines = diagnostic.message.split(separator: "\n", omittingEmptySubsequences: false)
    var out = paint("\(icon) \(diagnostic.phase.rawValue)\(code): ", bold: true, red: true)
    out += paint(Self.oneLine(lines[0]), bold: true, red: false) + "\n"
    if let span = diagnostic.span {
      out += location(span, labels: diagnostic.labels)
    } else if let path = diagnostic.path {
      out += "\n\(path):1:1\n"
    }
    let details = lines.dropFirst()
    if !details.isEmpty {
      out += "\n"
      for line in details.prefix(Self.maximumDetailLines) {
        out += "  " + Self.oneLine(line) + "\n"
      }
      if details.count > Self.maximumDetailLines {
        out += "  … \(details.count - Self.maximumDetailLines) more lines\n"
      }
    }
    if let hint = diagnostic.hint { out += "\n  hint: \(Self.oneLine(hint[...]))\n" }
    return out
  }

  /// The `file:line:column` of `span` and the excerpt of each file the labels touch.
  private func location(_ span: Span, labels: [Label]) -> String {
    // The primary span is drawn only when no label covers its file: labels say more.
    var labels = labels
    if !labels.contains(where: { $0.span.file == span.file }) {
      labels.insert(Label(span, ""), at: 0)
    }
    var files: [FileID] = [span.file]
    for label in labels where !files.contains(label.span.file) { files.append(label.span.file) }
    var out = ""
    for fileID in files {
      let file = sources.file(fileID)
      let anchor = fileID == span.file ? span : labels.first { $0.span.file == fileID }!.span
      let start = file.location(of: anchor.start)
      out += "\n\(file.path):\(start.line):\(start.column)\n"
      out += excerpt(file: file, labels: labels.filter { $0.span.file == fileID })
    }
    return out
  }

  /// A message on one line: line breaks and invisible characters escaped, cut after
  /// `maximumMessageWidth` characters. (Source text in messages is quoted shorter where it
  /// is quoted: `DiagnosticText.quoted`.)
  static func oneLine(_ text: Substring) -> String {
    DiagnosticText.shortened(DiagnosticText.escaped(text), to: maximumMessageWidth)
  }

  private func paint(_ text: String, bold: Bool, red: Bool) -> String {
    guard useColor else { return text }
    var codes: [String] = []
    if bold { codes.append("1") }
    if red { codes.append("31") }
    return "\u{1B}[\(codes.joined(separator: ";"))m\(text)\u{1B}[0m"
  }

  /// Draws the lines the labels touch, each followed by its underlines. A label spanning
  /// several lines is drawn on its first line, underlined to that line's end. A line wider
  /// than `maximumLineWidth` is shown as windows around its marks, cut with `…`, so an
  /// excerpt is small however long its line.
  private func excerpt(file: SourceFile, labels: [Label]) -> String {
    var byLine: [Int: [(start: Int, end: Int, message: String)]] = [:]
    for label in labels {
      let line = file.location(of: label.span.start).line
      let lineEnd = file.lineEndOffset(line)
      let start = min(label.span.start, lineEnd)
      byLine[line, default: []].append(
        (start, max(start, min(label.span.end, lineEnd)), Self.oneLine(label.message[...])))
    }
    let lines = byLine.keys.sorted()
    let gutterWidth = max(4, String(lines.last ?? 1).count + 1)
    let blankGutter = String(repeating: " ", count: gutterWidth) + " │ "
    var out = ""
    for line in lines {
      let view = LineView(file: file, line: line, marks: byLine[line]!.map { ($0.start, $0.end) })
      let number = String(line)
      out += String(repeating: " ", count: gutterWidth - number.count) + number + " │ "
      out += view.text + "\n"
      struct Mark {
        var startColumn: Int  // 0-based, in the shown text
        var endColumn: Int  // exclusive
        var message: String
      }
      let marks = byLine[line]!.map { mark in
        let startColumn = view.column(of: mark.start)
        return Mark(
          startColumn: startColumn,
          endColumn: max(view.column(of: view.drawnEnd(of: mark)), startColumn + 1),
          message: mark.message)
      }.sorted { $0.startColumn < $1.startColumn }
      // The rightmost mark keeps its message inline; the others hang below on connectors.
      var underline = [Character](repeating: " ", count: (marks.map(\.endColumn).max() ?? 0))
      for (index, mark) in marks.enumerated() {
        for column in mark.startColumn..<mark.endColumn { underline[column] = "─" }
        if index < marks.count - 1, !mark.message.isEmpty {
          underline[mark.endColumn - 1] = "┬"
        }
      }
      var first = String(underline)
      while first.last == " " { first.removeLast() }
      if let last = marks.last, !last.message.isEmpty { first += " " + last.message }
      out += blankGutter + first + "\n"
      let hanging = marks.dropLast().filter { !$0.message.isEmpty }
      for (index, mark) in hanging.enumerated().reversed() {
        var row = [Character](repeating: " ", count: mark.endColumn - 1)
        for other in hanging.prefix(index) where other.endColumn - 1 < row.count {
          row[other.endColumn - 1] = "│"
        }
        out += blankGutter + String(row) + "└─ " + mark.message + "\n"
      }
    }
    return out
  }

  // MARK: JSON

  public func renderJSON(_ diagnostic: Diagnostic) -> String {
    var object: [(String, JSONValue)] = [
      ("severity", .string(diagnostic.severity.rawValue)),
      ("phase", .string(diagnostic.phase.rawValue)),
      ("code", .string(diagnostic.code.rawValue)),
      ("message", .string(diagnostic.message)),
    ]
    if let span = diagnostic.span {
      object += spanFields(span)
    } else {
      // A file that is not loaded source is named at its first line and column.
      let path: JSONValue = diagnostic.path.map { .string($0) } ?? .null
      let position: JSONValue = diagnostic.path == nil ? .null : .int(1)
      object += [
        ("file", path), ("line", position), ("column", position), ("end_line", position),
        ("end_column", position),
      ]
    }
    object.append(
      (
        "labels",
        .array(
          diagnostic.labels.map { label in
            .object(spanFields(label.span) + [("message", .string(label.message))])
          })
      ))
    object.append(("hint", diagnostic.hint.map { .string($0) } ?? .null))
    return JSONValue.object(object).serialized
  }

  private func spanFields(_ span: Span) -> [(String, JSONValue)] {
    let file = sources.file(span.file)
    let start = file.location(of: span.start)
    let end = file.location(of: span.end)
    return [
      ("file", .string(file.path)), ("line", .int(start.line)), ("column", .int(start.column)),
      ("end_line", .int(end.line)), ("end_column", .int(end.column)),
    ]
  }
}

/// How an excerpt shows one line: whole when it is narrow, else as windows around its
/// marks joined by `…`. Every character takes one column, as in `LineColumn`: a tab shows
/// as a space and invisible characters as visible stand-ins, so none can move the text.
private struct LineView {
  /// What is shown.
  let text: String
  /// The shown byte ranges of the line and the column where each starts in `text`.
  private let segments: [(start: Int, end: Int, column: Int)]
  private let isWindowed: Bool
  private let file: SourceFile

  init(file: SourceFile, line: Int, marks: [(start: Int, end: Int)]) {
    self.file = file
    let lineStart = file.lineStartOffset(line)
    let lineEnd = file.lineEndOffset(line)
    isWindowed =
      file.scalarCount(from: lineStart, to: lineEnd) > DiagnosticRenderer.maximumLineWidth
    var ranges: [(start: Int, end: Int)] = [(lineStart, lineEnd)]
    if isWindowed {
      let context = DiagnosticRenderer.contextWidth
      let windows = marks.map { mark in
        (
          start: Self.offset(file.bytes, from: mark.start, by: -context, limit: lineStart),
          end: Self.offset(file.bytes, from: Self.drawnEnd(file, mark), by: context, limit: lineEnd)
        )
      }.sorted { $0.start < $1.start }
      ranges = [windows[0]]
      for window in windows.dropFirst() {
        if window.start <= ranges[ranges.count - 1].end {
          ranges[ranges.count - 1].end = max(ranges[ranges.count - 1].end, window.end)
        } else {
          ranges.append(window)
        }
      }
    }
    var text = ""
    var segments: [(start: Int, end: Int, column: Int)] = []
    var column = 0
    for (index, range) in ranges.enumerated() {
      if index > 0 || range.start > lineStart {
        text += "…"
        column += 1
      }
      segments.append((range.start, range.end, column))
      let shown = String(decoding: file.bytes[range.start..<range.end], as: UTF8.self)
      text.unicodeScalars.append(contentsOf: shown.unicodeScalars.map(Self.visible))
      column += file.scalarCount(from: range.start, to: range.end)
    }
    if let last = ranges.last, last.end < lineEnd { text += "…" }
    self.text = text
    self.segments = segments
  }

  /// The column in `text` of a byte offset the marks hold.
  func column(of offset: Int) -> Int {
    let segment = segments.last { $0.start <= offset } ?? segments[0]
    return segment.column
      + file.scalarCount(from: segment.start, to: min(max(offset, segment.start), segment.end))
  }

  /// Where the underline of a mark ends: its end, or in a windowed line its first
  /// `maximumMarkWidth` columns.
  func drawnEnd(of mark: (start: Int, end: Int, message: String)) -> Int {
    isWindowed ? Self.drawnEnd(file, (mark.start, mark.end)) : mark.end
  }

  private static func drawnEnd(_ file: SourceFile, _ mark: (start: Int, end: Int)) -> Int {
    offset(file.bytes, from: mark.start, by: DiagnosticRenderer.maximumMarkWidth, limit: mark.end)
  }

  /// The offset `count` scalars after `offset` (before it when negative), stopping at
  /// `limit`.
  private static func offset(_ bytes: [UInt8], from offset: Int, by count: Int, limit: Int)
    -> Int
  {
    var offset = offset
    for _ in 0..<abs(count) {
      guard count > 0 ? offset < limit : offset > limit else { break }
      offset += count > 0 ? 1 : -1
      // Continuation bytes belong to the scalar being passed.
      while offset != limit, offset < bytes.count, bytes[offset] & 0xC0 == 0x80 {
        offset += count > 0 ? 1 : -1
      }
    }
    return offset
  }

  /// A character as an excerpt shows it: a tab as a space, a control character as its
  /// Control Pictures symbol (␛ for ESC), other invisible or line-breaking ones as �.
  private static func visible(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
    switch scalar.value {
    case 0x09: return " "
    case 0x00..<0x20: return Unicode.Scalar(0x2400 + scalar.value)!
    case 0x7F: return "\u{2421}"
    default: return DiagnosticText.needsEscape(scalar) ? "\u{FFFD}" : scalar
    }
  }
}
