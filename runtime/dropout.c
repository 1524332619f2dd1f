/* dropout.c: inverted dropout whose mask is never stored.
 *
 * Element i is kept when its 32-bit draw is at least round(p * 2^32): the
 * draws of elements 2j and 2j+1 are the low and high halves of
 * nn_hash2(key, j), so one 64-bit hash serves two elements, the keep
 * probability is 1 - p to within 2^-32, and the mask depends on nothing but
 * (key, i, p). Backward regenerates the same mask from the same key.
 */
#include <math.h>

#include "nnrt.h"

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

/* y = x * (keep ? scale : 0), forward and backward alike. The factor comes
 * from a two-entry table indexed by the comparison: a ?: there compiles to
 * a branch at -O2 that mispredicts on every other element at p = 0.5 (7x
 * slower), and in place (y == x) GCC's vectorized version never runs. As in
 * torch, a dropped inf gives NaN. */
static void apply_mask(float *y, const float *x, size_t n, float p, uint64_t key) {
    if (p <= 0.0f) {
        if (y != x)
            for (size_t i = 0; i < n; i++)
                y[i] = x[i];
        return;
    }
    const uint32_t t = drop_threshold(p);
    const float factor[2] = {0.0f, 1.0f / (1.0f - p)};
    const uint64_t start = mix64(key); /* nn_hash2(key, j) = mix64(start + (j + 1) GAMMA) */
    const size_t pairs = n / 2;
    for (size_t j = 0; j < pairs; j++) {
        uint64_t h = mix64(start + (j + 1) * GAMMA);
        y[2 * j] = x[2 * j] * factor[(uint32_t)h >= t];
        y[2 * j + 1] = x[2 * j + 1] * factor[(uint32_t)(h >> 32) >= t];
    }
    if (n & 1) {
        uint64_t h = mix64(start + (pairs + 1) * GAMMA);
        y[n - 1] = x[n - 1] * factor[(uint32_t)h >= t];
    }
}

void nn_dropout_forward(float *y, const float *x, size_t n, float p, uint64_t key) {
    apply_mask(y, x, n, p, key);
}

void nn_dropout_backward(float *dx, const float *dy, size_t n, float p, uint64_t key) {
    apply_mask(dx, dy, n, p, key);
}

int nn_dropout_keep(uint64_t key, size_t i, float p) {
    if (p <= 0.0f)
        return 1;
    uint64_t h = nn_hash2(key, i / 2);
    uint32_t draw = (uint32_t)(i & 1 ? h >> 32 : h);
    return draw >= drop_threshold(p);
}
