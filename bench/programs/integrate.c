// Float loop: the midpoint rule for the integral of 4 / (1 + x^2) over [0, 1], which is pi.
#include <inttypes.h>
#include <stdio.h>

static double integrate(int64_t steps) {
  double h = 1.0 / (double)steps;
  double sum = 0.0;
  for (int64_t i = 0; i < steps; i++) {
    double x = ((double)i + 0.5) * h;
    sum += 4.0 / (1.0 + x * x);
  }
  return sum * h;
}

int main(void) {
  int64_t steps = 300000000;
  double pi = integrate(steps);
  printf("steps = %" PRId64 "\n", steps);
  printf("pi * 1e12 = %" PRId64 "\n", (int64_t)(pi * 1e12));
  return 0;
}
