/* The dev ABI: what holoc and a dev program's runtime and patch agent must agree on
 * (docs/PATCHING.md). It is defined once, by holoc's HoloDevABI module
 * (Sources/HoloDevABI/); this header mirrors its constants for the C side, and
 * DevABITests holds the two together: it compares these values with the Swift ones and
 * runs the agent's codec over the golden messages in Tests/HoloTests/DevABI/. Change
 * both sides at once. Plain C11, no dependencies. */
#ifndef HOLO_DEV_ABI_H
#define HOLO_DEV_ABI_H

/* ---- The wire protocol ---------------------------------------------------------------
 * A stream of frames over the Unix socket: a u32 little-endian payload length, then the
 * payload, whose first byte is the message type. Integers are little-endian; a string is
 * a u32 byte length and UTF-8 bytes (no NUL); a list is a u32 count and its elements. */

/* Sent in HELLO; the daemon refuses an agent of another version. */
#define HOLO_DEV_PROTOCOL_VERSION 4

/* The bytes of the length prefix, and of every string's and list's length or count. */
#define HOLO_DEV_LENGTH_PREFIX_SIZE 4

/* The longest payload the agent reads; it hangs up on a longer frame. */
#define HOLO_DEV_PAYLOAD_MAX (256 * 1024 * 1024)

/* Message types, with the payload after the type byte. */
enum holo_dev_message_type {
  /* agent -> daemon: u32 protocol version, u32 process id */
  HOLO_DEV_HELLO = 1,
  /* daemon -> agent: u64 patch id; list of strings: new slots; list of strings: new
   * line-base cells; string: the ELF object, or empty; list of (string slot, string
   * function): slot updates; list of (string cell, u64 value): data writes; list of
   * (string global, u32 size, u32 alignment): new globals; string: the safepoint
   * function, or empty */
  HOLO_DEV_PATCH = 2,
  /* agent -> daemon: u64 patch id; u8 status (HOLO_DEV_PATCH_APPLIED or _FAILED); u32 link
   * microseconds; u32 apply microseconds; string: error (empty when applied); list of
   * strings: slots whose previous version is still on the stack; list of (u64 values,
   * u64 lossy): per conversion of the patch's migration; list of strings: lossy
   * conversions told one by one (at most HOLO_DEV_MIGRATION_REPORTS_MAX) */
  HOLO_DEV_PATCH_ACK = 3,
  /* daemon -> agent: u64 request id */
  HOLO_DEV_STATUS = 4,
  /* agent -> daemon: u64 request id; u32 live patches; u32 freed patches; u64 resident
   * set KiB */
  HOLO_DEV_STATUS_REPLY = 5,
  /* daemon -> agent: u64 request id */
  HOLO_DEV_FRAMES = 6,
  /* agent -> daemon: u64 request id; u8 scanned (0: nothing is known); list of strings:
   * slots one of whose replaced versions still has a frame */
  HOLO_DEV_FRAMES_REPLY = 7,
};

/* The status byte of PATCH_ACK. */
enum holo_dev_patch_status {
  HOLO_DEV_PATCH_APPLIED = 0,
  HOLO_DEV_PATCH_FAILED = 1,
};

/* ---- Symbol names of the dev calling convention ---------------------------------------
 * A function's KEY is its name and signature, `add(i64,i64)->i64`. */

/* Every holo symbol: `holo.NAME` (release) and `holo.KEY#N` (version N of a dev build). */
#define HOLO_DEV_FUNCTION_PREFIX "holo."
/* A slot, `holo.slot.KEY`: the pointer dev code calls the function's current version by. */
#define HOLO_DEV_SLOT_PREFIX "holo.slot."
/* A line-base cell, `holo.line.KEY`: the 8-byte start line of the function. */
#define HOLO_DEV_LINE_BASE_PREFIX "holo.line."
/* Between a function's key and its decimal version number. */
#define HOLO_DEV_VERSION_SEPARATOR '#'
/* A patch object's holo_function_table, `holo.functions#N` (N the patch's version). */
#define HOLO_DEV_FUNCTION_TABLE_PREFIX "holo.functions#"
/* A global's storage, `holo.global.NAME:TYPE`. */
#define HOLO_DEV_GLOBAL_PREFIX "holo.global."
/* A patch's safepoint function, `holo.safepoint#N` (N the patch's id): on the main thread,
 * it initialises the globals the patch adds, releases those it removes and runs again the
 * initializers of those `holoc reset` names. */
