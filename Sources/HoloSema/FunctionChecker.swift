import HoloIR
import HoloSource
import HoloSyntax

/// What the surrounding code wants from an expression.
enum Expectation: Equatable {
  /// Nothing: the expression picks its own type.
  case none
  /// A type, used as the context of literal inference (LANGUAGE.md §6). The consumer
  /// still checks the result, so a mismatch is reported where the value is used.
  case type(IRType)
  /// The value is thrown away: blocks and `if`s need not agree on a type.
  case discard

  var hint: IRType? {
    if case .type(let type) = self { return type }
    return nil
  }
}

/// Typechecks one function body and lowers it to typed IR.
///
/// An expression that failed to check gets the type `.never`, which fits everywhere, so
/// one mistake yields one diagnostic instead of a cascade.
struct FunctionChecker {
  let environment: CheckEnvironment
  var diagnostics: DiagnosticBag
  /// Every project-wide name the body looked up, with what it found (nil: nothing): the
  /// body's result depends on its own text and on these only.
  private(set) var reads: [String: GlobalShape?] = [:]
  /// Globals a global's initializer may not name: itself and those declared after it
  /// (LANGUAGE.md §3). The database knows the order and sets it when an initializer's
  /// reads show such a name.
  var uninitialisedGlobals: Set<String> = []

  private var locals: [IRLocal] = []
  private var scopes: [[String: LocalID]] = []
  private var loopDepth = 0
  private var returnType: IRType = .unit

  init(environment: CheckEnvironment, diagnostics: DiagnosticBag) {
    self.environment = environment
    self.diagnostics = diagnostics
  }

  // MARK: Functions

  mutating func checkFunction(
    _ decl: FunctionDecl, id: FunctionID, kind: FunctionKind, signature: FunctionSignature
  ) -> IRFunction {
    returnType = signature.returnType
    // Parameters live in the body's outermost block.
    scopes = [[:]]
    var parameters: [LocalID] = []
    for (param, type) in zip(decl.params, signature.parameterTypes) {
      parameters.append(declareLocal(param.name, type: type))
    }
    let body = checkBlock(decl.body, expectation: bodyExpectation, opensScope: false)
    checkBodyProducesReturnType(body, decl: decl)
    return IRFunction(
      id: id, name: decl.name.name, kind: kind, isExport: decl.isExport, parameters: parameters,
      locals: locals, returnType: returnType, body: body, span: decl.name.span,
      extent: Span(
        file: decl.span.file, start: decl.span.start, end: max(decl.span.end, decl.body.span.end)),
      reads: irReads)
  }

  /// The implicit entry function of a script: the root file's top-level statements.
  mutating func checkScript(_ statements: [Stmt], id: FunctionID) -> IRFunction {
    returnType = .unit
    scopes = [[:]]
    let span = statements.first!.span.to(statements.last!.span)
    let body = checkBlock(
      Block(statements: statements, span: span), expectation: .discard, opensScope: false)
    return IRFunction(
      id: id, name: "main", kind: .scriptEntry, isExport: false, parameters: [], locals: locals,
      returnType: .unit, body: body, span: statements.first!.span, reads: irReads)
  }

  /// A global's initializer: a function of no parameters returning the global's value.
  mutating func checkGlobalInitializer(_ decl: GlobalDecl, id: FunctionID, type: IRType)
    -> IRFunction
  {
    returnType = type
    scopes = [[:]]
    let value = checkExpr(decl.value, .type(type))
    expect(value, type)
    let body = IRBlock(statements: [], result: value, type: value.type, span: decl.value.span)
    return IRFunction(
      id: id, name: decl.name.name, kind: .globalInitializer, isExport: false, parameters: [],
      locals: locals, returnType: type, body: body, span: decl.name.span, extent: decl.span,
      reads: irReads)
  }

  /// The value `target = value` or `target op= value` stores, of the target's type;
  /// `current` reads the target (a local, a global or `.placeValue`).
  private mutating func checkAssignedValue(
    _ valueSyntax: Expr, _ op: AssignOperator?, to current: IRExpr
  ) -> IRExpr {
    let value: IRExpr
    if let op {
      value = checkBinary(
        op.binaryOperator, left: .checked(current), right: .syntax(valueSyntax),
        expectation: .type(current.type), span: current.span.to(valueSyntax.span))
    } else {
      value = checkExpr(valueSyntax, .type(current.type))
    }
    expect(value, current.type)
    return value
  }

  /// A struct field's default: a constant expression of the field's type.
  mutating func checkDefault(_ expr: Expr, type: IRType) -> IRExpr {
    returnType = type
    scopes = [[:]]
    let value = checkExpr(expr, .type(type))
    expect(value, type)
    return value
  }

  private var irReads: [IRRead] { Self.irReads(reads) }

  /// `reads` as the IR keeps them: sorted by name.
  static func irReads(_ reads: [String: GlobalShape?]) -> [IRRead] {
    reads.map { name, shape in IRRead(name: name, target: shape.map(\.target)) }
      .sorted { $0.name < $1.name }
  }

  private var bodyExpectation: Expectation {
    returnType == .unit ? .discard : .type(returnType)
  }

  private mutating func checkBodyProducesReturnType(_ body: IRBlock, decl: FunctionDecl) {
    guard returnType != .unit, returnType != .never, body.type != .never else { return }
    if let result = body.result {
      expect(result, returnType)
      return
    }
    let end = Span(
      file: decl.body.span.file, start: decl.body.span.end - 1, end: decl.body.span.end)
    var labels = [Label(end, "the body can finish without producing a value")]
    if let written = decl.returnType {
      labels.insert(
        Label(written.span, "expected `\(returnType)` because of this return type"), at: 0)
    }
    diagnostics.error(
      .missingReturn,
      "function `\(decl.name.name)` must return a value of type `\(returnType)` on every path",
      at: end, labels: labels)
  }

  // MARK: Scopes

  private mutating func declareLocal(_ name: Identifier, type: IRType) -> LocalID {
    if let previous = scopes[scopes.count - 1][name.name] {
      diagnostics.error(
        .duplicateLocal, "duplicate local binding `\(name.name)`", at: name.span,
        labels: [
          Label(locals[previous.index].span, "`\(name.name)` first bound here"),
          Label(name.span, "bound again in the same block"),
        ])
    }
    let id = LocalID(locals.count)
    locals.append(IRLocal(id: id, name: name.name, type: type, span: name.span))
    scopes[scopes.count - 1][name.name] = id
    return id
  }

  private func lookupLocal(_ name: String) -> LocalID? {
    for scope in scopes.reversed() {
      if let id = scope[name] { return id }
    }
    return nil
  }

  // MARK: Blocks and statements

