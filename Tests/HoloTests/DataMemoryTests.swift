import Foundation
import XCTest

/// Every owned value (strings, arrays, structs holding them, arrays of structs of strings)
/// is released exactly once
/// on every path: programs that build and drop them in loops, leaving through `break`,
/// `continue` and early `return`, run under valgrind without a leak or an invalid access,
/// and a ten-million-iteration loop runs in a fixed amount of memory.
final class DataMemoryTests: XCTestCase {
  private var work: String!

  override func setUpWithError() throws { work = try makeScratchFolder("holo-data-memory") }
  override func tearDown() { try? FileManager.default.removeItem(atPath: work) }

  /// Builds and drops nested arrays of structs of strings, through every way out of a loop
  /// and a function; prints a checksum.
  private static let churn = """
    struct Cell { text: string, marks: [string] }
    struct Row { cells: [Cell], label: string = "row" }

    global kept: [[string]] = [];
    global grid: [Row] = [];

    fn rows(n: i64) -> [[string]] {
      let rows: [[string]] = [];
      for i in 0..n {
        let row = [`r{i}`, "x"];
        row.push(`{i * 2}`);
        rows.push(row);
      }
      rows
    }

    fn find(rows: [[string]], word: string) -> i64 {
      let i = 0;
      for row in rows {
        for cell in row {
          if cell == word { return i; }
        }
        i += 1;
      }
      -1
    }

    fn main() {
      let rounds = parse_i64(args()[0]);
      let total = 0;
      for round in 0..rounds {
        let all = rows(4);
        let copy = all;
        copy[0][1] = `changed {round}`;
        for row in copy {
          if row.len() == 3 { total += 1; }
          if round % 2 == 0 { break; }
        }
        total += find(copy, "r2") + copy.pop().len() + copy.remove(0).len();
        if round % 3 == 0 {
          kept = all;
          continue;
        }
        kept.push(copy[0]);
        kept.clear();
        let filler = [["a"; 2]; 2];
        total += filler[1].len();
        let row = Row { cells: [Cell { text: `c{round}`, marks: ["m"] }] };
        row.cells[0].marks.push(row.label);
        grid.push(row);
        if grid.len() > 3 {
          let first = grid.remove(0);
          total += first.cells[0].marks.len();
          grid[0].cells.push(first.cells[0]);
        }
      }
      println(total);
      println(kept.len());
    }
    """

  private func build(_ text: String, _ flags: [String]) throws -> String {
    try text.write(toFile: "\(work!)/main.holo", atomically: true, encoding: .utf8)
    let executable = "\(work!)/main-\(flags.joined())"
    let built = try runCapturingOutput(
      DevSession.holocPath, ["build", "-o", executable] + flags + ["main.holo"],
      environment: DevSession.environment, directory: work)
    XCTAssertEqual(built.status, 0, built.stderr)
    return executable
  }

