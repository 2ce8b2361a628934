// Bit twiddling: an xorshift64 stream, a SWAR population count of each value, and an
// FNV-style multiplicative hash over the stream (all wrapping u64 arithmetic).
#include <inttypes.h>
#include <stdio.h>

static uint64_t popcount(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555u);
  x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
  return (x * 0x0101010101010101u) >> 56;
}

static uint64_t xorshift(uint64_t x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

int main(void) {
  uint64_t state = 0x9e3779b97f4a7c15u;
  uint64_t hash = 0xcbf29ce484222325u;
  uint64_t ones = 0;
  for (int64_t i = 0; i < 100000000; i++) {
    state = xorshift(state);
    ones += popcount(state);
    hash = (hash ^ (state >> 32)) * 0x100000001b3u;
    hash ^= hash >> 29;
  }
  printf("ones = %" PRIu64 "\n", ones);
  printf("hash = %" PRIu64 "\n", hash);
  return 0;
}
