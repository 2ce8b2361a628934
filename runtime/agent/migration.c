/* What a patch's migration tells the agent (docs/PATCHING.md, "Migrations"): its safepoint
 * function calls these on the main thread while the agent thread waits for the safepoint
 * to end, and the agent then moves what they collected into the PATCH_ACK. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_internal.h"
#include "holo.h"

static migration_report current;

/* Room for a path: deeper values are told by their first steps. */
enum { PATH_STEPS_MAX = 64, TEXT_MAX = 512, QUOTED_MAX = 40 };

static void format_float(char *out, size_t size, double value, bool single) {
  /* The shortest text that reads back as the same value. */
  for (int digits = 1; digits <= 17; digits++) {
    snprintf(out, size, "%.*g", digits, value);
    double back = strtod(out, NULL);
    if (single ? (float)back == (float)value : back == value) {
      return;
    }
  }
}

static void format_value(char *out, size_t size, unsigned kind, uint64_t bits) {
  double real;
  switch (kind) {
  case HOLO_DEV_VALUE_BOOL:
    snprintf(out, size, "%s", bits ? "true" : "false");
    break;
  case HOLO_DEV_VALUE_I32:
  case HOLO_DEV_VALUE_I64:
    snprintf(out, size, "%" PRId64, (int64_t)bits);
    break;
  case HOLO_DEV_VALUE_U8:
  case HOLO_DEV_VALUE_U32:
  case HOLO_DEV_VALUE_U64:
    snprintf(out, size, "%" PRIu64, bits);
    break;
  case HOLO_DEV_VALUE_F32:
  case HOLO_DEV_VALUE_F64:
    memcpy(&real, &bits, sizeof real);
    format_float(out, size, real, kind == HOLO_DEV_VALUE_F32);
    break;
  case HOLO_DEV_VALUE_STRING: {
    const holo_string *string = (const holo_string *)(uintptr_t)bits;
    int64_t length = string == NULL ? 0 : string->length;
    int shown = length > QUOTED_MAX ? QUOTED_MAX : (int)length;
    snprintf(out, size, "\"%.*s%s\"", shown, string == NULL ? "" : string->bytes,
             length > QUOTED_MAX ? "…" : "");
    break;
  }
  case HOLO_DEV_VALUE_ARRAY:
    snprintf(out, size, "[%" PRIu64 " element%s]", bits, bits == 1 ? "" : "s");
    break;
  default:
    snprintf(out, size, "{…}");
    break;
  }
}

static size_t format_path(char *out, size_t size, const holo_migration_step *path) {
  const holo_migration_step *steps[PATH_STEPS_MAX];
  size_t depth = 0;
  for (const holo_migration_step *step = path; step != NULL; step = step->parent) {
    if (depth == PATH_STEPS_MAX) {
      memmove(steps + 1, steps, (PATH_STEPS_MAX - 1) * sizeof *steps);
      depth--;
    }
    steps[depth++] = step;
  }
  size_t length = 0;
  for (size_t i = depth; i-- > 0 && length < size;) {
    const holo_migration_step *step = steps[i];
    int written = step->field == NULL
                      ? snprintf(out + length, size - length, "[%lld]", step->index)
                      : snprintf(out + length, size - length, "%s%s",
                                 i + 1 == depth ? "" : ".", step->field);
    length += written < 0 ? 0 : (size_t)written;
  }
  return length < size ? length : size - 1;
}

static bool fit(size_t needed) {
  if (needed <= current.capacity) {
    return true;
  }
  size_t capacity = current.capacity;
  uint64_t *values = agent_array_grow(current.values, &capacity, needed, sizeof *values);
  if (values == NULL) {
    return false;
  }
  current.values = values;
  size_t lossy_capacity = current.capacity;
  uint64_t *lossy = agent_array_grow(current.lossy, &lossy_capacity, needed, sizeof *lossy);
  if (lossy == NULL) {
    return false;
  }
  current.lossy = lossy;
  memset(values + current.capacity, 0, (capacity - current.capacity) * sizeof *values);
  memset(lossy + current.capacity, 0, (capacity - current.capacity) * sizeof *lossy);
  current.capacity = capacity;
  return true;
}

void holo_dev_migration_lossy(const holo_migration_step *path, unsigned conversion,
                              unsigned old_kind, unsigned long long old_bits, unsigned new_kind,
                              unsigned long long new_bits) {
  if (!fit((size_t)conversion + 1)) {
    return;
  }
  current.lossy[conversion]++;
  if (current.count <= conversion) {
    current.count = (size_t)conversion + 1;
  }
  if (current.text_count == HOLO_DEV_MIGRATION_REPORTS_MAX) {
    return;
  }
  char text[TEXT_MAX];
  size_t length = format_path(text, sizeof text, path);
  char old_value[96];
  format_value(old_value, sizeof old_value, old_kind, old_bits);
  if (new_kind == HOLO_DEV_VALUE_DROPPED) {
    snprintf(text + length, sizeof text - length, ": %s dropped", old_value);
  } else {
    char new_value[96];
    format_value(new_value, sizeof new_value, new_kind, new_bits);
    snprintf(text + length, sizeof text - length, ": %s → %s", old_value, new_value);
  }
  char *copy = strdup(text);
  size_t capacity = current.text_capacity;
  char **texts =
      agent_array_grow(current.texts, &capacity, current.text_count + 1, sizeof *texts);
  if (copy == NULL || texts == NULL) {
    free(copy);
    return;
  }
  current.texts = texts;
  current.text_capacity = capacity;
  current.texts[current.text_count++] = copy;
}

void holo_dev_migration_counted(const unsigned long long *values, unsigned count) {
  if (!fit(count)) {
    return;
  }
  for (unsigned i = 0; i < count; i++) {
    current.values[i] += values[i];
  }
  if (current.count < count) {
    current.count = count;
  }
}

void migration_report_take(migration_report *report) {
  *report = current;
  memset(&current, 0, sizeof current);
}

void migration_report_free(migration_report *report) {
  agent_free_strings(report->texts, report->text_count);
  free(report->values);
  free(report->lossy);
  memset(report, 0, sizeof *report);
}
