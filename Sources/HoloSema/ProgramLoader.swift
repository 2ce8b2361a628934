import Foundation
import HoloSource
import HoloSyntax

/// A parsed file of the program.
struct LoadedFile {
  var source: SourceFile
  var syntax: FileSyntax
  /// The canonical absolute path, used to load each file once.
  var canonicalPath: String
}

/// Loads the root file and, transitively, every file it imports (LANGUAGE.md §3).
/// `import a.b;` names `a/b.holo` relative to the importing file's folder. Each file is
/// loaded once, so import cycles are harmless.
struct ProgramLoader {
  let sources: SourceManager
  let cache: ParseCache?
  private(set) var files: [LoadedFile] = []
  private(set) var diagnostics = DiagnosticBag()
  /// The path every `import` names, whether or not a file is there.
  private(set) var importPaths: [String] = []
  private var loadedPaths: Set<String> = []

  init(sources: SourceManager, cache: ParseCache?) {
    self.sources = sources
    self.cache = cache
  }

  mutating func load(rootPath: String) {
    guard let text = Self.read(rootPath) else {
      diagnostics.add(
        Diagnostic(.fileNotFound, "cannot read `\(rootPath)`: no such file", about: rootPath))
      return
    }
    var queue = [(displayPath: rootPath, text: text)]
    loadedPaths.insert(Self.canonical(rootPath))
    while !queue.isEmpty {
      let (displayPath, text) = queue.removeFirst()
      let source = sources.update(path: displayPath, text: text)
      let (syntax, parseDiagnostics) = cache?.parse(source) ?? Parser.parse(source)
      diagnostics.append(contentsOf: parseDiagnostics)
      files.append(
        LoadedFile(source: source, syntax: syntax, canonicalPath: Self.canonical(displayPath)))
      let folder = (displayPath as NSString).deletingLastPathComponent
      for case .importDecl(let decl) in syntax.items {
        let relative = decl.path.map(\.name).joined(separator: "/") + ".holo"
        let importedPath = Self.join(folder, relative)
        importPaths.append(importedPath)
        let canonicalPath = Self.canonical(importedPath)
        if loadedPaths.contains(canonicalPath) { continue }
        guard let importedText = Self.read(importedPath) else {
          diagnostics.error(
            .importNotFound, "cannot find `\(relative)` to import",
            at: decl.span,
            labels: [Label(decl.span, "no file at `\(importedPath)`")])
          continue
        }
        loadedPaths.insert(canonicalPath)
        queue.append((importedPath, importedText))
      }
    }
  }

  private static func read(_ path: String) -> String? {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
      !isDirectory.boolValue,
      let data = FileManager.default.contents(atPath: path)
    else { return nil }
    return String(decoding: data, as: UTF8.self)
  }

  private static func join(_ folder: String, _ relative: String) -> String {
    if folder.isEmpty || folder == "." { return relative }
    return folder + "/" + relative
  }

  private static func canonical(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
  }
}

/// Keeps each file's syntax tree while its text is unchanged, so that re-analysing a
/// program after an edit re-parses only the files that changed. Use it with one
/// long-lived `SourceManager`.
public final class ParseCache: @unchecked Sendable {
  private var entries:
    [FileID: (source: SourceFile, syntax: FileSyntax, diagnostics: [Diagnostic])] =
      [:]
  private let lock = NSLock()

  public init() {}

  func parse(_ source: SourceFile) -> (FileSyntax, [Diagnostic]) {
    lock.lock()
    defer { lock.unlock() }
    if let entry = entries[source.id], entry.source === source {
      return (entry.syntax, entry.diagnostics)
    }
    let (syntax, diagnostics) = Parser.parse(source)
    entries[source.id] = (source, syntax, diagnostics)
    return (syntax, diagnostics)
  }
}
