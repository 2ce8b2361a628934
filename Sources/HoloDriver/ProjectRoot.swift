import Foundation
import HoloSource

/// The `PATH` argument of a command resolved to the program's root file.
struct ProjectRoot: Equatable {
  /// The root file as given to semantic analysis (and shown in diagnostics).
  var file: String
  /// The stem of default output names: the root file's stem, or the folder's name when
  /// `PATH` is a folder.
  var name: String

  /// A `.holo` file, or a folder holding `main.holo`.
  static func resolve(_ path: String) throws(DiagnosticsError) -> ProjectRoot {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw DiagnosticsError(.fileNotFound, "no such file or folder `\(path)`", about: path)
    }
    guard isDirectory.boolValue else {
      return ProjectRoot(
        file: path, name: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)
    }
    let file = path == "." ? "main.holo" : (path.hasSuffix("/") ? path : path + "/") + "main.holo"
    var fileIsDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: file, isDirectory: &fileIsDirectory),
      !fileIsDirectory.boolValue
    else {
      throw DiagnosticsError(
        .rootNotFound, "no `main.holo` in folder `\(path)`", about: file,
        hint: "pass the program's root `.holo` file, or create `\(file)`")
    }
    let folderName = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
      .lastPathComponent
    return ProjectRoot(
      file: file, name: folderName.isEmpty || folderName == "/" ? "main" : folderName)
  }

  func defaultOutput(_ kind: OutputKind) -> String {
    switch kind {
    case .executable: return name
    case .object: return name + ".o"
    case .assembly: return name + ".s"
    case .llvmIR: return name + ".ll"
    case .library: return "lib" + name + ".a"
    case .header: return name + ".h"
    }
  }

  /// A file name without its folder and extension, and without the `lib` of a library
  /// (`out/libgame.a` → `game`).
  static func stem(of path: String) -> String {
    let url = URL(fileURLWithPath: path)
    let stem = url.deletingPathExtension().lastPathComponent
    guard url.pathExtension == "a", stem.hasPrefix("lib"), stem.count > 3 else { return stem }
    return String(stem.dropFirst(3))
  }
}
