/* graph.c: the kernels of values that are not a chain (issue 9): the sum
 * of a skip connection, a gradient that fans in from several consumers,
 * concatenation along the last axis, and global average pooling.
 *
 * All are passes over memory, one write per output element, split over
 * the pool by rows (or images) into a part count fixed by the size alone,
 * so the split never changes a bit. The sums have a fixed order: a + b,
 * dx + dy, and gap adds an image's pixels in pixel order, one accumulator
 * per channel. The loops vectorize along the contiguous last axis
 * (simd.h). They take no restrict: GCC then guards each vector loop with an
 * overlap check that lets equal pointers through, so in-place calls
 * (y == a, dx += dy) run the vector loop too (measured: a 1M add, 790k
 * instructions in place and out of place, 0.9 ms on one core).
 */
#include <string.h>

#include "nnrt.h"
#include "simd.h"

/* Floats a part should have at least: below that a hand-off (~1 us) costs
 * more than the pass (32768 floats of an add take ~10 us) */
#define MIN_PER_PART 32768
#define MAX_PARTS 256

static int parts_for(size_t n) {
    const size_t parts = n / MIN_PER_PART + 1;
    return parts < MAX_PARTS ? (int)parts : MAX_PARTS;
}

/* --------------------------------------------------- elementwise */

/* y = a + b, or y += b when accumulating into y == a */
NN_BODY void add_range_body(float *y, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}
NN_VECTORIZED(add_range, (float *y, const float *a, const float *b, size_t n), (y, a, b, n))

typedef struct {
    float *y;
    const float *a, *b; /* b NULL: copy a */
    size_t n;
} Add;

static void add_part(void *ctx, int part, int parts) {
    const Add *c = ctx;
    size_t lo, hi;
    nn_part(c->n, part, parts, 16, &lo, &hi);
    if (c->b)
        add_range(c->y + lo, c->a + lo, c->b + lo, hi - lo);
    else if (c->y != c->a)
        memcpy(c->y + lo, c->a + lo, (hi - lo) * sizeof *c->y);
}

void nn_add(float *y, const float *a, const float *b, size_t n) {
    Add c = {y, a, b, n};
    nn_parallel(add_part, &c, parts_for(n));
}

void nn_grad_into(float *dx, const float *dy, size_t n, int accumulate) {
    Add c = accumulate ? (Add){dx, dx, dy, n} : (Add){dx, dy, NULL, n};
    nn_parallel(add_part, &c, parts_for(n));
}

/* ------------------------------------------------------- concat */

typedef struct {
    float *y;                  /* forward: the joined rows */
    const float *const *xs;    /* forward: the inputs */
    float *const *dxs;         /* backward: their gradients (NULL entries skipped) */
    const float *dy;           /* backward */
    const int *cs;
    int k, C, accumulate;
    size_t rows;
} Concat;

static int total_columns(const int *cs, int k) {
    int C = 0;
    for (int i = 0; i < k; i++)
        C += cs[i];
    return C;
}

/* Rows of an input are a pixel's channels, typically 16 to 64 floats: a
 * memcpy per row runs as fast as a vectorized loop (200-260 us either way
 * for 12544 rows of 16 + 16 + 16, one core) in a third fewer instructions.
 * Accumulating needs the loop. */
static void copy_rows(float *dst, size_t ld_dst, const float *src, size_t ld_src, size_t rows,
                      int c) {
    for (size_t r = 0; r < rows; r++)
        memcpy(dst + r * ld_dst, src + r * ld_src, (size_t)c * sizeof *dst);
}

/* dx(rows, c) += the c columns of dy(rows, ld) it points at */
NN_BODY void add_rows_body(float *dx, const float *dy, size_t rows, int c, int ld) {
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < c; j++)
            dx[r * (size_t)c + (size_t)j] += dy[r * (size_t)ld + (size_t)j];
}
NN_VECTORIZED(add_rows, (float *dx, const float *dy, size_t rows, int c, int ld),
              (dx, dy, rows, c, ld))

/* Rows [lo, hi), input by input */
static void concat_part(void *ctx, int part, int parts) {
    const Concat *c = ctx;
    size_t lo, hi;
    nn_part(c->rows, part, parts, 1, &lo, &hi);
    int off = 0;
    for (int i = 0; i < c->k; i++) {
        const size_t ci = (size_t)c->cs[i];
        const size_t C = (size_t)c->C, n = hi - lo;
        if (c->y)
            copy_rows(c->y + lo * C + off, C, c->xs[i] + lo * ci, ci, n, c->cs[i]);
        else if (c->dxs[i] && c->accumulate)
            add_rows(c->dxs[i] + lo * ci, c->dy + lo * C + off, n, c->cs[i], c->C);
        else if (c->dxs[i])
            copy_rows(c->dxs[i] + lo * ci, ci, c->dy + lo * C + off, C, n, c->cs[i]);
        off += c->cs[i];
    }
}

