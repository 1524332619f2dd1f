/* dropout.c: inverted dropout whose mask is never stored.
 *
 * Element i is kept when its 32-bit draw is at least round(p * 2^32): the
 * draws of elements 2j and 2j+1 are the low and high halves of
 * nn_hash2(key, j), so one 64-bit hash serves two elements, the keep
 * probability is 1 - p to within 2^-32, and the mask depends on nothing but
 * (key, i, p). Backward regenerates the same mask from the same key.
 */
#include <math.h>
#include <string.h>

#include "nnrt.h"
#include "simd.h"

#define GAMMA 0x9e3779b97f4a7c15u

/* A copy of rng.c's mixer, so that the loop below inlines the hash instead
 * of calling nn_hash2 per pair; nn_dropout_keep goes through nn_hash2 itself,
 * and the tests check the two agree. */
static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Draws below the threshold are dropped. p is below 1 in any model nnc
 * accepts; the clamp keeps p -> 1 from wrapping around to "keep all". */
static uint32_t drop_threshold(float p) {
    double t = nearbyint((double)p * 4294967296.0);
    return t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
}

/* The factor of one 32-bit draw: scale times the comparison as a float. A
 * ?: there compiles to a branch at -O2 that mispredicts on every other
 * element at p = 0.5 (7x slower); this form vectorizes, the hash included
 * (8 of them per AVX-512 multiply). As in torch, a dropped inf gives NaN. */
#define FACTOR(draw) (scale * (float)((uint32_t)(draw) >= t))

/* The pairs loop in place and out of place: one pointer, or two that
 * restrict says are disjoint. With a possibly aliasing pair GCC adds a
 * run-time overlap check, which in place (the backward pass, most forward
 * passes) sends it to the scalar loop: 5 ns an element instead of 0.3. */
static inline __attribute__((always_inline)) void pairs_in_place(float *y, size_t pair0,
                                                                 size_t pairs, uint64_t start,
                                                                 uint32_t t, float scale) {
    for (size_t j = 0; j < pairs; j++) {
        uint64_t h = mix64(start + (pair0 + j + 1) * GAMMA);
        y[2 * j] *= FACTOR(h);
        y[2 * j + 1] *= FACTOR(h >> 32);
    }
}

static inline __attribute__((always_inline)) void pairs_copy(float *restrict y,
                                                             const float *restrict x, size_t pair0,
                                                             size_t pairs, uint64_t start,
                                                             uint32_t t, float scale) {
    for (size_t j = 0; j < pairs; j++) {
        uint64_t h = mix64(start + (pair0 + j + 1) * GAMMA);
        y[2 * j] = x[2 * j] * FACTOR(h);
        y[2 * j + 1] = x[2 * j + 1] * FACTOR(h >> 32);
    }
}

/* y[i] = x[i] * (keep(first + i) ? scale : 0) for i in [0, n): the mask of
 * elements first .. first + n - 1 of a tensor, so that a tensor can be
 * masked in blocks on several threads. y is x or disjoint from it. */
NN_BODY void mask_range_body(float *y, const float *x, size_t first, size_t n, float p,
                             uint64_t key) {
    const uint32_t t = drop_threshold(p);
    const float scale = 1.0f / (1.0f - p);
    const uint64_t start = mix64(key); /* nn_hash2(key, j) = mix64(start + (j + 1) GAMMA) */
    size_t i = 0;
    if (first & 1 && n > 0) { /* the high half of a pair whose low half is not ours */
        uint64_t h = mix64(start + (first / 2 + 1) * GAMMA);
        y[0] = x[0] * FACTOR(h >> 32);
        i = 1;
    }
    const size_t pair0 = (first + i) / 2, pairs = (n - i) / 2;
    if (y == x)
        pairs_in_place(y + i, pair0, pairs, start, t, scale);
    else
        pairs_copy(y + i, x + i, pair0, pairs, start, t, scale);
    if ((n - i) & 1) {
        uint64_t h = mix64(start + (pair0 + pairs + 1) * GAMMA);
        y[n - 1] = x[n - 1] * FACTOR(h);
    }
}
NN_VECTORIZED(mask_range,
              (float *y, const float *x, size_t first, size_t n, float p, uint64_t key),
              (y, x, first, n, p, key))

#define MIN_PER_THREAD 32768 /* elements: below that a hand-off costs more than it saves */

