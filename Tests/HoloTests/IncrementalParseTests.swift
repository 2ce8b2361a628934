import Foundation
import HoloCodegen
import HoloIR
import HoloSema
import HoloSource
import XCTest

/// Re-parsing only the items an edit touched: the database that parsed a file item by
/// item over a series of edits holds the same program, spans and diagnostics as one that
/// parsed each text whole.
final class IncrementalParseTests: XCTestCase {
  private static func function(_ index: Int, returning value: Int) -> String {
    "fn f\(index)(x: i64) -> i64 {\n  let y = x + \(value);\n  if y > 3 { y } else { f\(max(index - 1, 0))(y) }\n}\n"
  }

  private static func program(_ values: [Int]) -> String {
    "fn main() {\n  println(f0(1));\n}\n\n"
      + values.enumerated().map { function($0.offset, returning: $0.element) }.joined(
        separator: "\n")
  }

  func testABodyEditParsesThatItemOnly() {
    let database = ProgramDatabase(rootPath: "main.holo")
    var values = Array(repeating: 1, count: 40)
    database.apply([.text(path: "main.holo", Self.program(values))])
    XCTAssertEqual(database.lastUpdate.parsedItems, 41)
    values[20] = 12345
    database.apply([.text(path: "main.holo", Self.program(values))])
    XCTAssertEqual(database.lastUpdate.parsedItems, 1)
    XCTAssertEqual(database.lastUpdate.checkedBodies, ["f20"])
    // f21 onwards moved by four bytes and were neither parsed nor checked.
    XCTAssertEqual(database.lastUpdate.movedBodies.count, 19)
    XCTAssertNotNil(database.snapshot().program)
  }

  func testAnOpenedCommentParsesTheFileWhole() {
    let database = ProgramDatabase(rootPath: "main.holo")
    let text = Self.program(Array(repeating: 1, count: 10))
    database.apply([.text(path: "main.holo", text)])
    let position = text.range(of: "fn f5")!.lowerBound
    database.apply([
      .text(path: "main.holo", text.replacingCharacters(in: position..<position, with: "/* "))
    ])
    // Parsed whole: `main` and f0 to f4; the rest of the file is the comment.
    XCTAssertEqual(database.lastUpdate.parsedItems, 6)
    XCTAssertTrue(database.snapshot().diagnostics.contains { $0.message.contains("unterminated") })
  }

  /// Seeded random edits: body edits, functions inserted and removed, comments and blank
  /// lines, syntax errors and their fixes, items joined on one line, a signature change. After each, the
  /// program (as LLVM IR with debug locations, which holds every span's line and column)
  /// and the diagnostics equal those of a database that parsed the text whole.
  func testRandomEditsGiveWhatAWholeParseGives() throws {
    var generator = SplitMix(seed: 7)
    var values = Array(repeating: 1, count: 12)
    var text = Self.program(values)
    let incremental = ProgramDatabase(rootPath: "main.holo")
    incremental.apply([.text(path: "main.holo", text)])
    var partial = 0
    for step in 0..<300 {
      switch generator.next(below: 9) {
      case 0:
        values[generator.next(below: values.count)] = generator.next(below: 1000)
        text = Self.program(values)
      case 1:
        values.insert(generator.next(below: 100), at: generator.next(below: values.count))
        text = Self.program(values)
      case 2 where values.count > 2:
        values.remove(at: values.count - 1)
        text = Self.program(values)
      case 3:
        text = Self.insert("\n// note \(step)\n", into: text, &generator)
      case 4:
        text = Self.insert("(", into: text, &generator)
      case 5:
        text = Self.insert("fn extra\(step)() -> i64 { \(step) } ", into: text, &generator)
      case 6:
        text = text.replacingOccurrences(of: "}\n\nfn", with: "} fn")
      case 7:
        // f0's signature changes: its callers after it, moved by the edit, are checked
        // again from their text parsed again (and report type errors).
        text = text.replacingOccurrences(of: "fn f0(x: i64)", with: "fn f0(value: i32)")
      default:
        text = Self.program(values)
      }
      incremental.apply([.text(path: "main.holo", text)])
      partial += incremental.lastUpdate.parsedItems < 5 ? 1 : 0
      let whole = ProgramDatabase(rootPath: "main.holo")
      whole.apply([.text(path: "main.holo", text)])
      let (got, expected) = (incremental.snapshot(), whole.snapshot())
      XCTAssertEqual(
        got.diagnostics.map { String(describing: $0) },
        expected.diagnostics.map { String(describing: $0) },
        "step \(step)\n\(text)")
      XCTAssertEqual(
        try Self.llvmIR(got, incremental.sources), try Self.llvmIR(expected, whole.sources),
        "step \(step)\n\(text)")
    }
    XCTAssertGreaterThan(partial, 100, "most edits were parsed item by item")
  }

