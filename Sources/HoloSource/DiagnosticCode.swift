/// Stable diagnostic codes. Never renumber one: users and tools match on them.
/// Ranges: E00xx parsing, E01xx imports, E02xx typecheck, E03xx link, E04xx codegen,
/// E05xx usage (files and options).
public enum DiagnosticCode: String, Sendable, Codable, CaseIterable {
  // Parsing
  case unexpectedCharacter = "E0001"
  case unterminatedString = "E0002"
  case unterminatedComment = "E0003"
  case invalidEscape = "E0004"
  case invalidNumber = "E0005"
  case unterminatedTemplate = "E0006"
  case expectedToken = "E0010"
  case expectedExpression = "E0011"
  case invalidAttribute = "E0012"
  case chainedComparison = "E0013"
  case invalidAssignmentTarget = "E0014"
  case expectedItem = "E0015"
  case unsupportedItem = "E0016"
  case nestingTooDeep = "E0017"

  // Imports
  case importNotFound = "E0101"
  case rootNotFound = "E0102"

  // Typecheck
  case arithmeticSameType = "E0201"
  case arithmeticNonNumeric = "E0202"
  case moduloNonInteger = "E0203"
  case bitwiseOperands = "E0204"
  case unaryOperand = "E0205"
  case equalityOperands = "E0206"
  case orderingNonNumeric = "E0207"
  case orderingSameType = "E0208"
  case logicalOperands = "E0209"
  case unknownFunction = "E0210"
  case arityMismatch = "E0211"
  case argumentType = "E0212"
  case invalidCast = "E0213"
  case literalOutOfRange = "E0214"
  case unknownName = "E0215"
  case duplicateDefinition = "E0216"
  case duplicateLocal = "E0217"
  case typeMismatch = "E0218"
  case conditionNotBool = "E0219"
  case assertNotBool = "E0220"
  case missingReturn = "E0221"
  case loopControlOutsideLoop = "E0222"
  case unknownType = "E0223"
  case mainWithTopLevelStatements = "E0224"
  case invalidTest = "E0225"
  case branchTypeMismatch = "E0226"
  case notPrintable = "E0227"
  case invalidMain = "E0228"
  case invalidExport = "E0230"
  case globalUsedBeforeInitialisation = "E0231"
  case invalidGlobalType = "E0232"
  case cannotInferType = "E0233"
  case unknownField = "E0234"
  case changesTemporary = "E0235"
  case duplicateField = "E0236"
  case invalidDefault = "E0237"
  case unknownStruct = "E0238"
  case recursiveStruct = "E0239"
  case missingField = "E0240"

  // Link
  case linkFailed = "E0301"
  case runtimeNotFound = "E0302"
  /// A built program's runtime failure, rendered by `holoc run` and `holoc test`; its
  /// diagnostics carry phase `Runtime`.
  case runtimeFailure = "E0304"

  // Codegen
  case codegenFailed = "E0401"

  // Usage
  case fileNotFound = "E0501"
  case outputIsDirectory = "E0502"
  case cannotWriteOutput = "E0503"

  public var phase: Phase {
    switch rawValue.dropFirst().prefix(2) {
    case "00": return .parsing
    case "01": return .importing
    case "02": return .typecheck
    case "03": return .link
    case "04": return .codegen
    default: return .usage
    }
  }
}
