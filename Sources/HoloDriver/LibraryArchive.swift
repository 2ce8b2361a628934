import Foundation

/// `holoc build --emit lib`: one static archive holding everything a C host links besides
/// libc and libm — the program's object, every runtime object and, in dev builds, the
/// patch agent — so `cc host.c libNAME.a -lm` is the whole link line.
///
/// In a dev library the runtime and the agent are one member: linking any of it links all
/// of the runtime, so a patch may call a runtime function the original code never used.
enum LibraryArchive {
  /// The symbols a C host may see from the runtime and the agent; the agent's other
  /// globals (`patch_apply`, `wire_send`, ...) are made local so they cannot collide with
  /// the host's.
  static let exportedSymbols = "holo_*"

  /// Writes the archive to `output` (replacing it atomically) from the program object
  /// `programObject`, the runtime archive and, when given, the agent archive.
  static func write(
    programObject: String, runtimeArchive: String, agentArchive: String?, to output: String,
    in directory: String, environment: [String: String]
  ) throws(DiagnosticsError) {
    let ar = try tool("ar", environment: environment, hint: "install binutils")
    var members = [programObject]
    let runtimeObjects = try extract(
      runtimeArchive, into: "\(directory)/runtime", prefix: "holo-rt-", ar: ar)
    if let agentArchive {
      let agentObjects = try extract(
        agentArchive, into: "\(directory)/agent", prefix: "holo-agent-", ar: ar)
      members.append(
        try combineHidingInternals(
          runtimeObjects + agentObjects, into: "\(directory)/holo-runtime-agent.o",
          environment: environment))
    } else {
      members += runtimeObjects
    }
    // Build next to the destination, then rename: a reader never sees half an archive.
    // (ar runs in `directory`, so the paths it gets must be absolute.)
    let output = URL(fileURLWithPath: output).path
    let temporary = "\(output).tmp-\(getpid())"
    try? FileManager.default.removeItem(atPath: temporary)
    try run(ar, ["rcs", temporary] + members, in: directory, what: "archiving the library")
    if rename(temporary, output) != 0 {
      let reason = String(cString: strerror(errno))
      try? FileManager.default.removeItem(atPath: temporary)
      throw DiagnosticsError(
        .cannotWriteOutput, "cannot write `\(output)`: \(reason)", about: output)
    }
  }

  /// Extracts every member of `archive` into the new folder `folder`; returns their paths,
  /// renamed with `prefix` so members of different archives cannot clash.
  private static func extract(
    _ archive: String, into folder: String, prefix: String, ar: String
  ) throws(DiagnosticsError) -> [String] {
    do {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    } catch {
      throw DiagnosticsError(
        .cannotWriteOutput, "cannot create a temporary folder: \(error.localizedDescription)")
    }
    try run(ar, ["x", archive], in: folder, what: "extracting `\(archive)`")
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
      .filter { $0.hasSuffix(".o") }.sorted()
    var paths: [String] = []
    for name in names {
      let renamed = "\(folder)/\(prefix)\(name)"
      guard rename("\(folder)/\(name)", renamed) == 0 else {
        throw DiagnosticsError(
          .cannotWriteOutput,
          "cannot rename `\(folder)/\(name)`: \(String(cString: strerror(errno)))")
      }
      paths.append(renamed)
    }
    return paths
  }

  /// Links `objects` into one relocatable object whose only global symbols are
  /// `holo_*`. Internal calls between the objects are resolved by then, so nothing breaks.
  private static func combineHidingInternals(
    _ objects: [String], into combined: String, environment: [String: String]
  ) throws(DiagnosticsError) -> String {
    let cc = try tool("cc", environment: environment, hint: "install a C compiler (gcc or clang)")
    let objcopy = try tool("objcopy", environment: environment, hint: "install binutils")
    let folder = URL(fileURLWithPath: combined).deletingLastPathComponent().path
    try run(
      cc, ["-r", "-nostdlib", "-o", combined] + objects, in: folder,
      what: "combining the runtime and agent objects")
    try run(
      objcopy, ["--wildcard", "--keep-global-symbol=\(exportedSymbols)", combined],
      in: folder, what: "hiding the agent's internal symbols")
    return combined
  }

  private static func tool(_ name: String, environment: [String: String], hint: String)
    throws(DiagnosticsError) -> String
  {
    guard let path = Subprocess.findExecutable(name, environment: environment) else {
      throw DiagnosticsError(.runtimeNotFound, "cannot find `\(name)`", hint: hint)
    }
    return path
  }

  private static func run(_ tool: String, _ arguments: [String], in directory: String, what: String)
    throws(DiagnosticsError)
  {
    let termination: Subprocess.Termination
    let output: String
    do throws(SpawnError) {
      (termination, output) = try Subprocess.capture(tool, arguments, currentDirectory: directory)
    } catch {
      throw DiagnosticsError(.linkFailed, "\(what) failed: \(error)")
    }
    guard termination == .exited(0) else {
      throw DiagnosticsError(
        .linkFailed, "\(what) failed:\n\(output.trimmingCharacters(in: .newlines))")
    }
  }
}
