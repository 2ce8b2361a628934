/* Strings: construction, equality, retain/release (immortal strings untouched), the
 * builder's growth and its text, and a leak check: ten million strings built and released
 * in a loop must leave the maximum resident set small. */
#define _DEFAULT_SOURCE

#include "check.h"
#include "holo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Laid out like holo_string, as the compiler emits literals. */
static struct {
  int64_t refcount;
  int64_t length;
  char bytes[6];
} immortal_literal = {-1, 5, "hello"};

static long max_resident_kilobytes(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

static void check_strings(void) {
  holo_string *a = holo_string_from_bytes("hello", 5);
  holo_string *b = holo_string_from_bytes("hello world", 5);
  holo_string *c = holo_string_from_bytes("help!", 5);
  holo_string *empty = holo_string_from_bytes(NULL, 0);
  holo_string *embedded = holo_string_from_bytes("a\0b", 3);
  holo_string *literal = (holo_string *)&immortal_literal;
  CHECK(a->refcount == 1);
  CHECK(holo_string_len(a) == 5);
  CHECK(a->bytes[5] == '\0');
  CHECK(holo_string_equal(a, b));
  CHECK(holo_string_equal(a, literal));
  CHECK(!holo_string_equal(a, c));
  CHECK(!holo_string_equal(a, empty));
  CHECK(holo_string_len(empty) == 0 && empty->bytes[0] == '\0');
  CHECK(holo_string_len(embedded) == 3 && memcmp(embedded->bytes, "a\0b", 4) == 0);

  holo_string_retain(a);
  holo_string_retain(a);
  CHECK(a->refcount == 3);
  holo_string_release(a);
  CHECK(a->refcount == 2);
  holo_string_release(a);
  holo_string_release(a);

  holo_string_retain(literal);
  holo_string_release(literal);
  holo_string_release(literal);
  CHECK(literal->refcount == -1);
  CHECK(holo_string_equal(literal, b));

  holo_string_release(b);
  holo_string_release(c);
  holo_string_release(empty);
  holo_string_release(embedded);
}

static void check_builder(void) {
  holo_builder *builder = holo_builder_new();
  holo_string *finished = holo_builder_finish(builder);
  CHECK(finished->length == 0 && finished->bytes[0] == '\0' && finished->refcount == 1);
  holo_string_release(finished);

  /* Outer { `Inner {name}` } with enough text to force several regrowths. */
  holo_string *name = holo_string_from_bytes("holo", 4);
  holo_builder *inner = holo_builder_new();
  holo_builder_append_bytes(inner, "Inner ", 6);
  holo_builder_append_string(inner, name);
  holo_string *inner_text = holo_builder_finish(inner);
  builder = holo_builder_new();
  holo_builder_append_bytes(builder, "Outer ", 6);
  holo_builder_append_string(builder, inner_text);
  for (int i = 0; i < 1000; i++) {
    holo_builder_append_bytes(builder, " ", 1);
    holo_builder_append_i64(builder, i);
  }
  holo_string *text = holo_builder_finish(builder);
  CHECK(strncmp(text->bytes, "Outer Inner holo 0 1 2 ", 23) == 0);
  CHECK(text->length == (int64_t)strlen(text->bytes));
  CHECK(strcmp(text->bytes + text->length - 8, " 998 999") == 0);
  holo_string_release(text);
  holo_string_release(inner_text);
  holo_string_release(name);
}

static void check_no_leak(void) {
  long before = max_resident_kilobytes();
  for (int i = 0; i < 10000000; i++) {
    holo_string *s = holo_string_from_bytes("a string of some length", 23);
    holo_builder *builder = holo_builder_new();
    holo_builder_append_string(builder, s);
    holo_builder_append_i64(builder, i);
    holo_string *t = holo_builder_finish(builder);
    holo_string_retain(t);
    holo_string_release(t);
    holo_string_release(t);
    holo_string_release(s);
  }
  long growth = max_resident_kilobytes() - before;
  /* Keeping any of these strings alive would take hundreds of megabytes. */
  if (growth > 16 * 1024) {
    fprintf(stderr, "max RSS grew by %ld KiB\n", growth);
    check_failures++;
  }
}

int main(void) {
  check_strings();
  check_builder();
  check_no_leak();
  return check_exit_status();
}
