/// The symbol names of the dev calling convention (docs/PATCHING.md): a function's *key*
/// is its name and signature, `add(i64,i64)->i64`, and its slot, line-base cell and
/// versions are named from the key. The agent refuses a patch whose names break these
/// rules, so the daemon must build every name here.
public enum DevSymbols {
  /// Every holo symbol starts so; no C identifier contains a dot, so none collides with C.
  public static let functionPrefix = "holo."
  /// A slot: the pointer through which dev code calls the current version of a function.
  public static let slotPrefix = "holo.slot."
  /// A line-base cell: the 8-byte line where a function starts, shared by its versions.
  public static let lineBasePrefix = "holo.line."
  /// Separates a function's key from its version number.
  public static let versionSeparator: Character = "#"
  /// A patch object's `holo_function_table`, followed by the patch's version.
  public static let functionTablePrefix = "holo.functions#"
  /// A global's storage, followed by its name and type.
  public static let globalPrefix = "holo.global."
  /// A patch's safepoint function, followed by the patch's id: on the main thread at the
  /// safepoint, it initialises the globals the patch adds, releases those it removes and
  /// runs again the initializers of those `holoc reset` names.
  public static let safepointFunctionPrefix = "holo.safepoint#"
  /// Defined by a dev build's glue (docs/PATCHING.md, "Safepoints"): the `i32` dev code
  /// polls at loop heads and `export fn` entry points, which the agent raises to ask for a
  /// cooperative safepoint; the function it then calls; and the pointer to the agent's
  /// handler that function runs (null without an agent).
  public static let safepointRequested = "holo.safepoint.requested"
  public static let safepointPoll = "holo.safepoint.poll"
  public static let safepointHandler = "holo.safepoint.handler"

  /// The key of a function with these holo type names: `add(i64,i64)->i64`.
  public static func key(name: String, parameterTypes: [String], resultType: String) -> String {
    "\(name)(\(parameterTypes.joined(separator: ",")))->\(resultType)"
  }

  /// `holo.slot.KEY`.
  public static func slot(key: String) -> String { slotPrefix + key }

  /// `holo.line.KEY`.
  public static func lineBase(key: String) -> String { lineBasePrefix + key }

  /// `holo.KEY#N`: version 0 is in the executable, N ≥ 1 in the N-th patch changing it.
  public static func version(_ version: Int, key: String) -> String {
    "\(functionPrefix)\(key)\(versionSeparator)\(version)"
  }

  /// `holo.functions#N`, the function table of the patch that defines version N.
  public static func functionTable(ofPatch version: Int) -> String {
    "\(functionTablePrefix)\(version)"
  }

  /// `holo.safepoint#N`, the safepoint function of patch N.
  public static func safepointFunction(ofPatch version: Int) -> String {
    "\(safepointFunctionPrefix)\(version)"
  }

  /// `holo.global.NAME:TYPE`: a global's storage, defined by the executable. The type is
  /// part of the name, so code compiled for one type of a global never finds storage of
  /// another (docs/PATCHING.md, "Globals").
  public static func global(name: String, type: String) -> String {
    "\(globalPrefix)\(name):\(type)"
  }

  /// `holo.NAME`: a release-built function, called directly.
  public static func release(name: String) -> String { functionPrefix + name }

  /// The key of a slot name, nil when `symbol` is not `holo.slot.` and a non-empty key.
  public static func key(ofSlot symbol: String) -> String? { key(of: symbol, after: slotPrefix) }

  /// The function name a key starts with: `add` of `add(i64,i64)->i64`.
  public static func functionName(ofKey key: String) -> String {
    String(key.prefix { $0 != "(" })
  }

  private static func key(of symbol: String, after prefix: String) -> String? {
    guard symbol.hasPrefix(prefix), symbol.count > prefix.count else { return nil }
    return String(symbol.dropFirst(prefix.count))
  }
}
