/* Reference-counted, copy-on-write arrays (LANGUAGE.md §12), their text, and the [data]
 * built-ins that make or take arrays: args, string_bytes, string_from_bytes. */
#include "runtime_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Immortal: retain and release leave it alone, and nothing is ever written into it, so
 * it can be shared by every `[]` of every element type. */
holo_array holo_empty_array = {.refcount = -1, .length = 0, .capacity = 0, .reserved = 0};

static void retain_string_element(void *element) {
  holo_string_retain(*(holo_string **)element);
}

static void release_string_element(void *element) {
  holo_string_release(*(holo_string **)element);
}

const holo_element_type holo_string_element_type = {
    sizeof(holo_string *), _Alignof(holo_string *), retain_string_element,
    release_string_element};
const holo_element_type holo_u8_element_type = {1, 1, NULL, NULL};

static char *element_at(holo_array *a, int64_t index, const holo_element_type *type) {
  return (char *)holo_array_data(a) + (size_t)index * (size_t)type->size;
}

static const char *element_at_const(const holo_array *a, int64_t index,
                                    const holo_element_type *type) {
  return (const char *)a + HOLO_ARRAY_DATA_OFFSET + (size_t)index * (size_t)type->size;
}

/* The bytes an array of `capacity` elements takes; "out of memory" when that overflows.
 * Checked by the overflow builtins (gcc and clang): a division here, on every allocation,
 * was a quarter of an allocation-heavy program's time. */
static size_t allocation_size(int64_t capacity, const holo_element_type *type) {
  size_t bytes;
  if (capacity < 0 || __builtin_mul_overflow((size_t)capacity, (size_t)type->size, &bytes) ||
      __builtin_add_overflow(bytes, (size_t)HOLO_ARRAY_DATA_OFFSET, &bytes)) {
    holo_fail("out of memory", NULL);
  }
  return bytes;
}

/* A new array with refcount 1, room for `capacity` elements and none stored. malloc's
 * alignment (16 on the 64-bit targets holo supports) puts the elements, 32 bytes in, at
 * any alignment an element type may ask for. */
static holo_array *allocate(int64_t capacity, const holo_element_type *type) {
  holo_array *a = holo_checked_malloc(allocation_size(capacity, type));
  a->refcount = 1;
  a->length = 0;
  a->capacity = capacity;
  a->reserved = 0;
  return a;
}

/* The capacity to grow to for `needed` elements: double, at least 4, at least `needed`. */
static int64_t grown_capacity(int64_t capacity, int64_t needed) {
  int64_t grown = capacity < 4 ? 4 : capacity <= INT64_MAX / 2 ? capacity * 2 : needed;
  return grown < needed ? needed : grown;
}

static void retain_elements(holo_array *a, const holo_element_type *type) {
  if (type->retain != NULL) {
    for (int64_t i = 0; i < a->length; i++) {
      type->retain(element_at(a, i, type));
    }
  }
}

static void release_elements(holo_array *a, const holo_element_type *type) {
  if (type->release != NULL) {
    for (int64_t i = 0; i < a->length; i++) {
      type->release(element_at(a, i, type));
    }
  }
}

/* Consumes `a`; returns a unique array holding its elements with room for `needed`:
 * `a` itself (grown in place when full) when it is unique, else a copy. A shared `a` has a
 * refcount above 1 (or is immortal), so giving up its reference never frees it. */
static holo_array *writable(holo_array *a, int64_t needed, const holo_element_type *type) {
  if (a->refcount == 1) {
    if (needed > a->capacity) {
      int64_t capacity = grown_capacity(a->capacity, needed);
      a = holo_checked_realloc(a, allocation_size(capacity, type));
      a->capacity = capacity;
    }
    return a;
  }
  int64_t capacity = needed > a->length ? grown_capacity(a->length, needed) : a->length;
  holo_array *copy = allocate(capacity, type);
  copy->length = a->length;
  if (a->length > 0) {
    memcpy(holo_array_data(copy), holo_array_data(a), (size_t)a->length * (size_t)type->size);
  }
  retain_elements(copy, type);
  if (a->refcount > 0) {
    a->refcount--;
  }
  return copy;
}

holo_array *holo_array_alloc(int64_t length, const holo_element_type *type) {
  if (length == 0) {
    return &holo_empty_array;
  }
  holo_array *a = allocate(length, type);
  a->length = length;
  return a;
}

static bool is_zero(const void *bytes, int64_t size) {
  for (int64_t i = 0; i < size; i++) {
    if (((const unsigned char *)bytes)[i] != 0) {
      return false;
    }
  }
  return true;
}

