/* Arrays: literals and [x; n], push growth, pop/insert/remove/clear, copy-on-write (a
 * shared array is copied on write and the original left as it was, refcounts exact),
 * equality, printing with quoted strings and nested arrays, args, string_bytes and
 * string_from_bytes with valid and invalid UTF-8, every failure message (caught by a
 * failure handler that longjmps back), and a leak check: nested arrays of strings built
 * and dropped in a loop must leave the maximum resident set small.
 *
 * Without arguments it runs the checks (HOLO_ARRAYS_TEST_ITERATIONS sets the leak loop's
 * count, smaller under valgrind). `args ...` prints args() as holo prints a [string];
 * the other modes each end in one runtime failure, which RuntimeTests.swift asserts. */
#define _DEFAULT_SOURCE

#include "check.h"
#include "holo.h"

#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const holo_location at_index = {"arrays.holo", 7, 3, NULL};

static const holo_element_type i64_type = {8, 8, NULL, NULL};
static const holo_element_type f64_type = {8, 8, NULL, NULL};

/* A struct the compiler would lay out with 16-byte alignment. */
typedef struct wide {
  _Alignas(16) int64_t low;
  int64_t high;
} wide;
static const holo_element_type wide_type = {sizeof(wide), _Alignof(wide), NULL, NULL};

/* [string] elements of a [[string]], as the compiler would describe them. */
static void retain_string_array(void *element) { holo_array_retain(*(holo_array **)element); }

static void release_string_array(void *element) {
  holo_array_release(*(holo_array **)element, &holo_string_element_type);
}

static const holo_element_type string_array_type = {sizeof(holo_array *),
                                                    _Alignof(holo_array *),
                                                    retain_string_array, release_string_array};

static void append_i64(holo_builder *b, const void *element) {
  holo_builder_append_i64(b, *(const int64_t *)element);
}

static void append_quoted(holo_builder *b, const void *element) {
  holo_builder_append_quoted(b, *(holo_string *const *)element);
}

static void append_string_array(holo_builder *b, const void *element) {
  holo_builder_append_array(b, *(holo_array *const *)element, &holo_string_element_type,
                            append_quoted);
}

static bool equal_strings(const void *x, const void *y) {
  return holo_string_equal(*(holo_string *const *)x, *(holo_string *const *)y);
}

static bool equal_f64(const void *x, const void *y) {
  return *(const double *)x == *(const double *)y;
}

static bool equal_string_arrays(const void *x, const void *y) {
  return holo_array_equal(*(holo_array *const *)x, *(holo_array *const *)y,
                          &holo_string_element_type, equal_strings);
}

static holo_string *text(const char *bytes) {
  return holo_string_from_bytes(bytes, (int64_t)strlen(bytes));
}

static int64_t *i64s(holo_array *a) { return holo_array_data(a); }

static holo_string **strings(holo_array *a) { return holo_array_data(a); }

/* An array literal of i64s. */
static holo_array *i64_array(int64_t length, const int64_t *values) {
  holo_array *a = holo_array_alloc(length, &i64_type);
  if (length > 0) {
    memcpy(holo_array_data(a), values, (size_t)length * sizeof *values);
  }
  return a;
}

/* An array literal of new strings. */
static holo_array *string_array(int64_t length, const char *const *values) {
  holo_array *a = holo_array_alloc(length, &holo_string_element_type);
  for (int64_t i = 0; i < length; i++) {
    strings(a)[i] = text(values[i]);
  }
  return a;
}

/* The finished text of `a`, printed with `append`, compared with `expected`. */
static void check_text(const holo_array *a, const holo_element_type *type,
                       void (*append)(holo_builder *b, const void *element),
                       const char *expected) {
  holo_builder *b = holo_builder_new();
  holo_builder_append_array(b, a, type, append);
  holo_string *s = holo_builder_finish(b);
  CHECK_TEXT(s->bytes, expected);
  holo_string_release(s);
}

/* ---- Failures, caught in-process ------------------------------------------------------ */

static jmp_buf failure_jump;
static char failure_message[128];
static int32_t failure_line;
static int32_t failure_column;

