/* test_threads.c: the runtime's thread pool (runtime/pool.c) and the
 * kernels split over it.
 *
 * The pool: nn_part's shares tile [0, n) at the alignment asked for; every
 * part of a job runs exactly once, part 0 on the calling thread; a kernel
 * called inside a part runs serially; the pool can be resized any number
 * of times, and a job posted right after the workers start is not lost.
 * The kernels: on 3 threads they give the same results as on 1, bit for
 * bit where the split only cuts the output (products, elementwise passes,
 * the optimizer, dropout, pooling), to float rounding where partial sums
 * are added (a convolution's weight and bias gradients).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "fill.h"
#include "nnrt.h"

enum { THREADS = 3 };

static void test_part_tiles(void **state) {
    (void)state;
    static const size_t ns[] = {0, 1, 15, 16, 17, 100, 1000, 4097};
    for (size_t k = 0; k < sizeof ns / sizeof *ns; k++)
        for (int parts = 1; parts <= 5; parts++)
            for (size_t align = 1; align <= 16; align *= 4) {
                size_t next = 0;
                for (int p = 0; p < parts; p++) {
                    size_t lo, hi;
                    nn_part(ns[k], p, parts, align, &lo, &hi);
                    assert_int_equal(lo, next);
                    assert_true(hi >= lo && hi <= ns[k]);
                    assert_true(lo % align == 0 || lo == ns[k]);
                    next = hi;
                }
                assert_int_equal(next, ns[k]);
            }
}

/* What each part saw; checked on the calling thread (cmocka's asserts
 * cannot fail on another thread) */
typedef struct {
    atomic_int runs[THREADS];
    pthread_t caller;
    int part0_on_caller;
    int parts[THREADS];
    int inner_parts[THREADS];
} Probe;

static void inner(void *ctx, int part, int parts) {
    (void)ctx, (void)part, (void)parts;
}

static void probe(void *ctx, int part, int parts) {
    Probe *p = ctx;
    p->parts[part] = parts;
    atomic_fetch_add(&p->runs[part], 1);
    if (part == 0)
        p->part0_on_caller = pthread_equal(pthread_self(), p->caller);
    p->inner_parts[part] = nn_parallel(inner, NULL, THREADS);
}

static void test_every_part_once(void **state) {
    (void)state;
    for (int round = 0; round < 200; round++) {
        nn_set_threads(round % 2 ? THREADS : 1); /* restarts the workers: a job follows at once */
        Probe p = {.caller = pthread_self()};
        int ran = nn_parallel(probe, &p, round % 2 ? THREADS : 1);
        if (round % 2 == 0) {
            assert_int_equal(ran, 1); /* a pool of one runs every job on the caller */
            continue;
        }
        assert_int_equal(ran, THREADS);
        assert_true(p.part0_on_caller);
        for (int i = 0; i < THREADS; i++) {
            assert_int_equal(atomic_load(&p.runs[i]), 1);
            assert_int_equal(p.parts[i], THREADS);
            assert_int_equal(p.inner_parts[i], 1);
        }
    }
    assert_int_equal(nn_threads(), THREADS);
    nn_set_threads(1);
    assert_int_equal(nn_threads(), 1);
}

/* ------------------------------------------------------------- kernels */

static void same(const float *a, const float *b, size_t n) {
    assert_memory_equal(a, b, n * sizeof *a);
}

static void close_enough(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        assert_true(fabsf(a[i] - b[i]) <= 1e-5f * (1.0f + fabsf(b[i])));
}

static void test_dense_and_elementwise(void **state) {
    (void)state;
    enum { B = 40, IN = 333, OUT = 257 }; /* B <= 64: the dot-product tiles, where the CPU has them */
    nn_rng r = nn_rng_seed(31);
    float *x = alloc_floats(B * IN), *W = alloc_floats(OUT * IN), *b = alloc_floats(OUT);
    float *dy = alloc_floats(B * OUT);
    fill_uniform(x, B * IN, -1, 1, &r);
    fill_uniform(W, OUT * IN, -1, 1, &r);
    fill_uniform(b, OUT, -1, 1, &r);
    fill_uniform(dy, B * OUT, -1, 1, &r);
    nn_hparams h = {.optimizer = NN_ADAM, .lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f,
                    .eps = 1e-8f};
    float *y[2], *y1[2], *g[2], *dx[2], *dW[2], *db[2], *p[2], *opt[2];
    for (int k = 0; k < 2; k++) {
        nn_set_threads(k ? THREADS : 1);
        y[k] = alloc_floats(B * OUT), y1[k] = alloc_floats(OUT), g[k] = alloc_floats(B * OUT);
        dx[k] = alloc_floats(B * IN), dW[k] = alloc_floats(OUT * IN), db[k] = alloc_floats(OUT);
        p[k] = alloc_floats(OUT * IN), opt[k] = alloc_floats(2 * OUT * IN);
        nn_dense_forward(y[k], x, W, B, IN, OUT);
        nn_bias_relu_dropout(y[k], b, B, OUT, 0.5f, 99);
        memcpy(g[k], dy, sizeof(float) * B * OUT);
        /* three quarters zero: the sparse weight gradient */
        nn_relu_dropout_backward(g[k], g[k], y[k], (size_t)B * OUT, 0.5f);
        nn_dense_backward(dx[k], dW[k], db[k], g[k], x, W, B, IN, OUT);
        memcpy(p[k], W, sizeof(float) * OUT * IN);
        memset(opt[k], 0, sizeof(float) * 2 * OUT * IN);
        for (long t = 1; t <= 3; t++)
            nn_optimizer_step(p[k], dW[k], opt[k], (size_t)OUT * IN, &h, t);
        nn_dense_forward(y1[k], x, W, 1, IN, OUT); /* batch 1: sgemv */
    }
    same(y[0], y[1], B * OUT);
    same(y1[0], y1[1], OUT);
    same(g[0], g[1], B * OUT);
    same(dx[0], dx[1], B * IN);
    same(dW[0], dW[1], OUT * IN);
    same(db[0], db[1], OUT);
    same(p[0], p[1], OUT * IN);
    nn_set_threads(1);
    free(x), free(W), free(b), free(dy);
    for (int k = 0; k < 2; k++) {
        free(y[k]), free(y1[k]), free(g[k]), free(dx[k]), free(dW[k]), free(db[k]);
        free(p[k]), free(opt[k]);
    }
}

