// Recursive calls: the naive Fibonacci recursion.
#include <inttypes.h>
#include <stdio.h>

static int64_t fib(int64_t n) {
  if (n < 2) return n;
  return fib(n - 1) + fib(n - 2);
}

int main(void) {
  int64_t n = 42;
  printf("fib(%" PRId64 ") = %" PRId64 "\n", n, fib(n));
  return 0;
}
