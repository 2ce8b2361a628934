import Foundation
import HoloIR
import XCTest

/// The type table: identities that survive edits, and layouts that are C's (checked
/// against the C compiler holoc links with).
final class TypeTableTests: XCTestCase {
  private static let cTypes: [IRType: String] = [
    .bool: "_Bool", .u8: "uint8_t", .i32: "int32_t", .u32: "uint32_t", .i64: "int64_t",
    .u64: "uint64_t",
    .f32: "float", .f64: "double", .string: "void *",
  ]

  /// Structs whose fields are scalars, in C's worst orders for padding.
  private static let structs: [[IRType]] = [
    [.bool, .i64, .i32],
    [.i32, .bool],
    [.bool, .bool, .f32, .bool, .f64],
    [.u64, .bool],
    [.f32, .string, .u32],
    [.bool],
    [.u8, .i32, .u8, .u8, .i64, .u8],
  ]

  private func layout(_ types: [IRType]) -> StructLayout {
    StructLayout(fields: types.enumerated().map { ("f\($0.offset)", $0.element.layout) })
  }

  func testPaddingFollowsCsRules() {
    let padded = layout([.bool, .i64, .i32])
    XCTAssertEqual(padded.fields.map(\.offset), [0, 8, 16])
    XCTAssertEqual(padded.layout, TypeLayout(size: 24, alignment: 8))
    XCTAssertEqual(layout([.i32, .bool]).layout, TypeLayout(size: 8, alignment: 4))
    XCTAssertEqual(layout([]).layout, TypeLayout(size: 0, alignment: 1))
    // A struct inside a struct is placed by its own layout; arrays step by the stride.
    let outer = StructLayout(fields: [("flag", IRType.bool.layout), ("inner", padded.layout)])
    XCTAssertEqual(outer.field(named: "inner")?.offset, 8)
    XCTAssertEqual(outer.layout.size, 32)
    XCTAssertEqual(layout([.i64, .bool]).layout.stride, 16)
    XCTAssertEqual(IRType.unit.layout.stride, 0)
  }

  func testLayoutsAgreeWithTheCCompiler() throws {
    var program = "#include <stdio.h>\n#include <stdint.h>\n#include <stddef.h>\n"
    var expected = ""
    for (index, types) in Self.structs.enumerated() {
      let fields = types.enumerated().map { "\(Self.cTypes[$0.element]!) f\($0.offset);" }
      program += "struct s\(index) { \(fields.joined(separator: " ")) };\n"
      let computed = layout(types)
      expected += "\(computed.layout.size) \(computed.layout.alignment)"
      expected += computed.fields.map { " \($0.offset)" }.joined() + "\n"
    }
    program += "int main(void) {\n"
    for (index, types) in Self.structs.enumerated() {
      let name = "struct s\(index)"
      program += "  printf(\"%zu %zu\", sizeof(\(name)), _Alignof(\(name)));\n"
      for field in types.indices {
        program += "  printf(\" %zu\", offsetof(\(name), f\(field)));\n"
      }
      program += "  printf(\"\\n\");\n"
    }
    program += "  return 0;\n}\n"
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "holo-layout-\(UUID().uuidString)"
    ).path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try program.write(toFile: "\(folder)/layout.c", atomically: true, encoding: .utf8)
    let environment = ProcessInfo.processInfo.environment
    let compiled = try runCapturingOutput(
      "/usr/bin/env", ["cc", "-o", "\(folder)/layout", "\(folder)/layout.c"],
      environment: environment)
    XCTAssertEqual(compiled.status, 0, compiled.stderr)
    XCTAssertEqual(
      try runCapturingOutput("\(folder)/layout", [], environment: environment).stdout, expected)
  }

  func testIdentitiesSurviveRedefinitionAndRemoval() {
    var table = TypeTable()
    let point = table.identity(of: "Point")
    let enemy = table.identity(of: "Enemy")
    XCTAssertNotEqual(point, enemy)
    table.define(point, named: "Point", as: layout([.f64, .f64]))
    table.define(enemy, named: "Enemy", as: layout([.i64]))
    // A new field: same identity, new layout.
    table.define(point, named: "Point", as: layout([.f64, .f64, .bool]))
    XCTAssertEqual(table.identity(of: "Point"), point)
    XCTAssertEqual(table[point]?.layout.layout.size, 24)
    table.remove(enemy)
    XCTAssertNil(table[enemy])
    XCTAssertEqual(table.definedTypes, [point])
    XCTAssertEqual(table.identity(of: "Enemy"), enemy, "a declaration added back is the same type")
  }
}
