import CLLVM
import HoloDevABI
import HoloIR

// Live migration of globals (LANGUAGE.md §13, docs/PATCHING.md "Migrations"): what a
// patch does to the globals of the program it is applied to, and how its safepoint
// function converts values of an old layout into the new one.

/// A global as the running program has it.
public struct RunningGlobal: Sendable, Equatable {
  public var name: String
  /// Its storage's symbol, spelled with the running program's layouts.
  public var symbol: String
  /// Its type in the patch's program, where every struct whose layout the patch changes
  /// keeps its old definition under the name `Name'old` (`GlobalChanges.oldStructs`).
  public var type: IRType
}

/// A global whose value the patch converts from its running layout or type to the new one.
public struct GlobalMigration: Sendable, Equatable {
  public var old: RunningGlobal
  public var new: IRGlobal
}

/// One conversion a migration reports: a struct whose layout changed (`Enemy`), a global
/// converted to another struct (`World → Realm`), or a global's other type (`i64 → f64`).
public struct TypeConversion: Sendable, Equatable {
  public var type: String
  /// Fields by name (struct conversions only), in declaration order.
  public var fieldsAdded: [String]
  public var fieldsRemoved: [String]
  /// Fields of the same name whose declared type changed.
  public var fieldsConverted: [String]

  public init(
    type: String, fieldsAdded: [String], fieldsRemoved: [String], fieldsConverted: [String]
  ) {
    self.type = type
    self.fieldsAdded = fieldsAdded
    self.fieldsRemoved = fieldsRemoved
    self.fieldsConverted = fieldsConverted
  }
}

/// What a patch does to the globals of the program it is applied to (LANGUAGE.md §13).
/// Its safepoint function, on the main thread and before any new code runs, converts the
/// values of `migrated` into new storage, then initialises `added` (in the new program's
/// order), releases the values of `removed`, and runs the initializers of `reset` again,
/// releasing the values they replace (`holoc reset`).
public struct GlobalChanges: Sendable, Equatable {
  public var added: [IRGlobal]
  public var removed: [RunningGlobal]
  public var migrated: [GlobalMigration]
  public var reset: [IRGlobal]
  /// The running program's definitions of the structs whose layout the patch changes or
  /// removes, each named `Name'old`, its fields' types renamed alike.
  public var oldStructs: [IRStruct]
  /// The conversions `migrated` makes, in the order of the counts the patch reports.
  public var conversions: [TypeConversion]
  /// Each conversion's position in `conversions`, by `ConversionTable.key`.
  var conversionNumbers: [String: Int]

  public init(reset: [IRGlobal] = []) {
    (added, removed, migrated, self.reset, oldStructs) = ([], [], [], reset, [])
    (conversions, conversionNumbers) = ([], [:])
  }

  public static let none = GlobalChanges()

  public var isEmpty: Bool {
    added.isEmpty && removed.isEmpty && migrated.isEmpty && reset.isEmpty
  }

  /// The suffix of an old layout's name: `'` appears in no holo identifier.
  static let oldSuffix = "'old"

