/* test_conv.c: the forward passes of conv.c's kernels (conv2d, max and
 * average pooling, batchnorm in training and inference) against naive
 * double-precision loops written straight from the definitions, on random
 * data and several shapes. test_grad.c checks the backward passes against
 * these forwards; this file pins the forwards themselves.
 *
 * Outputs and the im2col scratch are filled with NaN first, so a kernel that
 * leaves an element unwritten (a padding zero, say) fails.
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

/* float sums of at most a few hundred O(1) terms against double: observed
 * errors are below 2e-7 */
#define VALUE_TOL 1e-6

/* max |got - want| / max(1, max |want|); prints the first entries and the
 * worst difference when over tol (llm.c's check_tensor). NaN fails. */
static int close_to(const char *what, const float *got, const double *want, size_t n, double tol) {
    double maxdiff = 0.0, maxref = 1.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        maxdiff = d > maxdiff || isnan(d) ? d : maxdiff;
        maxref = fmax(maxref, fabs(want[i]));
    }
    int ok = maxdiff / maxref <= tol;
    if (!ok) {
        print_error("%s: got vs want\n", what);
        for (size_t i = 0; i < n && i < 5; i++)
            print_error("  [%zu] %f %f %s\n", i, got[i], want[i],
                        fabs(got[i] - want[i]) <= tol * maxref ? "OK" : "NOT OK");
        print_error("  maxdiff %g (relative %g)\n", maxdiff, maxdiff / maxref);
    }
    return ok;
}

/* -------------------------------------------------------------- conv2d */

typedef struct {
    int B, H, W, C, K, S, pad, OC, OH, OW;
} ConvShape;

/* The definition: y[b,oh,ow,oc] = sum over kh,kw,c of
 * W[oc,kh,kw,c] x[b, oh S + kh - pad, ow S + kw - pad, c], x zero outside. */
static void conv_reference(double *y, const float *x, const float *W, const ConvShape *s) {
    for (int b = 0; b < s->B; b++)
        for (int oh = 0; oh < s->OH; oh++)
            for (int ow = 0; ow < s->OW; ow++)
                for (int oc = 0; oc < s->OC; oc++) {
                    double sum = 0.0;
                    for (int kh = 0; kh < s->K; kh++)
                        for (int kw = 0; kw < s->K; kw++)
                            for (int c = 0; c < s->C; c++) {
                                int h = oh * s->S + kh - s->pad, w = ow * s->S + kw - s->pad;
                                if (h < 0 || h >= s->H || w < 0 || w >= s->W)
                                    continue;
                                sum += (double)W[((oc * s->K + kh) * s->K + kw) * s->C + c] *
                                       x[((b * s->H + h) * s->W + w) * s->C + c];
                            }
                    y[((b * s->OH + oh) * s->OW + ow) * s->OC + oc] = sum;
                }
}

static void test_conv2d_forward(void **state) {
    (void)state;
    /* B H W C K S pad OC OH OW; sizes as valid or same padding give them */
    static const ConvShape shapes[] = {
        {2, 5, 5, 3, 3, 1, 0, 4, 3, 3},      /* valid */
        {2, 5, 5, 3, 3, 1, 1, 4, 5, 5},      /* same */
        {1, 8, 6, 2, 3, 2, 0, 3, 3, 2},      /* valid, stride 2, H != W */
        {2, 7, 7, 2, 3, 2, 1, 3, 4, 4},      /* same, stride 2 */
        {1, 6, 6, 3, 3, 2, 0, 2, 3, 3},      /* same, stride 2: bottom/right padding only */
        {1, 9, 9, 1, 5, 1, 2, 8, 9, 9},      /* K = 5, one input channel */
        {3, 4, 4, 5, 1, 1, 0, 6, 4, 4},      /* 1x1: no im2col */
        {1, 5, 5, 2, 1, 2, 0, 3, 3, 3},      /* 1x1 stride 2 */
        {2, 6, 6, 4, 2, 2, 0, 1, 3, 3},      /* K = S = 2, one output channel */
        {4, 28, 28, 1, 3, 1, 1, 16, 28, 28}, /* an MNIST-sized first layer */
        /* channels in multiples of 16: the AVX-512 register tiles, where the CPU has them */
        {1, 14, 30, 16, 3, 1, 1, 48, 14, 30}, /* same: tiles of 13 px x 32 ch, 26 x 16, tails */
        {2, 26, 26, 32, 3, 1, 0, 64, 24, 24}, /* the seed CNN's second layer: 6 px x 64 ch */
        {1, 13, 25, 16, 3, 2, 1, 64, 7, 13},  /* same, stride 2 */
    };
    nn_rng rng = nn_rng_seed(11);
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const ConvShape *s = &shapes[k];
        const size_t nx = (size_t)s->B * s->H * s->W * s->C;
        const size_t nw = (size_t)s->OC * s->K * s->K * s->C;
        const size_t ny = (size_t)s->B * s->OH * s->OW * s->OC;
        const size_t ncol =
            (size_t)nn_threads() * nn_conv2d_scratch(s->C, s->K, s->S, s->OC, s->OH, s->OW);
        float *x = alloc_floats(nx), *W = alloc_floats(nw), *y = alloc_floats(ny);
        float *col = alloc_floats(ncol);
        double *want = alloc_doubles(ny);
        fill_uniform(x, nx, -1, 1, &rng);
        fill_uniform(W, nw, -1, 1, &rng);
        fill_nan(y, ny);
        fill_nan(col, ncol);
        nn_conv2d_forward(y, x, W, NULL, NN_LINEAR, 0.0f, col, s->B, s->H, s->W, s->C, s->K, s->S,
                          s->pad, s->OC, s->OH, s->OW);
        conv_reference(want, x, W, s);
        char what[64];
        snprintf(what, sizeof what, "conv B%d %dx%dx%d K%d S%d pad%d OC%d", s->B, s->H, s->W, s->C,
                 s->K, s->S, s->pad, s->OC);
        assert_true(close_to(what, y, want, ny, VALUE_TOL));
        free(x), free(W), free(y), free(col), free(want);
    }
}

