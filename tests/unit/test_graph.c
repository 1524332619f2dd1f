/* test_graph.c: graph.c's kernels (the sum of a skip connection, gradient
 * fan-in, concatenation along the last axis, global average pooling)
 * against naive loops written from their definitions in nnrt.h, and the
 * contracts the generated code relies on: nn_add in place gives the same
 * bits as out of place; accumulate 1 adds to what is there, exactly as a
 * float add would, accumulate 0 overwrites; a NULL gradient of concat is
 * skipped. test_grad.c checks the backward passes against finite
 * differences, test_threads.c the thread counts.
 *
 * Sizes are odd and large enough to be cut into several parts, and gap's
 * channel counts leave a partial block of the kernel's 32. Outputs start
 * as NaN, so an element a kernel forgets to write fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnrt.h"
#include "fill.h"

/* gap's mean: a float sum of at most a few hundred O(1) terms against double */
#define VALUE_TOL 1e-6

static void same(const float *a, const float *b, size_t n) {
    assert_memory_equal(a, b, n * sizeof *a);
}

/* --------------------------------------------------------- add, grad_into */

static const size_t sizes[] = {1, 17, 1000, 100003}; /* the last one: 4 parts */

static void test_add(void **state) {
    (void)state;
    nn_rng r = nn_rng_seed(41);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        const size_t n = sizes[k];
        float *a = alloc_floats(n), *b = alloc_floats(n), *y = alloc_floats(n);
        float *want = alloc_floats(n), *t = alloc_floats(n);
        fill_uniform(a, n, -1, 1, &r);
        fill_uniform(b, n, -1, 1, &r);
        for (size_t i = 0; i < n; i++)
            want[i] = a[i] + b[i];
        fill_nan(y, n);
        nn_add(y, a, b, n);
        same(y, want, n);

        /* y aliasing a, then b, then both */
        memcpy(t, a, n * sizeof *t);
        nn_add(t, t, b, n);
        same(t, want, n);
        memcpy(t, b, n * sizeof *t);
        nn_add(t, a, t, n);
        same(t, want, n);
        memcpy(t, a, n * sizeof *t);
        nn_add(t, t, t, n);
        for (size_t i = 0; i < n; i++)
            want[i] = a[i] + a[i];
        same(t, want, n);
        free(a), free(b), free(y), free(want), free(t);
    }
}

static void test_grad_into(void **state) {
    (void)state;
    nn_rng r = nn_rng_seed(42);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        const size_t n = sizes[k];
        float *dx = alloc_floats(n), *dy = alloc_floats(n), *want = alloc_floats(n);
        fill_uniform(dy, n, -1, 1, &r);
        fill_nan(dx, n);
        nn_grad_into(dx, dy, n, 0); /* overwrites: the NaN must go */
        same(dx, dy, n);
        fill_uniform(dx, n, -1, 1, &r);
        for (size_t i = 0; i < n; i++)
            want[i] = dx[i] + dy[i];
        nn_grad_into(dx, dy, n, 1);
        same(dx, want, n);
        nn_grad_into(dx, dx, n, 0); /* onto itself: unchanged */
        same(dx, want, n);
        free(dx), free(dy), free(want);
    }
}

/* ---------------------------------------------------------------- concat */

/* Channel counts of the inputs: a DenseNet's (16 each), odd ones, one input */
static const struct {
    int k, cs[4];
    size_t rows;
} concat_cases[] = {
    {3, {16, 16, 16}, 2 * 14 * 14},
    {4, {3, 1, 7, 2}, 5},
    {2, {5, 33}, 4001}, /* 152038 floats: several parts */
    {1, {9}, 7},
};

typedef struct {
    int k, C, off[4]; /* off[j]: the channels of the inputs before j */
    const int *cs;
    size_t rows;
    float *x[4], *y;
} ConcatCase;

static ConcatCase concat_case(size_t i, nn_rng *r) {
    ConcatCase c = {.k = concat_cases[i].k, .cs = concat_cases[i].cs, .rows = concat_cases[i].rows};
    for (int j = 0; j < c.k; j++) {
        c.x[j] = alloc_floats(c.rows * c.cs[j]);
        fill_uniform(c.x[j], c.rows * c.cs[j], -1, 1, r);
        c.off[j] = c.C;
        c.C += c.cs[j];
    }
    c.y = alloc_floats(c.rows * c.C);
    return c;
}

static void free_concat_case(ConcatCase *c) {
    for (int j = 0; j < c->k; j++)
        free(c->x[j]);
    free(c->y);
}