holo_array *holo_array_repeat(const void *element, int64_t count, const holo_element_type *type,
                              const holo_location *location) {
  if (count < 0) {
    holo_fail("negative array length", location);
  }
  if (count == 0) {
    return &holo_empty_array;
  }
  if (is_zero(element, type->size)) {
    /* calloc's memory may come zeroed from the system, untouched until used: no pass
     * over it here (a sieve's `[false; n]`). Only scalars are all zero bytes. */
    holo_array *a = holo_checked_calloc(allocation_size(count, type));
    a->refcount = 1;
    a->length = count;
    a->capacity = count;
    return a;
  }
  holo_array *a = holo_array_alloc(count, type);
  if (type->size == 1) {
    memset(holo_array_data(a), *(const unsigned char *)element, (size_t)count);
  } else {
    for (int64_t i = 0; i < count; i++) {
      memcpy(element_at(a, i, type), element, (size_t)type->size);
    }
  }
  retain_elements(a, type);
  return a;
}

void holo_array_retain(holo_array *a) {
  if (a->refcount >= 0) {
    a->refcount++;
  }
}

void holo_array_release(holo_array *a, const holo_element_type *type) {
  if (a->refcount > 0 && --a->refcount == 0) {
    release_elements(a, type);
    free(a);
  }
}

holo_array *holo_array_unique(holo_array *a, const holo_element_type *type) {
  if (a->refcount == 1) {
    return a;
  }
  if (a->length == 0) {
    holo_array_release(a, type);
    return &holo_empty_array;
  }
  return writable(a, a->length, type);
}

void holo_fail_index(int64_t index, int64_t length, const holo_location *location) {
  char message[96];
  snprintf(message, sizeof message,
           "index out of bounds: the index is %" PRId64 " but the length is %" PRId64, index,
           length);
  holo_fail(message, location);
}

holo_array *holo_array_push(holo_array *a, const void *element, const holo_element_type *type) {
  a = writable(a, a->length + 1, type);
  memcpy(element_at(a, a->length, type), element, (size_t)type->size);
  a->length++;
  return a;
}

holo_array *holo_array_pop(holo_array *a, void *out, const holo_element_type *type,
                           const holo_location *location) {
  if (a->length == 0) {
    holo_fail("pop from an empty array", location);
  }
  /* A copy retained every element, the popped one too: *out owns that reference. */
  a = writable(a, a->length, type);
  a->length--;
  memcpy(out, element_at(a, a->length, type), (size_t)type->size);
  return a;
}

holo_array *holo_array_insert(holo_array *a, int64_t index, const void *element,
                              const holo_element_type *type, const holo_location *location) {
  if (index < 0 || index > a->length) {
    holo_fail_index(index, a->length, location);
  }
  a = writable(a, a->length + 1, type);
  char *at = element_at(a, index, type);
  memmove(at + type->size, at, (size_t)(a->length - index) * (size_t)type->size);
  memcpy(at, element, (size_t)type->size);
  a->length++;
  return a;
}

holo_array *holo_array_remove(holo_array *a, int64_t index, void *out,
                              const holo_element_type *type, const holo_location *location) {
  if (index < 0 || index >= a->length) {
    holo_fail_index(index, a->length, location);
  }
  a = writable(a, a->length, type);
  char *at = element_at(a, index, type);
  memcpy(out, at, (size_t)type->size);
  memmove(at, at + type->size, (size_t)(a->length - index - 1) * (size_t)type->size);
  a->length--;
  return a;
}

holo_array *holo_array_clear(holo_array *a, const holo_element_type *type) {
  if (a->refcount != 1) {
    holo_array_release(a, type);
    return &holo_empty_array;
  }
  release_elements(a, type);
  a->length = 0;
  return a;
}

bool holo_array_equal(const holo_array *a, const holo_array *b, const holo_element_type *type,
                      bool (*equal)(const void *x, const void *y)) {
  if (a->length != b->length) {
    return false;
  }
  if (equal == NULL) {
    return a->length == 0 ||
           memcmp(element_at_const(a, 0, type), element_at_const(b, 0, type),
                  (size_t)a->length * (size_t)type->size) == 0;
  }
  /* No shortcut for a == b: an element need not equal itself (a NaN). */
  for (int64_t i = 0; i < a->length; i++) {
    if (!equal(element_at_const(a, i, type), element_at_const(b, i, type))) {
      return false;
    }
  }
  return true;
}

/* ---- Text ---------------------------------------------------------------------------- */

