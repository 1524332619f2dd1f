/* rng.c: the runtime's randomness. A SplitMix64 stream (seeded parameter
 * initialisation, shuffling), the stateless nn_hash2 that dropout masks and
 * key derivation use, and the initialisers built on the stream. Everything
 * is a pure function of its seed or key, on every platform: no libc rand(),
 * no global state.
 */
#include <math.h>

#include "nnrt.h"

#define GAMMA 0x9e3779b97f4a7c15u /* 2^64 / golden ratio, SplitMix64's increment */

/* SplitMix64's output function (Stafford's Mix13): a bijection whose every
 * output bit depends on every input bit. dropout.c inlines a copy of it. */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

nn_rng nn_rng_seed(uint64_t seed) {
    return (nn_rng){seed};
}

uint64_t nn_rng_next(nn_rng *r) {
    r->s += GAMMA;
    return mix64(r->s);
}

/* The top 24 bits: every float of the form k / 2^24, so the result is exact
 * and never rounds up to 1. */
float nn_rng_uniform(nn_rng *r) {
    return (float)(nn_rng_next(r) >> 40) * 0x1.0p-24f;
}

/* Box-Muller in double. The second value of the pair is dropped so that the
 * state stays one word and a draw consumes a fixed two outputs. */
float nn_rng_normal(nn_rng *r) {
    const double two_pi = 6.283185307179586;
    double u1 = (double)((nn_rng_next(r) >> 11) + 1) * 0x1.0p-53; /* (0, 1]: log stays finite */
    double u2 = (double)(nn_rng_next(r) >> 11) * 0x1.0p-53;
    return (float)(sqrt(-2.0 * log(u1)) * cos(two_pi * u2));
}

/* Output number `counter` (0-based) of a SplitMix64 stream started at
 * mix64(key): counters of one key walk a full-period stream, and distinct
 * keys start at unrelated points of it, so nearby keys (seed, seed + 1)
 * give unrelated values. */
uint64_t nn_hash2(uint64_t key, uint64_t counter) {
    return mix64(mix64(key) + (counter + 1) * GAMMA);
}

static void fill_uniform(float *w, size_t n, double limit, nn_rng *r) {
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(limit * (2.0 * nn_rng_uniform(r) - 1.0));
}

void nn_init_glorot_uniform(float *w, size_t n, int fan_in, int fan_out, nn_rng *r) {
    fill_uniform(w, n, sqrt(6.0 / (fan_in + fan_out)), r);
}

void nn_init_he_uniform(float *w, size_t n, int fan_in, nn_rng *r) {
    fill_uniform(w, n, sqrt(6.0 / fan_in), r);
}

void nn_init_fill(float *w, size_t n, float value) {
    for (size_t i = 0; i < n; i++)
        w[i] = value;
}