typedef struct {
    float *y;
    const float *x, *b;
    size_t n;
    int N; /* row length, for the bias */
    float p;
    uint64_t key;
} Mask;

static void mask_part(void *ctx, int part, int parts) {
    const Mask *m = ctx;
    size_t lo, hi;
    nn_part(m->n, part, parts, 16, &lo, &hi);
    mask_range(m->y + lo, m->x + lo, lo, hi - lo, m->p, m->key);
}

static int parts_for(size_t n) {
    return (int)(n / MIN_PER_THREAD) + 1;
}

static void apply_mask(float *y, const float *x, size_t n, float p, uint64_t key) {
    if (p <= 0.0f) {
        if (y != x)
            memcpy(y, x, n * sizeof *y);
        return;
    }
    Mask m = {y, x, NULL, n, 0, p, key};
    nn_parallel(mask_part, &m, parts_for(n));
}

void nn_dropout_forward(float *y, const float *x, size_t n, float p, uint64_t key) {
    apply_mask(y, x, n, p, key);
}

void nn_dropout_backward(float *dx, const float *dy, size_t n, float p, uint64_t key) {
    apply_mask(dx, dy, n, p, key);
}

/* Rows in blocks of about BLOCK floats: bias and relu go over a block
 * while it sits in L1, then the mask. */
#define BLOCK 4096

NN_BODY void bias_relu_body(float *restrict y, const float *restrict b, size_t rows, int N) {
    for (size_t r = 0; r < rows; r++, y += N)
        for (int j = 0; j < N; j++) {
            float v = y[j] + (b ? b[j] : 0.0f);
            y[j] = 0.5f * (v + fabsf(v)); /* relu as in nn_bias_act: exact, no branch */
        }
}
NN_VECTORIZED(bias_relu,
              (float *restrict y, const float *restrict b, size_t rows, int N),
              (y, b, rows, N))

static void bias_relu_mask_part(void *ctx, int part, int parts) {
    const Mask *m = ctx;
    const size_t R = m->n / (size_t)m->N;
    const size_t rows = m->N >= BLOCK ? 1 : BLOCK / (size_t)m->N;
    size_t lo, hi;
    nn_part(R, part, parts, 1, &lo, &hi);
    for (size_t r0 = lo; r0 < hi; r0 += rows) {
        const size_t nr = hi - r0 < rows ? hi - r0 : rows;
        float *blk = m->y + r0 * (size_t)m->N;
        bias_relu(blk, m->b, nr, m->N);
        if (m->p > 0.0f)
            mask_range(blk, blk, r0 * (size_t)m->N, nr * (size_t)m->N, m->p, m->key);
    }
}

void nn_bias_relu_dropout(float *y, const float *b, int R, int N, float p, uint64_t key) {
    Mask m = {y, y, b, (size_t)R * (size_t)N, N, p, key};
    nn_parallel(bias_relu_mask_part, &m, parts_for(m.n));
}

typedef struct {
    float *dx;
    const float *dy, *y;
    size_t n;
    float scale;
} ReluDrop;

NN_BODY void relu_dropout_range_body(float *dx, const float *dy, const float *y, size_t n,
                                     float scale) {
    for (size_t i = 0; i < n; i++) {
        float g = dy[i] * scale; /* loaded unconditionally: a compare and a mask, no branch */
        dx[i] = y[i] > 0.0f ? g : 0.0f;
    }
}
NN_VECTORIZED(relu_dropout_range,
              (float *dx, const float *dy, const float *y, size_t n, float scale),
              (dx, dy, y, n, scale))

static void relu_dropout_part(void *ctx, int part, int parts) {
    const ReluDrop *r = ctx;
    size_t lo, hi;
    nn_part(r->n, part, parts, 16, &lo, &hi);
    relu_dropout_range(r->dx + lo, r->dy + lo, r->y + lo, hi - lo, r->scale);
}

void nn_relu_dropout_backward(float *dx, const float *dy, const float *y, size_t n, float p) {
    ReluDrop r = {dx, dy, y, n, 1.0f / (1.0f - p)};
    nn_parallel(relu_dropout_part, &r, parts_for(n));
}

int nn_dropout_keep(uint64_t key, size_t i, float p) {
    if (p <= 0.0f)
        return 1;
    uint64_t h = nn_hash2(key, i / 2);
    uint32_t draw = (uint32_t)(i & 1 ? h >> 32 : h);
    return draw >= drop_threshold(p);
}
