/* conv.c: the image kernels, all on NHWC data: conv2d, max and average
 * pooling (batch normalisation: batchnorm.c).
 *
 * conv2d goes one image at a time, each thread of the pool with its own
 * images (or, at batch 1, its own output rows) and its own scratch, so an
 * image's working set stays in that core's L2. Three ways, each chosen per
 * product from the shapes and the CPU:
 *   - register tiles (conv_tiles.h, AVX-512 or AVX2 with FMA): a block of
 *     output pixels times up to 64 (AVX2: 16) output channels accumulates
 *     in 24-26 zmm (12 ymm) registers while the loop runs over the
 *     receptive field (forward, when OC is a multiple of the vector
 *     width); the input gradient the same way over a zero-padded copy of dy
 *     (any stride, C a multiple of the width), and the weight gradient as
 *     blocks of output channels times input channels over the pixels (C a
 *     multiple of the width), a band of rows at a time (band_rows), or,
 *     for a small field, taps times output channels. No im2col; the
 *     forward and input tiles read W packed once per call, a block of
 *     channels at a time, so it streams from L1; the tiles read x itself
 *     where no window reaches outside it, else a zero-padded copy.
 *     Measured on the seed CNN's second layer (AVX-512), 14 ms against 23
 *     for the forward over a batch of 128 on one core, 16 against 21 for
 *     the input gradient, 17 against 22 for the weights; on Zen 3 (AVX2),
 *     the residual CNN's 3x3 layers at batch 64 on one core: forward
 *     76-90 GFLOP/s with W packed against 49-70 without, of a 99 FMA peak;
 *   - directly, vectorized along the output channels, when the receptive
 *     field is at most DIRECT_KKC values (a first layer on one or three
 *     channels: sgemm runs a K = 9 product at a quarter of its speed);
 *   - otherwise im2col + sgemm: row p of col(OH*OW, K*K*C) holds the
 *     receptive field of output pixel p in (kh, kw, c) order, which is
 *     exactly a filter row of W(OC, K*K*C), so y = col W^T, and the input
 *     gradient is col2im(dy W).
 * Channels last makes every (kh) slice of a receptive field one contiguous
 * run of x; pools likewise vectorize over the channel axis.
 */
#include <assert.h>
#include <string.h>

#include "nnrt.h"
#include "simd.h"

#if NN_HAS_X86_INTRINSICS
#include <immintrin.h>
#endif

/* A 1x1 stride-1 unpadded convolution is a dense layer on the pixels:
 * col would be a copy of x, so x is used directly. */
static int is_pointwise(int K, int S, int pad) {
    return K == 1 && S == 1 && pad == 0;
}

#define DIRECT_KKC 32
static int is_direct(int K, int C) {
    return K * K * C <= DIRECT_KKC;
}

typedef struct {
    float *y, *dx, *dW, *db, *dy, *col, *partials;
    const float *x, *W, *b, *out; /* out: the layer's output y, for act' in backward */
    const float *Wt; /* forward: W transposed, (KKC, OC), or packed for the tiles; backward: packed
                        for the input-gradient tiles */
    nn_act act;
    float alpha;
    int B, H, W_, C, K, S, pad, OC, OH, OW;
    int Hp, Wp;     /* the input as the windows see it: padded, and cut to what they reach */
    int Wr;         /* pixels per row of the windowed input: Wp in a copy, W_ in x itself */
    int Hq, Wq;     /* room for dy and its frame of zeros, for the input gradient's tiles */
    int Z;          /* the frame: (K - 1) / S, the most dy rows a tap reaches before row 0 */
    size_t region;  /* floats of a thread's first scratch region */
    size_t scratch; /* floats of col per thread: nn_conv2d_scratch */
    int tiles;      /* the register tiles usable (TILE_*) */
    int lanes;      /* their vector width in floats: 16 (AVX-512), 8 (AVX2), 0 (none) */
    int nvmax;      /* the vectors of channels a tile holds at most: NVMAX of that width */
    int band;       /* output rows the weight tiles take at a time */
} Conv;

enum { TILE_FORWARD = 1, TILE_WEIGHTS = 2, TILE_INPUT = 4, TILE_FIELD = 8 };

/* The vectors of channels a tile holds at most, per width: conv_tiles.h's
 * NVMAX, and setup()'s nvmax for the packing that matches it */
enum { NVMAX_AVX512 = 4, NVMAX_AVX2 = 2 };

static size_t max3(size_t a, size_t b, size_t c) {
    size_t m = a > b ? a : b;
    return m > c ? m : c;
}

/* A thread's scratch: first one region for whichever an image needs (its
 * im2col columns, their gradient, its padded copy and the weight tiles'
 * sums between bands, the padded dy), then a transposed W or dW. */
