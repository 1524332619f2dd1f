/* batchnorm.c: batch normalisation over the last axis of x(R, C), the
 * channels of NHWC images, so every pass runs along contiguous rows.
 *
 * Training needs per-channel sums over all R rows (B*H*W: 50,176 for the
 * resnet's batch of 64). They are cut into fixed blocks of rows, a count
 * that depends on R and C alone; whichever thread claims a block sums its
 * rows in row order, in double, and the blocks' sums are then added in
 * block order, so the bits never depend on the thread count. The passes
 * that only apply the statistics are elementwise and split the same way.
 * Channels go BN_CHUNK at a time so that the blocks' sums fit on the
 * caller's stack (kernels do not allocate). The loops vectorize along the
 * channels (simd.h); -ffp-contract is off, so every variant gives the same
 * bits.
 */
#include <assert.h>
#include <math.h>

#include "nnrt.h"
#include "simd.h"

#define BN_CHUNK 128

/* A block should hold at least this many values: below that a hand-off
 * (~1 us) costs more than the pass over them */
#define MIN_PER_BLOCK 16384

typedef struct {
    float *y;             /* the pass's output: y in the forward pass, dx in backward */
    const float *x;
    float *dy;            /* backward only: times act'(out) in place, block by block */
    const float *mean;    /* the chunk's (the first row's values while summing forward) */
    const float *scale;   /* forward: gamma istd; backward: istd */
    const float *beta;    /* forward: beta; backward: unused */
    const float *dx_scale, *dbeta, *dgamma; /* backward's dx pass: gamma istd / R, sums */
    const float *out;     /* backward: the layer's output, for act' */
    double (*sums)[2][BN_CHUNK];            /* [block][which][channel] */
    nn_act act;           /* applied to the normalized values in the same pass */
    float alpha;
    int R, C, c0, nc;
} Chunk;

/* The chunk's columns of rows [lo, hi) as the activation kernels take
 * them: one run when the chunk is all the columns, else row by row */
static void act_rows(const Chunk *chunk, float *y, const float *dy, const float *out, size_t lo,
                     size_t hi) {
    const int whole = chunk->nc == chunk->C, nc = chunk->nc;
    const size_t runs = whole ? 1 : hi - lo;
    const int rows = whole ? (int)(hi - lo) : 1;
    for (size_t i = 0; i < runs; i++) {
        const size_t at = (lo + i) * (size_t)chunk->C + (size_t)chunk->c0;
        if (dy)
            nn_act_backward(y + at, dy + at, out + at, rows, nc, chunk->act, chunk->alpha);
        else
            nn_act_forward(y + at, y + at, rows, nc, chunk->act, chunk->alpha);
    }
}

static int blocks_of(int R, int nc) {
    const size_t values = (size_t)R * nc, blocks = values / MIN_PER_BLOCK + 1;
    const size_t cap = (size_t)R < NN_MAX_BLOCKS ? (size_t)R : NN_MAX_BLOCKS;
    return blocks < cap ? (int)blocks : cap < 1 ? 1 : (int)cap;
}

/* Block sums[block][w][c] + ... in block order, for w = 0, 1 */
static void add_blocks(double total[2][BN_CHUNK], double (*sums)[2][BN_CHUNK], int blocks,
                       int nc) {
    for (int w = 0; w < 2; w++)
        for (int c = 0; c < nc; c++) {
            double t = 0.0;
            for (int k = 0; k < blocks; k++)
                t += sums[k][w][c];
            total[w][c] = t;
        }
}

/* ------------------------------------------------------------ forward */

/* s1 = sum of d, s2 = sum of d^2 over rows [lo, hi), d = x - shift: one
 * pass, without the cancellation of E[x^2] - E[x]^2 when the mean is large
 * against the spread */
NN_BODY void moments_body(double *restrict s1, double *restrict s2, const float *x,
                          const float *shift, size_t lo, size_t hi, int C, int nc) {
    for (int c = 0; c < nc; c++)
        s1[c] = s2[c] = 0.0;
    for (size_t r = lo; r < hi; r++) {
        const float *xr = x + r * (size_t)C;
        for (int c = 0; c < nc; c++) {
            const double d = (double)xr[c] - shift[c];
            s1[c] += d;
            s2[c] += d * d;
        }
    }
}
NN_VECTORIZED(moments,
              (double *restrict s1, double *restrict s2, const float *x, const float *shift,
               size_t lo, size_t hi, int C, int nc),
              (s1, s2, x, shift, lo, hi, C, nc))

