import Foundation
import HoloDevABI
import XCTest

/// C programs that use holo code: holo is installed with toolchain/install.sh into a
/// temporary prefix (with the holoc next to the test bundle), then C hosts are built with
/// CMake (examples/c-host) and with plain `cc` and pkg-config, and run.
final class CHostTests: XCTestCase {
  private var work: String!

  override func setUpWithError() throws {
    for tool in ["cmake", "pkg-config", "nm", "cc"] where Host.find(tool) == nil {
      throw XCTSkip("`\(tool)` is not installed (toolchain/setup.sh installs it)")
    }
    work =
      FileManager.default.temporaryDirectory
      .appendingPathComponent("holo-c-host-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    if let work { try? FileManager.default.removeItem(atPath: work) }
  }

  override class func tearDown() {
    Installation.remove()
    super.tearDown()
  }

  // MARK: CMake and examples/c-host

  func testCMakeReleaseExampleRunsAndRebuildsAfterAnEdit() throws {
    let prefix = try Installation.prefix()
    let source = try copyExample()
    let build = "\(work!)/build"
    try cmake(["-S", source, "-B", build, "-DCMAKE_PREFIX_PATH=\(prefix)"])
    try cmake(["--build", build])
    let first = try Host.run("\(build)/c-host", ["3", "0"])
    XCTAssertEqual(first.status, 0, first.stderr)
    XCTAssertEqual(
      first.stdout,
      """
      c-host starts a game of 6 letters
      tick 0: the ball is at 2
      tick 1: the ball is at 4
      tick 2: the ball is at 6

      """)

    let archive = "\(build)/holo/gameplay/libgameplay.a"
    let symbols = try Host.symbols(of: archive)
    XCTAssertTrue(symbols.contains(" T update"), symbols)
    XCTAssertFalse(symbols.contains("holo_agent_start"), "a release library carries no agent")
    XCTAssertFalse(symbols.contains("safepoint"), "a release library carries no agent")
    XCTAssertFalse(symbols.contains("holo.slot."), "a release library has no slots")
    XCTAssertFalse(symbols.contains("LLVM"), "a release library needs no LLVM")

    // The build depends on the holo source: editing it rebuilds the library and the host.
    let gameplay = "\(source)/gameplay.holo"
    let text = try String(contentsOfFile: gameplay, encoding: .utf8)
    try text.replacingOccurrences(of: "the ball is at", with: "ball at")
      .write(toFile: gameplay, atomically: true, encoding: .utf8)
    try cmake(["--build", build])
    let second = try Host.run("\(build)/c-host", ["1", "0"])
    XCTAssertEqual(second.stdout, "c-host starts a game of 6 letters\ntick 0: ball at 2\n")
  }

  func testCMakeDevExampleRunsWithTheAgentLinked() throws {
    let prefix = try Installation.prefix()
    let build = "\(work!)/build"
    try cmake([
      "-S", Installation.repository + "/examples/c-host", "-B", build,
      "-DCMAKE_PREFIX_PATH=\(prefix)", "-DHOLO_DEV=ON",
    ])
    try cmake(["--build", build])
    let result = try Host.run("\(build)/c-host", ["2", "1"])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(
      result.stdout,
      "c-host starts a game of 6 letters\ntick 0: the ball is at 2\ntick 1: the ball is at 4\n")

    let archiveSymbols = try Host.symbols(of: "\(build)/holo/gameplay/libgameplay.a")
    XCTAssertTrue(archiveSymbols.contains(" T holo_agent_start"), archiveSymbols)
    XCTAssertTrue(archiveSymbols.contains("holo.slot.update(i64,i64)->i64"), archiveSymbols)
    // The agent's internals are local, so they cannot collide with the host's names.
    XCTAssertFalse(archiveSymbols.contains(" T patch_apply"), archiveSymbols)
    XCTAssertTrue(archiveSymbols.contains(" t patch_apply"), archiveSymbols)
    // No -rdynamic: the host exports no slot; the agent finds them in its symbol table
    // (the patching tests below patch this very build).
    let dynamicSymbols = try Host.output("nm", ["-D", "--defined-only", "\(build)/c-host"])
    XCTAssertFalse(dynamicSymbols.contains("holo.slot."), dynamicSymbols)
    let symbols = try Host.output("nm", ["--defined-only", "\(build)/c-host"])
    XCTAssertTrue(symbols.contains("holo.slot.describe(i64,i64)->string"), symbols)
  }

  /// The dev example under `holoc dev --host`, once it printed its third tick.
  private func startDevHostRunning() throws -> (
    source: String, process: Process, events: String, output: String
  ) {
    let (source, build) = try buildDevExample()
    let (process, events, output) = try startDevHost(source: source, build: build, ticks: 400)
    XCTAssertTrue(wait { Self.read(output).contains("tick 2:") }, Self.read(output))
    return (source, process, events, output)
  }

  /// Replaces `old` with `new` in the dev example's gameplay.holo, as an editor saves.
  private func editGameplay(in source: String, replacing old: String, with new: String) throws {
    let gameplay = "\(source)/gameplay.holo"
    try String(contentsOfFile: gameplay, encoding: .utf8)
      .replacingOccurrences(of: old, with: new)
      .write(toFile: gameplay, atomically: true, encoding: .utf8)
  }

  func testDevHostIsPatchedWhileItRuns() throws {
    let (source, process, events, output) = try startDevHostRunning()
    defer {
      process.terminate()
      process.waitUntilExit()
    }

    try editGameplay(in: source, replacing: "the ball is at", with: "patched, at")
    XCTAssertTrue(wait { Self.read(output).contains("patched, at") }, Self.read(events))
    XCTAssertTrue(Self.read(events).contains(#""functions":["describe"]"#), Self.read(events))
    // The host kept its state: positions go on growing by 2 across the patch.
    let lines = Self.read(output).split(separator: "\n")
    let patched = try XCTUnwrap(lines.firstIndex { $0.contains("patched, at") })
    XCTAssertEqual(
      lines[patched - 1].split(separator: " ").last.flatMap { Int($0) }.map { $0 + 2 },
      lines[patched].split(separator: " ").last.flatMap { Int($0) })
  }

  /// A struct's layout is part of an `export fn`'s C signature: the host, compiled with the
  /// old layout, keeps calling the old version (LANGUAGE.md §13, CLI.md).
  func testAStructLayoutChangeInAnExportsSignatureIsAChangedCSignature() throws {
    let (source, process, events, output) = try startDevHostRunning()
    defer {
      process.terminate()
      process.waitUntilExit()
    }
    let probe = "struct Probe { a: i64 }\nexport fn probe(p: Probe) -> i64 { p.a }\n"
    try editGameplay(in: source, replacing: "export fn greet(", with: probe + "export fn greet(")
    XCTAssertTrue(
      wait { Self.read(events).contains(#""event":"patch""#) }, Self.read(events))
    XCTAssertFalse(Self.read(events).contains("host_abi_changed"), "a new export is no change")
    try editGameplay(
      in: source, replacing: "struct Probe { a: i64 }", with: "struct Probe { a: i64, b: i64 }")
    XCTAssertTrue(
      wait { Self.read(events).contains(#""event":"host_abi_changed""#) }, Self.read(events))
    XCTAssertTrue(Self.read(events).contains(#""functions":["probe"]"#), Self.read(events))
    XCTAssertFalse(Self.read(events).contains(#""event":"restart""#), Self.read(events))
    XCTAssertTrue(process.isRunning, Self.read(output))
  }

  func testDevHostTakesAPatchThatAddsAGlobal() throws {
    let (source, process, events, output) = try startDevHostRunning()
    defer {
      process.terminate()
      process.waitUntilExit()
    }

    // The host's loop is C: the patch's safepoint is taken where it calls holo code, at
    // the C entry points of the `export fn`s.
    try editGameplay(
      in: source, replacing: "fn speed(tick: i64) -> i64 {\n    2\n}",
      with: "global boost: i64 = 1 + 2;\nfn speed(tick: i64) -> i64 {\n    boost\n}")
    XCTAssertTrue(wait { Self.read(events).contains(#""added":["boost"]"#) }, Self.read(events))
    XCTAssertFalse(Self.read(events).contains(#""event":"restart""#), Self.read(events))
    // The host kept its position; from the patch on it grows by 3.
    XCTAssertTrue(
      wait {
        let positions = Self.read(output).split(separator: "\n").compactMap {
          $0.split(separator: " ").last.flatMap { Int($0) }
        }
        return zip(positions, positions.dropFirst()).contains { $1 - $0 == 3 }
      }, Self.read(output))
  }

  /// `--restart frame` in a C host: a holo frame the host called that never returns is
  /// restarted in place, called again by the `export fn`'s wrapper with the same
  /// argument; the host's frames and C state and the globals are kept, and what each
  /// unwound frame held (an 800 KB array) is released: without it, 200 restarts would
  /// keep 160 MB.
  func testFrameRestartsInADevHostKeepTheHostAndTheGlobals() throws {
    func serve(_ label: String) -> String {
      """
      extern fn host_calls() -> i64;
      global rounds: i64 = 0;
      export fn serve(id: i64) {
        let big = [7; 100000];
        rounds += 1;
        while true {
          println(`\(label) id {id} round {rounds} host {host_calls()} {big.len()}`);
          sleep_ms(2);
        }
      }
      """
    }
    try write("serve.holo", serve("v0"))
    try write(
      "host.c",
      """
      #include "serve.h"
      #include <stdio.h>
      static int64_t calls;
      int64_t host_calls(void) { return ++calls; }
      int main(void) {
        printf("host starts\\n");
        fflush(stdout);
        serve(42);
        return 0;
      }
      """)
    let host = try buildHost(root: "serve.holo", release: false)
    let (process, events, output) = try startHolocDev([
      "--host", host, "--restart", "frame", "--stale-after", "0.05", "\(work!)/serve.holo",
    ])
    defer {
      process.terminate()
      process.waitUntilExit()
    }
    XCTAssertTrue(
      wait { Self.read(output).contains("v0 id 42 round 1 host 3 ") }, Self.read(events))
    let hostProcess = try XCTUnwrap(DevSession.children(of: process.processIdentifier).first)
    let restarts = { Self.read(events).components(separatedBy: #""event":"restart""#).count - 1 }
    var baseline = 0
    for version in 1...200 {
      try write("serve.holo", serve("v\(version)"))
      XCTAssertTrue(wait { restarts() >= version }, Self.read(events))
      if version == 20 { baseline = try XCTUnwrap(DevSession.residentKiB(of: hostProcess)) }
    }
    XCTAssertTrue(
      wait { Self.read(output).contains("v200 id 42 round 201 host ") }, Self.read(events))
    XCTAssertTrue(
      Self.read(events).contains(#""mode":"frame""#), Self.read(events))
    XCTAssertEqual(DevSession.children(of: process.processIdentifier), [hostProcess])
    let lines = Self.read(output).split(separator: "\n")
    XCTAssertEqual(lines.filter { $0 == "host starts" }.count, 1, "the host's frames were kept")
    // The host's counter went on across every restart: each line's count is one more.
    let counts = lines.compactMap { $0.split(separator: " ").dropLast().last.flatMap { Int($0) } }
    XCTAssertEqual(counts, Array(1...counts.count))
    let resident = try XCTUnwrap(DevSession.residentKiB(of: hostProcess))
    XCTAssertLessThan(
      resident - baseline, 16 * 1024,
      "resident memory grew from \(baseline) KiB to \(resident) KiB over 180 frame restarts")
  }

  func testDevHostDiesWithAHolocDevKilledBySigkill() throws {
    let (source, build) = try buildDevExample()
    // Ticks 10 minutes apart: after its first tick the host writes nothing that could fail.
    let (process, _, output) = try startDevHost(
      source: source, build: build, ticks: 3, tickMs: 600_000)
    XCTAssertTrue(wait { Self.read(output).contains("tick 0:") }, Self.read(output))
    let tasks = try FileManager.default.contentsOfDirectory(
      atPath: "/proc/\(process.processIdentifier)/task")
    let host = try XCTUnwrap(
      tasks.lazy.compactMap {
        Self.read("/proc/\(process.processIdentifier)/task/\($0)/children")
          .split(separator: " ").first.flatMap { pid_t($0) }
      }.first)
    // Foundation sees holoc end only once the host, which inherited its descriptors, ends.
    let hostEnded = {
      let status = Self.read("/proc/\(host)/stat")
      return status.isEmpty || status.contains(") Z ")
    }
    defer {
      if !hostEnded() && Self.read("/proc/\(host)/comm") == "c-host\n" { kill(host, SIGKILL) }
      process.waitUntilExit()
    }
    kill(process.processIdentifier, SIGKILL)
    XCTAssertTrue(wait(hostEnded), "the host outlived holoc dev")
  }

  func testDevHostIsToldToRebuildWhenAnExportChangesItsSignature() throws {
    let (source, build) = try buildDevExample()
    let (process, events, output) = try startDevHost(source: source, build: build, ticks: 3000)
    defer {
      process.terminate()
      process.waitUntilExit()
    }
    XCTAssertTrue(wait { Self.read(output).contains("tick 2:") }, Self.read(output))

    // The host calls `describe` with the C signature it was compiled with.
    let gameplay = "\(source)/gameplay.holo"
    try String(contentsOfFile: gameplay, encoding: .utf8)
      .replacingOccurrences(
        of: "export fn describe(tick: i64, position: i64) -> string {\n    `tick",
        with:
          "export fn describe(tick: i64, position: i64, round: i64) -> string {\n    `round {round}, tick"
      )
      .write(toFile: gameplay, atomically: true, encoding: .utf8)
    XCTAssertTrue(
      wait { Self.read(events).contains(#""event":"host_abi_changed""#) }, Self.read(events))
    XCTAssertTrue(Self.read(events).contains(#""functions":["describe"]"#), Self.read(events))
    XCTAssertFalse(Self.read(events).contains(#""event":"restart""#), Self.read(events))

    // Rebuilt against the new header, the host is restarted and calls the new version.
    let main = "\(source)/main.c"
    try String(contentsOfFile: main, encoding: .utf8)
      .replacingOccurrences(of: "describe(tick, position)", with: "describe(tick, position, 7)")
      .write(toFile: main, atomically: true, encoding: .utf8)
    try cmake(["--build", build])
    XCTAssertTrue(wait { Self.read(output).contains("round 7, tick") }, Self.read(events))
    XCTAssertTrue(Self.read(events).contains("was rebuilt"), Self.read(events))
  }

  /// examples/c-host copied and built in its dev form; its source and build folders.
  private func buildDevExample() throws -> (source: String, build: String) {
    let prefix = try Installation.prefix()
    let source = try copyExample()
    let build = "\(work!)/build"
    try cmake(["-S", source, "-B", build, "-DCMAKE_PREFIX_PATH=\(prefix)", "-DHOLO_DEV=ON"])
    try cmake(["--build", build])
    return (source, build)
  }

  /// Starts `holoc dev --host` on the built example, running `ticks` ticks of `tickMs`; the
  /// process, its events file and the host's output file.
  private func startDevHost(source: String, build: String, ticks: Int, tickMs: Int = 20) throws
    -> (process: Process, events: String, output: String)
  {
    try startHolocDev([
      "--host", "\(build)/c-host", "\(source)/gameplay.holo", "--", String(ticks),
      String(tickMs),
    ])
  }

  /// Starts `holoc dev --no-tests --events FILE` with `arguments`: the process, its events
  /// file and the file its output goes to.
  private func startHolocDev(_ arguments: [String]) throws
    -> (process: Process, events: String, output: String)
  {
    let events = "\(work!)/events"
    let output = "\(work!)/output"
    _ = FileManager.default.createFile(atPath: output, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try Installation.prefixHoloc())
    process.arguments = ["dev", "--no-tests", "--events", events] + arguments
    process.environment = Installation.environment
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
    process.standardError = FileHandle.nullDevice
    try process.run()
    return (process, events, output)
  }

  private static func read(_ path: String) -> String {
    String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
  }

  /// Polls `condition` for up to 30 s.
  private func wait(_ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
      if condition() { return true }
      usleep(20_000)
    }
    return condition()
  }

  // MARK: Plain cc and pkg-config

  func testPlainCCWithPkgConfigAndFlushAtExit() throws {
    try write(
      "report.holo",
      """
      export fn report(count: i64) -> i64 {
          for i in 0..count { println(`holo line {i}`); }
          count * 2
      }
      """)
    try write(
      "host.c",
      """
      #include "report.h"
      int main(void) { return report(3) == 6 ? 0 : 1; }
      """)
    for (flavour, release) in [("holo", true), ("holo-dev", false)] {
      let archive = "\(work!)/lib\(flavour).a"
      try holoc(
        ["build", "--emit", "lib", "-o", archive, "report.holo"] + (release ? ["--release"] : []))
      try holoc(["build", "--emit", "header", "report.holo"])
      let flags = try pkgConfig(["--cflags", "--libs", flavour])
      let executable = "\(work!)/host-\(flavour)"
      try Host.check("cc", ["host.c", archive] + flags + ["-o", executable], in: work)
      // stdout is a file here, so holo's output stays buffered until the exit flush.
      let result = try Host.run(executable)
      XCTAssertEqual(result.status, 0, "\(flavour): \(result.stderr)")
      XCTAssertEqual(result.stdout, "holo line 0\nholo line 1\nholo line 2\n", flavour)
      XCTAssertEqual(result.stderr, "", flavour)
    }
  }

  /// `u8` is C's `uint8_t` both ways, zero-extended as the C ABI wants: holo calls C and
  /// C calls holo, in release and dev libraries, through the generated header.
  func testU8CrossesTheCBoundaryAsUint8() throws {
    try write(
      "bytes.holo",
      """
      extern fn c_next(b: u8) -> u8;
      export fn holo_twice(b: u8) -> u8 { b * 2 }
      export fn holo_next_wide(b: u8) -> i64 { c_next(b) as i64 + 1000 }
      """)
    try write(
      "host.c",
      """
      #include <stdio.h>
      #include "bytes.h"
      uint8_t c_next(uint8_t b) { return (uint8_t)(b + 1); }
      int main(void) {
        volatile int wide = 0x1FF;  /* its low byte, 255, is the argument */
        printf("%d %d %d\\n", holo_twice(200), (int)holo_next_wide(254),
          (int)holo_next_wide((uint8_t)wide));
        return 0;
      }
      """)
    for (flavour, result) in try hostRuns(linking: "bytes.holo") {
      XCTAssertEqual(result.stdout, "144 1255 1000\n", "\(flavour): \(result.stderr)")
    }
    let header = try String(contentsOfFile: "\(work!)/bytes.h", encoding: .utf8)
    XCTAssertTrue(header.contains("uint8_t holo_twice(uint8_t b)"), header)
  }

  /// Scalar structs cross by value both ways with C's layout (the header's typedefs are
  /// checked with `sizeof`/`offsetof`), in every x86-64 System V class: two SSE
  /// eightbytes, integer and SSE mixed, `<2 x float>` plus a float, packed bytes, in memory
  /// (over 16 bytes, nested), and in memory because the registers ran out — also for a
  /// string after five integer arguments.
  func testScalarStructsCrossTheCBoundaryByValueWithCLayout() throws {
    try write(
      "geometry.holo",
      """
      struct Vec2 { x: f64, y: f64 }
      struct Rgba { r: u8, g: u8, b: u8, a: u8 }
      struct Mixed { flag: bool, n: i32, f: f32 }
      struct Three { a: f32, b: f32, c: f32 }
      struct Big { a: i64, b: i64, c: i64 }
      struct Nested { p: Vec2, id: i64 }
      struct Pair { a: i64, b: i64 }
      extern fn c_scale(v: Vec2, k: f64) -> Vec2;
      extern fn c_big(b: Big) -> Big;
      extern fn c_nested(n: Nested) -> Nested;
      extern fn c_mixed(m: Mixed) -> Mixed;
      extern fn c_three(t: Three) -> Three;
      extern fn c_rgba(c: Rgba) -> Rgba;
      extern fn c_pair_late(a: i64, b: i64, c: i64, d: i64, e: i64, p: Pair, f: i64) -> i64;
      extern fn c_vec_late(
        a: f64, b: f64, c: f64, d: f64, e: f64, f: f64, g: f64, v: Vec2, h: f64) -> f64;
      extern fn c_text_late(a: i64, b: i64, c: i64, d: i64, e: i64, s: string, f: i64) -> i64;
      export fn holo_add(a: Vec2, b: Vec2) -> Vec2 { Vec2 { x: a.x + b.x, y: a.y + b.y } }
      export fn holo_big(b: Big) -> Big { Big { a: b.c, b: b.b * 2, c: b.a } }
      export fn holo_nested(n: Nested) -> Nested {
        Nested { p: Vec2 { x: n.p.y, y: n.p.x }, id: n.id + 1 }
      }
      export fn holo_mixed(m: Mixed) -> Mixed { Mixed { flag: !m.flag, n: m.n + 1, f: m.f * 2.0 } }
      export fn holo_three(t: Three) -> Three { Three { a: t.c, b: t.b, c: t.a } }
      export fn holo_rgba(c: Rgba) -> Rgba { Rgba { r: c.a, g: c.b, b: c.g, a: c.r } }
      export fn holo_pair_late(a: i64, b: i64, c: i64, d: i64, e: i64, p: Pair, f: i64) -> i64 {
        a + b + c + d + e + p.a * 100 + p.b * 1000 + f * 10000
      }
      export fn holo_text_late(a: i64, b: i64, c: i64, d: i64, e: i64, s: string, f: i64) -> i64 {
        a + b + c + d + e + f + string_len(s) * 100
      }
      export fn holo_calls_c() {
        println(c_scale(Vec2 { x: 1.5, y: -2.0 }, 2.0));
        println(c_big(Big { a: 1, b: 2, c: 3 }));
        println(c_nested(Nested { p: Vec2 { x: 1.0, y: 2.0 }, id: 7 }));
        println(c_mixed(Mixed { flag: true, n: 41, f: 1.5 }));
        println(c_three(Three { a: 1.0, b: 2.0, c: 3.0 }));
        println(c_rgba(Rgba { r: 1, g: 2, b: 3, a: 4 }));
        println(c_pair_late(1, 2, 3, 4, 5, Pair { a: 6, b: 7 }, 8));
        println(c_vec_late(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, Vec2 { x: 8.0, y: 9.0 }, 10.0));
        println(c_text_late(1, 2, 3, 4, 5, "seven", 6));
      }
      """)
    try write(
      "host.c",
      """
      #include <stddef.h>
      #include <stdio.h>
      #include <string.h>
      #include "geometry.h"
      _Static_assert(sizeof(Vec2) == 16 && offsetof(Vec2, y) == 8, "Vec2");
      _Static_assert(sizeof(Rgba) == 4 && offsetof(Rgba, a) == 3, "Rgba");
      _Static_assert(sizeof(Mixed) == 12 && offsetof(Mixed, n) == 4 && offsetof(Mixed, f) == 8,
                     "Mixed");
      _Static_assert(sizeof(Three) == 12 && offsetof(Three, c) == 8, "Three");
      _Static_assert(sizeof(Nested) == 24 && offsetof(Nested, id) == 16, "Nested");
      Vec2 c_scale(Vec2 v, double k) { return (Vec2){v.x * k, v.y * k}; }
      Big c_big(Big b) { return (Big){b.a + 10, b.b + 20, b.c + 30}; }
      Nested c_nested(Nested n) { return (Nested){{n.p.x * 10, n.p.y * 10}, n.id * 2}; }
      Mixed c_mixed(Mixed m) { return (Mixed){!m.flag, m.n + 1, m.f + 0.25f}; }
      Three c_three(Three t) { return (Three){t.a + t.b, t.b + t.c, t.c + t.a}; }
      Rgba c_rgba(Rgba c) { return (Rgba){c.r * 10, c.g * 10, c.b * 10, c.a * 10}; }
      int64_t c_pair_late(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, Pair p,
                          int64_t f) {
        return a + b + c + d + e + p.a * 100 + p.b * 1000 + f * 10000;
      }
      double c_vec_late(double a, double b, double c, double d, double e, double f, double g,
                        Vec2 v, double h) {
        return a + b + c + d + e + f + g + v.x * 100 + v.y * 1000 + h * 10000;
      }
      int64_t c_text_late(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, holo_str s,
                          int64_t f) {
        return a + b + c + d + e + f + (memcmp(s.ptr, "seven", 5) == 0 ? s.len * 100 : -1);
      }
      int main(void) {
        Vec2 s = holo_add((Vec2){1, 2}, (Vec2){10, 20});
        Big b = holo_big((Big){1, 2, 3});
        Nested n = holo_nested((Nested){{1, 2}, 5});
        Mixed m = holo_mixed((Mixed){false, 9, 1.5f});
        Three t = holo_three((Three){1, 2, 3});
        Rgba c = holo_rgba((Rgba){1, 2, 3, 4});
        printf("%g %g|%lld %lld %lld|%g %g %lld|%d %d %g|%g %g %g|%d %d %d %d|%lld %lld\\n",
               s.x, s.y, (long long)b.a, (long long)b.b, (long long)b.c, n.p.x, n.p.y,
               (long long)n.id, m.flag, m.n, m.f, t.a, t.b, t.c, c.r, c.g, c.b, c.a,
               (long long)holo_pair_late(1, 2, 3, 4, 5, (Pair){6, 7}, 8),
               (long long)holo_text_late(1, 2, 3, 4, 5, (holo_str){"seven", 5}, 6));
        fflush(stdout);
        holo_calls_c();
        return 0;
      }
      """)
    for (flavour, result) in try hostRuns(linking: "geometry.holo") {
      XCTAssertEqual(
        result.stdout,
        """
        11 22|3 4 1|2 1 6|1 10 3|3 2 1|4 3 2 1|87615 521
        Vec2 { x: 3, y: -4 }
        Big { a: 11, b: 22, c: 33 }
        Nested { p: Vec2 { x: 10, y: 20 }, id: 14 }
        Mixed { flag: false, n: 42, f: 1.75 }
        Three { a: 3, b: 5, c: 4 }
        Rgba { r: 10, g: 20, b: 30, a: 40 }
        87615
        109828
        521

        """, "\(flavour): \(result.stderr)")
    }
    let header = try String(contentsOfFile: "\(work!)/geometry.h", encoding: .utf8)
    XCTAssertTrue(header.contains("typedef struct Vec2 {\n  double x;\n  double y;\n} Vec2;"))
    XCTAssertTrue(header.contains("Nested holo_nested(Nested n);"), header)
  }

  /// host.c built with `library`'s header and linked with its release and its dev library
  /// (through pkg-config), and run: each flavour's result.
  private func hostRuns(linking library: String) throws -> [(String, CapturedOutput)] {
    try holoc(["build", "--emit", "header", library])
    return try [("holo", true), ("holo-dev", false)].map { flavour, release in
      let archive = "\(work!)/lib\(flavour).a"
      try holoc(
        ["build", "--emit", "lib", "-o", archive, library] + (release ? ["--release"] : []))
      let executable = "\(work!)/host-\(flavour)"
      try Host.check(
        "cc",
        ["host.c", archive] + (try pkgConfig(["--cflags", "--libs", flavour]))
          + ["-o", executable], in: work)
      return (flavour, try Host.run(executable))
    }
  }

  func testALibrarysGlobalsAreInitialisedBeforeTheHostCallsIt() throws {
    try write(
      "counter.holo",
      """
      global start: i64 = 40 + offset();
      global total: i64 = start;
      fn offset() -> i64 { 2 }
      export fn holo_add(n: i64) -> i64 {
        total += n;
        total
      }
      """)
    try write(
      "host.c",
      """
      #include <stdio.h>
      #include "counter.h"
      int main(void) {
        long long first = holo_add(1);
        long long second = holo_add(10);
        printf("%lld %lld\\n", first, second);
        return 0;
      }
      """)
    for (flavour, result) in try hostRuns(linking: "counter.holo") {
      XCTAssertEqual(result.stdout, "43 53\n", "\(flavour): \(result.stderr)")
    }
  }

  // MARK: Runtime failures and the failure handler

  private static let failingLibrary = """
    export fn ratio(a: i64, b: i64) -> i64 {
        println("dividing");
        a / b
    }
    """

  func testRuntimeFailureInHoloCalledFromCReportsTheHoloLocation() throws {
    try write("calc.holo", Self.failingLibrary)
    try write(
      "host.c",
      """
      #include "calc.h"
      #include <holo.h>
      #include <stdio.h>
      int main(void) {
        long long quotient = ratio(7, 2);
        holo_flush(); /* holo's output first, then ours */
        printf("%lld\\n", quotient);
        fflush(stdout);
        printf("%lld\\n", (long long)ratio(1, 0));
        return 0;
      }
      """)
    let executable = try buildHost(root: "calc.holo", release: true)
    let result = try Host.run(executable)
    XCTAssertEqual(result.status, 101)
    XCTAssertEqual(result.stdout, "dividing\n3\ndividing\n")
    XCTAssertEqual(result.stderr, "calc.holo:3:5: runtime failure: division by zero\n")
  }

  func testFailureHandlerIsCalledAndMayLongjmp() throws {
    try write("calc.holo", Self.failingLibrary)
    try write(
      "host.c",
      """
      #include "calc.h"
      #include <holo.h>
      #include <setjmp.h>
      #include <stdio.h>
      #include <string.h>

      static jmp_buf recover;

      static void on_failure(const char *message, const holo_location *at, void *context) {
        printf("%s: %s at %s:%d:%d\\n", (const char *)context, message, at->file, at->line,
               at->column);
        fflush(stdout);
        if (strcmp(context, "jump") == 0) {
          longjmp(recover, 1);
        }
      }

      int main(int argc, char **argv) {
        const char *mode = argc > 1 ? argv[1] : "jump";
        holo_set_failure_handler(on_failure, (void *)mode);
        if (setjmp(recover) == 0) {
          printf("%lld\\n", (long long)ratio(1, 0));
        } else {
          printf("recovered, then %lld\\n", (long long)ratio(9, 3));
        }
        return 0;
      }
      """)
    let executable = try buildHost(root: "calc.holo", release: false)

    let jumped = try Host.run(executable, ["jump"])
    XCTAssertEqual(jumped.status, 0, jumped.stderr)
    XCTAssertEqual(
      jumped.stdout,
      "dividing\njump: division by zero at calc.holo:3:5\ndividing\nrecovered, then 3\n")
    XCTAssertEqual(jumped.stderr, "")

    // A handler that returns: the usual report, and status 101.
    let returned = try Host.run(executable, ["return"])
    XCTAssertEqual(returned.status, 101)
    XCTAssertEqual(returned.stdout, "dividing\nreturn: division by zero at calc.holo:3:5\n")
    XCTAssertEqual(returned.stderr, "calc.holo:3:5: runtime failure: division by zero\n")
  }

  // MARK: Strings

  func testHoloStrRoundTripWithoutLeaks() throws {
    try write(
      "text.holo",
      """
      export fn greet(name: string) -> string { `Hello, {name}! ({string_len(name)} bytes)` }
      export fn same(text: string) -> string { text }
      export fn constant() -> string { "a literal" }
      """)
    try write(
      "host.c",
      """
      #define _POSIX_C_SOURCE 200809L
      #include "text.h"
      #include <holo.h>
      #include <stdio.h>
      #include <string.h>
      #include <unistd.h>

      static long resident_kib(void) {
        long pages = 0, resident = 0;
        FILE *statm = fopen("/proc/self/statm", "r");
        if (statm == NULL || fscanf(statm, "%ld %ld", &pages, &resident) != 2) return -1;
        fclose(statm);
        return resident * sysconf(_SC_PAGESIZE) / 1024;
      }

      static void show(holo_str s) {
        printf("[%.*s] %lld %s\\n", (int)s.len, s.ptr, (long long)s.len,
               s.ptr[s.len] == '\\0' ? "nul" : "no-nul");
      }

      int main(void) {
        /* Not NUL-terminated: holo must use the length. */
        const char buffer[] = {'w', 'o', 'r', 'l', 'd', '?', '?'};
        holo_str name = {buffer, 5};
        holo_str greeting = greet(name);
        show(greeting);
        holo_str_release(greeting);

        char scratch[] = "mutable";
        holo_str copy = same((holo_str){scratch, 7});
        scratch[0] = 'M'; /* holo copied the borrowed argument */
        show(copy);
        holo_str_release(copy);

        holo_str literal = constant();
        show(literal);
        holo_str_release(literal);
        holo_str_release((holo_str){NULL, 0});

        long before = resident_kib();
        for (int i = 0; i < 1000000; i++) {
          holo_str_release(greet(name));
          holo_str_release(same(name));
          holo_str_release(constant());
        }
        long grown = resident_kib() - before;
        printf("grew %s\\n", grown < 4096 ? "little" : "a lot");
        return 0;
      }
      """)
    let executable = try buildHost(root: "text.holo", release: true)
    let result = try Host.run(executable)
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(
      result.stdout,
      """
      [Hello, world! (5 bytes)] 23 nul
      [mutable] 7 nul
      [a literal] 9 nul
      grew little

      """)
  }

  // MARK: Helpers

  private func write(_ relativePath: String, _ text: String) throws {
    try text.write(toFile: "\(work!)/\(relativePath)", atomically: true, encoding: .utf8)
  }

  private func copyExample() throws -> String {
    let copy = "\(work!)/c-host"
    try FileManager.default.copyItem(
      atPath: Installation.repository + "/examples/c-host", toPath: copy)
    return copy
  }

  private func holoc(_ arguments: [String]) throws {
    try Host.check(
      Installation.prefixHoloc(), arguments, in: work, environment: Installation.environment)
  }

  private func cmake(_ arguments: [String]) throws {
    try Host.check("cmake", arguments, in: work, environment: Installation.environment)
  }

  private func pkgConfig(_ arguments: [String]) throws -> [String] {
    var environment = Installation.environment
    environment["PKG_CONFIG_PATH"] = try Installation.prefix() + "/lib/pkgconfig"
    return try Host.output("pkg-config", arguments, environment: environment)
      .split(whereSeparator: \.isWhitespace).map(String.init)
  }

  /// Builds `host.c` against a `--emit lib` archive and header of `root`, linked with the
  /// flags of holo.pc (release) or holo-dev.pc (dev).
  private func buildHost(root: String, release: Bool) throws -> String {
    let name = URL(fileURLWithPath: root).deletingPathExtension().lastPathComponent
    try holoc(["build", "--emit", "lib", root] + (release ? ["--release"] : []))
    try holoc(["build", "--emit", "header", root])
    let flags = try pkgConfig(["--cflags", "--libs", release ? "holo" : "holo-dev"])
    let executable = "\(work!)/host"
    try Host.check(
      "cc",
      ["-std=c11", "-Wall", "-Werror", "host.c", "lib\(name).a"] + flags + ["-o", executable],
      in: work)
    return executable
  }
}

/// holo installed once per test run with toolchain/install.sh into a temporary prefix.
private enum Installation {
  static let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

  /// The holoc next to the test bundle (SwiftPM puts every product in one folder).
  static let builtHoloc: String = {
    let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return bundle.deletingLastPathComponent().appendingPathComponent("holoc").path
  }()

  /// The runtime cache the CLI tests use too, so the runtime is compiled once.
  static let environment: [String: String] = {
    var environment = ProcessInfo.processInfo.environment
    environment["XDG_CACHE_HOME"] =
      FileManager.default.temporaryDirectory.appendingPathComponent("holo-cli-tests-cache").path
    environment["NO_COLOR"] = "1"
    environment.removeValue(forKey: DevABI.Environment.failureReport)
    environment.removeValue(forKey: DevABI.Environment.runtimeDirectory)
    environment.removeValue(forKey: DevABI.Environment.agentSocket)
    return environment
  }()

  private static let directory = FileManager.default.temporaryDirectory
    .appendingPathComponent("holo-c-host-prefix-\(UUID().uuidString)").path

  /// Installs on first use; later calls get the same outcome.
  private static let installed = Swift.Result<String, any Error>(catching: {
    try Host.check(
      "bash", ["toolchain/install.sh", "--prefix", directory, "--holoc", builtHoloc],
      in: repository, environment: environment)
    return directory
  })

  static func prefix() throws -> String { try installed.get() }

  /// Deletes the prefix (nothing when no test installed it).
  static func remove() { try? FileManager.default.removeItem(atPath: directory) }

  static func prefixHoloc() throws -> String { try prefix() + "/bin/holoc" }
}

/// Running the tools and the built hosts.
private enum Host {
  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  static func find(_ tool: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(tool)" }
      .first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  /// Runs `executable` (a path, or a tool found on PATH) with stdout and stderr captured
  /// in files, so that neither can fill a pipe and block it.
  static func run(
    _ executable: String, _ arguments: [String] = [], in directory: String? = nil,
    environment: [String: String] = Installation.environment
  ) throws -> CapturedOutput {
    let path = executable.contains("/") ? executable : find(executable) ?? executable
    // Tools such as CMake builds may be slow on a loaded machine: a generous limit.
    return try runCapturingOutput(
      path, arguments, environment: environment, directory: directory, timeout: 600)
  }

  /// Runs a tool that must succeed.
  static func check(
    _ tool: String, _ arguments: [String], in directory: String? = nil,
    environment: [String: String] = Installation.environment
  ) throws {
    _ = try output(tool, arguments, in: directory, environment: environment)
  }

  /// The stdout of a tool that must succeed.
  static func output(
    _ tool: String, _ arguments: [String], in directory: String? = nil,
    environment: [String: String] = Installation.environment
  ) throws -> String {
    let result = try run(tool, arguments, in: directory, environment: environment)
    guard result.status == 0 else {
      throw Failure(
        description:
          "`\(tool) \(arguments.joined(separator: " "))` exited with \(result.status):\n"
          + result.stdout + result.stderr)
    }
    return result.stdout
  }

  static func symbols(of archive: String) throws -> String {
    try output("nm", [archive])
  }
}
