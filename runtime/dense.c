/* dense.c: fully connected layers, activations and the two losses.
 *
 * Matrix products go to nn_gemm (cblas_sgemm over the thread pool) with
 * the transposes folded into the call (no transposed copies), except where
 * the shapes and the data make a register-tile loop faster (AVX-512): the
 * forward product at small batches (dot products along IN, no packing) and
 * the weight gradient when most of dy is zero (only its nonzeros are
 * visited). Each output element is summed by one thread in a fixed order,
 * so results do not depend on the thread count; which path runs depends
 * only on the shapes, the data and the CPU.
 * Elementwise work is one pass per row with the activation chosen outside
 * the loop. The loop bodies avoid float ?: where GCC -O2 turns it into a
 * branch, which on activations of random sign mispredicts half the time
 * (4 ns an element instead of 0.5): relu is (v + |v|) / 2, slopes come from
 * two-entry tables; all of these also vectorize at -O3. Activation backward
 * passes read the forward OUTPUT y, which the generated code keeps anyway,
 * not the pre-activation.
 */
#include <assert.h>
#include <math.h>

#include "nnrt.h"
#include "simd.h"

#define SPARSE_MAX_B 1024 /* batch rows the sparse weight gradient lists on the stack */

#if NN_HAS_X86_INTRINSICS
#include <immintrin.h>
#define TILE static inline __attribute__((always_inline)) NN_AVX512_TARGET

/* y(RB rows from b0, OB columns from o0) = dot products of rows of x with
 * rows of W along IN, 24 of them in registers; a row's last partial vector
 * goes through a mask, after the loop (masked loads in the loop cost a fifth).
 * RB and OB are constants where this inlines. */