/* y = (x - mean) scale + beta over rows [lo, hi) of the chunk */
NN_BODY void normalize_body(float *y, const float *x, const float *restrict mean,
                            const float *restrict scale, const float *restrict beta, size_t lo,
                            size_t hi, int C, int nc) {
    for (size_t r = lo; r < hi; r++) {
        const float *xr = x + r * (size_t)C;
        float *yr = y + r * (size_t)C;
        for (int c = 0; c < nc; c++)
            yr[c] = (xr[c] - mean[c]) * scale[c] + beta[c];
    }
}
NN_VECTORIZED(normalize,
              (float *y, const float *x, const float *restrict mean, const float *restrict scale,
               const float *restrict beta, size_t lo, size_t hi, int C, int nc),
              (y, x, mean, scale, beta, lo, hi, C, nc))

static void moments_part(void *ctx, int part, int parts) {
    const Chunk *chunk = ctx;
    size_t lo, hi;
    nn_part((size_t)chunk->R, part, parts, 1, &lo, &hi);
    moments(chunk->sums[part][0], chunk->sums[part][1], chunk->x + chunk->c0, chunk->mean, lo, hi,
            chunk->C, chunk->nc);
}

static void normalize_part(void *ctx, int part, int parts) {
    const Chunk *chunk = ctx;
    size_t lo, hi;
    nn_part((size_t)chunk->R, part, parts, 1, &lo, &hi);
    normalize(chunk->y + chunk->c0, chunk->x + chunk->c0, chunk->mean, chunk->scale, chunk->beta,
              lo, hi, chunk->C, chunk->nc);
    if (chunk->act != NN_LINEAR) /* while the block is in cache */
        act_rows(chunk, chunk->y, NULL, NULL, lo, hi);
}

void nn_batchnorm_train(float *y, float *save, float *running, const float *x,
                        const float *gamma_beta, nn_act act, float alpha, int R, int C,
                        float momentum, float eps) {
    assert(act != NN_SOFTMAX); /* per row, never fused */
    const float *gamma = gamma_beta, *beta = gamma_beta + C;
    double sums[NN_MAX_BLOCKS][2][BN_CHUNK], total[2][BN_CHUNK];
    for (int c0 = 0; c0 < C; c0 += BN_CHUNK) {
        const int nc = C - c0 < BN_CHUNK ? C - c0 : BN_CHUNK, blocks = blocks_of(R, nc);
        float mean[BN_CHUNK], scale[BN_CHUNK];
        Chunk chunk = {.y = y, .x = x, .mean = x + c0, .scale = scale, .beta = beta + c0,
                       .sums = sums, .act = act, .alpha = alpha, .R = R, .C = C, .c0 = c0,
                       .nc = nc};
        nn_parallel(moments_part, &chunk, blocks);
        add_blocks(total, sums, blocks, nc);
        for (int c = 0; c < nc; c++) {
            const int ch = c0 + c;
            const double dm = total[0][c] / R;
            double var = total[1][c] / R - dm * dm;
            var = var > 0.0 ? var : 0.0;
            const float istd = (float)(1.0 / sqrt(var + eps));
            mean[c] = (float)(x[ch] + dm); /* the shift was x's first row */
            save[ch] = mean[c];
            save[C + ch] = istd;
            scale[c] = gamma[ch] * istd;
            const double unbiased = R > 1 ? var * R / (R - 1) : var;
            running[ch] = momentum * running[ch] + (1.0f - momentum) * mean[c];
            running[C + ch] = momentum * running[C + ch] + (1.0f - momentum) * (float)unbiased;
        }
        chunk.mean = mean;
        nn_parallel(normalize_part, &chunk, blocks);
    }
}

void nn_batchnorm_infer(float *y, const float *x, const float *running, const float *gamma_beta,
                        nn_act act, float alpha, int R, int C, float eps) {
    assert(act != NN_SOFTMAX); /* per row, never fused */
    const float *gamma = gamma_beta, *beta = gamma_beta + C;
    for (int c0 = 0; c0 < C; c0 += BN_CHUNK) {
        const int nc = C - c0 < BN_CHUNK ? C - c0 : BN_CHUNK;
        float scale[BN_CHUNK];
        for (int c = 0; c < nc; c++)
            scale[c] = gamma[c0 + c] / sqrtf(running[C + c0 + c] + eps);
        Chunk chunk = {.y = y, .x = x, .mean = running + c0, .scale = scale, .beta = beta + c0,
                       .act = act, .alpha = alpha, .R = R, .C = C, .c0 = c0, .nc = nc};
        nn_parallel(normalize_part, &chunk, blocks_of(R, nc));
    }
}

/* ----------------------------------------------------------- backward */

/* With xhat = (x - mean) istd: dbeta = sum dy, dgamma = sum dy xhat, and
 * dx = gamma istd / R (R dy - dbeta - xhat dgamma), the batch statistics'
 * own dependence on x included. */