  mutating func checkBlock(_ block: Block, expectation: Expectation, opensScope: Bool = true)
    -> IRBlock
  {
    if opensScope { scopes.append([:]) }
    defer { if opensScope { scopes.removeLast() } }
    var statements: [IRStmt] = []
    var result: IRExpr?
    var diverges = false
    for (index, statement) in block.statements.enumerated() {
      if index == block.statements.count - 1, expectation != .discard,
        case .expression(let expr, _) = statement.kind
      {
        let value = checkExpr(expr, expectation)
        diverges = diverges || value.type == .never
        result = value
        break
      }
      let checked = checkStatement(statement)
      diverges = diverges || checked.diverges
      statements.append(contentsOf: checked.statements)
    }
    let type: IRType = diverges ? .never : (result?.type ?? .unit)
    return IRBlock(statements: statements, result: result, type: type, span: block.span)
  }

  /// Checks one statement; `diverges` when control cannot continue past it.
  private mutating func checkStatement(_ statement: Stmt) -> (
    statements: [IRStmt], diverges: Bool
  ) {
    let span = statement.span
    switch statement.kind {
    case .letBinding(let name, let typeSyntax, let valueSyntax):
      let declared = typeSyntax.map { resolveType($0) }
      let errorsBefore = diagnostics.errorCount
      let value = checkExpr(valueSyntax, declared.map { .type($0) } ?? .none)
      if let declared { expect(value, declared) }
      // A value that failed to parse or check binds a `never` local, which fits everywhere,
      // so the name's uses report nothing more; one that only diverges (`panic`) binds `()`.
      var failed = diagnostics.errorCount > errorsBefore
      if case .invalid = valueSyntax.kind { failed = true }
      let type = declared ?? (value.type != .never ? value.type : failed ? .never : .unit)
      let id = declareLocal(name, type: type)
      return ([IRStmt(.letBinding(id, value), span: span)], value.type == .never)

    case .assign(let target, let op, _, let valueSyntax):
      let local = lookupLocal(target.name)
      let global = local == nil ? globalNamed(target) : nil
      guard local != nil || global != nil else {
        reportUnknownName(target)
        _ = checkExpr(valueSyntax, .none)
        return ([], false)
      }
      let targetType = local.map { locals[$0.index].type } ?? global!.type
      let current = IRExpr(
        local.map(IRExprKind.local) ?? .global(global!.id), type: targetType, span: target.span)
      let value = checkAssignedValue(valueSyntax, op, to: current)
      let assignment: IRStmtKind =
        local.map { .assign($0, value) } ?? .assignGlobal(global!.id, value)
      return ([IRStmt(assignment, span: span)], value.type == .never)

    case .assignElement(let target, let op, _, let valueSyntax):
      guard let place = checkPlace(target) else {
        _ = checkExpr(valueSyntax, .none)
        return ([], false)
      }
      let current = IRExpr(.placeValue, type: place.type, span: target.span)
      let value = checkAssignedValue(valueSyntax, op, to: current)
      return ([IRStmt(.assignElement(place, value), span: span)], value.type == .never)

    case .forEach(let variable, let arraySyntax, let bodySyntax):
      let array = checkExpr(arraySyntax, .none)
      var elementType = IRType.never
      if let element = array.type.element {
        elementType = element
      } else if array.type != .never {
        diagnostics.error(
          .typeMismatch, "`for` iterates over a range or an array, found `\(array.type)`",
          at: arraySyntax.span,
          labels: [Label(arraySyntax.span, "has type `\(array.type)`")])
      }
      scopes.append([:])
      let id = declareLocal(variable, type: elementType)
      loopDepth += 1
      let body = checkBlock(bodySyntax, expectation: .discard)
      loopDepth -= 1
      scopes.removeLast()
      return (
        [IRStmt(.forEach(variable: id, array: array, body: body), span: span)],
        false
      )

    case .expression(let expr, _):
      let value = checkExpr(expr, .discard)
      return ([IRStmt(.expression(value), span: span)], value.type == .never)

    case .whileLoop(let conditionSyntax, let bodySyntax):
      let condition = checkCondition(conditionSyntax)
      loopDepth += 1
      let body = checkBlock(bodySyntax, expectation: .discard)
      loopDepth -= 1
      return ([IRStmt(.whileLoop(condition: condition, body: body), span: span)], false)

    case .forLoop(let variable, let startSyntax, let endSyntax, let inclusive, let bodySyntax):
      let (start, end) = checkOperands(startSyntax, endSyntax, hint: nil)
      var boundType = start.type == .never ? end.type : start.type
      if start.type != .never, end.type != .never, start.type != end.type {
        diagnostics.error(
          .typeMismatch, "range bounds must have the same type",
          at: startSyntax.span.to(endSyntax.span),
          labels: [
            Label(start.span, "start has type `\(start.type)`"),
            Label(end.span, "end has type `\(end.type)`"),
          ])
        boundType = .never
      } else if boundType != .never, !boundType.isInteger {
        diagnostics.error(
          .typeMismatch, "range bounds must be integers, found `\(boundType)`",
          at: startSyntax.span.to(endSyntax.span),
          labels: [Label(startSyntax.span.to(endSyntax.span), "this range has type `\(boundType)`")]
        )
        boundType = .never
      }
      scopes.append([:])
      let id = declareLocal(variable, type: boundType == .never ? .i64 : boundType)
      loopDepth += 1
      let body = checkBlock(bodySyntax, expectation: .discard)
      loopDepth -= 1
      scopes.removeLast()
      return (
        [
          IRStmt(
            .forLoop(variable: id, start: start, end: end, inclusive: inclusive, body: body),
            span: span)
        ], false
      )

    case .breakLoop, .continueLoop:
      let isBreak: Bool
      if case .breakLoop = statement.kind { isBreak = true } else { isBreak = false }
      if loopDepth == 0 {
        let word = isBreak ? "break" : "continue"
        diagnostics.error(
          .loopControlOutsideLoop, "`\(word)` outside of a loop", at: span,
          labels: [Label(span, "cannot `\(word)` outside of a loop")])
        return ([], true)
      }
      return ([IRStmt(isBreak ? .breakLoop : .continueLoop, span: span)], true)

    case .returnValue(let valueSyntax):
      guard let valueSyntax else {
        if returnType != .unit {
          diagnostics.error(
            .typeMismatch, "mismatched types: expected `\(returnType)`, found `()`", at: span,
            labels: [Label(span, "`return` needs a value of type `\(returnType)`")])
        }
        return ([IRStmt(.returnValue(nil), span: span)], true)
      }
      let value = checkExpr(valueSyntax, .type(returnType))
      expect(value, returnType)
      return ([IRStmt(.returnValue(value), span: span)], true)
    }
  }

