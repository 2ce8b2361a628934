import Foundation
import HoloCodegen
import HoloDevABI
import HoloIR
import HoloSema
import HoloSource
import XCTest

/// The C-facing output of the code generator (export symbols, the generated header) and the
/// source locations it embeds.
final class CodegenTests: XCTestCase {
  private var folder: URL!

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent("holo-codegen-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: folder)
  }

  private let library = """
    export fn add(a: i64, b: i64) -> i64 { a + b }
    export fn greet(name: string, loud: bool) -> string { if loud { `{name}!` } else { name } }
    export fn tick(int: i32) { }
    fn helper() -> f64 { 1.5 }
    """

  private func analyze(_ text: String) throws -> (IRProgram, SourceManager) {
    let path = folder.appendingPathComponent("lib.holo").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let sources = SourceManager()
    let analysis = Sema.analyze(rootPath: path, sources: sources)
    return (try XCTUnwrap(analysis.program, "\(analysis.diagnostics)"), sources)
  }

  /// The LLVM IR of `program` in `mode`, without an entry point.
  private func ir(
    _ program: IRProgram, _ sources: SourceManager, _ mode: CodegenOptions.Mode,
    restartableFrames: Bool = false
  ) throws -> String {
    let options = CodegenOptions(
      mode: mode, optimizationLevel: 0, entry: .none, restartableFrames: restartableFrames)
    let bytes = try Codegen.generate(program, sources: sources, options: options, emit: .llvmIR)
    return String(decoding: bytes, as: UTF8.self)
  }

