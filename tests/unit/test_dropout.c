/* test_dropout.c: dropout's semantics and the randomness behind it.
 *
 * Dropout: p = 0 is the identity; the drop rate and the mean are right to
 * within 5 standard deviations of the binomial spread; backward reapplies
 * the forward mask; the mask is a pure function of (key, i): the same for
 * the same key whatever the call and the length, unrelated for different
 * keys, and what nn_dropout_keep reports. RNG: SplitMix64 and nn_hash2
 * against values from their reference definitions (a change there would
 * silently change every seeded run), uniform and normal moments, and the
 * initialisers' ranges and variances.
 *
 * The statistical checks use fixed keys and seeds, so they are deterministic:
 * a 5-sigma bound fails only when the distribution is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nnrt.h"
#include "fill.h"

#define BIG (1 << 20) /* elements for the statistical checks */

/* |observed - expected| within 5 standard deviations */
static void assert_within_5_sigma(double observed, double expected, double sigma) {
    if (!(fabs(observed - expected) <= 5.0 * sigma)) {
        print_error("observed %g, expected %g +- 5 * %g\n", observed, expected, sigma);
        fail();
    }
}

/* ------------------------------------------------------------- dropout */

static const float rates[] = {0.1f, 0.25f, 0.5f, 0.8f};
#define N_RATES (sizeof rates / sizeof rates[0])

static void test_p0_is_identity(void **state) {
    (void)state;
    enum { n = 101 };
    nn_rng rng = nn_rng_seed(21);
    float x[n], y[n], dx[n];
    fill_uniform(x, n, -1, 1, &rng);
    nn_dropout_forward(y, x, n, 0.0f, 7);
    assert_memory_equal(y, x, sizeof x);
    nn_dropout_backward(dx, x, n, 0.0f, 7);
    assert_memory_equal(dx, x, sizeof x);
    memcpy(y, x, sizeof x);
    nn_dropout_forward(y, y, n, 0.0f, 7);
    assert_memory_equal(y, x, sizeof x);
    for (size_t i = 0; i < n; i++)
        assert_true(nn_dropout_keep(7, i, 0.0f));
}

/* Drops of single elements, and of the two elements that share one 64-bit
 * hash: independent halves drop together with probability p^2. */
static void test_drop_rate(void **state) {
    (void)state;
    float *ones = alloc_floats(BIG), *y = alloc_floats(BIG);
    for (size_t i = 0; i < BIG; i++)
        ones[i] = 1.0f;
    for (size_t k = 0; k < N_RATES; k++) {
        const double p = rates[k];
        nn_dropout_forward(y, ones, BIG, rates[k], 1000 + k);
        size_t dropped = 0, both = 0;
        for (size_t i = 0; i < BIG; i += 2) {
            dropped += (y[i] == 0.0f) + (y[i + 1] == 0.0f);
            both += y[i] == 0.0f && y[i + 1] == 0.0f;
        }
        assert_within_5_sigma((double)dropped / BIG, p, sqrt(p * (1 - p) / BIG));
        assert_within_5_sigma((double)both / (BIG / 2), p * p,
                              sqrt(p * p * (1 - p * p) / (BIG / 2)));
    }
    free(ones), free(y);
}

/* Kept values are scaled by exactly 1/(1-p), so E[y] = x. */
static void test_expected_value(void **state) {
    (void)state;
    nn_rng rng = nn_rng_seed(22);
    float *x = alloc_floats(BIG), *y = alloc_floats(BIG);
    fill_uniform(x, BIG, 0, 2, &rng);
    for (size_t k = 0; k < N_RATES; k++) {
        const double p = rates[k];
        nn_dropout_forward(y, x, BIG, rates[k], 2000 + k);
        double sx = 0.0, sy = 0.0, sxx = 0.0;
        for (size_t i = 0; i < BIG; i++) {
            sx += x[i], sy += y[i], sxx += (double)x[i] * x[i];
            if (y[i] != 0.0f)
                assert_true(fabs(y[i] - x[i] / (1.0 - p)) <= 1e-6 * y[i]);
        }
        /* Var(sum y) = sum x^2 p / (1 - p) */
        assert_within_5_sigma(sy / BIG, sx / BIG, sqrt(sxx * p / (1 - p)) / BIG);
    }
    free(x), free(y);
}