void nn_concat_forward(float *y, const float *const *xs, const int *cs, int k, size_t rows) {
    Concat c = {.y = y, .xs = xs, .cs = cs, .k = k, .C = total_columns(cs, k), .rows = rows};
    nn_parallel(concat_part, &c, parts_for(rows * (size_t)c.C));
}

void nn_concat_backward(float *const *dxs, const float *dy, const int *cs, int k, size_t rows,
                        int accumulate) {
    Concat c = {.dxs = dxs, .dy = dy, .cs = cs, .k = k, .C = total_columns(cs, k),
                .accumulate = accumulate, .rows = rows};
    nn_parallel(concat_part, &c, parts_for(rows * (size_t)c.C));
}

/* ------------------------------------------ global average pooling */

/* An image's channels go GAP_BLOCK at a time, so that the block's sums
 * stay in registers while the loop runs down the pixels (4 AVX2 vectors):
 * 37 against 63 us for 64x8x8x64 on one core, against one pass over the
 * pixels adding into y. */
#define GAP_BLOCK 32

/* y(nc) = the sum of x's HW rows of nc channels (row stride C), in row
 * order, / HW */
NN_BODY void gap_block(float *y, const float *x, int HW, int C, int nc) {
    float acc[GAP_BLOCK] = {0};
    for (int p = 0; p < HW; p++)
        for (int j = 0; j < nc; j++)
            acc[j] += x[(size_t)p * C + j];
    for (int j = 0; j < nc; j++)
        y[j] = acc[j] / (float)HW;
}

/* dx(HW rows of nc channels, row stride C) = dy(nc) / HW */
NN_BODY void spread_block(float *dx, const float *dy, int HW, int C, int nc) {
    float g[GAP_BLOCK];
    for (int j = 0; j < nc; j++)
        g[j] = dy[j] / (float)HW;
    for (int p = 0; p < HW; p++)
        for (int j = 0; j < nc; j++)
            dx[(size_t)p * C + j] = g[j];
}

/* One image, x(HW, C) to y(C), or dy(C) to dx(HW, C) */
NN_BODY void gap_image_body(float *y, const float *x, float *dx, const float *dy, int HW, int C) {
    for (int c0 = 0; c0 < C; c0 += GAP_BLOCK) {
        const int nc = C - c0 < GAP_BLOCK ? C - c0 : GAP_BLOCK;
        if (y && nc == GAP_BLOCK) /* a constant width: the sums live in registers */
            gap_block(y + c0, x + c0, HW, C, GAP_BLOCK);
        else if (y)
            gap_block(y + c0, x + c0, HW, C, nc);
        else if (nc == GAP_BLOCK)
            spread_block(dx + c0, dy + c0, HW, C, GAP_BLOCK);
        else
            spread_block(dx + c0, dy + c0, HW, C, nc);
    }
}
NN_VECTORIZED(gap_image, (float *y, const float *x, float *dx, const float *dy, int HW, int C),
              (y, x, dx, dy, HW, C))

typedef struct {
    float *y, *dx;
    const float *x, *dy;
    int B, HW, C;
} Gap;

/* Images [lo, hi): an image's pixels never leave its part */
static void gap_part(void *ctx, int part, int parts) {
    const Gap *g = ctx;
    const size_t img = (size_t)g->HW * g->C;
    size_t lo, hi;
    nn_part((size_t)g->B, part, parts, 1, &lo, &hi);
    for (size_t b = lo; b < hi; b++)
        if (g->y)
            gap_image(g->y + b * g->C, g->x + b * img, NULL, NULL, g->HW, g->C);
        else
            gap_image(NULL, NULL, g->dx + b * img, g->dy + b * g->C, g->HW, g->C);
}

static int gap_parts(const Gap *g) {
    const int parts = parts_for((size_t)g->B * g->HW * g->C);
    return parts < g->B ? parts : g->B > 1 ? g->B : 1;
}

void nn_gap_forward(float *y, const float *x, int B, int HW, int C) {
    Gap g = {.y = y, .x = x, .B = B, .HW = HW, .C = C};
    nn_parallel(gap_part, &g, gap_parts(&g));
}

void nn_gap_backward(float *dx, const float *dy, int B, int HW, int C) {
    Gap g = {.dx = dx, .dy = dy, .B = B, .HW = HW, .C = C};
    nn_parallel(gap_part, &g, gap_parts(&g));
}