static void catch_failure(const char *message, const holo_location *location, void *context) {
  (void)context;
  snprintf(failure_message, sizeof failure_message, "%s", message);
  failure_line = location->line;
  failure_column = location->column;
  longjmp(failure_jump, 1);
}

/* Runs `operation`, which must fail at `at_index` with `expected`. */
static void expect_failure(void (*operation)(void), const char *expected) {
  failure_message[0] = '\0';
  holo_set_failure_handler(catch_failure, NULL);
  if (setjmp(failure_jump) == 0) {
    operation();
    holo_set_failure_handler(NULL, NULL);
    fprintf(stderr, "expected the failure \"%s\"\n", expected);
    check_failures++;
    return;
  }
  holo_set_failure_handler(NULL, NULL);
  CHECK_TEXT(failure_message, expected);
  CHECK(failure_line == at_index.line && failure_column == at_index.column);
}

/* The operand of the failing operations below; it is never consumed (they fail first). */
static holo_array *operand;
static const uint8_t *utf8_bytes;
static int64_t utf8_length;

static void repeat_negative(void) {
  int64_t zero = 0;
  holo_array_repeat(&zero, -1, &i64_type, &at_index);
}

static void fail_index(void) { holo_fail_index(5, 3, &at_index); }

static void pop_empty(void) {
  int64_t out;
  holo_array_pop(operand, &out, &i64_type, &at_index);
}

static void insert_past_end(void) {
  int64_t value = 9;
  holo_array_insert(operand, operand->length + 1, &value, &i64_type, &at_index);
}

static void insert_negative(void) {
  int64_t value = 9;
  holo_array_insert(operand, -1, &value, &i64_type, &at_index);
}

static void remove_at_end(void) {
  int64_t out;
  holo_array_remove(operand, operand->length, &out, &i64_type, &at_index);
}

static void remove_negative(void) {
  int64_t out;
  holo_array_remove(operand, -2, &out, &i64_type, &at_index);
}

static void from_invalid_utf8(void) {
  holo_array *bytes = holo_array_alloc(utf8_length, &holo_u8_element_type);
  memcpy(holo_array_data(bytes), utf8_bytes, (size_t)utf8_length);
  operand = bytes;
  holo_string_from_byte_array(bytes, &at_index);
}

/* ---- The checks ------------------------------------------------------------------------ */

static void check_literals(void) {
  holo_array *a = i64_array(3, (int64_t[]){1, 2, 3});
  CHECK(a->refcount == 1 && a->length == 3 && a->capacity == 3);
  CHECK(i64s(a)[0] == 1 && i64s(a)[2] == 3);
  CHECK((uintptr_t)holo_array_data(a) - (uintptr_t)a == HOLO_ARRAY_DATA_OFFSET);
  CHECK(sizeof(holo_array) == HOLO_ARRAY_DATA_OFFSET);
  holo_array_release(a, &i64_type);

  holo_array *aligned = holo_array_alloc(2, &wide_type);
  CHECK((uintptr_t)holo_array_data(aligned) % 16 == 0);
  holo_array_release(aligned, &wide_type);

  /* `[]`: the immortal empty array, which retain and release leave alone. */
  holo_array *empty = holo_array_alloc(0, &holo_string_element_type);
  CHECK(empty == &holo_empty_array);
  holo_array_retain(empty);
  holo_array_release(empty, &holo_string_element_type);
  holo_array_release(empty, &holo_string_element_type);
  CHECK(holo_empty_array.refcount < 0 && holo_empty_array.length == 0);
}

