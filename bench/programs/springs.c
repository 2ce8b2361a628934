// Float loop with many live values: three masses on a line joined by stiffening springs
// (to walls at both ends), integrated with semi-implicit Euler. Prints fixed-point
// checksums of the final state.
#include <inttypes.h>
#include <stdio.h>

static double spring(double stretch) {
  return -(40.0 * stretch + 300.0 * stretch * stretch * stretch);
}

int main(void) {
  int64_t steps = 30000000;
  double dt = 0.00001;
  double x1 = 0.3, x2 = -0.1, x3 = 0.05;
  double v1 = 0.0, v2 = 0.2, v3 = -0.4;
  double m1 = 1.0, m2 = 2.5, m3 = 0.7;
  double damping = 0.01;
  for (int64_t step = 0; step < steps; step++) {
    double f1 = spring(x1) - spring(x2 - x1) - damping * v1;
    double f2 = spring(x2 - x1) - spring(x3 - x2) - damping * v2;
    double f3 = spring(x3 - x2) - spring(-x3) - damping * v3;
    v1 += f1 / m1 * dt;
    v2 += f2 / m2 * dt;
    v3 += f3 / m3 * dt;
    x1 += v1 * dt;
    x2 += v2 * dt;
    x3 += v3 * dt;
  }
  double energy = 0.5 * (m1 * v1 * v1 + m2 * v2 * v2 + m3 * v3 * v3);
  printf("x = %" PRId64 " %" PRId64 " %" PRId64 "\n", (int64_t)(x1 * 1e9), (int64_t)(x2 * 1e9),
         (int64_t)(x3 * 1e9));
  printf("kinetic energy * 1e9 = %" PRId64 "\n", (int64_t)(energy * 1e9));
  return 0;
}
