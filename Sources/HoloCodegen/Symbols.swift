import HoloDevABI
import HoloIR

/// The symbol names of holo functions and of the dev build's slots and line-base cells,
/// named by HoloDevABI's rules (docs/PATCHING.md) from a function's IR.
public enum Symbols {
  /// A function's identity for patching: its name and signature, `add(i64,i64)->i64`, its
  /// struct types spelled with their layouts (`move(Enemy#0f3a…)->()`), so a function
  /// handling a struct whose layout changed is a new function with a slot of its own.
  public static func key(of function: IRFunction, in program: IRProgram) -> String {
    DevSymbols.key(
      name: function.name, parameterTypes: function.parameterTypes.map(program.spelling(of:)),
      resultType: program.spelling(of: function.returnType))
  }

  /// The slot through which dev code calls the function: `holo.slot.add(i64,i64)->i64`.
  public static func slot(of function: IRFunction, in program: IRProgram) -> String {
    DevSymbols.slot(key: key(of: function, in: program))
  }

  /// The 8-byte cell holding the line where a dev-built function starts, which the
  /// function's source locations are relative to: `holo.line.add(i64,i64)->i64`. Keyed like
  /// the slot, so every version of the function shares it.
  public static func lineBase(of function: IRFunction, in program: IRProgram) -> String {
    DevSymbols.lineBase(key: key(of: function, in: program))
  }

  /// Version `version` of a dev-built function: 0 in the executable, N in the N-th patch.
  public static func version(_ version: Int, of function: IRFunction, in program: IRProgram)
    -> String
  {
    DevSymbols.version(version, key: key(of: function, in: program))
  }

  /// The function table (`holo_function_table`) of the patch that defines version
  /// `version` of its functions: `holo.functions#3`.
  public static func functionTable(ofPatch version: Int) -> String {
    DevSymbols.functionTable(ofPatch: version)
  }

  /// A global's storage: `holo.global.score:i64`, `holo.global.world:World#0f3a…`: new
  /// storage whenever the layout of the value it holds changes.
  public static func global(_ global: IRGlobal, in program: IRProgram) -> String {
    DevSymbols.global(name: global.name, type: program.spelling(of: global.type))
  }

  /// The safepoint function of the patch of version `version`.
  static func safepointFunction(ofPatch version: Int) -> String {
    DevSymbols.safepointFunction(ofPatch: version)
  }

  /// The landing pads' personality in the patch of version `version` (module-local; see
  /// `ModuleEmitter.cleanupPersonality`).
  static func personality(ofPatch version: Int) -> String {
    "holo.personality#\(version)"
  }

  /// A release-built function. An `export fn` gets a C entry point under its plain name too.
  public static func release(of function: IRFunction) -> String {
    DevSymbols.release(name: function.name)
  }
}
