/* Number formatting per LANGUAGE.md §8.
 *
 * Floats print as the shortest decimal that reads back as the same value at the value's
 * own precision, laid out like JavaScript's Number.prototype.toString. The digits come
 * from the C library's correctly rounded conversions: snprintf("%.16e") gives the nearest
 * 17-digit decimal, rounding that gives the nearest k-digit decimal, and strtod tells
 * whether a decimal reads back. The decimals that read back form an interval around the
 * value, so for each k only the nearest k-digit decimal and its neighbour on the other
 * side of the value can read back.
 */
#define _POSIX_C_SOURCE 200809L

#include "runtime_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int holo_format_u64_digits(uint64_t value, char *out) {
  char reversed[20];
  int count = 0;
  do {
    reversed[count++] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (int i = 0; i < count; i++) {
    out[i] = reversed[count - 1 - i];
  }
  return count;
}

int holo_format_i64_digits(int64_t value, char *out) {
  if (value < 0) {
    out[0] = '-';
    /* Negating in unsigned arithmetic keeps INT64_MIN correct. */
    return 1 + holo_format_u64_digits((uint64_t)0 - (uint64_t)value, out + 1);
  }
  return holo_format_u64_digits((uint64_t)value, out);
}

/* A positive decimal significand * 10^exponent. */
typedef struct decimal {
  uint64_t significand;
  int exponent;
} decimal;

static bool reads_back(decimal d, double value, bool single) {
  char text[48];
  int length = holo_format_u64_digits(d.significand, text);
  text[length++] = 'e';
  length += holo_format_i64_digits(d.exponent, text + length);
  text[length] = '\0';
  if (single) {
    return strtof(text, NULL) == (float)value;
  }
  return strtod(text, NULL) == value;
}

static uint64_t power_of_ten(int exponent) {
  uint64_t result = 1;
  for (int i = 0; i < exponent; i++) {
    result *= 10;
  }
  return result;
}

/* The k-digit decimal nearest to `value` (positive, finite). */
static decimal nearest_with_digits(double value, int digits) {
  char text[48];
  snprintf(text, sizeof text, "%.*e", digits - 1, value);
  uint64_t significand = 0;
  const char *cursor = text;
  for (; *cursor != 'e'; cursor++) {
    if (*cursor != '.') {
      significand = significand * 10 + (uint64_t)(*cursor - '0');
    }
  }
  int exponent = atoi(cursor + 1);
  return (decimal){significand, exponent - (digits - 1)};
}

/* The nearest k-digit decimal, and on which side of it the value lies when known. */
typedef struct rounded_decimal {
  decimal nearest;
  int value_side; /* 1: above, -1: below, 0: unknown */
} rounded_decimal;

/* The k-digit decimal nearest to `value`, from `full`, its nearest decimal with more
 * digits (within half a unit of its last digit of `value`). Rounding `full` again gives
 * the same result as rounding `value` unless the dropped digits are exactly a half, where
 * `value` itself may lie on either side. Dropped digits of at least one unit also tell on
 * which side of the result `value` lies. */
static rounded_decimal round_to_digits(decimal full, int full_digits, int digits, double value) {
  uint64_t divisor = power_of_ten(full_digits - digits);
  uint64_t quotient = full.significand / divisor;
  uint64_t remainder = full.significand % divisor;
  if (remainder == divisor / 2) {
    return (rounded_decimal){nearest_with_digits(value, digits), 0};
  }
  int value_side = remainder == 0 ? 0 : 1;
  if (remainder > divisor / 2) {
    quotient++;
    value_side = -1;
  }
  decimal nearest = {quotient, full.exponent + (full_digits - digits)};
  if (quotient == power_of_ten(digits)) {
    nearest = (decimal){quotient / 10, nearest.exponent + 1};
  }
  return (rounded_decimal){nearest, value_side};
}

/* Finds a k-digit decimal that reads back as `value`, preferring the nearest one; besides
 * it, only its neighbour on the value's side can read back. */
static bool find_with_digits(rounded_decimal rounded, int digits, double value, bool single,
                             decimal *found) {
  decimal nearest = rounded.nearest;
  if (reads_back(nearest, value, single)) {
    *found = nearest;
    return true;
  }
  uint64_t smallest = power_of_ten(digits - 1);
  decimal below =
      /* Rounded up to a power of ten, the neighbour below has the finer spacing of the
       * decade below. */
      nearest.significand == smallest ? (decimal){smallest * 10 - 1, nearest.exponent - 1}
                                      : (decimal){nearest.significand - 1, nearest.exponent};
  decimal above = {nearest.significand + 1, nearest.exponent};
  if (rounded.value_side <= 0 && reads_back(below, value, single)) {
    *found = below;
    return true;
  }
  if (rounded.value_side >= 0 && reads_back(above, value, single)) {
    *found = above;
    return true;
  }
  return false;
}

