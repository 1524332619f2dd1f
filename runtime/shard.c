/* shard.c: see shard.h. */
#include "shard.h"

#include <assert.h>

nn_shards nn_shards_of(const nn_model_desc *m, int batch) {
    assert(batch > 0);
    const int rows = nn_shard_rows(batch, m->n_state > 0);
    const nn_shards s = {batch, rows, (batch + rows - 1) / rows};
    assert(s.count <= NN_MAX_SHARDS); /* the callers' per-shard arrays */
    return s;
}

void nn_shard_weights(const nn_shards *s, int lo, int hi, float *w) {
    for (int i = lo; i < hi; i++)
        w[i - lo] = nn_shard_weight(s, i);
}

#define FOLD_BLOCK 2048

typedef struct {
    float *dst;
    const float *src, *weight;
    size_t stride, n;
    int count;
} Fold;

/* Elements [lo, hi): ISO C (no FMA contraction, -std=c11) keeps each
 * product and sum rounded as written, whatever the vector width */
static void fold_part(void *ctx, int part, int parts) {
    const Fold *f = ctx;
    size_t lo, hi;
    nn_part(f->n, part, parts, 16, &lo, &hi);
    /* a block of dst stays in L1 while every shard is added to it */
    for (size_t b0 = lo; b0 < hi; b0 += FOLD_BLOCK) {
        const size_t b1 = hi - b0 < FOLD_BLOCK ? hi : b0 + FOLD_BLOCK;
        const float w0 = f->weight[0];
        for (size_t j = b0; j < b1; j++)
            f->dst[j] = w0 * f->src[j];
        for (int i = 1; i < f->count; i++) {
            const float w = f->weight[i];
            const float *s = f->src + (size_t)i * f->stride;
            for (size_t j = b0; j < b1; j++)
                f->dst[j] += w * s[j];
        }
    }
}

void nn_shards_fold(float *dst, const float *src, size_t stride, size_t n, const float *weight,
                    int count) {
    assert(count >= 1);
    Fold f = {dst, src, weight, stride, n, count};
    nn_parallel(fold_part, &f, nn_blocks((double)n * count, (n + 16383) / 16384));
}