/* ------------------------------------------------------------- pooling */

typedef struct {
    int B, H, W, C, K, S, OH, OW;
} PoolShape;

static const PoolShape pool_shapes[] = {
    {2, 4, 4, 3, 2, 2, 2, 2}, /* 2x2/2 */
    {1, 5, 5, 2, 3, 2, 2, 2}, /* overlapping windows */
    {1, 6, 4, 2, 2, 1, 5, 3}, /* stride 1, H != W */
    {2, 5, 7, 1, 2, 2, 2, 3}, /* last row and column unused */
    {3, 28, 28, 8, 2, 2, 14, 14},
};

static size_t nhwc(const PoolShape *s, int b, int h, int w, int c) {
    return (((size_t)b * s->H + h) * s->W + w) * s->C + c;
}

static void test_maxpool_forward(void **state) {
    (void)state;
    nn_rng rng = nn_rng_seed(12);
    for (size_t k = 0; k < sizeof pool_shapes / sizeof pool_shapes[0]; k++) {
        const PoolShape *s = &pool_shapes[k];
        const size_t nx = (size_t)s->B * s->H * s->W * s->C;
        const size_t ny = (size_t)s->B * s->OH * s->OW * s->C;
        float *x = alloc_floats(nx), *y = alloc_floats(ny), *y2 = alloc_floats(ny);
        int32_t *argmax = malloc(ny * sizeof *argmax);
        assert_non_null(argmax);
        double *want = alloc_doubles(ny);
        fill_uniform(x, nx, -1, 1, &rng);
        fill_nan(y, ny);
        nn_maxpool_forward(y, argmax, x, s->B, s->H, s->W, s->C, s->K, s->S, s->OH, s->OW);
        for (int b = 0; b < s->B; b++)
            for (int oh = 0; oh < s->OH; oh++)
                for (int ow = 0; ow < s->OW; ow++)
                    for (int c = 0; c < s->C; c++) {
                        size_t o = (((size_t)b * s->OH + oh) * s->OW + ow) * s->C + c;
                        /* argmax counts from the start of the image */
                        const size_t at = (size_t)b * s->H * s->W * s->C + (size_t)argmax[o];
                        double m = -INFINITY;
                        int in_window = 0;
                        for (int kh = 0; kh < s->K; kh++)
                            for (int kw = 0; kw < s->K; kw++) {
                                size_t i = nhwc(s, b, oh * s->S + kh, ow * s->S + kw, c);
                                m = fmax(m, x[i]);
                                in_window |= at == i;
                            }
                        want[o] = m;
                        /* argmax names an element of this window holding the max */
                        assert_true(in_window);
                        assert_true(x[at] == y[o]);
                    }
        assert_true(close_to("maxpool", y, want, ny, 0.0));
        /* Inference passes no argmax and gets the same values. */
        nn_maxpool_forward(y2, NULL, x, s->B, s->H, s->W, s->C, s->K, s->S, s->OH, s->OW);
        assert_memory_equal(y, y2, ny * sizeof *y);
        free(x), free(y), free(y2), free(argmax), free(want);
    }
}