  /// The changes from a program running `old` to `new`. A global is its name and its
  /// storage symbol: one whose symbol changed (its type, or the layout of a struct its
  /// value holds) is migrated when its values convert (§13: numbers and `bool` as `as`
  /// does, structs field by field, arrays element by element), else removed and added
  /// again, which runs its new initializer.
  public init(from old: IRProgram, to new: IRProgram) {
    self.init()
    let oldByName = Dictionary(old.globals.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    let newNames = Set(new.globals.map(\.name))
    // Old structs whose spelling the new program does not have: their values need the old
    // definition, renamed so that both layouts exist in one module.
    let newSpellings = Set(new.structs.map { new.spelling(of: .structure($0.name)) })
    let renamed = Set(
      old.structs.map(\.name).filter { !newSpellings.contains(old.spelling(of: .structure($0))) })
    func running(_ global: IRGlobal) -> RunningGlobal {
      RunningGlobal(
        name: global.name, symbol: Symbols.global(global, in: old),
        type: Self.renaming(global.type, renamed))
    }
    var conversions = ConversionTable(old: old, new: new, renamed: renamed)
    for global in new.globals {
      guard let before = oldByName[global.name] else {
        added.append(global)
        continue
      }
      guard Symbols.global(before, in: old) != Symbols.global(global, in: new) else { continue }
      let from = Self.renaming(before.type, renamed)
      if ConversionTable.convertible(from, global.type) {
        conversions.visit(from, global.type, root: true)
        migrated.append(GlobalMigration(old: running(before), new: global))
      } else {
        removed.append(running(before))
        added.append(global)
      }
    }
    removed.append(contentsOf: old.globals.filter { !newNames.contains($0.name) }.map(running))
    (self.conversions, conversionNumbers) = (conversions.entries, conversions.numbers)
    // Every old struct a running value's type reaches, for its type and its release.
    var needed: [String] = []
    var seen: Set<String> = []
    func need(_ type: IRType) {
      switch type {
      case .array(let element): need(element)
      case .structure(let name) where name.hasSuffix(Self.oldSuffix):
        guard seen.insert(name).inserted else { return }
        let original = old.structure(named: String(name.dropLast(Self.oldSuffix.count)))
        needed.append(name)
        for field in original.fields { need(Self.renaming(field.type, renamed)) }
      default: break
      }
    }
    for global in removed { need(global.type) }
    for migration in migrated { need(migration.old.type) }
    oldStructs = needed.map { name in
      let original = old.structure(named: String(name.dropLast(Self.oldSuffix.count)))
      return IRStruct(
        name: name,
        fields: original.fields.map {
          IRStruct.Field(name: $0.name, type: Self.renaming($0.type, renamed))
        })
    }
  }

  /// `type` with every struct in `renamed` under its old name.
  static func renaming(_ type: IRType, _ renamed: Set<String>) -> IRType {
    switch type {
    case .structure(let name) where renamed.contains(name): return .structure(name + oldSuffix)
    case .array(let element): return .array(renaming(element, renamed))
    default: return type
    }
  }

  /// The name a type is reported by: an old struct by its own name.
  static func reportedName(_ type: IRType) -> String {
    switch type {
    case .structure(let name) where name.hasSuffix(oldSuffix):
      return String(name.dropLast(oldSuffix.count))
    case .array(let element): return "[\(reportedName(element))]"
    default: return type.description
    }
  }
}

/// The conversions a set of migrations makes, each numbered once: a struct conversion per
/// pair of old and new struct, and a global's own conversion when it is not one.
struct ConversionTable {
  let old: IRProgram
  let new: IRProgram
  let renamed: Set<String>
  private(set) var entries: [TypeConversion] = []
  private(set) var numbers: [String: Int] = [:]

  init(old: IRProgram, new: IRProgram, renamed: Set<String>) {
    (self.old, self.new, self.renamed) = (old, new, renamed)
  }

  /// Whether values of `from` (an old type, renamed) convert to `to`: the same type,
  /// numbers and `bool`, any two structs (by field names), arrays whose elements do.
  static func convertible(_ from: IRType, _ to: IRType) -> Bool {
    switch (from, to) {
    case _ where from == to: return true
    case (.structure, .structure): return true
    case (.array(let a), .array(let b)): return convertible(a, b)
    default: return isScalar(from) && isScalar(to)
    }
  }

  static func isScalar(_ type: IRType) -> Bool { type.isNumeric || type == .bool }

  static func key(_ from: IRType, _ to: IRType) -> String { "\(from)→\(to)" }