  private mutating func checkCondition(_ syntax: Expr) -> IRExpr {
    let condition = checkExpr(syntax, .type(.bool))
    if condition.type != .bool, condition.type != .never {
      diagnostics.error(
        .conditionNotBool, "mismatched types: expected `bool`, found `\(condition.type)`",
        at: syntax.span, labels: [Label(syntax.span, "expected `bool`, found `\(condition.type)`")])
    }
    return condition
  }

  /// Reports a value whose type is not the one required.
  private mutating func expect(_ value: IRExpr, _ type: IRType) {
    guard value.type != type, value.type != .never, type != .never else { return }
    diagnostics.error(
      .typeMismatch, "mismatched types: expected `\(type)`, found `\(value.type)`", at: value.span,
      labels: [Label(value.span, "expected `\(type)`, found `\(value.type)`")])
  }

  private mutating func reportUnknownName(_ name: Identifier) {
    if case .structure? = lookup(name.name) {
      diagnostics.error(
        .unknownName, "`\(name.name)` is a struct, not a value", at: name.span,
        labels: [Label(name.span, "write a literal: `\(name.name) { ... }`")])
    } else if lookup(name.name) != nil || BuiltinSignatures.isBuiltinName(name.name) {
      diagnostics.error(
        .unknownName, "`\(name.name)` is a function, not a value", at: name.span,
        labels: [Label(name.span, "call it: `\(name.name)(...)`")])
    } else {
      diagnostics.error(
        .unknownName, "unknown variable `\(name.name)`", at: name.span,
        labels: [Label(name.span, "not found in this scope")])
    }
  }

  /// The global `name` names, if it names one; one its initializer may not name yet is
  /// reported (and still resolved, so nothing else is reported about it).
  private mutating func globalNamed(_ name: Identifier) -> (id: FunctionID, type: IRType)? {
    guard case .global(let id, let type, _)? = lookup(name.name) else { return nil }
    if uninitialisedGlobals.contains(name.name) {
      diagnostics.error(
        .globalUsedBeforeInitialisation,
        "global `\(name.name)` is used before it is initialised", at: name.span,
        labels: [
          Label(name.span, "initialisers run in declaration order; this one runs first")
        ])
    }
    return (id, type)
  }

  /// Resolves a project-wide name, recording the read.
  private mutating func lookup(_ name: String) -> GlobalDefinition? {
    let definition = environment.definition(name)
    reads[name] = definition.map(\.shape)
    return definition
  }

  private func invalid(_ span: Span) -> IRExpr {
    IRExpr(.unitConstant, type: .never, span: span)
  }

  // MARK: Expressions

  mutating func checkExpr(_ expr: Expr, _ expectation: Expectation) -> IRExpr {
    let span = expr.span
    switch expr.kind {
    case .integerLiteral(let value, let suffix):
      return integerLiteral(
        value, suffix: suffix, negated: false, expectation: expectation, span: span)

    case .floatLiteral(let text, let suffix):
      let type: IRType
      if let suffix {
        type = Self.type(of: suffix)
      } else if let hint = expectation.hint, hint.isFloat {
        type = hint
      } else {
        type = .f64
      }
      let value: Double
      if type.isFloat {
        value = type == .f32 ? Double(Float(text) ?? .nan) : (Double(text) ?? .nan)
      } else {
        diagnostics.error(
          .invalidNumber, "a float literal cannot have type `\(type)`", at: span,
          labels: [Label(span, "use an integer literal")])
        return invalid(span)
      }
      if value.isInfinite {
        diagnostics.error(
          .literalOutOfRange, "literal out of range for `\(type)`", at: span,
          labels: [Label(span, "does not fit in `\(type)`")])
      }
      return IRExpr(.floatConstant(value), type: type, span: span)

    case .boolLiteral(let value):
      return IRExpr(.boolConstant(value), type: .bool, span: span)

    case .stringLiteral(let value):
      return IRExpr(.stringConstant(value), type: .string, span: span)

    case .template(let parts):
      var checked: [IRTemplatePart] = []
      for part in parts {
        switch part {
        case .text(let text):
          checked.append(.text(text))
        case .interpolation(let inner):
          let value = checkExpr(inner, .none)
          if !Self.isPrintable(value.type), value.type != .never {
            diagnostics.error(
              .notPrintable, "cannot interpolate a value of type `\(value.type)`", at: inner.span,
              labels: [Label(inner.span, "has type `\(value.type)`")])
          }
          checked.append(.value(value))
        }
      }
      return IRExpr(.template(checked), type: .string, span: span)

    case .name(let name):
      guard let id = lookupLocal(name) else {
        let identifier = Identifier(name, span: span)
        if let global = globalNamed(identifier) {
          return IRExpr(.global(global.id), type: global.type, span: span)
        }
        reportUnknownName(identifier)
        return invalid(span)
      }
      let type = locals[id.index].type
      return IRExpr(type == .unit ? .unitConstant : .local(id), type: type, span: span)

    case .call(let callee, let arguments):
      return checkCall(callee, arguments, span: span)

    case .unary(let op, let operandSyntax, _):
      return checkUnary(op, operandSyntax, expectation: expectation, span: span)

    case .binary:
      return checkBinaryChain(expr, expectation)

    case .cast:
      return checkCasts(expr)

    case .block(let block):
      let checked = checkBlock(block, expectation: expectation)
      return IRExpr(.block(checked), type: checked.type, span: span)

    case .ifElse(let arms, let elseBlock):
      return checkIf(arms, elseBlock, expectation: expectation, span: span)

    case .parenthesized(let inner):
      return checkExpr(inner, expectation)

    case .arrayLiteral(let elements):
      return checkArrayLiteral(elements, expectation: expectation, span: span)

    case .arrayRepeat(let valueSyntax, let countSyntax):
      let value = checkExpr(valueSyntax, expectation.hint?.element.map { .type($0) } ?? .none)
      let count = checkExpr(countSyntax, .type(.i64))
      expect(count, .i64)
      guard value.type != .never else { return invalid(span) }
      guard value.type != .unit else { return unitElement(valueSyntax.span) }
      return IRExpr(.arrayRepeat(value: value, count: count), type: .array(value.type), span: span)

    case .index(let baseSyntax, let indexSyntax):
      let base = checkExpr(baseSyntax, .none)
      let index = checkExpr(indexSyntax, .type(.i64))
      expect(index, .i64)
      guard let element = base.type.element else {
        if base.type != .never { reportNotIndexable(base.type, at: base.span) }
        return invalid(span)
      }
      return IRExpr(.index(base, index: index), type: element, span: span)

    case .methodCall(let receiver, let method, let arguments):
      return checkMethodCall(receiver, method, arguments, span: span)

    case .field(let baseSyntax, let name):
      let base = checkExpr(baseSyntax, .none)
      guard let (index, type) = structField(name, of: base.type, baseSpan: baseSyntax.span) else {
        return invalid(span)
      }
      return IRExpr(.field(base, index), type: type, span: span)

    case .structLiteral(let name, let fields):
      return checkStructLiteral(name, fields, span: span)

    case .invalid:
      return invalid(span)
    }
  }