static void test_backward_uses_forward_mask(void **state) {
    (void)state;
    enum { n = 1001 }; /* odd: the last element takes half a hash */
    nn_rng rng = nn_rng_seed(23);
    float x[n], y[n], dy[n], dx[n];
    fill_uniform(x, n, 1, 2, &rng); /* nonzero: y == 0 exactly when dropped */
    fill_uniform(dy, n, -1, 1, &rng);
    for (size_t k = 0; k < N_RATES; k++) {
        const float p = rates[k];
        const float scale = 1.0f / (1.0f - p);
        nn_dropout_forward(y, x, n, p, 3000 + k);
        nn_dropout_backward(dx, dy, n, p, 3000 + k);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            const int keep = nn_dropout_keep(3000 + k, i, p);
            assert_int_equal(y[i] != 0.0f, keep);
            assert_true(dx[i] == (keep ? dy[i] * scale : 0.0f));
            kept += keep;
        }
        assert_true(kept > 0 && kept < n);
    }
}

static void test_in_place(void **state) {
    (void)state;
    enum { n = 257 };
    nn_rng rng = nn_rng_seed(24);
    float x[n], y[n], z[n];
    fill_uniform(x, n, -1, 1, &rng);
    nn_dropout_forward(y, x, n, 0.5f, 99);
    memcpy(z, x, sizeof x);
    nn_dropout_forward(z, z, n, 0.5f, 99);
    assert_memory_equal(y, z, sizeof y);
    memcpy(z, x, sizeof x);
    nn_dropout_backward(z, z, n, 0.5f, 99);
    assert_memory_equal(y, z, sizeof y);
}

/* Element i's fate depends on (key, i, p) only: not on n, not on the call. */
static void test_same_key_same_mask(void **state) {
    (void)state;
    enum { n = 64 };
    float ones[n], a[n], b[n];
    for (size_t i = 0; i < n; i++)
        ones[i] = 1.0f;
    for (size_t len = 1; len <= n; len++) {
        nn_dropout_forward(a, ones, len, 0.5f, 42);
        nn_dropout_forward(b, ones, n, 0.5f, 42);
        assert_memory_equal(a, b, len * sizeof *a);
    }
}

/* Masks of different keys, nearby ones included, agree only as often as
 * independent masks would: on a fraction 1 - 2p(1-p) of the elements. */
static void test_different_keys_differ(void **state) {
    (void)state;
    const uint64_t pairs[][2] = {
        {1, 2}, {0, 1}, {1000, 1001}, {7, 7 + (1ull << 32)}, {5, 5ull << 60}};
    float *ones = alloc_floats(BIG), *a = alloc_floats(BIG), *b = alloc_floats(BIG);
    for (size_t i = 0; i < BIG; i++)
        ones[i] = 1.0f;
    const double p = 0.25, agree = 1 - 2 * p * (1 - p);
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        nn_dropout_forward(a, ones, BIG, (float)p, pairs[k][0]);
        nn_dropout_forward(b, ones, BIG, (float)p, pairs[k][1]);
        size_t same = 0;
        for (size_t i = 0; i < BIG; i++)
            same += (a[i] == 0.0f) == (b[i] == 0.0f);
        assert_within_5_sigma((double)same / BIG, agree, sqrt(agree * (1 - agree) / BIG));
    }
    free(ones), free(a), free(b);
}

/* ----------------------------------------------------------------- RNG */

/* The reference SplitMix64 (Vigna) from seed 0, and nn_hash2 as defined in
 * rng.c: mix64(mix64(key) + (counter + 1) * 0x9e3779b97f4a7c15). */