void holo_builder_append_array(holo_builder *b, const holo_array *a, const holo_element_type *type,
                               void (*append)(holo_builder *b, const void *element)) {
  holo_builder_append_bytes(b, "[", 1);
  for (int64_t i = 0; i < a->length; i++) {
    if (i > 0) {
      holo_builder_append_bytes(b, ", ", 2);
    }
    append(b, element_at_const(a, i, type));
  }
  holo_builder_append_bytes(b, "]", 1);
}

int holo_escape_byte(unsigned char byte, char out[HOLO_ESCAPE_MAX]) {
  char named = byte == '"' ? '"' : byte == '\\' ? '\\' : byte == '\n' ? 'n' : byte == '\t' ? 't'
               : byte == '\r' ? 'r' : byte == 0 ? '0' : '\0';
  if (named != '\0') {
    out[0] = '\\';
    out[1] = named;
    return 2;
  }
  if (byte >= 0x20 && byte != 0x7F) {
    return 0;
  }
  static const char hex[] = "0123456789ABCDEF";
  int length = 0;
  out[length++] = '\\';
  out[length++] = 'u';
  out[length++] = '{';
  if (byte >= 0x10) {
    out[length++] = hex[byte >> 4];
  }
  out[length++] = hex[byte & 0xF];
  out[length++] = '}';
  return length;
}

void holo_builder_append_quoted(holo_builder *b, const holo_string *s) {
  holo_builder_append_bytes(b, "\"", 1);
  /* Runs of bytes that stand for themselves are appended whole. */
  int64_t run = 0;
  for (int64_t i = 0; i < s->length; i++) {
    char escape[HOLO_ESCAPE_MAX];
    int escaped = holo_escape_byte((unsigned char)s->bytes[i], escape);
    if (escaped > 0) {
      holo_builder_append_bytes(b, s->bytes + run, i - run);
      holo_builder_append_bytes(b, escape, escaped);
      run = i + 1;
    }
  }
  holo_builder_append_bytes(b, s->bytes + run, s->length - run);
  holo_builder_append_bytes(b, "\"", 1);
}

/* ---- Built-ins ------------------------------------------------------------------------ */

holo_array *holo_args(void) {
  int64_t count = holo_program_argc > 1 ? holo_program_argc - 1 : 0;
  holo_array *a = holo_array_alloc(count, &holo_string_element_type);
  for (int64_t i = 0; i < count; i++) {
    const char *argument = holo_program_argv[i + 1];
    holo_string *s = holo_string_from_bytes(argument, (int64_t)strlen(argument));
    memcpy(element_at(a, i, &holo_string_element_type), &s, sizeof s);
  }
  return a;
}

holo_array *holo_string_bytes(const holo_string *s) {
  holo_array *a = holo_array_alloc(s->length, &holo_u8_element_type);
  if (s->length > 0) {
    memcpy(holo_array_data(a), s->bytes, (size_t)s->length);
  }
  return a;
}

/* Whether `bytes` is well-formed UTF-8 (the Unicode standard's table 3-7): each character
 * in its shortest form, none a surrogate (U+D800..U+DFFF) or past U+10FFFF, none cut
 * short. */
static bool valid_utf8(const unsigned char *bytes, int64_t length) {
  int64_t i = 0;
  while (i < length) {
    unsigned char lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    int64_t continuations;
    uint32_t code_point;
    uint32_t smallest;
    if (lead >= 0xC2 && lead <= 0xDF) {
      continuations = 1;
      code_point = lead & 0x1F;
      smallest = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      continuations = 2;
      code_point = lead & 0x0F;
      smallest = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      continuations = 3;
      code_point = lead & 0x07;
      smallest = 0x10000;
    } else {
      /* A continuation byte with no lead, a two-byte overlong lead (C0, C1), or F5..FF. */
      return false;
    }
    if (length - i - 1 < continuations) {
      return false;
    }
    for (int64_t k = 1; k <= continuations; k++) {
      unsigned char next = bytes[i + k];
      if ((next & 0xC0) != 0x80) {
        return false;
      }
      code_point = (code_point << 6) | (next & 0x3F);
    }
    if (code_point < smallest || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += continuations + 1;
  }
  return true;
}

holo_string *holo_string_from_byte_array(const holo_array *bytes, const holo_location *location) {
  const char *data = element_at_const(bytes, 0, &holo_u8_element_type);
  if (!valid_utf8((const unsigned char *)data, bytes->length)) {
    holo_fail("invalid UTF-8", location);
  }
  return holo_string_from_bytes(data, bytes->length);
}