  // MARK: Arrays

  private mutating func checkArrayLiteral(
    _ elements: [Expr], expectation: Expectation, span: Span
  ) -> IRExpr {
    let hint = expectation.hint?.element
    guard let first = elements.first else {
      guard let hint else {
        diagnostics.error(
          .cannotInferType, "cannot infer the element type of `[]`", at: span,
          labels: [Label(span, "give it a type: `let a: [i64] = [];`")])
        return invalid(span)
      }
      return IRExpr(.arrayLiteral([]), type: .array(hint), span: span)
    }
    // An unsuffixed literal first takes its numeric type from a later element that has one.
    let typed =
      hint == nil && first.isUntypedLiteral ? elements.first { !$0.isUntypedLiteral } : nil
    var elementType = hint
    if let typed, let type = checkExprQuietly(typed), type.isNumeric { elementType = type }
    var checked: [IRExpr] = []
    for element in elements {
      let value = checkExpr(element, elementType.map { .type($0) } ?? .none)
      if elementType == nil, value.type != .never { elementType = value.type }
      if let elementType { expect(value, elementType) }
      checked.append(value)
    }
    guard let elementType, elementType != .never else { return invalid(span) }
    guard elementType != .unit else { return unitElement(first.span) }
    return IRExpr(.arrayLiteral(checked), type: .array(elementType), span: span)
  }

  /// The type `expr` checks to, without keeping its diagnostics or reads.
  private mutating func checkExprQuietly(_ expr: Expr) -> IRType? {
    let saved = (diagnostics, reads, locals)
    let type = checkExpr(expr, .none).type
    (diagnostics, reads, locals) = saved
    return type == .never ? nil : type
  }

  private mutating func unitElement(_ span: Span) -> IRExpr {
    diagnostics.error(
      .typeMismatch, "an array cannot hold `()`", at: span,
      labels: [Label(span, "this has no value")])
    return invalid(span)
  }

  private mutating func reportNotIndexable(_ type: IRType, at span: Span) {
    diagnostics.error(
      .typeMismatch, "cannot index a value of type `\(type)`", at: span,
      labels: [Label(span, "has type `\(type)`")])
  }

  /// The place an assignment or a changing method names: a local or global, then
  /// elements. Nil (reported) when it names nothing that can change.
  private mutating func checkPlace(_ syntax: Expr) -> IRPlace? {
    // The steps from the outside in.
    var steps: [PlaceStep] = []
    var root = syntax
    while true {
      if case .index(let base, let index) = root.kind {
        steps.append(.index(index))
        root = base
      } else if case .field(let base, let name) = root.kind {
        steps.append(.field(name))
        root = base
      } else {
        break
      }
    }
    guard case .name(let name) = root.kind else {
      diagnostics.error(
        .changesTemporary, "cannot change a temporary value", at: root.span,
        labels: [Label(root.span, "store it in a variable first")])
      return nil
    }
    let identifier = Identifier(name, span: root.span)
    let placeRoot: IRPlace.Root
    var type: IRType
    if let id = lookupLocal(name) {
      placeRoot = .local(id)
      type = locals[id.index].type
    } else if let global = globalNamed(identifier) {
      placeRoot = .global(global.id)
      type = global.type
    } else {
      reportUnknownName(identifier)
      return nil
    }
    let rootType = type
    var path: [IRPlace.Step] = []
    var baseSpan = root.span
    for step in steps.reversed() {
      switch step {
      case .index(let index):
        let checked = checkExpr(index, .type(.i64))
        expect(checked, .i64)
        path.append(.index(checked))
        guard let element = type.element else {
          if type != .never {
            reportNotIndexable(type, at: baseSpan)
          }
          return nil
        }
        type = element
        baseSpan = baseSpan.to(index.span)
      case .field(let name):
        guard let (index, field) = structField(name, of: type, baseSpan: baseSpan) else {
          return nil
        }
        path.append(.field(index))
        type = field
        baseSpan = baseSpan.to(name.span)
      }
    }
    return IRPlace(root: placeRoot, rootType: rootType, path: path, type: type)
  }

  /// A step of a written place: an index expression, or a field name.
  private enum PlaceStep {
    case index(Expr)
    case field(Identifier)
  }

  // MARK: Structs

  /// A written type, its struct names looked up (and recorded as read).
  private mutating func resolveType(_ syntax: TypeSyntax) -> IRType {
    let type = TypeResolver.resolve(syntax, diagnostics: &diagnostics)
    for (name, span) in TypeResolver.structNames(in: syntax) {
      guard case .structure? = lookup(name) else {
        TypeResolver.reportUnknownType(name, at: span, &diagnostics)
        return .never
      }
    }
    return type
  }

  /// The struct named by `type`, read from the namespace.
  private mutating func structDefinition(of type: IRType) -> StructDefinition? {
    guard case .structure(let name) = type, case .structure(let definition)? = lookup(name)
    else { return nil }
    return definition
  }

  /// Field `name` of a value of `type` (its position and type); nil, reported, when there
  /// is none.
  private mutating func structField(_ name: Identifier, of type: IRType, baseSpan: Span) -> (
    Int, IRType
  )? {
    guard type != .never else { return nil }
    guard let definition = structDefinition(of: type) else {
      diagnostics.error(
        .unknownField, "type `\(type)` has no field `\(name.name)`", at: name.span,
        labels: [Label(baseSpan, "has type `\(type)`")])
      return nil
    }
    guard let (index, field) = definition.field(named: name.name) else {
      reportUnknownField(name, of: definition)
      return nil
    }
    return (index, field.type)
  }

  private mutating func reportUnknownField(_ name: Identifier, of definition: StructDefinition) {
    diagnostics.error(
      .unknownField, "struct `\(definition.name)` has no field `\(name.name)`", at: name.span,
      labels: [
        Label(name.span, "unknown field"),
        Label(definition.nameSpan, "`\(definition.name)` declared here"),
      ])
  }

