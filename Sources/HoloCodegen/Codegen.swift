import CLLVM
import HoloIR
import HoloSource

public struct CodegenOptions: Sendable {
  public enum Mode: Sendable {
    /// Debuggable build (`holoc build`); the patch table comes with the dev-mode issue.
    case dev
    /// Direct calls, full optimisation, nothing of the dev machinery.
    case release
  }

  /// What the generated C `main` does.
  public enum Entry: Sendable {
    /// Runs the program's entry function through `holo_main`.
    case program
    /// Dispatches to the `#[test]` functions through `holo_test_main`.
    case tests
    /// No `main` (an object or library for a C host).
    case none
  }

  public var mode: Mode
  public var optimizationLevel: Int
  /// nil: a portable x86-64 baseline; "native": this machine's CPU; else an LLVM CPU name.
  public var targetCPU: String?
  public var entry: Entry

  public init(mode: Mode, optimizationLevel: Int, targetCPU: String? = nil, entry: Entry) {
    self.mode = mode
    self.optimizationLevel = optimizationLevel
    self.targetCPU = targetCPU
    self.entry = entry
  }
}

public enum EmitKind: Sendable {
  case object
  case assembly
  case llvmIR
}

public struct CodegenError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

public enum Codegen {
  /// Compiles a checked program to an object file, assembly or LLVM IR text, in memory.
  public static func generate(
    _ program: IRProgram, sources: SourceManager, options: CodegenOptions, emit: EmitKind
  ) throws -> [UInt8] {
    throw CodegenError("not implemented")
  }
}