/* sdy and sdyx over rows [lo, hi) of the chunk */
NN_BODY void grad_sums_body(double *restrict sdy, double *restrict sdyx, const float *dy,
                            const float *x, const float *restrict mean,
                            const float *restrict istd, size_t lo, size_t hi, int C, int nc) {
    for (int c = 0; c < nc; c++)
        sdy[c] = sdyx[c] = 0.0;
    for (size_t r = lo; r < hi; r++) {
        const float *xr = x + r * (size_t)C, *gr = dy + r * (size_t)C;
        for (int c = 0; c < nc; c++) {
            sdy[c] += gr[c];
            sdyx[c] += (double)gr[c] * ((xr[c] - mean[c]) * istd[c]);
        }
    }
}
NN_VECTORIZED(grad_sums,
              (double *restrict sdy, double *restrict sdyx, const float *dy, const float *x,
               const float *restrict mean, const float *restrict istd, size_t lo, size_t hi,
               int C, int nc),
              (sdy, sdyx, dy, x, mean, istd, lo, hi, C, nc))

/* dx over rows [lo, hi) of the chunk */
NN_BODY void input_grad_body(float *dx, const float *dy, const float *x,
                             const float *restrict mean, const float *restrict istd,
                             const float *restrict dx_scale, const float *restrict dbeta,
                             const float *restrict dgamma, size_t lo, size_t hi, int R, int C,
                             int nc) {
    const float fR = (float)R;
    for (size_t r = lo; r < hi; r++) {
        const float *xr = x + r * (size_t)C, *gr = dy + r * (size_t)C;
        float *dr = dx + r * (size_t)C;
        for (int c = 0; c < nc; c++) {
            const float xhat = (xr[c] - mean[c]) * istd[c];
            dr[c] = dx_scale[c] * (fR * gr[c] - dbeta[c] - xhat * dgamma[c]);
        }
    }
}
NN_VECTORIZED(input_grad,
              (float *dx, const float *dy, const float *x, const float *restrict mean,
               const float *restrict istd, const float *restrict dx_scale,
               const float *restrict dbeta, const float *restrict dgamma, size_t lo, size_t hi,
               int R, int C, int nc),
              (dx, dy, x, mean, istd, dx_scale, dbeta, dgamma, lo, hi, R, C, nc))

static void grad_sums_part(void *ctx, int part, int parts) {
    const Chunk *chunk = ctx;
    size_t lo, hi;
    nn_part((size_t)chunk->R, part, parts, 1, &lo, &hi);
    if (chunk->act != NN_LINEAR) /* dy's block, in place, then its sums while it is in cache */
        act_rows(chunk, chunk->dy, chunk->dy, chunk->out, lo, hi);
    grad_sums(chunk->sums[part][0], chunk->sums[part][1], chunk->dy + chunk->c0,
              chunk->x + chunk->c0, chunk->mean, chunk->scale, lo, hi, chunk->C, chunk->nc);
}

static void input_grad_part(void *ctx, int part, int parts) {
    const Chunk *chunk = ctx;
    size_t lo, hi;
    nn_part((size_t)chunk->R, part, parts, 1, &lo, &hi);
    input_grad(chunk->y + chunk->c0, chunk->dy + chunk->c0, chunk->x + chunk->c0, chunk->mean,
               chunk->scale, chunk->dx_scale, chunk->dbeta, chunk->dgamma, lo, hi, chunk->R,
               chunk->C, chunk->nc);
}

void nn_batchnorm_backward(float *dx, float *dgamma_beta, float *dy, const float *y, nn_act act,
                           float alpha, const float *x, const float *save,
                           const float *gamma_beta, int R, int C) {
    assert(act != NN_SOFTMAX); /* per row, never fused */
    double sums[NN_MAX_BLOCKS][2][BN_CHUNK], total[2][BN_CHUNK];
    for (int c0 = 0; c0 < C; c0 += BN_CHUNK) {
        const int nc = C - c0 < BN_CHUNK ? C - c0 : BN_CHUNK, blocks = blocks_of(R, nc);
        float dgamma[BN_CHUNK], dbeta[BN_CHUNK], dx_scale[BN_CHUNK];
        Chunk chunk = {.y = dx, .x = x, .dy = dy, .mean = save + c0, .scale = save + C + c0,
                       .dx_scale = dx_scale, .dbeta = dbeta, .dgamma = dgamma,
                       .out = y, .sums = sums, .act = act, .alpha = alpha, .R = R, .C = C,
                       .c0 = c0, .nc = nc};
        nn_parallel(grad_sums_part, &chunk, blocks);
        add_blocks(total, sums, blocks, nc);
        for (int c = 0; c < nc; c++) {
            dbeta[c] = (float)total[0][c];
            dgamma[c] = (float)total[1][c];
            dgamma_beta[c0 + c] = dgamma[c];
            dgamma_beta[C + c0 + c] = dbeta[c];
            dx_scale[c] = gamma_beta[c0 + c] * save[C + c0 + c] / (float)R;
        }
        if (dx)
            nn_parallel(input_grad_part, &chunk, blocks);
    }
}