  /// Numbers the conversions of `from` to `to` and of everything inside.
  mutating func visit(_ from: IRType, _ to: IRType, root: Bool) {
    guard from != to else { return }
    switch (from, to) {
    case (.structure(let a), .structure(let b)):
      let key = Self.key(from, to)
      guard numbers[key] == nil else { return }
      let (before, after) = (structure(a), new.structure(named: b))
      let oldFields = Dictionary(
        before.fields.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
      let newNames = Set(after.fields.map(\.name))
      let reported = GlobalChanges.reportedName(from)
      numbers[key] = entries.count
      entries.append(
        TypeConversion(
          type: reported == b ? b : "\(reported) → \(b)",
          fieldsAdded: after.fields.filter { oldFields[$0.name] == nil }.map(\.name),
          fieldsRemoved: before.fields.filter { !newNames.contains($0.name) }.map(\.name),
          fieldsConverted: after.fields.filter { field in
            oldFields[field.name].map { GlobalChanges.reportedName($0) != field.type.description }
              ?? false
          }.map(\.name)))
      for field in after.fields {
        guard let type = oldFields[field.name], Self.convertible(type, field.type) else { continue }
        visit(type, field.type, root: false)
      }
    case (.array(let a), .array(let b)):
      // Structs count their own values; a global of other arrays is one value.
      if root, !Self.holdsStruct(from) { number(root: from, to) }
      visit(a, b, root: false)
    default:
      if root { number(root: from, to) }
    }
  }

  private static func holdsStruct(_ type: IRType) -> Bool {
    switch type {
    case .structure: return true
    case .array(let element): return holdsStruct(element)
    default: return false
    }
  }

  private mutating func number(root from: IRType, _ to: IRType) {
    let key = Self.key(from, to)
    guard numbers[key] == nil else { return }
    numbers[key] = entries.count
    entries.append(
      TypeConversion(
        type: "\(GlobalChanges.reportedName(from)) → \(to)", fieldsAdded: [], fieldsRemoved: [],
        fieldsConverted: []))
  }

  /// The old definition of the struct named `name` (renamed or not).
  private func structure(_ name: String) -> IRStruct {
    let original = old.structure(
      named: name.hasSuffix(GlobalChanges.oldSuffix)
        ? String(name.dropLast(GlobalChanges.oldSuffix.count)) : name)
    return IRStruct(
      name: name,
      fields: original.fields.map {
        IRStruct.Field(name: $0.name, type: GlobalChanges.renaming($0.type, renamed))
      })
  }
}

/// Emits a patch's migrations into its safepoint function: one converter function per pair
/// of old and new type that has its own (structs, arrays), each building a new value from
/// an old one it only reads, so an old frame holding the old value keeps a valid one.
final class MigrationEmitter {
  private let module: ModuleEmitter
  private let changes: GlobalChanges
  /// `[n x i64]`: how many values each conversion converted.
  private let values: LLVMValueRef
  /// `holo_migration_step`: `{ ptr parent, ptr field, i64 index }`.
  private let stepType: LLVMTypeRef
  private var converters: [String: LLVMValueRef] = [:]

  init(module: ModuleEmitter, changes: GlobalChanges) {
    self.module = module
    self.changes = changes
    let count = UInt32(max(changes.conversions.count, 1))
    let countsType = LLVMArrayType2(module.i64Type, UInt64(count))!
    values = LLVMAddGlobal(module.module, countsType, "holo.migration.values")!
    LLVMSetInitializer(values, LLVMConstNull(countsType))
    LLVMSetLinkage(values, LLVMPrivateLinkage)
    var fields: [LLVMTypeRef?] = [module.pointerType, module.pointerType, module.i64Type]
    stepType = LLVMStructTypeInContext(module.context, &fields, 3, 0)
  }

  /// At the builder's position: converts each migrated global's value into its new
  /// storage, releases the old value (leaving its storage the immortal zero value, for an
  /// old frame that still reads it), and reports the counts.
  func emitMigrations(in function: LLVMValueRef) {
    let builder = module.builder
    for migration in changes.migrated {
      let (from, to) = (migration.old.type, migration.new.type)
      let oldStorage =
        LLVMGetNamedGlobal(module.module, migration.old.symbol)
        ?? LLVMAddGlobal(module.module, module.llvmType(from), migration.old.symbol)!
      let old = LLVMBuildLoad2(builder, module.llvmType(from), oldStorage, "old")!
      let root = step(parent: nil, field: migration.old.name, index: nil, in: function)
      // A global of a struct, or of arrays of them, is counted by its structs; any other
      // is one value of its own conversion.
      let number = changes.conversionNumbers[ConversionTable.key(from, to)]
      if let number, !isStruct(from) { count(number) }
      let converted = convert(
        old, from, to, at: root, conversion: constant(number ?? 0), in: function)
      LLVMBuildStore(builder, converted, module.storage(ofGlobal: migration.new.initializer))
      module.storeOwned(module.immortalZeroValue(of: from), of: from, into: oldStorage)
    }
    var parameters: [LLVMTypeRef?] = [module.pointerType, module.i32Type]
    let type = LLVMFunctionType(module.voidType, &parameters, 2, 0)!
    var arguments: [LLVMValueRef?] = [values, constant(changes.conversions.count)]
    LLVMBuildCall2(builder, type, agentFunction(DevABI.Migration.counted, type), &arguments, 2, "")
  }