  /// `insertion` at a random line start of `text`.
  private static func insert(_ insertion: String, into text: String, _ generator: inout SplitMix)
    -> String
  {
    let lineStarts =
      [text.startIndex]
      + text.indices.filter { text[$0] == "\n" }.map {
        text.index(after: $0)
      }
    let position = lineStarts[generator.next(below: lineStarts.count)]
    return text.replacingCharacters(in: position..<position, with: insertion)
  }

  /// Seeded random edits across three files that call each other: body edits, signature
  /// changes seen by callers in other files, functions renamed, swapped, moved to another
  /// file, errors and their fixes, an import removed and restored. After each, the
  /// database that kept its namespace and bodies from edit to edit holds what a fresh one
  /// holds (LLVM IR with debug locations, and diagnostics).
  func testRandomEditsAcrossFilesGiveWhatAFreshDatabaseGives() throws {
    var generator = SplitMix(seed: 11)
    // files[f] holds functions by name; each calls one in the next file.
    var files: [[(name: String, body: String)]] = (0..<3).map { file in
      (0..<6).map { index in
        ("f\(file)_\(index)", "x + \(index)")
      }
    }
    // Whether each file's first function (the one the file before calls) takes an i32:
    // its callers, in another file, call it with a literal either way, so their IR
    // changes only if they are checked again.
    var firstTakesI32 = [false, false, false]
    var importsB = true
    var brokenBody: (file: Int, index: Int, body: String)?
    func text(_ file: Int) -> String {
      let next = (file + 1) % 3
      var lines: [String] = []
      if file == 0 {
        let first = files[0].first?.name ?? "missing"
        lines += [importsB ? "import b;" : "", "import c;", "fn main() { println(\(first)(1)); }"]
      }
      if file == 1 { lines.append("import c;") }
      for (position, function) in files[file].enumerated() {
        let callee = files[next].first?.name ?? "missing"
        let call = position == 0 ? " + \(callee)(1)" : ""
        if position == 0 && firstTakesI32[file] {
          lines.append(
            "fn \(function.name)(v: i32) -> i64 { let x = v as i64; \(function.body)\(call) }")
        } else {
          lines.append("fn \(function.name)(x: i64) -> i64 { \(function.body)\(call) }")
        }
      }
      return lines.joined(separator: "\n") + "\n"
    }
    let paths = ["main.holo", "b.holo", "c.holo"]
    let incremental = ProgramDatabase(rootPath: "main.holo")
    incremental.apply((0..<3).map { .text(path: paths[$0], text($0)) })
    var (programs, namespaceKept) = (0, 0)
    for step in 0..<200 {
      let before = incremental.snapshot().number
      let file = generator.next(below: 3)
      let index = generator.next(below: max(files[file].count, 1))
      // An error made in one step is fixed in the next, so most steps have a program.
      if let broken = brokenBody, broken.file < 3, broken.index < files[broken.file].count {
        files[broken.file][broken.index].body = broken.body
        brokenBody = nil
      } else if !importsB {
        importsB = true
      } else {
        switch generator.next(below: 8) {
        case 0 where !files[file].isEmpty: files[file][index].body = "x * \(step)"
        case 1: firstTakesI32[file].toggle()
        case 2 where !files[file].isEmpty: files[file][index].name += "r"
        case 3 where files[file].count > 1: files[file].swapAt(0, files[file].count - 1)
        case 4 where files[file].count > 1:
          files[(file + 1) % 3].append(files[file].remove(at: index))
        case 5 where !files[file].isEmpty:
          brokenBody = (file, index, files[file][index].body)
          files[file][index].body = "x + true"
        case 6: importsB = false
        default:
          for position in files[file].indices { files[file][position].body = "x + \(position)" }
        }
      }
      let texts = (0..<3).map { SourceChange.text(path: paths[$0], text($0)) }
      incremental.apply(texts)
      let fresh = ProgramDatabase(rootPath: "main.holo")
      fresh.apply(texts)
      let (got, expected) = (incremental.snapshot(), fresh.snapshot())
      programs += got.program == nil ? 0 : 1
      namespaceKept += incremental.changedFunctions(since: before) == nil ? 0 : 1
      let shown = (0..<3).map(text).joined(separator: "-----\n")
      XCTAssertEqual(
        got.diagnostics.map { String(describing: $0) },
        expected.diagnostics.map { String(describing: $0) }, "step \(step)\n\(shown)")
      XCTAssertEqual(
        try Self.llvmIR(got, incremental.sources), try Self.llvmIR(expected, fresh.sources),
        "step \(step)\n\(shown)")
    }
    XCTAssertGreaterThan(programs, 120, "most steps have a program")
    XCTAssertGreaterThan(namespaceKept, 60, "many steps keep the namespace")
  }

