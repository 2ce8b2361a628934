// Integer loop: total length of the Collatz sequences of 1..limit, and the longest one.
#include <inttypes.h>
#include <stdio.h>

static int64_t collatz_length(int64_t n) {
  int64_t length = 1;
  while (n != 1) {
    if (n % 2 == 0) {
      n = n / 2;
    } else {
      n = 3 * n + 1;
    }
    length += 1;
  }
  return length;
}

int main(void) {
  int64_t limit = 2500000;
  int64_t total = 0;
  int64_t longest = 0;
  int64_t longest_start = 0;
  for (int64_t n = 1; n <= limit; n++) {
    int64_t length = collatz_length(n);
    total += length;
    if (length > longest) {
      longest = length;
      longest_start = n;
    }
  }
  printf("total = %" PRId64 "\n", total);
  printf("longest = %" PRId64 " (start %" PRId64 ")\n", longest, longest_start);
  return 0;
}