static void check_repeat(void) {
  holo_string *s = text("x");
  holo_array *a = holo_array_repeat(&s, 3, &holo_string_element_type, &at_index);
  CHECK(a->length == 3 && s->refcount == 4);
  CHECK(strings(a)[0] == s && strings(a)[2] == s);
  holo_array_release(a, &holo_string_element_type);
  CHECK(s->refcount == 1);
  CHECK(holo_array_repeat(&s, 0, &holo_string_element_type, &at_index) == &holo_empty_array);
  CHECK(s->refcount == 1);
  holo_string_release(s);

  uint8_t byte = 0xAB;
  holo_array *bytes = holo_array_repeat(&byte, 1000, &holo_u8_element_type, &at_index);
  const uint8_t *data = holo_array_data(bytes);
  CHECK(bytes->length == 1000 && data[0] == 0xAB && data[999] == 0xAB);
  holo_array_release(bytes, &holo_u8_element_type);

  double zero = 0.5;
  holo_array *floats = holo_array_repeat(&zero, 5, &f64_type, &at_index);
  CHECK(((double *)holo_array_data(floats))[4] == 0.5);
  holo_array_release(floats, &f64_type);

  expect_failure(repeat_negative, "negative array length");
}

static void check_push_growth(void) {
  holo_array *a = &holo_empty_array;
  int64_t reallocations = 0;
  int64_t capacity = a->capacity;
  for (int64_t i = 0; i < 100000; i++) {
    a = holo_array_push(a, &i, &i64_type);
    if (a->capacity != capacity) {
      reallocations++;
      capacity = a->capacity;
    }
  }
  CHECK(a->refcount == 1 && a->length == 100000);
  CHECK(a->capacity >= a->length && a->capacity < 2 * a->length);
  /* Doubling from 4: 4, 8, ..., 131072. */
  CHECK(reallocations == 16);
  bool all = true;
  for (int64_t i = 0; i < a->length; i++) {
    all = all && i64s(a)[i] == i;
  }
  CHECK(all);
  holo_array_release(a, &i64_type);

  /* Pushed strings are moved in: no extra reference. */
  holo_array *names = &holo_empty_array;
  holo_string *s = text("name");
  names = holo_array_push(names, &s, &holo_string_element_type);
  CHECK(s->refcount == 1 && names->length == 1 && strings(names)[0] == s);
  holo_array_release(names, &holo_string_element_type);
}

static void check_pop_insert_remove(void) {
  holo_array *a = i64_array(3, (int64_t[]){1, 2, 3});
  int64_t out = 0;
  a = holo_array_pop(a, &out, &i64_type, &at_index);
  CHECK(out == 3 && a->length == 2);
  a = holo_array_insert(a, 0, &(int64_t){0}, &i64_type, &at_index);
  a = holo_array_insert(a, 2, &(int64_t){5}, &i64_type, &at_index);
  a = holo_array_insert(a, a->length, &(int64_t){9}, &i64_type, &at_index);
  check_text(a, &i64_type, append_i64, "[0, 1, 5, 2, 9]");
  a = holo_array_remove(a, 0, &out, &i64_type, &at_index);
  CHECK(out == 0);
  a = holo_array_remove(a, 1, &out, &i64_type, &at_index);
  CHECK(out == 5);
  a = holo_array_remove(a, a->length - 1, &out, &i64_type, &at_index);
  CHECK(out == 9);
  check_text(a, &i64_type, append_i64, "[1, 2]");
  a = holo_array_pop(a, &out, &i64_type, &at_index);
  a = holo_array_pop(a, &out, &i64_type, &at_index);
  CHECK(out == 1 && a->length == 0);

  operand = a;
  expect_failure(pop_empty, "pop from an empty array");
  operand = &holo_empty_array;
  expect_failure(pop_empty, "pop from an empty array");
  expect_failure(insert_past_end, "index out of bounds: the index is 1 but the length is 0");
  holo_array_release(a, &i64_type);
  operand = i64_array(3, (int64_t[]){1, 2, 3});
  expect_failure(insert_past_end, "index out of bounds: the index is 4 but the length is 3");
  expect_failure(insert_negative, "index out of bounds: the index is -1 but the length is 3");
  expect_failure(remove_at_end, "index out of bounds: the index is 3 but the length is 3");
  expect_failure(remove_negative, "index out of bounds: the index is -2 but the length is 3");
  expect_failure(fail_index, "index out of bounds: the index is 5 but the length is 3");
  /* A failed operation consumed nothing. */
  CHECK(operand->refcount == 1 && operand->length == 3);
  holo_array_release(operand, &i64_type);

  /* Strings popped and removed are moved out: the caller owns them. */
  holo_array *names = string_array(3, (const char *[]){"a", "b", "c"});
  holo_string *name = NULL;
  names = holo_array_remove(names, 1, &name, &holo_string_element_type, &at_index);
  CHECK_TEXT(name->bytes, "b");
  CHECK(name->refcount == 1);
  holo_string_release(name);
  names = holo_array_pop(names, &name, &holo_string_element_type, &at_index);
  CHECK_TEXT(name->bytes, "c");
  holo_string_release(name);
  holo_array_release(names, &holo_string_element_type);
}

