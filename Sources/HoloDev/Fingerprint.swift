import HoloCodegen
import HoloIR
import HoloSource

/// A stable text of one function's typed IR: everything its machine code depends on.
/// Two functions with the same fingerprint compile to the same code, so only functions
/// whose fingerprint changed need patching.
///
/// Callees are named by name and signature (`Symbols.key`), not by `FunctionID` (ids
/// shift when functions are added), so a caller's fingerprint changes when a callee's
/// signature does. Source positions are included as line and column (what the runtime
/// reports), so a function that moved to another line is re-patched and its runtime
/// failures keep pointing at the right place; edits that shift only byte offsets do not
/// count.
struct Fingerprint {
  private let program: IRProgram
  private let sources: SourceManager
  private var text = ""
  /// The holo functions the function calls directly (its edges in the call graph).
  private var callees: Set<FunctionID> = []

  static func of(_ function: IRFunction, in program: IRProgram, sources: SourceManager)
    -> (text: String, callees: Set<FunctionID>)
  {
    var writer = Fingerprint(program: program, sources: sources)
    writer.function(function)
    return (writer.text, writer.callees)
  }

  private init(program: IRProgram, sources: SourceManager) {
    self.program = program
    self.sources = sources
  }

  private mutating func function(_ function: IRFunction) {
    text += "fn \(Symbols.key(of: function)) \(function.kind) export=\(function.isExport)"
    position(function.span)
    text += " locals("
    for local in function.locals { text += "\(local.name):\(local.type) " }
    text += ") "
    block(function.body)
  }

  private mutating func position(_ span: Span) {
    let file = sources.file(span.file)
    let (start, end) = sources.location(of: span)
    text += "@\(file.path):\(start.line):\(start.column)-\(end.line):\(end.column)"
  }

  private mutating func block(_ block: IRBlock) {
    text += "{"
    for statement in block.statements {
      self.statement(statement)
      text += ";"
    }
    if let result = block.result {
      text += "=> "
      expression(result)
    }
    text += "}:\(block.type)"
  }

  private mutating func statement(_ statement: IRStmt) {
    switch statement.kind {
    case .letBinding(let local, let value):
      text += "let %\(local.index) = "
      expression(value)
    case .assign(let local, let value):
      text += "%\(local.index) = "
      expression(value)
    case .expression(let value):
      expression(value)
    case .whileLoop(let condition, let body):
      text += "while "
      expression(condition)
      block(body)
    case .forLoop(let variable, let start, let end, let inclusive, let body):
      text += "for %\(variable.index) in "
      expression(start)
      text += inclusive ? "..=" : ".."
      expression(end)
      block(body)
    case .breakLoop:
      text += "break"
    case .continueLoop:
      text += "continue"
    case .returnValue(let value):
      text += "return "
      if let value { expression(value) }
    case .assert(let condition, let message):
      text += "assert("
      expression(condition)
      if let message {
        text += ", "
        expression(message)
      }
      text += ")"
    }
    position(statement.span)
  }

  private mutating func expression(_ expression: IRExpr) {
    text += "("
    switch expression.kind {
    case .integerConstant(let bits): text += "int \(bits)"
    case .floatConstant(let value): text += "float \(value.bitPattern)"
    case .boolConstant(let value): text += "bool \(value)"
    case .stringConstant(let value): text += "str \(value.utf8.count):\(value)"
    case .unitConstant: text += "unit"
    case .template(let parts):
      text += "template"
      for part in parts {
        switch part {
        case .text(let value): text += " text \(value.utf8.count):\(value)"
        case .value(let value):
          text += " "
          self.expression(value)
        }
      }
    case .local(let local): text += "%\(local.index)"
    case .call(let callee, let arguments):
      callees.insert(callee)
      text += "call \(Symbols.key(of: program.functions[callee.index]))"
      list(arguments)
    case .callExtern(let callee, let arguments):
      let external = program.externs[callee.index]
      let parameters = external.parameterTypes.map(\.description).joined(separator: ",")
      text += "extern \(external.name)(\(parameters))->\(external.returnType)"
      list(arguments)
    case .callBuiltin(let builtin, let arguments):
      text += "builtin \(builtin.rawValue)"
      list(arguments)
    case .unary(let op, let operand):
      text += "unary \(op)"
      list([operand])
    case .binary(let op, let left, let right):
      text += "binary \(op)"
      list([left, right])
    case .logical(let isAnd, let left, let right):
      text += isAnd ? "and" : "or"
      list([left, right])
    case .cast(let operand):
      text += "cast"
      list([operand])
    case .block(let body):
      block(body)
    case .ifElse(let condition, let then, let elseBranch):
      text += "if "
      self.expression(condition)
      block(then)
      if let elseBranch {
        text += " else "
        self.expression(elseBranch)
      }
    }
    text += "):\(expression.type)"
    position(expression.span)
  }

  private mutating func list(_ expressions: [IRExpr]) {
    for expression in expressions {
      text += " "
      self.expression(expression)
    }
  }
}
