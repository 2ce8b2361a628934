import Foundation
import HoloCodegen
import HoloIR
import HoloSema
import HoloSource
import XCTest

/// Dev builds in chunks, driven through the real holoc: each chunk's object is cached on
/// its own, so an edit generates only the chunk holding it again, and a program built in
/// chunks behaves as the same program built whole.
final class DevChunkTests: XCTestCase {
  private var project: CachedProject!

  override func setUpWithError() throws {
    project = try CachedProject(named: "dev-chunks")
  }

  override func tearDown() {
    project.remove()
  }

  /// `count` functions `PREFIX_i(x) = x + i`, one per line.
  private static func functions(_ prefix: String, count: Int) -> String {
    (0..<count).map { "fn \(prefix)_\($0)(x: i64) -> i64 { x + \($0) }\n" }.joined()
  }

  /// The files of the cache's store of `kind` (`ac` or `cas`).
  private func entries(_ kind: String) -> Set<String> {
    let root = "\(project.path)/cache/\(kind)"
    let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
    return Set(files.filter { $0.contains("/") }.map { "\(root)/\($0)" })
  }

  /// The program at `root` of the project, analysed, with its sources.
  private func analyze(_ root: String) throws -> (IRProgram, SourceManager) {
    let sources = SourceManager()
    let analysis = Sema.analyze(rootPath: "\(project.path)/\(root)", sources: sources)
    return (try XCTUnwrap(analysis.program, "\(analysis.diagnostics)"), sources)
  }

  private func runExecutable(_ name: String) throws -> CapturedOutput {
    try runCapturingOutput(
      "\(project.path)/\(name)", [], environment: ProcessInfo.processInfo.environment)
  }

  func testEditingOneFunctionGeneratesOnlyTheChunkHoldingIt() throws {
    try project.write(
      "import a;\nimport b;\nfn main() { println(a_5(1) + b_100(1)); }\n", to: "main.holo")
    try project.write(Self.functions("a", count: 200), to: "a.holo")
    try project.write(Self.functions("b", count: 200), to: "b.holo")
    let (program, _) = try analyze("main.holo")
    let chunks = CodeChunk.partition(program)
    XCTAssertGreaterThan(chunks.count, 4, "the test needs several chunks per file")

    // `holoc run`, whose only cache entries are the objects and the body records
    // (`holoc build` also records its output under the files it read).
    var run = try project.holoc(["run", "main.holo"])
    XCTAssertEqual(run.stdout, "107\n", run.stderr)
    XCTAssertEqual(entries("ac").count, chunks.count + 2, "every chunk, the glue, the records")

    let blobsBefore = entries("cas")
    let actionsBefore = entries("ac")
    let edited = Self.functions("b", count: 200).replacingOccurrences(
      of: "fn b_100(x: i64) -> i64 { x + 100 }", with: "fn b_100(x: i64) -> i64 { x * 1000 }")
    try project.write(edited, to: "b.holo")
    run = try project.holoc(["run", "main.holo"])
    XCTAssertEqual(run.stdout, "1006\n", run.stderr)

    // One new object, the edited chunk's: the other chunks and the glue (which holds no
    // code) came from the cache. (The records entry is the same action with a new blob.)
    XCTAssertEqual(entries("ac").subtracting(actionsBefore).count, 1)
    let newBlobs = try entries("cas").subtracting(blobsBefore).map {
      try Data(contentsOf: URL(fileURLWithPath: $0))
    }
    XCTAssertEqual(newBlobs.count, 2)
    let objects = newBlobs.filter { $0.range(of: Data("HOLOREC1".utf8)) == nil }
    XCTAssertEqual(objects.count, 1)
    let object = try XCTUnwrap(objects.first)
    let edit = try XCTUnwrap(program.functions.first { $0.name == "b_100" })
    let editedChunk = try XCTUnwrap(chunks.first { $0.functions.contains(edit.id) })
    for function in program.functions {
      let symbol = Data(Symbols.version(0, of: function, in: program).utf8)
      XCTAssertEqual(
        object.range(of: symbol) != nil, editedChunk.functions.contains(function.id),
        "\(function.name) is in the new object exactly when it is in the edited chunk")
    }
  }

  func testTestExecutablesShareTheProgramsChunks() throws {
    try project.write(
      "fn main() { println(a_1(1)); }\n#[test] fn one() { assert(a_1(1) == 2) }\n"
        + Self.functions("a", count: 300), to: "main.holo")
    let (program, _) = try analyze("main.holo")
    XCTAssertEqual(try project.holoc(["run", "main.holo"]).stdout, "2\n")
    // Every chunk, the glue and the body records.
    XCTAssertEqual(entries("ac").count, CodeChunk.partition(program).count + 2)
    let tests = try project.holoc(["test", "main.holo"])
    XCTAssertTrue(tests.stdout.hasSuffix("1 passed, 0 failed\n"), tests.stdout)
    // The test executable's glue, and the test's cached result: a chunk holds no `main`.
    XCTAssertEqual(entries("ac").count, CodeChunk.partition(program).count + 4)
  }

