/* test_threads.c: the runtime's thread pool (runtime/pool.c) and the
 * kernels split over it.
 *
 * The pool: nn_part's shares tile [0, n) at the alignment asked for; every
 * part of a job runs exactly once, part 0 on the calling thread; a kernel
 * called inside a part runs serially; the pool can be resized any number
 * of times, and a job posted right after the workers start is not lost.
 * The kernels: on 2, 3 and 5 threads they give the same bits as on 1,
 * products, elementwise passes, the optimizer, dropout, pooling,
 * batchnorm (its sums over fixed blocks of rows), concat, gap and a
 * convolution's weight and bias gradients (summed over fixed shards of the
 * batch) alike, whatever kernels OpenBLAS runs.
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
enum { PARTS = 7, INNER = 4 }; /* more parts than threads */
typedef struct {
    atomic_int runs[PARTS];
    atomic_int order; /* parts started so far: with one thread, in part order */
    pthread_t caller;
    int part0_on_caller, slot0_on_caller;
    int parts[PARTS], started[PARTS], slot[PARTS];
    int inner_runs[PARTS];
    int inner_same_thread[PARTS];
} Probe;

typedef struct {
    pthread_t thread;
    int runs, same_thread;
} Inner;

static void inner(void *ctx, int part, int parts) {
    Inner *in = ctx;
    (void)parts;
    in->same_thread &= pthread_equal(pthread_self(), in->thread) && part == in->runs;
    in->runs++;
}

static void probe(void *ctx, int part, int parts) {
    Probe *p = ctx;
    p->parts[part] = parts;
    p->started[part] = atomic_fetch_add(&p->order, 1);
    p->slot[part] = nn_thread_slot();
    atomic_fetch_add(&p->runs[part], 1);
    if (part == 0) {
        p->part0_on_caller = pthread_equal(pthread_self(), p->caller);
        p->slot0_on_caller = nn_thread_slot() == 0;
    }
    Inner in = {pthread_self(), 0, 1};
    nn_parallel(inner, &in, INNER); /* inside a part: serially, on this thread, in order */
    p->inner_runs[part] = in.runs;
    p->inner_same_thread[part] = in.same_thread;
}