static decimal shortest_decimal(double value, bool single) {
  /* The nearest decimal with this many digits always reads back. */
  int full_digits = single ? 9 : 17;
  /* For normal values, decimals with this many digits are spaced wider than the interval
   * that reads back, so at most one of them reads back; any shorter decimal that reads
   * back is that one (padded with zeros). */
  int unique_digits = single ? 6 : 15;
  bool normal = value >= (single ? (double)FLT_MIN : DBL_MIN);
  decimal full = nearest_with_digits(value, full_digits);
  decimal found;
  if (normal) {
    decimal nearest = round_to_digits(full, full_digits, unique_digits, value).nearest;
    if (reads_back(nearest, value, single)) {
      return nearest;
    }
    for (int digits = unique_digits + 1; digits < full_digits; digits++) {
      rounded_decimal rounded = round_to_digits(full, full_digits, digits, value);
      if (find_with_digits(rounded, digits, value, single, &found)) {
        return found;
      }
    }
    return full;
  }
  /* Subnormals: whether some k-digit decimal reads back only grows with k. */
  int low = 1;
  int high = full_digits;
  decimal best = full;
  while (low < high) {
    int middle = low + (high - low) / 2;
    rounded_decimal rounded = round_to_digits(full, full_digits, middle, value);
    if (find_with_digits(rounded, middle, value, single, &found)) {
      best = found;
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  return best;
}

/* Lays out digits d1..dk with value 0.d1..dk * 10^point the way JavaScript does. */
static int layout_decimal(const char *digits, int count, int point, char *out) {
  int length = 0;
  if (count <= point && point <= 21) {
    memcpy(out, digits, (size_t)count);
    length = count;
    for (int i = count; i < point; i++) {
      out[length++] = '0';
    }
  } else if (0 < point && point <= 21) {
    memcpy(out, digits, (size_t)point);
    length = point;
    out[length++] = '.';
    memcpy(out + length, digits + point, (size_t)(count - point));
    length += count - point;
  } else if (-6 < point && point <= 0) {
    out[length++] = '0';
    out[length++] = '.';
    for (int i = point; i < 0; i++) {
      out[length++] = '0';
    }
    memcpy(out + length, digits, (size_t)count);
    length += count;
  } else {
    out[length++] = digits[0];
    if (count > 1) {
      out[length++] = '.';
      memcpy(out + length, digits + 1, (size_t)(count - 1));
      length += count - 1;
    }
    out[length++] = 'e';
    int exponent = point - 1;
    out[length++] = exponent < 0 ? '-' : '+';
    length += holo_format_u64_digits((uint64_t)(exponent < 0 ? -exponent : exponent), out + length);
  }
  return length;
}

static int format_float(double value, bool single, char *out) {
  if (isnan(value)) {
    memcpy(out, "NaN", 4);
    return 3;
  }
  int length = 0;
  if (signbit(value)) {
    out[length++] = '-';
    value = -value;
  }
  if (isinf(value)) {
    memcpy(out + length, "inf", 4);
    return length + 3;
  }
  /* Integers below 2^53 (2^24 for f32) are exactly representable and no shorter decimal
   * lies within half a unit of them, so their integer text is the answer. */
  double exact_integer_limit = single ? 16777216.0 : 9007199254740992.0;
  if (value < exact_integer_limit && value == floor(value)) {
    length += holo_format_u64_digits((uint64_t)value, out + length);
    out[length] = '\0';
    return length;
  }
  decimal shortest = shortest_decimal(value, single);
  while (shortest.significand % 10 == 0) {
    shortest.significand /= 10;
    shortest.exponent++;
  }
  char digits[24];
  int count = holo_format_u64_digits(shortest.significand, digits);
  length += layout_decimal(digits, count, shortest.exponent + count, out + length);
  out[length] = '\0';
  return length;
}

int holo_format_f64(double value, char *out) { return format_float(value, false, out); }

int holo_format_f32(float value, char *out) { return format_float((double)value, true, out); }