  /// `Name { field: value, ... }`: every field given or defaulted, in any order; the
  /// IR has them in declaration order.
  private mutating func checkStructLiteral(_ name: Identifier, _ given: [FieldValue], span: Span)
    -> IRExpr
  {
    guard case .structure(let definition)? = lookup(name.name) else {
      for field in given { _ = checkExpr(field.value, .none) }
      diagnostics.error(
        .unknownStruct, "unknown struct `\(name.name)`", at: name.span,
        labels: [Label(name.span, "not a struct")])
      return invalid(span)
    }
    var values: [IRExpr?] = Array(repeating: nil, count: definition.fields.count)
    var failed = false
    for field in given {
      guard let (index, declared) = definition.field(named: field.name.name) else {
        _ = checkExpr(field.value, .none)
        reportUnknownField(field.name, of: definition)
        failed = true
        continue
      }
      let value = checkExpr(field.value, .type(declared.type))
      expect(value, declared.type)
      if values[index] != nil {
        diagnostics.error(
          .duplicateField, "duplicate field `\(field.name.name)`", at: field.name.span,
          labels: [Label(field.name.span, "given again")])
        failed = true
      }
      values[index] = value
    }
    var missing: [String] = []
    for (index, field) in definition.fields.enumerated() where values[index] == nil {
      guard let defaultValue = field.defaultValue else {
        missing.append(field.name)
        continue
      }
      // Checked where the struct is declared, once (`DeclaredProgram.structs`): here it
      // is only made the literal's value, with the reads that come with it.
      let saved = diagnostics
      values[index] = checkExpr(defaultValue, .type(field.type))
      diagnostics = saved
    }
    for field in missing {
      diagnostics.error(
        .missingField, "missing field `\(field)` in `\(definition.name)`", at: name.span,
        labels: [Label(span, "`\(field)` is not given and has no default")])
    }
    guard !failed, missing.isEmpty else { return invalid(span) }
    return IRExpr(
      .structLiteral(values.map { $0! }), type: .structure(definition.name), span: span)
  }

  private mutating func checkMethodCall(
    _ receiverSyntax: Expr, _ method: Identifier, _ arguments: [Expr], span: Span
  ) -> IRExpr {
    let mutation = IRArrayMutation(rawValue: method.name)
    // A changing method needs a place; `len` any array.
    var place: IRPlace?
    let receiverType: IRType
    if mutation != nil, let checked = checkPlace(receiverSyntax) {
      place = checked
      receiverType = checked.type
    } else if mutation != nil {
      for argument in arguments { _ = checkExpr(argument, .none) }
      return invalid(span)
    } else {
      let receiver = checkExpr(receiverSyntax, .none)
      receiverType = receiver.type
      guard method.name == "len", receiverType.element != nil else {
        return unknownMethod(method, of: receiver, arguments)
      }
      guard arguments.isEmpty else {
        for argument in arguments { _ = checkExpr(argument, .none) }
        reportArity(
          name: method.name, expected: 0, got: arguments.count, callSpan: span, definition: nil)
        return invalid(span)
      }
      return IRExpr(.arrayLength(receiver), type: .i64, span: span)
    }
    guard let mutation, let place, let element = receiverType.element else {
      if receiverType != .never {
        return unknownMethod(
          method, of: IRExpr(.unitConstant, type: receiverType, span: receiverSyntax.span),
          arguments)
      }
      for argument in arguments { _ = checkExpr(argument, .none) }
      return invalid(span)
    }
    let parameters: [IRType]
    let result: IRType
    switch mutation {
    case .push: (parameters, result) = ([element], .unit)
    case .pop: (parameters, result) = ([], element)
    case .insert: (parameters, result) = ([.i64, element], .unit)
    case .remove: (parameters, result) = ([.i64], element)
    case .clear: (parameters, result) = ([], .unit)
    }
    let signature = FunctionSignature(
      name: method.name, parameterNames: parameters.map { _ in "_" }, parameterTypes: parameters,
      parameterSpans: [], returnType: result, nameSpan: method.span)
    guard let checked = checkArguments(arguments, signature: signature, callSpan: span) else {
      return invalid(span)
    }
    return IRExpr(.arrayMutation(mutation, place, checked), type: result, span: span)
  }

  private mutating func unknownMethod(
    _ method: Identifier, of receiver: IRExpr, _ arguments: [Expr]
  ) -> IRExpr {
    for argument in arguments { _ = checkExpr(argument, .none) }
    if receiver.type != .never {
      diagnostics.error(
        .unknownFunction, "type `\(receiver.type)` has no method `\(method.name)`",
        at: method.span, labels: [Label(receiver.span, "has type `\(receiver.type)`")])
    }
    return invalid(receiver.span.to(method.span))
  }

  /// `a as T as U`: the innermost operand first, then each cast outwards, in a loop, so a
  /// chain of casts of any length needs no deeper stack than one.
  private mutating func checkCasts(_ expr: Expr) -> IRExpr {
    var casts: [(type: TypeSyntax, operandSpan: Span, span: Span)] = []
    var node = expr
    while case .cast(let operand, let type) = node.kind {
      casts.append((type, operand.span, node.span))
      node = operand
    }
    var value = checkExpr(node, .none)
    for cast in casts.reversed() {
      value = checkCast(value, to: cast.type, operandSpan: cast.operandSpan, span: cast.span)
    }
    return value
  }

  private mutating func checkCast(
    _ operand: IRExpr, to typeSyntax: TypeSyntax, operandSpan: Span, span: Span
  ) -> IRExpr {
    let target = TypeResolver.resolve(typeSyntax, diagnostics: &diagnostics)
    guard operand.type != .never, target != .never else { return invalid(span) }
    if operand.type == target { return IRExpr(operand.kind, type: target, span: span) }
    let allowed =
      target.isNumeric && (operand.type.isNumeric || operand.type == .bool && target.isInteger)
    guard allowed else {
      diagnostics.error(
        .invalidCast, "cannot cast `\(operand.type)` as `\(target)`", at: span,
        labels: [Label(operandSpan, "has type `\(operand.type)`")],
        hint: "`as` converts between numeric types, and from `bool` to an integer type")
      return invalid(span)
    }
    return IRExpr(.cast(operand), type: target, span: span)
  }

  private mutating func integerLiteral(
    _ value: UInt64, suffix: LiteralSuffix?, negated: Bool, expectation: Expectation, span: Span
  ) -> IRExpr {
    let type: IRType
    if let suffix {
      type = Self.type(of: suffix)
    } else if let hint = expectation.hint, hint.isInteger {
      type = hint
    } else {
      type = .i64
    }
    guard type.isInteger else {
      diagnostics.error(
        .invalidNumber, "an integer literal cannot have type `\(type)`", at: span,
        labels: [Label(span, "write a float literal such as `1.0`")])
      return invalid(span)
    }
    let limit: UInt64
    switch type {
    case .i32: limit = negated ? 1 << 31 : (1 << 31) - 1
    case .i64: limit = negated ? 1 << 63 : (1 << 63) - 1
    case .u8: limit = UInt64(UInt8.max)
    case .u32: limit = UInt64(UInt32.max)
    default: limit = UInt64.max
    }
    if value > limit {
      diagnostics.error(
        .literalOutOfRange, "literal out of range for `\(type)`", at: span,
        labels: [Label(span, "does not fit in `\(type)`")])
      return invalid(span)
    }
    let bits = negated ? 0 &- value : value
    let masked = type.bitWidth < 64 ? bits & (1 << UInt64(type.bitWidth) - 1) : bits
    return IRExpr(.integerConstant(masked), type: type, span: span)
  }

