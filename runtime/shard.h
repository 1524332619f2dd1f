/* shard.h: the fixed shards of a training batch, internal to libnnrt.
 *
 * A batch of B examples is cut into shards of NN_SHARD_ROWS examples, the
 * last one shorter: a function of B alone. Each shard is one train_step
 * call, so every product the runtime issues inside it (and so every bit it
 * computes) depends on the shard's examples and size only, never on which
 * process or how many threads run it. The batch's gradient is the sum of
 * the shards' gradients, each weighted by its share of the batch's examples
 * (the loss is the mean over the batch), added in shard order: the one
 * order on 1 or N processes (docs/distributed.md).
 *
 * A model with state (batchnorm's running statistics) is one shard per
 * batch: its statistics are the whole batch's, as in Keras and PyTorch.
 */
#ifndef NNRT_SHARD_H
#define NNRT_SHARD_H

#include <stddef.h>

#include "nnrt.h"

/* Shards hold NN_SHARD_ROWS examples, or more in a batch beyond
 * NN_MAX_SHARDS of them, which bounds the gradients a process keeps */
#define NN_SHARD_ROWS 32
#define NN_MAX_SHARDS 64

typedef struct {
    int batch; /* examples in the batch */
    int rows;  /* in every shard but the last */
    int count; /* shards */
} nn_shards;

/* The examples of a shard of a batch of `batch` (the last may hold fewer);
 * the compiler's --summary sizes the training memory with it too */
static inline int nn_shard_rows(int batch, int stateful) {
    int rows = (batch + NN_MAX_SHARDS - 1) / NN_MAX_SHARDS;
    rows = rows < NN_SHARD_ROWS ? NN_SHARD_ROWS : rows;
    return stateful || batch < rows ? batch : rows;
}

/* The shards of a batch of `batch` examples of model m */
nn_shards nn_shards_of(const nn_model_desc *m, int batch);
static inline int nn_shard_first(const nn_shards *s, int i) { return i * s->rows; }
static inline int nn_shard_size(const nn_shards *s, int i) {
    const int left = s->batch - i * s->rows;
    return left < s->rows ? left : s->rows;
}
/* Shard i's weight in the batch's mean: its share of the examples */
static inline float nn_shard_weight(const nn_shards *s, int i) {
    return (float)nn_shard_size(s, i) / (float)s->batch;
}

/* w[i - lo] = nn_shard_weight(s, i) for lo <= i < hi */
void nn_shard_weights(const nn_shards *s, int lo, int hi, float *w);

/* dst[j] = the sum over i = 0 .. count-1, in that order, of
 * weight[i] * src[i * stride + j], for j < n; dst may be src (shard 0).
 * Split over the thread pool by elements, so the order holds at any
 * thread count. */
void nn_shards_fold(float *dst, const float *src, size_t stride, size_t n, const float *weight,
                    int count);

#endif
