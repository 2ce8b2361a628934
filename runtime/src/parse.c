/* The text built-ins that can fail: string_slice, parse_i64, parse_f64 (LANGUAGE.md §8). */
#include <stdio.h>
#include <stdlib.h>

#include "holo.h"
#include "runtime_internal.h"

/* A UTF-8 continuation byte: no character starts there. */
static bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

holo_string *holo_string_slice(const holo_string *s, int64_t start, int64_t end,
                               const holo_location *location) {
  bool in_range = 0 <= start && start <= end && end <= s->length;
  if (!in_range || (start < s->length && is_continuation((unsigned char)s->bytes[start])) ||
      (end < s->length && is_continuation((unsigned char)s->bytes[end]))) {
    holo_fail("string slice out of bounds", location);
  }
  return holo_string_from_bytes(s->bytes + start, end - start);
}

/* The failure `invalid number: "TEXT"`, TEXT quoted as a holo string literal would write
 * it (control bytes escaped) and cut after 64 bytes, so the message stays one short line. */
HOLO_NORETURN static void fail_invalid_number(const holo_string *s,
                                              const holo_location *location) {
  enum { SHOWN = 64 };
  /* The prefix, each shown byte at most HOLO_ESCAPE_MAX bytes (`\u{1F}`), `…` (three
   * bytes), `"` and NUL. */
  char message[32 + SHOWN * HOLO_ESCAPE_MAX];
  size_t used = (size_t)snprintf(message, sizeof message, "invalid number: \"");
  int64_t shown = s->length < SHOWN ? s->length : SHOWN;
  for (int64_t i = 0; i < shown; i++) {
    unsigned char byte = (unsigned char)s->bytes[i];
    int escaped = holo_escape_byte(byte, message + used);
    if (escaped > 0) {
      used += (size_t)escaped;
    } else {
      message[used++] = (char)byte;
    }
  }
  snprintf(message + used, sizeof message - used, "%s\"", shown < s->length ? "…" : "");
  holo_fail(message, location);
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* How many digits start at `text`. */
static int64_t digits(const char *text, int64_t length) {
  int64_t count = 0;
  while (count < length && is_digit(text[count])) count++;
  return count;
}

int64_t holo_parse_i64(const holo_string *s, const holo_location *location) {
  const char *text = s->bytes;
  int64_t sign = (s->length > 0 && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
  int64_t count = digits(text + sign, s->length - sign);
  if (count == 0 || sign + count != s->length) fail_invalid_number(s, location);
  /* Accumulated negatively, so -9223372036854775808 fits. */
  int64_t value = 0;
  for (int64_t i = sign; i < s->length; i++) {
    int digit = text[i] - '0';
    if (value < (INT64_MIN + digit) / 10) fail_invalid_number(s, location);
    value = value * 10 - digit;
  }
  if (text[0] != '-') {
    if (value == INT64_MIN) fail_invalid_number(s, location);
    value = -value;
  }
  return value;
}

double holo_parse_f64(const holo_string *s, const holo_location *location) {
  /* digits, then optionally `.` and digits, then optionally an exponent: `1`, `1.5`,
   * `2.5e-3`, `1e9`; what strtod would take besides (hex, `inf`, `.5`, spaces) is not a
   * holo literal. */
  const char *text = s->bytes;
  int64_t length = s->length;
  int64_t at = (length > 0 && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
  int64_t whole = digits(text + at, length - at);
  if (whole == 0) fail_invalid_number(s, location);
  at += whole;
  if (at < length && text[at] == '.') {
    int64_t fraction = digits(text + at + 1, length - at - 1);
    if (fraction == 0) fail_invalid_number(s, location);
    at += 1 + fraction;
  }
  if (at < length && (text[at] == 'e' || text[at] == 'E')) {
    at++;
    if (at < length && (text[at] == '-' || text[at] == '+')) at++;
    int64_t exponent = digits(text + at, length - at);
    if (exponent == 0) fail_invalid_number(s, location);
    at += exponent;
  }
  if (at != length) fail_invalid_number(s, location);
  /* The bytes are followed by a NUL, so strtod stops at the end. */
  return strtod(text, NULL);
}
