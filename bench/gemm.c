/* gemm.c: the BLAS roofline of `make bench`: how fast could a training step
 * go that did nothing but its matrix products?
 *
 * For each benchmarked model and batch, it runs the products one training
 * step performs (as runtime/dense.c and runtime/conv.c call them: the
 * shapes, the transposes, a convolution's products image by image) back to
 * back, each on its own buffers as in the trainer, over and over, and takes
 * the median step. Three ways: OpenBLAS on one thread, OpenBLAS on
 * --threads threads, and nnc's (the runtime's pool of --threads threads,
 * OpenBLAS single-threaded in each part: products cut into blocks of
 * output, per-image products dealt out by image). The bound is the fastest
 * of the three. Only the products run, so they find their operands in
 * whatever cache the other products left them, as in a real step, but none
 * of the step's other work (the optimizer's pass over every parameter, the
 * activations) evicts them in between: no trainer built on this BLAS gets
 * there. It prints JSON lines: the machine's peak on a large square
 * product, then per workload each product's median time within the step
 * for each way, and the bound.
 *
 *   build/bench/gemm [--threads N] [--reps N]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "nnrt.h"

#define MAX_BUFS 16
#define MAX_GEMMS 16

/* An operand: one of the workload's buffers, and whether a per-image
 * product takes the next image's slice of it each time (the activations)
 * or shares it across the images (weights, a thread's scratch) */
typedef struct {
    int buf;
    int per_image;
} Operand;

typedef struct {
    const char *what; /* the product, in the trainer's words */
    int ta, tb;       /* op(A), op(B): transposed */
    int M, N, K;      /* the sizes; one of them is B times a size if */
    int mb, nb, kb;   /* this is set: multiply M, N or K by the batch */
    int per_image;    /* one product per image of the batch (a conv2d) */
    Operand a, b, c;
    float beta; /* 1: accumulates over the images (a weight gradient) */
} Gemm;

typedef struct {
    const char *name; /* model and batch, as the bench table names them */
    int batch;
    const Gemm *gemms;
} Workload;

/* models/fashion_mlp.model: dense 1024 relu, dropout, dense 10. The first
 * layer computes no input gradient.
 * Buffers: 0 x, 1 W1, 2 h, 3 W2, 4 y, 5 dy, 6 dW2, 7 dh, 8 dW1 */
static const Gemm mlp[] = {
    {"L2 forward  h = x W1^T", 0, 1, 1, 1024, 784, 1, 0, 0, 0, {0, 0}, {1, 0}, {2, 0}, 0},
    {"L4 forward  y = h W2^T", 0, 1, 1, 10, 1024, 1, 0, 0, 0, {2, 0}, {3, 0}, {4, 0}, 0},
    {"L4 dW2 = dy^T h", 1, 0, 10, 1024, 1, 0, 0, 1, 0, {5, 0}, {2, 0}, {6, 0}, 0},
    {"L4 dh  = dy W2", 0, 0, 1, 1024, 10, 1, 0, 0, 0, {5, 0}, {3, 0}, {7, 0}, 0},
    {"L2 dW1 = dh^T x", 1, 0, 1024, 784, 1, 0, 0, 1, 0, {7, 0}, {0, 0}, {8, 0}, 0},
    {NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, {0, 0}, {0, 0}, {0, 0}, 0},
};

/* models/keras_mnist_cnn.model: conv 32, conv 64, maxpool, dense 128,
 * dense 10. A convolution is one im2col product per image over its OH*OW
 * pixels (runtime/conv.c), its columns in a thread's scratch; the first
 * layer's input gradient is not needed.
 * Buffers: 0 col1, 1 W1, 2 y1, 3 col2, 4 W2, 5 y2, 6 x6, 7 W6, 8 h6, 9 W8,
 * 10 y8, 11 dy8, 12 dW8, 13 dh6, 14 dW6, 15 dx6; dy2 and dy1 reuse y2 and
 * y1, dW2 and dW1 the weights' buffers (the values do not matter) */
static const Gemm cnn[] = {
    {"L1 forward  y = col W^T (676 px, K=9)", 0, 1, 676, 32, 9, 0, 0, 0, 1, {0, 0}, {1, 0}, {2, 1}, 0},
    {"L2 forward  y = col W^T (576 px, K=288)", 0, 1, 576, 64, 288, 0, 0, 0, 1, {3, 0}, {4, 0}, {5, 1}, 0},
    {"L6 forward  h = x W^T", 0, 1, 1, 128, 9216, 1, 0, 0, 0, {6, 0}, {7, 0}, {8, 0}, 0},
    {"L8 forward  y = h W^T", 0, 1, 1, 10, 128, 1, 0, 0, 0, {8, 0}, {9, 0}, {10, 0}, 0},
    {"L8 dW = dy^T h", 1, 0, 10, 128, 1, 0, 0, 1, 0, {11, 0}, {8, 0}, {12, 0}, 0},
    {"L8 dh = dy W", 0, 0, 1, 128, 10, 1, 0, 0, 0, {11, 0}, {9, 0}, {13, 0}, 0},
    {"L6 dW = dh^T x", 1, 0, 128, 9216, 1, 0, 0, 1, 0, {13, 0}, {6, 0}, {14, 0}, 0},
    {"L6 dx = dh W", 0, 0, 1, 9216, 128, 1, 0, 0, 0, {13, 0}, {7, 0}, {15, 0}, 0},
    {"L2 dW += dy^T col", 1, 0, 64, 288, 576, 0, 0, 0, 1, {5, 1}, {3, 0}, {4, 0}, 1},
    {"L2 dcol = dy W", 0, 0, 576, 288, 64, 0, 0, 0, 1, {5, 1}, {4, 0}, {3, 0}, 0},
    {"L1 dW += dy^T col", 1, 0, 32, 9, 676, 0, 0, 0, 1, {2, 1}, {0, 0}, {1, 0}, 1},
    {NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, {0, 0}, {0, 0}, {0, 0}, 0},
};

