// Arrays of f64: the spectral norm of an infinite matrix, by the power method.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static double a(int64_t i, int64_t j) {
  return 1.0 / (double)((i + j) * (i + j + 1) / 2 + i + 1);
}

static void times(const double *v, double *out, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    double sum = 0.0;
    for (int64_t j = 0; j < n; j++) sum += a(i, j) * v[j];
    out[i] = sum;
  }
}

static void times_transposed(const double *v, double *out, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    double sum = 0.0;
    for (int64_t j = 0; j < n; j++) sum += a(j, i) * v[j];
    out[i] = sum;
  }
}

static void times_at_a(const double *v, double *scratch, double *out, int64_t n) {
  times(v, scratch, n);
  times_transposed(scratch, out, n);
}

int main(void) {
  int64_t n = 1500;
  double *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v);
  double *scratch = malloc(n * sizeof *scratch);
  for (int64_t i = 0; i < n; i++) u[i] = 1.0, v[i] = 0.0, scratch[i] = 0.0;
  for (int round = 0; round < 10; round++) {
    times_at_a(u, scratch, v, n);
    times_at_a(v, scratch, u, n);
  }
  double vbv = 0.0, vv = 0.0;
  for (int64_t i = 0; i < n; i++) {
    vbv += u[i] * v[i];
    vv += v[i] * v[i];
  }
  double norm = (vbv / vv) * 1000000.0;
  printf("spectral norm x 1e6: %" PRId64 "\n", (int64_t)norm);
  free(u), free(v), free(scratch);
  return 0;
}