size_t nn_conv2d_scratch(int C, int K, int S, int OC, int OH, int OW) {
    const size_t kkc = (size_t)K * K * C;
    const size_t cols = (size_t)OH * OW * kkc;
    const size_t padded = ((size_t)(OH - 1) * S + K) * ((size_t)(OW - 1) * S + K) * C;
    const size_t dy = ((size_t)OH + 2 * (K - 1)) * ((size_t)OW + 2 * (K - 1)) * OC;
    return max3(cols, padded + (size_t)OC * kkc, dy) + (size_t)OC * kkc;
}

/* The weight tiles take the output rows of an image in bands, each band's
 * rows of x and dy read by every tile of the band, so that they stay in
 * L1 rather than stream from L2 once per tile. A band holds as many rows
 * as keep those within BAND_FLOATS, x's rows counted whole though a tile
 * reads one block of their channels. Measured on Zen 3 (32 KiB L1) at
 * batch 64, one core, runs alternated on a noisy host: a 28x28x32 layer's
 * weight gradient 13.8-15.6 ms in bands of 4 rows against 15.9-19.6 in
 * one, 8.2-8.4 against 8.9-9.1 at stride 2; bands of 1 or 2 rows lose to
 * the sums' loads and stores between them. */
#define BAND_FLOATS 10240
static int band_rows(const Conv *c) {
    const size_t xrow = (size_t)c->Wr * c->C, dyrow = (size_t)c->OW * c->OC;
    int r = 1;
    while (r < c->OH && ((size_t)r * c->S + c->K) * xrow + (size_t)(r + 1) * dyrow <= BAND_FLOATS)
        r++;
    return r;
}

/* The weight gradient is summed over fixed shards of the batch, at most
 * NN_MAX_BLOCKS (nn_blocks' cap); shard 0 sums into dW and db, the others
 * into their own dW and db here, added in shard order afterwards. */
size_t nn_conv2d_partials(int C, int K, int OC) {
    return (NN_MAX_BLOCKS - 1) * ((size_t)OC * K * K * C + (size_t)OC);
}

/* No window reaches outside x (a 1x1 stride-2 layer, say): the tiles read
 * x itself, its rows W_ apart, however few columns they reach */
static int reads_x(const Conv *c) {
    return c->pad == 0 && c->Hp <= c->H && c->Wp <= c->W_;
}

static void setup(Conv *c) {
    const size_t kkc = (size_t)c->K * c->K * c->C;
    c->Hp = (c->OH - 1) * c->S + c->K;
    c->Wp = (c->OW - 1) * c->S + c->K;
    c->Hq = c->OH + 2 * (c->K - 1);
    c->Wq = c->OW + 2 * (c->K - 1);
    c->Z = (c->K - 1) / c->S;
    c->Wr = reads_x(c) ? c->W_ : c->Wp;
    c->scratch = nn_conv2d_scratch(c->C, c->K, c->S, c->OC, c->OH, c->OW);
    c->region = c->scratch - (size_t)c->OC * kkc;
    c->tiles = 0;
    c->lanes = !NN_HAS_X86_INTRINSICS              ? 0
               : nn_isa_current() == NN_ISA_AVX512 ? 16
               : nn_isa_current() == NN_ISA_AVX2   ? 8
                                                   : 0;
    c->nvmax = c->lanes == 16 ? NVMAX_AVX512 : NVMAX_AVX2;
    c->band = band_rows(c);
    if (c->lanes) {
        const int L = c->lanes;
        c->tiles |= c->OC % L == 0 ? TILE_FORWARD : 0;
        c->tiles |= c->C % L == 0 ? TILE_WEIGHTS : 0;
        c->tiles |= c->OC % L == 0 && is_direct(c->K, c->C) ? TILE_FIELD : 0;
        /* no tap's dy row or column past the bottom or right of the frame */
        c->tiles |= c->C % L == 0 && (c->H - 1 + c->pad) / c->S + c->Z < c->Hq &&
                            (c->W_ - 1 + c->pad) / c->S + c->Z < c->Wq
                        ? TILE_INPUT
                        : 0;
    }
}

/* One image as the windows see it, (Hp, Wr, C): x itself when no window
 * reaches outside it, else a copy into buf with zeros around it */
static const float *windowed(const Conv *c, const float *x, float *buf) {
    if (reads_x(c))
        return x;
    memset(buf, 0, (size_t)c->Hp * c->Wp * c->C * sizeof *buf);
    for (int h = 0; h < c->H && h + c->pad < c->Hp; h++) {
        const int n = c->W_ + c->pad < c->Wp ? c->W_ : c->Wp - c->pad;
        memcpy(buf + ((size_t)(h + c->pad) * c->Wp + c->pad) * c->C, x + (size_t)h * c->W_ * c->C,
               (size_t)n * c->C * sizeof *buf);
    }
    return buf;
}