static const Workload workloads[] = {
    {"mlp", 64, mlp},
    {"mlp", 256, mlp},
    {"cnn", 128, cnn},
};

typedef enum { BLAS_ONE, BLAS_ALL, POOL, N_HOW } How;
static const char *const how_name[] = {"openblas_1", "openblas_n", "nnc_pool"};

/* One product with its sizes and the operands' base pointers */
typedef struct {
    const Gemm *g;
    int M, N, K, count;
    float *a, *b, *c;                /* first image's operands (part 0's copy if shared) */
    size_t a_step, b_step, c_step;   /* floats to the next image's slice (0: shared) */
    size_t a_copy, b_copy, c_copy;   /* floats to the next thread's copy of a shared operand */
} Product;

static void *alloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "gemm: out of memory\n");
        exit(1);
    }
    return p;
}

/* Image i's product, on copy `copy` of the shared operands */
static void product(const Product *p, int i, int copy) {
    const Gemm *g = p->g;
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                p->M, p->N, p->K, 1.0f, p->a + (size_t)i * p->a_step + (size_t)copy * p->a_copy,
                g->ta ? p->M : p->K, p->b + (size_t)i * p->b_step + (size_t)copy * p->b_copy,
                g->tb ? p->K : p->N, g->beta != 0.0f && i > 0 ? 1.0f : 0.0f,
                p->c + (size_t)i * p->c_step + (size_t)copy * p->c_copy, p->N);
}

/* A share of the images on one thread of the pool, on that thread's own
 * copies of the shared operands (there is one per thread, not per part),
 * as runtime/conv.c deals them out */