  /// The agent resolves a patch's names in the executable's symbol table: slots,
  /// line-base cells and the runtime are global there; version 0 of each function, reached
  /// only through its slot, is local. Nothing is in a dynamic symbol table (no -rdynamic).
  func testADevExecutableHasGlobalSlotsAndCellsButLocalFunctionBodies() throws {
    try project.write(
      Self.functions("a", count: 3) + "fn main() { println(a_2(1)); }\n", to: "main.holo")
    let build = try project.holoc(["build", "-o", "main.exe", "main.holo"])
    XCTAssertEqual(build.status, 0, build.stderr)
    XCTAssertEqual(try runExecutable("main.exe").stdout, "3\n")
    func definedSymbols(_ options: [String]) throws -> (globals: Set<String>, all: String) {
      let nm = try runCapturingOutput(
        "/usr/bin/env", ["nm", "--defined-only"] + options + ["\(project.path)/main.exe"],
        environment: ProcessInfo.processInfo.environment)
      // "ADDRESS TYPE NAME": an upper-case type is a global symbol.
      let globals = nm.stdout.split(separator: "\n").compactMap { line -> String? in
        let fields = line.split(separator: " ", maxSplits: 2)
        guard fields.count == 3, fields[1].first!.isUppercase else { return nil }
        return String(fields[2])
      }
      return (Set(globals), nm.stdout)
    }
    let (globals, all) = try definedSymbols([])
    for key in ["a_2(i64)->i64", "main()->()"] {
      XCTAssertTrue(globals.contains("holo.slot.\(key)"), all)
      XCTAssertTrue(globals.contains("holo.line.\(key)"), all)
      XCTAssertTrue(all.contains("holo.\(key)#0"), all)
    }
    XCTAssertTrue(globals.contains("holo_print_i64"), all)
    XCTAssertFalse(globals.contains { $0.hasSuffix("#0") }, all)
    let (exported, dynamic) = try definedSymbols(["-D"])
    XCTAssertFalse(exported.contains { $0.hasPrefix("holo.") }, dynamic)
  }

  func testAChunkedBuildBehavesAsTheWholeProgramBuild() throws {
    let numbers =
      Self.functions("n", count: 300)
      // Recursion no optimiser can turn into a loop.
      + "fn bottomless(n: i64) -> i64 { if n < 0 { 0 } else { bottomless(n + 1) * 2 + bottomless(n + 2) } }\n"
      + (1..<150).map {
        "fn chain_\($0)(x: i64) -> i64 { if x > 0 { chain_\($0 - 1)(x - 1) + \($0) } else { n_\($0)(x) } }\n"
      }.joined()
      + "fn chain_0(x: i64) -> i64 { x }\n"
      + "#[test] fn passes() { assert(chain_149(3) == 149 + 148 + 147 + 146) }\n"
      + "#[test] fn fails() { assert(n_4(0) == 5, `n_4 is {n_4(0)}`) }\n"
    try project.write(numbers, to: "lib/numbers.holo")
    let text = (0..<250).map {
      "fn t_\($0)(name: string) -> string { `{name}:\($0)` }\n"
    }.joined()
    try project.write(text, to: "lib/text.holo")
    try project.write(
      """
      import lib.numbers;
      import lib.text;
      extern fn abs(x: i32) -> i32;
      export fn twice(x: i64) -> i64 { x * 2 }
      fn main() {
        println(chain_149(5));
        println(t_249(t_3("chunks")));
        println(abs(-7i32));
        println(twice(n_21(0)));
      }

      """, to: "main.holo")
    try project.write(
      "import lib.numbers;\nfn main() { println(bottomless(0)); }\n", to: "deep.holo")
    let (program, _) = try analyze("main.holo")
    let chunks = CodeChunk.partition(program).map { $0.functions.map(program.function) }
    XCTAssertGreaterThan(chunks.count, 2)
    XCTAssertTrue(
      chunks.contains { Set($0.map(\.span.file)).count > 1 }, "a chunk of functions of two files")

    let chain = 149 + 148 + 147 + 146 + 145 + 144
    let expected = "\(chain)\nchunks:3:249\n7\n42\n"
    let modes: [[String]] = [[], ["-O2"], ["--release"]]
    for mode in modes {
      let run = try project.holoc(["run"] + mode + ["main.holo"])
      XCTAssertEqual(run.stdout, expected, "\(mode): \(run.stderr)")

      let tests = try project.holoc(["test"] + mode + ["main.holo"])
      XCTAssertEqual(tests.status, 1, "\(mode)")
      XCTAssertTrue(tests.stdout.hasSuffix("1 passed, 1 failed\n"), "\(mode): \(tests.stdout)")
      XCTAssertTrue(tests.stdout.contains("n_4 is 4"), "\(mode): \(tests.stdout)")

      // The runtime names the overflowing function from the program's function table, and
      // finds it in the code section, wherever its chunk was linked.
      let build = try project.holoc(["build", "-o", "deep"] + mode + ["deep.holo"])
      XCTAssertEqual(build.status, 0, "\(mode): \(build.stderr)")
      let overflow = try runExecutable("deep")
      XCTAssertEqual(overflow.status, 101, "\(mode)")
      XCTAssertEqual(
        overflow.stderr, "lib/numbers.holo:301:4: runtime failure: stack overflow\n", "\(mode)")
    }

    // A dev object is one file for all chunks, with the C `main` and the export's entry
    // point.
    let object = try project.holoc(["build", "--emit", "obj", "-o", "program.o", "main.holo"])
    XCTAssertEqual(object.status, 0, object.stderr)
    let symbols = try runCapturingOutput(
      "/usr/bin/env", ["nm", "--defined-only", "--extern-only", "\(project.path)/program.o"],
      environment: ProcessInfo.processInfo.environment)
    let defined = Set(
      symbols.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last }.map(
        String.init))
    XCTAssertTrue(defined.isSuperset(of: ["main", "twice"]), symbols.stdout)
    for function in program.functions {
      XCTAssertTrue(defined.contains(Symbols.version(0, of: function, in: program)), function.name)
    }
  }
}
