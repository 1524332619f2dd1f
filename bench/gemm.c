/* gemm.c: the BLAS roofline of `make bench`. Times cblas_sgemm alone on
 * the exact products one training step of each benchmarked model performs
 * (as runtime/dense.c and runtime/conv.c call them), each three ways: by
 * OpenBLAS on one thread, by OpenBLAS on --threads threads, and split over
 * the runtime's pool of --threads threads with OpenBLAS single-threaded in
 * each part (what nnc does). It prints JSON lines: the machine's peak on a
 * large square product, then per workload each product's times and the
 * bound: the samples/s of a step that did nothing but those products, each
 * the best of its three ways. Operands stay in cache between repetitions:
 * the bound is optimistic on purpose, a limit no trainer built on this BLAS
 * reaches.
 *
 *   build/bench/gemm [--threads N] [--reps N]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nnrt.h"

typedef struct {
    const char *what; /* the product, in the trainer's words */
    int ta, tb;       /* operand transposed */
    int M, N, K;      /* the sizes, where one of them is B times a size if */
    int mb, nb, kb;   /* this is set: multiply M, N or K by the batch */
    int per_image;    /* 1: one product per image of the batch (a conv2d in nnc) */
} Gemm;

typedef struct {
    const char *name; /* model and batch, as the bench table names them */
    int batch;
    const Gemm *gemms;
} Workload;

/* models/fashion_mlp.model: dense 1024 relu, dropout, dense 10. The first
 * layer computes no input gradient. */