  /// Bodies checked on several threads give what one thread gives: the same IR, the
  /// same diagnostics, the same order of checks and revisions.
  func testBodiesCheckedOnWorkerThreadsGiveWhatOneThreadGives() throws {
    let values = (0..<1500).map { $0 % 7 }
    let source = Self.program(values)
      .replacingOccurrences(
        of: "f700(x: i64) -> i64 {\n  let y = x + 0;",
        with: "f700(x: i64) -> i64 {\n  let y = x + true;")
    for text in [Self.program(values), source] {
      let (parallel, serial) = Self.analysedOnWorkersAndAlone(text)
      let (a, b) = (parallel.snapshot(), serial.snapshot())
      XCTAssertEqual(a.diagnostics, b.diagnostics)
      XCTAssertEqual(parallel.lastUpdate, serial.lastUpdate)
      XCTAssertEqual(a.program?.functions.map(\.revision), b.program?.functions.map(\.revision))
      XCTAssertEqual(try Self.llvmIR(a, parallel.sources), try Self.llvmIR(b, serial.sources))
    }
  }

  /// A large file is parsed in pieces on the workers: what comes out is what one whole
  /// parse gives, also when a cut falls inside a comment, a string or a broken item (then
  /// the file is parsed whole).
  func testALargeFileParsedInPiecesGivesWhatAWholeParseGives() throws {
    let base = Self.program((0..<4000).map { $0 % 7 })
    XCTAssertGreaterThan(base.utf8.count, 300_000, "two pieces or more")
    let variants = [
      base,
      base.replacingOccurrences(of: "fn f1000(", with: "/* opened\nfn f1000(")
        .replacingOccurrences(of: "fn f2500(", with: "*/\nfn f2500("),
      base.replacingOccurrences(of: "fn f2000(", with: "fn f2000(\"a\nfn g() {}\n\", "),
      base.replacingOccurrences(
        of: "fn f3500(x: i64) -> i64 {", with: "fn f3500(x: i64) -> i64 {{"),
      base + "fn broken( {\n",
    ]
    for (index, text) in variants.enumerated() {
      let (pieces, whole) = Self.analysedOnWorkersAndAlone(text)
      let (a, b) = (pieces.snapshot(), whole.snapshot())
      XCTAssertEqual(a.diagnostics, b.diagnostics, "variant \(index)")
      XCTAssertEqual(pieces.lastUpdate, whole.lastUpdate, "variant \(index)")
      let describe = { (analysis: Analysis) in
        analysis.program?.functions.map { "\($0.name) \($0.span) \($0.extent)" } ?? []
      }
      XCTAssertEqual(describe(a), describe(b), "variant \(index)")
      XCTAssertEqual(a.program == nil, index != 0, "variant \(index)")
    }
  }

  /// Two databases that analysed `text` as main.holo: one with workers, one without.
  private static func analysedOnWorkersAndAlone(_ text: String) -> (
    ProgramDatabase, ProgramDatabase
  ) {
    let workers: ProgramDatabase.Workers = { count, worker in
      DispatchQueue.concurrentPerform(iterations: count) { _ in worker() }
    }
    let databases = (
      ProgramDatabase(rootPath: "main.holo", workers: workers),
      ProgramDatabase(rootPath: "main.holo")
    )
    databases.0.apply([.text(path: "main.holo", text)])
    databases.1.apply([.text(path: "main.holo", text)])
    return databases
  }

  private static func llvmIR(_ analysis: Analysis, _ sources: SourceManager) throws -> String {
    guard let program = analysis.program else { return "no program" }
    let bytes = try Codegen.generate(
      program, sources: sources,
      options: CodegenOptions(mode: .dev, optimizationLevel: 0, entry: .program),
      emit: .llvmIR)
    return String(decoding: bytes, as: UTF8.self)
  }
}

/// A small seeded generator, so every run makes the same edits.
struct SplitMix {
  private var state: UInt64
  init(seed: UInt64) { state = seed }

  mutating func next(below bound: Int) -> Int {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return Int((z ^ (z >> 31)) % UInt64(bound))
  }
}
