import Foundation
import HoloCache
import HoloCodegen

/// What identifies the compiler in cache keys: the SHA-256 of the holoc executable (its
/// version number does not change with every fix, its bytes do) and the LLVM library it
/// runs with. An entry made by another build of holoc is never used.
enum CompilerIdentity {
  static let parts: [(label: String, value: String)] = {
    let executable = RuntimeLibrary.currentExecutablePath().flatMap {
      FileManager.default.contents(atPath: $0)
    }
    // Without its own bytes holoc cannot tell its builds apart: no entry will match.
    let digest = executable.map { ContentDigest(of: [UInt8]($0)).hex } ?? UUID().uuidString
    return [("holoc", "\(holocVersion) \(digest)"), ("llvm", Codegen.llvmVersion)]
  }()
}