/* The in-bounds kw of the window starting at column w0: [*lo, *hi). */
static void window_cols(int w0, int K, int W_, int *lo, int *hi) {
    *lo = w0 < 0 ? -w0 : 0;
    *hi = W_ - w0 < K ? W_ - w0 : K;
    if (*hi < *lo)
        *hi = *lo;
}

/* The columns of output rows [oh0, oh1) of one image x(H,W_,C) */
static void im2col(float *col, const float *x, const Conv *c, int oh0, int oh1) {
    const int K = c->K, C = c->C;
    const size_t kc = (size_t)K * C;
    float *dst = col;
    for (int oh = oh0; oh < oh1; oh++)
        for (int ow = 0; ow < c->OW; ow++) {
            const int h0 = oh * c->S - c->pad, w0 = ow * c->S - c->pad;
            int lo, hi;
            window_cols(w0, K, c->W_, &lo, &hi);
            for (int kh = 0; kh < K; kh++, dst += kc) {
                const int h = h0 + kh;
                if (h < 0 || h >= c->H) {
                    memset(dst, 0, kc * sizeof *dst);
                    continue;
                }
                const float *src = x + ((size_t)h * c->W_ + w0 + lo) * C;
                if (lo > 0)
                    memset(dst, 0, (size_t)lo * C * sizeof *dst);
                memcpy(dst + (size_t)lo * C, src, (size_t)(hi - lo) * C * sizeof *dst);
                if (hi < K)
                    memset(dst + (size_t)hi * C, 0, (size_t)(K - hi) * C * sizeof *dst);
            }
        }
}

/* dx(H,W_,C) = the adjoint of im2col applied to dcol, one image: each
 * column entry goes back to the pixel it was copied from (windows overlap
 * when S < K). */
static void col2im(float *dx, const float *dcol, const Conv *c) {
    const int K = c->K, C = c->C;
    const size_t kc = (size_t)K * C;
    const float *src = dcol;
    memset(dx, 0, (size_t)c->H * c->W_ * C * sizeof *dx);
    for (int oh = 0; oh < c->OH; oh++)
        for (int ow = 0; ow < c->OW; ow++) {
            const int h0 = oh * c->S - c->pad, w0 = ow * c->S - c->pad;
            int lo, hi;
            window_cols(w0, K, c->W_, &lo, &hi);
            for (int kh = 0; kh < K; kh++, src += kc) {
                const int h = h0 + kh;
                if (h < 0 || h >= c->H)
                    continue;
                float *d = dx + ((size_t)h * c->W_ + w0 + lo) * C;
                const float *s = src + (size_t)lo * C;
                const size_t len = (size_t)(hi - lo) * C;
                for (size_t i = 0; i < len; i++)
                    d[i] += s[i];
            }
        }
}

/* ----------------------------------------------- direct (small fields) */

/* The receptive field of output pixel (oh, ow) of one image, zeros outside */
static void field(float *f, const float *x, const Conv *c, int oh, int ow) {
    int i = 0;
    for (int kh = 0; kh < c->K; kh++)
        for (int kw = 0; kw < c->K; kw++) {
            const int h = oh * c->S + kh - c->pad, w = ow * c->S + kw - c->pad;
            const int in = h >= 0 && h < c->H && w >= 0 && w < c->W_;
            for (int ch = 0; ch < c->C; ch++, i++)
                f[i] = in ? x[((size_t)h * c->W_ + w) * c->C + ch] : 0.0f;
        }
}

/* y rows [oh0, oh1) of one image, directly: y[p] = sum_t f[t] Wt[t], Wt the
 * (KKC, OC) transpose of W */
NN_BODY void direct_forward_body(float *restrict y, const float *x, const float *restrict Wt,
                                 const Conv *c, int oh0, int oh1) {
    const int KKC = c->K * c->K * c->C, OC = c->OC;
    float f[DIRECT_KKC];
    for (int oh = oh0; oh < oh1; oh++)
        for (int ow = 0; ow < c->OW; ow++, y += OC) {
            field(f, x, c, oh, ow);
            for (int o = 0; o < OC; o++)
                y[o] = 0.0f;
            for (int t = 0; t < KKC; t++) {
                const float v = f[t], *w = Wt + (size_t)t * OC;
                for (int o = 0; o < OC; o++)
                    y[o] += v * w[o];
            }
        }
}
NN_VECTORIZED(direct_forward,
              (float *restrict y, const float *x, const float *restrict Wt, const Conv *c, int oh0,
               int oh1),
              (y, x, Wt, c, oh0, oh1))