  /// `value` (of `from`, borrowed) as an owned value of `to`.
  private func convert(
    _ value: LLVMValueRef, _ from: IRType, _ to: IRType, at step: LLVMValueRef,
    conversion: LLVMValueRef, in function: LLVMValueRef
  ) -> LLVMValueRef {
    if from == to {
      module.emitRetain(value, of: from)
      return value
    }
    switch (from, to) {
    case (.structure, .structure), (.array, .array):
      let converter = self.converter(from, to)
      var arguments: [LLVMValueRef?] = [value, step, conversion]
      return LLVMBuildCall2(
        module.builder, LLVMGlobalGetValueType(converter), converter, &arguments, 3, "")!
    default:
      return convertScalar(value, from, to, at: step, conversion: conversion, in: function)
    }
  }

  /// `value as to`, reporting the conversion when converting back does not give `value`.
  private func convertScalar(
    _ value: LLVMValueRef, _ from: IRType, _ to: IRType, at step: LLVMValueRef,
    conversion: LLVMValueRef, in function: LLVMValueRef
  ) -> LLVMValueRef {
    let builder = module.builder
    let converted = cast(value, from, to)
    let back = cast(converted, to, from)
    let lossy: LLVMValueRef
    if from.isFloat {
      // NaN stays NaN, which no comparison says.
      let differs = LLVMBuildFCmp(builder, LLVMRealUNE, back, value, "")!
      let bothNaN = LLVMBuildAnd(
        builder, LLVMBuildFCmp(builder, LLVMRealUNO, value, value, ""),
        LLVMBuildFCmp(builder, LLVMRealUNO, back, back, ""), "")!
      lossy = LLVMBuildAnd(builder, differs, LLVMBuildNot(builder, bothNaN, ""), "")!
    } else {
      lossy = LLVMBuildICmp(builder, LLVMIntNE, back, value, "")!
    }
    report(
      if: lossy, at: step, conversion: conversion, old: (value, from),
      new: (kind(to), bits(converted, to)), in: function)
    return converted
  }

  /// `as`, and to `bool` whether the value is not zero (`as` makes no `bool`).
  private func cast(_ value: LLVMValueRef, _ from: IRType, _ to: IRType) -> LLVMValueRef {
    guard from != to else { return value }
    guard to == .bool else { return module.emitCast(value, from: from, to: to) }
    let zero = LLVMConstNull(module.llvmType(from))
    return from.isFloat
      ? LLVMBuildFCmp(module.builder, LLVMRealUNE, value, zero, "")!
      : LLVMBuildICmp(module.builder, LLVMIntNE, value, zero, "")!
  }

