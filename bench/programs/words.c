// Bytes of strings: generates a text of pseudo-random words, then counts its words and
// its `e`s through a copy of its bytes, round after round.
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *generate(int64_t length) {
  char *bytes = malloc((size_t)length + 1);
  memset(bytes, ' ', (size_t)length);
  int64_t state = 12345;
  for (int64_t i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    int64_t pick = state / 65536 % 32;
    if (pick < 26) bytes[i] = (char)('a' + pick);
  }
  bytes[length] = '\0';
  return bytes;
}

static int64_t count(const char *text, int64_t length) {
  unsigned char *bytes = malloc((size_t)length);
  memcpy(bytes, text, (size_t)length);
  int64_t words = 0, es = 0;
  bool inside = false;
  for (int64_t i = 0; i < length; i++) {
    unsigned char byte = bytes[i];
    if (byte == ' ') {
      inside = false;
    } else {
      if (!inside) words += 1;
      inside = true;
      if (byte == 'e') es += 1;
    }
  }
  free(bytes);
  return words * 1000 + es;
}

int main(void) {
  int64_t length = 4000000;
  char *text = generate(length);
  int64_t total = 0;
  for (int64_t round = 0; round < 20; round++) {
    total += count(text, length) % 1000003 + round;
  }
  printf("words and es: %" PRId64 "\n", total);
  free(text);
  return 0;
}
