/* Message framing of the patch protocol: u32 little-endian length, then the payload. */
#define _GNU_SOURCE

#include "agent_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Larger messages are refused; a patch object is a few kilobytes. */
enum { WIRE_MESSAGE_MAX = 256 * 1024 * 1024 };

void agent_error(char *error, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  vsnprintf(error, AGENT_ERROR_MAX, format, arguments);
  va_end(arguments);
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

void wire_begin(wire_writer *writer, uint8_t type) {
  *writer = (wire_writer){NULL, 0, 0, false};
  put_little_endian(writer, 0, 4); /* the length, filled in by wire_send */
  put_bytes(writer, &type, 1);
}

void wire_put_u8(wire_writer *writer, uint8_t value) { put_bytes(writer, &value, 1); }
void wire_put_u32(wire_writer *writer, uint32_t value) { put_little_endian(writer, value, 4); }
void wire_put_u64(wire_writer *writer, uint64_t value) { put_little_endian(writer, value, 8); }

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
void wire_put_string(wire_writer *writer, const char *text) {
  size_t length = strlen(text);
  put_little_endian(writer, (uint32_t)length, 4);
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

bool wire_send(int fd, wire_writer *writer) {
  bool sent = !writer->failed;
  if (sent) {
    uint32_t payload = (uint32_t)(writer->length - 4);
    for (size_t i = 0; i < 4; i++) {
      writer->bytes[i] = (uint8_t)(payload >> (8 * i));
    }
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

bool wire_receive(int fd, uint8_t **payload, size_t *length) {
  uint8_t prefix[4];
  if (!read_exactly(fd, prefix, sizeof prefix)) {
    return false;
  }
  uint32_t size = (uint32_t)prefix[0] | (uint32_t)prefix[1] << 8 | (uint32_t)prefix[2] << 16 |
                  (uint32_t)prefix[3] << 24;
  if (size > WIRE_MESSAGE_MAX) {
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
