/* conv_tiles.h: conv.c's register tiles, written once for any vector
 * width; internal. conv.c includes it once per instruction set, after
 * defining:
 *
 *   TILES(name)  the name of this variant's function (name##_avx512, ...)
 *   TILE_TARGET  the function attribute that enables the instruction set
 *   V, LANES     the vector type and its floats
 *   VZERO() VLOAD(p) VSTORE(p, v) VSET1(x) VFMA(a, b, acc) VADD(a, b)
 *   MAXP         accumulators of a forward or input tile: P pixels x NV
 *                vectors with P NV <= MAXP, NV <= NVMAX
 *   NVMAX        vectors of channels a tile holds at most (4 or 2)
 *   WACC         accumulators of a weight tile (channels x vectors)
 *   TBMAX, FACC  taps of a field tile at most, and its accumulators
 *
 * so that accumulators, the weight vectors a step loads and a broadcast fit
 * the register file: AVX-512 has 32 registers and broadcasts from memory
 * inside the FMA, AVX2 has 16 and a broadcast takes one. Every output
 * element is one accumulator summed in the same order at any width and any
 * tile shape, so the variants give the same bits as each other. It
 * undefines all of these at its end, ready for the next variant.
 */

#define TILE static inline __attribute__((always_inline)) TILE_TARGET

/* y(PB pixels, LANES NV channels from oc0) of output pixels whose windows
 * start PS floats apart from base (a pixel of the windowed input), over
 * the K x K x C field; Wb is the block of those channels of W packed
 * (pack_blocks): (KKC, LANES NV), so the loop reads it in order. PB and
 * NV are constants where this is inlined, so acc lives in registers. */