static void test_conv(void **state) {
    (void)state;
    /* B H W C K S pad OC OH OW: the generic path, then the direct one (K*K*C <= 32) */
    static const int shapes[][10] = {
        {5, 9, 8, 6, 3, 1, 1, 7, 9, 8},     /* im2col and sgemm */
        {4, 12, 12, 1, 3, 2, 0, 20, 5, 5},  /* direct */
        {3, 8, 30, 16, 3, 1, 1, 32, 8, 30}, /* AVX-512 tiles, where the CPU has them */
        {4, 12, 12, 1, 3, 2, 0, 32, 5, 5},  /* and the small-field one */
    };
    nn_rng r = nn_rng_seed(33);
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        const int *s = shapes[k];
        const int B = s[0], H = s[1], W_ = s[2], C = s[3], K = s[4], S = s[5], pad = s[6],
                  OC = s[7], OH = s[8], OW = s[9];
        const size_t nx = (size_t)B * H * W_ * C, nw = (size_t)OC * K * K * C,
                     ny = (size_t)B * OH * OW * OC;
        float *x = alloc_floats(nx), *W = alloc_floats(nw), *dy = alloc_floats(ny);
        float *g = alloc_floats(ny);
        fill_uniform(x, nx, -1, 1, &r);
        fill_uniform(W, nw, -1, 1, &r);
        fill_uniform(dy, ny, -1, 1, &r);
        float *y[2], *dx[2], *dW[2], *db[2];
        for (int t = 0; t < 2; t++) {
            nn_set_threads(t ? THREADS : 1);
            float *col =
                alloc_floats((size_t)nn_threads() * nn_conv2d_scratch(C, K, S, OC, OH, OW));
            y[t] = alloc_floats(ny), dx[t] = alloc_floats(nx), dW[t] = alloc_floats(nw);
            db[t] = alloc_floats((size_t)OC);
            nn_conv2d_forward(y[t], x, W, NULL, NN_RELU, 0.0f, col, B, H, W_, C, K, S, pad, OC, OH,
                              OW);
            memcpy(g, dy, ny * sizeof *g);
            nn_conv2d_backward(dx[t], dW[t], db[t], g, y[t], NN_RELU, 0.0f, x, W, col, B, H, W_, C,
                               K, S, pad, OC, OH, OW);
            free(col);
        }
        same(y[0], y[1], ny);
        same(dx[0], dx[1], nx);
        close_enough(dW[1], dW[0], nw);
        close_enough(db[1], db[0], (size_t)OC);
        free(x), free(W), free(dy), free(g);
        for (int t = 0; t < 2; t++)
            free(y[t]), free(dx[t]), free(dW[t]), free(db[t]);
    }
    nn_set_threads(1);
}

static void test_pools(void **state) {
    (void)state;
    enum { B = 6, H = 10, W_ = 10, C = 24, K = 2, S = 2, OH = 5, OW = 5 };
    const size_t nx = (size_t)B * H * W_ * C, ny = (size_t)B * OH * OW * C;
    nn_rng r = nn_rng_seed(34);
    float *x = alloc_floats(nx), *dy = alloc_floats(ny);
    fill_uniform(x, nx, -1, 1, &r);
    fill_uniform(dy, ny, -1, 1, &r);
    float *y[2], *dx[2], *ay[2], *adx[2];
    int32_t *arg[2];
    for (int t = 0; t < 2; t++) {
        nn_set_threads(t ? THREADS : 1);
        y[t] = alloc_floats(ny), dx[t] = alloc_floats(nx), ay[t] = alloc_floats(ny);
        adx[t] = alloc_floats(nx);
        arg[t] = malloc(ny * sizeof *arg[t]);
        assert_non_null(arg[t]);
        nn_maxpool_forward(y[t], arg[t], x, B, H, W_, C, K, S, OH, OW);
        nn_maxpool_backward(dx[t], dy, arg[t], B, H, W_, C, OH, OW);
        nn_avgpool_forward(ay[t], x, B, H, W_, C, K, S, OH, OW);
        nn_avgpool_backward(adx[t], dy, B, H, W_, C, K, S, OH, OW);
    }
    same(y[0], y[1], ny);
    assert_memory_equal(arg[0], arg[1], ny * sizeof *arg[0]);
    same(dx[0], dx[1], nx);
    same(ay[0], ay[1], ny);
    same(adx[0], adx[1], nx);
    nn_set_threads(1);
    free(x), free(dy);
    for (int t = 0; t < 2; t++)
        free(y[t]), free(dx[t]), free(ay[t]), free(adx[t]), free(arg[t]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_part_tiles),
        cmocka_unit_test(test_every_part_once),
        cmocka_unit_test(test_dense_and_elementwise),
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_pools),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
