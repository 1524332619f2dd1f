/* conv.c: the image kernels, all on NHWC data: conv2d, max and average
 * pooling, batch normalisation.
 *
 * conv2d is im2col + one cblas_sgemm: row p of col(B*OH*OW, K*K*C) holds the
 * receptive field of output pixel p in (kh, kw, c) order, which is exactly a
 * filter row of W(OC, K*K*C), so y = col W^T. Channels last makes every
 * (kh) slice of a receptive field one contiguous run of x, copied with
 * memcpy; pools and batchnorm likewise vectorize over the channel axis.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nnrt.h"

/* A 1x1 stride-1 unpadded convolution is a dense layer on the pixels:
 * col would be a copy of x, so x is used directly. */
static int is_pointwise(int K, int S, int pad) {
    return K == 1 && S == 1 && pad == 0;
}

/* The in-bounds kw of the window starting at column w0: [*lo, *hi). */
static void window_cols(int w0, int K, int W_, int *lo, int *hi) {
    *lo = w0 < 0 ? -w0 : 0;
    *hi = W_ - w0 < K ? W_ - w0 : K;
    if (*hi < *lo)
        *hi = *lo;
}

static void im2col(float *col, const float *x, int B, int H, int W_, int C, int K, int S, int pad,
                   int OH, int OW) {
    const size_t kc = (size_t)K * C;
    float *dst = col;
    for (int b = 0; b < B; b++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const int h0 = oh * S - pad, w0 = ow * S - pad;
                int lo, hi;
                window_cols(w0, K, W_, &lo, &hi);
                for (int kh = 0; kh < K; kh++, dst += kc) {
                    const int h = h0 + kh;
                    if (h < 0 || h >= H) {
                        memset(dst, 0, kc * sizeof *dst);
                        continue;
                    }
                    const float *src = x + (((size_t)b * H + h) * W_ + w0 + lo) * C;
                    memset(dst, 0, (size_t)lo * C * sizeof *dst);
                    memcpy(dst + (size_t)lo * C, src, (size_t)(hi - lo) * C * sizeof *dst);
                    memset(dst + (size_t)hi * C, 0, (size_t)(K - hi) * C * sizeof *dst);
                }
            }
}

/* dx = the adjoint of im2col applied to dcol: each column entry is added back
 * to the pixel it was copied from (windows overlap when S < K). */
static void col2im(float *dx, const float *dcol, int B, int H, int W_, int C, int K, int S, int pad,
                   int OH, int OW) {
    memset(dx, 0, (size_t)B * H * W_ * C * sizeof *dx);
    const size_t kc = (size_t)K * C;
    const float *src = dcol;
    for (int b = 0; b < B; b++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const int h0 = oh * S - pad, w0 = ow * S - pad;
                int lo, hi;
                window_cols(w0, K, W_, &lo, &hi);
                for (int kh = 0; kh < K; kh++, src += kc) {
                    const int h = h0 + kh;
                    if (h < 0 || h >= H)
                        continue;
                    float *d = dx + (((size_t)b * H + h) * W_ + w0 + lo) * C;
                    const float *s = src + (size_t)lo * C;
                    const size_t len = (size_t)(hi - lo) * C;
                    for (size_t i = 0; i < len; i++)
                        d[i] += s[i];
                }
            }
}

void nn_conv2d_forward(float *y, const float *x, const float *W, float *col, int B, int H, int W_,
                       int C, int K, int S, int pad, int OC, int OH, int OW) {
    const int P = B * OH * OW, KKC = K * K * C;
    const float *a = x;
    if (!is_pointwise(K, S, pad)) {
        im2col(col, x, B, H, W_, C, K, S, pad, OH, OW);
        a = col;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, OC, KKC, 1.0f, a, KKC, W, KKC, 0.0f, y,
                OC);
}

/* col is scratch, so the columns are rebuilt rather than assumed to survive
 * from the forward pass; after dW they are overwritten by dcol = dy W.
 * db and dx may be NULL (no bias; the first layer needs no input gradient). */
void nn_conv2d_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                        const float *W, float *col, int B, int H, int W_, int C, int K, int S,
                        int pad, int OC, int OH, int OW) {
    const int P = B * OH * OW, KKC = K * K * C;
    const int pointwise = is_pointwise(K, S, pad);
    const float *a = x;
    if (!pointwise) {
        im2col(col, x, B, H, W_, C, K, S, pad, OH, OW);
        a = col;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, KKC, P, 1.0f, dy, OC, a, KKC, 0.0f, dW,
                KKC);
    if (db) {
        for (int o = 0; o < OC; o++)
            db[o] = 0.0f;
        for (int p = 0; p < P; p++) {
            const float *row = dy + (size_t)p * OC;
            for (int o = 0; o < OC; o++)
                db[o] += row[o];
        }
    }
    if (!dx)
        return;
    float *dcol = pointwise ? dx : col;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P, KKC, OC, 1.0f, dy, OC, W, KKC, 0.0f,
                dcol, KKC);
    if (!pointwise)
        col2im(dx, dcol, B, H, W_, C, K, S, pad, OH, OW);
}

