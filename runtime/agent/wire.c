/* The patch protocol's codec (docs/PATCHING.md, "Wire protocol"; the constants are in
 * holo_dev_abi.h): framing, the messages the agent sends, and the PATCH it receives.
 * Depends on libc only, so DevABITests can run it over the golden messages alone. */
#define _GNU_SOURCE

#include "agent_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


void agent_error(char *error, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  vsnprintf(error, AGENT_ERROR_MAX, format, arguments);
  va_end(arguments);
}

void agent_free_strings(char **strings, size_t count) {
  if (strings != NULL) {
    for (size_t i = 0; i < count; i++) {
      free(strings[i]);
    }
    free(strings);
  }
}

void *agent_array_grow(void *array, size_t *capacity, size_t needed, size_t element_size) {
  if (needed <= *capacity) {
    return array;
  }
  size_t grown = *capacity < 8 ? 8 : *capacity;
  while (grown < needed) {
    if (grown > SIZE_MAX / 2) {
      return NULL;
    }
    grown *= 2;
  }
  if (grown > SIZE_MAX / element_size) {
    return NULL;
  }
  void *resized = realloc(array, grown * element_size);
  if (resized != NULL) {
    *capacity = grown;
  }
  return resized;
}

/* ---- Writing ---------------------------------------------------------------------- */

static void put_bytes(wire_writer *writer, const void *bytes, size_t length) {
  if (writer->failed) {
    return;
  }
  uint8_t *grown = agent_array_grow(writer->bytes, &writer->capacity, writer->length + length, 1);
  if (grown == NULL) {
    writer->failed = true;
    return;
  }
  writer->bytes = grown;
  memcpy(writer->bytes + writer->length, bytes, length);
  writer->length += length;
}

static void put_little_endian(wire_writer *writer, uint64_t value, size_t size) {
  uint8_t bytes[8];
  for (size_t i = 0; i < size; i++) {
    bytes[i] = (uint8_t)(value >> (8 * i));
  }
  put_bytes(writer, bytes, size);
}

static void wire_begin(wire_writer *writer, uint8_t type) {
  *writer = (wire_writer){NULL, 0, 0, false};
  put_little_endian(writer, 0, HOLO_DEV_LENGTH_PREFIX_SIZE); /* filled in by wire_finish */
  put_bytes(writer, &type, 1);
}

static void wire_put_u8(wire_writer *writer, uint8_t value) { put_bytes(writer, &value, 1); }
static void wire_put_u32(wire_writer *writer, uint32_t value) { put_little_endian(writer, value, 4); }
static void wire_put_u64(wire_writer *writer, uint64_t value) { put_little_endian(writer, value, 8); }

/* The length of the well-formed UTF-8 sequence at `bytes` (at most `length` bytes long),
 * or 0 when it is not one: the bounds of the Unicode standard's table 3-7, which exclude
 * overlong forms, surrogates and code points past U+10FFFF. */
