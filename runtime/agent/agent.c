/* The patch agent of dev executables (docs/PATCHING.md): connects to the daemon named by
 * HOLO_AGENT_SOCKET and serves PATCH and STATUS on a thread of its own. */
#define _GNU_SOURCE

#include "agent_internal.h"
#include "holo.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void warn(const char *message) { fprintf(stderr, "holo agent: %s\n", message); }

static int connect_to_daemon(const char *path, char *error) {
  struct sockaddr_un address;
  memset(&address, 0, sizeof address);
  address.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof address.sun_path) {
    agent_error(error, "socket path too long: %s", path);
    return -1;
  }
  strcpy(address.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    agent_error(error, "cannot create a socket: %s", strerror(errno));
    return -1;
  }
  int connected;
  do {
    connected = connect(fd, (const struct sockaddr *)&address, sizeof address);
  } while (connected != 0 && errno == EINTR);
  if (connected != 0) {
    agent_error(error, "cannot connect to %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static uint64_t resident_kib(void) {
  FILE *statm = fopen("/proc/self/statm", "r");
  if (statm == NULL) {
    return 0;
  }
  unsigned long long size = 0;
  unsigned long long resident = 0;
  int read = fscanf(statm, "%llu %llu", &size, &resident);
  fclose(statm);
  return read == 2 ? resident * (uint64_t)sysconf(_SC_PAGESIZE) / 1024 : 0;
}

static bool answer_patch(int fd, patch_state *state, wire_reader *reader) {
  wire_patch message = {0};
  bool parsed = wire_get_patch(reader, &message);
  patch_result result;
  memset(&result, 0, sizeof result);
  if (state == NULL) {
    agent_error(result.error, "the agent ran out of memory");
  } else if (!parsed) {
    agent_error(result.error, "malformed PATCH message");
  } else {
    patch_apply(state, &message, &result);
  }
  wire_writer writer;
  wire_patch_ack(&writer, message.id, result.applied, result.link_us,
                 result.applied ? result.apply_us : 0, result.applied ? "" : result.error,
                 result.stale_slots, result.stale_count, &result.migration);
  wire_patch_free(&message);
  patch_result_free(&result);
  return wire_send(fd, &writer);
}

static bool answer_status(int fd, const patch_state *state, wire_reader *reader) {
  uint64_t id = wire_get_u64(reader);
  if (reader->failed) {
    return true;
  }
  wire_writer writer;
  wire_status_reply(&writer, id, state == NULL ? 0 : patch_live_count(state),
                    state == NULL ? 0 : patch_freed_count(state), resident_kib());
  return wire_send(fd, &writer);
}

static bool answer_frames(int fd, patch_state *state, wire_reader *reader) {
  uint64_t id = wire_get_u64(reader);
  if (reader->failed) {
    return true;
  }
  frames_result result = {0};
  if (state != NULL) {
    patch_find_frames(state, &result);
  }
  wire_writer writer;
  wire_frames_reply(&writer, id, result.scanned, result.stale_slots, result.stale_count);
  frames_result_free(&result);
  return wire_send(fd, &writer);
}

/* The agent thread: serves the connection until it closes, then ends. Everything it
 * linked stays: the program may be running it. */
static void *serve(void *argument) {
  int fd = (int)(intptr_t)argument;
  patch_state *state = patch_state_create();
  bool connected = true;
  while (connected) {
    uint8_t *payload;
    size_t length;
    if (!wire_receive(fd, &payload, &length)) {
      break;
    }
    wire_reader reader = {payload, length, 0, false};
    switch (wire_get_u8(&reader)) {
    case HOLO_DEV_PATCH:
      connected = answer_patch(fd, state, &reader);
      break;
    case HOLO_DEV_STATUS:
      connected = answer_status(fd, state, &reader);
      break;
    case HOLO_DEV_FRAMES:
      connected = answer_frames(fd, state, &reader);
      break;
    default:
      /* Unknown or empty messages are skipped; the framing keeps the stream in sync. */
      break;
    }
    free(payload);
  }
  close(fd);
  return NULL;
}

static bool send_hello(int fd) {
  wire_writer writer;
  wire_hello(&writer, (uint32_t)getpid());
  return wire_send(fd, &writer);
}

/* Starts the agent thread with every signal blocked, so the program's signals (and the
 * SIGURG of the safepoint) are taken by the main thread. */
static bool start_thread(int fd) {
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  int created = pthread_create(&thread, &attributes, serve, (void *)(intptr_t)fd);
  pthread_attr_destroy(&attributes);
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  return created == 0;
}

static void start_once(void) {
  const char *path = getenv(HOLO_DEV_ENV_AGENT_SOCKET);
  if (path == NULL || path[0] == '\0') {
    return;
  }
  char error[AGENT_ERROR_MAX];
  int fd = connect_to_daemon(path, error);
  if (fd < 0) {
    warn(error);
    return;
  }
  /* Only now, with a daemon listening, is LLVM worth loading. */
  if (!jit_load_llvm(error)) {
    warn(error);
    close(fd);
    return;
  }
  if (!safepoint_install(error)) {
    warn(error);
    close(fd);
    return;
  }
  if (!send_hello(fd)) {
    warn("cannot greet the daemon");
    close(fd);
    return;
  }
  if (!start_thread(fd)) {
    warn("cannot start the agent thread");
    close(fd);
  }
}

/* Called on the main thread before holo code runs: by holo_main, or by the constructor of
 * a dev library linked into a C host. Only the first call does anything. */
void holo_agent_start(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, start_once);
}