/* dWt(KKC, OC) += sum over the pixels of one image of f(p) dy(p)^T */
NN_BODY void direct_dweight_body(float *restrict dWt, const float *x, const float *restrict dy,
                                 const Conv *c) {
    const int KKC = c->K * c->K * c->C, OC = c->OC;
    float f[DIRECT_KKC];
    for (int oh = 0; oh < c->OH; oh++)
        for (int ow = 0; ow < c->OW; ow++, dy += OC) {
            field(f, x, c, oh, ow);
            for (int t = 0; t < KKC; t++) {
                const float v = f[t];
                float *d = dWt + (size_t)t * OC;
                for (int o = 0; o < OC; o++)
                    d[o] += v * dy[o];
            }
        }
}
NN_VECTORIZED(direct_dweight,
              (float *restrict dWt, const float *x, const float *restrict dy, const Conv *c),
              (dWt, x, dy, c))

/* ------------------------------------------- register tiles (AVX-512, AVX2) */

/* A row of n pixels is cut into as few tiles of at most `most` as it
 * takes, of near-equal widths: 28 pixels at 13 a tile as 10 + 9 + 9,
 * every tile wide enough to keep the FMA pipes full (13 + 13 + 2 would
 * run the last two pixels on 4 dependent chains, at a quarter of the
 * speed). Tile t is [tile_start(n, most, t), tile_start(n, most, t + 1)). */
static inline int tile_count(int n, int most) {
    return (n + most - 1) / most;
}
static inline int tile_start(int n, int most, int t) {
    return (int)((long)n * t / tile_count(n, most));
}

/* The vectors of channels a tile takes of the n from its first: as many
 * as fit, up to nvmax (a power of 2) */
static inline int vectors_for(int n, int lanes, int nvmax) {
    int nv = nvmax;
    while (nv > 1 && n < nv * lanes)
        nv /= 2;
    return nv;
}

/* The tile widths a switch can pass on as a constant, so that every
 * width's accumulators live in registers */
#define UP_TO_26(F)                                                                               \
    F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11) F(12) F(13) F(14) F(15) F(16)       \
    F(17) F(18) F(19) F(20) F(21) F(22) F(23) F(24) F(25) F(26)

#if NN_HAS_X86_INTRINSICS
/* 32 zmm: 24-26 accumulators, the weight vectors, broadcasts from memory */
#define TILES(name) name##_avx512
#define TILE_TARGET NN_AVX512_TARGET
#define V __m512
#define LANES 16
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VSET1(x) _mm512_set1_ps(x)
#define VFMA(a, b, acc) _mm512_fmadd_ps(a, b, acc)
#define VADD(a, b) _mm512_add_ps(a, b)
#define MAXP 26 /* 26 pixels x 1 vector, 13 x 2 or 6 x 4 */
#define NVMAX NVMAX_AVX512
#define WACC 16
#define TBMAX 8
#define FACC 16
#include "conv_tiles.h"

/* 16 ymm: 12 accumulators, up to 2 weight vectors and a broadcast */
#define TILES(name) name##_avx2
#define TILE_TARGET NN_AVX2_FMA_TARGET
#define V __m256
#define LANES 8
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, acc) _mm256_fmadd_ps(a, b, acc)
#define VADD(a, b) _mm256_add_ps(a, b)
#define MAXP 12 /* 12 pixels x 1 vector or 6 x 2 */
#define NVMAX NVMAX_AVX2
#define WACC 12
#define TBMAX 12
#define FACC 12
#include "conv_tiles.h"

/* Each in the variant of the vector width setup() chose */
static void tiles_forward(float *y, const float *xs, const float *Wt, const Conv *c, int oh0,
                          int oh1) {
    if (c->lanes == 16)
        tiles_forward_avx512(y, xs, Wt, c, oh0, oh1);
    else
        tiles_forward_avx2(y, xs, Wt, c, oh0, oh1);
}
static void tiles_input(float *dx, const float *dyp, const float *W, const Conv *c) {
    if (c->lanes == 16)
        tiles_input_avx512(dx, dyp, W, c);
    else
        tiles_input_avx2(dx, dyp, W, c);
}
static void tiles_weights(float *dW, float *T, const float *xs, const float *dy, const Conv *c) {
    if (c->lanes == 16)
        tiles_weights_avx512(dW, T, xs, dy, c);
    else
        tiles_weights_avx2(dW, T, xs, dy, c);
}
static void tiles_field(float *dWt, const float *xs, const float *dy, const Conv *c) {
    if (c->lanes == 16)
        tiles_field_avx512(dWt, xs, dy, c);
    else
        tiles_field_avx2(dWt, xs, dy, c);
}
#else /* setup() enables no tiles: the calls below are never reached */
#define tiles_forward(y, xs, Wt, c, oh0, oh1) ((void)0)
#define tiles_input(dx, dyp, W, c) ((void)0)
#define tiles_weights(dW, T, xs, dy, c) ((void)0)
#define tiles_field(dWt, xs, dy, c) ((void)0)
#endif