static size_t utf8_sequence(const uint8_t *bytes, size_t length) {
  uint8_t lead = bytes[0];
  size_t size;
  uint8_t low = 0x80;
  uint8_t high = 0xBF;
  if (lead < 0x80) {
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    size = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    size = 3;
    low = lead == 0xE0 ? 0xA0 : 0x80;
    high = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    size = 4;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (length < size || bytes[1] < low || bytes[1] > high) {
    return 0;
  }
  for (size_t i = 2; i < size; i++) {
    if (bytes[i] < 0x80 || bytes[i] > 0xBF) {
      return 0;
    }
  }
  return size;
}

/* Strings on the wire are UTF-8, but the texts the agent sends may quote names from a
 * damaged message or object: each byte that is not part of a well-formed sequence is sent
 * as `?`. */
static void wire_put_string(wire_writer *writer, const char *text) {
  size_t length = strlen(text);
  put_little_endian(writer, (uint32_t)length, HOLO_DEV_LENGTH_PREFIX_SIZE);
  const uint8_t *bytes = (const uint8_t *)text;
  size_t offset = 0;
  while (offset < length) {
    size_t size = utf8_sequence(bytes + offset, length - offset);
    if (size == 0) {
      put_bytes(writer, "?", 1);
      offset++;
    } else {
      put_bytes(writer, bytes + offset, size);
      offset += size;
    }
  }
}

static void put_strings(wire_writer *writer, char *const *strings, size_t count) {
  wire_put_u32(writer, (uint32_t)count);
  for (size_t i = 0; i < count; i++) {
    wire_put_string(writer, strings[i]);
  }
}

void wire_hello(wire_writer *writer, uint32_t process_id) {
  wire_begin(writer, HOLO_DEV_HELLO);
  wire_put_u32(writer, HOLO_DEV_PROTOCOL_VERSION);
  wire_put_u32(writer, process_id);
}

void wire_patch_ack(wire_writer *writer, uint64_t id, bool applied, uint32_t link_us,
                    uint32_t apply_us, const char *error, char *const *stale_slots,
                    size_t stale_count, const migration_report *migration) {
  wire_begin(writer, HOLO_DEV_PATCH_ACK);
  wire_put_u64(writer, id);
  wire_put_u8(writer, applied ? HOLO_DEV_PATCH_APPLIED : HOLO_DEV_PATCH_FAILED);
  wire_put_u32(writer, link_us);
  wire_put_u32(writer, apply_us);
  wire_put_string(writer, error);
  put_strings(writer, stale_slots, stale_count);
  size_t count = migration == NULL ? 0 : migration->count;
  wire_put_u32(writer, (uint32_t)count);
  for (size_t i = 0; i < count; i++) {
    wire_put_u64(writer, migration->values[i]);
    wire_put_u64(writer, migration->lossy[i]);
  }
  put_strings(writer, migration == NULL ? NULL : migration->texts,
              migration == NULL ? 0 : migration->text_count);
}

void wire_status_reply(wire_writer *writer, uint64_t id, uint32_t live_patches,
                       uint32_t freed_patches, uint64_t resident_kib) {
  wire_begin(writer, HOLO_DEV_STATUS_REPLY);
  wire_put_u64(writer, id);
  wire_put_u32(writer, live_patches);
  wire_put_u32(writer, freed_patches);
  wire_put_u64(writer, resident_kib);
}

void wire_frames_reply(wire_writer *writer, uint64_t id, bool scanned, char *const *stale_slots,
                       size_t stale_count) {
  wire_begin(writer, HOLO_DEV_FRAMES_REPLY);
  wire_put_u64(writer, id);
  wire_put_u8(writer, scanned ? 1 : 0);
  put_strings(writer, stale_slots, stale_count);
}

bool wire_finish(wire_writer *writer) {
  if (writer->failed) {
    return false;
  }
  uint32_t payload = (uint32_t)(writer->length - HOLO_DEV_LENGTH_PREFIX_SIZE);
  for (size_t i = 0; i < HOLO_DEV_LENGTH_PREFIX_SIZE; i++) {
    writer->bytes[i] = (uint8_t)(payload >> (8 * i));
  }
  return true;
}

bool wire_send(int fd, wire_writer *writer) {
  bool sent = wire_finish(writer);
  if (sent) {
    size_t offset = 0;
    while (offset < writer->length) {
      /* MSG_NOSIGNAL: a daemon that went away must not kill the program with SIGPIPE. */
      ssize_t count = send(fd, writer->bytes + offset, writer->length - offset, MSG_NOSIGNAL);
      if (count < 0 && errno == EINTR) {
        continue;
      }
      if (count <= 0) {
        sent = false;
        break;
      }
      offset += (size_t)count;
    }
  }
  free(writer->bytes);
  *writer = (wire_writer){NULL, 0, 0, true};
  return sent;
}

/* ---- Reading ---------------------------------------------------------------------- */

static uint64_t get_little_endian(wire_reader *reader, size_t size) {
  if (reader->failed || reader->length - reader->offset < size) {
    reader->failed = true;
    return 0;
  }
  uint64_t value = 0;
  for (size_t i = 0; i < size; i++) {
    value |= (uint64_t)reader->bytes[reader->offset + i] << (8 * i);
  }
  reader->offset += size;
  return value;
}

uint8_t wire_get_u8(wire_reader *reader) { return (uint8_t)get_little_endian(reader, 1); }
uint32_t wire_get_u32(wire_reader *reader) { return (uint32_t)get_little_endian(reader, 4); }
uint64_t wire_get_u64(wire_reader *reader) { return get_little_endian(reader, 8); }

const uint8_t *wire_get_bytes(wire_reader *reader, size_t *length) {
  size_t count = wire_get_u32(reader);
  if (reader->failed || reader->length - reader->offset < count) {
    reader->failed = true;
    *length = 0;
    return NULL;
  }
  const uint8_t *bytes = reader->bytes + reader->offset;
  reader->offset += count;
  *length = count;
  return bytes;
}

char *wire_get_string(wire_reader *reader) {
  size_t length;
  const uint8_t *bytes = wire_get_bytes(reader, &length);
  if (bytes == NULL || memchr(bytes, '\0', length) != NULL) {
    reader->failed = true;
    return NULL;
  }
  char *text = malloc(length + 1);
  if (text == NULL) {
    reader->failed = true;
    return NULL;
  }
  memcpy(text, bytes, length);
  text[length] = '\0';
  return text;
}

static bool read_exactly(int fd, uint8_t *bytes, size_t length) {
  size_t offset = 0;
  while (offset < length) {
    ssize_t count = read(fd, bytes + offset, length - offset);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count <= 0) {
      return false;
    }
    offset += (size_t)count;
  }
  return true;
}

