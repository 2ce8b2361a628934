// Arrays of bool: the sieve of Eratosthenes, run for ten limits, counting the primes.
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static int64_t sieve(int64_t limit) {
  bool *composite = calloc((size_t)limit, sizeof *composite);
  int64_t count = 0;
  for (int64_t n = 2; n < limit; n++) {
    if (!composite[n]) {
      count += 1;
      for (int64_t multiple = n * n; multiple < limit; multiple += n) {
        composite[multiple] = true;
      }
    }
  }
  free(composite);
  return count;
}

int main(void) {
  int64_t total = 0;
  for (int64_t round = 0; round < 10; round++) {
    total += sieve(5000000 + round * 1000);
  }
  printf("primes counted: %" PRId64 "\n", total);
  return 0;
}