TILE void TILES(forward_tile)(float *y, const float *base, const float *Wb, const Conv *c, int PS,
                              int PB, int NV, int oc0) {
    V acc[MAXP][NVMAX];
    const int C = c->C, OC = c->OC, WS = LANES * NV;
#pragma GCC unroll 26
    for (int p = 0; p < PB; p++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[p][v] = VZERO();
    for (int kh = 0; kh < c->K; kh++)
        for (int kw = 0; kw < c->K; kw++) {
            const float *x0 = base + ((size_t)kh * c->Wr + kw) * C;
            const float *w0 = Wb + (size_t)(kh * c->K + kw) * C * WS;
            for (int ci = 0; ci < C; ci++) {
                V wv[NVMAX];
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    wv[v] = VLOAD(w0 + (size_t)ci * WS + LANES * v);
#pragma GCC unroll 26
                for (int p = 0; p < PB; p++) {
                    const V xb = VSET1(x0[(size_t)p * PS + ci]);
#pragma GCC unroll 4
                    for (int v = 0; v < NV; v++)
                        acc[p][v] = VFMA(xb, wv[v], acc[p][v]);
                }
            }
        }
#pragma GCC unroll 26
    for (int p = 0; p < PB; p++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            VSTORE(y + (size_t)p * OC + oc0 + LANES * v, acc[p][v]);
}

#define FORWARD_TILE(P)                                                                           \
    case P:                                                                                      \
        if (P * NV <= MAXP)                                                                      \
            TILES(forward_tile)(y, base, Wb, c, PS, P, NV, oc0);                                 \
        break;
TILE void TILES(forward_tiles)(float *y, const float *base, const float *Wb, const Conv *c, int PS,
                               int PB, int NV, int oc0) {
    switch (PB) { UP_TO_26(FORWARD_TILE) }
}
#undef FORWARD_TILE

/* Output rows [oh0, oh1) of one windowed image xs, a block of channels
 * at a time: its weights, Wp packed by pack_blocks, stay in L1 */
TILE_TARGET static void TILES(tiles_forward)(float *y, const float *xs, const float *Wp,
                                             const Conv *c, int oh0, int oh1) {
    const int OC = c->OC, PS = c->S * c->C, KKC = c->K * c->K * c->C;
    for (int oc0 = 0; oc0 < OC;) {
        const int nv = vectors_for(OC - oc0, LANES, NVMAX), most = MAXP / nv;
        const float *Wb = Wp + (size_t)oc0 * KKC;
        for (int oh = oh0; oh < oh1; oh++) {
            const float *row = xs + (size_t)oh * c->S * c->Wr * c->C;
            float *yr = y + (size_t)(oh - oh0) * c->OW * OC;
            for (int t = 0; t < tile_count(c->OW, most); t++) {
                const int ow = tile_start(c->OW, most, t);
                const int pb = tile_start(c->OW, most, t + 1) - ow;
                const float *b = row + (size_t)ow * PS;
                if (NVMAX >= 4 && nv == 4)
                    TILES(forward_tiles)(yr + (size_t)ow * OC, b, Wb, c, PS, pb, 4, oc0);
                else if (nv == 2)
                    TILES(forward_tiles)(yr + (size_t)ow * OC, b, Wb, c, PS, pb, 2, oc0);
                else
                    TILES(forward_tiles)(yr + (size_t)ow * OC, b, Wb, c, PS, pb, 1, oc0);
            }
        }
        oc0 += LANES * nv;
    }
}

/* dx(PB pixels S apart in a row, LANES NV channels from c0): the sum over
 * the taps that reach them and the OC channels of dy times W(OC, K, K, C).
 * Tap (kh, kw) brings dy pixel ((h + pad - kh) / S, (w + pad - kw) / S) to
 * dx pixel (h, w) where both divide: with h + pad = qh S + kh0, the taps
 * kh = kh0 + i S, from dy row qh - i, and likewise along the row, so
 * pixels S apart share their taps and read consecutive dy pixels. d0 is
 * dy pixel (qh, qw) of the first, in dyp (dy framed by Z zeros); at
 * stride 1 the taps are all K x K, in the order of the forward pass. */
TILE void TILES(input_tile)(float *dx, const float *d0, const float *Wb, const Conv *c, int kh0,
                            int kw0, int PB, int NV, int c0) {
    V acc[MAXP][NVMAX];
    const int K = c->K, S = c->S, OC = c->OC, WS = LANES * NV;
#pragma GCC unroll 26
    for (int p = 0; p < PB; p++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[p][v] = VZERO();
    for (int kh = kh0, i = 0; kh < K; kh += S, i++)
        for (int kw = kw0, j = 0; kw < K; kw += S, j++) {
            const float *dp = d0 - ((size_t)i * c->Wq + (size_t)j) * OC;
            const float *wp = Wb + (size_t)(kh * K + kw) * OC * WS;
            for (int oc = 0; oc < OC; oc++) {
                V wv[NVMAX];
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    wv[v] = VLOAD(wp + (size_t)oc * WS + LANES * v);
#pragma GCC unroll 26
                for (int p = 0; p < PB; p++) {
                    const V g = VSET1(dp[(size_t)p * OC + oc]);
#pragma GCC unroll 4
                    for (int v = 0; v < NV; v++)
                        acc[p][v] = VFMA(g, wv[v], acc[p][v]);
                }
            }
        }
#pragma GCC unroll 26
    for (int p = 0; p < PB; p++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            VSTORE(dx + (size_t)p * S * c->C + c0 + LANES * v, acc[p][v]);
}

#define INPUT_TILE(P)                                                                             \
    case P:                                                                                      \
        if (P * NV <= MAXP)                                                                      \
            TILES(input_tile)(dx, d0, Wb, c, kh0, kw0, P, NV, c0);                               \
        break;
TILE void TILES(input_tiles)(float *dx, const float *d0, const float *Wb, const Conv *c, int kh0,
                             int kw0, int PB, int NV, int c0) {
    switch (PB) { UP_TO_26(INPUT_TILE) }
}
#undef INPUT_TILE

/* dx of one image from dyp, its dy framed by Z zeros: a block of
 * channels at a time (its weights, Wp packed by pack_taps, stay in L1),
 * row by row, and in a row the S phases of w, each a run of pixels S apart */
TILE_TARGET static void TILES(tiles_input)(float *dx, const float *dyp, const float *Wp,
                                           const Conv *c) {
    const int C = c->C, OC = c->OC, S = c->S, Z = c->Z, KK = c->K * c->K;
    for (int c0 = 0; c0 < C;) {
        const int nv = vectors_for(C - c0, LANES, NVMAX), most = MAXP / nv;
        const float *Wb = Wp + (size_t)c0 * KK * OC;
        for (int h = 0; h < c->H; h++) {
            const int kh0 = (h + c->pad) % S, qh = (h + c->pad) / S;
            for (int pw = 0; pw < S && pw < c->W_; pw++) {
                const int kw0 = (pw + c->pad) % S, qw = (pw + c->pad) / S;
                const int n = (c->W_ - pw + S - 1) / S; /* pixels pw, pw + S, ... */
                const float *drow = dyp + ((size_t)(qh + Z) * c->Wq + (size_t)(qw + Z)) * OC;
                float *xr = dx + ((size_t)h * c->W_ + pw) * C;
                for (int t = 0; t < tile_count(n, most); t++) {
                    const int p0 = tile_start(n, most, t), pb = tile_start(n, most, t + 1) - p0;
                    const float *d0 = drow + (size_t)p0 * OC;
                    float *x0 = xr + (size_t)p0 * S * C;
                    if (NVMAX >= 4 && nv == 4)
                        TILES(input_tiles)(x0, d0, Wb, c, kh0, kw0, pb, 4, c0);
                    else if (nv == 2)
                        TILES(input_tiles)(x0, d0, Wb, c, kh0, kw0, pb, 2, c0);
                    else
                        TILES(input_tiles)(x0, d0, Wb, c, kh0, kw0, pb, 1, c0);
                }
            }
        }
        c0 += LANES * nv;
    }
}

/* dW(OB channels from oc0, window position (kh, kw), LANES NV input
 * channels from c0) += the sum over the image's output pixels of dy x,
 * over output rows [oh0, oh1): a band of rows, the image's whole sum
 * carried from band to band in T (laid out as dW), so each element is
 * still one chain over the pixels in order. The first band starts it from
 * zero, the last adds it to dW. */
TILE void TILES(weight_tile)(float *dW, float *T, const float *xs, const float *dy, const Conv *c,
                             int kh, int kw, int OB, int NV, int oc0, int c0, int oh0, int oh1) {
    V acc[WACC][NVMAX];
    const int C = c->C, OC = c->OC, KKC = c->K * c->K * C;
    const size_t at = (size_t)oc0 * KKC + (size_t)(kh * c->K + kw) * C + c0;
#pragma GCC unroll 16
    for (int o = 0; o < OB; o++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[o][v] = oh0 == 0 ? VZERO() : VLOAD(T + at + (size_t)o * KKC + LANES * v);
    for (int oh = oh0; oh < oh1; oh++) {
        const float *xr = xs + ((size_t)(oh * c->S + kh) * c->Wr + kw) * C + c0;
        const float *dr = dy + (size_t)oh * c->OW * OC + oc0;
        for (int ow = 0; ow < c->OW; ow++) {
            V xv[NVMAX];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                xv[v] = VLOAD(xr + (size_t)ow * c->S * C + LANES * v);
#pragma GCC unroll 16
            for (int o = 0; o < OB; o++) {
                const V g = VSET1(dr[(size_t)ow * OC + o]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    acc[o][v] = VFMA(g, xv[v], acc[o][v]);
            }
        }
    }
#pragma GCC unroll 16
    for (int o = 0; o < OB; o++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            const size_t i = at + (size_t)o * KKC + LANES * v;
            if (oh1 == c->OH)
                VSTORE(dW + i, VADD(VLOAD(dW + i), acc[o][v]));
            else
                VSTORE(T + i, acc[o][v]);
        }
}

#define WEIGHT_TILE(P)                                                                            \
    case P:                                                                                      \
        if (P <= WACC / NV)                                                                      \
            TILES(weight_tile)(dW, T, xs, dy, c, kh, kw, P, NV, oc0, c0, oh0, oh1);              \
        break;
TILE void TILES(weight_tiles)(float *dW, float *T, const float *xs, const float *dy,
                              const Conv *c, int kh, int kw, int OB, int NV, int oc0, int c0,
                              int oh0, int oh1) {
    switch (OB) { UP_TO_26(WEIGHT_TILE) }
}
#undef WEIGHT_TILE

/* Output rows [oh0, oh1) of this image's share of dW, every tile: the
 * output channels in blocks of near-equal size (tile_start), as many as
 * the accumulators allow, so that no block runs on too few FMA chains */
TILE void TILES(weights_band)(float *dW, float *T, const float *xs, const float *dy,
                              const Conv *c, int oh0, int oh1) {
    const int C = c->C, OC = c->OC;
    for (int kh = 0; kh < c->K; kh++)
        for (int kw = 0; kw < c->K; kw++)
            for (int c0 = 0; c0 < C;) {
                const int nv = vectors_for(C - c0, LANES, NVMAX), most = WACC / nv;
                for (int t = 0; t < tile_count(OC, most); t++) {
                    const int oc0 = tile_start(OC, most, t);
                    const int ob = tile_start(OC, most, t + 1) - oc0;
                    if (NVMAX >= 4 && nv == 4)
                        TILES(weight_tiles)(dW, T, xs, dy, c, kh, kw, ob, 4, oc0, c0, oh0, oh1);
                    else if (nv == 2)
                        TILES(weight_tiles)(dW, T, xs, dy, c, kh, kw, ob, 2, oc0, c0, oh0, oh1);
                    else
                        TILES(weight_tiles)(dW, T, xs, dy, c, kh, kw, ob, 1, oc0, c0, oh0, oh1);
                }
                c0 += LANES * nv;
            }
}

/* dW += this image's share, from its windowed input xs, c->band output
 * rows at a time, so that the rows of x and dy every tile of a band reads
 * stay in L1 (T: the sums between bands) */
TILE_TARGET static void TILES(tiles_weights)(float *dW, float *T, const float *xs,
                                             const float *dy, const Conv *c) {
    for (int oh0 = 0; oh0 < c->OH; oh0 += c->band)
        TILES(weights_band)(dW, T, xs, dy, c, oh0,
                            oh0 + c->band < c->OH ? oh0 + c->band : c->OH);
}

/* dWt(TB taps from t0, LANES NV channels from oc0) += the sum over the
 * image's output pixels of x(tap) dy, for a small field (is_direct): off
 * holds each tap's offset in a window of the windowed input xs */
TILE void TILES(field_tile)(float *dWt, const float *xs, const float *dy, const int *off,
                            const Conv *c, int TB, int NV, int t0, int oc0) {
    V acc[TBMAX][NVMAX];
    const int OC = c->OC, PS = c->S * c->C;
    int o[TBMAX];
#pragma GCC unroll 12
    for (int k = 0; k < TB; k++) {
        o[k] = off[t0 + k];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[k][v] = VZERO();
    }
    for (int oh = 0; oh < c->OH; oh++) {
        const float *xr = xs + (size_t)oh * c->S * c->Wr * c->C;
        const float *dr = dy + (size_t)oh * c->OW * OC + oc0;
        for (int ow = 0; ow < c->OW; ow++) {
            V g[NVMAX];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                g[v] = VLOAD(dr + (size_t)ow * OC + LANES * v);
            const float *w = xr + (size_t)ow * PS;
#pragma GCC unroll 12
            for (int k = 0; k < TB; k++) {
                const V xb = VSET1(w[o[k]]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    acc[k][v] = VFMA(xb, g[v], acc[k][v]);
            }
        }
    }
#pragma GCC unroll 12
    for (int k = 0; k < TB; k++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            float *d = dWt + (size_t)(t0 + k) * OC + oc0 + LANES * v;
            VSTORE(d, VADD(VLOAD(d), acc[k][v]));
        }
}

#define FIELD_TB(nv) (FACC / (nv) < TBMAX ? FACC / (nv) : TBMAX)

/* dWt (KKC, OC) += this image's share, for a small field and OC a multiple
 * of LANES: taps in blocks of FIELD_TB */
TILE_TARGET static void TILES(tiles_field)(float *dWt, const float *xs, const float *dy,
                                           const Conv *c) {
    int off[DIRECT_KKC], KKC = 0;
    for (int kh = 0; kh < c->K; kh++)
        for (int kw = 0; kw < c->K; kw++)
            for (int ci = 0; ci < c->C; ci++)
                off[KKC++] = (kh * c->Wr + kw) * c->C + ci;
    for (int oc0 = 0; oc0 < c->OC;) {
        const int nv = vectors_for(c->OC - oc0, LANES, NVMAX), tb = FIELD_TB(nv);
        int t0 = 0;
        for (; t0 + tb <= KKC; t0 += tb) {
            if (NVMAX >= 4 && nv == 4)
                TILES(field_tile)(dWt, xs, dy, off, c, FIELD_TB(4), 4, t0, oc0);
            else if (nv == 2)
                TILES(field_tile)(dWt, xs, dy, off, c, FIELD_TB(2), 2, t0, oc0);
            else
                TILES(field_tile)(dWt, xs, dy, off, c, FIELD_TB(1), 1, t0, oc0);
        }
        for (; t0 < KKC; t0++) {
            if (NVMAX >= 4 && nv == 4)
                TILES(field_tile)(dWt, xs, dy, off, c, 1, 4, t0, oc0);
            else if (nv == 2)
                TILES(field_tile)(dWt, xs, dy, off, c, 1, 2, t0, oc0);
            else
                TILES(field_tile)(dWt, xs, dy, off, c, 1, 1, t0, oc0);
        }
        oc0 += LANES * nv;
    }
}
#undef FIELD_TB
#undef TILE
#undef TILES
#undef TILE_TARGET
#undef V
#undef LANES
#undef VZERO
#undef VLOAD
#undef VSTORE
#undef VSET1
#undef VFMA
#undef VADD
#undef MAXP
#undef NVMAX
#undef WACC
#undef TBMAX
#undef FACC
