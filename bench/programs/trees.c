// Allocation-heavy arrays of structs: binary trees built bottom-up, walked and dropped,
// as in the benchmarks game's binary-trees (each inner node holds an array of two kids).
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct Node {
  struct Node *kids;
  int64_t count;
} Node;

static Node build(int64_t depth) {
  Node node = {NULL, 0};
  if (depth == 0) return node;
  node.kids = malloc(2 * sizeof(Node));
  node.count = 2;
  node.kids[0] = build(depth - 1);
  node.kids[1] = build(depth - 1);
  return node;
}

static int64_t check(const Node *node) {
  int64_t count = 1;
  for (int64_t i = 0; i < node->count; i++) count += check(&node->kids[i]);
  return count;
}

static void drop(Node *node) {
  for (int64_t i = 0; i < node->count; i++) drop(&node->kids[i]);
  free(node->kids);
}

int main(void) {
  int64_t max_depth = 16;
  Node long_lived = build(max_depth);
  int64_t total = 0;
  for (int64_t depth = 4; depth <= max_depth; depth += 2) {
    int64_t iterations = (int64_t)1 << (max_depth - depth + 4);
    for (int64_t i = 0; i < iterations; i++) {
      Node tree = build(depth);
      total += check(&tree);
      drop(&tree);
    }
  }
  printf("nodes checked: %" PRId64 ", long-lived: %" PRId64 "\n", total, check(&long_lived));
  drop(&long_lived);
  return 0;
}