/* ------------------------------------------------------------- pooling */

/* Each output pixel starts from the window's first element and keeps the
 * first maximum (strict >), so ties resolve the same way in every run. */
void nn_maxpool_forward(float *y, int32_t *argmax, const float *x, int B, int H, int W_, int C,
                        int K, int S, int OH, int OW) {
    for (int b = 0; b < B; b++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const size_t o = (((size_t)b * OH + oh) * OW + ow) * C;
                float *yo = y + o;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        const size_t base = (((size_t)b * H + oh * S + kh) * W_ + ow * S + kw) * C;
                        const float *xi = x + base;
                        const int32_t idx = (int32_t)base;
                        int32_t *ao = argmax ? argmax + o : NULL;
                        if (kh == 0 && kw == 0) {
                            memcpy(yo, xi, (size_t)C * sizeof *yo);
                            if (ao)
                                for (int c = 0; c < C; c++)
                                    ao[c] = idx + c;
                        } else if (ao) {
                            /* The index select as a bit mask: GCC vectorizes
                             * this, not the equivalent ?: on the index. */
                            for (int c = 0; c < C; c++) {
                                const float v = xi[c], cur = yo[c];
                                const int32_t more = -(int32_t)(v > cur);
                                yo[c] = v > cur ? v : cur;
                                ao[c] = (ao[c] & ~more) | ((idx + c) & more);
                            }
                        } else {
                            for (int c = 0; c < C; c++)
                                yo[c] = xi[c] > yo[c] ? xi[c] : yo[c];
                        }
                    }
            }
}

/* += because overlapping windows (S < K) can pick the same input. */
void nn_maxpool_backward(float *dx, const float *dy, const int32_t *argmax, int B, int H, int W_,
                         int C, int OH, int OW) {
    memset(dx, 0, (size_t)B * H * W_ * C * sizeof *dx);
    const size_t n = (size_t)B * OH * OW * C;
    for (size_t i = 0; i < n; i++)
        dx[argmax[i]] += dy[i];
}

void nn_avgpool_forward(float *y, const float *x, int B, int H, int W_, int C, int K, int S, int OH,
                        int OW) {
    const float inv = 1.0f / (float)(K * K);
    for (int b = 0; b < B; b++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float *yo = y + (((size_t)b * OH + oh) * OW + ow) * C;
                memset(yo, 0, (size_t)C * sizeof *yo);
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        const float *xi =
                            x + (((size_t)b * H + oh * S + kh) * W_ + ow * S + kw) * C;
                        for (int c = 0; c < C; c++)
                            yo[c] += xi[c];
                    }
                for (int c = 0; c < C; c++)
                    yo[c] *= inv;
            }
}

void nn_avgpool_backward(float *dx, const float *dy, int B, int H, int W_, int C, int K, int S,
                         int OH, int OW) {
    const float inv = 1.0f / (float)(K * K);
    memset(dx, 0, (size_t)B * H * W_ * C * sizeof *dx);
    for (int b = 0; b < B; b++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const float *g = dy + (((size_t)b * OH + oh) * OW + ow) * C;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        float *d = dx + (((size_t)b * H + oh * S + kh) * W_ + ow * S + kw) * C;
                        for (int c = 0; c < C; c++)
                            d[c] += g[c] * inv;
                    }
            }
}

/* ------------------------------------------------------- batchnorm */

/* Channels are handled BN_CHUNK at a time so that the per-channel sums can
 * live on the stack (kernels do not allocate) while the inner loop still runs
 * along a contiguous row. Sums over R rows are kept in double: R is
 * B*H*W, tens of thousands for an image batch. */
#define BN_CHUNK 128