/* ------------------------------------------------------- the two passes */

/* db(N) += the column sums of dy(R,N), row after row (the order of a
 * column's sum does not depend on the vector width) */
NN_BODY void add_column_sums_body(float *restrict db, const float *restrict dy, int R, int N) {
    for (int r = 0; r < R; r++, dy += N)
        for (int j = 0; j < N; j++)
            db[j] += dy[j];
}
NN_VECTORIZED(add_column_sums,
              (float *restrict db, const float *restrict dy, int R, int N),
              (db, dy, R, N))

static void transpose(float *t, const float *m, int rows, int cols) {
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < cols; k++)
            t[(size_t)k * rows + r] = m[(size_t)r * cols + k];
}

/* W(OC, K, K, C) as the input-gradient tiles read it: the blocks of
 * channels they take (vectors_for), each block of w channels from c0 a
 * (K K, OC, w) array at p + c0 K K OC */
static void pack_taps(float *p, const float *W, int OC, int KK, int C, int lanes, int nvmax) {
    for (int c0 = 0; c0 < C;) {
        const int w = lanes * vectors_for(C - c0, lanes, nvmax);
        float *blk = p + (size_t)c0 * KK * OC;
        for (int t = 0; t < KK; t++)
            for (int oc = 0; oc < OC; oc++)
                for (int j = 0; j < w; j++)
                    blk[((size_t)t * OC + oc) * w + j] = W[((size_t)oc * KK + t) * C + c0 + j];
        c0 += w;
    }
}

/* W(OC, KKC) as the forward tiles read it: the blocks of channels they
 * take (vectors_for), each block of w channels from oc0 a (KKC, w) matrix
 * at p + oc0 KKC */
static void pack_blocks(float *p, const float *W, int OC, int KKC, int lanes, int nvmax) {
    for (int oc0 = 0; oc0 < OC;) {
        const int w = lanes * vectors_for(OC - oc0, lanes, nvmax);
        float *blk = p + (size_t)oc0 * KKC;
        for (int t = 0; t < KKC; t++)
            for (int j = 0; j < w; j++)
                blk[(size_t)t * w + j] = W[(size_t)(oc0 + j) * KKC + t];
        oc0 += w;
    }
}

/* Part `part` of the forward pass: a share of the B*OH output rows (whole
 * images when there are images enough for every part), one image's rows at
 * a time through this thread's own scratch */
static void forward_part(void *ctx, int part, int parts) {
    const Conv *c = ctx;
    const int KKC = c->K * c->K * c->C;
    const size_t img = (size_t)c->H * c->W_ * c->C;
    float *region = c->col + (size_t)nn_thread_slot() * c->scratch;
    const int tiles = c->tiles & TILE_FORWARD, direct = !tiles && is_direct(c->K, c->C);
    size_t lo, hi;
    nn_part((size_t)c->B * c->OH, part, parts, c->B >= parts ? (size_t)c->OH : 1, &lo, &hi);
    for (size_t r = lo; r < hi;) {
        const int b = (int)(r / (size_t)c->OH), oh0 = (int)(r % (size_t)c->OH);
        const int oh1 = hi - r < (size_t)(c->OH - oh0) ? oh0 + (int)(hi - r) : c->OH;
        const float *x = c->x + (size_t)b * img;
        float *y = c->y + ((size_t)b * c->OH + oh0) * c->OW * c->OC;
        const int rows = (oh1 - oh0) * c->OW;
        if (tiles) {
            tiles_forward(y, windowed(c, x, region), c->Wt, c, oh0, oh1);
        } else if (direct) {
            direct_forward(y, x, c->Wt, c, oh0, oh1);
        } else {
            const float *a = x + (size_t)oh0 * c->W_ * c->C; /* pointwise: x is its own col */
            if (!is_pointwise(c->K, c->S, c->pad)) {
                im2col(region, x, c, oh0, oh1);
                a = region;
            }
            nn_gemm1(0, 1, rows, c->OC, KKC, 1.0f, a, KKC, c->W, KKC, 0.0f, y, c->OC);
        }
        if (c->b || c->act != NN_LINEAR) /* while these rows are in cache */
            nn_bias_act(y, c->b, rows, c->OC, c->act, c->alpha);
        r += (size_t)(oh1 - oh0);
    }
}

