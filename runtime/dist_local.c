/* dist_local.c: dist.h for one process, the default build. Every shard is
 * this process's; each shard's gradient is added to the sum as it comes,
 * which keeps the order of shard.h's fold with two slots. */
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

int nn_dist_slots(const nn_shards *s) { return s->count > 1 ? 2 : 1; }

float *nn_dist_slot(float *slots, size_t n, const nn_shards *s, int i) {
    (void)s;
    return i == 0 ? slots : slots + n;
}

/* The running sum in slot 0 is shard 0's weighted, then each next shard's
 * added: 1 * sum is the sum exactly, so this is nn_shards_fold's order */
void nn_dist_add(float *slots, size_t n, const nn_shards *s, int i) {
    if (i == 0)
        return;
    const float weight[2] = {i == 1 ? nn_shard_weight(s, 0) : 1.0f, nn_shard_weight(s, i)};
    nn_shards_fold(slots, slots, n, n, weight, 2);
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