static void test_known_values(void **state) {
    (void)state;
    nn_rng r = nn_rng_seed(0);
    assert_true(nn_rng_next(&r) == 0xe220a8397b1dcdafu);
    assert_true(nn_rng_next(&r) == 0x6e789e6aa1b965f4u);
    assert_true(nn_rng_next(&r) == 0x06c45d188009454fu);
    assert_true(nn_hash2(0, 0) == 0xe220a8397b1dcdafu);
    assert_true(nn_hash2(1, 0) == 0xbfef8030ddc2d772u);
    assert_true(nn_hash2(42, 7) == 0x272404a0a3926552u);
}

static void test_uniform(void **state) {
    (void)state;
    nn_rng r = nn_rng_seed(25);
    double s = 0.0, ss = 0.0;
    for (size_t i = 0; i < BIG; i++) {
        float u = nn_rng_uniform(&r);
        assert_true(u >= 0.0f && u < 1.0f);
        s += u, ss += (double)u * u;
    }
    double mean = s / BIG, var = ss / BIG - mean * mean;
    assert_within_5_sigma(mean, 0.5, sqrt(1.0 / 12 / BIG));
    assert_within_5_sigma(var, 1.0 / 12, sqrt(1.0 / 180 / BIG)); /* Var((u - 1/2)^2) = 1/180 */
}

static void test_normal(void **state) {
    (void)state;
    nn_rng r = nn_rng_seed(26);
    double s = 0.0, ss = 0.0;
    size_t tail = 0;
    for (size_t i = 0; i < BIG; i++) {
        float z = nn_rng_normal(&r);
        assert_true(isfinite(z));
        s += z, ss += (double)z * z;
        tail += fabsf(z) > 1.959964f;
    }
    double mean = s / BIG, var = ss / BIG - mean * mean;
    assert_within_5_sigma(mean, 0.0, sqrt(1.0 / BIG));
    assert_within_5_sigma(var, 1.0, sqrt(2.0 / BIG));
    assert_within_5_sigma((double)tail / BIG, 0.05, sqrt(0.05 * 0.95 / BIG));
    /* Deterministic per seed */
    nn_rng a = nn_rng_seed(27), b = nn_rng_seed(27);
    for (int i = 0; i < 100; i++)
        assert_true(nn_rng_normal(&a) == nn_rng_normal(&b));
}

/* Uniform(-limit, limit): inside the limit, reaching near it, variance
 * limit^2 / 3 (Var(w^2) = limit^4 (1/5 - 1/9)). */
static void check_uniform_init(const float *w, size_t n, double limit) {
    double ss = 0.0, maxabs = 0.0;
    for (size_t i = 0; i < n; i++) {
        assert_true(fabs(w[i]) <= limit);
        maxabs = fmax(maxabs, fabs(w[i]));
        ss += (double)w[i] * w[i];
    }
    assert_true(maxabs > 0.999 * limit);
    assert_within_5_sigma(ss / n, limit * limit / 3, limit * limit * sqrt((1.0 / 5 - 1.0 / 9) / n));
}

static void test_initialisers(void **state) {
    (void)state;
    const size_t n = 784 * 128;
    float *w = alloc_floats(n), *w2 = alloc_floats(n);
    nn_rng r = nn_rng_seed(28), r2 = nn_rng_seed(28);
    nn_init_glorot_uniform(w, n, 784, 128, &r);
    check_uniform_init(w, n, sqrt(6.0 / (784 + 128)));
    nn_init_glorot_uniform(w2, n, 784, 128, &r2);
    assert_memory_equal(w, w2, n * sizeof *w);

    nn_init_he_uniform(w, n, 784, &r);
    check_uniform_init(w, n, sqrt(6.0 / 784));

    nn_init_fill(w, n, 0.25f);
    for (size_t i = 0; i < n; i++)
        assert_true(w[i] == 0.25f);
    free(w), free(w2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p0_is_identity),
        cmocka_unit_test(test_drop_rate),
        cmocka_unit_test(test_expected_value),
        cmocka_unit_test(test_backward_uses_forward_mask),
        cmocka_unit_test(test_in_place),
        cmocka_unit_test(test_same_key_same_mask),
        cmocka_unit_test(test_different_keys_differ),
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_normal),
        cmocka_unit_test(test_initialisers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
