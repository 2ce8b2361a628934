/// The compiler phase a diagnostic comes from; it is the diagnostic's headline word.
public enum Phase: String, Sendable, Codable {
  case parsing = "Parsing"
  case importing = "Import"
  case typecheck = "Typecheck"
  case codegen = "Codegen"
  case link = "Link"
  case runtime = "Runtime"
  case usage = "Usage"
}

public enum Severity: String, Sendable, Codable {
  case error
  case warning
  case note
}

/// A message attached to a span, drawn under the excerpt.
public struct Label: Sendable, Hashable {
  public var span: Span
  public var message: String
  public init(_ span: Span, _ message: String) {
    self.span = span
    self.message = message
  }
}

/// One problem found in the user's program.
///
/// `span` is the primary location (what `file:line:column` names). `labels` annotate the
/// excerpt; a label may lie in another file (e.g. the definition a call disagrees with).
public struct Diagnostic: Sendable, Hashable {
  public var severity: Severity
  public var phase: Phase
  public var code: DiagnosticCode
  public var message: String
  public var span: Span?
  public var labels: [Label]
  public var hint: String?

  public init(
    _ code: DiagnosticCode, _ message: String, at span: Span?, labels: [Label] = [],
    hint: String? = nil, severity: Severity = .error
  ) {
    self.severity = severity
    self.phase = code.phase
    self.code = code
    self.message = message
    self.span = span
    self.labels = labels
    self.hint = hint
  }
}

/// Collects diagnostics during one phase of compilation.
public struct DiagnosticBag: Sendable {
  public private(set) var diagnostics: [Diagnostic] = []
  public init() {}

  public mutating func add(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

  public mutating func error(
    _ code: DiagnosticCode, _ message: String, at span: Span?, labels: [Label] = [],
    hint: String? = nil
  ) {
    diagnostics.append(Diagnostic(code, message, at: span, labels: labels, hint: hint))
  }

  public mutating func append(contentsOf other: [Diagnostic]) {
    diagnostics.append(contentsOf: other)
  }

  public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

  public var errorCount: Int { diagnostics.count { $0.severity == .error } }
}
