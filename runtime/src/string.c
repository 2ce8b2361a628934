/* Reference-counted strings and the template-string builder. */
#define _POSIX_C_SOURCE 200809L

#include "runtime_internal.h"

#include <stdlib.h>
#include <string.h>

/* Static initialisation of the flexible array (a GNU C extension gcc and clang share)
 * gives "" its NUL byte. */
holo_string holo_empty_string = {.refcount = -1, .length = 0, .bytes = ""};

void *holo_checked_malloc(size_t size) {
  void *pointer = malloc(size);
  if (pointer == NULL) {
    holo_fail("out of memory", NULL);
  }
  return pointer;
}

void *holo_checked_calloc(size_t size) {
  void *pointer = calloc(1, size);
  if (pointer == NULL) {
    holo_fail("out of memory", NULL);
  }
  return pointer;
}

void *holo_checked_realloc(void *pointer, size_t size) {
  void *resized = realloc(pointer, size);
  if (resized == NULL) {
    holo_fail("out of memory", NULL);
  }
  return resized;
}

static holo_string *allocate_string(int64_t capacity) {
  if (capacity < 0 || (uint64_t)capacity > SIZE_MAX - sizeof(holo_string) - 1) {
    holo_fail("out of memory", NULL);
  }
  return holo_checked_malloc(sizeof(holo_string) + (size_t)capacity + 1);
}

void holo_string_retain(holo_string *s) {
  if (s->refcount >= 0) {
    s->refcount++;
  }
}

void holo_string_release(holo_string *s) {
  if (s->refcount > 0 && --s->refcount == 0) {
    free(s);
  }
}

void holo_str_release(holo_str s) {
  if (s.ptr == NULL) {
    return;
  }
  /* An exported `string` result points at the bytes of a holo string. */
  holo_string_release((holo_string *)(uintptr_t)(s.ptr - offsetof(holo_string, bytes)));
}

holo_string *holo_string_from_bytes(const char *bytes, int64_t length) {
  holo_string *s = allocate_string(length);
  s->refcount = 1;
  s->length = length;
  if (length > 0) {
    memcpy(s->bytes, bytes, (size_t)length);
  }
  s->bytes[length] = '\0';
  return s;
}

int64_t holo_string_len(const holo_string *s) { return s->length; }

bool holo_string_equal(const holo_string *a, const holo_string *b) {
  return a == b || (a->length == b->length && memcmp(a->bytes, b->bytes, (size_t)a->length) == 0);
}

/* The builder writes straight into the string it will return, so finishing only shrinks
 * the allocation; it never copies the text. */
struct holo_builder {
  holo_string *text;
  int64_t capacity;
};

enum { BUILDER_INITIAL_CAPACITY = 48 };

holo_builder *holo_builder_new(void) {
  holo_builder *b = holo_checked_malloc(sizeof *b);
  b->capacity = BUILDER_INITIAL_CAPACITY;
  b->text = allocate_string(b->capacity);
  b->text->refcount = 1;
  b->text->length = 0;
  return b;
}

static char *reserve(holo_builder *b, int64_t extra) {
  int64_t needed = b->text->length + extra;
  if (needed > b->capacity) {
    int64_t capacity = b->capacity * 2;
    if (capacity < needed) {
      capacity = needed;
    }
    if (capacity < 0 || (uint64_t)capacity > SIZE_MAX - sizeof(holo_string) - 1) {
      holo_fail("out of memory", NULL);
    }
    b->text = holo_checked_realloc(b->text, sizeof(holo_string) + (size_t)capacity + 1);
    b->capacity = capacity;
  }
  return b->text->bytes + b->text->length;
}

void holo_builder_append_bytes(holo_builder *b, const char *bytes, int64_t length) {
  if (length <= 0) {
    return;
  }
  memcpy(reserve(b, length), bytes, (size_t)length);
  b->text->length += length;
}

void holo_builder_append_string(holo_builder *b, const holo_string *s) {
  holo_builder_append_bytes(b, s->bytes, s->length);
}

void holo_builder_append_i64(holo_builder *b, int64_t value) {
  b->text->length += holo_format_i64_digits(value, reserve(b, HOLO_NUMBER_TEXT_MAX));
}

void holo_builder_append_u64(holo_builder *b, uint64_t value) {
  b->text->length += holo_format_u64_digits(value, reserve(b, HOLO_NUMBER_TEXT_MAX));
}

/* reserve() leaves room for the NUL that holo_format_f64/f32 write after the text. */
void holo_builder_append_f64(holo_builder *b, double value) {
  b->text->length += holo_format_f64(value, reserve(b, HOLO_NUMBER_TEXT_MAX));
}

void holo_builder_append_f32(holo_builder *b, float value) {
  b->text->length += holo_format_f32(value, reserve(b, HOLO_NUMBER_TEXT_MAX));
}

void holo_builder_append_bool(holo_builder *b, bool value) {
  if (value) {
    holo_builder_append_bytes(b, "true", 4);
  } else {
    holo_builder_append_bytes(b, "false", 5);
  }
}

holo_string *holo_builder_finish(holo_builder *b) {
  holo_string *s = b->text;
  if (s->length < b->capacity) {
    /* Shrinking in place is the common case; keep the original if realloc cannot. */
    holo_string *shrunk = realloc(s, sizeof(holo_string) + (size_t)s->length + 1);
    if (shrunk != NULL) {
      s = shrunk;
    }
  }
  s->bytes[s->length] = '\0';
  free(b);
  return s;
}