#define HOLO_DEV_SAFEPOINT_FUNCTION_PREFIX "holo.safepoint#"
/* Defined by a dev build's glue: the int dev code polls (the agent raises it to ask for a
 * cooperative safepoint), and the pointer to the handler the poll then runs. */
#define HOLO_DEV_SAFEPOINT_REQUESTED "holo.safepoint.requested"
#define HOLO_DEV_SAFEPOINT_HANDLER "holo.safepoint.handler"
/* ---- Migrations (docs/PATCHING.md, "Migrations") -------------------------------------
 * A patch's safepoint function converts old values of globals into new storage, calling
 * the agent for each value that lost information and once, at its end, with how many
 * values each conversion converted. */

/* Where a value is: a field by name, or (field NULL) an array element by index; the root's
 * field is the global's name. */
typedef struct holo_migration_step {
  const struct holo_migration_step *parent;
  const char *field;
  long long index;
} holo_migration_step;

/* A value's kind in a lossy report; its bits are an integer extended to 64 bits by its
 * signedness, a float's as the f64 it widens to, a string's address, an array's length. */
enum holo_dev_value_kind {
  HOLO_DEV_VALUE_BOOL = 0,
  HOLO_DEV_VALUE_U8 = 1,
  HOLO_DEV_VALUE_I32 = 2,
  HOLO_DEV_VALUE_I64 = 3,
  HOLO_DEV_VALUE_U32 = 4,
  HOLO_DEV_VALUE_U64 = 5,
  HOLO_DEV_VALUE_F32 = 6,
  HOLO_DEV_VALUE_F64 = 7,
  HOLO_DEV_VALUE_STRING = 8,
  HOLO_DEV_VALUE_ARRAY = 9,
  HOLO_DEV_VALUE_STRUCT = 10,
  /* The new value of a dropped field: there is none. */
  HOLO_DEV_VALUE_DROPPED = 11,
};

void holo_dev_migration_lossy(const holo_migration_step *path, unsigned conversion,
                              unsigned old_kind, unsigned long long old_bits, unsigned new_kind,
                              unsigned long long new_bits);
void holo_dev_migration_counted(const unsigned long long *values, unsigned count);

/* ---- Frame restarts (docs/PATCHING.md, "Frame restarts") ----------------------------
 * The landing pad of a dev call through a slot asks, with its frame's address, whether
 * the frame the unwind just left is the one to restart; if so it calls the slot again.
 * Defined by the runtime (runtime/src/entry.c). */
_Bool holo_dev_restart_claim(void *frame);

/* The most lossy conversions a PATCH_ACK tells one by one (all are counted). */
#define HOLO_DEV_MIGRATION_REPORTS_MAX 100

/* The largest storage, and alignment, a PATCH may ask for a new global. */
#define HOLO_DEV_GLOBAL_SIZE_MAX (1024 * 1024)
#define HOLO_DEV_GLOBAL_ALIGNMENT_MAX 4096

/* ---- Environment variables holoc sets for the programs it starts ---------------------- */

/* The Unix socket of `holoc dev`; the agent stays dormant without it. */
#define HOLO_DEV_ENV_AGENT_SOCKET "HOLO_AGENT_SOCKET"
/* holoc's process id: the program asks to be killed when holoc ends. */
#define HOLO_DEV_ENV_PARENT_PID "HOLO_PARENT_PID"
/* The file a runtime failure is written to, for holoc to render. */
#define HOLO_DEV_ENV_FAILURE_REPORT "HOLO_FAILURE_REPORT"
/* The runtime folder holoc compiles and links with (read by holoc, not by the runtime). */
#define HOLO_DEV_ENV_RUNTIME_DIR "HOLO_RUNTIME_DIR"

#endif
