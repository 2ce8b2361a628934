import Foundation
import HoloCache
import HoloCodegen
import HoloIR
import HoloSource

/// The digest of one function's typed IR: everything its machine code depends on. Two
/// functions with the same fingerprint compile to the same code, so only functions whose
/// fingerprint changed need patching, and a test whose reachable functions' fingerprints
/// are all unchanged would do what it did last time. It is the same in every holoc
/// process (a SHA-256 of a fixed encoding), so it can key entries of the persistent cache.
///
/// Callees are named by name and signature (`Symbols.key`), not by `FunctionID`, so a
/// caller's fingerprint changes when a callee's signature does. Source positions enter as
/// the file, the column where the function starts and the function's own source text:
/// together they fix every expression's line relative to the function's start, and its
/// column, which is what dev code holds (its locations are relative to the function's
/// line-base cell). The start line itself is left out, so a function that only moved up or
/// down in its file keeps its fingerprint: the live loop then writes its new start line
/// into the cell instead of patching it. Every node starts with a distinct tag and every
/// variable-length part with its length, so different trees cannot encode alike.
public struct Fingerprint {
  private let program: IRProgram
  private let file: SourceFile
  private var hasher = StableEncoder()
  /// The holo functions the function calls directly (its edges in the call graph).
  private var callees: Set<FunctionID> = []
  /// Whether it calls C (`extern fn`), whose code no fingerprint covers.
  private var callsExtern = false

  /// The fingerprint of `function`, its direct callees, and whether it calls an extern.
  public static func of(_ function: IRFunction, in program: IRProgram, sources: SourceManager)
    -> (digest: ContentDigest, callees: Set<FunctionID>, callsExtern: Bool)
  {
    var writer = Fingerprint(program: program, file: sources.file(function.span.file))
    writer.function(function)
    return (ContentDigest(of: writer.hasher.bytes), writer.callees, writer.callsExtern)
  }

  private init(program: IRProgram, file: SourceFile) {
    self.program = program
    self.file = file
  }

  private enum Tag: UInt8 {
    case function, local, block, result, statement, expression, templateText, templateValue
    case callee, extern, builtin, elseBranch, message, noValue
  }

  private mutating func tag(_ tag: Tag) { hasher.combine(tag.rawValue) }

  private mutating func function(_ function: IRFunction) {
    tag(.function)
    hasher.combine(Symbols.key(of: function))
    hasher.combine(case: function.kind)
    hasher.combine(function.isExport)
    hasher.combine(file.path)
    hasher.combine(file.location(of: function.span.start).column)
    let end = max(function.span.end, function.located(function.body.span).end)
    hasher.combine(file.bytes[function.span.start..<end])
    for local in function.locals {
      tag(.local)
      hasher.combine(local.name)
      hasher.combine(local.type)
    }
    block(function.body)
  }

  private mutating func block(_ block: IRBlock) {
    tag(.block)
    hasher.combine(block.statements.count)
    for statement in block.statements { self.statement(statement) }
    if let result = block.result {
      tag(.result)
      expression(result)
    }
    hasher.combine(block.type)
  }

  private mutating func statement(_ statement: IRStmt) {
    tag(.statement)
    switch statement.kind {
    case .letBinding(let local, let value):
      hasher.combine(0)
      hasher.combine(local.index)
      expression(value)
    case .assign(let local, let value):
      hasher.combine(1)
      hasher.combine(local.index)
      expression(value)
    case .expression(let value):
      hasher.combine(2)
      expression(value)
    case .whileLoop(let condition, let body):
      hasher.combine(3)
      expression(condition)
      block(body)
    case .forLoop(let variable, let start, let end, let inclusive, let body):
      hasher.combine(4)
      hasher.combine(variable.index)
      hasher.combine(inclusive)
      expression(start)
      expression(end)
      block(body)
    case .breakLoop:
      hasher.combine(5)
    case .continueLoop:
      hasher.combine(6)
    case .returnValue(let value):
      hasher.combine(7)
      optionalExpression(value)
    case .assert(let condition, let message):
      hasher.combine(8)
      expression(condition)
      optionalExpression(message)
    }
  }

  private mutating func optionalExpression(_ expression: IRExpr?) {
    if let expression {
      tag(.message)
      self.expression(expression)
    } else {
      tag(.noValue)
    }
  }

  /// Hashes what the recursion over operands would, but walks the left spine of operator
  /// and cast chains (`a + b + c` is `(a + b) + c`) in a loop, so long chains need no deep
  /// stack: each link's head on the way down, then its right operand and type on the way up.
  private mutating func expression(_ expression: IRExpr) {
    var outer: [IRExpr] = []
    var node = expression
    spine: while true {
      switch node.kind {
      case .binary(let op, let left, _):
        tag(.expression)
        hasher.combine(8)
        hasher.combine(case: op)
        hasher.combine(2)
        outer.append(node)
        node = left
      case .logical(let isAnd, let left, _):
        tag(.expression)
        hasher.combine(9)
        hasher.combine(isAnd)
        hasher.combine(2)
        outer.append(node)
        node = left
      case .cast(let operand):
        tag(.expression)
        hasher.combine(10)
        hasher.combine(1)
        outer.append(node)
        node = operand
      default:
        break spine
      }
    }
    leaf(node)
    for link in outer.reversed() {
      switch link.kind {
      case .binary(_, _, let right), .logical(_, _, let right): self.expression(right)
      default: break
      }
      hasher.combine(link.type)
    }
  }