static int parts_for(const Conv *c, int units) {
    return nn_blocks(2.0 * c->B * c->OH * c->OW * c->OC * c->K * c->K * c->C, (size_t)units);
}

void nn_conv2d_forward(float *y, const float *x, const float *W, const float *b, nn_act act,
                       float alpha, float *col, int B, int H, int W_, int C, int K, int S, int pad,
                       int OC, int OH, int OW) {
    Conv c = {.y = y, .col = col, .x = x, .W = W, .b = b, .act = act, .alpha = alpha, .B = B,
              .H = H, .W_ = W_, .C = C, .K = K, .S = S, .pad = pad, .OC = OC, .OH = OH, .OW = OW};
    setup(&c);
    if ((c.tiles & TILE_FORWARD) || is_direct(K, C)) {
        /* once, in the caller's scratch, past the region every part's images use */
        float *Wt = col + (size_t)nn_thread_slot() * c.scratch + c.region;
        if (c.tiles & TILE_FORWARD)
            pack_blocks(Wt, W, OC, K * K * C, c.lanes, c.nvmax);
        else
            transpose(Wt, W, OC, K * K * C);
        c.Wt = Wt;
    }
    nn_parallel(forward_part, &c, parts_for(&c, B * OH));
}

/* dW (OC, KKC) of one image into part's partial sum, by whichever way the
 * shapes allow; region is free scratch */
static void weight_grad(float *dW, float *dWt, float *region, const float *x, const float *dy,
                        const Conv *c, int first) {
    const int KKC = c->K * c->K * c->C, P = c->OH * c->OW;
    if (c->tiles & TILE_WEIGHTS) {
        /* the sums between bands past the padded image */
        float *T = region + (size_t)c->Hp * c->Wp * c->C;
        tiles_weights(dW, T, windowed(c, x, region), dy, c);
    } else if (c->tiles & TILE_FIELD) {
        tiles_field(dWt, windowed(c, x, region), dy, c);
    } else if (is_direct(c->K, c->C)) {
        direct_dweight(dWt, x, dy, c);
    } else {
        const float *a = x;
        if (!is_pointwise(c->K, c->S, c->pad)) {
            im2col(region, x, c, 0, c->OH);
            a = region;
        }
        nn_gemm1(1, 0, c->OC, KKC, P, 1.0f, dy, c->OC, a, KKC, first ? 0.0f : 1.0f, dW, KKC);
    }
}

/* dx of one image; region is free scratch */
static void input_grad(float *dx, float *region, const float *dy, const Conv *c) {
    const int KKC = c->K * c->K * c->C, P = c->OH * c->OW, OC = c->OC;
    if (c->tiles & TILE_INPUT) {
        /* dy framed by zeros, Z rows and columns before it and the rest of
         * (Hq, Wq) after: only the frame is cleared, dy is copied over the rest */
        const size_t Z = (size_t)c->Z, row = (size_t)c->Wq * OC, side = Z * OC;
        const size_t tail = row - side - (size_t)c->OW * OC;
        memset(region, 0, Z * row * sizeof *region);
        for (int oh = 0; oh < c->OH; oh++) {
            float *r = region + (Z + (size_t)oh) * row;
            memset(r, 0, side * sizeof *r);
            memcpy(r + side, dy + (size_t)oh * c->OW * OC, (size_t)c->OW * OC * sizeof *r);
            memset(r + row - tail, 0, tail * sizeof *r);
        }
        memset(region + (Z + (size_t)c->OH) * row, 0,
               ((size_t)c->Hq - Z - (size_t)c->OH) * row * sizeof *region);
        tiles_input(dx, region, c->Wt, c);
    } else if (is_pointwise(c->K, c->S, c->pad)) {
        nn_gemm1(0, 0, P, KKC, OC, 1.0f, dy, OC, c->W, KKC, 0.0f, dx, KKC);
    } else {
        nn_gemm1(0, 0, P, KKC, OC, 1.0f, dy, OC, c->W, KKC, 0.0f, region, KKC);
        col2im(dx, region, c);
    }
}

/* Shard `part` of the backward pass: a fixed share of the images. Its dW
 * and db are partial sums (shard 0's in dW and db themselves, the others'
 * in c->partials), added in shard order afterwards; dx is per image,
 * written by the shard that owns the image. */
