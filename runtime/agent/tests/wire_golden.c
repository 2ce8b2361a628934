/* Runs the agent's codec (wire.c) over the golden messages that holoc's HoloDevABI is
 * tested against too (Tests/HoloTests/DevABI/messages.golden, format described there):
 * every daemon -> agent message is decoded as the agent decodes it and its fields are
 * compared; every agent -> daemon message is read back field by field and re-encoded with
 * the agent's encoders, and the bytes are compared; every rejected payload must be
 * refused. Prints one line per mismatch; exits 0 only when there is none.
 *
 *   cc -std=c11 -I runtime/include -I runtime/agent runtime/agent/tests/wire_golden.c \
 *      runtime/agent/wire.c -o wire_golden && ./wire_golden messages.golden */
#include "agent_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void fail(const char *name, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  fprintf(stderr, "%s: ", name);
  vfprintf(stderr, format, arguments);
  fputc('\n', stderr);
  va_end(arguments);
  failures++;
}

/* ---- A growing text or byte buffer ---------------------------------------------------- */

typedef struct buffer {
  char *bytes;
  size_t length;
  size_t capacity;
} buffer;

static void append(buffer *buffer, const void *bytes, size_t length) {
  char *grown = agent_array_grow(buffer->bytes, &buffer->capacity, buffer->length + length + 1, 1);
  if (grown == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  buffer->bytes = grown;
  memcpy(buffer->bytes + buffer->length, bytes, length);
  buffer->length += length;
  buffer->bytes[buffer->length] = '\0';
}

static void appendf(buffer *buffer, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void appendf(buffer *buffer, const char *format, ...) {
  char text[256];
  va_list arguments;
  va_start(arguments, format);
  int length = vsnprintf(text, sizeof text, format, arguments);
  va_end(arguments);
  append(buffer, text, (size_t)length);
}

/* ---- Rendering fields as the golden file writes them ---------------------------------- */

static void render_quoted(buffer *text, const uint8_t *bytes, size_t length) {
  append(text, "\"", 1);
  for (size_t i = 0; i < length; i++) {
    if (bytes[i] >= 0x20 && bytes[i] <= 0x7e && bytes[i] != '"' && bytes[i] != '\\') {
      append(text, &bytes[i], 1);
    } else {
      appendf(text, "\\x%02x", bytes[i]);
    }
  }
  append(text, "\"", 1);
}

static void render_string(buffer *text, const char *label, const char *value) {
  appendf(text, "%s ", label);
  render_quoted(text, (const uint8_t *)value, strlen(value));
  append(text, "\n", 1);
}

static void render_strings(buffer *text, const char *label, const char *item, char *const *values,
                           size_t count) {
  appendf(text, "%s %zu\n", label, count);
  for (size_t i = 0; i < count; i++) {
    render_string(text, item, values[i]);
  }
}

/* ---- Daemon -> agent: the agent's decoders ------------------------------------------- */

static bool render_patch(wire_reader *reader, buffer *text) {
  wire_patch patch = {0};
  bool parsed = wire_get_patch(reader, &patch);
  if (parsed) {
    appendf(text, "type PATCH\nid %" PRIu64 "\n", patch.id);
    render_strings(text, "new_slots", "new_slot", patch.new_slots, patch.new_slot_count);
    render_strings(text, "new_cells", "new_cell", patch.new_cells, patch.new_cell_count);
    append(text, "object hex:", 11);
    for (size_t i = 0; i < patch.object_length; i++) {
      appendf(text, "%02x", patch.object[i]);
    }
    appendf(text, "\nupdates %zu\n", patch.update_count);
    for (size_t i = 0; i < patch.update_count; i++) {
      append(text, "update ", 7);
      render_quoted(text, (const uint8_t *)patch.update_slots[i], strlen(patch.update_slots[i]));
      append(text, " ", 1);
      render_quoted(text, (const uint8_t *)patch.update_functions[i],
                    strlen(patch.update_functions[i]));
      append(text, "\n", 1);
    }
    appendf(text, "data_writes %zu\n", patch.data_count);
    for (size_t i = 0; i < patch.data_count; i++) {
      append(text, "data_write ", 11);
      render_quoted(text, (const uint8_t *)patch.data_symbols[i], strlen(patch.data_symbols[i]));
      appendf(text, " %" PRIu64 "\n", patch.data_values[i]);
    }
    appendf(text, "new_globals %zu\n", patch.new_global_count);
    for (size_t i = 0; i < patch.new_global_count; i++) {
      appendf(text, "new_global ");
      render_quoted(text, (const uint8_t *)patch.new_globals[i], strlen(patch.new_globals[i]));
      appendf(text, " %" PRIu32 " %" PRIu32 "\n", patch.new_global_sizes[i],
              patch.new_global_alignments[i]);
    }
    appendf(text, "safepoint_function ");
    render_quoted(text, (const uint8_t *)patch.safepoint_function,
                  strlen(patch.safepoint_function));
    appendf(text, "\nrestart %d\n", patch.restarts_frames ? 1 : 0);
  }
  wire_patch_free(&patch);
  return parsed;
}

/* STATUS and FRAMES as agent.c reads them: an id, and whatever follows is ignored. */
static bool render_request(wire_reader *reader, const char *type, buffer *text) {
  uint64_t id = wire_get_u64(reader);
  appendf(text, "type %s\nid %" PRIu64 "\n", type, id);
  return !reader->failed;
}

/* Decodes a daemon -> agent payload as the agent does; false when the agent refuses it
 * (or, for a type it does not serve, skips it). */
static bool decode_for_agent(const uint8_t *payload, size_t length, buffer *text) {
  wire_reader reader = {payload, length, 0, false};
  switch (wire_get_u8(&reader)) {
  case HOLO_DEV_PATCH:
    return render_patch(&reader, text);
  case HOLO_DEV_STATUS:
    return render_request(&reader, "STATUS", text);
  case HOLO_DEV_FRAMES:
    return render_request(&reader, "FRAMES", text);
  default:
    return false;
  }
}

/* ---- Agent -> daemon: read back, then the agent's encoders --------------------------- */

/* Reads a list of strings; NULL (and `failed`) when it does not fit the message. */
static char **read_strings(wire_reader *reader, size_t *count) {
  *count = wire_get_u32(reader);
  if (reader->failed || *count > reader->length - reader->offset) {
    reader->failed = true;
    *count = 0;
    return NULL;
  }
  char **strings = calloc(*count + 1, sizeof *strings);
  for (size_t i = 0; strings != NULL && i < *count; i++) {
    strings[i] = wire_get_string(reader);
  }
  if (strings == NULL || reader->failed) {
    reader->failed = true;
  }
  return strings;
}

/* Reads an agent -> daemon message, renders its fields and re-encodes it into `encoded`
 * with the agent's encoder; false when it cannot be read. */
static bool reencode(const uint8_t *payload, size_t length, buffer *text, wire_writer *encoded) {
  wire_reader reader = {payload, length, 0, false};
  uint8_t type = wire_get_u8(&reader);
  uint64_t id;
  size_t count = 0;
  char **strings = NULL;
  switch (type) {
  case HOLO_DEV_HELLO: {
    uint32_t version = wire_get_u32(&reader);
    uint32_t process_id = wire_get_u32(&reader);
    appendf(text, "type HELLO\nversion %" PRIu32 "\nprocess_id %" PRIu32 "\n", version,
            process_id);
    wire_hello(encoded, process_id);
    break;
  }
  case HOLO_DEV_PATCH_ACK: {
    id = wire_get_u64(&reader);
    uint8_t status = wire_get_u8(&reader);
    uint32_t link_us = wire_get_u32(&reader);
    uint32_t apply_us = wire_get_u32(&reader);
    char *error = wire_get_string(&reader);
    strings = read_strings(&reader, &count);
    migration_report migration = {0};
    migration.count = wire_get_u32(&reader);
    if (!reader.failed && migration.count <= (reader.length - reader.offset) / 16) {
      migration.values = calloc(migration.count + 1, sizeof *migration.values);
      migration.lossy = calloc(migration.count + 1, sizeof *migration.lossy);
      for (size_t i = 0; migration.values != NULL && migration.lossy != NULL &&
                         i < migration.count;
           i++) {
        migration.values[i] = wire_get_u64(&reader);
        migration.lossy[i] = wire_get_u64(&reader);
      }
      migration.texts = read_strings(&reader, &migration.text_count);
    } else {
      reader.failed = true;
    }
    if (reader.failed || migration.values == NULL || migration.lossy == NULL) {
      reader.failed = true;
      free(error);
      migration_report_free(&migration);
      break;
    }
    appendf(text,
            "type PATCH_ACK\nid %" PRIu64 "\nstatus %u\nlink_us %" PRIu32 "\napply_us %" PRIu32
            "\n",
            id, status, link_us, apply_us);
    render_string(text, "error", error);
    render_strings(text, "stale_slots", "stale_slot", strings, count);
    appendf(text, "migrations %zu\n", migration.count);
    for (size_t i = 0; i < migration.count; i++) {
      appendf(text, "migration %" PRIu64 " %" PRIu64 "\n", migration.values[i],
              migration.lossy[i]);
    }
    render_strings(text, "lossy_reports", "lossy_report", migration.texts,
                   migration.text_count);
    wire_patch_ack(encoded, id, status == HOLO_DEV_PATCH_APPLIED, link_us, apply_us, error,
                   strings, count, &migration);
    free(error);
    migration_report_free(&migration);
    break;
  }
  case HOLO_DEV_STATUS_REPLY: {
    id = wire_get_u64(&reader);
    uint32_t live = wire_get_u32(&reader);
    uint32_t freed = wire_get_u32(&reader);
    uint64_t resident = wire_get_u64(&reader);
    appendf(text,
            "type STATUS_REPLY\nid %" PRIu64 "\nlive_patches %" PRIu32 "\nfreed_patches %" PRIu32
            "\nresident_kib %" PRIu64 "\n",
            id, live, freed, resident);
    wire_status_reply(encoded, id, live, freed, resident);
    break;
  }
  case HOLO_DEV_FRAMES_REPLY: {
    id = wire_get_u64(&reader);
    uint8_t scanned = wire_get_u8(&reader);
    strings = read_strings(&reader, &count);
    if (reader.failed) {
      break;
    }
    appendf(text, "type FRAMES_REPLY\nid %" PRIu64 "\nscanned %u\n", id, scanned);
    render_strings(text, "stale_slots", "stale_slot", strings, count);
    wire_frames_reply(encoded, id, scanned != 0, strings, count);
    break;
  }
  default:
    return false;
  }
  agent_free_strings(strings, count);
  return !reader.failed && reader.offset == reader.length;
}

/* ---- The golden file ------------------------------------------------------------------ */

typedef struct entry {
  char name[128];
  bool rejected;
  buffer fields; /* the field lines, each ending in a newline */
  buffer bytes;
} entry;

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool append_hex(buffer *bytes, const char *hex) {
  int high = -1;
  for (; *hex != '\0'; hex++) {
    if (isspace((unsigned char)*hex)) {
      continue;
    }
    int digit = hex_digit(*hex);
    if (digit < 0) {
      return false;
    }
    if (high < 0) {
      high = digit;
    } else {
      uint8_t byte = (uint8_t)(high << 4 | digit);
      append(bytes, &byte, 1);
      high = -1;
    }
  }
  return high < 0;
}

static void check_entry(entry *entry, size_t *messages, size_t *rejected) {
  const uint8_t *bytes = (const uint8_t *)entry->bytes.bytes;
  size_t length = entry->bytes.length;
  buffer text = {0};
  if (entry->rejected) {
    (*rejected)++;
    if (decode_for_agent(bytes, length, &text)) {
      fail(entry->name, "the agent accepts a payload it must refuse");
    }
    free(text.bytes);
    return;
  }
  (*messages)++;
  if (length < HOLO_DEV_LENGTH_PREFIX_SIZE) {
    fail(entry->name, "no length prefix");
    return;
  }
  uint32_t prefix = 0;
  for (size_t i = 0; i < HOLO_DEV_LENGTH_PREFIX_SIZE; i++) {
    prefix |= (uint32_t)bytes[i] << (8 * i);
  }
  const uint8_t *payload = bytes + HOLO_DEV_LENGTH_PREFIX_SIZE;
  size_t payload_length = length - HOLO_DEV_LENGTH_PREFIX_SIZE;
  if (prefix != payload_length) {
    fail(entry->name, "the length prefix says %" PRIu32 ", the payload has %zu bytes", prefix,
         payload_length);
  }
  uint8_t type = payload_length > 0 ? payload[0] : 0;
  bool to_agent = type == HOLO_DEV_PATCH || type == HOLO_DEV_STATUS || type == HOLO_DEV_FRAMES;
  if (to_agent) {
    if (!decode_for_agent(payload, payload_length, &text)) {
      fail(entry->name, "the agent refuses the message");
    }
  } else {
    wire_writer encoded = {0};
    if (!reencode(payload, payload_length, &text, &encoded)) {
      fail(entry->name, "cannot read the message back");
    } else if (!wire_finish(&encoded)) {
      fail(entry->name, "the agent's encoder ran out of memory");
    } else if (encoded.length != length || memcmp(encoded.bytes, bytes, length) != 0) {
      buffer hex = {0};
      for (size_t i = 0; i < encoded.length; i++) {
        appendf(&hex, "%02x", (uint8_t)encoded.bytes[i]);
      }
      fail(entry->name, "the agent encodes it as %s", hex.bytes);
      free(hex.bytes);
    }
    free(encoded.bytes);
  }
  const char *expected = entry->fields.bytes == NULL ? "" : entry->fields.bytes;
  const char *actual = text.bytes == NULL ? "" : text.bytes;
  if (strcmp(expected, actual) != 0) {
    fail(entry->name, "decoded as\n%sinstead of\n%s", actual, expected);
  }
  free(text.bytes);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s messages.golden\n", argv[0]);
    return 2;
  }
  FILE *file = fopen(argv[1], "r");
  if (file == NULL) {
    perror(argv[1]);
    return 2;
  }
  size_t messages = 0;
  size_t rejected = 0;
  entry current = {0};
  bool open = false;
  char line[4096];
  bool more = true;
  while (more) {
    more = fgets(line, sizeof line, file) != NULL;
    if (more && line[0] == '#') {
      continue;
    }
    bool blank = !more || line[0] == '\n';
    if (blank || strncmp(line, "message ", 8) == 0 || strncmp(line, "rejected ", 9) == 0) {
      if (open) {
        check_entry(&current, &messages, &rejected);
        free(current.fields.bytes);
        free(current.bytes.bytes);
        current = (entry){0};
        open = false;
      }
      if (!blank) {
        open = true;
        current.rejected = line[0] == 'r';
        snprintf(current.name, sizeof current.name, "%s", strchr(line, ' ') + 1);
        current.name[strcspn(current.name, "\n")] = '\0';
      }
    } else if (!open) {
      fprintf(stderr, "a line outside any entry: %s", line);
      return 2;
    } else if (strncmp(line, "bytes ", 6) == 0) {
      if (!append_hex(&current.bytes, line + 6)) {
        fail(current.name, "bad hex: %s", line + 6);
      }
    } else {
      append(&current.fields, line, strlen(line));
    }
  }
  fclose(file);
  if (messages == 0 || rejected == 0) {
    fprintf(stderr, "no messages in %s\n", argv[1]);
    return 2;
  }
  printf("%zu messages, %zu rejected payloads, %d mismatches\n", messages, rejected, failures);
  return failures == 0 ? 0 : 1;
}