static void check_copy_on_write(void) {
  /* let b = a; b.push(4): a keeps its three elements. */
  holo_array *a = i64_array(3, (int64_t[]){1, 2, 3});
  holo_array_retain(a);
  holo_array *b = holo_array_push(a, &(int64_t){4}, &i64_type);
  CHECK(b != a && a->refcount == 1 && b->refcount == 1);
  check_text(a, &i64_type, append_i64, "[1, 2, 3]");
  check_text(b, &i64_type, append_i64, "[1, 2, 3, 4]");
  /* b is unique now: a write with room to spare is in place. */
  b = holo_array_push(b, &(int64_t){5}, &i64_type);
  CHECK(b->refcount == 1 && b->length < b->capacity);
  holo_array *same = holo_array_push(b, &(int64_t){6}, &i64_type);
  CHECK(same == b);
  check_text(b, &i64_type, append_i64, "[1, 2, 3, 4, 5, 6]");
  holo_array_release(b, &i64_type);

  /* unique: a unique array is itself, a shared one a copy, the empty array itself. */
  CHECK(holo_array_unique(a, &i64_type) == a);
  holo_array_retain(a);
  holo_array *c = holo_array_unique(a, &i64_type);
  CHECK(c != a && a->refcount == 1 && c->refcount == 1);
  i64s(c)[0] = 100; /* c[0] = 100 */
  CHECK(i64s(a)[0] == 1);
  holo_array_release(c, &i64_type);
  CHECK(holo_array_unique(&holo_empty_array, &i64_type) == &holo_empty_array);
  holo_array *emptied = holo_array_clear(holo_array_unique(a, &i64_type), &i64_type);
  holo_array_retain(emptied);
  CHECK(holo_array_unique(emptied, &i64_type) == &holo_empty_array && emptied->refcount == 1);
  holo_array_release(emptied, &i64_type);

  /* Strings are shared by the copy, not copied: each is retained once more. */
  holo_array *names = string_array(2, (const char *[]){"x", "y"});
  holo_string *x = strings(names)[0];
  holo_array_retain(names);
  holo_array *more = holo_array_push(names, &(holo_string *){text("z")},
                                     &holo_string_element_type);
  CHECK(more != names && names->refcount == 1 && names->length == 2);
  CHECK(x->refcount == 2 && strings(more)[0] == x);
  holo_array_release(names, &holo_string_element_type);
  CHECK(x->refcount == 1);

  /* pop, insert, remove of a shared array copy it too. */
  holo_array_retain(more);
  holo_string *popped = NULL;
  holo_array *fewer = holo_array_pop(more, &popped, &holo_string_element_type, &at_index);
  CHECK(fewer != more && more->length == 3 && fewer->length == 2 && popped->refcount == 2);
  holo_string_release(popped);
  holo_array_retain(more);
  holo_array *inserted = holo_array_insert(more, 1, &(holo_string *){text("w")},
                                           &holo_string_element_type, &at_index);
  CHECK(inserted != more && more->length == 3 && inserted->length == 4);
  CHECK(more->refcount == 1);
  holo_array_retain(more);
  holo_string *removed = NULL;
  holo_array *removed_from = holo_array_remove(more, 0, &removed, &holo_string_element_type,
                                               &at_index);
  CHECK(removed_from != more && more->refcount == 1 && removed == x && x->refcount == 4);
  holo_string_release(removed);
  check_text(more, &holo_string_element_type, append_quoted, "[\"x\", \"y\", \"z\"]");
  check_text(fewer, &holo_string_element_type, append_quoted, "[\"x\", \"y\"]");
  check_text(inserted, &holo_string_element_type, append_quoted, "[\"x\", \"w\", \"y\", \"z\"]");
  check_text(removed_from, &holo_string_element_type, append_quoted, "[\"y\", \"z\"]");
  holo_array_release(more, &holo_string_element_type);
  holo_array_release(fewer, &holo_string_element_type);
  holo_array_release(inserted, &holo_string_element_type);
  holo_array_release(removed_from, &holo_string_element_type);

  /* A nested array is shared by reference: writing the inner one of a copy copies it. */
  holo_array *outer = holo_array_alloc(1, &string_array_type);
  holo_array *inner = string_array(1, (const char *[]){"in"});
  memcpy(holo_array_data(outer), &inner, sizeof inner);
  holo_array_retain(outer);
  holo_array *copy = holo_array_unique(outer, &string_array_type);
  CHECK(copy != outer && inner->refcount == 2);
  holo_array **slot = holo_array_data(copy);
  *slot = holo_array_push(holo_array_unique(*slot, &holo_string_element_type),
                          &(holo_string *){text("more")}, &holo_string_element_type);
  CHECK(*slot != inner && inner->refcount == 1 && inner->length == 1 && (*slot)->length == 2);
  holo_array_release(outer, &string_array_type);
  holo_array_release(copy, &string_array_type);
}

