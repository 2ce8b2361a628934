import Foundation
import HoloCache
import HoloCodegen

/// What identifies the compiler in cache keys: the SHA-256 of the holoc executable (its
/// version number does not change with every fix, its bytes do) and the LLVM library it
/// runs with. An entry made by another build of holoc is never used.
enum CompilerIdentity {
  static let parts: [(label: String, value: String)] = {
    let memos =
      BuildCache.directory(environment: ProcessInfo.processInfo.environment) + "/compilers"
    // Without its own bytes holoc cannot tell its builds apart: no entry will match.
    let holoc =
      RuntimeLibrary.currentExecutablePath().flatMap { digest(ofExecutable: $0, memos: memos) }
      ?? UUID().uuidString
    return [("holoc", "\(holocVersion) \(holoc)"), ("llvm", Codegen.llvmVersion)]
  }()

  /// The SHA-256 (hex) of the file at `path`, remembered in the folder `memos` under the
  /// file's identity (device, inode, size, modification and change times), as ccache
  /// checks a compiler: hashing a 20 MB holoc costs 40 ms, every command. A rebuilt holoc
  /// is a new file, or the same one with new times, so it is hashed again.
  static func digest(ofExecutable path: String, memos: String) -> String? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    let memo =
      "\(memos)/\(info.st_dev)-\(info.st_ino)-\(info.st_size)"
      + "-\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)-\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
    if let known = try? String(contentsOfFile: memo, encoding: .utf8),
      ContentDigest(hex: known) != nil
    {
      return known
    }
    guard let bytes = FileManager.default.contents(atPath: path) else { return nil }
    let digest = ContentDigest(of: [UInt8](bytes)).hex
    // Only ever saves time: a memo that cannot be written is no failure.
    try? FileManager.default.createDirectory(atPath: memos, withIntermediateDirectories: true)
    try? digest.write(toFile: memo, atomically: true, encoding: .utf8)
    return digest
  }
}