  /// The function converting values of `from` to `to` (two structs or two arrays):
  /// `(old, ptr step, i32 conversion) -> new`, made once.
  private func converter(_ from: IRType, _ to: IRType) -> LLVMValueRef {
    let key = ConversionTable.key(from, to)
    if let known = converters[key] { return known }
    var parameters: [LLVMTypeRef?] = [
      module.llvmType(from), module.pointerType, module.i32Type,
    ]
    let type = LLVMFunctionType(module.llvmType(to), &parameters, 3, 0)!
    let function = LLVMAddFunction(module.module, "holo.migrate.\(converters.count)", type)!
    LLVMSetLinkage(function, LLVMPrivateLinkage)
    converters[key] = function
    let resume = LLVMGetInsertBlock(module.builder)!
    LLVMPositionBuilderAtEnd(
      module.builder, LLVMAppendBasicBlockInContext(module.context, function, "entry"))
    let (old, step, conversion) = (
      LLVMGetParam(function, 0)!, LLVMGetParam(function, 1)!, LLVMGetParam(function, 2)!
    )
    let result: LLVMValueRef
    switch (from, to) {
    case (.array(let a), .array(let b)):
      result = convertElements(old, a, b, at: step, conversion: conversion, in: function)
    case (.structure(let a), .structure(let b)):
      result = convertFields(old, a, b, at: step, key: key, in: function)
    default:
      preconditionFailure("a converter converts structs or arrays")
    }
    LLVMBuildRet(module.builder, result)
    LLVMPositionBuilderAtEnd(module.builder, resume)
    return function
  }

  private func convertElements(
    _ old: LLVMValueRef, _ from: IRType, _ to: IRType, at parent: LLVMValueRef,
    conversion: LLVMValueRef, in function: LLVMValueRef
  ) -> LLVMValueRef {
    let builder = module.builder
    let length = module.arrayLength(old)
    let new = module.callRuntime("holo_array_alloc", [length, module.elementType(of: to)])
    let element = step(parent: parent, field: nil, index: nil, in: function)
    let entry = LLVMGetInsertBlock(builder)!
    let head = LLVMAppendBasicBlockInContext(module.context, function, "element")
    let body = LLVMAppendBasicBlockInContext(module.context, function, "element.convert")
    let done = LLVMAppendBasicBlockInContext(module.context, function, "elements.done")
    LLVMBuildBr(builder, head)
    LLVMPositionBuilderAtEnd(builder, head)
    let index = LLVMBuildPhi(builder, module.i64Type, "index")!
    LLVMBuildCondBr(builder, LLVMBuildICmp(builder, LLVMIntSLT, index, length, ""), body, done)
    LLVMPositionBuilderAtEnd(builder, body)
    LLVMBuildStore(builder, index, LLVMBuildStructGEP2(builder, stepType, element, 2, ""))
    let value = module.loadElement(module.elementAddress(old, index, of: from), of: from)
    let converted = convert(value, from, to, at: element, conversion: conversion, in: function)
    module.storeElement(converted, of: to, at: module.elementAddress(new, index, of: to))
    let next = LLVMBuildAdd(builder, index, LLVMConstInt(module.i64Type, 1, 0), "")!
    let latch = LLVMGetInsertBlock(builder)!
    LLVMBuildBr(builder, head)
    var incoming: [LLVMValueRef?] = [LLVMConstInt(module.i64Type, 0, 0), next]
    var blocks: [LLVMBasicBlockRef?] = [entry, latch]
    LLVMAddIncoming(index, &incoming, &blocks, 2)
    LLVMPositionBuilderAtEnd(builder, done)
    return new
  }

  /// A new struct `to` from an old `from`: fields matched by name, the others from their
  /// defaults; what is dropped and held a value is reported.
  private func convertFields(
    _ old: LLVMValueRef, _ from: String, _ to: String, at parent: LLVMValueRef, key: String,
    in function: LLVMValueRef
  ) -> LLVMValueRef {
    let builder = module.builder
    let number = changes.conversionNumbers[key] ?? 0
    let conversion = constant(number)
    count(number)
    let before = module.program.structure(named: from).fields
    let after = module.program.structure(named: to).fields
    var result = LLVMGetUndef(module.llvmType(.structure(to)))!
    for (index, field) in after.enumerated() {
      let value: LLVMValueRef
      if let position = before.firstIndex(where: { $0.name == field.name }) {
        let oldType = before[position].type
        let oldValue = LLVMBuildExtractValue(builder, old, UInt32(position), "")!
        let place = step(parent: parent, field: field.name, index: nil, in: function)
        if ConversionTable.convertible(oldType, field.type) {
          value = convert(
            oldValue, oldType, field.type, at: place, conversion: conversion, in: function)
        } else {
          reportDropped(oldValue, oldType, at: place, conversion: conversion, in: function)
          value = ownedDefault(field, in: function)
        }
      } else {
        value = ownedDefault(field, in: function)
      }
      result = LLVMBuildInsertValue(builder, result, value, UInt32(index), "")!
    }
    for (position, field) in before.enumerated()
    where !after.contains(where: { $0.name == field.name }) {
      let oldValue = LLVMBuildExtractValue(builder, old, UInt32(position), "")!
      let place = step(parent: parent, field: field.name, index: nil, in: function)
      reportDropped(oldValue, field.type, at: place, conversion: conversion, in: function)
    }
    return result
  }