static void check_clear(void) {
  holo_array *names = string_array(3, (const char *[]){"a", "b", "c"});
  holo_string *kept = strings(names)[0];
  holo_string_retain(kept);
  names = holo_array_push(names, &(holo_string *){text("d")}, &holo_string_element_type);
  int64_t capacity = names->capacity;
  holo_array *cleared = holo_array_clear(names, &holo_string_element_type);
  CHECK(cleared == names && cleared->length == 0 && cleared->capacity == capacity);
  CHECK(kept->refcount == 1);
  cleared = holo_array_push(cleared, &kept, &holo_string_element_type);
  CHECK(cleared == names && cleared->length == 1);

  holo_array_retain(cleared);
  holo_array *other = holo_array_clear(cleared, &holo_string_element_type);
  CHECK(other == &holo_empty_array && cleared->refcount == 1 && cleared->length == 1);
  CHECK(holo_array_clear(&holo_empty_array, &holo_string_element_type) == &holo_empty_array);
  holo_array_release(cleared, &holo_string_element_type);
}

static void check_equal(void) {
  holo_array *a = i64_array(3, (int64_t[]){1, 2, 3});
  holo_array *b = i64_array(3, (int64_t[]){1, 2, 3});
  holo_array *c = i64_array(3, (int64_t[]){1, 2, 4});
  holo_array *d = i64_array(2, (int64_t[]){1, 2});
  CHECK(holo_array_equal(a, b, &i64_type, NULL));
  CHECK(!holo_array_equal(a, c, &i64_type, NULL));
  CHECK(!holo_array_equal(a, d, &i64_type, NULL));
  CHECK(!holo_array_equal(&holo_empty_array, d, &i64_type, NULL));
  CHECK(holo_array_equal(&holo_empty_array, &holo_empty_array, &i64_type, NULL));
  d = holo_array_clear(d, &i64_type);
  CHECK(holo_array_equal(&holo_empty_array, d, &i64_type, NULL));
  holo_array_release(a, &i64_type);
  holo_array_release(b, &i64_type);
  holo_array_release(c, &i64_type);
  holo_array_release(d, &i64_type);

  /* Strings by content. */
  holo_array *names = string_array(2, (const char *[]){"p", "q"});
  holo_array *same = string_array(2, (const char *[]){"p", "q"});
  holo_array *other = string_array(2, (const char *[]){"p", "r"});
  CHECK(holo_array_equal(names, same, &holo_string_element_type, equal_strings));
  CHECK(!holo_array_equal(names, other, &holo_string_element_type, equal_strings));

  /* Nested: [[string]] element-wise. */
  holo_array *outer = holo_array_alloc(2, &string_array_type);
  holo_array *outer_same = holo_array_alloc(2, &string_array_type);
  ((holo_array **)holo_array_data(outer))[0] = names;
  ((holo_array **)holo_array_data(outer))[1] = &holo_empty_array;
  ((holo_array **)holo_array_data(outer_same))[0] = same;
  ((holo_array **)holo_array_data(outer_same))[1] = &holo_empty_array;
  CHECK(holo_array_equal(outer, outer_same, &string_array_type, equal_string_arrays));
  ((holo_array **)holo_array_data(outer_same))[0] = other;
  CHECK(!holo_array_equal(outer, outer_same, &string_array_type, equal_string_arrays));
  ((holo_array **)holo_array_data(outer_same))[0] = same;
  holo_array_release(outer, &string_array_type);
  holo_array_release(outer_same, &string_array_type);
  holo_array_release(other, &holo_string_element_type);

  /* Floats by IEEE `==`: an array holding NaN is not equal even to itself. */
  double values[] = {0.0, NAN};
  holo_array *floats = holo_array_alloc(2, &f64_type);
  memcpy(holo_array_data(floats), values, sizeof values);
  CHECK(!holo_array_equal(floats, floats, &f64_type, equal_f64));
  ((double *)holo_array_data(floats))[1] = 1.0;
  holo_array *negative_zero = holo_array_alloc(2, &f64_type);
  memcpy(holo_array_data(negative_zero), (double[]){-0.0, 1.0}, 2 * sizeof(double));
  CHECK(holo_array_equal(floats, negative_zero, &f64_type, equal_f64));
  holo_array_release(floats, &f64_type);
  holo_array_release(negative_zero, &f64_type);
}