void nn_batchnorm_train(float *y, float *save, float *running, const float *x,
                        const float *gamma_beta, int R, int C, float momentum, float eps) {
    const float *gamma = gamma_beta, *beta = gamma_beta + C;
    for (int c0 = 0; c0 < C; c0 += BN_CHUNK) {
        const int nc = C - c0 < BN_CHUNK ? C - c0 : BN_CHUNK;
        /* Sums of (x - first row): one pass, without the cancellation of
         * E[x^2] - E[x]^2 when the mean is large against the spread. */
        const float *shift = x + c0;
        double s1[BN_CHUNK] = {0}, s2[BN_CHUNK] = {0};
        for (int r = 0; r < R; r++) {
            const float *xr = x + (size_t)r * C + c0;
            for (int c = 0; c < nc; c++) {
                double d = (double)xr[c] - shift[c];
                s1[c] += d;
                s2[c] += d * d;
            }
        }
        float mean[BN_CHUNK], scale[BN_CHUNK];
        for (int c = 0; c < nc; c++) {
            const int ch = c0 + c;
            double dm = s1[c] / R;
            double var = s2[c] / R - dm * dm;
            var = var > 0.0 ? var : 0.0;
            float istd = (float)(1.0 / sqrt(var + eps));
            mean[c] = (float)(shift[c] + dm);
            save[ch] = mean[c];
            save[C + ch] = istd;
            scale[c] = gamma[ch] * istd;
            double unbiased = R > 1 ? var * R / (R - 1) : var;
            running[ch] = momentum * running[ch] + (1.0f - momentum) * mean[c];
            running[C + ch] = momentum * running[C + ch] + (1.0f - momentum) * (float)unbiased;
        }
        for (int r = 0; r < R; r++) {
            const float *xr = x + (size_t)r * C + c0;
            float *yr = y + (size_t)r * C + c0;
            for (int c = 0; c < nc; c++)
                yr[c] = (xr[c] - mean[c]) * scale[c] + beta[c0 + c];
        }
    }
}

void nn_batchnorm_infer(float *y, const float *x, const float *running, const float *gamma_beta,
                        int R, int C, float eps) {
    const float *gamma = gamma_beta, *beta = gamma_beta + C;
    for (int c0 = 0; c0 < C; c0 += BN_CHUNK) {
        const int nc = C - c0 < BN_CHUNK ? C - c0 : BN_CHUNK;
        float scale[BN_CHUNK];
        for (int c = 0; c < nc; c++)
            scale[c] = gamma[c0 + c] / sqrtf(running[C + c0 + c] + eps);
        const float *mean = running + c0;
        for (int r = 0; r < R; r++) {
            const float *xr = x + (size_t)r * C + c0;
            float *yr = y + (size_t)r * C + c0;
            for (int c = 0; c < nc; c++)
                yr[c] = (xr[c] - mean[c]) * scale[c] + beta[c0 + c];
        }
    }
}

/* With xhat = (x - mean) istd: dbeta = sum dy, dgamma = sum dy xhat, and
 * dx = gamma istd / R (R dy - dbeta - xhat dgamma), the batch statistics'
 * own dependence on x included. dx may be NULL. */
void nn_batchnorm_backward(float *dx, float *dgamma_beta, const float *dy, const float *x,
                           const float *save, const float *gamma_beta, int R, int C) {
    for (int c0 = 0; c0 < C; c0 += BN_CHUNK) {
        const int nc = C - c0 < BN_CHUNK ? C - c0 : BN_CHUNK;
        const float *mean = save + c0, *istd = save + C + c0;
        double sdy[BN_CHUNK] = {0}, sdyx[BN_CHUNK] = {0};
        for (int r = 0; r < R; r++) {
            const float *xr = x + (size_t)r * C + c0, *gr = dy + (size_t)r * C + c0;
            for (int c = 0; c < nc; c++) {
                sdy[c] += gr[c];
                sdyx[c] += (double)gr[c] * ((xr[c] - mean[c]) * istd[c]);
            }
        }
        float dgamma[BN_CHUNK], dbeta[BN_CHUNK], k[BN_CHUNK];
        for (int c = 0; c < nc; c++) {
            dgamma[c] = (float)sdyx[c];
            dbeta[c] = (float)sdy[c];
            dgamma_beta[c0 + c] = dgamma[c];
            dgamma_beta[C + c0 + c] = dbeta[c];
            k[c] = gamma_beta[c0 + c] * istd[c] / (float)R;
        }
        if (!dx)
            continue;
        const float fR = (float)R;
        for (int r = 0; r < R; r++) {
            const float *xr = x + (size_t)r * C + c0, *gr = dy + (size_t)r * C + c0;
            float *dr = dx + (size_t)r * C + c0;
            for (int c = 0; c < nc; c++) {
                float xhat = (xr[c] - mean[c]) * istd[c];
                dr[c] = k[c] * (fR * gr[c] - dbeta[c] - xhat * dgamma[c]);
            }
        }
    }
}