  /// Adds one to the values conversion `number` converted.
  private func count(_ number: Int) {
    let builder = module.builder
    var indices: [LLVMValueRef?] = [
      LLVMConstInt(module.i64Type, 0, 0), LLVMConstInt(module.i64Type, UInt64(number), 0),
    ]
    let counter = LLVMBuildGEP2(
      builder, LLVMGlobalGetValueType(values), values, &indices, 2, "")!
    let count = LLVMBuildLoad2(builder, module.i64Type, counter, "")!
    LLVMBuildStore(
      builder, LLVMBuildAdd(builder, count, LLVMConstInt(module.i64Type, 1, 0), ""), counter)
  }

  private func isStruct(_ type: IRType) -> Bool {
    if case .structure = type { return true }
    return false
  }

  /// A field's default, or its type's zero value (a struct's fields at their defaults).
  private func ownedDefault(_ field: IRStruct.Field, in function: LLVMValueRef) -> LLVMValueRef {
    if let expression = field.defaultValue,
      let value = FunctionEmitter.emitOwnedDefault(expression, module: module, in: function)
    {
      return value
    }
    return ownedZero(field.type, in: function)
  }

  private func ownedZero(_ type: IRType, in function: LLVMValueRef) -> LLVMValueRef {
    guard case .structure(let name) = type else { return module.immortalZeroValue(of: type) }
    var value = LLVMGetUndef(module.llvmType(type))!
    for (index, field) in module.program.structure(named: name).fields.enumerated() {
      value = LLVMBuildInsertValue(
        module.builder, value, ownedDefault(field, in: function), UInt32(index), "")!
    }
    return value
  }

  /// Reports `value`, of a field that is dropped, when it holds anything.
  private func reportDropped(
    _ value: LLVMValueRef, _ type: IRType, at step: LLVMValueRef, conversion: LLVMValueRef,
    in function: LLVMValueRef
  ) {
    report(
      if: nonZero(value, type), at: step, conversion: conversion, old: (value, type),
      new: (.dropped, LLVMConstInt(module.i64Type, 0, 0)), in: function)
  }

  private func nonZero(_ value: LLVMValueRef, _ type: IRType) -> LLVMValueRef {
    let builder = module.builder
    let zero = LLVMConstInt(module.i64Type, 0, 0)
    switch type {
    case .string:
      return LLVMBuildICmp(
        builder, LLVMIntNE, module.callRuntime("holo_string_len", [value]), zero, "")!
    case .array:
      return LLVMBuildICmp(builder, LLVMIntNE, module.arrayLength(value), zero, "")!
    case .structure(let name):
      var any = LLVMConstInt(module.boolType, 0, 0)!
      for (index, field) in module.program.structure(named: name).fields.enumerated() {
        let part = LLVMBuildExtractValue(builder, value, UInt32(index), "")!
        any = LLVMBuildOr(builder, any, nonZero(part, field.type), "")!
      }
      return any
    case .unit, .never:
      return LLVMConstInt(module.boolType, 0, 0)
    default:
      let zero = LLVMConstNull(module.llvmType(type))
      return type.isFloat
        ? LLVMBuildFCmp(builder, LLVMRealONE, value, zero, "")!
        : LLVMBuildICmp(builder, LLVMIntNE, value, zero, "")!
    }
  }