static void check_printing(void) {
  check_text(&holo_empty_array, &i64_type, append_i64, "[]");
  holo_array *numbers = i64_array(3, (int64_t[]){1, -2, 3});
  check_text(numbers, &i64_type, append_i64, "[1, -2, 3]");
  holo_array_release(numbers, &i64_type);

  holo_array *outer = holo_array_alloc(3, &string_array_type);
  holo_array **inner = holo_array_data(outer);
  inner[0] = string_array(2, (const char *[]){"a", "b\"c"});
  inner[1] = &holo_empty_array;
  inner[2] = string_array(4, (const char *[]){"tab\there\r\n", "\x1b[1m\x01\x7f", "back\\slash",
                                              "caf\xc3\xa9 \xe2\x82\xac"});
  inner[2] = holo_array_push(inner[2], &(holo_string *){holo_string_from_bytes("nul\0!", 5)},
                             &holo_string_element_type);
  inner[2] = holo_array_push(inner[2], &(holo_string *){text("")}, &holo_string_element_type);
  check_text(outer, &string_array_type, append_string_array,
             "[[\"a\", \"b\\\"c\"], [], [\"tab\\there\\r\\n\", \"\\u{1B}[1m\\u{1}\\u{7F}\", "
             "\"back\\\\slash\", \"caf\xc3\xa9 \xe2\x82\xac\", \"nul\\0!\", \"\"]]");
  holo_array_release(outer, &string_array_type);
}

static void check_args(void) {
  /* This program runs its checks without arguments. */
  holo_array *args = holo_args();
  CHECK(args == &holo_empty_array);
  holo_array_release(args, &holo_string_element_type);
}

