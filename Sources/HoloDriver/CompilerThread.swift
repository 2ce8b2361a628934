import Foundation
import HoloSema

/// Runs compiler work on a thread with a large stack. Every phase recurses a few times per
/// level of nesting, and releasing a syntax tree once per level of its height; the parser's
/// limits on both (`Parser.maximumNesting`, `Parser.maximumHeight`) keep every phase well
/// inside this stack (docs/DECISIONS.md). Only the pages a deep program touches cost
/// memory: the rest of the stack is address space.
public enum CompilerThread {
  public static let stackSize = 1 << 30

  /// Runs `body` on a new thread with the large stack and waits for it. If the system
  /// refuses such a thread (an address-space limit), `body` runs on the calling thread.
  public static func run<Result>(_ body: () -> Result) -> Result {
    withoutActuallyEscaping(body) { body in
      var result: Result?
      guard let thread = spawn(Work { result = body() }) else { return body() }
      pthread_join(thread, nil)
      return result!
    }
  }

  /// Starts `body` on a new thread with the large stack and returns at once. If the
  /// system refuses such a thread, a thread with the default stack runs it.
  public static func start(_ body: @escaping @Sendable () -> Void) {
    if let thread = spawn(Work(body)) {
      pthread_detach(thread)
    } else {
      Thread { body() }.start()
    }
  }

  /// The program database's workers: threads with the large stack, as the checker needs.
  public static let bodyCheckers: ProgramDatabase.Workers = { count, worker in
    runWorkers(count, worker)
  }

  /// Runs `worker` on `count` new threads with the large stack at once and waits for them
  /// all. Each worker takes work from a queue they share until none is left, so when the
  /// system refuses some of the threads, the calling thread runs one worker itself.
  static func runWorkers(_ count: Int, _ worker: @Sendable () -> Void) {
    withoutActuallyEscaping(worker) { worker in
      var threads: [pthread_t] = []
      for _ in 0..<count {
        guard let thread = spawn(Work(worker)) else { break }
        threads.append(thread)
      }
      if threads.count < count { worker() }
      for thread in threads { pthread_join(thread, nil) }
    }
  }

  private static func spawn(_ work: Work) -> pthread_t? {
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    guard pthread_attr_setstacksize(&attributes, stackSize) == 0 else { return nil }
    var thread = pthread_t()
    let context = Unmanaged.passRetained(work).toOpaque()
    let status = pthread_create(
      &thread, &attributes,
      { context in
        Unmanaged<Work>.fromOpaque(context!).takeRetainedValue().body()
        return nil
      }, context)
    guard status == 0 else {
      Unmanaged<Work>.fromOpaque(context).release()
      return nil
    }
    return thread
  }
}

/// What `CompilerThread.runWorkers`' workers produce: a value per index of their work,
/// or the first failure, after which the workers stop taking work.
final class WorkerResults<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var results: [Value?]
  private var firstFailure: String?

  init(count: Int) { results = Array(repeating: nil, count: count) }

  func set(_ value: Value, at index: Int) { lock.withLock { results[index] = value } }

  func fail(_ message: String) { lock.withLock { firstFailure = firstFailure ?? message } }

  var failed: Bool { lock.withLock { firstFailure != nil } }

  var failure: String? { lock.withLock { firstFailure } }

  /// Every index's value, once the workers set them all.
  var values: [Value] { lock.withLock { results.map { $0! } } }
}

/// The body handed to a new thread. `run`'s caller waits for the thread, so what the body
/// captures is never used by two threads at once; `runWorkers`' workers are `Sendable`.
private final class Work: @unchecked Sendable {
  let body: () -> Void

  init(_ body: @escaping () -> Void) { self.body = body }
}
