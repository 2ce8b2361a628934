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
/// A diagnostic about a file that is not loaded source (a missing root file, an output
/// path) has a `path` instead, and names its first line and column.
public struct Diagnostic: Sendable, Hashable {
  public var severity: Severity
  public var phase: Phase
  public var code: DiagnosticCode
  /// The headline; lines after the first are details shown below the location.
  public var message: String
  public var span: Span?
  public var path: String?
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

  /// A diagnostic about the file at `path`, which is not loaded source.
  public init(
    _ code: DiagnosticCode, _ message: String, about path: String, hint: String? = nil
  ) {
    self.init(code, message, at: nil, hint: hint)
    self.path = path
  }

  /// Whether the diagnostic names a place: a span or a path.
  public var isLocated: Bool { span != nil || path != nil }

  /// This diagnostic, or when it names no place, the same about `path`: what a
  /// diagnostic about the whole program (a link error) names is its root file.
  public func located(in path: String) -> Diagnostic {
    guard !isLocated else { return self }
    var located = self
    located.path = path
    return located
  }
}

/// Collects diagnostics during one phase of compilation.
public struct DiagnosticBag: Sendable {
  public private(set) var diagnostics: [Diagnostic] = []
  /// Kept as diagnostics are added: the checker asks after every statement.
  public private(set) var errorCount = 0
  public init() {}

  public mutating func add(_ diagnostic: Diagnostic) {
    diagnostics.append(diagnostic)
    if diagnostic.severity == .error { errorCount += 1 }
  }

  public mutating func error(
    _ code: DiagnosticCode, _ message: String, at span: Span?, labels: [Label] = [],
    hint: String? = nil
  ) {
    add(Diagnostic(code, message, at: span, labels: labels, hint: hint))
  }

  public mutating func append(contentsOf other: [Diagnostic]) {
    for diagnostic in other { add(diagnostic) }
  }

  public var hasErrors: Bool { errorCount > 0 }
}