static void backward_part(void *ctx, int part, int parts) {
    const Conv *c = ctx;
    const int KKC = c->K * c->K * c->C, P = c->OH * c->OW;
    const size_t img = (size_t)c->H * c->W_ * c->C, nw = (size_t)c->OC * KKC;
    float *region = c->col + (size_t)nn_thread_slot() * c->scratch;
    float *partial = part ? c->partials + (size_t)(part - 1) * (nw + (size_t)c->OC) : NULL;
    float *dW = part ? partial : c->dW;
    float *dWt = region + c->region;
    float *db = !c->db ? NULL : part ? partial + nw : c->db;
    /* accumulated from zero: the tiles and the direct loop add image by image */
    const int direct = !(c->tiles & TILE_WEIGHTS) && is_direct(c->K, c->C);
    if (c->tiles & TILE_WEIGHTS)
        memset(dW, 0, nw * sizeof *dW);
    if (direct)
        memset(dWt, 0, nw * sizeof *dWt);
    if (db)
        memset(db, 0, (size_t)c->OC * sizeof *db);
    size_t lo, hi;
    nn_part((size_t)c->B, part, parts, 1, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        const float *x = c->x + b * img;
        float *dy = c->dy + b * (size_t)P * c->OC;
        if (c->act != NN_LINEAR) /* the image's dy, in place, before the products read it */
            nn_act_backward(dy, dy, c->out + b * (size_t)P * c->OC, P, c->OC, c->act, c->alpha);
        weight_grad(dW, dWt, region, x, dy, c, b == lo);
        if (db)
            add_column_sums(db, dy, P, c->OC);
        if (c->dx)
            input_grad(c->dx + b * img, region, dy, c);
    }
    if (direct)
        transpose(dW, dWt, KKC, c->OC);
}

typedef struct {
    float *dW, *db;
    const float *partials;
    size_t nw;
    int OC, shards;
} Reduce;

/* A share of dW's (then db's) elements, each summed over the shards in
 * shard order whatever thread runs it */
static void reduce_part(void *ctx, int part, int parts) {
    const Reduce *r = ctx;
    const size_t stride = r->nw + (size_t)r->OC, n = r->nw + (r->db ? (size_t)r->OC : 0);
    size_t lo, hi;
    nn_part(n, part, parts, 16, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        float *d = i < r->nw ? r->dW + i : r->db + (i - r->nw);
        float sum = *d;
        for (int s = 1; s < r->shards; s++)
            sum += r->partials[(size_t)(s - 1) * stride + i];
        *d = sum;
    }
}

void nn_conv2d_backward(float *dx, float *dW, float *db, float *dy, const float *y, nn_act act,
                        float alpha, const float *x, const float *W, float *col, float *partials,
                        int B, int H, int W_, int C, int K, int S, int pad, int OC, int OH,
                        int OW) {
    Conv c = {.dx = dx, .dW = dW, .db = db, .dy = dy, .col = col, .partials = partials, .x = x,
              .W = W, .out = y, .act = act, .alpha = alpha, .B = B, .H = H, .W_ = W_, .C = C,
              .K = K, .S = S, .pad = pad, .OC = OC, .OH = OH, .OW = OW};
    setup(&c);
    if (dx && (c.tiles & TILE_INPUT)) {
        /* once, in the caller's scratch past the region: where the direct
         * weight gradient would sum, unused with these tiles (C is a
         * multiple of the vector width, so the weight tiles run) */
        assert(c.tiles & TILE_WEIGHTS);
        float *Wp = col + (size_t)nn_thread_slot() * c.scratch + c.region;
        pack_taps(Wp, W, OC, K * K, C, c.lanes, c.nvmax);
        c.Wt = Wp;
    }
    const int shards = parts_for(&c, B);
    assert(shards <= NN_MAX_BLOCKS);
    nn_parallel(backward_part, &c, shards);
    if (shards > 1) {
        Reduce r = {dW, db, partials, (size_t)OC * K * K * C, OC, shards};
        nn_parallel(reduce_part, &r, (int)(r.nw * (size_t)shards / 65536) + 1);
    }
}

/* ------------------------------------------------------------- pooling */

/* The pools split the images over the pool of threads: a window never
 * crosses an image, so each part reads and writes only its own images. */
typedef struct {
    float *y, *dx;
    int32_t *argmax;
    const float *x, *dy;
    const int32_t *arg;
    int B, H, W_, C, K, S, OH, OW;
} Pooling;

static int pool_parts(int B, int H, int W_, int C) {
    return (int)((size_t)B * H * W_ * C / 65536) + 1; /* ~10 us of work per part at least */
}

/* Each output pixel starts from the window's first element and keeps the
 * first maximum (strict >), so ties resolve the same way in every run. */
