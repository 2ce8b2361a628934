import Foundation
import HoloDevABI
import HoloIR
import HoloSource

/// A runtime failure as the runtime writes it to the file named by `HOLO_FAILURE_REPORT`:
/// four lines, file, line, column and message (the message may span further lines).
struct FailureReport: Equatable {
  static let environmentVariable = DevABI.Environment.failureReport

  var file: String
  var line: Int
  var column: Int
  var message: String

  init(file: String, line: Int, column: Int, message: String) {
    self.file = file
    self.line = line
    self.column = column
    self.message = message
  }

  init?(parsing text: String) {
    let parts = text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false)
    guard parts.count == 4, let line = Int(parts[1]), let column = Int(parts[2]) else {
      return nil
    }
    var message = String(parts[3])
    if message.hasSuffix("\n") { message.removeLast() }
    self.init(file: String(parts[0]), line: line, column: column, message: message)
  }

  /// The report in the file at `path`, nil when the program wrote none.
  static func read(at path: String) -> FailureReport? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return FailureReport(parsing: String(decoding: data, as: UTF8.self))
  }

  /// The failure as a `Runtime` diagnostic pointing into the program's source.
  func diagnostic(sources: SourceManager, program: IRProgram) -> Diagnostic {
    guard let sourceFile = Self.file(named: file, in: sources) else {
      return .runtimeFailure("\(message) (at \(file):\(line):\(column))", at: nil)
    }
    let offset = sourceFile.offset(line: line, column: column)
    let span =
      FailureSites.smallestSpan(in: program, file: sourceFile.id, startingAt: offset)
      ?? Span(file: sourceFile.id, start: offset, end: offset)
    return .runtimeFailure(message, at: span)
  }

  /// The loaded file the runtime's path names: the same path string, else the same file.
  private static func file(named path: String, in sources: SourceManager) -> SourceFile? {
    let files = sources.allFiles
    if let file = files.first(where: { $0.path == path }) { return file }
    let wanted = URL(fileURLWithPath: path).standardizedFileURL.path
    return files.first { URL(fileURLWithPath: $0.path).standardizedFileURL.path == wanted }
  }
}

extension Diagnostic {
  /// A `💥 Runtime:` diagnostic; its code is never shown in human output.
  static func runtimeFailure(_ message: String, at span: Span?) -> Diagnostic {
    var diagnostic = Diagnostic(.runtimeFailure, message, at: span)
    diagnostic.phase = .runtime
    return diagnostic
  }
}

extension SourceFile {
  /// The byte offset of a 1-based line and column (in Unicode scalars), clamped to the line.
  func offset(line: Int, column: Int) -> Int {
    var offset = lineStartOffset(line)
    var remaining = column - 1
    while remaining > 0, offset < bytes.count, bytes[offset] != UInt8(ascii: "\n") {
      offset += 1
      // Skip the continuation bytes of a multi-byte scalar.
      while offset < bytes.count, bytes[offset] & 0xC0 == 0x80 { offset += 1 }
      remaining -= 1
    }
    return offset
  }
}

/// The places where generated code can raise a runtime failure, with the spans it reports
/// (division and remainder, assert conditions, calls of built-ins that can fail
/// (`Builtin.canFail`), and functions for stack overflow). A report carries only a start position; these recover the extent.
enum FailureSites {
  static func smallestSpan(in program: IRProgram, file: FileID, startingAt offset: Int) -> Span? {
    var best: Span?
    func consider(_ span: Span) {
      guard span.file == file, span.start == offset else { return }
      if best == nil || span.end - span.start < best!.end - best!.start { best = span }
    }
    // Only the functions whose text holds the offset are walked: a run with many failures
    // must not walk the program once per failure.
    for position in program.functions.indices {
      let extent = program.functions[position].extent
      guard extent.file == file, extent.start <= offset, offset <= extent.end else { continue }
      let function = program.functions[position]
      consider(function.span)
      visit(function.body) { consider(function.located($0)) }
    }
    return best
  }