TILE void dot_tile(float *y, const float *x, const float *W, int IN, int OUT, int RB, int OB,
                   int b0, int o0) {
    __m512 acc[4][6];
#pragma GCC unroll 4
    for (int r = 0; r < RB; r++)
#pragma GCC unroll 6
        for (int o = 0; o < OB; o++)
            acc[r][o] = _mm512_setzero_ps();
    const int whole = IN / 16 * 16;
    for (int i = 0; i < whole; i += 16) {
        __m512 xv[4];
#pragma GCC unroll 4
        for (int r = 0; r < RB; r++)
            xv[r] = _mm512_loadu_ps(x + (size_t)(b0 + r) * IN + i);
#pragma GCC unroll 6
        for (int o = 0; o < OB; o++) {
            const __m512 w = _mm512_loadu_ps(W + (size_t)(o0 + o) * IN + i);
#pragma GCC unroll 4
            for (int r = 0; r < RB; r++)
                acc[r][o] = _mm512_fmadd_ps(xv[r], w, acc[r][o]);
        }
    }
    if (whole < IN) {
        const __mmask16 m = (__mmask16)((1u << (IN - whole)) - 1);
        __m512 xv[4];
#pragma GCC unroll 4
        for (int r = 0; r < RB; r++)
            xv[r] = _mm512_maskz_loadu_ps(m, x + (size_t)(b0 + r) * IN + whole);
#pragma GCC unroll 6
        for (int o = 0; o < OB; o++) {
            const __m512 w = _mm512_maskz_loadu_ps(m, W + (size_t)(o0 + o) * IN + whole);
#pragma GCC unroll 4
            for (int r = 0; r < RB; r++)
                acc[r][o] = _mm512_fmadd_ps(xv[r], w, acc[r][o]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < RB; r++)
#pragma GCC unroll 6
        for (int o = 0; o < OB; o++)
            y[(size_t)(b0 + r) * OUT + o0 + o] = _mm512_reduce_add_ps(acc[r][o]);
}

/* Columns [o_lo, o_hi) of y(B,OUT) = x W^T */
NN_AVX512_TARGET static void dot_columns(float *y, const float *x, const float *W, int B, int IN,
                                         int OUT, int o_lo, int o_hi) {
    for (int o0 = o_lo; o0 < o_hi; o0 += 6) {
        const int full = o_hi - o0 >= 6;
        int b0 = 0;
        for (; b0 + 4 <= B; b0 += 4)
            if (full)
                dot_tile(y, x, W, IN, OUT, 4, 6, b0, o0);
            else
                for (int o = o0; o < o_hi; o++)
                    dot_tile(y, x, W, IN, OUT, 4, 1, b0, o);
        for (; b0 < B; b0++)
            if (full)
                dot_tile(y, x, W, IN, OUT, 1, 6, b0, o0);
            else
                for (int o = o0; o < o_hi; o++)
                    dot_tile(y, x, W, IN, OUT, 1, 1, b0, o);
    }
}

/* Columns [i0, i0 + 16 NV) of row o of dW: the sum over the listed rows b
 * (the nonzero dy[b][o], in order) of g x[b] */
TILE void sparse_row_tile(float *d, const float *x, const int *rows, const float *g, int n, int IN,
                          int NV, int i0) {
    __m512 acc[24];
#pragma GCC unroll 24
    for (int v = 0; v < NV; v++)
        acc[v] = _mm512_setzero_ps();
    for (int k = 0; k < n; k++) {
        const __m512 gk = _mm512_set1_ps(g[k]);
        const float *xr = x + (size_t)rows[k] * IN + i0;
#pragma GCC unroll 24
        for (int v = 0; v < NV; v++)
            acc[v] = _mm512_fmadd_ps(gk, _mm512_loadu_ps(xr + 16 * v), acc[v]);
    }
#pragma GCC unroll 24
    for (int v = 0; v < NV; v++)
        _mm512_storeu_ps(d + i0 + 16 * v, acc[v]);
}

/* Rows [o_lo, o_hi) of dW(OUT,IN) = dy^T x, skipping the zeros of dy */
NN_AVX512_TARGET static void sparse_weight_rows(float *dW, const float *dy, const float *x, int B,
                                                int IN, int OUT, int o_lo, int o_hi) {
    int rows[SPARSE_MAX_B];
    float g[SPARSE_MAX_B];
    for (int o = o_lo; o < o_hi; o++) {
        int n = 0;
        for (int b = 0; b < B; b++) { /* branch-free compaction: the store always happens */
            const float v = dy[(size_t)b * OUT + o];
            rows[n] = b;
            g[n] = v;
            n += v != 0.0f;
        }
        float *d = dW + (size_t)o * IN;
        int i0 = 0;
        for (; i0 + 384 <= IN; i0 += 384)
            sparse_row_tile(d, x, rows, g, n, IN, 24, i0);
        for (; i0 + 64 <= IN; i0 += 64)
            sparse_row_tile(d, x, rows, g, n, IN, 4, i0);
        for (; i0 + 16 <= IN; i0 += 16)
            sparse_row_tile(d, x, rows, g, n, IN, 1, i0);
        for (; i0 < IN; i0++) { /* the columns past the last whole vector */
            float s = 0.0f;
            for (int k = 0; k < n; k++)
                s += g[k] * x[(size_t)rows[k] * IN + i0];
            d[i0] = s;
        }
    }
}
#else /* dense_tiles() and sparse_ok() are 0: the calls below are never reached */
#define dot_columns(y, x, W, B, IN, OUT, o_lo, o_hi) ((void)0)
#define sparse_weight_rows(dW, dy, x, B, IN, OUT, o_lo, o_hi) ((void)0)
#endif

/* The dot-product tiles beat sgemm's packing while the batch is small
 * (measured 714 against 840 us for 64x784x1024; from batch 256 sgemm
 * wins), not for one row (sgemv), and only while x stays in L2 for every
 * block of 6 units and there are enough units to fill the tiles (10
 * outputs: sgemm) */
static int dense_tiles(int B, int IN, int OUT) {
    return nn_have_avx512() && B > 1 && B <= 64 && (size_t)B * IN <= 65536 && OUT >= 64;
}

typedef struct {
    float *y;
    const float *x, *W;
    int B, IN, OUT;
} Forward;

static void forward_part(void *ctx, int part, int parts) {
    const Forward *f = ctx;
    size_t lo, hi;
    nn_part((size_t)f->OUT, part, parts, 16, &lo, &hi);
    dot_columns(f->y, f->x, f->W, f->B, f->IN, f->OUT, (int)lo, (int)hi);
}

void nn_dense_forward(float *y, const float *x, const float *W, int B, int IN, int OUT) {
    if (!dense_tiles(B, IN, OUT)) {
        nn_gemm(0, 1, B, OUT, IN, 1.0f, x, IN, W, IN, 0.0f, y, OUT);
        return;
    }
    Forward f = {y, x, W, B, IN, OUT};
    nn_parallel(forward_part, &f, nn_blocks(2.0 * B * IN * OUT, ((size_t)OUT + 15) / 16));
}

/* Column sums of the N columns of dy(R, ld) it points at: the bias
 * gradient (conv.c repeats this loop) */
NN_BODY void column_sums_body(float *db, const float *dy, int R, int N, int ld) {
    for (int j = 0; j < N; j++)
        db[j] = 0.0f;
    for (int r = 0; r < R; r++) {
        const float *row = dy + (size_t)r * ld;
        for (int j = 0; j < N; j++)
            db[j] += row[j];
    }
}
NN_VECTORIZED(column_sums, (float *db, const float *dy, int R, int N, int ld), (db, dy, R, N, ld))

/* Behind relu and dropout most of dy is zero (three quarters in the seed
 * MLP): the weight gradient then goes row by row over the nonzero entries
 * only, each row of dW summed in the same order as sgemm would (measured
 * 550 against 780 us for 1024x784 from a batch of 64). Worth it below a
 * third nonzero, while x (B rows) stays in L2 for the row after row. */
static int sparse_ok(const float *dy, int B, int IN, int OUT) {
    if (!nn_have_avx512() || B > SPARSE_MAX_B || (size_t)B * IN > 262144)
        return 0;
    size_t nonzero = 0;
    for (size_t i = 0; i < (size_t)B * OUT; i++)
        nonzero += dy[i] != 0.0f;
    return 3 * nonzero < (size_t)B * OUT;
}

typedef struct {
    float *dW, *db;
    const float *dy, *x;
    int B, IN, OUT, sparse;
} WeightGrad;

/* A block of output units, fixed by the shapes: its rows of dW and its
 * entries of db, in one hand-off */
static void weight_grad_part(void *ctx, int part, int parts) {
    const WeightGrad *w = ctx;
    size_t lo, hi;
    nn_part((size_t)w->OUT, part, parts, 16, &lo, &hi);
    if (hi == lo)
        return;
    const int n = (int)(hi - lo);
    if (w->sparse)
        sparse_weight_rows(w->dW, w->dy, w->x, w->B, w->IN, w->OUT, (int)lo, (int)hi);
    else
        nn_gemm1(1, 0, n, w->IN, w->B, 1.0f, w->dy + lo, w->OUT, w->x, w->IN, 0.0f,
                 w->dW + lo * (size_t)w->IN, w->IN);
    if (w->db)
        column_sums(w->db + lo, w->dy + lo, w->B, n, w->OUT);
}

void nn_dense_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                       const float *W, int B, int IN, int OUT) {
    WeightGrad w = {dW, db, dy, x, B, IN, OUT, sparse_ok(dy, B, IN, OUT)};
    nn_parallel(weight_grad_part, &w, nn_blocks(2.0 * OUT * IN * B, ((size_t)OUT + 15) / 16));
    if (dx)
        nn_gemm(0, 0, B, IN, OUT, 1.0f, dy, OUT, W, IN, 0.0f, dx, IN);
}

/* Softmax of one row in place: subtracting the max keeps every exponent
 * <= 0, so nothing overflows; one division per row. */
static void softmax_row(float *y, int N) {
    float m = y[0];
    for (int j = 1; j < N; j++)
        m = y[j] > m ? y[j] : m;
    float s = 0.0f;
    for (int j = 0; j < N; j++) {
        y[j] = expf(y[j] - m);
        s += y[j];
    }
    float inv = 1.0f / s;
    for (int j = 0; j < N; j++)
        y[j] *= inv;
}

/* 1 / (1 + e^-x) without overflow: e^-|x| is in (0, 1], and for x < 0 the
 * same quantity gives e^x / (1 + e^x). */
static inline float sigmoid(float x) {
    float e = expf(-fabsf(x));
    float s = 1.0f / (1.0f + e);
    return x >= 0.0f ? s : e * s;
}

/* y = act(x) over n elements of one contiguous block (any elementwise act;
 * softmax is per row and handled by the callers). y may alias x. */
NN_BODY void act_elementwise_body(float *y, const float *x, size_t n, nn_act act, float alpha) {
    switch (act) {
    case NN_LINEAR:
        if (y != x)
            for (size_t i = 0; i < n; i++)
                y[i] = x[i];
        break;
    case NN_RELU: /* (v + |v|) / 2: exact, and NaN stays NaN as in torch */
        for (size_t i = 0; i < n; i++)
            y[i] = 0.5f * (x[i] + fabsf(x[i]));
        break;
    case NN_LEAKY_RELU: /* (v + |v|) / 2 + alpha (v - |v|) / 2, exact as well */
        for (size_t i = 0; i < n; i++) {
            float v = x[i], a = fabsf(v);
            y[i] = 0.5f * ((v + a) + alpha * (v - a));
        }
        break;
    case NN_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = sigmoid(x[i]);
        break;
    case NN_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = tanhf(x[i]);
        break;
    case NN_SOFTMAX:
        break; /* per row: never reached */
    }
}
NN_VECTORIZED(act_elementwise, (float *y, const float *x, size_t n, nn_act act, float alpha),
              (y, x, n, act, alpha))

/* Rows go in blocks of about BLOCK floats: the bias is added to a block
 * while it sits in L1, then one activation call covers the whole block (a
 * call per row costs more than the work when a row is a pixel's 16 or 32
 * conv channels). */
#define BLOCK 4096
#define MIN_PER_THREAD 32768 /* elements: below that a hand-off costs more than it saves */

/* y = act(x + b) over R rows of N; with a bias (or softmax) in place, x == y */
static void bias_act_rows(float *y, const float *x, const float *b, int R, int N, nn_act act,
                          float alpha) {
    if (!b && act != NN_SOFTMAX) {
        act_elementwise(y, x, (size_t)R * N, act, alpha);
        return;
    }
    assert(x == y);
    const int rows = N >= BLOCK ? 1 : BLOCK / N;
    for (int r0 = 0; r0 < R; r0 += rows) {
        const int nr = R - r0 < rows ? R - r0 : rows;
        float *blk = y + (size_t)r0 * N;
        if (b)
            for (int r = 0; r < nr; r++) {
                float *row = blk + (size_t)r * N;
                for (int j = 0; j < N; j++)
                    row[j] += b[j];
            }
        if (act == NN_SOFTMAX)
            for (int r = 0; r < nr; r++)
                softmax_row(blk + (size_t)r * N, N);
        else
            act_elementwise(blk, blk, (size_t)nr * N, act, alpha);
    }
}

typedef struct {
    float *y;
    const float *x, *b;
    int R, N;
    nn_act act;
    float alpha;
} BiasAct;

static void bias_act_part(void *ctx, int part, int parts) {
    const BiasAct *c = ctx;
    size_t lo, hi;
    nn_part((size_t)c->R, part, parts, 1, &lo, &hi);
    const size_t off = lo * (size_t)c->N;
    bias_act_rows(c->y + off, c->x + off, c->b, (int)(hi - lo), c->N, c->act, c->alpha);
}

static void bias_act(float *y, const float *x, const float *b, int R, int N, nn_act act,
                     float alpha) {
    BiasAct c = {y, x, b, R, N, act, alpha};
    nn_parallel(bias_act_part, &c, (int)((size_t)R * N / MIN_PER_THREAD) + 1);
}

void nn_bias_act(float *y, const float *b, int R, int N, nn_act act, float alpha) {
    bias_act(y, y, b, R, N, act, alpha);
}

void nn_act_forward(float *y, const float *x, int R, int N, nn_act act, float alpha) {
    if (act != NN_SOFTMAX) {
        bias_act(y, x, NULL, R, N, act, alpha);
        return;
    }
    for (int r = 0; r < R; r++) {
        float *row = y + (size_t)r * N;
        const float *in = x + (size_t)r * N;
        if (row != in)
            for (int j = 0; j < N; j++)
                row[j] = in[j];
        softmax_row(row, N);
    }
}

NN_BODY void act_backward_rows_body(float *dx, const float *dy, const float *y, int R, int N,
                                    nn_act act, float alpha) {
    size_t n = (size_t)R * N;
    switch (act) {
    case NN_LINEAR:
        if (dx != dy)
            for (size_t i = 0; i < n; i++)
                dx[i] = dy[i];
        break;
    case NN_RELU:
        for (size_t i = 0; i < n; i++) {
            float g = dy[i]; /* loaded unconditionally: a compare and a mask, no branch */
            dx[i] = y[i] > 0.0f ? g : 0.0f;
        }
        break;
    case NN_LEAKY_RELU: { /* alpha >= 0, so y > 0 exactly where x > 0 */
        const float slope[2] = {alpha, 1.0f};
        for (size_t i = 0; i < n; i++)
            dx[i] = dy[i] * slope[y[i] > 0.0f];
        break;
    }
    case NN_SIGMOID:
        for (size_t i = 0; i < n; i++)
            dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case NN_TANH:
        for (size_t i = 0; i < n; i++)
            dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    case NN_SOFTMAX:
        /* dx_i = y_i (dy_i - sum_j dy_j y_j); the sum is taken before dx overwrites dy */
        for (int r = 0; r < R; r++) {
            float *dxr = dx + (size_t)r * N;
            const float *dyr = dy + (size_t)r * N, *yr = y + (size_t)r * N;
            float dot = 0.0f;
            for (int j = 0; j < N; j++)
                dot += dyr[j] * yr[j];
            for (int j = 0; j < N; j++)
                dxr[j] = yr[j] * (dyr[j] - dot);
        }
        break;
    }
}
NN_VECTORIZED(act_backward_rows,
              (float *dx, const float *dy, const float *y, int R, int N, nn_act act, float alpha),
              (dx, dy, y, R, N, act, alpha))

typedef struct {
    float *dx;
    const float *dy, *y;
    int R, N;
    nn_act act;
    float alpha;
} ActBackward;

static void act_backward_part(void *ctx, int part, int parts) {
    const ActBackward *c = ctx;
    size_t lo, hi;
    nn_part((size_t)c->R, part, parts, 1, &lo, &hi);
    const size_t off = lo * (size_t)c->N;
    act_backward_rows(c->dx + off, c->dy + off, c->y + off, (int)(hi - lo), c->N, c->act,
                      c->alpha);
}

void nn_act_backward(float *dx, const float *dy, const float *y, int R, int N, nn_act act,
                     float alpha) {
    ActBackward c = {dx, dy, y, R, N, act, alpha};
    nn_parallel(act_backward_part, &c, (int)((size_t)R * N / MIN_PER_THREAD) + 1);
}

/* Per row: loss = logsumexp(z) - z[label], with logsumexp = m + log sum e^(z-m)
 * for the row max m; the exponentials go straight into dz, which then only
 * needs scaling, so each row is read twice and exp is taken once. The sum of
 * row losses is kept in double: B terms of similar size. */
float nn_softmax_xent(float *dz, const float *z, const int *labels, int B, int N) {
    double total = 0.0;
    const float invB = 1.0f / (float)B;
    for (int b = 0; b < B; b++) {
        const float *zr = z + (size_t)b * N;
        float m = zr[0];
        for (int j = 1; j < N; j++)
            m = zr[j] > m ? zr[j] : m;
        float s = 0.0f;
        if (dz) {
            float *d = dz + (size_t)b * N;
            for (int j = 0; j < N; j++) {
                d[j] = expf(zr[j] - m);
                s += d[j];
            }
            float scale = invB / s;
            for (int j = 0; j < N; j++)
                d[j] *= scale;
            d[labels[b]] -= invB;
        } else {
            for (int j = 0; j < N; j++)
                s += expf(zr[j] - m);
        }
        total += (double)m + log((double)s) - (double)zr[labels[b]];
    }
    return (float)(total / B);
}

/* Against targets(B,N), or onehot(labels) when targets is NULL: the one
 * loop of both losses, so they round alike */
static float mse(float *dout, const float *out, const int *labels, const float *targets, int B,
                 int N) {
    double total = 0.0;
    const float g = 2.0f / ((float)B * (float)N);
    for (int b = 0; b < B; b++) {
        const float *o = out + (size_t)b * N;
        const float *t = targets ? targets + (size_t)b * N : NULL;
        float row = 0.0f;
        for (int j = 0; j < N; j++) {
            float d = o[j] - (t ? t[j] : j == labels[b] ? 1.0f : 0.0f);
            row += d * d;
            if (dout)
                dout[(size_t)b * N + j] = g * d;
        }
        total += row;
    }
    return (float)(total / ((double)B * N));
}

float nn_mse(float *dout, const float *out, const int *labels, int B, int N) {
    return mse(dout, out, labels, NULL, B, N);
}

float nn_mse_targets(float *dout, const float *out, const float *targets, int B, int N) {
    return mse(dout, out, NULL, targets, B, N);
}