  /// When `condition`: tells the agent that the value at `step` lost information.
  private func report(
    if condition: LLVMValueRef, at step: LLVMValueRef, conversion: LLVMValueRef,
    old: (value: LLVMValueRef, type: IRType), new: (kind: DevABI.ValueKind, bits: LLVMValueRef),
    in function: LLVMValueRef
  ) {
    let builder = module.builder
    let reportBlock = LLVMAppendBasicBlockInContext(module.context, function, "lossy")
    let done = LLVMAppendBasicBlockInContext(module.context, function, "lossy.done")
    LLVMBuildCondBr(builder, condition, reportBlock, done)
    LLVMPositionBuilderAtEnd(builder, reportBlock)
    var parameters: [LLVMTypeRef?] = [
      module.pointerType, module.i32Type, module.i32Type, module.i64Type, module.i32Type,
      module.i64Type,
    ]
    let type = LLVMFunctionType(module.voidType, &parameters, 6, 0)!
    var arguments: [LLVMValueRef?] = [
      step, conversion, constant(Int(kind(old.type).rawValue)), bits(old.value, old.type),
      constant(Int(new.kind.rawValue)), new.bits,
    ]
    LLVMBuildCall2(builder, type, agentFunction(DevABI.Migration.lossy, type), &arguments, 6, "")
    LLVMBuildBr(builder, done)
    LLVMPositionBuilderAtEnd(builder, done)
  }

  private func kind(_ type: IRType) -> DevABI.ValueKind {
    switch type {
    case .bool: return .bool
    case .u8: return .u8
    case .i32: return .i32
    case .i64: return .i64
    case .u32: return .u32
    case .u64: return .u64
    case .f32: return .f32
    case .f64: return .f64
    case .string: return .string
    case .array: return .array
    case .structure, .unit, .never: return .structure
    }
  }

  private func bits(_ value: LLVMValueRef, _ type: IRType) -> LLVMValueRef {
    let builder = module.builder
    let i64 = module.i64Type
    switch type {
    case .bool, .u8, .u32: return LLVMBuildZExt(builder, value, i64, "")!
    case .i32: return LLVMBuildSExt(builder, value, i64, "")!
    case .i64, .u64: return value
    case .f32:
      return LLVMBuildBitCast(builder, LLVMBuildFPExt(builder, value, module.f64Type, ""), i64, "")!
    case .f64: return LLVMBuildBitCast(builder, value, i64, "")!
    case .string: return LLVMBuildPtrToInt(builder, value, i64, "")!
    case .array: return module.arrayLength(value)
    case .structure, .unit, .never: return LLVMConstInt(i64, 0, 0)
    }
  }

  /// A `holo_migration_step` on the stack of `function` (in its entry block, once).
  private func step(
    parent: LLVMValueRef?, field: String?, index: Int?, in function: LLVMValueRef
  ) -> LLVMValueRef {
    let entryBuilder = LLVMCreateBuilderInContext(module.context)!
    defer { LLVMDisposeBuilder(entryBuilder) }
    let entry = LLVMGetEntryBasicBlock(function)!
    if let first = LLVMGetFirstInstruction(entry) {
      LLVMPositionBuilderBefore(entryBuilder, first)
    } else {
      LLVMPositionBuilderAtEnd(entryBuilder, entry)
    }
    let step = LLVMBuildAlloca(entryBuilder, stepType, "step")!
    let builder = module.builder
    LLVMBuildStore(
      builder, parent ?? LLVMConstNull(module.pointerType),
      LLVMBuildStructGEP2(builder, stepType, step, 0, ""))
    LLVMBuildStore(
      builder, field.map(module.cString) ?? LLVMConstNull(module.pointerType),
      LLVMBuildStructGEP2(builder, stepType, step, 1, ""))
    LLVMBuildStore(
      builder, LLVMConstInt(module.i64Type, UInt64(index ?? 0), 0),
      LLVMBuildStructGEP2(builder, stepType, step, 2, ""))
    return step
  }

  private func constant(_ value: Int) -> LLVMValueRef {
    LLVMConstInt(module.i32Type, UInt64(value), 0)
  }

  private func agentFunction(_ name: String, _ type: LLVMTypeRef) -> LLVMValueRef {
    LLVMGetNamedFunction(module.module, name) ?? LLVMAddFunction(module.module, name, type)!
  }
}