static void check_bytes(void) {
  holo_string *s = text("h\xc3\xa9llo");
  holo_array *bytes = holo_string_bytes(s);
  CHECK(bytes->refcount == 1 && bytes->length == 6);
  CHECK(memcmp(holo_array_data(bytes), "h\xc3\xa9llo", 6) == 0);
  holo_string *back = holo_string_from_byte_array(bytes, &at_index);
  CHECK(holo_string_equal(back, s) && back != s && back->refcount == 1);
  CHECK(back->bytes[back->length] == '\0');
  holo_string_release(back);
  holo_array_release(bytes, &holo_u8_element_type);
  holo_string_release(s);

  holo_string *empty = text("");
  bytes = holo_string_bytes(empty);
  CHECK(bytes == &holo_empty_array);
  back = holo_string_from_byte_array(bytes, &at_index);
  CHECK(back->length == 0 && back->bytes[0] == '\0');
  holo_string_release(back);
  holo_string_release(empty);

  /* Each boundary of the well-formed ranges, NUL included. */
  static const struct {
    const char *bytes;
    int64_t length;
  } valid[] = {
      {"\0", 1},
      {"\x7f", 1},
      {"\xc2\x80", 2},
      {"\xdf\xbf", 2},
      {"\xe0\xa0\x80", 3},
      {"\xed\x9f\xbf", 3}, /* U+D7FF */
      {"\xee\x80\x80", 3}, /* U+E000 */
      {"\xef\xbf\xbf", 3},
      {"\xf0\x90\x80\x80", 4},
      {"\xf4\x8f\xbf\xbf", 4}, /* U+10FFFF */
      {"a\xf0\x9f\x98\x80z", 6},
  };
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
    holo_array *a = holo_array_alloc(valid[i].length, &holo_u8_element_type);
    memcpy(holo_array_data(a), valid[i].bytes, (size_t)valid[i].length);
    holo_string *made = holo_string_from_byte_array(a, &at_index);
    CHECK(made->length == valid[i].length && memcmp(made->bytes, valid[i].bytes,
                                                    (size_t)valid[i].length) == 0);
    holo_string_release(made);
    holo_array_release(a, &holo_u8_element_type);
  }

  static const struct {
    const char *bytes;
    int64_t length;
  } invalid[] = {
      {"\x80", 1},                 /* a continuation byte alone */
      {"a\xbf", 2},                /* ... after a character */
      {"\xc0\x80", 2},             /* overlong NUL */
      {"\xc1\xbf", 2},             /* overlong U+7F */
      {"\xe0\x9f\xbf", 3},         /* overlong U+7FF */
      {"\xf0\x8f\xbf\xbf", 4},     /* overlong U+FFFF */
      {"\xed\xa0\x80", 3},         /* U+D800 */
      {"\xed\xbf\xbf", 3},         /* U+DFFF */
      {"\xf4\x90\x80\x80", 4},     /* U+110000 */
      {"\xf5\x80\x80\x80", 4},     /* past any lead */
      {"\xff", 1},
      {"\xe2\x82", 2},             /* truncated at the end */
      {"\xe2\x82z", 3},            /* cut short by another character */
      {"\xf0\x9f\x98", 3},
      {"\xc3", 1},
  };
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
    utf8_bytes = (const uint8_t *)invalid[i].bytes;
    utf8_length = invalid[i].length;
    operand = NULL;
    expect_failure(from_invalid_utf8, "invalid UTF-8");
    if (operand != NULL) {
      holo_array_release(operand, &holo_u8_element_type);
    }
  }
}

