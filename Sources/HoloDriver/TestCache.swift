import HoloCache
import HoloCodegen
import HoloIR
import HoloSource

/// Which tests need not run again: a test that passed is recorded in the build cache under
/// the fingerprint of everything it can reach, and while that is unchanged it is reported
/// as passed, with the output it had, instead of being run.
///
/// The key covers the test's name, the fingerprints of every function it can reach (the
/// globals' initializers, which run before it, included; their
/// code, and by their callee keys the signatures they call), the runtime it links, holoc's
/// version, the build settings and the time limit. A test that can reach an `extern fn` is
/// never cached: its C code is outside what holoc fingerprints.
struct TestCache {
  private let cache: BuildCache
  private let keys: [FunctionID: CacheKey]

  /// The keys of `tests` of `program`.
  init(
    cache: BuildCache, tests: [IRFunction], program: IRProgram,
    fingerprints: ProgramFingerprints, context: [(label: String, value: String)]
  ) {
    self.cache = cache
    let fingerprints = fingerprints.byFunction
    var keys: [FunctionID: CacheKey] = [:]
    // Every test runs every global's initializer first.
    let initializers = program.globals.map(\.initializer)
    for test in tests {
      var reached = Set([test.id] + initializers)
      var work = Array(reached)
      var callsExtern = false
      while let next = work.popLast() {
        let fingerprint = fingerprints[next]!
        callsExtern = callsExtern || fingerprint.callsExtern
        for callee in fingerprint.callees where reached.insert(callee).inserted {
          work.append(callee)
        }
      }
      guard !callsExtern else { continue }
      var builder = CacheKey.Builder(kind: "test-result")
      for (label, value) in context { builder.add(label, value) }
      builder.add("test", test.name)
      let reachedKeys = reached.map { (Symbols.key(of: program.function($0), in: program), $0) }.sorted {
        $0.0 < $1.0
      }
      for (key, id) in reachedKeys { builder.add(key, fingerprints[id]!.digest.bytes) }
      keys[test.id] = builder.key
    }
    self.keys = keys
  }

  /// The output `test` had when it last passed with everything it reaches as it is now;
  /// nil when it has to run.
  func passedOutput(of test: IRFunction) -> String? {
    guard let key = keys[test.id], let outputs = cache.lookup(key),
      let output = outputs.first(where: { $0.name == "output" })
    else { return nil }
    return String(decoding: output.bytes, as: UTF8.self)
  }

  /// Records that `test` passed, printing `output`.
  func recordPass(of test: IRFunction, output: String) {
    guard let key = keys[test.id] else { return }
    cache.store(key, [CacheOutput(name: "output", bytes: Array(output.utf8))])
  }
}
