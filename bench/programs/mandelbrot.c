// Calls mixed with float arithmetic: escape times of the Mandelbrot set over a grid.
#include <inttypes.h>
#include <stdio.h>

static int64_t escape_time(double cr, double ci, int64_t limit) {
  double zr = 0.0, zi = 0.0;
  int64_t n = 0;
  while (n < limit) {
    double rr = zr * zr;
    double ii = zi * zi;
    if (rr + ii > 4.0) return n;
    zi = 2.0 * zr * zi + ci;
    zr = rr - ii + cr;
    n += 1;
  }
  return n;
}

int main(void) {
  int64_t size = 1200;
  int64_t limit = 500;
  int64_t total = 0;
  int64_t inside = 0;
  for (int64_t y = 0; y < size; y++) {
    double ci = (double)y * 2.5 / (double)size - 1.25;
    for (int64_t x = 0; x < size; x++) {
      double cr = (double)x * 3.0 / (double)size - 2.0;
      int64_t n = escape_time(cr, ci, limit);
      total += n;
      if (n == limit) inside += 1;
    }
  }
  printf("total iterations = %" PRId64 "\n", total);
  printf("points inside = %" PRId64 "\n", inside);
  return 0;
}
