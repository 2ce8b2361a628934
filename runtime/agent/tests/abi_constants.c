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
  printf("env agent_socket %s\n", HOLO_DEV_ENV_AGENT_SOCKET);
  printf("env parent_pid %s\n", HOLO_DEV_ENV_PARENT_PID);
  printf("env failure_report %s\n", HOLO_DEV_ENV_FAILURE_REPORT);
  printf("env runtime_dir %s\n", HOLO_DEV_ENV_RUNTIME_DIR);
  return 0;
}