static long max_resident_kilobytes(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

/* Builds [[string]] values, copies and changes them, prints and drops them. */
static void check_no_leak(void) {
  const char *count_text = getenv("HOLO_ARRAYS_TEST_ITERATIONS");
  long iterations = count_text != NULL ? atol(count_text) : 1000000;
  long before = max_resident_kilobytes();
  int64_t printed = 0;
  for (long i = 0; i < iterations; i++) {
    holo_array *outer = &holo_empty_array;
    for (int j = 0; j < 3; j++) {
      holo_string *word = text("some words");
      holo_array *inner = holo_array_repeat(&word, 2, &holo_string_element_type, &at_index);
      holo_string_release(word);
      inner = holo_array_push(inner, &(holo_string *){text("more")}, &holo_string_element_type);
      outer = holo_array_push(outer, &inner, &string_array_type);
    }
    /* let copy = outer; copy[0].push(...); copy.pop() */
    holo_array_retain(outer);
    holo_array *copy = holo_array_unique(outer, &string_array_type);
    holo_array **first = holo_array_data(copy);
    *first = holo_array_push(holo_array_unique(*first, &holo_string_element_type),
                             &(holo_string *){text("pushed")}, &holo_string_element_type);
    holo_array *popped;
    copy = holo_array_pop(copy, &popped, &string_array_type, &at_index);
    holo_array_release(popped, &holo_string_element_type);
    holo_array *removed;
    outer = holo_array_remove(outer, 1, &removed, &string_array_type, &at_index);
    holo_array_release(removed, &holo_string_element_type);

    holo_builder *b = holo_builder_new();
    holo_builder_append_array(b, copy, &string_array_type, append_string_array);
    holo_string *printed_text = holo_builder_finish(b);
    holo_array *bytes = holo_string_bytes(printed_text);
    holo_string *again = holo_string_from_byte_array(bytes, &at_index);
    printed += again->length;
    holo_string_release(again);
    holo_array_release(bytes, &holo_u8_element_type);
    holo_string_release(printed_text);
    copy = holo_array_clear(copy, &string_array_type);
    holo_array_release(copy, &string_array_type);
    holo_array_release(outer, &string_array_type);
  }
  CHECK(printed == iterations * (int64_t)strlen(
                                    "[[\"some words\", \"some words\", \"more\", \"pushed\"], "
                                    "[\"some words\", \"some words\", \"more\"]]"));
  long growth = max_resident_kilobytes() - before;
  /* Keeping any of these arrays alive would take hundreds of megabytes. */
  if (growth > 16 * 1024) {
    fprintf(stderr, "max RSS grew by %ld KiB\n", growth);
    check_failures++;
  }
}

static void run_checks(void) {
  check_literals();
  check_repeat();
  check_push_growth();
  check_pop_insert_remove();
  check_copy_on_write();
  check_clear();
  check_equal();
  check_printing();
  check_args();
  check_bytes();
  check_no_leak();
}

/* ---- Modes run by RuntimeTests.swift ------------------------------------------------ */

static void print_args(void) {
  holo_array *args = holo_args();
  holo_builder *b = holo_builder_new();
  holo_builder_append_array(b, args, &holo_string_element_type, append_quoted);
  holo_string *s = holo_builder_finish(b);
  holo_print_string(s);
  holo_print_newline();
  holo_string_release(s);
  /* A new reference each call. */
  holo_array *again = holo_args();
  CHECK(again != args && again->refcount == 1 && args->refcount == 1);
  holo_array_release(again, &holo_string_element_type);
  holo_array_release(args, &holo_string_element_type);
}

static void pop_from_empty(void) {
  int64_t out;
  holo_string *output = text("partial output");
  holo_print_string(output);
  holo_string_release(output);
  holo_array_pop(&holo_empty_array, &out, &i64_type, &at_index);
}

static void index_out_of_bounds(void) { holo_fail_index(5, 3, &at_index); }

static void insert_out_of_range(void) {
  operand = i64_array(3, (int64_t[]){1, 2, 3});
  insert_past_end();
}

static void remove_out_of_range(void) {
  operand = i64_array(3, (int64_t[]){1, 2, 3});
  remove_at_end();
}

static void invalid_utf8(void) {
  utf8_bytes = (const uint8_t *)"\xed\xa0\x80";
  utf8_length = 3;
  from_invalid_utf8();
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  static const struct {
    const char *name;
    void (*entry)(void);
  } modes[] = {
      {"args", print_args},
      {"repeat-negative", repeat_negative},
      {"index", index_out_of_bounds},
      {"pop-empty", pop_from_empty},
      {"insert-out-of-range", insert_out_of_range},
      {"remove-out-of-range", remove_out_of_range},
      {"invalid-utf8", invalid_utf8},
  };
  if (argc == 1) {
    /* A C host that never called holo_main has no arguments. */
    holo_array *args = holo_args();
    CHECK(args == &holo_empty_array);
    holo_main(argc, argv, run_checks, NULL);
    return check_exit_status();
  }
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    if (strcmp(mode, modes[i].name) == 0) {
      holo_main(argc, argv, modes[i].entry, NULL);
      return check_exit_status();
    }
  }
  fprintf(stderr, "unknown mode\n");
  return 2;
}