static void test_concat_forward(void **state) {
    (void)state;
    nn_rng r = nn_rng_seed(43);
    for (size_t i = 0; i < sizeof concat_cases / sizeof *concat_cases; i++) {
        ConcatCase c = concat_case(i, &r);
        fill_nan(c.y, c.rows * c.C);
        const float *xs[4] = {c.x[0], c.x[1], c.x[2], c.x[3]};
        nn_concat_forward(c.y, xs, c.cs, c.k, c.rows);
        for (size_t row = 0; row < c.rows; row++)
            for (int j = 0; j < c.k; j++)
                for (int q = 0; q < c.cs[j]; q++)
                    assert_true(c.y[row * c.C + c.off[j] + q] == c.x[j][row * c.cs[j] + q]);
        free_concat_case(&c);
    }
}

/* dy is split back into the inputs' columns; accumulate 1 adds to what the
 * gradients hold, 0 overwrites; a NULL gradient is skipped */
static void test_concat_backward(void **state) {
    (void)state;
    nn_rng r = nn_rng_seed(44);
    for (size_t i = 0; i < sizeof concat_cases / sizeof *concat_cases; i++) {
        ConcatCase c = concat_case(i, &r); /* c.y is dy, c.x the gradients' old values */
        fill_uniform(c.y, c.rows * c.C, -1, 1, &r);
        float *dx[4] = {0}, *want[4] = {0};
        for (int accumulate = 0; accumulate <= 1; accumulate++) {
            for (int j = 0; j < c.k; j++) {
                const size_t n = c.rows * c.cs[j];
                dx[j] = alloc_floats(n), want[j] = alloc_floats(n);
                if (accumulate)
                    memcpy(dx[j], c.x[j], n * sizeof *dx[j]);
                else
                    fill_nan(dx[j], n);
                for (size_t row = 0; row < c.rows; row++)
                    for (int q = 0; q < c.cs[j]; q++) {
                        const size_t e = row * c.cs[j] + q;
                        const float g = c.y[row * c.C + c.off[j] + q];
                        want[j][e] = accumulate ? c.x[j][e] + g : g;
                    }
            }
            /* the input before last needs no gradient (the first, with one input) */
            const int skip = c.k > 1 ? c.k - 2 : 0;
            float *untouched = dx[skip];
            const size_t nskip = c.rows * c.cs[skip];
            fill_nan(untouched, nskip);
            float *dxs[4] = {dx[0], dx[1], dx[2], dx[3]};
            dxs[skip] = NULL;
            nn_concat_backward(dxs, c.y, c.cs, c.k, c.rows, accumulate);
            for (int j = 0; j < c.k; j++)
                if (j != skip)
                    same(dx[j], want[j], c.rows * c.cs[j]);
            for (size_t q = 0; q < nskip; q++)
                assert_true(isnan(untouched[q]));
            for (int j = 0; j < c.k; j++)
                free(dx[j]), free(want[j]);
        }
        free_concat_case(&c);
    }
}

/* ------------------------------------------------------------------- gap */

/* B HW C: channels below, at and across the kernel's blocks of 32 */
static const int gap_shapes[][3] = {{2, 9, 5}, {3, 16, 32}, {2, 49, 70}, {64, 64, 64}, {1, 1, 3}};

static void test_gap(void **state) {
    (void)state;
    nn_rng r = nn_rng_seed(45);
    for (size_t k = 0; k < sizeof gap_shapes / sizeof *gap_shapes; k++) {
        const int B = gap_shapes[k][0], HW = gap_shapes[k][1], C = gap_shapes[k][2];
        const size_t nx = (size_t)B * HW * C, ny = (size_t)B * C;
        float *x = alloc_floats(nx), *y = alloc_floats(ny), *dx = alloc_floats(nx);
        fill_uniform(x, nx, -1, 1, &r);
        fill_nan(y, ny);
        nn_gap_forward(y, x, B, HW, C);
        double maxdiff = 0.0;
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++) {
                double s = 0.0;
                for (int p = 0; p < HW; p++)
                    s += x[((size_t)b * HW + p) * C + c];
                const double d = fabs(y[(size_t)b * C + c] - s / HW);
                maxdiff = d > maxdiff || isnan(d) ? d : maxdiff;
            }
        if (!(maxdiff <= VALUE_TOL))
            print_error("gap B%d HW%d C%d: maxdiff %g\n", B, HW, C, maxdiff);
        assert_true(maxdiff <= VALUE_TOL);

        /* backward: dy / HW at every pixel, the same float at each */
        fill_nan(dx, nx);
        nn_gap_backward(dx, y, B, HW, C);
        for (int b = 0; b < B; b++)
            for (int p = 0; p < HW; p++)
                for (int c = 0; c < C; c++)
                    assert_true(dx[((size_t)b * HW + p) * C + c] == y[(size_t)b * C + c] / (float)HW);
        free(x), free(y), free(dx);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_grad_into),
        cmocka_unit_test(test_concat_forward),
        cmocka_unit_test(test_concat_backward),
        cmocka_unit_test(test_gap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