static void images_part(void *ctx, int part, int parts) {
    const Product *p = ctx;
    size_t lo, hi;
    nn_part((size_t)p->count, part, parts, 1, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        product(p, (int)i, nn_thread_slot());
}

static void run(const Product *p, How how) {
    const Gemm *g = p->g;
    if (how == POOL && p->count > 1)
        nn_parallel(images_part, (void *)p, p->count);
    else if (how == POOL)
        nn_gemm(g->ta, g->tb, p->M, p->N, p->K, 1.0f, p->a, g->ta ? p->M : p->K, p->b,
                g->tb ? p->K : p->N, 0.0f, p->c, p->N);
    else
        for (int i = 0; i < p->count; i++)
            product(p, i, 0);
}

static void set_how(How how, int threads) {
    if (how == POOL) {
        /* OpenBLAS's own threads spin for ~0.1 s after their last job, and
         * would take a core from the pool: wait until they sleep */
        nanosleep(&(struct timespec){0, 300000000}, NULL);
        nn_set_threads(threads);
    } else {
        nn_set_threads(1);
        openblas_set_num_threads(how == BLAS_ONE ? 1 : threads);
    }
}

static int arg_int(int argc, char **argv, const char *name, int fallback) {
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return atoi(argv[i + 1]);
    return fallback;
}

static void peak(int threads) {
    const int n = 2048, reps = 5;
    float *a = alloc((size_t)n * n, sizeof *a), *b = alloc((size_t)n * n, sizeof *b);
    float *c = alloc((size_t)n * n, sizeof *c);
    double t[5];
    set_how(BLAS_ALL, threads);
    for (int r = -1; r < reps; r++) {
        double t0 = nn_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
        if (r >= 0)
            t[r] = nn_seconds() - t0;
    }
    printf("{\"kind\": \"peak\", \"threads\": %d, \"shape\": \"%dx%dx%d\", \"gflops\": %.1f, "
           "\"openblas\": \"%s\"}\n",
           threads, n, n, n, 2.0 * n * n * n / nn_median(t, reps) * 1e-9, openblas_get_config());
    free(a), free(b), free(c);
}

static void workload(const Workload *w, int threads, int reps) {
    Product p[MAX_GEMMS];
    size_t need[MAX_BUFS] = {0};
    int n = 0;
    /* sizes first: a buffer holds the largest use of it */
    for (const Gemm *g = w->gemms; g->what; g++, n++) {
        Product *q = &p[n];
        q->g = g;
        q->M = g->M * (g->mb ? w->batch : 1);
        q->N = g->N * (g->nb ? w->batch : 1);
        q->K = g->K * (g->kb ? w->batch : 1);
        q->count = g->per_image ? w->batch : 1;
        const Operand *op[3] = {&g->a, &g->b, &g->c};
        const size_t size[3] = {(size_t)q->M * q->K, (size_t)q->K * q->N, (size_t)q->M * q->N};
        for (int k = 0; k < 3; k++) {
            size_t all = size[k] * (op[k]->per_image ? (size_t)q->count
                                    : g->per_image  ? (size_t)threads
                                                    : 1);
            need[op[k]->buf] = all > need[op[k]->buf] ? all : need[op[k]->buf];
        }
    }
    float *buf[MAX_BUFS];
    for (int i = 0; i < MAX_BUFS; i++) {
        buf[i] = alloc(need[i], sizeof **buf);
        for (size_t j = 0; j < need[i]; j++)
            buf[i][j] = (float)((j * 7919) % 1000) * 1e-3f - 0.5f;
    }
    for (int i = 0; i < n; i++) {
        Product *q = &p[i];
        const Gemm *g = q->g;
        const size_t size[3] = {(size_t)q->M * q->K, (size_t)q->K * q->N, (size_t)q->M * q->N};
        q->a = buf[g->a.buf], q->b = buf[g->b.buf], q->c = buf[g->c.buf];
        q->a_step = g->a.per_image ? size[0] : 0, q->a_copy = g->a.per_image ? 0 : size[0];
        q->b_step = g->b.per_image ? size[1] : 0, q->b_copy = g->b.per_image ? 0 : size[1];
        q->c_step = g->c.per_image ? size[2] : 0, q->c_copy = g->c.per_image ? 0 : size[2];
    }

    double *steps = alloc((size_t)reps, sizeof *steps);
    double *each = alloc((size_t)reps * MAX_GEMMS, sizeof *each);
    double step[N_HOW], part[N_HOW][MAX_GEMMS];
    for (int h = 0; h < N_HOW; h++) {
        if (threads == 1 && h != BLAS_ONE) {
            step[h] = step[BLAS_ONE];
            memcpy(part[h], part[BLAS_ONE], sizeof part[h]);
            continue;
        }
        set_how((How)h, threads);
        for (int r = -1; r < reps; r++) {
            double t0 = nn_seconds(), t = t0;
            for (int i = 0; i < n; i++) {
                run(&p[i], (How)h);
                double t1 = nn_seconds();
                if (r >= 0)
                    each[(size_t)i * reps + r] = t1 - t;
                t = t1;
            }
            if (r >= 0)
                steps[r] = t - t0;
        }
        step[h] = nn_median(steps, reps);
        for (int i = 0; i < n; i++)
            part[h][i] = nn_median(each + (size_t)i * reps, reps);
    }
    set_how(BLAS_ONE, threads);
    How best = BLAS_ONE;
    for (int h = 0; h < N_HOW; h++)
        best = step[h] < step[best] ? (How)h : best;
    double flops = 0;
    for (int i = 0; i < n; i++) {
        flops += 2.0 * p[i].M * p[i].N * p[i].K * p[i].count;
        printf("{\"kind\": \"gemm\", \"model\": \"%s\", \"batch\": %d, \"gemm\": \"%s\", \"m\": %d, "
               "\"n\": %d, \"k\": %d, \"count\": %d, \"us_openblas_1\": %.1f, "
               "\"us_openblas_n\": %.1f, \"us_nnc_pool\": %.1f}\n",
               w->name, w->batch, p[i].g->what, p[i].M, p[i].N, p[i].K, p[i].count,
               part[BLAS_ONE][i] * 1e6, part[BLAS_ALL][i] * 1e6, part[POOL][i] * 1e6);
    }
    printf("{\"kind\": \"bound\", \"model\": \"%s\", \"batch\": %d, \"threads\": %d, "
           "\"step_us_openblas_1\": %.1f, \"step_us_openblas_n\": %.1f, \"step_us_nnc_pool\": %.1f, "
           "\"best\": \"%s\", \"step_us\": %.1f, \"gflops\": %.1f, \"samples_per_s\": %.0f}\n",
           w->name, w->batch, threads, step[BLAS_ONE] * 1e6, step[BLAS_ALL] * 1e6,
           step[POOL] * 1e6, how_name[best], step[best] * 1e6, flops / step[best] * 1e-9,
           w->batch / step[best]);
    fflush(stdout);
    for (int i = 0; i < MAX_BUFS; i++)
        free(buf[i]);
    free(steps), free(each);
}

int main(int argc, char **argv) {
    const int threads = arg_int(argc, argv, "--threads", openblas_get_num_procs());
    const int reps = arg_int(argc, argv, "--reps", 100);
    if (threads < 1 || reps < 1) {
        fprintf(stderr, "usage: gemm [--threads N] [--reps N]\n");
        return 2;
    }
    peak(threads);
    for (size_t w = 0; w < sizeof workloads / sizeof *workloads; w++)
        workload(&workloads[w], threads, reps);
    return 0;
}
