import HoloIR

/// Some functions that a dev build compiles into an object of their own, so that an edit
/// generates again only the chunk holding it (docs/ARCHITECTURE.md).
///
/// Boundaries are content-defined: a chunk ends after a function whose stable hash of its
/// symbol key (name and signature) is a multiple of `boundaryModulus`. Where a chunk ends
/// therefore depends on the functions around the boundary, never on their positions:
/// inserting, removing or editing a function changes the chunk holding it (and, when the
/// function itself ends a chunk, merges or splits it with its neighbour), and leaves
/// every other chunk's functions as they were. File ends are no boundaries, so a program
/// of many small files is not many small chunks.
public struct CodeChunk: Sendable, Hashable {
  /// In the program's order.
  public let functions: [FunctionID]

  public init(functions: [FunctionID]) {
    self.functions = functions
  }

  /// One chunk ends after one function in this many, on average (docs/DECISIONS.md).
  public static let boundaryModulus: UInt64 = 128
  /// And at the latest after this many functions: what an edit may have to compile again
  /// stays bounded (a run this long without a boundary is cut where it reaches the size,
  /// so an insertion in it moves only the cuts after it, up to the run's end).
  public static let maximumFunctions = 256

  /// The program's functions, in the program's order (files in load order, each in source
  /// order), cut after each function that `endsChunk` and where a chunk reaches
  /// `maximumFunctions`.
  public static func partition(_ program: IRProgram) -> [CodeChunk] {
    var chunks: [CodeChunk] = []
    var current: [FunctionID] = []
    for function in program.functions {
      current.append(function.id)
      if endsChunk(function) || current.count == maximumFunctions {
        chunks.append(CodeChunk(functions: current))
        current = []
      }
    }
    if !current.isEmpty { chunks.append(CodeChunk(functions: current)) }
    return chunks
  }

  /// Whether a chunk ends after `function`: a property of its name and signature alone
  /// (as written: a struct's layout changing moves no boundary).
  public static func endsChunk(_ function: IRFunction) -> Bool {
    let signature = function.parameterTypes.map(\.description).joined(separator: ",")
    return stableHash("\(function.name)(\(signature))->\(function.returnType)") % boundaryModulus
      == 0
  }

  /// FNV-1a over the UTF-8 bytes, then the 64-bit finaliser of MurmurHash3 so that the low
  /// bits (which the modulus reads) depend on every byte: the same in every process, unlike
  /// `Hasher`.
  static func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
      hash ^= UInt64(byte)
      hash = hash &* 0x100_0000_01b3
    }
    hash ^= hash >> 33
    hash = hash &* 0xff51_afd7_ed55_8ccd
    hash ^= hash >> 33
    hash = hash &* 0xc4ce_b9fe_1a85_ec53
    hash ^= hash >> 33
    return hash
  }
}