  private func run(_ tool: String, _ arguments: [String]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  func testHeaderDeclaresExportsWithCTypesAndCompilesAsCAndCPlusPlus() throws {
    let (program, _) = try analyze(library)
    let header = CHeader.generate(program, name: "game-play")
    XCTAssertTrue(header.contains("#ifndef HOLO_GAME_PLAY_H"), header)
    XCTAssertTrue(header.contains("int64_t add(int64_t a, int64_t b);"), header)
    XCTAssertTrue(header.contains("holo_str greet(holo_str name, bool loud);"), header)
    XCTAssertTrue(header.contains("void tick(int32_t int_);"), header)
    XCTAssertTrue(header.contains("extern \"C\" {"), header)
    XCTAssertFalse(header.contains("helper"), header)
    let headerPath = folder.appendingPathComponent("game.h").path
    try header.write(toFile: headerPath, atomically: true, encoding: .utf8)
    for (compiler, language) in [("cc", "c"), ("c++", "c++")] {
      let (status, output) = try run(
        compiler, ["-fsyntax-only", "-Wall", "-Werror", "-x", language, headerPath])
      XCTAssertEqual(status, 0, "\(compiler): \(output)")
    }
  }

  func testDevLocationsAreRelativeToTheFunctionsLineBaseAndReleaseOnesAbsolute() throws {
    let (program, sources) = try analyze(
      "// ratio starts on line 2\nexport fn ratio(a: i64, b: i64) -> i64 {\n  a / b\n}\n")
    let dev = try ir(program, sources, .dev)
    let cell = "@\"holo.line.ratio(i64,i64)->i64\""
    XCTAssertTrue(dev.contains("\(cell) = global i64 2, align 8"), dev)
    // `a / b` is on line 3, column 3: one line below the function's start.
    XCTAssertTrue(dev.contains("i32 1, i32 3, ptr \(cell) }"), dev)
    let release = try ir(program, sources, .release)
    XCTAssertFalse(release.contains("holo.line."), release)
    XCTAssertTrue(release.contains("i32 3, i32 3, ptr null }"), release)
  }

  func testDevCodePollsForSafepointsAndReleaseCodeDoesNot() throws {
    let (program, sources) = try analyze(
      "export fn total(n: i64) -> i64 {\n  let sum = 0;\n  while sum < n { sum += 1; }\n  sum\n}\n")
    let dev = try ir(program, sources, .dev)
    // At the loop's head and at the C entry point (a C host's loop is C), not at every
    // call.
    let poll = "load atomic i32, ptr @holo.safepoint.requested monotonic, align 4"
    XCTAssertEqual(dev.components(separatedBy: poll).count - 1, 2, dev)
    XCTAssertTrue(dev.contains("call void @holo.safepoint.poll()"), dev)
    // A dev build defines what its code polls, and the handler pointer the agent sets.
    XCTAssertTrue(dev.contains("@holo.safepoint.requested = global i32 0"), dev)
    XCTAssertTrue(dev.contains("@holo.safepoint.handler = global ptr null"), dev)
    XCTAssertFalse(try ir(program, sources, .release).contains("safepoint"))
  }

  func testRestartableDevCallsThatReachASafepointReleaseWhatTheFrameHoldsWhenUnwound() throws {
    let (program, sources) = try analyze(
      """
      fn name() -> string { read_line() }
      fn main() {
        let kept = [1, 2, 3];
        while true { let line = name(); println(`{kept.len()} {line}`); sleep_ms(1); }
      }
      """)
    let dev = try ir(program, sources, .dev, restartableFrames: true)
    // A frame restart unwinds through calls of holo functions, the poll and the waits.
    XCTAssertTrue(dev.contains("personality ptr @__gcc_personality_v0"), dev)
    XCTAssertTrue(dev.contains("landingpad { ptr, i32 }\n          cleanup"), dev)
    XCTAssertTrue(dev.contains("invoke void @holo.safepoint.poll()"), dev)
    XCTAssertTrue(dev.contains("invoke void @holo_sleep_ms("), dev)
    XCTAssertTrue(dev.contains("call void @holo_array_release("), "the pad releases `kept`")
    XCTAssertTrue(dev.contains("uwtable"), dev)
    // Other dev code makes plain calls (FastISel takes them), keeping only unwind tables.
    let plain = try ir(program, sources, .dev)
    for word in ["invoke", "landingpad", "personality", DevABI.FrameRestart.claim] {
      XCTAssertFalse(plain.contains(word), "dev code without restartable frames has no \(word)")
    }
    XCTAssertTrue(plain.contains("call void @holo.safepoint.poll()"), plain)
    XCTAssertTrue(plain.contains("uwtable"), plain)
    let release = try ir(program, sources, .release, restartableFrames: true)
    for word in ["invoke", "landingpad", "personality", "uwtable"] {
      XCTAssertFalse(release.contains(word), "a release build has no \(word)")
    }
  }

  func testAPatchAddingAGlobalCarriesItsStorageAndASafepointFunction() throws {
    let (program, sources) = try analyze(
      """
      struct Badge { text: string, count: i64 }
      global badge: Badge = Badge { text: "x", count: 1 };
      export fn count() -> i64 { badge.count }
      """)
    let (before, _) = try analyze("export fn count() -> i64 { 1 }")
    let global = try XCTUnwrap(program.globals.first)
    let compiler = try PatchCompiler(
      options: CodegenOptions(mode: .dev, optimizationLevel: 0, entry: .none))
    let functions = Set(program.functions.map(\.id))
    let changes = GlobalChanges(from: before, to: program)
    XCTAssertEqual(changes.added.map(\.name), ["badge"])
    let added = try compiler.patch(
      program, sources: sources, functions: functions, version: 7, globals: changes,
      existingSlots: [])
    XCTAssertEqual(added.newGlobals.map(\.symbol), [Symbols.global(global, in: program)])
    XCTAssertTrue(added.newGlobals[0].symbol.hasPrefix("holo.global.badge:Badge#"))
    XCTAssertEqual(added.newGlobals.map(\.size), [16], "a string pointer and an i64")
    XCTAssertEqual(added.newGlobals.map(\.alignment), [8])
    XCTAssertEqual(added.safepointFunction, "holo.safepoint#7")
    XCTAssertNotNil(
      added.object.firstRange(of: Array("holo.safepoint#7".utf8)), "the object defines it")

    let plain = try compiler.patch(
      program, sources: sources, functions: functions, version: 8, existingSlots: [])
    XCTAssertEqual(plain.newGlobals.count, 0)
    XCTAssertNil(plain.safepointFunction)
    XCTAssertNil(plain.object.firstRange(of: Array("holo.safepoint#".utf8)))
  }

  /// The JIT resolves a weak symbol to its first definition for every later patch, and
  /// frees it with its patch: each weak symbol of a patch is named after it.
  func testAPatchsWeakSymbolsAreNamedAfterIt() throws {
    let (program, sources) = try analyze(
      """
      fn inner(n: i64) -> i64 { sleep_ms(1); n }
      export fn outer() -> i64 { let kept = [1, 2]; inner(kept.len()) }
      """)
    let compiler = try PatchCompiler(
      options: CodegenOptions(
        mode: .dev, optimizationLevel: 0, entry: .none, restartableFrames: true))
    for version in [3, 4] {
      let patch = try compiler.patch(
        program, sources: sources, functions: Set(program.functions.map(\.id)),
        version: version, existingSlots: [])
      let path = folder.appendingPathComponent("patch-\(version).o").path
      XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(patch.object)))
      let (status, symbols) = try run("nm", ["--defined-only", path])
      XCTAssertEqual(status, 0, symbols)
      let weakKinds: Set<Substring> = ["V", "W", "v", "w"]
      var weak: [String] = []
      for line in symbols.split(separator: "\n") {
        let fields = line.split(separator: " ")
        if fields.count == 3 && weakKinds.contains(fields[1]) { weak.append(String(fields[2])) }
      }
      XCTAssertEqual(weak, ["DW.ref.holo.personality#\(version)"], symbols)
    }
  }

  /// At -O0, a module with a function that loops gets its locals in registers there and
  /// in leaf functions, which loops call; every other function stays as written (`optnone`,
  /// its locals on the stack), and a module without loops is not optimised at all.
  func testMinusO0OptimisesFunctionsWithLoopsAndLeafFunctionsOnly() throws {
    func ir(_ text: String) throws -> String {
      let (program, sources) = try analyze(text)
      let bytes = try Codegen.generate(
        program, sources: sources,
        options: CodegenOptions(mode: .dev, optimizationLevel: 0, entry: .none), emit: .llvmIR)
      return String(decoding: bytes, as: UTF8.self)
    }
    func definition(_ name: String, in ir: String) throws -> String {
      let functions = ir.components(separatedBy: "\ndefine ").dropFirst()
      let function = functions.first { $0.contains("@\"holo.\(name)(") }
      let text = try XCTUnwrap(function, "\(name) in \(ir)")
      return String(text[..<(text.range(of: "\n}\n")?.upperBound ?? text.endIndex)])
    }
    let looping = try ir(
      """
      export fn total(n: i64) -> i64 {
        let sum = 0;
        for i in 0..n { sum += half(i); }
        sum
      }
      fn half(x: i64) -> i64 { let h = x / 2; h }
      fn twice(x: i64) -> i64 { let t = half(x) * 4; t }
      """)
    let total = try definition("total", in: looping)
    XCTAssertFalse(total.contains("alloca"), total)
    XCTAssertFalse(try definition("half", in: looping).contains("alloca"), looping)
    let twice = try definition("twice", in: looping)
    XCTAssertTrue(twice.contains("alloca"), twice)
    XCTAssertTrue(looping.contains("optnone"), looping)
    let straight = try ir("export fn quarter(x: i64) -> i64 { let q = x / 4; q }\n")
    XCTAssertTrue(try definition("quarter", in: straight).contains("alloca"), straight)
  }

  func testOnlyExportsHavePlainSymbolsInBothModes() throws {
    let (program, sources) = try analyze(library)
    for mode in [CodegenOptions.Mode.release, .dev] {
      let object = try Codegen.generate(
        program, sources: sources,
        options: CodegenOptions(mode: mode, optimizationLevel: 0, entry: .none), emit: .object)
      let path = folder.appendingPathComponent("lib-\(mode).o").path
      XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(object)))
      let (status, symbols) = try run("nm", ["--defined-only", "--extern-only", path])
      XCTAssertEqual(status, 0, symbols)
      let names = symbols.split(separator: "\n").compactMap { $0.split(separator: " ").last }
        .map(String.init)
      // `DW.ref.__gcc_personality_v0`: the hidden pointer to the unwinding personality
      // that dev code's landing pads name (LLVM's, one per linked program).
      let plain = names.filter { !$0.hasPrefix("holo.") && !$0.hasPrefix("DW.ref.") }.sorted()
      XCTAssertEqual(plain, ["add", "greet", "tick"], "\(mode): \(symbols)")
    }
  }

  /// The names of the functions in each chunk of the program `text`.
  private func chunks(_ text: String) throws -> [[String]] {
    let (program, _) = try analyze(text)
    return CodeChunk.partition(program).map { $0.functions.map { program.function($0).name } }
  }

  func testChunkBoundariesFollowTheFunctionsNotTheirPositions() throws {
    let functions = (0..<1000).map { "fn f\($0)() -> i64 { \($0) }\n" }.joined()
    let before = try chunks(functions)
    XCTAssertEqual(
      before.flatMap { $0 }, (0..<1000).map { "f\($0)" }, "each function once, in order")
    XCTAssertTrue((3...30).contains(before.count), "about 128 functions a chunk: \(before.count)")

    // A function inserted at the top joins the first chunk (or, if it ends a chunk, makes
    // one of its own); every other chunk keeps its functions.
    let inserted = try chunks("fn inserted() -> i64 { 0 }\n" + functions)
    let added = inserted.filter { !before.contains($0) }
    XCTAssertEqual(added.count, 1, "\(added)")
    XCTAssertEqual(added.first?.first, "inserted")
    XCTAssertLessThanOrEqual(before.filter { !inserted.contains($0) }.count, 1)
    XCTAssertEqual(inserted.filter { before.contains($0) }.count, inserted.count - 1)

    // An edited body changes no chunk at all.
    XCTAssertEqual(
      try chunks(functions.replacingOccurrences(of: "{ 500 }", with: "{ 500 * 2 + 1 }")), before)
  }

  func testNoChunkExceedsTheMaximumSizeAndBodyEditsMoveNoCut() throws {
    let functions = (0..<5000).map { "fn f\($0)() -> i64 { \($0) }\n" }.joined()
    let before = try chunks(functions)
    XCTAssertEqual(before.flatMap { $0 }, (0..<5000).map { "f\($0)" })
    XCTAssertLessThanOrEqual(before.map(\.count).max() ?? 0, CodeChunk.maximumFunctions)
    // Runs longer than the maximum happen (about one chunk in seven): this program has one.
    XCTAssertTrue(before.contains { $0.count == CodeChunk.maximumFunctions })
    XCTAssertEqual(
      try chunks(functions.replacingOccurrences(of: "{ 2500 }", with: "{ 2500 * 3 }")), before)
  }

  func testTargetCPUsAreLLVMsSixtyFourBitProcessors() {
    XCTAssertEqual(TargetCPU.validNames.first, "native")
    for name in ["x86-64", "x86-64-v3", "generic", "haswell", "znver3"] {
      XCTAssertTrue(TargetCPU.validNames.contains(name), name)
    }
    for name in ["i386", "pentium4", "help", ""] {
      XCTAssertFalse(TargetCPU.validNames.contains(name), name)
    }
  }

  func testEveryTargetCPUGeneratesCode() throws {
    let (program, sources) = try analyze(library)
    for cpu in TargetCPU.validNames {
      let options = CodegenOptions(
        mode: .release, optimizationLevel: 3, targetCPU: cpu, entry: .none)
      XCTAssertFalse(
        try Codegen.generate(program, sources: sources, options: options, emit: .object).isEmpty)
    }
  }

  func testAnUnknownTargetCPUIsAnErrorNotAnLLVMAbort() throws {
    let (program, sources) = try analyze(library)
    for cpu in ["frobnicator", "i386"] {
      let options = CodegenOptions(
        mode: .release, optimizationLevel: 0, targetCPU: cpu, entry: .none)
      XCTAssertThrowsError(
        try Codegen.generate(program, sources: sources, options: options, emit: .object)
      ) { XCTAssertEqual("\($0)", "unknown target CPU `\(cpu)`") }
    }
  }
}
