// Integer division: counts the primes below a limit by trial division, and sums them.
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

static bool is_prime(int64_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (int64_t d = 3; d * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

int main(void) {
  int64_t limit = 3500000;
  int64_t count = 0;
  int64_t sum = 0;
  for (int64_t n = 0; n < limit; n++) {
    if (is_prime(n)) {
      count += 1;
      sum += n;
    }
  }
  printf("primes below %" PRId64 ": %" PRId64 " (sum %" PRId64 ")\n", limit, count, sum);
  return 0;
}
