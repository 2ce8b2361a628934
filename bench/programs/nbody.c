// Arrays of structs of f64: the n-body simulation of five planets, advanced step by step.
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

typedef struct { double x, y, z, vx, vy, vz, mass; } Body;

static double energy(const Body *bodies, int n) {
  double e = 0.0;
  for (int i = 0; i < n; i++) {
    const Body *b = &bodies[i];
    e += 0.5 * b->mass * (b->vx * b->vx + b->vy * b->vy + b->vz * b->vz);
    for (int j = i + 1; j < n; j++) {
      const Body *c = &bodies[j];
      double dx = b->x - c->x, dy = b->y - c->y, dz = b->z - c->z;
      e -= b->mass * c->mass / sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

static void advance(Body *bodies, int n, double dt) {
  for (int i = 0; i < n; i++) {
    for (int j = i + 1; j < n; j++) {
      double dx = bodies[i].x - bodies[j].x;
      double dy = bodies[i].y - bodies[j].y;
      double dz = bodies[i].z - bodies[j].z;
      double d2 = dx * dx + dy * dy + dz * dz;
      double magnitude = dt / (d2 * sqrt(d2));
      double mi = bodies[i].mass * magnitude, mj = bodies[j].mass * magnitude;
      bodies[i].vx -= dx * mj;
      bodies[i].vy -= dy * mj;
      bodies[i].vz -= dz * mj;
      bodies[j].vx += dx * mi;
      bodies[j].vy += dy * mi;
      bodies[j].vz += dz * mi;
    }
  }
  for (int i = 0; i < n; i++) {
    bodies[i].x += dt * bodies[i].vx;
    bodies[i].y += dt * bodies[i].vy;
    bodies[i].z += dt * bodies[i].vz;
  }
}

int main(void) {
  double pi = 3.141592653589793, mass = 4.0 * pi * pi, year = 365.24;
  Body bodies[5] = {
      {0, 0, 0, 0, 0, 0, mass},
      {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
       1.66007664274403694e-03 * year, 7.69901118419740425e-03 * year,
       -6.90460016972063023e-05 * year, 9.54791938424326609e-04 * mass},
      {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
       -2.76742510726862411e-03 * year, 4.99852801234917238e-03 * year,
       2.30417297573763929e-05 * year, 2.85885980666130812e-04 * mass},
      {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
       2.96460137564761618e-03 * year, 2.37847173959480950e-03 * year,
       -2.96589568540237556e-05 * year, 4.36624404335156298e-05 * mass},
      {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
       2.68067772490389322e-03 * year, 1.62824170038242295e-03 * year,
       -9.51592254519715870e-05 * year, 5.15138902046611451e-05 * mass},
  };
  double px = 0, py = 0, pz = 0;
  for (int i = 0; i < 5; i++) {
    px += bodies[i].vx * bodies[i].mass;
    py += bodies[i].vy * bodies[i].mass;
    pz += bodies[i].vz * bodies[i].mass;
  }
  bodies[0].vx = -px / mass;
  bodies[0].vy = -py / mass;
  bodies[0].vz = -pz / mass;
  double before = energy(bodies, 5);
  for (int step = 0; step < 2000000; step++) advance(bodies, 5, 0.01);
  double after = energy(bodies, 5);
  printf("energy x 1e9: %" PRId64 " %" PRId64 "\n", (int64_t)(before * 1e9), (int64_t)(after * 1e9));
  return 0;
}
