import Foundation
import HoloCache
import HoloCodegen
import HoloIR
import HoloSource

/// The digest of everything one function's machine code depends on. Two functions with
/// the same fingerprint compile to the same code, so only functions whose fingerprint
/// changed need patching, and a test whose reachable functions' fingerprints are all
/// unchanged would do what it did last time. It is the same in every holoc process (a
/// SHA-256 of a fixed encoding), so it can key entries of the persistent cache.
///
/// It hashes the source, not the typed IR: the IR is made from the function's text, its
/// file, the column it starts at and what each project-wide name its body read was (the
/// program database keeps them: `IRFunction.reads`), by a compiler every cache key names.
/// So a function whose check was deferred (its body known clean from a record) has its
/// fingerprint without its code being made. Callees are named by name and signature
/// (`Symbols.key`), so a caller's fingerprint changes when a callee's signature does. The
/// start line is left out, so a function that only moved up or down in its file keeps its
/// fingerprint: the live loop then writes its new start line into its line-base cell
/// instead of patching it. Every variable-length part has its length in front, so
/// different functions cannot encode alike.
public enum Fingerprint {
  /// The fingerprint of `function`, its direct callees, and whether it calls an extern.
  public static func of(_ function: IRFunction, in program: IRProgram, sources: SourceManager)
    -> (digest: ContentDigest, callees: Set<FunctionID>, callsExtern: Bool)
  {
    of(function, in: program, sources: sources) {
      Symbols.key(of: program.function($0), in: program)
    }
  }

  /// `of`, with each function's `Symbols.key` from `key`.
  static func of(
    _ function: IRFunction, in program: IRProgram, sources: SourceManager,
    key: (FunctionID) -> String
  ) -> (digest: ContentDigest, callees: Set<FunctionID>, callsExtern: Bool) {
    let file = sources.file(function.span.file)
    var encoder = StableEncoder()
    encoder.combine(key(function.id))
    encoder.combine(case: function.kind)
    encoder.combine(function.isExport)
    encoder.combine(file.path)
    encoder.combine(file.location(of: function.extent.start).column)
    encoder.combine(file.bytes[function.extent.start..<function.extent.end])
    var callees: Set<FunctionID> = []
    var callsExtern = false
    encoder.combine(function.reads.count)
    for read in function.reads {
      encoder.combine(read.name)
      switch read.target {
      case nil:
        encoder.combine(UInt8(0))
      case .function(let callee):
        callees.insert(callee)
        encoder.combine(UInt8(1))
        encoder.combine(key(callee))
      case .external(let callee):
        let external = program.external(callee)
        callsExtern = true
        encoder.combine(UInt8(2))
        encoder.combine(external.parameterTypes.count)
        for type in external.parameterTypes { encoder.combine(program.spelling(of: type)) }
        encoder.combine(program.spelling(of: external.returnType))
      case .global(let id):
        // Its storage's symbol: its name and type, with the layouts the type holds.
        let global = program.function(id)
        encoder.combine(UInt8(3))
        encoder.combine(program.spelling(of: global.returnType))
      case .structure(let name):
        encoder.combine(UInt8(4))
        encoder.combine(program.spelling(of: .structure(name)))
      }
    }
    // Code depends on the layout of every struct it handles. Each comes into a body from
    // something it read, each spelled with its layouts (transitively) above: its own
    // signature, a callee's, a global's type, a struct it names; a field's struct is part
    // of its holder's spelling. So a layout change changes exactly the fingerprints of the
    // code that handles values of it.
    return (ContentDigest(of: encoder.bytes), callees, callsExtern)
  }
}

/// Every function's fingerprint, computed once per command for all that key by them (the
/// program's objects, the tests' results), on as many threads as there are cores.
struct ProgramFingerprints {
  typealias FunctionFingerprint = (
    digest: ContentDigest, callees: Set<FunctionID>, callsExtern: Bool
  )

  let byFunction: [FunctionID: FunctionFingerprint]
  /// Every function's `Symbols.key`, by `FunctionID.index`: spelled once per command, for
  /// the fingerprints and the cache keys that name the functions.
  private let keys: [String]

  func key(of id: FunctionID) -> String { keys[id.index] }

  /// Functions fingerprinted per turn of a thread: enough that taking work costs nothing.
  private static let batchSize = 256

  init(_ program: IRProgram, sources: SourceManager) {
    let functions = program.functions
    let keys = Self.inBatches(of: functions) { Symbols.key(of: $0, in: program) }
    var keysByIndex = Array(repeating: "", count: (functions.map(\.id.index).max() ?? -1) + 1)
    for (function, key) in zip(functions, keys) { keysByIndex[function.id.index] = key }
    let byIndex = keysByIndex
    self.keys = byIndex
    let results = Self.inBatches(of: functions) {
      Fingerprint.of($0, in: program, sources: sources) { byIndex[$0.index] }
    }
    byFunction = Dictionary(
      zip(functions.map(\.id), results), uniquingKeysWith: { first, _ in first })
  }

  /// `transform` of each of `functions`, in their order, on as many threads as there are
  /// cores.
  private static func inBatches<Value>(
    of functions: ChunkedArray<IRFunction>, _ transform: @Sendable (IRFunction) -> Value
  ) -> [Value] {
    let batches = WorkQueue(count: (functions.count + batchSize - 1) / batchSize)
    let results = WorkerResults<[Value]>(count: batches.count)
    CompilerThread.runWorkers(min(ProcessInfo.processInfo.activeProcessorCount, batches.count)) {
      while let batch = batches.next() {
        let range = batch * batchSize..<min((batch + 1) * batchSize, functions.count)
        results.set(range.map { transform(functions[$0]) }, at: batch)
      }
    }
    return Array(results.values.joined())
  }
}

/// A fixed encoding of what `Fingerprint` hashes, the same in every process (unlike
/// `Hasher`, which is seeded per process): integers as 8 bytes little-endian, text and
/// byte runs with their length in front, enumeration cases by name.
private struct StableEncoder {
  private(set) var bytes: [UInt8] = []

  mutating func combine(_ value: Int) {
    withUnsafeBytes(of: Int64(value).littleEndian) { bytes.append(contentsOf: $0) }
  }

  mutating func combine(_ value: UInt8) { bytes.append(value) }

  mutating func combine(_ value: Bool) { bytes.append(value ? 1 : 0) }

  mutating func combine(_ value: String) {
    combine(value.utf8.count)
    bytes.append(contentsOf: value.utf8)
  }

  mutating func combine(_ value: ArraySlice<UInt8>) {
    combine(value.count)
    bytes.append(contentsOf: value)
  }

  /// An enumeration without payloads: its case name.
  mutating func combine<Case: RawRepresentable>(case value: Case) where Case.RawValue == String {
    combine(value.rawValue)
  }
}