  private static func type(of suffix: LiteralSuffix) -> IRType {
    switch suffix {
    case .u8: return .u8
    case .i32: return .i32
    case .i64: return .i64
    case .u32: return .u32
    case .u64: return .u64
    case .f32: return .f32
    case .f64: return .f64
    }
  }

  /// Printable, and comparable with `==`: scalars, strings, structs (whose fields are all
  /// such values), and arrays of them.
  static func isPrintable(_ type: IRType) -> Bool {
    if let element = type.element { return isPrintable(element) }
    if case .structure = type { return true }
    return type == .bool || type == .string || type.isNumeric
  }

  private mutating func checkUnary(
    _ op: UnaryOperator, _ operandSyntax: Expr, expectation: Expectation, span: Span
  ) -> IRExpr {
    switch op {
    case .negate:
      // `-9223372036854775808` is a literal of its own, not the negation of one that overflows.
      if case .integerLiteral(let value, let suffix) = operandSyntax.kind {
        let hint = expectation.hint
        let type = suffix.map(Self.type(of:)) ?? (hint?.isInteger == true ? hint! : .i64)
        if !type.isSignedInteger {
          reportBadUnary("-", type, span: span)
          return invalid(span)
        }
        return integerLiteral(
          value, suffix: suffix, negated: true, expectation: expectation, span: span)
      }
      let hint = expectation.hint.flatMap { $0.isNumeric ? Expectation.type($0) : nil } ?? .none
      let operand = checkExpr(operandSyntax, hint)
      guard operand.type != .never else { return invalid(span) }
      guard operand.type.isSignedInteger || operand.type.isFloat else {
        reportBadUnary("-", operand.type, span: span)
        return invalid(span)
      }
      return IRExpr(.unary(.negate, operand), type: operand.type, span: span)
    case .not:
      let operand = checkExpr(operandSyntax, .type(.bool))
      guard operand.type != .never else { return invalid(span) }
      guard operand.type == .bool else {
        reportBadUnary("!", operand.type, span: span)
        return invalid(span)
      }
      return IRExpr(.unary(.not, operand), type: .bool, span: span)
    }
  }

  private mutating func reportBadUnary(_ op: String, _ type: IRType, span: Span) {
    let expected = op == "!" ? "a `bool`" : "a signed integer or float"
    diagnostics.error(
      .unaryOperand, "cannot apply unary operator `\(op)` to type `\(type)`", at: span,
      labels: [Label(span, "`\(op)` needs \(expected) operand")])
  }

  /// An operand that is still syntax, or one already checked (compound assignment's target).
  enum Operand {
    case syntax(Expr)
    case checked(IRExpr)
  }

  /// Whether `op`'s right operand is checked first, to give its type to a left operand
  /// made only of unsuffixed literals (`1 + x`).
  private static func checksRightOperandFirst(_ op: BinaryOperator, _ left: Expr, _ right: Expr)
    -> Bool
  {
    op != .logicalAnd && op != .logicalOr && left.isUntypedLiteral && !right.isUntypedLiteral
  }

  /// What `checkBinary` expects of a left operand it checks first.
  private static func leftOperandExpectation(_ op: BinaryOperator, _ expectation: Expectation)
    -> Expectation
  {
    if op == .logicalAnd || op == .logicalOr { return .type(.bool) }
    let hint = op.isComparison ? nil : expectation.hint.flatMap { $0.isNumeric ? $0 : nil }
    return hint.map { .type($0) } ?? .none
  }

  /// Operator chains lean left (`a + b + c` is `(a + b) + c`). The left spine is checked
  /// from its innermost operand outwards in a loop, each operator as `checkBinary` would
  /// check it (left operand first, then the right one in its context), so chains of any
  /// length need no deeper stack than one operator.
  ///
  /// A comparison whose left operand is a comparison was reported by the parser (they do
  /// not chain): its right operand is checked, the comparison itself is not, so
  /// `a < b < c < d` is one error per `<` rather than a cascade of type errors.
  private mutating func checkBinaryChain(_ expr: Expr, _ expectation: Expectation) -> IRExpr {
    var outer:
      [(op: BinaryOperator, right: Expr, expectation: Expectation, span: Span, isChained: Bool)] =
        []
    var node = expr
    var nodeExpectation = expectation
    while case .binary(let op, let left, let right, _) = node.kind,
      !Self.checksRightOperandFirst(op, left, right)
    {
      var isChained = false
      if op.isComparison, case .binary(let leftOp, _, _, _) = left.kind, leftOp.isComparison {
        isChained = true
      }
      outer.append((op, right, nodeExpectation, node.span, isChained))
      nodeExpectation = Self.leftOperandExpectation(op, nodeExpectation)
      node = left
    }
    var value: IRExpr
    if case .binary(let op, let left, let right, _) = node.kind {
      value = checkBinary(
        op, left: .syntax(left), right: .syntax(right), expectation: nodeExpectation,
        span: node.span)
    } else {
      value = checkExpr(node, nodeExpectation)
    }
    for link in outer.reversed() {
      guard !link.isChained else {
        _ = checkExpr(link.right, .none)
        value = IRExpr(.unitConstant, type: .bool, span: link.span)
        continue
      }
      value = checkBinary(
        link.op, left: .checked(value), right: .syntax(link.right), expectation: link.expectation,
        span: link.span)
    }
    return value
  }

  /// Checks two operands that must agree on a type, giving each the other's as context.
  private mutating func checkOperands(_ left: Expr, _ right: Expr, hint: IRType?) -> (
    IRExpr, IRExpr
  ) {
    if left.isUntypedLiteral, !right.isUntypedLiteral {
      let checkedRight = checkExpr(right, hint.map { .type($0) } ?? .none)
      let checkedLeft = checkExpr(left, Self.context(from: checkedRight.type, or: hint))
      return (checkedLeft, checkedRight)
    }
    let checkedLeft = checkExpr(left, hint.map { .type($0) } ?? .none)
    let checkedRight = checkExpr(right, Self.context(from: checkedLeft.type, or: hint))
    return (checkedLeft, checkedRight)
  }

  private static func context(from type: IRType, or hint: IRType?) -> Expectation {
    if type != .never { return .type(type) }
    return hint.map { .type($0) } ?? .none
  }

