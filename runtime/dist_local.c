/* dist_local.c: dist.h for one process, the default build. Every shard is
 * this process's; the shards' gradients are added to the sum as they come,
 * a few at a time, in the order and with the roundings of shard.h's fold. */
#include "dist.h"

int nn_dist_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}

int nn_dist_exit(int status) { return status; }

int nn_dist_rank(void) { return 0; }

int nn_dist_size(void) { return 1; }

void nn_dist_shards(int count, int *lo, int *hi) {
    *lo = 0;
    *hi = count;
}

/* Shard 0's slot holds the running sum; shards 1, 2, ... take the other
 * slots in turn, and each time they are full (or the batch ends) they are
 * added to the sum in one pass, which reads each once: with one slot for
 * the next shard only, every shard would cost a read and a write of the
 * sum more (a third of the step of the seed MLP at batch 256) */
#define SLOTS 8

int nn_dist_slots(const nn_shards *s) { return s->count < SLOTS ? s->count : SLOTS; }

float *nn_dist_slot(float *slots, size_t n, const nn_shards *s, int i) {
    (void)s;
    return i == 0 ? slots : slots + (size_t)(1 + (i - 1) % (SLOTS - 1)) * n;
}

/* 1 * sum is the sum exactly, so adding a group to the running sum keeps
 * nn_shards_fold's order and roundings */
void nn_dist_add(float *slots, size_t n, const nn_shards *s, int i) {
    if (i == 0 || (i % (SLOTS - 1) != 0 && i != s->count - 1))
        return;
    const int group = 1 + (i - 1) % (SLOTS - 1), first = i - group + 1;
    float weight[SLOTS];
    weight[0] = first == 1 ? nn_shard_weight(s, 0) : 1.0f;
    nn_shard_weights(s, first, i + 1, weight + 1);
    nn_shards_fold(slots, slots, n, n, weight, group + 1);
}

int nn_dist_fold(float *slots, size_t n, const nn_shards *s) {
    (void)slots;
    (void)n;
    (void)s;
    return 0;
}

void nn_dist_gather(double *all, int per_shard, int count) {
    (void)all;
    (void)per_shard;
    (void)count;
}

int nn_dist_agree(uint64_t v) {
    (void)v;
    return 1;
}
