import HoloDriver
import HoloSource
import HoloSyntax
import XCTest

final class ParserTests: XCTestCase {
  // MARK: Helpers

  private func parse(_ text: String) -> (FileSyntax, [Diagnostic], SourceFile) {
    let file = SourceManager().add(path: "test.holo", text: text)
    let (syntax, diagnostics) = Parser.parse(file)
    return (syntax, diagnostics, file)
  }

  /// The file's items as S-expressions, one per item; fails on any diagnostic.
  private func sexp(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [String]
  {
    let (syntax, diagnostics, _) = parse(text)
    XCTAssertEqual(diagnostics.map(\.message), [], file: file, line: line)
    return syntax.items.map(SExpression.item)
  }

  /// The single expression statement `text;` as an S-expression.
  private func expr(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
    let items = sexp(text + ";", file: file, line: line)
    XCTAssertEqual(items.count, 1, file: file, line: line)
    return items.first.map { String($0.dropLast()) } ?? ""
  }

  /// Messages of the diagnostics of `text`.
  private func errors(_ text: String) -> [String] {
    parse(text).1.map(\.message)
  }

  private func onlyError(_ text: String, file: StaticString = #filePath, line: UInt = #line)
    -> (Diagnostic, SourceFile)?
  {
    let (_, diagnostics, source) = parse(text)
    XCTAssertEqual(diagnostics.count, 1, "\(diagnostics.map(\.message))", file: file, line: line)
    return diagnostics.first.map { ($0, source) }
  }

  /// Asserts `text` has exactly one error, with this code and message, whose span covers
  /// exactly `spanText`.
  private func assertError(
    _ text: String, _ code: DiagnosticCode, _ message: String, at spanText: String,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    guard let (diagnostic, source) = onlyError(text, file: file, line: line) else { return }
    XCTAssertEqual(diagnostic.code, code, file: file, line: line)
    XCTAssertEqual(diagnostic.phase, .parsing, file: file, line: line)
    XCTAssertEqual(diagnostic.message, message, file: file, line: line)
    XCTAssertEqual(diagnostic.span.map(source.text(of:)), spanText, file: file, line: line)
  }

  private func text(_ span: Span, in source: SourceFile) -> String { source.text(of: span) }

  // MARK: Literals

  /// Skimming leaves each function body an empty block spanning its braces (braces in
  /// templates and nested blocks counted), and every item where a full parse puts it.
  func testSkimmedBodiesSpanTheirBracesAndItemsStayWhereTheyAre() throws {
    let text = """
      fn f(x: i64) -> i64 { if x > 0 { `{x} {"}"}` ; x } else { Point { x: 1 }.x } }
      global g: i64 = 2;
      fn h() { }
      let y = 3;
      """
    let file = SourceManager().add(path: "test.holo", text: text)
    let (full, fullDiagnostics) = Parser.parse(file)
    let (skimmed, skimDiagnostics) = Parser.parse(file, skimmingBodies: true)
    XCTAssertEqual(fullDiagnostics.map(\.message), [])
    XCTAssertEqual(skimDiagnostics.map(\.message), [])
    XCTAssertEqual(skimmed.extents, full.extents)
    XCTAssertEqual(skimmed.items.count, 4)
    for (skim, whole) in zip(skimmed.items, full.items) {
      guard case .function(let skimDecl) = skim, case .function(let wholeDecl) = whole else {
        XCTAssertEqual(SExpression.item(skim), SExpression.item(whole), "only bodies are skimmed")
        continue
      }
      XCTAssertTrue(skimDecl.body.statements.isEmpty)
      XCTAssertEqual(skimDecl.body.span, wholeDecl.body.span)
      XCTAssertEqual(skimDecl.span, wholeDecl.span)
    }
    // An unclosed body is an error, as it is to a full parse.
    let unclosed = SourceManager().add(path: "test.holo", text: "fn f() { if true { }\n")
    XCTAssertFalse(Parser.parse(unclosed, skimmingBodies: true).1.isEmpty)
  }

  func testIntegerLiterals() {
    XCTAssertEqual(expr("123"), "123")
    XCTAssertEqual(expr("0xFF"), "255")
    XCTAssertEqual(expr("0b1010"), "10")
    XCTAssertEqual(expr("1_000_000"), "1000000")
    XCTAssertEqual(expr("10i64"), "10:i64")
    XCTAssertEqual(expr("7u32"), "7:u32")
    XCTAssertEqual(expr("5i32"), "5:i32")
    XCTAssertEqual(expr("9u64"), "9:u64")
  }

  func testFloatLiterals() {
    XCTAssertEqual(expr("1.0"), "(float 1.0)")
    XCTAssertEqual(expr("2.5e-3"), "(float 2.5e-3)")
    XCTAssertEqual(expr("1e9"), "(float 1e9)")
    XCTAssertEqual(expr("1_000.5"), "(float 1000.5)")
    XCTAssertEqual(expr("2.0f32"), "(float 2.0 f32)")
    XCTAssertEqual(expr("3f64"), "(float 3 f64)")
  }

  func testBoolAndStringLiterals() {
    XCTAssertEqual(expr("true"), "true")
    XCTAssertEqual(expr("false"), "false")
    XCTAssertEqual(expr(#""a\n\t\r\0\\\"b""#), #""a\n\t\r\0\\\"b""#)
  }

  func testTemplates() {
    XCTAssertEqual(expr("`plain`"), #"(template "plain")"#)
    XCTAssertEqual(expr("``"), "(template)")
    XCTAssertEqual(expr("`a {x + 1} b`"), #"(template "a " (+ x 1) " b")"#)
    XCTAssertEqual(expr(#"`\{x\} \$ \` \\`"#), #"(template "{x} $ ` \\")"#)
    XCTAssertEqual(expr(#"`{ f("}", "{") }`"#), #"(template (call f "}" "{"))"#)
    XCTAssertEqual(
      expr("`Outer { `Inner {name}` }`"), #"(template "Outer " (template "Inner " name))"#)
    XCTAssertEqual(expr("`{ if c { 1 } else { 2 } }`"), "(template (if c (block 1) (block 2)))")
  }

  func testLiteralTooLargeIsAParseError() {
    assertError(
      "let x = 99999999999999999999;", .invalidNumber, "integer literal is too large",
      at: "99999999999999999999")
  }

  func testEscapeErrors() {
    assertError(
      #"println("a\qb");"#, .invalidEscape, #"unknown escape `\q` in string literal"#,
      at: #"\q"#)
    assertError(
      #"println(`a\nb\x`);"#, .invalidEscape, #"unknown escape `\x` in template string"#,
      at: #"\x"#)
  }

  func testComments() {
    XCTAssertEqual(
      sexp("/* a /* b */ c */ let x = 1; // trailing\n/**/x;"), ["(let x 1)", "x;"])
  }

  func testUnterminatedDelimitersAreOneError() {
    assertError(
      "fn main() { /* a /* b */ }", .unterminatedComment, "unterminated block comment", at: "/*")
    assertError(
      "fn main() { println(\"abc); }", .unterminatedString, "unterminated string literal",
      at: "\"")
    assertError(
      "fn main() { println(`a {b}); }", .unterminatedTemplate, "unterminated template string",
      at: "`")
  }

  // MARK: Contextual keywords

  func testBreakAndContinueAreContextual() {
    XCTAssertEqual(
      sexp("fn f(continue: i64, break: i64) -> i64 { continue + break }"),
      ["(fn f (continue i64) (break i64) -> i64 (block (+ continue break)))"])
    XCTAssertEqual(
      sexp("while true { break; continue; continue = 1; let break = 2; }"),
      ["(while true (block break continue (= continue 1) (let break 2)))"])
    XCTAssertEqual(
      sexp("while true { if c { continue } break }"),
      ["(while true (block (if c (block continue)) break))"])
    XCTAssertEqual(sexp("f(continue);"), ["(call f continue);"])
  }

  // MARK: Precedence and associativity

  func testPrecedenceFollowsTheTable() {
    XCTAssertEqual(expr("a || b && c"), "(|| a (&& b c))")
    XCTAssertEqual(expr("a && b == c"), "(&& a (== b c))")
    XCTAssertEqual(expr("a == b | c"), "(== a (| b c))")
    XCTAssertEqual(expr("a | b ^ c"), "(| a (^ b c))")
    XCTAssertEqual(expr("a ^ b & c"), "(^ a (& b c))")
    XCTAssertEqual(expr("a & b << c"), "(& a (<< b c))")
    XCTAssertEqual(expr("a >> b + c"), "(>> a (+ b c))")
    XCTAssertEqual(expr("a + b * c"), "(+ a (* b c))")
    XCTAssertEqual(expr("a * b as i64"), "(* a (as b i64))")
    XCTAssertEqual(expr("-x as i32"), "(as (- x) i32)")
    XCTAssertEqual(expr("!a as i64"), "(as (! a) i64)")
    XCTAssertEqual(expr("a * b + c * d < e - f"), "(< (+ (* a b) (* c d)) (- e f))")
    XCTAssertEqual(expr("a < b || c >= d && e != f"), "(|| (< a b) (&& (>= c d) (!= e f)))")
  }

  func testPrecedenceClimbsBackDown() {
    XCTAssertEqual(expr("a * b + c"), "(+ (* a b) c)")
    XCTAssertEqual(expr("a & b | c ^ d"), "(| (& a b) (^ c d))")
    XCTAssertEqual(expr("a as i32 * b"), "(* (as a i32) b)")
  }

  func testBinaryOperatorsAreLeftAssociative() {
    XCTAssertEqual(expr("a - b - c"), "(- (- a b) c)")
    XCTAssertEqual(expr("a / b * c % d"), "(% (* (/ a b) c) d)")
    XCTAssertEqual(expr("a << b >> c"), "(>> (<< a b) c)")
    XCTAssertEqual(expr("a || b || c"), "(|| (|| a b) c)")
    XCTAssertEqual(expr("a && b && c"), "(&& (&& a b) c)")
    XCTAssertEqual(expr("a | b | c"), "(| (| a b) c)")
    XCTAssertEqual(expr("x as i32 as i64"), "(as (as x i32) i64)")
  }

  func testUnaryNestsAndParenthesesGroup() {
    XCTAssertEqual(expr("- -x"), "(- (- x))")
    XCTAssertEqual(expr("!!b"), "(! (! b))")
    XCTAssertEqual(expr("-a * b"), "(* (- a) b)")
    XCTAssertEqual(expr("(a + b) * c"), "(* (paren (+ a b)) c)")
    XCTAssertEqual(expr("-(x as i32)"), "(- (paren (as x i32)))")
  }

  func testCallsIfsAndBlocksAsOperands() {
    XCTAssertEqual(expr("f()"), "(call f)")
    XCTAssertEqual(expr("f(a, b + 1, g(c),)"), "(call f a (+ b 1) (call g c))")
    XCTAssertEqual(
      expr("1 + if c { 2 } else { 3 } * 4"), "(+ 1 (* (if c (block 2) (block 3)) 4))")
    XCTAssertEqual(expr("x + { let y = 1; y }"), "(+ x (block (let y 1) y))")
  }

  func testComparisonsDoNotChain() {
    assertError("a < b < c;", .chainedComparison, "comparison operators cannot be chained", at: "<")
    let (diagnostic, source) = onlyError("x = a == b != c;")!
    XCTAssertEqual(diagnostic.span.map { text($0, in: source) }, "!=")
    XCTAssertEqual(diagnostic.span?.start, 11)
    XCTAssertEqual(expr("(a < b) == c"), "(== (paren (< a b)) c)")
    XCTAssertEqual(expr("a < b && b < c"), "(&& (< a b) (< b c))")
  }

  func testElseIfChainsNest() {
    XCTAssertEqual(
      expr("if a { 1 } else if b { 2 } else { 3 }"),
      "(if a (block 1) (if b (block 2) (block 3)))")
    XCTAssertEqual(expr("if a { 1 }"), "(if a (block 1))")
    XCTAssertEqual(
      expr("if a { } else if b { } else if c { }"), "(if a (block) (if b (block) (if c (block))))")
  }

  // MARK: Statements

  func testStatements() {
    XCTAssertEqual(
      sexp(
        """
        fn main() {
          let x = 1;
          let y: i64 = 2;
          x = 3;
          x += 1; x -= 1; x *= 1; x /= 1; x %= 1;
          x &= 1; x |= 1; x ^= 1; x <<= 1; x >>= 1;
          f(x);
          while x < 10 { x += 1; }
          for i in 0..10 { }
          for i in a..=b + 1 { }
          return;
          return x
        }
        """),
      [
        "(fn main (block (let x 1) (let y i64 2) (= x 3) (+= x 1) (-= x 1) (*= x 1) (/= x 1) "
          + "(%= x 1) (&= x 1) (|= x 1) (^= x 1) (<<= x 1) (>>= x 1) (call f x); "
          + "(while (< x 10) (block (+= x 1))) (for i 0 .. 10 (block)) "
          + "(for i a ..= (+ b 1) (block)) (return) (return x)))"
      ])
  }

  func testBlockValueStatementsKeepSemicolonInformation() {
    let (syntax, _, _) = parse("fn add(a: i64, b: i64) -> i64 { a + b; }\nfn sub() -> i64 { 1 }")
    guard case .function(let add) = syntax.items[0], case .function(let sub) = syntax.items[1]
    else { return XCTFail("expected two functions") }
    guard case .expression(_, hasSemicolon: true) = add.body.statements.last?.kind,
      case .expression(_, hasSemicolon: false) = sub.body.statements.last?.kind
    else { return XCTFail("expected expression statements") }
  }

  func testIfAndBlockAtStatementStartEndTheStatement() {
    XCTAssertEqual(
      sexp("fn f() -> i64 { if c {1} else {2} - 1 }"),
      ["(fn f -> i64 (block (if c (block 1) (block 2)) (- 1)))"])
    XCTAssertEqual(sexp("fn f() { { a } - 1; }"), ["(fn f (block (block a) (- 1);))"])
    XCTAssertEqual(
      sexp("fn f() { if a { } if b { } ; while c { } x }"),
      ["(fn f (block (if a (block)) (if b (block)); (while c (block)) x))"])
    XCTAssertEqual(
      sexp("let y = if c {1} else {2} - 1;"), ["(let y (- (if c (block 1) (block 2)) 1))"])
  }

  func testEmptyStatementsAreDropped() {
    XCTAssertEqual(sexp(";; fn f() { ; x; ; }"), ["(fn f (block x;))"])
  }

  // MARK: Items

  func testItems() {
    XCTAssertEqual(
      sexp(
        """
        import a.b;
        import util;
        extern fn sqrt(x: f64) -> f64;
        extern fn abort();
        #[test] fn works() { }
        export fn api(a: i32,) -> () { }
        fn main() { }
        println("top");
        """),
      [
        "(import a.b)", "(import util)", "(extern sqrt (x f64) -> f64)", "(extern abort)",
        "(test fn works (block))", "(export fn api (a i32) -> () (block))", "(fn main (block))",
        #"(call println "top");"#,
      ])
  }

  func testTopLevelScriptMayEndWithoutSemicolon() {
    XCTAssertEqual(sexp("let x = 1;\nprintln(x)"), ["(let x 1)", "(call println x)"])
  }

  func testOtherAttributesAreRejected() {
    assertError(
      "#[bench] fn f() { }", .invalidAttribute, "expected `#[test]` attribute, found `#[bench]`",
      at: "#[bench]")
    assertError(
      "#[test(x)] fn f() { }", .invalidAttribute,
      "expected `#[test]` attribute, found `#[test(x)]`", at: "#[test(x)]")
    // The decorated function is still parsed.
    let (syntax, _, _) = parse("#[bench] fn f() { }")
    XCTAssertEqual(syntax.items.map(SExpression.item), ["(fn f (block))"])
  }

  func testStructs() {
    let (syntax, diagnostics, _) = parse(
      """
      struct Enemy { name: string, pos: Point, hp: i64 = 100, path: [Point], }
      fn f() {
        let e = Enemy { name: "orc", hp: 1 + 2 };
        es[i].pos.x += 1.0;
        if a == (P { x: 1 }) { }
        for p in ps { }
      }
      """)
    XCTAssertEqual(diagnostics, [])
    XCTAssertEqual(
      syntax.items.map(SExpression.item),
      [
        "(struct Enemy (name string) (pos Point) (hp i64 100) (path [Point]))",
        "(fn f (block (let e (new Enemy (name \"orc\") (hp (+ 1 2))))"
          + " (+= (field (field (index es i) pos) x) (float 1.0))"
          + " (if (== a (paren (new P (x 1)))) (block)) (for p in ps (block))))",
      ])
    // In a condition, `Name {` opens the body.
    let (condition, _, _) = parse("fn f() { if ok { } }")
    XCTAssertEqual(condition.items.map(SExpression.item), ["(fn f (block (if ok (block))))"])
    assertError(
      "fn main() { struct S { } }", .unsupportedItem,
      "a `struct` is declared at the top level of a file", at: "struct")
  }

  func testArrays() {
    let (syntax, diagnostics, _) = parse(
      """
      fn f(grid: [[f64]]) -> [i64] {
        let a = [1, 2, 3,];
        let b: [string] = [];
        a[0] = [0; 4][1];
        grid[i][j] += 1.0;
        for x in a { a.push(x); }
        a.len() + p.x.y
      }
      """)
    XCTAssertEqual(diagnostics, [])
    XCTAssertEqual(
      syntax.items.map(SExpression.item),
      [
        "(fn f (grid [[f64]]) -> [i64] (block (let a (array 1 2 3)) (let b [string] (array))"
          + " (= (index a 0) (index (repeat 0 4) 1)) (+= (index (index grid i) j) (float 1.0))"
          + " (for x in a (block (method a push x);)) (+ (method a len) (field (field p x) y))))"
      ])
    assertError(
      "fn f() { f()[0] = 1; }", .invalidAssignmentTarget, "invalid left-hand side of assignment",
      at: "f()[0]")
    assertError(
      "fn f() { let a = [1, 2; }", .expectedToken, "expected `,` or `]`, found `;`", at: ";")
  }

  func testGlobals() {
    let (syntax, diagnostics, _) = parse(
      "global counter: i64 = 0;\nglobal name: string = f(1) + \"x\";\nfn main() { counter += 1; }")
    XCTAssertEqual(diagnostics, [])
    XCTAssertEqual(
      syntax.items.map(SExpression.item),
      [
        "(global counter i64 0)", "(global name string (+ (call f 1) \"x\"))",
        "(fn main (block (+= counter 1)))",
      ])
    assertError(
      "global counter = 0;", .expectedToken, "expected `:`, found `=`", at: "=")
    assertError("global counter: i64;", .expectedToken, "expected `=`, found `;`", at: ";")
    // Inside a block it is reported, and the rest of the function is still read.
    assertError(
      "fn main() { global g: i64 = 1; }", .unsupportedItem,
      "a `global` is declared at the top level of a file", at: "global")
  }

  // MARK: Spans

  func testSpansCoverTheFullSourceText() {
    let source = """
      #[test] fn t() { }
      fn add(a: i64, b: i64) -> i64 {
        let sum = a + b * 2;
        sum += f(a, b);
        sum
      }
      extern fn ext(x: f64) -> f64;
      import a.b;
      """
    let (syntax, diagnostics, file) = parse(source)
    XCTAssertEqual(diagnostics, [])
    let spanText = { (span: Span) in file.text(of: span) }
    guard case .function(let test) = syntax.items[0], case .function(let add) = syntax.items[1],
      case .externFunction(let ext) = syntax.items[2], case .importDecl(let imp) = syntax.items[3]
    else { return XCTFail("unexpected items") }
    XCTAssertEqual(spanText(test.span), "#[test] fn t() { }")
    XCTAssertEqual(spanText(test.signatureSpan), "#[test] fn t()")
    XCTAssertEqual(spanText(add.signatureSpan), "fn add(a: i64, b: i64) -> i64")
    XCTAssertTrue(spanText(add.span).hasPrefix("fn add("))
    XCTAssertTrue(spanText(add.span).hasSuffix("sum\n}"))
    XCTAssertEqual(spanText(add.name.span), "add")
    XCTAssertEqual(add.params.map { spanText($0.span) }, ["a: i64", "b: i64"])
    XCTAssertEqual(add.params.map { spanText($0.type.span) }, ["i64", "i64"])
    XCTAssertEqual(add.returnType.map { spanText($0.span) }, "i64")
    XCTAssertEqual(spanText(ext.span), "extern fn ext(x: f64) -> f64;")
    XCTAssertEqual(spanText(imp.span), "import a.b;")
    XCTAssertEqual(imp.path.map { spanText($0.span) }, ["a", "b"])

    let statements = add.body.statements
    XCTAssertEqual(
      statements.map { spanText($0.span) }, ["let sum = a + b * 2;", "sum += f(a, b);", "sum"])
    guard case .letBinding(_, _, let value) = statements[0].kind,
      case .binary(_, let left, let right, let operatorSpan) = value.kind,
      case .assign(let target, _, let assignSpan, let call) = statements[1].kind
    else { return XCTFail("unexpected statements") }
    XCTAssertEqual(spanText(value.span), "a + b * 2")
    XCTAssertEqual(spanText(left.span), "a")
    XCTAssertEqual(spanText(right.span), "b * 2")
    XCTAssertEqual(spanText(operatorSpan), "+")
    XCTAssertEqual(spanText(target.span), "sum")
    XCTAssertEqual(spanText(assignSpan), "+=")
    XCTAssertEqual(spanText(call.span), "f(a, b)")
  }

  func testExpressionSpans() {
    let source = "x = -(a as i32) + `t{b}` + if c { 1 } else if d { 2 } else { 3 };"
    let (syntax, diagnostics, file) = parse(source)
    XCTAssertEqual(diagnostics, [])
    guard case .statement(let statement) = syntax.items.first,
      case .assign(_, _, _, let value) = statement.kind,
      case .binary(_, let leftSum, let ifExpr, _) = value.kind,
      case .binary(_, let negation, let template, _) = leftSum.kind,
      case .unary(_, let paren, let negateSpan) = negation.kind,
      case .parenthesized(let cast) = paren.kind,
      case .ifElse(let arms, let elseBlock?) = ifExpr.kind, arms.count == 2
    else { return XCTFail("unexpected shape") }
    XCTAssertEqual(file.text(of: statement.span), source)
    XCTAssertEqual(file.text(of: negation.span), "-(a as i32)")
    XCTAssertEqual(file.text(of: negateSpan), "-")
    XCTAssertEqual(file.text(of: paren.span), "(a as i32)")
    XCTAssertEqual(file.text(of: cast.span), "a as i32")
    XCTAssertEqual(file.text(of: template.span), "`t{b}`")
    XCTAssertEqual(file.text(of: ifExpr.span), "if c { 1 } else if d { 2 } else { 3 }")
    XCTAssertEqual(file.text(of: arms[0].body.span), "{ 1 }")
    XCTAssertEqual(file.text(of: arms[1].span), "if d { 2 } else { 3 }")
    XCTAssertEqual(file.text(of: elseBlock.span), "{ 3 }")
  }

  func testLoopAndControlSpans() {
    let source = "for i in 0..=n { break; }"
    let (syntax, _, file) = parse(source)
    guard case .statement(let loop) = syntax.items.first,
      case .forLoop(let variable, let start, let end, true, let body) = loop.kind
    else { return XCTFail("unexpected shape") }
    XCTAssertEqual(file.text(of: loop.span), source)
    XCTAssertEqual(file.text(of: variable.span), "i")
    XCTAssertEqual(file.text(of: start.span), "0")
    XCTAssertEqual(file.text(of: end.span), "n")
    XCTAssertEqual(file.text(of: body.span), "{ break; }")
    XCTAssertEqual(file.text(of: body.statements[0].span), "break;")
  }

  // MARK: Error messages

  func testExpectedTokenMessages() {
    assertError("fn main() { let x = 1 }", .expectedToken, "expected `;`, found `}`", at: "}")
    assertError("fn main() { f(1) g(2); }", .expectedToken, "expected `;`, found `g`", at: "g")
    assertError(
      "fn main() { let x = f(1; }", .expectedToken, "expected `,` or `)`, found `;`", at: ";")
    assertError("fn main() { let = 1; }", .expectedToken, "expected identifier, found `=`", at: "=")
    assertError(
      "fn main() { let fn = 1; }", .expectedToken, "expected identifier, found keyword `fn`",
      at: "fn")
    assertError("fn main() { let x: 5 = 1; }", .expectedToken, "expected type, found `5`", at: "5")
    assertError("fn f(a i64) { }", .expectedToken, "expected `:`, found `i64`", at: "i64")
    assertError("fn f() i64 { }", .expectedToken, "expected `->` or `{`, found `i64`", at: "i64")
    assertError("extern fn f() { }", .expectedToken, "expected `->` or `;`, found `{`", at: "{")
    assertError(
      "for i in 0 ; { }", .expectedToken, "expected `..`, `..=` or `{`, found `;`", at: ";")
    assertError("if a { } else x", .expectedToken, "expected `{` or `if`, found `x`", at: "x")
    assertError("import a.;", .expectedToken, "expected identifier, found `;`", at: ";")
    assertError("x = `a{b c}`;", .expectedToken, "expected `}`, found `c`", at: "c")
  }

  func testExpectedExpressionMessages() {
    assertError(
      "fn main() { f((1 + ), 2); g(); }", .expectedExpression, "expected expression, found `)`",
      at: ")")
    assertError(
      "fn main() { f(1, , 2); }", .expectedExpression, "expected expression, found `,`", at: ",")
    assertError("let x = ;", .expectedExpression, "expected expression, found `;`", at: ";")
    assertError("x = `{}`;", .expectedExpression, "expected expression, found `}`", at: "}")
    assertError(
      "let x = 1 + else;", .expectedExpression, "expected expression, found keyword `else`",
      at: "else")
  }

  func testUnclosedBlockAtEndOfFile() {
    guard let (diagnostic, source) = onlyError("fn main() {\n  let x = 1;\n") else { return }
    XCTAssertEqual(diagnostic.message, "expected `}`, found end of file")
    XCTAssertEqual(diagnostic.span?.start, source.bytes.count)
    XCTAssertEqual(diagnostic.labels.map { source.text(of: $0.span) }, ["{"])
    XCTAssertEqual(diagnostic.labels.map(\.message), ["unclosed delimiter"])
  }

  func testUnclosedBlockBeforeNextItemKeepsTheItem() {
    let (syntax, diagnostics, _) = parse("fn a() {\n  let x = 1;\n\nfn b() { }")
    XCTAssertEqual(diagnostics.map(\.message), ["expected `}`, found keyword `fn`"])
    XCTAssertEqual(
      syntax.items.map(SExpression.item), ["(fn a (block (let x 1)))", "(fn b (block))"])
  }

  func testInvalidAssignmentTarget() {
    assertError(
      "fn main() { a + b = 1; }", .invalidAssignmentTarget, "invalid left-hand side of assignment",
      at: "a + b")
    assertError(
      "fn main() { f(x) += 1; }", .invalidAssignmentTarget, "invalid left-hand side of assignment",
      at: "f(x)")
  }

  func testStrayClosingBrace() {
    assertError("fn main() { } }", .expectedItem, "unexpected closing delimiter `}`", at: "}")
  }

  func testDeepNestingIsAnErrorNotACrash() {
    let depth = 10_000
    let text =
      "let x = " + String(repeating: "(", count: depth) + "1"
      + String(repeating: ")", count: depth) + ";\nlet y = 2;"
    let (syntax, diagnostics, _) = parse(text)
    XCTAssertEqual(diagnostics.map(\.code), [.nestingTooDeep])
    XCTAssertEqual(syntax.items.map(SExpression.item), ["(let x <invalid>)", "(let y 2)"])
  }

  func testElseIfArmsDoNotNest() {
    let arms = 10_000
    let text =
      "fn f(a: i64) -> i64 { if a == 0 { 0 }"
      + (1..<arms).map { " else if a == \($0) { \($0) }" }.joined() + " else { -1 } }"
    let (syntax, diagnostics, _) = parse(text)
    XCTAssertEqual(diagnostics.map(\.message), [])
    guard case .function(let function) = syntax.items.first,
      case .expression(let value, _) = function.body.statements.first?.kind,
      case .ifElse(let chain, let elseBlock?) = value.kind
    else { return XCTFail("unexpected shape") }
    XCTAssertEqual(chain.count, arms)
    XCTAssertEqual(elseBlock.statements.count, 1)
    XCTAssertLessThan(value.height, 10, "the arms are a list")
  }

  func testAChainTallerThanTheLimitIsAnErrorNotACrash() {
    // The tree is released inside the parser when the error unwinds, which recurses once
    // per level: the compiler's stack, as in holoc.
    let (diagnostics, items) = CompilerThread.run { () -> ([Diagnostic], [String]) in
      let links = Parser.maximumHeight + 10
      let text =
        "let x = " + String(repeating: "a + ", count: links) + "a;\nlet y = 2;"
      let (syntax, diagnostics, _) = parse(text)
      return (diagnostics, syntax.items.map(SExpression.item))
    }
    XCTAssertEqual(
      diagnostics.map(\.message),
      ["expression is too long (more than 1000000 levels of operators and nesting)"])
    XCTAssertEqual(items, ["(let x <invalid>)", "(let y 2)"])
  }

  // MARK: Recovery

  func testThreeSeparateErrorsYieldThreeDiagnostics() {
    let source = """
      fn first() -> i64 {
        let a = 1 +;
        a
      }

      fn second() {
        let b = (2;
        println(b);
      }

      #[bench]
      fn third() {
        if x { } else { }
      }

      fn fine() -> i64 { 42 }
      """
    let (syntax, diagnostics, file) = parse(source)
    XCTAssertEqual(
      diagnostics.map(\.message),
      [
        "expected expression, found `;`",
        "expected `)`, found `;`",
        "expected `#[test]` attribute, found `#[bench]`",
      ])
    XCTAssertEqual(diagnostics.map { file.location(of: $0.span!.start).line }, [2, 7, 11])
    XCTAssertEqual(
      syntax.items.compactMap { item -> String? in
        guard case .function(let function) = item else { return nil }
        return function.name.name
      }, ["first", "second", "third", "fine"])
  }

  func testEachMistakeIsReportedOnce() {
    let source = """
      fn main() {
        let a = ) + 1;
        let b = 2
        let c = 3;
        f(a b c);
        x = 1 @ 2;
      }
      """
    let (syntax, diagnostics, file) = parse(source)
    XCTAssertEqual(
      diagnostics.map(\.message),
      [
        "expected expression, found `)`",
        "expected `;`, found keyword `let`",
        "expected `,` or `)`, found `b`",
        "unexpected character `@`",
      ])
    // The missing `;` is reported at the end of line 3, where it belongs.
    XCTAssertEqual(diagnostics.map { file.location(of: $0.span!.start).line }, [2, 3, 5, 6])
    guard case .function(let main) = syntax.items.first else { return XCTFail("no main") }
    // Both `let b` and `let c` survive the missing `;` between them.
    let statements = main.body.statements.map(SExpression.statement)
    XCTAssertTrue(
      statements.contains("(let b 2)") && statements.contains("(let c 3)"), "\(statements)")
  }

  /// Asserts `text` has exactly one error, `message`, at the empty span just after the
  /// first occurrence of `before`, labelled "add `symbol` here"; returns the items.
  private func assertForgottenAtLineEnd(
    _ text: String, _ message: String, after before: String, adding symbol: String,
    file: StaticString = #filePath, line: UInt = #line
  ) -> [String] {
    let (syntax, diagnostics, _) = parse(text)
    XCTAssertEqual(diagnostics.map(\.message), [message], file: file, line: line)
    let expected = text.utf8.distance(
      from: text.startIndex, to: text.range(of: before)!.upperBound)
    XCTAssertEqual(diagnostics.first?.span?.start, expected, file: file, line: line)
    XCTAssertEqual(diagnostics.first?.span?.end, expected, file: file, line: line)
    XCTAssertEqual(
      diagnostics.first?.labels.map(\.message), ["add `\(symbol)` here"], file: file, line: line)
    XCTAssertEqual(
      diagnostics.first?.labels.first?.span, diagnostics.first?.span, file: file, line: line)
    return syntax.items.map(SExpression.item)
  }

  func testASemicolonForgottenAtTheEndOfALineIsReportedThereAndKeepsBothStatements() {
    XCTAssertEqual(
      assertForgottenAtLineEnd(
        "let a = 1\nlet b = 2;", "expected `;`, found keyword `let`", after: "= 1", adding: ";"),
      ["(let a 1)", "(let b 2)"])
    XCTAssertEqual(
      assertForgottenAtLineEnd(
        "foo()\nbar(x);", "expected `;`, found `bar`", after: "foo()", adding: ";"),
      ["(call foo)", "(call bar x);"])
    XCTAssertEqual(
      assertForgottenAtLineEnd(
        "x = 1\n// why\ny += 2;", "expected `;`, found `y`", after: "= 1", adding: ";"),
      ["(= x 1)", "(+= y 2)"])
    XCTAssertEqual(
      assertForgottenAtLineEnd(
        "fn f() -> i64 {\n  return 1\n  g();\n}", "expected `;`, found `g`", after: "return 1",
        adding: ";"),
      ["(fn f -> i64 (block (return 1) (call g);))"])
    XCTAssertEqual(
      assertForgottenAtLineEnd(
        "fn f() {\n  let a = 1\n}", "expected `;`, found `}`", after: "= 1", adding: ";"),
      ["(fn f (block (let a 1)))"])
    XCTAssertEqual(
      assertForgottenAtLineEnd(
        "let a = 1\n", "expected `;`, found end of file", after: "= 1", adding: ";"),
      ["(let a 1)"])
  }

  func testAMissingSemicolonWithinALineSkipsTheRestButKeepsTheStatement() {
    let (syntax, diagnostics, source) = parse("let a = 1 2 3;\nf(a) g(a);\nlet b = a;")
    XCTAssertEqual(
      diagnostics.map(\.message), ["expected `;`, found `2`", "expected `;`, found `g`"])
    XCTAssertEqual(diagnostics.map { $0.span.map(source.text(of:)) }, ["2", "g"])
    XCTAssertEqual(diagnostics.map(\.labels.count), [0, 0])
    XCTAssertEqual(
      syntax.items.map(SExpression.item), ["(let a 1)", "(call f a)", "(let b a)"])
  }

  func testAForgottenClosingParenthesisKeepsWhatItCloses() {
    XCTAssertEqual(
      assertForgottenAtLineEnd(
        "let x = f(1, 2\nprintln(x);", "expected `,` or `)`, found `println`", after: "2",
        adding: ")"),
      ["(let x (call f 1 2))", "(call println x);"])
    XCTAssertEqual(
      assertForgottenAtLineEnd(
        "let x = (1 + 2\nprintln(x);", "expected `)`, found `println`", after: "2", adding: ")"),
      ["(let x (paren (+ 1 2)))", "(call println x);"])
    // Before a token no list continues into, the error points at that token.
    let (syntax, diagnostics, source) = parse("fn f(a: i64 {\n  a\n}\nlet y = g(f(1);\nf(y)")
    XCTAssertEqual(
      diagnostics.map(\.message),
      ["expected `,` or `)`, found `{`", "expected `,` or `)`, found `;`"])
    XCTAssertEqual(diagnostics.map { $0.span.map(source.text(of:)) }, ["{", ";"])
    XCTAssertEqual(
      syntax.items.map(SExpression.item),
      ["(fn f (a i64) (block a))", "(let y (call g (call f 1)))", "(call f y)"])
  }

  func testABrokenStatementKeepsWhatLaterCodeDependsOn() {
    // A `let` still binds its name, a `return` still returns, and a block's last
    // expression still gives the block's value; other broken statements are dropped.
    let (syntax, diagnostics, _) = parse(
      """
      let a = 1 +;
      let b: i64 = ) 2;
      fn f() -> i64 {
        return 1 * ;
      }
      fn g() -> i64 {
        h(;
        2 +
      }
      """)
    XCTAssertEqual(diagnostics.count, 5, "\(diagnostics.map(\.message))")
    XCTAssertEqual(
      syntax.items.map(SExpression.item),
      [
        "(let a <invalid>)", "(let b i64 <invalid>)", "(fn f -> i64 (block (return <invalid>)))",
        "(fn g -> i64 (block <invalid>))",
      ])
  }

  func testErrorsInsideTemplatesStayInside() {
    let (syntax, diagnostics, _) = parse("x = `a {1 +} b {c}`;\ny = 2;")
    XCTAssertEqual(diagnostics.map(\.message), ["expected expression, found `}`"])
    XCTAssertEqual(
      syntax.items.map(SExpression.item), [#"(= x (template "a " <invalid> " b " c))"#, "(= y 2)"])
  }

  func testTopLevelStatementErrorsRecover() {
    let (syntax, diagnostics, _) = parse("let x = 1 +;\nprintln(x);\nfn (a: i64) { a; }\nfoo();")
    XCTAssertEqual(
      diagnostics.map(\.message),
      ["expected expression, found `;`", "expected identifier, found `(`"])
    XCTAssertEqual(
      syntax.items.map(SExpression.item), ["(let x <invalid>)", "(call println x);", "(call foo);"])
  }

  // MARK: Performance

  func testLargeFileParsesInLinearTime() {
    var lines: [String] = []
    for index in 0..<2_000 {
      lines.append("fn f\(index)(a: i64, b: i64) -> i64 {")
      lines.append("  let c = a * \(index) + b << 2 as i64;")
      lines.append("  if c > 10 { println(`big {c}`); } else { c += 1; }")
      lines.append("  c")
      lines.append("}")
    }
    let text = lines.joined(separator: "\n")
    let start = ContinuousClock.now
    let (syntax, diagnostics, _) = parse(text)
    let elapsed = ContinuousClock.now - start
    XCTAssertEqual(diagnostics, [])
    XCTAssertEqual(syntax.items.count, 2_000)
    // Generous for unoptimised builds on a shared machine; release is far below 100 ms.
    XCTAssertLessThan(elapsed, .seconds(5))
  }
}

/// Renders syntax as compact S-expressions so tests can compare tree shapes.
private enum SExpression {
  static func item(_ item: Item) -> String {
    switch item {
    case .function(let function):
      let marker = function.isTest ? "test fn" : function.isExport ? "export fn" : "fn"
      return "(\(marker) \(function.name.name)\(signature(function.params, function.returnType))"
        + " \(block(function.body)))"
    case .externFunction(let function):
      return "(extern \(function.name.name)\(signature(function.params, function.returnType)))"
    case .importDecl(let declaration):
      return "(import \(declaration.path.map(\.name).joined(separator: ".")))"
    case .global(let global):
      return "(global \(global.name.name) \(global.type.name) \(expression(global.value)))"
    case .structure(let structure):
      let fields = structure.fields.map { field in
        " (\(field.name.name) \(field.type.name)\(field.defaultValue.map { " " + expression($0) } ?? ""))"
      }
      return "(struct \(structure.name.name)\(fields.joined()))"
    case .statement(let statement):
      return self.statement(statement)
    }
  }

  private static func signature(_ params: [Param], _ returnType: TypeSyntax?) -> String {
    let parameters = params.map { " (\($0.name.name) \($0.type.name))" }.joined()
    return parameters + (returnType.map { " -> \($0.name)" } ?? "")
  }

  static func block(_ block: Block) -> String {
    (["(block"] + block.statements.map(statement)).joined(separator: " ") + ")"
  }

  static func statement(_ statement: Stmt) -> String {
    switch statement.kind {
    case .letBinding(let name, let type, let value):
      return "(let \(name.name)\(type.map { " \($0.name)" } ?? "") \(expression(value)))"
    case .assign(let target, let op, _, let value):
      return "(\(op?.rawValue ?? "=") \(target.name) \(expression(value)))"
    case .assignElement(let target, let op, _, let value):
      return "(\(op?.rawValue ?? "=") \(expression(target)) \(expression(value)))"
    case .forEach(let variable, let array, let body):
      return "(for \(variable.name) in \(expression(array)) \(block(body)))"
    case .expression(let value, let hasSemicolon):
      return expression(value) + (hasSemicolon ? ";" : "")
    case .whileLoop(let condition, let body):
      return "(while \(expression(condition)) \(block(body)))"
    case .forLoop(let variable, let start, let end, let inclusive, let body):
      return "(for \(variable.name) \(expression(start)) \(inclusive ? "..=" : "..") "
        + "\(expression(end)) \(block(body)))"
    case .breakLoop: return "break"
    case .continueLoop: return "continue"
    case .returnValue(let value): return "(return\(value.map { " " + expression($0) } ?? ""))"
    }
  }

  static func expression(_ expression: Expr) -> String {
    switch expression.kind {
    case .integerLiteral(let value, let suffix):
      return "\(value)" + (suffix.map { ":" + $0.rawValue } ?? "")
    case .floatLiteral(let text, let suffix):
      return "(float \(text)\(suffix.map { " " + $0.rawValue } ?? ""))"
    case .boolLiteral(let value): return "\(value)"
    case .stringLiteral(let value): return value.debugDescription
    case .template(let parts):
      let rendered = parts.map { part -> String in
        switch part {
        case .text(let text): return " " + text.debugDescription
        case .interpolation(let value): return " " + self.expression(value)
        }
      }
      return "(template\(rendered.joined()))"
    case .name(let name): return name
    case .call(let callee, let arguments):
      return "(call \(([callee.name] + arguments.map(self.expression)).joined(separator: " ")))"
    case .unary(let op, let operand, _): return "(\(op.rawValue) \(self.expression(operand)))"
    case .binary(let op, let left, let right, _):
      return "(\(op.rawValue) \(self.expression(left)) \(self.expression(right)))"
    case .cast(let value, let type): return "(as \(self.expression(value)) \(type.name))"
    case .block(let body): return block(body)
    case .ifElse(let arms, let elseBlock):
      // Printed as the nested `if`s the chain stands for.
      let end = elseBlock.map { " " + block($0) } ?? ""
      let nested = arms.reversed().reduce(end) { rest, arm in
        " (if \(self.expression(arm.condition)) \(block(arm.body))\(rest))"
      }
      return String(nested.dropFirst())
    case .parenthesized(let inner): return "(paren \(self.expression(inner)))"
    case .arrayLiteral(let elements):
      return "(array\(elements.map { " " + self.expression($0) }.joined()))"
    case .arrayRepeat(let value, let count):
      return "(repeat \(self.expression(value)) \(self.expression(count)))"
    case .index(let base, let index):
      return "(index \(self.expression(base)) \(self.expression(index)))"
    case .methodCall(let receiver, let method, let arguments):
      return "(method \(self.expression(receiver)) \(method.name)"
        + "\(arguments.map { " " + self.expression($0) }.joined()))"
    case .field(let base, let name): return "(field \(self.expression(base)) \(name.name))"
    case .structLiteral(let name, let fields):
      return "(new \(name.name)"
        + fields.map { " (\($0.name.name) \(self.expression($0.value)))" }.joined() + ")"
    case .invalid: return "<invalid>"
    }
  }
}