static const Gemm mlp[] = {
    {"L2 forward  x W1^T", 0, 1, 1, 1024, 784, 1, 0, 0, 0},
    {"L4 forward  h W2^T", 0, 1, 1, 10, 1024, 1, 0, 0, 0},
    {"L4 dW2 = dy^T h", 1, 0, 10, 1024, 1, 0, 0, 1, 0},
    {"L4 dh  = dy W2", 0, 0, 1, 1024, 10, 1, 0, 0, 0},
    {"L2 dW1 = dy^T x", 1, 0, 1024, 784, 1, 0, 0, 1, 0},
    {NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

/* models/keras_mnist_cnn.model: conv 32, conv 64, maxpool, dense 128,
 * dense 10. A convolution is one im2col product per image (runtime/conv.c),
 * over its OH*OW pixels; the first layer's input gradient is not needed. */
static const Gemm cnn[] = {
    {"L1 forward  col W^T (26x26 px, K=9)", 0, 1, 676, 32, 9, 0, 0, 0, 1},
    {"L2 forward  col W^T (24x24 px, K=288)", 0, 1, 576, 64, 288, 0, 0, 0, 1},
    {"L6 forward  x W^T", 0, 1, 1, 128, 9216, 1, 0, 0, 0},
    {"L8 forward  h W^T", 0, 1, 1, 10, 128, 1, 0, 0, 0},
    {"L8 dW = dy^T h", 1, 0, 10, 128, 1, 0, 0, 1, 0},
    {"L8 dh = dy W", 0, 0, 1, 128, 10, 1, 0, 0, 0},
    {"L6 dW = dy^T x", 1, 0, 128, 9216, 1, 0, 0, 1, 0},
    {"L6 dx = dy W", 0, 0, 1, 9216, 128, 1, 0, 0, 0},
    {"L2 dW += dy^T col", 1, 0, 64, 288, 576, 0, 0, 0, 1},
    {"L2 dcol = dy W", 0, 0, 576, 288, 64, 0, 0, 0, 1},
    {"L1 dW += dy^T col", 1, 0, 32, 9, 676, 0, 0, 0, 1},
    {NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

static const Workload workloads[] = {
    {"mlp", 64, mlp},
    {"mlp", 256, mlp},
    {"cnn", 128, cnn},
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *filled(size_t n) {
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "gemm: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    return p;
}

typedef struct {
    int ta, tb, M, N, K, count;
    const float *A, *B;
    float *C;
} Job;

static void product(const Job *j) {
    cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
                j->M, j->N, j->K, 1.0f, j->A, j->ta ? j->M : j->K, j->B, j->tb ? j->K : j->N, 0.0f,
                j->C, j->N);
}

/* A share of the per-image products on one thread of the pool, as
 * runtime/conv.c deals out the images */
static void images_part(void *ctx, int part, int parts) {
    const Job *j = ctx;
    size_t lo, hi;
    nn_part((size_t)j->count, part, parts, 1, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        product(j);
}

typedef enum { BLAS_ONE, BLAS_ALL, POOL } How;
static const char *const how_name[] = {"openblas_1", "openblas_n", "nnc_pool"};

/* Median seconds of the `count` products of j over reps runs, after a
 * warm-up run: by OpenBLAS on 1 or on `threads` threads, or split over the
 * runtime's pool of `threads` threads (nn_gemm; images dealt out) */
static double time_job(Job *j, How how, int threads, int reps) {
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t)
        exit(1);
    if (how == POOL)
        nn_set_threads(threads);
    else
        openblas_set_num_threads(how == BLAS_ONE ? 1 : threads);
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        if (how == POOL && j->count > 1)
            nn_parallel(images_part, j, j->count);
        else if (how == POOL)
            nn_gemm(j->ta, j->tb, j->M, j->N, j->K, 1.0f, j->A, j->ta ? j->M : j->K, j->B,
                    j->tb ? j->K : j->N, 0.0f, j->C, j->N);
        else
            for (int i = 0; i < j->count; i++)
                product(j);
        if (r >= 0)
            t[r] = now() - t0;
    }
    if (how == POOL)
        nn_set_threads(1);
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    double median = t[reps / 2];
    free(t);
    return median;
}

static int arg_int(int argc, char **argv, const char *name, int fallback) {
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return atoi(argv[i + 1]);
    return fallback;
}

int main(int argc, char **argv) {
    const int threads = arg_int(argc, argv, "--threads", openblas_get_num_procs());
    const int reps = arg_int(argc, argv, "--reps", 100);
    if (threads < 1 || reps < 1) {
        fprintf(stderr, "usage: gemm [--threads N] [--reps N]\n");
        return 2;
    }
    nn_set_threads(1);
    const int n = 2048;
    Job sq = {0, 0, n, n, n, 1, filled((size_t)n * n), filled((size_t)n * n), filled((size_t)n * n)};
    double peak = time_job(&sq, BLAS_ALL, threads, 5);
    printf("{\"kind\": \"peak\", \"threads\": %d, \"shape\": \"%dx%dx%d\", \"gflops\": %.1f, "
           "\"openblas\": \"%s\"}\n",
           threads, n, n, n, 2.0 * n * n * n / peak * 1e-9, openblas_get_config());
    free((void *)sq.A), free((void *)sq.B), free(sq.C);
    for (size_t w = 0; w < sizeof workloads / sizeof *workloads; w++) {
        const Workload *wl = &workloads[w];
        double step = 0, flops = 0;
        for (const Gemm *g = wl->gemms; g->what; g++) {
            int M = g->M * (g->mb ? wl->batch : 1), N = g->N * (g->nb ? wl->batch : 1),
                K = g->K * (g->kb ? wl->batch : 1);
            Job j = {g->ta, g->tb, M, N, K, g->per_image ? wl->batch : 1, filled((size_t)M * K),
                     filled((size_t)K * N), filled((size_t)M * N)};
            double t[3];
            int best = BLAS_ONE;
            for (int h = BLAS_ONE; h <= POOL; h++) {
                t[h] = h == BLAS_ONE || threads > 1 ? time_job(&j, (How)h, threads, reps) : t[0];
                if (t[h] < t[best])
                    best = h;
            }
            step += t[best];
            flops += 2.0 * M * N * K * j.count;
            printf("{\"kind\": \"gemm\", \"model\": \"%s\", \"batch\": %d, \"gemm\": \"%s\", "
                   "\"m\": %d, \"n\": %d, \"k\": %d, \"count\": %d, \"us_openblas_1\": %.1f, "
                   "\"us_openblas_n\": %.1f, \"us_nnc_pool\": %.1f, \"best\": \"%s\"}\n",
                   wl->name, wl->batch, g->what, M, N, K, j.count, t[0] * 1e6, t[1] * 1e6,
                   t[2] * 1e6, how_name[best]);
            free((void *)j.A), free((void *)j.B), free(j.C);
        }
        printf("{\"kind\": \"bound\", \"model\": \"%s\", \"batch\": %d, \"threads\": %d, "
               "\"step_us\": %.1f, \"gflops\": %.1f, \"samples_per_s\": %.0f}\n",
               wl->name, wl->batch, threads, step * 1e6, flops / step * 1e-9, wl->batch / step);
    }
    return 0;
}