void wire_patch_free(wire_patch *message) {
  agent_free_strings(message->new_slots, message->new_slot_count);
  agent_free_strings(message->new_cells, message->new_cell_count);
  agent_free_strings(message->update_slots, message->update_count);
  agent_free_strings(message->update_functions, message->update_count);
  agent_free_strings(message->data_symbols, message->data_count);
  free(message->data_values);
  agent_free_strings(message->new_globals, message->new_global_count);
  free(message->new_global_sizes);
  free(message->new_global_alignments);
  free(message->safepoint_function);
}

/* Whether `count` elements of at least `element_bytes` each fit in what is left of the
 * message, which bounds every allocation by the message's length; sets `failed` if not. */
static bool fits(wire_reader *reader, size_t count, size_t element_bytes) {
  if (reader->failed || count > (reader->length - reader->offset) / element_bytes) {
    reader->failed = true;
  }
  return !reader->failed;
}

/* Reads `count` strings; each takes at least 4 bytes. */
static char **read_strings(wire_reader *reader, size_t count) {
  if (!fits(reader, count, 4)) {
    return NULL;
  }
  char **strings = calloc(count == 0 ? 1 : count, sizeof *strings);
  if (strings == NULL) {
    reader->failed = true;
    return NULL;
  }
  for (size_t i = 0; i < count && !reader->failed; i++) {
    strings[i] = wire_get_string(reader);
  }
  return strings;
}

bool wire_get_patch(wire_reader *reader, wire_patch *message) {
  message->id = wire_get_u64(reader);
  message->new_slot_count = wire_get_u32(reader);
  message->new_slots = read_strings(reader, message->new_slot_count);
  message->new_cell_count = wire_get_u32(reader);
  message->new_cells = read_strings(reader, message->new_cell_count);
  message->object = wire_get_bytes(reader, &message->object_length);
  /* Each update takes at least 8 bytes (two empty names). */
  size_t count = wire_get_u32(reader);
  if (!fits(reader, count, 8)) {
    return false;
  }
  message->update_count = count;
  message->update_slots = calloc(count == 0 ? 1 : count, sizeof(char *));
  message->update_functions = calloc(count == 0 ? 1 : count, sizeof(char *));
  if (message->update_slots == NULL || message->update_functions == NULL) {
    return false;
  }
  for (size_t i = 0; i < count && !reader->failed; i++) {
    message->update_slots[i] = wire_get_string(reader);
    message->update_functions[i] = wire_get_string(reader);
  }
  /* Each data write takes at least 12 bytes (an empty name and the value). */
  count = wire_get_u32(reader);
  if (!fits(reader, count, 12)) {
    return false;
  }
  message->data_count = count;
  message->data_symbols = calloc(count == 0 ? 1 : count, sizeof(char *));
  message->data_values = calloc(count == 0 ? 1 : count, sizeof(uint64_t));
  if (message->data_symbols == NULL || message->data_values == NULL) {
    return false;
  }
  for (size_t i = 0; i < count && !reader->failed; i++) {
    message->data_symbols[i] = wire_get_string(reader);
    message->data_values[i] = wire_get_u64(reader);
  }
  /* Each new global takes at least 12 bytes (an empty name, the size and alignment). */
  count = wire_get_u32(reader);
  if (!fits(reader, count, 12)) {
    return false;
  }
  message->new_global_count = count;
  message->new_globals = calloc(count == 0 ? 1 : count, sizeof(char *));
  message->new_global_sizes = calloc(count == 0 ? 1 : count, sizeof(uint32_t));
  message->new_global_alignments = calloc(count == 0 ? 1 : count, sizeof(uint32_t));
  if (message->new_globals == NULL || message->new_global_sizes == NULL ||
      message->new_global_alignments == NULL) {
    return false;
  }
  for (size_t i = 0; i < count && !reader->failed; i++) {
    message->new_globals[i] = wire_get_string(reader);
    message->new_global_sizes[i] = wire_get_u32(reader);
    message->new_global_alignments[i] = wire_get_u32(reader);
  }
  message->safepoint_function = wire_get_string(reader);
  uint8_t restart = wire_get_u8(reader);
  message->restarts_frames = restart == 1;
  return !reader->failed && restart <= 1 && reader->offset == reader->length;
}

bool wire_receive(int fd, uint8_t **payload, size_t *length) {
  uint8_t prefix[HOLO_DEV_LENGTH_PREFIX_SIZE];
  if (!read_exactly(fd, prefix, sizeof prefix)) {
    return false;
  }
  uint32_t size = (uint32_t)prefix[0] | (uint32_t)prefix[1] << 8 | (uint32_t)prefix[2] << 16 |
                  (uint32_t)prefix[3] << 24;
  /* Larger messages are refused; a patch object is a few kilobytes. */
  if (size > HOLO_DEV_PAYLOAD_MAX) {
    return false;
  }
  uint8_t *bytes = malloc(size == 0 ? 1 : size);
  if (bytes == NULL || !read_exactly(fd, bytes, size)) {
    free(bytes);
    return false;
  }
  *payload = bytes;
  *length = size;
  return true;
}
