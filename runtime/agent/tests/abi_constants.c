/* Prints every constant of holo_dev_abi.h, one `NAME VALUE` line each, for DevABITests to
 * compare with holoc's HoloDevABI: the header is a mirror and must not drift. */
#include "holo_dev_abi.h"

#include <stdio.h>

int main(void) {
  printf("protocol_version %d\n", HOLO_DEV_PROTOCOL_VERSION);
  printf("length_prefix_size %d\n", HOLO_DEV_LENGTH_PREFIX_SIZE);
  printf("payload_max %d\n", HOLO_DEV_PAYLOAD_MAX);
  printf("type HELLO %d\n", HOLO_DEV_HELLO);
  printf("type PATCH %d\n", HOLO_DEV_PATCH);
  printf("type PATCH_ACK %d\n", HOLO_DEV_PATCH_ACK);
  printf("type STATUS %d\n", HOLO_DEV_STATUS);
  printf("type STATUS_REPLY %d\n", HOLO_DEV_STATUS_REPLY);
  printf("type FRAMES %d\n", HOLO_DEV_FRAMES);
  printf("type FRAMES_REPLY %d\n", HOLO_DEV_FRAMES_REPLY);
  printf("patch_status APPLIED %d\n", HOLO_DEV_PATCH_APPLIED);
  printf("patch_status FAILED %d\n", HOLO_DEV_PATCH_FAILED);
  printf("function_prefix %s\n", HOLO_DEV_FUNCTION_PREFIX);
  printf("slot_prefix %s\n", HOLO_DEV_SLOT_PREFIX);
  printf("line_base_prefix %s\n", HOLO_DEV_LINE_BASE_PREFIX);
  printf("version_separator %c\n", HOLO_DEV_VERSION_SEPARATOR);
  printf("function_table_prefix %s\n", HOLO_DEV_FUNCTION_TABLE_PREFIX);
  printf("global_prefix %s\n", HOLO_DEV_GLOBAL_PREFIX);
  printf("safepoint_function_prefix %s\n", HOLO_DEV_SAFEPOINT_FUNCTION_PREFIX);
  printf("safepoint_requested %s\n", HOLO_DEV_SAFEPOINT_REQUESTED);
  printf("safepoint_handler %s\n", HOLO_DEV_SAFEPOINT_HANDLER);
  printf("global_size_max %d\n", HOLO_DEV_GLOBAL_SIZE_MAX);
  printf("global_alignment_max %d\n", HOLO_DEV_GLOBAL_ALIGNMENT_MAX);
  /* The names as the header declares them (sizeof fails to compile otherwise). */
  (void)sizeof(&holo_dev_migration_lossy);
  (void)sizeof(&holo_dev_migration_counted);
  printf("migration_lossy %s\n", "holo_dev_migration_lossy");
  printf("migration_counted %s\n", "holo_dev_migration_counted");
  printf("migration_reports_max %d\n", HOLO_DEV_MIGRATION_REPORTS_MAX);
  (void)sizeof(&holo_dev_restart_claim);
  printf("restart_claim %s\n", "holo_dev_restart_claim");
  printf("env agent_socket %s\n", HOLO_DEV_ENV_AGENT_SOCKET);
  printf("env parent_pid %s\n", HOLO_DEV_ENV_PARENT_PID);
  printf("env failure_report %s\n", HOLO_DEV_ENV_FAILURE_REPORT);
  printf("env runtime_dir %s\n", HOLO_DEV_ENV_RUNTIME_DIR);
  static const struct {
    const char *name;
    int value;
  } kinds[] = {
      {"bool", HOLO_DEV_VALUE_BOOL},     {"u8", HOLO_DEV_VALUE_U8},
      {"i32", HOLO_DEV_VALUE_I32},       {"i64", HOLO_DEV_VALUE_I64},
      {"u32", HOLO_DEV_VALUE_U32},       {"u64", HOLO_DEV_VALUE_U64},
      {"f32", HOLO_DEV_VALUE_F32},       {"f64", HOLO_DEV_VALUE_F64},
      {"string", HOLO_DEV_VALUE_STRING}, {"array", HOLO_DEV_VALUE_ARRAY},
      {"structure", HOLO_DEV_VALUE_STRUCT}, {"dropped", HOLO_DEV_VALUE_DROPPED},
  };
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    printf("value_kind %s %d\n", kinds[i].name, kinds[i].value);
  }
  return 0;
}
