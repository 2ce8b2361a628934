/// The dev ABI: everything `holoc` and a dev program's runtime and patch agent must agree
/// on (docs/PATCHING.md). This module is its one Swift definition; the C side reads the
/// same constants from `runtime/include/holo_dev_abi.h`, and the golden message vectors
/// in `Tests/HoloTests/DevABI/` hold the two together. Change both sides at once.
public enum DevABI {
  /// The patch protocol's version, sent in `HELLO`; the daemon refuses any other. Version
  /// 2 added new line-base cells and data writes to `PATCH` and allowed an empty object;
  /// version 3 added new globals and the safepoint function; version 4 added the
  /// migration counts and lossy conversions to `PATCH_ACK`.
  public static let protocolVersion: UInt32 = 4

  /// Every message is a u32 little-endian payload length, then the payload.
  public static let lengthPrefixSize = 4

  /// The longest payload the agent reads: it hangs up on a longer frame rather than read
  /// that far to find the next message, so the daemon must never send one.
  public static let maximumPayloadLength = 256 * 1024 * 1024

  /// The largest storage, and alignment, a `PATCH` may ask for a new global (the agent
  /// refuses more: a damaged message must not make it allocate without bound).
  public static let maximumGlobalSize = 1024 * 1024
  public static let maximumGlobalAlignment = 4096

  /// The first byte of every payload.
  public enum MessageType: UInt8, CaseIterable, Sendable {
    case hello = 1
    case patch = 2
    case patchAck = 3
    case status = 4
    case statusReply = 5
    case frames = 6
    case framesReply = 7
  }

  /// What a patch's migration code (docs/PATCHING.md, "Migrations") calls in the agent:
  /// `void (const holo_migration_step *path, uint32_t conversion, uint32_t old_kind,
  /// uint64_t old_bits, uint32_t new_kind, uint64_t new_bits)` for each value that lost
  /// information, and `void (const uint64_t *values, uint32_t count)` once at its end with
  /// how many values each conversion converted. A `holo_migration_step` is `{ const step
  /// *parent; const char *field; int64_t index; }`: a field by name, or (field NULL) an
  /// array element by index; the root step's field is the global's name.
  public enum Migration {
    public static let lossy = "holo_dev_migration_lossy"
    public static let counted = "holo_dev_migration_counted"
    /// The most lossy conversions a `PATCH_ACK` tells one by one (all are counted).
    public static let maximumReports = 100
  }

  /// Frame restarts (docs/PATCHING.md, "Frame restarts"): the landing pad of a dev call
  /// through a slot asks the runtime, with its frame's address, whether the frame it just
  /// unwound is the one to restart: `bool holo_dev_restart_claim(void *frame)`.
  public enum FrameRestart {
    public static let claim = "holo_dev_restart_claim"
  }

  /// How `holo_dev_migration_lossy` says what a value was: its kind, and its bits (an
  /// integer extended to 64 bits by its signedness, a float as the bits of the `f64` it
  /// widens to, a string's address, an array's length).
  public enum ValueKind: UInt32, CaseIterable, Sendable {
    case bool = 0, u8, i32, i64, u32, u64, f32, f64, string, array, structure
    /// The new value of a field that was dropped: there is none.
    case dropped
  }

  /// The status byte of `PATCH_ACK`.
  public enum PatchStatus: UInt8, CaseIterable, Sendable {
    case applied = 0
    case failed = 1
  }

  /// The environment variables by which holoc talks to the programs it starts.
  public enum Environment {
    /// The Unix socket of `holoc dev`; the patch agent stays dormant without it.
    public static let agentSocket = "HOLO_AGENT_SOCKET"
    /// holoc's process id: the runtime asks the kernel to end the program when it dies.
    public static let parentProcessID = "HOLO_PARENT_PID"
    /// The file the runtime writes a runtime failure to, for holoc to render.
    public static let failureReport = "HOLO_FAILURE_REPORT"
    /// The runtime folder (include/, src/, agent/) holoc compiles and links with.
    public static let runtimeDirectory = "HOLO_RUNTIME_DIR"
  }

  /// What `cc` needs to link a dev executable so that the agent can patch it. No
  /// `-rdynamic`: the agent resolves patches in the executable's own symbol table.
  public enum LinkFlags {
    /// The system libraries the agent archive uses (its thread, and `dlopen` of LLVM).
    public static let agentLibraries = ["-lpthread", "-ldl"]

    /// Links all of `archive`, not only what the program's code uses: a patch may call
    /// any runtime function.
    public static func wholeArchive(_ archive: String) -> [String] {
      ["-Wl,--whole-archive", archive, "-Wl,--no-whole-archive"]
    }
  }
}