static void maxpool_part(void *ctx, int part, int parts) {
    const Pooling *p = ctx;
    const int H = p->H, W_ = p->W_, C = p->C, K = p->K, S = p->S, OH = p->OH, OW = p->OW;
    const size_t img = (size_t)H * W_ * C;
    size_t lo, hi;
    nn_part((size_t)p->B, part, parts, 1, &lo, &hi);
    for (size_t b = lo; b < hi; b++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const size_t o = ((b * OH + oh) * OW + ow) * C;
                float *yo = p->y + o;
                int32_t *ao = p->argmax ? p->argmax + o : NULL;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        /* within the image: int32 whatever the batch */
                        const size_t base = ((size_t)(oh * S + kh) * W_ + ow * S + kw) * C;
                        const float *xi = p->x + b * img + base;
                        const int32_t idx = (int32_t)base;
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

void nn_maxpool_forward(float *y, int32_t *argmax, const float *x, int B, int H, int W_, int C,
                        int K, int S, int OH, int OW) {
    Pooling p = {.y = y, .argmax = argmax, .x = x, .B = B, .H = H, .W_ = W_, .C = C, .K = K,
                 .S = S, .OH = OH, .OW = OW};
    nn_parallel(maxpool_part, &p, pool_parts(B, H, W_, C));
}

/* += because overlapping windows (S < K) can pick the same input. */
static void maxpool_backward_part(void *ctx, int part, int parts) {
    const Pooling *p = ctx;
    const size_t in = (size_t)p->H * p->W_ * p->C, out = (size_t)p->OH * p->OW * p->C;
    size_t lo, hi;
    nn_part((size_t)p->B, part, parts, 1, &lo, &hi);
    memset(p->dx + lo * in, 0, (hi - lo) * in * sizeof *p->dx);
    for (size_t b = lo; b < hi; b++) {
        float *dx = p->dx + b * in;
        for (size_t i = b * out; i < (b + 1) * out; i++)
            dx[p->arg[i]] += p->dy[i];
    }
}

void nn_maxpool_backward(float *dx, const float *dy, const int32_t *argmax, int B, int H, int W_,
                         int C, int OH, int OW) {
    Pooling p = {.dx = dx, .dy = dy, .arg = argmax, .B = B, .H = H, .W_ = W_, .C = C, .OH = OH,
                 .OW = OW};
    nn_parallel(maxpool_backward_part, &p, pool_parts(B, H, W_, C));
}

static void avgpool_part(void *ctx, int part, int parts) {
    const Pooling *p = ctx;
    const int H = p->H, W_ = p->W_, C = p->C, K = p->K, S = p->S, OH = p->OH, OW = p->OW;
    const float inv = 1.0f / (float)(K * K);
    size_t lo, hi;
    nn_part((size_t)p->B, part, parts, 1, &lo, &hi);
    for (size_t b = lo; b < hi; b++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float *yo = p->y + ((b * OH + oh) * OW + ow) * C;
                memset(yo, 0, (size_t)C * sizeof *yo);
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        const float *xi = p->x + ((b * H + oh * S + kh) * W_ + ow * S + kw) * C;
                        for (int c = 0; c < C; c++)
                            yo[c] += xi[c];
                    }
                for (int c = 0; c < C; c++)
                    yo[c] *= inv;
            }
}

void nn_avgpool_forward(float *y, const float *x, int B, int H, int W_, int C, int K, int S, int OH,
                        int OW) {
    Pooling p = {.y = y, .x = x, .B = B, .H = H, .W_ = W_, .C = C, .K = K, .S = S, .OH = OH,
                 .OW = OW};
    nn_parallel(avgpool_part, &p, pool_parts(B, H, W_, C));
}

static void avgpool_backward_part(void *ctx, int part, int parts) {
    const Pooling *p = ctx;
    const int H = p->H, W_ = p->W_, C = p->C, K = p->K, S = p->S, OH = p->OH, OW = p->OW;
    const float inv = 1.0f / (float)(K * K);
    size_t lo, hi;
    nn_part((size_t)p->B, part, parts, 1, &lo, &hi);
    memset(p->dx + lo * H * W_ * C, 0, (hi - lo) * H * W_ * C * sizeof *p->dx);
    for (size_t b = lo; b < hi; b++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const float *g = p->dy + ((b * OH + oh) * OW + ow) * C;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        float *d = p->dx + ((b * H + oh * S + kh) * W_ + ow * S + kw) * C;
                        for (int c = 0; c < C; c++)
                            d[c] += g[c] * inv;
                    }
            }
}

void nn_avgpool_backward(float *dx, const float *dy, int B, int H, int W_, int C, int K, int S,
                         int OH, int OW) {
    Pooling p = {.dx = dx, .dy = dy, .B = B, .H = H, .W_ = W_, .C = C, .K = K, .S = S, .OH = OH,
                 .OW = OW};
    nn_parallel(avgpool_backward_part, &p, pool_parts(B, H, W_, C));
}