  mutating func checkBinary(
    _ op: BinaryOperator, left leftOperand: Operand, right rightOperand: Operand,
    expectation: Expectation, span: Span
  ) -> IRExpr {
    if op == .logicalAnd || op == .logicalOr {
      let left = checkOperand(leftOperand, .type(.bool))
      let right = checkOperand(rightOperand, .type(.bool))
      for operand in [left, right] where operand.type != .bool && operand.type != .never {
        diagnostics.error(
          .logicalOperands, "logical operators require `bool` operands", at: span,
          labels: [Label(operand.span, "this has type `\(operand.type)`")])
        return invalid(span)
      }
      return IRExpr(.logical(isAnd: op == .logicalAnd, left, right), type: .bool, span: span)
    }

    let isComparison = op.isComparison
    let hint = isComparison ? nil : expectation.hint.flatMap { $0.isNumeric ? $0 : nil }
    let left: IRExpr
    let right: IRExpr
    switch (leftOperand, rightOperand) {
    case (.syntax(let l), .syntax(let r)):
      (left, right) = checkOperands(l, r, hint: hint)
    case (.checked(let l), .syntax(let r)):
      left = l
      right = checkExpr(r, Self.context(from: l.type, or: hint))
    case (.syntax(let l), .checked(let r)):
      right = r
      left = checkExpr(l, Self.context(from: r.type, or: hint))
    case (.checked(let l), .checked(let r)):
      (left, right) = (l, r)
    }
    guard left.type != .never, right.type != .never else {
      return IRExpr(.unitConstant, type: isComparison ? .bool : .never, span: span)
    }
    let operandLabels = [
      Label(left.span, "left operand has type `\(left.type)`"),
      Label(right.span, "right operand has type `\(right.type)`"),
    ]
    func fail(_ code: DiagnosticCode, _ message: String) -> IRExpr {
      diagnostics.error(code, message, at: span, labels: operandLabels)
      return invalid(span)
    }
    let sameType = left.type == right.type
    let irOp: IRBinaryOperator
    switch op {
    case .add, .subtract, .multiply, .divide, .remainder:
      guard left.type.isNumeric, right.type.isNumeric else {
        return fail(.arithmeticNonNumeric, "arithmetic operators require numeric operands")
      }
      if op == .remainder, left.type.isFloat || right.type.isFloat {
        return fail(.moduloNonInteger, "operator `%` is only valid for integer types")
      }
      guard sameType else {
        return fail(.arithmeticSameType, "arithmetic operands must have the same type")
      }
      irOp =
        [.add: .add, .subtract: .subtract, .multiply: .multiply, .divide: .divide][op] ?? .remainder
    case .bitAnd, .bitOr, .bitXor, .shiftLeft, .shiftRight:
      guard left.type.isInteger, right.type.isInteger, sameType else {
        return fail(
          .bitwiseOperands, "operator `\(op.rawValue)` requires integer operands of the same type")
      }
      let map: [BinaryOperator: IRBinaryOperator] = [
        .bitAnd: .bitAnd, .bitOr: .bitOr, .bitXor: .bitXor, .shiftLeft: .shiftLeft,
      ]
      irOp = map[op] ?? .shiftRight
    case .equal, .notEqual:
      guard sameType else {
        return fail(.equalityOperands, "equality operators require operands of the same type")
      }
      guard Self.isPrintable(left.type) else {
        return fail(.equalityOperands, "values of type `\(left.type)` cannot be compared")
      }
      irOp = op == .equal ? .equal : .notEqual
    case .less, .lessEqual, .greater, .greaterEqual:
      guard left.type.isNumeric, right.type.isNumeric else {
        return fail(.orderingNonNumeric, "ordering operators require numeric operands")
      }
      guard sameType else {
        return fail(
          .orderingSameType, "ordering operators require operands of the same numeric type")
      }
      let map: [BinaryOperator: IRBinaryOperator] = [
        .less: .less, .lessEqual: .lessEqual, .greater: .greater,
      ]
      irOp = map[op] ?? .greaterEqual
    case .logicalAnd, .logicalOr:
      fatalError("handled above")
    }
    return IRExpr(.binary(irOp, left, right), type: isComparison ? .bool : left.type, span: span)
  }

  private mutating func checkOperand(_ operand: Operand, _ expectation: Expectation) -> IRExpr {
    switch operand {
    case .syntax(let expr): return checkExpr(expr, expectation)
    case .checked(let expr): return expr
    }
  }

  /// Checks an `if` / `else if` chain as the nested `if`s it stands for: each `else if` is
  /// the `else` of the arm before it, an `if` whose expectation comes from that arm. The
  /// arms are checked first to last and their types merged last to first, in loops, so a
  /// chain of any length needs no deeper stack than one arm.
  private mutating func checkIf(
    _ arms: [IfArm], _ elseSyntax: Block?, expectation: Expectation, span: Span
  ) -> IRExpr {
    var conditions: [IRExpr] = []
    // nil: an arm whose body takes its type from the rest of the chain, checked after it.
    var bodies: [IRBlock?] = []
    var restExpectation = expectation
    for (index, arm) in arms.enumerated() {
      conditions.append(checkCondition(arm.condition))
      let isLast = index == arms.count - 1
      if isLast && elseSyntax == nil || restExpectation == .discard {
        bodies.append(checkBlock(arm.body, expectation: .discard))
      } else if restExpectation.hint == nil, Self.isUntypedLiteral(arm.body),
        !(isLast && Self.isUntypedLiteral(elseSyntax!))
      {
        bodies.append(nil)
        restExpectation = .none
      } else {
        let body = checkBlock(arm.body, expectation: restExpectation)
        bodies.append(body)
        if restExpectation.hint == nil {
          restExpectation = Self.context(from: body.type, or: nil)
        }
      }
    }
    // The type of the chain from the arm being merged on, and where its value is.
    var restType: IRType
    var restSpan: Span
    var index = arms.count - 1
    let elseBlock = elseSyntax.map { checkBlock($0, expectation: restExpectation) }
    if let elseBlock {
      restType = elseBlock.type
      restSpan = elseBlock.result?.span ?? elseBlock.span
    } else {
      // The last arm without `else` is an `if` of type `()`.
      restType = .unit
      restSpan = arms[index].span
      index -= 1
    }
    while index >= 0 {
      let body =
        bodies[index]
        ?? checkBlock(arms[index].body, expectation: Self.context(from: restType, or: nil))
      bodies[index] = body
      if expectation == .discard {
        restType = body.type == .never && restType == .never ? .never : .unit
      } else if body.type == .never {
        // The rest's type stands.
      } else if restType == .never || restType == body.type {
        restType = body.type
      } else {
        diagnostics.error(
          .branchTypeMismatch, "`if` and `else` have incompatible types", at: arms[index].span,
          labels: [
            Label(body.result?.span ?? arms[index].body.span, "this is of type `\(body.type)`"),
            Label(restSpan, "this is of type `\(restType)`"),
          ])
        restType = .never
      }
      restSpan = arms[index].span
      index -= 1
    }
    let checkedArms = zip(conditions, bodies).map { IRIfArm(condition: $0, body: $1!) }
    return IRExpr(.ifElse(arms: checkedArms, elseBlock: elseBlock), type: restType, span: span)
  }