  /// `executable arguments` under valgrind, which fails it on any leak or invalid access.
  private func underValgrind(_ executable: String, _ arguments: [String]) throws
    -> CapturedOutput
  {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/valgrind") else {
      // toolchain/setup.sh installs it; CI always has it.
      throw XCTSkip("valgrind is not installed")
    }
    return try runCapturingOutput(
      "/usr/bin/valgrind",
      [
        "--leak-check=full", "--errors-for-leak-kinds=definite,indirect,possible",
        "--error-exitcode=9", executable,
      ] + arguments,
      environment: [:], directory: work, timeout: 300)
  }

  func testNestedArraysOfStringsLeakNothingUnderValgrind() throws {
    for flags in [[], ["--release"]] {
      let executable = try build(Self.churn, flags)
      let result = try underValgrind(executable, ["200"])
      XCTAssertEqual(result.status, 0, "\(flags): \(result.stderr)")
      XCTAssertEqual(result.stdout, "2626\n0\n", "\(flags)")
      // What the global holds at exit is still reachable, as a C static's would be.
      XCTAssertTrue(
        result.stderr.contains("definitely lost: 0 bytes"), "\(flags): \(result.stderr)")
    }
  }

  /// Operands are evaluated left to right, and a later one may change a local an earlier
  /// one read: the earlier value is the local's value as it was, kept alive (reading it
  /// after the change freed it was a use-after-free).
  func testAValueReadBeforeALaterOperandChangesItsLocalStaysAsItWas() throws {
    let program = """
      fn weigh(a: [i64], x: i64) -> i64 { a.len() * 100 + x }
      fn main() {
        let a = [1, 2, 3];
        a.push(4);
        println(weigh(a, a.pop()));
        println(a[{ a = [9, 8]; 0 }]);
        let b = [[1], [2]];
        b.push([3]);
        println(b == { b = [[7]]; b });
        println([b[0]; { b = [[5]]; 2 }]);
        let t = `{a}{a}`;
        println(t == { t = "q"; t });
      }
      """
    for flags in [[], ["--release"]] {
      let result = try underValgrind(try build(program, flags), [])
      XCTAssertEqual(result.status, 0, "\(flags): \(result.stderr)")
      XCTAssertEqual(result.stdout, "404\n1\nfalse\n[[7], [7]]\nfalse\n", "\(flags)")
    }
  }

  /// An operand already evaluated (a call's argument, an element or field of a literal,
  /// an indexed array, a template's value) is released when a later operand leaves by `break`, `continue` or
  /// `return`.
  func testOperandsLeftByAnEarlyExitAreReleased() throws {
    let program = """
      fn make(n: i64) -> [i64] { [n; 3] }
      fn two(a: [i64], b: i64) -> i64 { a.len() + b }
      struct P { a: [i64], b: [i64] }
      fn f(stop: bool) -> i64 {
        let total = 0;
        for i in 0..3 {
          total += string_len(`{make(i)}{ { if stop { return 100; } "x" } }`);
          total += two(make(i), { if stop { break; } 1 });
          let p = P { a: make(1), b: { if i == 1 { continue; } make(2) } };
          total += [make(i), { if i == 2 { return total; } make(3) }].len();
          total += make(4)[{ if stop { return 0; } 1 }];
          total += p.a.len();
        }
        total
      }
      fn main() { println(`{f(true)} {f(false)}`); }
      """
    for flags in [[], ["--release"]] {
      let result = try underValgrind(try build(program, flags), [])
      XCTAssertEqual(result.status, 0, "\(flags): \(result.stderr)")
      XCTAssertEqual(result.stdout, "100 51\n", "\(flags)")
    }
  }

  /// A parameter the callee changes is handed over by a caller done with it (release
  /// builds move `x = f(x)`'s argument): the caller's other copies stay as they were, an
  /// exit between the move and the assignment releases nothing twice, and strings and
  /// structs of arrays move as arrays do.
  func testArgumentsMovedIntoACallThatChangesThemStayValueSemantic() throws {
    let program = """
      struct Bag { items: [i64], name: string }
      fn grow(a: [i64], n: i64) -> [i64] {
        a.push(n);
        a
      }
      fn rename(b: Bag, suffix: string) -> Bag {
        b.name = `{b.name}{suffix}`;
        b.items[0] += 1;
        b
      }
      fn shout(s: string) -> string {
        s = `{s}!`;
        s
      }
      fn early(a: [i64], stop: bool) -> i64 {
        a = grow(a, { if stop { return a.len(); } 9 });
        a.len() * 10
      }
      fn main() {
        let a = [1, 2];
        let kept = a;
        for i in 0..3 { a = grow(a, i); }
        println(`{a} {kept}`);
        let bag = Bag { items: [0], name: "b" };
        let before = bag;
        bag = rename(bag, "x");
        bag = rename(bag, "y");
        println(`{bag} {before}`);
        let s = "hey";
        s = shout(s);
        println(s);
        println(`{early([1], true)} {early([1], false)}`);
        a = grow(grow(a, 7), a.len());
        println(a);
      }
      """
    for flags in [[], ["--release"]] {
      let result = try underValgrind(try build(program, flags), [])
      XCTAssertEqual(result.status, 0, "\(flags): \(result.stderr)")
      XCTAssertEqual(
        result.stdout,
        """
        [1, 2, 0, 1, 2] [1, 2]
        Bag { items: [2], name: "bxy" } Bag { items: [0], name: "b" }
        hey!
        1 20
        [1, 2, 0, 1, 2, 7, 5]

        """, "\(flags)")
    }
  }

  /// Ten million rounds under a 64 MiB address-space limit: a leak of even a few bytes a
  /// round would exhaust it.
  func testTenMillionRoundsRunInConstantMemory() throws {
    let executable = try build(
      """
      fn main() {
        let total = 0;
        for i in 0..10_000_000 {
          let a = [i, i + 1];
          a.push(i);
          let names = [`n{i % 10}`];
          let b = a;
          b[0] = 1;
          total += a[0] + b.len() + string_len(names[0]);
        }
        println(total);
      }
      """, ["--release"])
    let result = try runCapturingOutput(
      "/bin/sh", ["-c", "ulimit -v 65536 && exec \"$0\"", executable], environment: [:],
      directory: work, timeout: 300)
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertEqual(result.stdout, "50000045000000\n")
  }
}
