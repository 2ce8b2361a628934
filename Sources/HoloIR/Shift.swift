import HoloSource

// Moving a function's IR within its file: the program database keeps the IR of a body whose
// text did not change but moved (an edit above it in the same file), instead of checking it
// again; only its spans, which are offsets into the file, change.

extension IRFunction {
  /// The same function, `delta` bytes further into its file.
  public func shifted(by delta: Int) -> IRFunction {
    guard delta != 0 else { return self }
    var moved = self
    moved.span = span.shifted(by: delta)
    moved.locals = locals.map { local in
      var local = local
      local.span = local.span.shifted(by: delta)
      return local
    }
    moved.body = body.shifted(by: delta)
    return moved
  }
}

extension IRBlock {
  fileprivate func shifted(by delta: Int) -> IRBlock {
    IRBlock(
      statements: statements.map { $0.shifted(by: delta) }, result: result?.shifted(by: delta),
      type: type, span: span.shifted(by: delta))
  }
}

extension IRStmt {
  fileprivate func shifted(by delta: Int) -> IRStmt {
    let moved: IRStmtKind
    switch kind {
    case .letBinding(let local, let value): moved = .letBinding(local, value.shifted(by: delta))
    case .assign(let local, let value): moved = .assign(local, value.shifted(by: delta))
    case .expression(let value): moved = .expression(value.shifted(by: delta))
    case .whileLoop(let condition, let body):
      moved = .whileLoop(condition: condition.shifted(by: delta), body: body.shifted(by: delta))
    case .forLoop(let variable, let start, let end, let inclusive, let body):
      moved = .forLoop(
        variable: variable, start: start.shifted(by: delta), end: end.shifted(by: delta),
        inclusive: inclusive, body: body.shifted(by: delta))
    case .breakLoop, .continueLoop: moved = kind
    case .returnValue(let value): moved = .returnValue(value?.shifted(by: delta))
    case .assert(let condition, let message):
      moved = .assert(condition: condition.shifted(by: delta), message: message?.shifted(by: delta))
    }
    return IRStmt(moved, span: span.shifted(by: delta))
  }
}

extension IRExpr {
  /// Walks the left spine of operator and cast chains in a loop, as every phase does, so
  /// a long chain needs no deep stack.
  fileprivate func shifted(by delta: Int) -> IRExpr {
    var spine: [IRExpr] = []
    var node = self
    while true {
      switch node.kind {
      case .binary(_, let left, _), .logical(_, let left, _), .cast(let left):
        spine.append(node)
        node = left
        continue
      default:
        break
      }
      break
    }
    var result = node.shiftedLeaf(by: delta)
    for link in spine.reversed() {
      let kind: IRExprKind
      switch link.kind {
      case .binary(let op, _, let right): kind = .binary(op, result, right.shifted(by: delta))
      case .logical(let isAnd, _, let right):
        kind = .logical(isAnd: isAnd, result, right.shifted(by: delta))
      default: kind = .cast(result)
      }
      result = IRExpr(kind, type: link.type, span: link.span.shifted(by: delta))
    }
    return result
  }

  /// An expression that is not an operator or a cast.
  private func shiftedLeaf(by delta: Int) -> IRExpr {
    let moved: IRExprKind
    switch kind {
    case .integerConstant, .floatConstant, .boolConstant, .stringConstant, .unitConstant,
      .local:
      moved = kind
    case .template(let parts):
      moved = .template(
        parts.map { part in
          if case .value(let value) = part { return .value(value.shifted(by: delta)) }
          return part
        })
    case .call(let callee, let arguments):
      moved = .call(callee, arguments.map { $0.shifted(by: delta) })
    case .callExtern(let callee, let arguments):
      moved = .callExtern(callee, arguments.map { $0.shifted(by: delta) })
    case .callBuiltin(let builtin, let arguments):
      moved = .callBuiltin(builtin, arguments.map { $0.shifted(by: delta) })
    case .unary(let op, let operand): moved = .unary(op, operand.shifted(by: delta))
    case .binary, .logical, .cast: preconditionFailure("chains are shifted by `shifted(by:)`")
    case .block(let body): moved = .block(body.shifted(by: delta))
    case .ifElse(let arms, let elseBlock):
      moved = .ifElse(
        arms: arms.map {
          IRIfArm(condition: $0.condition.shifted(by: delta), body: $0.body.shifted(by: delta))
        }, elseBlock: elseBlock?.shifted(by: delta))
    }
    return IRExpr(moved, type: type, span: span.shifted(by: delta))
  }
}