static void test_every_part_once(void **state) {
    (void)state;
    for (int round = 0; round < 200; round++) {
        const int threads = round % 2 ? THREADS : 1;
        nn_set_threads(threads); /* restarts the workers: a job follows at once */
        Probe p = {.caller = pthread_self()};
        nn_parallel(probe, &p, PARTS);
        assert_true(p.part0_on_caller);
        assert_true(p.slot0_on_caller);
        for (int i = 0; i < PARTS; i++) {
            assert_int_equal(atomic_load(&p.runs[i]), 1);
            assert_int_equal(p.parts[i], PARTS);
            assert_true(p.slot[i] >= 0 && p.slot[i] < threads);
            assert_int_equal(p.inner_runs[i], INNER);
            assert_true(p.inner_same_thread[i]);
            if (threads == 1) /* a pool of one runs every part on the caller, in order */
                assert_int_equal(p.started[i], i);
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

/* The thread counts each kernel runs at; results at [0] are the reference */
static const int thread_counts[] = {1, 2, 3, 5};
#define RUNS (int)(sizeof thread_counts / sizeof *thread_counts)

static void test_dense_and_elementwise(void **state) {
    (void)state;
    /* B <= 64: the dot-product tiles, where the CPU has them; IN and OUT
     * odd, so that blocks end inside OpenBLAS's panels */
    static const int shapes[][3] = {{40, 333, 257}, {200, 300, 700}, {64, 784, 1024}};
    nn_rng r = nn_rng_seed(31);
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        const int B = shapes[k][0], IN = shapes[k][1], OUT = shapes[k][2];
        float *x = alloc_floats((size_t)B * IN), *W = alloc_floats((size_t)OUT * IN);
        float *b = alloc_floats(OUT), *dy = alloc_floats((size_t)B * OUT);
        fill_uniform(x, (size_t)B * IN, -1, 1, &r);
        fill_uniform(W, (size_t)OUT * IN, -1, 1, &r);
        fill_uniform(b, OUT, -1, 1, &r);
        fill_uniform(dy, (size_t)B * OUT, -1, 1, &r);
        nn_hparams h = {.optimizer = NN_ADAM, .lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f,
                        .eps = 1e-8f};
        float *y[RUNS], *y1[RUNS], *g[RUNS], *dx[RUNS], *dW[RUNS], *db[RUNS], *p[RUNS];
        float *opt[RUNS], *dWd[RUNS], *dxd[RUNS];
        for (int t = 0; t < RUNS; t++) {
            nn_set_threads(thread_counts[t]);
            y[t] = alloc_floats((size_t)B * OUT), y1[t] = alloc_floats(OUT);
            g[t] = alloc_floats((size_t)B * OUT), dx[t] = alloc_floats((size_t)B * IN);
            dW[t] = alloc_floats((size_t)OUT * IN), db[t] = alloc_floats(OUT);
            p[t] = alloc_floats((size_t)OUT * IN), opt[t] = alloc_floats(2 * (size_t)OUT * IN);
            dWd[t] = alloc_floats((size_t)OUT * IN), dxd[t] = alloc_floats((size_t)B * IN);
            nn_dense_forward(y[t], x, W, B, IN, OUT);
            nn_bias_relu_dropout(y[t], b, B, OUT, 0.5f, 99);
            memcpy(g[t], dy, sizeof(float) * B * OUT);
            /* three quarters zero: the sparse weight gradient */
            nn_relu_dropout_backward(g[t], g[t], y[t], (size_t)B * OUT, 0.5f);
            nn_dense_backward(dx[t], dW[t], db[t], g[t], x, W, B, IN, OUT);
            nn_dense_backward(dxd[t], dWd[t], NULL, dy, x, W, B, IN, OUT); /* dense dy: sgemm */
            memcpy(p[t], W, sizeof(float) * OUT * IN);
            for (long step = 1; step <= 3; step++)
                nn_optimizer_step(p[t], dW[t], opt[t], (size_t)OUT * IN, &h, step);
            nn_dense_forward(y1[t], x, W, 1, IN, OUT); /* batch 1: sgemv */
        }
        for (int t = 1; t < RUNS; t++) {
            same(y[0], y[t], (size_t)B * OUT);
            same(y1[0], y1[t], OUT);
            same(g[0], g[t], (size_t)B * OUT);
            same(dx[0], dx[t], (size_t)B * IN);
            same(dW[0], dW[t], (size_t)OUT * IN);
            same(db[0], db[t], OUT);
            same(dxd[0], dxd[t], (size_t)B * IN);
            same(dWd[0], dWd[t], (size_t)OUT * IN);
            same(p[0], p[t], (size_t)OUT * IN);
        }
        nn_set_threads(1);
        free(x), free(W), free(b), free(dy);
        for (int t = 0; t < RUNS; t++) {
            free(y[t]), free(y1[t]), free(g[t]), free(dx[t]), free(dW[t]), free(db[t]);
            free(p[t]), free(opt[t]), free(dWd[t]), free(dxd[t]);
        }
    }
}

static void test_conv(void **state) {
    (void)state;
    /* B H W C K S pad OC OH OW: the generic path, then the direct one (K*K*C <= 32) */
    static const int shapes[][10] = {
        {5, 9, 8, 6, 3, 1, 1, 7, 9, 8},      /* im2col and sgemm */
        {4, 12, 12, 1, 3, 2, 0, 20, 5, 5},   /* direct */
        {3, 8, 30, 16, 3, 1, 1, 32, 8, 30},  /* AVX-512 tiles, where the CPU has them */
        {4, 12, 12, 1, 3, 2, 0, 32, 5, 5},   /* and the small-field one */
        {24, 13, 13, 32, 3, 1, 0, 64, 11, 11}, /* 12 shards of 2 images, sgemm or tiles */
        {1, 26, 26, 32, 3, 1, 0, 64, 24, 24},  /* one image cut into rows */
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
        float *partials = alloc_floats(nn_conv2d_partials(C, K, OC));
        fill_uniform(x, nx, -1, 1, &r);
        fill_uniform(W, nw, -1, 1, &r);
        fill_uniform(dy, ny, -1, 1, &r);
        float *y[RUNS], *dx[RUNS], *dW[RUNS], *db[RUNS];
        for (int t = 0; t < RUNS; t++) {
            nn_set_threads(thread_counts[t]);
            float *col =
                alloc_floats((size_t)nn_threads() * nn_conv2d_scratch(C, K, S, OC, OH, OW));
            y[t] = alloc_floats(ny), dx[t] = alloc_floats(nx), dW[t] = alloc_floats(nw);
            db[t] = alloc_floats((size_t)OC);
            nn_conv2d_forward(y[t], x, W, NULL, NN_RELU, 0.0f, col, B, H, W_, C, K, S, pad, OC, OH,
                              OW);
            memcpy(g, dy, ny * sizeof *g);
            nn_conv2d_backward(dx[t], dW[t], db[t], g, y[t], NN_RELU, 0.0f, x, W, col, partials,
                               B, H, W_, C, K, S, pad, OC, OH, OW);
            free(col);
        }
        for (int t = 1; t < RUNS; t++) {
            same(y[0], y[t], ny);
            same(dx[0], dx[t], nx);
            same(dW[0], dW[t], nw);
            same(db[0], db[t], (size_t)OC);
        }
        free(x), free(W), free(dy), free(g), free(partials);
        for (int t = 0; t < RUNS; t++)
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
    float *y[RUNS], *dx[RUNS], *ay[RUNS], *adx[RUNS];
    int32_t *arg[RUNS];
    for (int t = 0; t < RUNS; t++) {
        nn_set_threads(thread_counts[t]);
        y[t] = alloc_floats(ny), dx[t] = alloc_floats(nx), ay[t] = alloc_floats(ny);
        adx[t] = alloc_floats(nx);
        arg[t] = malloc(ny * sizeof *arg[t]);
        assert_non_null(arg[t]);
        nn_maxpool_forward(y[t], arg[t], x, B, H, W_, C, K, S, OH, OW);
        nn_maxpool_backward(dx[t], dy, arg[t], B, H, W_, C, OH, OW);
        nn_avgpool_forward(ay[t], x, B, H, W_, C, K, S, OH, OW);
        nn_avgpool_backward(adx[t], dy, B, H, W_, C, K, S, OH, OW);
    }
    for (int t = 1; t < RUNS; t++) {
        same(y[0], y[t], ny);
        assert_memory_equal(arg[0], arg[t], ny * sizeof *arg[0]);
        same(dx[0], dx[t], nx);
        same(ay[0], ay[t], ny);
        same(adx[0], adx[t], nx);
    }
    nn_set_threads(1);
    free(x), free(dy);
    for (int t = 0; t < RUNS; t++)
        free(y[t]), free(dx[t]), free(ay[t]), free(adx[t]), free(arg[t]);
}

/* Batchnorm's sums run over fixed blocks of rows: the resnet's 14x14x64
 * batch of 64 (12 blocks), and 200 channels (two chunks of 128). Summed
 * in double, the order of the additions would rarely show in a float
 * result, so dy's even rows are +1e20 and -1e20 in turn, its odd rows
 * small: a small value added while the sum is at 1e20 is lost, so which
 * ones survive depends on where the blocks start and end. Each shape also
 * with a leaky relu fused into the passes, its derivative taken in place
 * over a copy of dy. */
static void test_batchnorm(void **state) {
    (void)state;
    static const int shapes[][2] = {{64 * 14 * 14, 64}, {300, 200}};
    nn_rng r = nn_rng_seed(36);
    for (size_t k = 0; k < 2 * sizeof shapes / sizeof *shapes; k++) {
        const int R = shapes[k / 2][0], C = shapes[k / 2][1];
        const nn_act act = k % 2 ? NN_LEAKY_RELU : NN_LINEAR;
        const size_t n = (size_t)R * C, c2 = 2 * (size_t)C;
        float *x = alloc_floats(n), *dy = alloc_floats(n), *gb = alloc_floats(c2);
        float *run0 = alloc_floats(c2);
        fill_uniform(x, n, -1, 3, &r);
        fill_uniform(dy, n, -1, 1, &r);
        for (size_t i = 0; i < n; i++) {
            const size_t row = i / (size_t)C;
            if (row % 2 == 0)
                dy[i] = row % 4 == 0 ? 1e20f : -1e20f;
        }
        fill_uniform(gb, c2, 0.5f, 1.5f, &r);
        fill_uniform(run0, (size_t)C, -1, 1, &r);
        fill_uniform(run0 + C, (size_t)C, 0.5f, 2, &r);
        float *y[RUNS], *save[RUNS], *running[RUNS], *yi[RUNS], *dx[RUNS], *dgb[RUNS];
        float *dyt[RUNS];
        for (int t = 0; t < RUNS; t++) {
            nn_set_threads(thread_counts[t]);
            y[t] = alloc_floats(n), save[t] = alloc_floats(c2), running[t] = alloc_floats(c2);
            yi[t] = alloc_floats(n), dx[t] = alloc_floats(n), dgb[t] = alloc_floats(c2);
            dyt[t] = alloc_floats(n);
            memcpy(running[t], run0, c2 * sizeof *run0);
            memcpy(dyt[t], dy, n * sizeof *dy);
            nn_batchnorm_train(y[t], save[t], running[t], x, gb, act, 0.1f, R, C, 0.99f, 1e-3f);
            nn_batchnorm_infer(yi[t], x, running[t], gb, act, 0.1f, R, C, 1e-3f);
            nn_batchnorm_backward(dx[t], dgb[t], dyt[t], y[t], act, 0.1f, x, save[t], gb, R, C);
        }
        for (int t = 1; t < RUNS; t++) {
            same(y[0], y[t], n);
            same(save[0], save[t], c2);
            same(running[0], running[t], c2);
            same(yi[0], yi[t], n);
            same(dx[0], dx[t], n);
            same(dgb[0], dgb[t], c2);
        }
        nn_set_threads(1);
        free(x), free(dy), free(gb), free(run0);
        for (int t = 0; t < RUNS; t++)
            free(y[t]), free(save[t]), free(running[t]), free(yi[t]), free(dx[t]), free(dgb[t]),
                free(dyt[t]);
    }
}

/* Sizes each cut into several parts: a 1M add, the DenseNet concat of
 * tests/e2e/dense_concat.model at batch 64, the resnet's gap */
static void test_graph(void **state) {
    (void)state;
    enum { N = (1 << 20) + 3, ROWS = 64 * 14 * 14, GB = 64, HW = 64, GC = 64 };
    static const int cs[3] = {16, 16, 16};
    const size_t nc = (size_t)ROWS * 48, nx = (size_t)GB * HW * GC, ng = (size_t)GB * GC;
    nn_rng r = nn_rng_seed(35);
    float *a = alloc_floats(N), *b = alloc_floats(N), *dy = alloc_floats(nc);
    float *x = alloc_floats(nx), *gy = alloc_floats(ng);
    float *in[3];
    fill_uniform(a, N, -1, 1, &r);
    fill_uniform(b, N, -1, 1, &r);
    fill_uniform(dy, nc, -1, 1, &r);
    fill_uniform(x, nx, -1, 1, &r);
    fill_uniform(gy, ng, -1, 1, &r);
    for (int j = 0; j < 3; j++) {
        in[j] = alloc_floats((size_t)ROWS * 16);
        fill_uniform(in[j], (size_t)ROWS * 16, -1, 1, &r);
    }
    const float *xs[3] = {in[0], in[1], in[2]};
    float *sum[RUNS], *acc[RUNS], *cat[RUNS], *dcat[RUNS][3], *gap[RUNS], *dgap[RUNS];
    for (int t = 0; t < RUNS; t++) {
        nn_set_threads(thread_counts[t]);
        sum[t] = alloc_floats(N), acc[t] = alloc_floats(N), cat[t] = alloc_floats(nc);
        gap[t] = alloc_floats(ng), dgap[t] = alloc_floats(nx);
        nn_add(sum[t], a, b, N);
        nn_grad_into(acc[t], a, N, 0);
        nn_grad_into(acc[t], sum[t], N, 1);
        nn_concat_forward(cat[t], xs, cs, 3, ROWS);
        for (int j = 0; j < 3; j++) {
            dcat[t][j] = alloc_floats((size_t)ROWS * 16);
            memcpy(dcat[t][j], in[j], (size_t)ROWS * 16 * sizeof *in[j]);
        }
        nn_concat_backward(dcat[t], dy, cs, 3, ROWS, 1);
        nn_gap_forward(gap[t], x, GB, HW, GC);
        nn_gap_backward(dgap[t], gy, GB, HW, GC);
    }
    for (int t = 1; t < RUNS; t++) {
        same(sum[0], sum[t], N);
        same(acc[0], acc[t], N);
        same(cat[0], cat[t], nc);
        for (int j = 0; j < 3; j++)
            same(dcat[0][j], dcat[t][j], (size_t)ROWS * 16);
        same(gap[0], gap[t], ng);
        same(dgap[0], dgap[t], nx);
    }
    nn_set_threads(1);
    free(a), free(b), free(dy), free(x), free(gy);
    for (int j = 0; j < 3; j++)
        free(in[j]);
    for (int t = 0; t < RUNS; t++) {
        free(sum[t]), free(acc[t]), free(cat[t]), free(gap[t]), free(dgap[t]);
        for (int j = 0; j < 3; j++)
            free(dcat[t][j]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_part_tiles),
        cmocka_unit_test(test_every_part_once),
        cmocka_unit_test(test_dense_and_elementwise),
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_graph),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