  /// Whether a block is a single unsuffixed numeric literal (or an expression of them).
  private static func isUntypedLiteral(_ block: Block) -> Bool {
    guard block.statements.count == 1, case .expression(let expr, _) = block.statements[0].kind
    else { return false }
    return expr.isUntypedLiteral
  }

  // MARK: Calls

  private mutating func checkCall(_ callee: Identifier, _ arguments: [Expr], span: Span) -> IRExpr {
    let name = callee.name
    if let definition = lookup(name) {
      switch definition {
      case .function(let id, let signature):
        guard let args = checkArguments(arguments, signature: signature, callSpan: span) else {
          return invalid(span)
        }
        return IRExpr(.call(id, args), type: signature.returnType, span: span)
      case .externFunction(let external):
        let id = external.id
        let signature = FunctionSignature(
          name: external.name, parameterNames: external.parameterTypes.map { _ in "_" },
          parameterTypes: external.parameterTypes,
          parameterSpans: external.parameterTypes.map { _ in external.span },
          returnType: external.returnType, nameSpan: external.span)
        guard let args = checkArguments(arguments, signature: signature, callSpan: span) else {
          return invalid(span)
        }
        return IRExpr(.callExtern(id, args), type: external.returnType, span: span)
      case .global(_, let type, let nameSpan):
        for argument in arguments { _ = checkExpr(argument, .none) }
        diagnostics.error(
          .unknownFunction, "`\(name)` is a global of type `\(type)`, not a function",
          at: callee.span,
          labels: [Label(callee.span, "called here"), Label(nameSpan, "declared here")])
        return invalid(span)
      case .structure(let definition):
        for argument in arguments { _ = checkExpr(argument, .none) }
        diagnostics.error(
          .unknownFunction, "`\(name)` is a struct, not a function", at: callee.span,
          labels: [
            Label(callee.span, "write a literal: `\(name) { ... }`"),
            Label(definition.nameSpan, "declared here"),
          ])
        return invalid(span)
      }
    }
    if name == BuiltinSignatures.assertName { return checkAssert(arguments, span: span) }
    guard let builtin = Builtin(rawValue: name) else {
      for argument in arguments { _ = checkExpr(argument, .none) }
      diagnostics.error(
        .unknownFunction, "unknown function `\(name)`", at: callee.span,
        labels: [Label(callee.span, "not found")])
      return invalid(span)
    }
    if let fixed = BuiltinSignatures.fixed(builtin) {
      let signature = FunctionSignature(
        name: name, parameterNames: fixed.parameters.map { _ in "_" },
        parameterTypes: fixed.parameters,
        parameterSpans: [], returnType: fixed.result, nameSpan: callee.span)
      guard let args = checkArguments(arguments, signature: signature, callSpan: span) else {
        return invalid(span)
      }
      return IRExpr(.callBuiltin(builtin, args), type: fixed.result, span: span)
    }
    // print / println: one printable value; println may also take none.
    let allowed = builtin == .println ? 0...1 : 1...1
    guard allowed.contains(arguments.count) else {
      for argument in arguments { _ = checkExpr(argument, .none) }
      reportArity(
        name: name, expected: allowed.upperBound, got: arguments.count, callSpan: span,
        definition: nil)
      return invalid(span)
    }
    var args: [IRExpr] = []
    if let argument = arguments.first {
      let value = checkExpr(argument, .none)
      if !Self.isPrintable(value.type), value.type != .never {
        diagnostics.error(
          .notPrintable, "`\(name)` cannot print a value of type `\(value.type)`",
          at: argument.span,
          labels: [Label(argument.span, "has type `\(value.type)`")])
        return invalid(span)
      }
      args.append(value)
    }
    return IRExpr(.callBuiltin(builtin, args), type: .unit, span: span)
  }

  /// Checks arguments against parameters; nil when the call is malformed (reported).
  private mutating func checkArguments(
    _ arguments: [Expr], signature: FunctionSignature, callSpan: Span
  ) -> [IRExpr]? {
    guard arguments.count == signature.parameterTypes.count else {
      for argument in arguments { _ = checkExpr(argument, .none) }
      let isUser = lookup(signature.name) != nil
      reportArity(
        name: signature.name, expected: signature.parameterTypes.count, got: arguments.count,
        callSpan: callSpan, definition: isUser ? signature.nameSpan : nil)
      return nil
    }
    var checked: [IRExpr] = []
    var ok = true
    for (index, argument) in arguments.enumerated() {
      let type = signature.parameterTypes[index]
      let value = checkExpr(argument, .type(type))
      if value.type != type, value.type != .never, type != .never {
        var labels = [Label(argument.span, "argument has type `\(value.type)`")]
        if index < signature.parameterSpans.count, lookup(signature.name) != nil {
          labels.append(
            Label(
              signature.parameterSpans[index],
              "parameter `\(signature.parameterNames[index])` has type `\(type)`"))
        } else {
          labels[0] = Label(argument.span, "expected `\(type)`, found `\(value.type)`")
        }
        diagnostics.error(
          .argumentType, "call argument type does not match parameter type", at: argument.span,
          labels: labels)
        ok = false
      }
      checked.append(value)
    }
    return ok ? checked : nil
  }

  private mutating func reportArity(
    name: String, expected: Int, got: Int, callSpan: Span, definition: Span?
  ) {
    var labels = [Label(callSpan, "called with \(got) argument(s)")]
    if let definition { labels.append(Label(definition, "`\(name)` defined here")) }
    diagnostics.error(
      .arityMismatch, "function `\(name)` expects \(expected) argument(s) but got \(got)",
      at: callSpan, labels: labels)
  }

  private mutating func checkAssert(_ arguments: [Expr], span: Span) -> IRExpr {
    guard (1...2).contains(arguments.count) else {
      for argument in arguments { _ = checkExpr(argument, .none) }
      reportArity(
        name: "assert", expected: 1, got: arguments.count, callSpan: span, definition: nil)
      return invalid(span)
    }
    let condition = checkExpr(arguments[0], .type(.bool))
    if condition.type != .bool, condition.type != .never {
      diagnostics.error(
        .assertNotBool, "assert expects a boolean expression", at: arguments[0].span,
        labels: [Label(arguments[0].span, "this has type `\(condition.type)`")])
    }
    var message: IRExpr?
    if arguments.count == 2 {
      let value = checkExpr(arguments[1], .type(.string))
      expect(value, .string)
      message = value
    }
    let statement = IRStmt(.assert(condition: condition, message: message), span: span)
    return IRExpr(
      .block(IRBlock(statements: [statement], result: nil, type: .unit, span: span)), type: .unit,
      span: span)
  }
}
