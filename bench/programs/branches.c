// Unpredictable branches: a pseudo-random stream drives an if/else chain whose arms do
// different work, so the branch predictor cannot learn the pattern.
#include <inttypes.h>
#include <stdio.h>

int main(void) {
  uint32_t seed = 2463534242u;
  int64_t a = 0, b = 0, c = 0, d = 0;
  for (int64_t i = 0; i < 60000000; i++) {
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    uint32_t pick = seed % 7u;
    if (pick == 0u) {
      a += (int64_t)(seed >> 20);
    } else if (pick == 1u) {
      b -= a % 1000;
    } else if (pick < 4u) {
      c += i;
    } else if ((seed & 256u) != 0u) {
      d ^= (int64_t)seed;
    } else {
      a -= b >> 3;
    }
  }
  printf("%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n", a, b, c, d);
  return 0;
}
