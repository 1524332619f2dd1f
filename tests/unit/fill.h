/* fill.h: buffers of random or poisoned floats for the kernel tests
 * (static inline: each test binary uses a different subset). */
#ifndef NNC_TEST_FILL_H
#define NNC_TEST_FILL_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nnrt.h"

static inline float *alloc_floats(size_t n) {
    float *p = malloc(n * sizeof *p);
    assert_non_null(p);
    return p;
}

static inline double *alloc_doubles(size_t n) {
    double *p = malloc(n * sizeof *p);
    assert_non_null(p);
    return p;
}

static inline void fill_uniform(float *v, size_t n, float lo, float hi, nn_rng *r) {
    for (size_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * nn_rng_uniform(r);
}

/* Outputs are pre-filled with NaN so an entry a kernel forgets to write fails. */
static inline void fill_nan(float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        v[i] = NAN;
}

/* The same bits */
static inline int same_floats(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof *a) == 0;
}

#endif