  /// An expression that is not an operator or a cast.
  private mutating func leaf(_ expression: IRExpr) {
    tag(.expression)
    switch expression.kind {
    case .integerConstant(let bits):
      hasher.combine(0)
      hasher.combine(bits)
    case .floatConstant(let value):
      hasher.combine(1)
      hasher.combine(value.bitPattern)
    case .boolConstant(let value):
      hasher.combine(2)
      hasher.combine(value)
    case .stringConstant(let value):
      hasher.combine(3)
      hasher.combine(value)
    case .unitConstant:
      hasher.combine(4)
    case .template(let parts):
      hasher.combine(5)
      hasher.combine(parts.count)
      for part in parts {
        switch part {
        case .text(let value):
          tag(.templateText)
          hasher.combine(value)
        case .value(let value):
          tag(.templateValue)
          self.expression(value)
        }
      }
    case .local(let local):
      hasher.combine(6)
      hasher.combine(local.index)
    case .call(let callee, let arguments):
      callees.insert(callee)
      tag(.callee)
      hasher.combine(Symbols.key(of: program.function(callee)))
      list(arguments)
    case .callExtern(let callee, let arguments):
      let external = program.external(callee)
      callsExtern = true
      tag(.extern)
      hasher.combine(external.name)
      hasher.combine(external.parameterTypes)
      hasher.combine(external.returnType)
      list(arguments)
    case .callBuiltin(let builtin, let arguments):
      tag(.builtin)
      hasher.combine(builtin.rawValue)
      list(arguments)
    case .unary(let op, let operand):
      hasher.combine(7)
      hasher.combine(case: op)
      list([operand])
    case .binary, .logical, .cast:
      preconditionFailure("chains are hashed by `expression`")
    case .block(let body):
      hasher.combine(11)
      block(body)
    case .ifElse(let arms, let elseBlock):
      hasher.combine(12)
      hasher.combine(arms.count)
      for arm in arms {
        self.expression(arm.condition)
        block(arm.body)
      }
      if let elseBlock {
        tag(.elseBranch)
        block(elseBlock)
      }
    }
    hasher.combine(expression.type)
  }

  private mutating func list(_ expressions: [IRExpr]) {
    hasher.combine(expressions.count)
    for expression in expressions { self.expression(expression) }
  }
}

/// Every function's fingerprint, computed once per command for all that key by them (the
/// program's objects, the tests' results), on as many threads as there are cores.
struct ProgramFingerprints {
  typealias FunctionFingerprint = (
    digest: ContentDigest, callees: Set<FunctionID>, callsExtern: Bool
  )

  let byFunction: [FunctionID: FunctionFingerprint]

  /// Functions fingerprinted per turn of a thread: enough that taking work costs nothing.
  private static let batchSize = 256

  init(_ program: IRProgram, sources: SourceManager) {
    let functions = program.functions
    let batches = WorkQueue(count: (functions.count + Self.batchSize - 1) / Self.batchSize)
    let results = WorkerResults<[FunctionFingerprint]>(count: batches.count)
    CompilerThread.runWorkers(min(ProcessInfo.processInfo.activeProcessorCount, batches.count)) {
      while let batch = batches.next() {
        let range = batch * Self.batchSize..<min((batch + 1) * Self.batchSize, functions.count)
        results.set(
          range.map { Fingerprint.of(functions[$0], in: program, sources: sources) }, at: batch)
      }
    }
    byFunction = Dictionary(
      zip(functions.map(\.id), results.values.joined()), uniquingKeysWith: { first, _ in first })
  }
}

/// A fixed encoding of what `Fingerprint` hashes, the same in every process (unlike
/// `Hasher`, which is seeded per process): integers as 8 bytes little-endian, text and
/// byte runs with their length in front, enumeration cases by name.
private struct StableEncoder {
  private(set) var bytes: [UInt8] = []

  mutating func combine(_ value: Int) {
    withUnsafeBytes(of: Int64(value).littleEndian) { bytes.append(contentsOf: $0) }
  }

  mutating func combine(_ value: UInt64) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
  }

  mutating func combine(_ value: UInt8) { bytes.append(value) }

  mutating func combine(_ value: Bool) { bytes.append(value ? 1 : 0) }

  mutating func combine(_ value: String) {
    combine(value.utf8.count)
    bytes.append(contentsOf: value.utf8)
  }

  mutating func combine(_ value: ArraySlice<UInt8>) {
    combine(value.count)
    bytes.append(contentsOf: value)
  }

  mutating func combine(_ type: IRType) { combine(type.description) }

  mutating func combine(_ types: [IRType]) {
    combine(types.count)
    for type in types { combine(type) }
  }

  /// An enumeration without payloads: its case name.
  mutating func combine<Case: RawRepresentable>(case value: Case) where Case.RawValue == String {
    combine(value.rawValue)
  }
}
