/// Where data types live: every type has a layout, and a named type (a struct, issue 10)
/// an identity that survives edits. The program database gives identities per name, as it
/// does functions, so an edit elsewhere never renumbers a type; a type's definition, and
/// so its layout, may change under the same identity — what a live migration (issue 11)
/// converts values between. docs/ARCHITECTURE.md, "Types".

/// A named type's identity: stable across edits for as long as the name exists.
public struct TypeID: Hashable, Sendable, Comparable {
  public let index: Int
  public init(_ index: Int) { self.index = index }
  public static func < (a: TypeID, b: TypeID) -> Bool { a.index < b.index }
}

/// How a value is stored in memory (a struct field, an array element, a global): the C
/// ABI's size and alignment, so data crosses `extern fn` and `export fn` as C sees it.
public struct TypeLayout: Hashable, Sendable, CustomStringConvertible {
  /// Bytes a value occupies.
  public let size: Int
  /// A power of two; the value's address is a multiple of it.
  public let alignment: Int

  public init(size: Int, alignment: Int) {
    precondition(size >= 0 && alignment > 0 && alignment & (alignment - 1) == 0)
    self.size = size
    self.alignment = alignment
  }

  /// The distance between consecutive elements of an array of such values.
  public var stride: Int { Self.roundUp(size, to: alignment) }

  public var description: String { "size \(size), align \(alignment)" }

  static func roundUp(_ value: Int, to alignment: Int) -> Int {
    (value + alignment - 1) & ~(alignment - 1)
  }
}

extension IRType {
  /// How a value of the type is stored. A `string` or an array is a pointer to its
  /// reference-counted buffer; `()` and `!` hold nothing.
  public var layout: TypeLayout {
    switch self {
    case .bool, .u8: return TypeLayout(size: 1, alignment: 1)
    case .i32, .u32, .f32: return TypeLayout(size: 4, alignment: 4)
    case .i64, .u64, .f64, .string, .array: return TypeLayout(size: 8, alignment: 8)
    case .structure: preconditionFailure("a struct's layout comes from its fields")
    case .unit, .never: return TypeLayout(size: 0, alignment: 1)
    }
  }
}

/// A struct's fields in declaration order and where each is stored, by C's rules: each
/// field at the next multiple of its alignment, the struct aligned as its most aligned
/// field and its size a multiple of that.
public struct StructLayout: Hashable, Sendable {
  public struct Field: Hashable, Sendable {
    public let name: String
    public let layout: TypeLayout
    /// Bytes from the start of the struct.
    public let offset: Int
  }

  public let fields: [Field]
  public let layout: TypeLayout

  /// The layout of a struct whose fields, in order, are `fields`.
  public init(fields: [(name: String, layout: TypeLayout)]) {
    var placed: [Field] = []
    var end = 0
    var alignment = 1
    for field in fields {
      let offset = TypeLayout.roundUp(end, to: field.layout.alignment)
      placed.append(Field(name: field.name, layout: field.layout, offset: offset))
      end = offset + field.layout.size
      alignment = max(alignment, field.layout.alignment)
    }
    self.fields = placed
    layout = TypeLayout(size: TypeLayout.roundUp(end, to: alignment), alignment: alignment)
  }

  public func field(named name: String) -> Field? { fields.first { $0.name == name } }
}

/// The named types of a program: each identity's name and current layout. A body that
/// uses a named type reads its layout, so a changed layout re-checks exactly those bodies
/// (the program database's early cutoff) and gives every function that holds such a value
/// a new slot (issue 11: the layout is part of the slot key).
public struct TypeTable: Sendable {
  public struct Entry: Hashable, Sendable {
    public let name: String
    public let layout: StructLayout
  }

  private var entries: [TypeID: Entry] = [:]
  private var identities: [String: TypeID] = [:]

  public init() {}

  /// The identity of the type named `name`: the one it had before, or a new one.
  public mutating func identity(of name: String) -> TypeID {
    if let known = identities[name] { return known }
    let id = TypeID(identities.count)
    identities[name] = id
    return id
  }

  /// Gives the type `id` (its current definition) the layout `layout`.
  public mutating func define(_ id: TypeID, named name: String, as layout: StructLayout) {
    entries[id] = Entry(name: name, layout: layout)
  }

  /// Forgets the definition of `id` (its declaration was removed); the identity stays
  /// reserved for its name, so a declaration added back is the same type.
  public mutating func remove(_ id: TypeID) { entries[id] = nil }

  public subscript(id: TypeID) -> Entry? { entries[id] }

  /// The defined types, by identity.
  public var definedTypes: [TypeID] { entries.keys.sorted() }
}
