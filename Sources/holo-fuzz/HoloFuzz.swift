// The lexer, parser and checker, and the rendering of their diagnostics, on one input at a
// time: the libFuzzer target of `bash toolchain/libfuzzer.sh`, which builds it with
// `-sanitize=fuzzer -D HOLO_LIBFUZZER` so that libFuzzer's `main` drives it. Built as usual
// it is the replayer of what libFuzzer found: `holo-fuzz FILE...` analyses each file.
import Foundation
import HoloSema
import HoloSource

#if canImport(Glibc)
  import Glibc
#endif

/// Sema reads programs from files, so each input is written to main.holo in a folder of
/// this process's own.
let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
  "holo-fuzz-\(getpid())")
let root = folder.appendingPathComponent("main.holo")

/// Analyses one input; how many diagnostics it produced.
func analyze(_ input: Data) -> Int {
  try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  guard (try? input.write(to: root)) != nil else {
    fatalError("holo-fuzz: cannot write \(root.path)")
  }
  let sources = SourceManager()
  let analysis = Sema.analyze(rootPath: root.path, sources: sources)
  let renderer = DiagnosticRenderer(sources: sources)
  for diagnostic in analysis.diagnostics {
    _ = renderer.render(diagnostic, format: .human)
    _ = renderer.render(diagnostic, format: .json)
  }
  return analysis.diagnostics.count
}

/// libFuzzer's entry point: called with every input it tries.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
  _ = analyze(bytes.map { Data(bytes: $0, count: count) } ?? Data())
  return 0
}

#if !HOLO_LIBFUZZER
  @main
  enum Replay {
    static func main() {
      for path in CommandLine.arguments.dropFirst() {
        guard let input = FileManager.default.contents(atPath: path) else {
          fatalError("holo-fuzz: cannot read \(path)")
        }
        print("\(path): \(analyze(input)) diagnostics")
      }
      try? FileManager.default.removeItem(at: folder)
    }
  }
#endif
