import HoloIR

/// The C header declaring a program's `export fn`s (`holoc build --emit header`).
public enum CHeader {
  /// The header text; `name` names the library (it forms the include guard).
  public static func generate(_ program: IRProgram, name: String) -> String {
    ""
  }
}
