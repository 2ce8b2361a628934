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

  // MARK: Human

  public func renderHuman(_ diagnostic: Diagnostic) -> String {
    let icon = diagnostic.phase == .runtime ? "💥" : "⚒️"
    let code = diagnostic.phase == .runtime ? "" : "[\(diagnostic.code.rawValue)]"
    var out = paint("\(icon) \(diagnostic.phase.rawValue)\(code): ", bold: true, red: true)
    out += paint(diagnostic.message, bold: true, red: false) + "\n"
    guard let span = diagnostic.span else {
      if let hint = diagnostic.hint { out += "\n  hint: \(hint)\n" }
      return out
    }
    // The primary span is drawn only when no label covers its file: labels say more.
    var labels = diagnostic.labels
    if !labels.contains(where: { $0.span.file == span.file }) {
      labels.insert(Label(span, ""), at: 0)
    }
    var files: [FileID] = [span.file]
    for label in labels where !files.contains(label.span.file) { files.append(label.span.file) }
    for fileID in files {
      let file = sources.file(fileID)
      let anchor = fileID == span.file ? span : labels.first { $0.span.file == fileID }!.span
      let start = file.location(of: anchor.start)
      out += "\n\(file.path):\(start.line):\(start.column)\n"
      out += excerpt(file: file, labels: labels.filter { $0.span.file == fileID })
    }
    if let hint = diagnostic.hint { out += "\n  hint: \(hint)\n" }
    return out
  }

  private func paint(_ text: String, bold: Bool, red: Bool) -> String {
    guard useColor else { return text }
    var codes: [String] = []
    if bold { codes.append("1") }
    if red { codes.append("31") }
    return "\u{1B}[\(codes.joined(separator: ";"))m\(text)\u{1B}[0m"
  }

  /// Draws the lines the labels touch, each followed by its underlines. A label spanning
  /// several lines is drawn on its first line, underlined to that line's end.
  private func excerpt(file: SourceFile, labels: [Label]) -> String {
    struct Mark {
      var startColumn: Int  // 0-based, in scalars
      var endColumn: Int  // exclusive
      var message: String
    }
    var byLine: [Int: [Mark]] = [:]
    for label in labels {
      let start = file.location(of: label.span.start)
      let end = file.location(of: label.span.end)
      let lineLength = file.lineText(start.line).unicodeScalars.count
      let endColumn = end.line == start.line ? end.column - 1 : lineLength
      let startColumn = start.column - 1
      byLine[start.line, default: []].append(
        Mark(
          startColumn: startColumn, endColumn: max(endColumn, startColumn + 1),
          message: label.message))
    }
    let lines = byLine.keys.sorted()
    let gutterWidth = max(4, String(lines.last ?? 1).count + 1)
    let blankGutter = String(repeating: " ", count: gutterWidth) + " │ "
    var out = ""
    for line in lines {
      let number = String(line)
      out += String(repeating: " ", count: gutterWidth - number.count) + number + " │ "
      out += file.lineText(line) + "\n"
      let marks = byLine[line]!.sorted { $0.startColumn < $1.startColumn }
      // The rightmost mark keeps its message inline; the others hang below on connectors.
      var underline = [Character](repeating: " ", count: (marks.map(\.endColumn).max() ?? 0))
      for (index, mark) in marks.enumerated() {
        for column in mark.startColumn..<mark.endColumn { underline[column] = "─" }
        if index < marks.count - 1, !mark.message.isEmpty {
          underline[mark.endColumn - 1] = "┬"
        }
      }
      var first = String(underline).replacingOccurrences(
        of: "\\s+$", with: "", options: .regularExpression)
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
    object += spanFields(diagnostic.span)
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

  private func spanFields(_ span: Span?) -> [(String, JSONValue)] {
    guard let span else {
      return [
        ("file", .null), ("line", .null), ("column", .null), ("end_line", .null),
        ("end_column", .null),
      ]
    }
    let file = sources.file(span.file)
    let start = file.location(of: span.start)
    let end = file.location(of: span.end)
    return [
      ("file", .string(file.path)), ("line", .int(start.line)), ("column", .int(start.column)),
      ("end_line", .int(end.line)), ("end_column", .int(end.column)),
    ]
  }
}
