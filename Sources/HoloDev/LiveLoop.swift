import Foundation
import HoloDriver
import HoloSource

/// How `holoc dev` restarts the program when a change cannot be applied live.
public enum RestartPolicy: String, Sendable, CaseIterable {
  /// Start a new process and feed it, with its output suppressed, the stdin its
  /// predecessor consumed, so it reaches the same state.
  case replay
  /// Start a new process with only the input not consumed yet.
  case fresh
  /// Unwind the running program's stack down to the outermost frame that cannot take the
  /// change (the entry function's at most), releasing what every unwound frame holds, and
  /// call that function's new version with the same arguments, in the same process:
  /// globals, open files and a C host's state are kept. Where the agent cannot, restart as
  /// `replay` does.
  case frame
  /// Keep the program running its old code and say so.
  case never
}

/// The flags of `holoc dev`.
public struct DevOptions: Sendable {
  public var path: String
  /// The program's arguments.
  public var arguments: [String]
  /// Where JSON events go instead of human status lines on stderr.
  public var eventsPath: String?
  public var runsTests: Bool
  /// `--no-run`: never run the program; check and test on each save only.
  public var runsProgram: Bool
  public var restart: RestartPolicy
  public var settings: BuildSettings
  /// Seconds each affected test may run.
  public var testTimeout: Double
  /// A C program linked with a dev build of the holo library at `path` (`--host`): holoc
  /// runs and patches it instead of building an executable.
  public var host: String?
  /// Seconds a frame of replaced code may keep running before holoc restarts it
  /// (`--stale-after`; docs/DECISIONS.md).
  public var staleFrameBound: Double

  public init(
    path: String, arguments: [String] = [], eventsPath: String? = nil, runsTests: Bool = true,
    runsProgram: Bool = true,
    restart: RestartPolicy = .replay, settings: BuildSettings = BuildSettings(),
    testTimeout: Double = 10, host: String? = nil, staleFrameBound: Double = 3
  ) {
    self.staleFrameBound = staleFrameBound
    self.host = host
    self.path = path
    self.arguments = arguments
    self.eventsPath = eventsPath
    self.runsTests = runsTests
    self.runsProgram = runsProgram
    self.restart = restart
    self.settings = settings
    // Only code a frame restart may unwind pays for its landing pads.
    self.settings.restartableFrames = restart == .frame
    self.testTimeout = testTimeout
  }
}

/// `holoc dev`: build, run, watch, patch the running program, re-run affected tests.
public enum LiveLoop {
  /// Runs until holoc is interrupted (SIGINT, SIGTERM, SIGHUP); returns holoc's exit
  /// status: 0 then, 1 when the session could not start.
  public static func run(_ options: DevOptions) -> Int32 {
    var settings = options.settings
    settings.mode = .dev
    var options = options
    options.settings = settings
    guard let rootFile = rootFile(of: options.path) else { return 1 }
    do throws(Posix.Failure) {
      let session = try DevSession(options: options, rootFile: rootFile)
      return session.run()
    } catch {
      Posix.writeAll(STDERR_FILENO, Array("holoc dev: \(error.description)\n".utf8))
      return 1
    }
  }

  /// `holoc reset`: has the `holoc dev` running `path` re-run the initializers of
  /// `globals` (all when empty), says what it reset; returns holoc's exit status.
  public static func reset(path: String, globals: [String]) -> Int32 {
    guard let rootFile = rootFile(of: path) else { return 1 }
    switch ControlClient.reset(rootFile: rootFile, globals: globals) {
    case .reset(let names):
      let said =
        names.isEmpty ? "the program has no globals" : "reset \(names.joined(separator: ", "))"
      Posix.writeAll(STDOUT_FILENO, Array("\(said)\n".utf8))
      return 0
    case .failed(let reason):
      Posix.writeAll(STDERR_FILENO, Array("holoc reset: \(reason)\n".utf8))
      return 1
    }
  }

  /// The root file of `path`; nil, with the diagnostics on stderr, when there is none.
  private static func rootFile(of path: String) -> String? {
    do throws(DriverFailure) {
      return try Driver.rootFile(of: path)
    } catch {
      let renderer = DiagnosticRenderer(
        sources: SourceManager(), useColor: DiagnosticRenderer.stderrWantsColor())
      let text = renderer.render(error.diagnostics, format: .human)
      Posix.writeAll(STDERR_FILENO, Array(text.utf8))
      return nil
    }
  }
}