/* Ties go to the first element of the window in (kh, kw) order. */
static void test_maxpool_ties(void **state) {
    (void)state;
    const float x[2 * 2 * 2] = {1, 5, 3, 5, 3, 5, 2, 5}; /* 2x2 image, C = 2 */
    float y[2];
    int32_t argmax[2];
    nn_maxpool_forward(y, argmax, x, 1, 2, 2, 2, 2, 2, 1, 1);
    assert_true(y[0] == 3.0f && y[1] == 5.0f);
    assert_int_equal(argmax[0], 2);
    assert_int_equal(argmax[1], 1);
}

static void test_avgpool_forward(void **state) {
    (void)state;
    nn_rng rng = nn_rng_seed(13);
    for (size_t k = 0; k < sizeof pool_shapes / sizeof pool_shapes[0]; k++) {
        const PoolShape *s = &pool_shapes[k];
        const size_t nx = (size_t)s->B * s->H * s->W * s->C;
        const size_t ny = (size_t)s->B * s->OH * s->OW * s->C;
        float *x = alloc_floats(nx), *y = alloc_floats(ny);
        double *want = alloc_doubles(ny);
        fill_uniform(x, nx, -1, 1, &rng);
        fill_nan(y, ny);
        nn_avgpool_forward(y, x, s->B, s->H, s->W, s->C, s->K, s->S, s->OH, s->OW);
        for (int b = 0; b < s->B; b++)
            for (int oh = 0; oh < s->OH; oh++)
                for (int ow = 0; ow < s->OW; ow++)
                    for (int c = 0; c < s->C; c++) {
                        double sum = 0.0;
                        for (int kh = 0; kh < s->K; kh++)
                            for (int kw = 0; kw < s->K; kw++)
                                sum += x[nhwc(s, b, oh * s->S + kh, ow * s->S + kw, c)];
                        want[(((size_t)b * s->OH + oh) * s->OW + ow) * s->C + c] =
                            sum / (s->K * s->K);
                    }
        assert_true(close_to("avgpool", y, want, ny, VALUE_TOL));
        free(x), free(y), free(want);
    }
}

/* ----------------------------------------------------------- batchnorm */

static void test_batchnorm_forward(void **state) {
    (void)state;
    /* C = 200 crosses the kernel's 128-channel blocks; R = 2*14*14 is an image batch. */
    static const int shapes[][2] = {{16, 3}, {2 * 14 * 14, 8}, {5, 200}, {2, 1}};
    const float momentum = 0.9f, eps = 1e-3f;
    nn_rng rng = nn_rng_seed(14);
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const int R = shapes[k][0], C = shapes[k][1];
        const size_t n = (size_t)R * C;
        float *x = alloc_floats(n), *y = alloc_floats(n), *gb = alloc_floats(2 * (size_t)C);
        float *save = alloc_floats(2 * (size_t)C), *running = alloc_floats(2 * (size_t)C);
        float *old = alloc_floats(2 * (size_t)C);
        double *want = alloc_doubles(n), *want_save = alloc_doubles(2 * (size_t)C);
        double *want_running = alloc_doubles(2 * (size_t)C);
        /* A large offset against a unit spread: a naive E[x^2] - E[x]^2 in
         * float would lose the variance. */
        for (size_t i = 0; i < n; i++)
            x[i] = 100.0f + (float)(i % (size_t)C) + nn_rng_normal(&rng);
        fill_uniform(gb, (size_t)C, 0.5f, 1.5f, &rng);
        fill_uniform(gb + C, (size_t)C, -1, 1, &rng);
        fill_uniform(running, (size_t)C, -1, 1, &rng);
        fill_uniform(running + C, (size_t)C, 0.5f, 2, &rng);
        memcpy(old, running, 2 * (size_t)C * sizeof *old);

        for (int c = 0; c < C; c++) {
            double mean = 0.0, var = 0.0;
            for (int r = 0; r < R; r++)
                mean += x[(size_t)r * C + c];
            mean /= R;
            for (int r = 0; r < R; r++)
                var += (x[(size_t)r * C + c] - mean) * (x[(size_t)r * C + c] - mean);
            var /= R;
            double istd = 1.0 / sqrt(var + eps);
            want_save[c] = mean;
            want_save[C + c] = istd;
            want_running[c] = momentum * old[c] + (1 - momentum) * mean;
            want_running[C + c] = momentum * old[C + c] + (1 - momentum) * var * R / (R - 1);
            for (int r = 0; r < R; r++)
                want[(size_t)r * C + c] = gb[c] * (x[(size_t)r * C + c] - mean) * istd + gb[C + c];
        }
        fill_nan(y, n);
        fill_nan(save, 2 * (size_t)C);
        nn_batchnorm_train(y, save, running, x, gb, NN_LINEAR, 0.0f, R, C, momentum, eps);
        /* y: x - mean loses ~1e-5 of 100 in float, which 1/std then
         * amplifies over five-row batches */
        assert_true(close_to("batchnorm y", y, want, n, 1e-4));
        assert_true(close_to("batchnorm mean", save, want_save, (size_t)C, VALUE_TOL));
        assert_true(close_to("batchnorm istd", save + C, want_save + C, (size_t)C, VALUE_TOL));
        assert_true(close_to("batchnorm running", running, want_running, 2 * (size_t)C, VALUE_TOL));

        /* Inference normalises with the running statistics just updated. */
        for (int c = 0; c < C; c++) {
            double istd = 1.0 / sqrt((double)running[C + c] + eps);
            for (int r = 0; r < R; r++)
                want[(size_t)r * C + c] =
                    gb[c] * (x[(size_t)r * C + c] - running[c]) * istd + gb[C + c];
        }
        fill_nan(y, n);
        nn_batchnorm_infer(y, x, running, gb, NN_LINEAR, 0.0f, R, C, eps);
        assert_true(close_to("batchnorm infer", y, want, n, 1e-5));

        free(x), free(y), free(gb), free(save), free(running), free(old);
        free(want), free(want_save), free(want_running);
    }
}