  private static func visit(_ block: IRBlock, _ consider: (Span) -> Void) {
    for statement in block.statements { visit(statement, consider) }
    if let result = block.result { visit(result, consider) }
  }

  private static func visit(_ statement: IRStmt, _ consider: (Span) -> Void) {
    switch statement.kind {
    case .letBinding(_, let value), .assign(_, let value), .assignGlobal(_, let value),
      .expression(let value):
      visit(value, consider)
    case .whileLoop(let condition, let body):
      visit(condition, consider)
      visit(body, consider)
    case .assignElement(let place, let value):
      visit(place, consider)
      visit(value, consider)
    case .forEach(_, let array, let body):
      visit(array, consider)
      visit(body, consider)
    case .forLoop(_, let start, let end, _, let body):
      visit(start, consider)
      visit(end, consider)
      visit(body, consider)
    case .breakLoop, .continueLoop, .returnValue(nil):
      break
    case .returnValue(let value?):
      visit(value, consider)
    case .assert(let condition, let message):
      consider(condition.span)
      visit(condition, consider)
      if let message { visit(message, consider) }
    }
  }

  /// A place's indices: each can be out of bounds.
  private static func visit(_ place: IRPlace, _ consider: (Span) -> Void) {
    for index in place.indices {
      consider(index.span)
      visit(index, consider)
    }
  }

  private static func visit(_ expression: IRExpr, _ consider: (Span) -> Void) {
    // The left spine of operator and cast chains (`a + b + c` is `(a + b) + c`) is walked
    // in a loop, so long chains need no deep stack.
    var expression = expression
    while true {
      switch expression.kind {
      case .binary(let op, let left, let right):
        if op == .divide || op == .remainder, expression.type.isInteger {
          consider(expression.span)
        }
        visit(right, consider)
        expression = left
      case .logical(_, let left, let right):
        visit(right, consider)
        expression = left
      case .cast(let operand):
        expression = operand
      default:
        visitLeaf(expression, consider)
        return
      }
    }
  }

  private static func visitLeaf(_ expression: IRExpr, _ consider: (Span) -> Void) {
    switch expression.kind {
    case .integerConstant, .floatConstant, .boolConstant, .stringConstant, .unitConstant, .local,
      .global, .placeValue:
      break
    case .arrayLiteral(let elements):
      for element in elements { visit(element, consider) }
    case .arrayRepeat(let value, let count):
      consider(count.span)
      visit(value, consider)
      visit(count, consider)
    case .index(let array, let index):
      consider(index.span)
      visit(array, consider)
      visit(index, consider)
    case .arrayLength(let array), .field(let array, _):
      visit(array, consider)
    case .structLiteral(let fields):
      for field in fields { visit(field, consider) }
    case .arrayMutation(let mutation, let place, let arguments):
      visit(place, consider)
      switch mutation {
      case .pop: consider(expression.span)
      case .insert, .remove: consider(arguments[0].span)
      case .push, .clear: break
      }
      for argument in arguments { visit(argument, consider) }
    case .template(let parts):
      for case .value(let value) in parts { visit(value, consider) }
    case .call(_, let arguments), .callExtern(_, let arguments):
      for argument in arguments { visit(argument, consider) }
    case .callBuiltin(let builtin, let arguments):
      if builtin.canFail { consider(expression.span) }
      for argument in arguments { visit(argument, consider) }
    case .unary(_, let operand):
      visit(operand, consider)
    case .binary, .logical, .cast:
      preconditionFailure("chains are walked by `visit`")
    case .block(let block):
      visit(block, consider)
    case .ifElse(let arms, let elseBlock):
      for arm in arms {
        visit(arm.condition, consider)
        visit(arm.body, consider)
      }
      if let elseBlock { visit(elseBlock, consider) }
    }
  }
}