/* An activation fused into batchnorm's passes gives the bits of the
 * activation run after it, forward (training and inference) and backward
 * (its derivative, then batchnorm's gradient): the trainer fuses them, so
 * a model's numbers do not change with the fusion. 130 channels cross the
 * kernel's blocks of 128, so the activation runs row by row there. */
static void test_batchnorm_fused_act(void **state) {
    (void)state;
    static const int shapes[][2] = {{64 * 28 * 28, 32}, {50, 130}};
    static const nn_act acts[] = {NN_RELU, NN_LEAKY_RELU, NN_SIGMOID};
    nn_rng rng = nn_rng_seed(41);
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++)
        for (size_t a = 0; a < sizeof acts / sizeof *acts; a++) {
            const int R = shapes[k][0], C = shapes[k][1];
            const size_t n = (size_t)R * C, c2 = 2 * (size_t)C;
            float *x = alloc_floats(n), *gb = alloc_floats(c2), *dy = alloc_floats(n);
            float *run1 = alloc_floats(c2), *run2 = alloc_floats(c2);
            float *s1 = alloc_floats(c2), *s2 = alloc_floats(c2), *z = alloc_floats(n);
            float *y1 = alloc_floats(n), *y2 = alloc_floats(n), *d1 = alloc_floats(n);
            float *d2 = alloc_floats(n), *dx1 = alloc_floats(n), *dx2 = alloc_floats(n);
            float *g1 = alloc_floats(c2), *g2 = alloc_floats(c2);
            fill_uniform(x, n, -2, 3, &rng);
            fill_uniform(gb, c2, -1, 1.5f, &rng);
            fill_uniform(dy, n, -1, 1, &rng);
            nn_init_fill(run1, c2, 0.5f), nn_init_fill(run2, c2, 0.5f);

            nn_batchnorm_train(y1, s1, run1, x, gb, acts[a], 0.1f, R, C, 0.9f, 1e-3f);
            nn_batchnorm_train(z, s2, run2, x, gb, NN_LINEAR, 0.0f, R, C, 0.9f, 1e-3f);
            nn_act_forward(y2, z, R, C, acts[a], 0.1f);
            assert_true(same_floats(y1, y2, n));
            assert_true(same_floats(s1, s2, c2) && same_floats(run1, run2, c2));

            memcpy(d1, dy, n * sizeof *dy);
            nn_batchnorm_backward(dx1, g1, d1, y1, acts[a], 0.1f, x, s1, gb, R, C);
            nn_act_backward(d2, dy, y2, R, C, acts[a], 0.1f);
            nn_batchnorm_backward(dx2, g2, d2, NULL, NN_LINEAR, 0.0f, x, s2, gb, R, C);
            assert_true(same_floats(dx1, dx2, n) && same_floats(g1, g2, c2));

            nn_batchnorm_infer(y1, x, run1, gb, acts[a], 0.1f, R, C, 1e-3f);
            nn_batchnorm_infer(z, x, run2, gb, NN_LINEAR, 0.0f, R, C, 1e-3f);
            nn_act_forward(y2, z, R, C, acts[a], 0.1f);
            assert_true(same_floats(y1, y2, n));

            free(x), free(gb), free(dy), free(run1), free(run2), free(s1), free(s2), free(z);
            free(y1), free(y2), free(d1), free(d2), free(dx1), free(dx2), free(g1), free(g2);
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv2d_forward),    cmocka_unit_test(test_maxpool_forward),
        cmocka_unit_test(test_maxpool_ties),      cmocka_unit_test(test_avgpool_forward),
        cmocka_unit_test(test_batchnorm_forward), cmocka_unit_test(test_batchnorm_fused_act),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
