/* test_grad.c: every backward kernel of libnnrt against central finite
 * differences of its forward kernel.
 *
 * Each check builds the scalar L = sum_i y_i r_i (r a fixed random tensor,
 * so dL/dy = r is what the backward kernel receives), accumulated in double,
 * perturbs one input or weight entry at a time by +-H_STEP and compares
 * (L+ - L-) / (x+ - x-), taken over the float values actually stored, with
 * the analytic gradient. The error measure is max|analytic - numeric| over
 * max|numeric| for the whole tensor: float rounding and the O(H_STEP^2)
 * truncation keep it below 2e-4 on these cases, a missing factor or a wrong
 * index puts it near 1. Inputs are kept at least
 * a few H_STEP away from the kinks of relu, leaky_relu and max so that the
 * difference quotient does not straddle one. Forward values are checked
 * against double-precision loops where the kernel is not already checked
 * elsewhere (conv and pools: test_conv.c).
 *
 * Every backward output is filled with NaN before the call: the kernels
 * must overwrite, not accumulate (the accumulating mode of concat's
 * backward is test_graph.c's).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnrt.h"
#include "fill.h"

#define H_STEP 1e-2f
#define GRAD_TOL 1e-3  /* max error over max magnitude; observed <= 1.7e-4 */
#define VALUE_TOL 1e-5 /* float kernel against a double loop, relative */

/* ------------------------------------------------------------- helpers */

/* Moves every entry at least `margin` away from zero (kinks of relu-likes). */
static void push_from_zero(float *v, size_t n, float margin) {
    for (size_t i = 0; i < n; i++)
        if (fabsf(v[i]) < margin)
            v[i] = v[i] < 0.0f ? v[i] - margin : v[i] + margin;
}

static double dot(const float *y, const float *r, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)y[i] * r[i];
    return s;
}

/* The forward computation under test, as L(current inputs). */
typedef double (*LossFn)(void *ctx);

/* Compares analytic[0..n) with central differences of f with respect to
 * v[0..n) (v is one of the tensors f reads), prints the first entries and
 * the error on failure in llm.c's check_tensor style, returns the error. */
static double grad_error(const char *what, LossFn f, void *ctx, float *v, size_t n,
                         const float *analytic) {
    double maxdiff = 0.0, maxref = 0.0;
    double *num = malloc(n * sizeof *num);
    assert_non_null(num);
    for (size_t i = 0; i < n; i++) {
        const float saved = v[i];
        const float up = saved + H_STEP, down = saved - H_STEP;
        v[i] = up;
        double lp = f(ctx);
        v[i] = down;
        double lm = f(ctx);
        v[i] = saved;
        num[i] = (lp - lm) / ((double)up - (double)down);
        double d = fabs(analytic[i] - num[i]);
        maxdiff = d > maxdiff || isnan(d) ? d : maxdiff; /* a NaN (unwritten output) sticks */
        maxref = fmax(maxref, fabs(num[i]));
    }
    /* A gradient that is zero everywhere would make the check vacuous. */
    assert_true(maxref > 1e-3);
    double err = maxdiff / maxref;
    if (!(err < GRAD_TOL)) {
        print_error("%s: analytic vs numeric\n", what);
        for (size_t i = 0; i < n && i < 5; i++)
            print_error("  [%zu] %f %f %s\n", i, analytic[i], num[i],
                        fabs(analytic[i] - num[i]) <= GRAD_TOL * maxref ? "OK" : "NOT OK");
        print_error("  maxdiff %g, max |numeric| %g, error %g\n", maxdiff, maxref, err);
    }
    free(num);
    return err;
}

#define assert_grad(what, f, ctx, v, n, analytic)                                                  \
    assert_true(grad_error(what, f, ctx, v, n, analytic) < GRAD_TOL)

#define assert_near(got, want, tol) assert_true(fabs((double)(got) - (double)(want)) <= (tol))

/* "what: case" for grad_error's messages, in a buffer of the caller's */
#define LABEL(buf, ...) (snprintf(buf, sizeof buf, __VA_ARGS__), buf)

/* max |got - want| / max(1, max |want|) */
static double value_error(const float *got, const double *want, size_t n) {
    double maxdiff = 0.0, maxref = 1.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        maxdiff = d > maxdiff || isnan(d) ? d : maxdiff; /* NaN sticks */
        maxref = fmax(maxref, fabs(want[i]));
    }
    return maxdiff / maxref;
}

/* --------------------------------------------------------------- dense */

typedef struct {
    int B, IN, OUT;
    float *x, *W, *b, *y, *r;
} DenseCase;

static double dense_loss(void *ctx) {
    DenseCase *c = ctx;
    nn_dense_forward(c->y, c->x, c->W, c->B, c->IN, c->OUT);
    nn_bias_act(c->y, c->b, c->B, c->OUT, NN_LINEAR, 0.0f);
    return dot(c->y, c->r, (size_t)c->B * c->OUT);
}

static void test_dense(void **state) {
    (void)state;
    nn_rng rng = nn_rng_seed(1);
    /* B IN OUT, and the share of dy that is zero (relu and dropout upstream:
     * then the weight gradient skips the zeros). Sizes all different, so a
     * wrong transpose cannot fit; rows of IN not a whole number of vectors,
     * batches and units not a whole number of tiles. */
    static const struct {
        int B, IN, OUT;
        double zeros;
    } cases[] = {{5, 7, 4, 0.0}, {9, 37, 20, 0.8}, {3, 400, 7, 0.8}, {6, 70, 67, 0.8}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        DenseCase c = {.B = cases[k].B, .IN = cases[k].IN, .OUT = cases[k].OUT};
        const size_t nx = (size_t)c.B * c.IN, nw = (size_t)c.OUT * c.IN, ny = (size_t)c.B * c.OUT;
        c.x = alloc_floats(nx), c.W = alloc_floats(nw), c.b = alloc_floats(c.OUT);
        c.y = alloc_floats(ny), c.r = alloc_floats(ny);
        fill_uniform(c.x, nx, -1, 1, &rng);
        fill_uniform(c.W, nw, -1, 1, &rng);
        fill_uniform(c.b, c.OUT, -1, 1, &rng);
        fill_uniform(c.r, ny, -1, 1, &rng);
        for (size_t i = 0; i < ny; i++)
            if (nn_rng_uniform(&rng) < cases[k].zeros)
                c.r[i] = 0.0f;

        dense_loss(&c);
        double *want = alloc_doubles(ny);
        for (int i = 0; i < c.B; i++)
            for (int o = 0; o < c.OUT; o++) {
                double s = c.b[o];
                for (int j = 0; j < c.IN; j++)
                    s += (double)c.x[i * c.IN + j] * c.W[o * c.IN + j];
                want[i * c.OUT + o] = s;
            }
        assert_true(value_error(c.y, want, ny) < VALUE_TOL);

        float *dx = alloc_floats(nx), *dW = alloc_floats(nw), *db = alloc_floats(c.OUT);
        fill_nan(dx, nx), fill_nan(dW, nw), fill_nan(db, c.OUT);
        nn_dense_backward(dx, dW, db, c.r, c.x, c.W, c.B, c.IN, c.OUT);
        char label[80];
        LABEL(label, "dense %dx%dx%d dx", c.B, c.IN, c.OUT);
        assert_grad(label, dense_loss, &c, c.x, nx, dx);
        LABEL(label, "dense %dx%dx%d dW", c.B, c.IN, c.OUT);
        assert_grad(label, dense_loss, &c, c.W, nw, dW);
        LABEL(label, "dense %dx%dx%d db", c.B, c.IN, c.OUT);
        assert_grad(label, dense_loss, &c, c.b, c.OUT, db);

        /* Without dx and db (first layer, no bias) dW is unchanged. */
        float *dW2 = alloc_floats(nw);
        nn_dense_backward(NULL, dW2, NULL, c.r, c.x, c.W, c.B, c.IN, c.OUT);
        assert_true(same_floats(dW, dW2, nw));

        free(c.x), free(c.W), free(c.b), free(c.y), free(c.r), free(want);
        free(dx), free(dW), free(db), free(dW2);
    }
}

/* --------------------------------------------------------- activations */

typedef struct {
    nn_act act;
    float alpha;
    const char *name;
} ActCase;

static const ActCase act_cases[] = {
    {NN_LINEAR, 0.0f, "linear"},
    {NN_RELU, 0.0f, "relu"},
    {NN_SIGMOID, 0.0f, "sigmoid"},
    {NN_TANH, 0.0f, "tanh"},
    {NN_SOFTMAX, 0.0f, "softmax"},
    {NN_LEAKY_RELU, 0.1f, "leaky_relu 0.1"},
    {NN_LEAKY_RELU, 0.3f, "leaky_relu 0.3"},
    {NN_LEAKY_RELU, 0.0f, "leaky_relu 0"},
};

/* act(x + b) in double, b may be NULL */
static void act_reference(double *y, const float *x, const float *b, int R, int N, nn_act act,
                          float alpha) {
    for (int r = 0; r < R; r++) {
        double *yr = y + (size_t)r * N;
        for (int j = 0; j < N; j++) {
            double v = (double)x[r * N + j] + (b ? b[j] : 0.0);
            switch (act) {
            case NN_LINEAR:
                yr[j] = v;
                break;
            case NN_RELU:
                yr[j] = v > 0 ? v : 0;
                break;
            case NN_LEAKY_RELU:
                yr[j] = v > 0 ? v : alpha * v;
                break;
            case NN_SIGMOID:
                yr[j] = 1.0 / (1.0 + exp(-v));
                break;
            case NN_TANH:
                yr[j] = tanh(v);
                break;
            case NN_SOFTMAX:
                yr[j] = v;
                break;
            }
        }
        if (act == NN_SOFTMAX) {
            double s = 0.0;
            for (int j = 0; j < N; j++)
                s += exp(yr[j]);
            for (int j = 0; j < N; j++)
                yr[j] = exp(yr[j]) / s;
        }
    }
}

typedef struct {
    int R, N;
    nn_act act;
    float alpha;
    float *x, *b, *y, *r; /* b NULL: nn_act_forward, else nn_bias_act */
} ActLoss;

static double act_loss(void *ctx) {
    ActLoss *c = ctx;
    size_t n = (size_t)c->R * c->N;
    if (c->b) {
        memcpy(c->y, c->x, n * sizeof *c->y);
        nn_bias_act(c->y, c->b, c->R, c->N, c->act, c->alpha);
    } else {
        nn_act_forward(c->y, c->x, c->R, c->N, c->act, c->alpha);
    }
    return dot(c->y, c->r, n);
}

static void test_activations(void **state) {
    (void)state;
    nn_rng rng = nn_rng_seed(2);
    enum { R = 4, N = 6, n = R * N };
    for (size_t k = 0; k < sizeof act_cases / sizeof act_cases[0]; k++) {
        const ActCase *a = &act_cases[k];
        float x[n], y[n], r[n], dx[n], tmp[n];
        double want[n];
        fill_uniform(x, n, -3, 3, &rng);
        push_from_zero(x, n, 5 * H_STEP);
        fill_uniform(r, n, -1, 1, &rng);
        ActLoss c = {R, N, a->act, a->alpha, x, NULL, y, r};

        act_loss(&c);
        act_reference(want, x, NULL, R, N, a->act, a->alpha);
        assert_true(value_error(y, want, n) < VALUE_TOL);

        char label[64];
        fill_nan(dx, n);
        nn_act_backward(dx, r, y, R, N, a->act, a->alpha);
        assert_grad(LABEL(label, "%s dx", a->name), act_loss, &c, x, n, dx);

        /* In place (y aliasing x, dx aliasing dy) gives the same bits. */
        act_loss(&c); /* y as it was before the perturbations */
        memcpy(tmp, x, sizeof tmp);
        nn_act_forward(tmp, tmp, R, N, a->act, a->alpha);
        assert_true(same_floats(tmp, y, n));
        memcpy(tmp, r, sizeof tmp);
        nn_act_backward(tmp, tmp, y, R, N, a->act, a->alpha);
        assert_true(same_floats(tmp, dx, n));
    }
}

/* bias_act's gradient is act_backward's for the input and its column sums
 * for the bias (what dense/conv backward compute as db). */
static void test_bias_act(void **state) {
    (void)state;
    nn_rng rng = nn_rng_seed(3);
    enum { R = 5, N = 4, n = R * N };
    for (size_t k = 0; k < sizeof act_cases / sizeof act_cases[0]; k++) {
        const ActCase *a = &act_cases[k];
        float x[n], b[N], y[n], r[n], dx[n], db[N], plain[n];
        double want[n];
        fill_uniform(b, N, -1, 1, &rng);
        fill_uniform(x, n, -3, 3, &rng);
        for (int i = 0; i < n; i++) /* keep x + b away from the kinks */
            if (fabsf(x[i] + b[i % N]) < 5 * H_STEP)
                x[i] += 10 * H_STEP;
        fill_uniform(r, n, -1, 1, &rng);
        ActLoss c = {R, N, a->act, a->alpha, x, b, y, r};

        act_loss(&c);
        act_reference(want, x, b, R, N, a->act, a->alpha);
        assert_true(value_error(y, want, n) < VALUE_TOL);

        nn_act_backward(dx, r, y, R, N, a->act, a->alpha);
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int i = 0; i < R; i++)
                s += dx[i * N + j];
            db[j] = (float)s;
        }
        char label[64];
        assert_grad(LABEL(label, "bias_act %s dx", a->name), act_loss, &c, x, n, dx);
        assert_grad(LABEL(label, "bias_act %s db", a->name), act_loss, &c, b, N, db);

        /* No bias: the same as nn_act_forward. */
        memcpy(plain, x, sizeof plain);
        nn_bias_act(plain, NULL, R, N, a->act, a->alpha);
        nn_act_forward(y, x, R, N, a->act, a->alpha);
        assert_true(same_floats(plain, y, n));
    }
}

/* Shapes where nn_bias_act works in several blocks of rows, with a short
 * last block, or in rows longer than a block: values only (the gradient
 * does not depend on the blocking). */
static void test_bias_act_blocks(void **state) {
    (void)state;
    static const int shapes[][2] = {{3001, 3}, {70, 100}, {2, 5000}};
    nn_rng rng = nn_rng_seed(9);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int R = shapes[s][0], N = shapes[s][1];
        const size_t n = (size_t)R * N;
        float *x = alloc_floats(n), *y = alloc_floats(n), *b = alloc_floats((size_t)N);
        double *want = malloc(n * sizeof *want);
        assert_non_null(want);
        fill_uniform(x, n, -3, 3, &rng);
        fill_uniform(b, (size_t)N, -1, 1, &rng);
        for (size_t k = 0; k < sizeof act_cases / sizeof act_cases[0]; k++) {
            const ActCase *a = &act_cases[k];
            memcpy(y, x, n * sizeof *y);
            nn_bias_act(y, b, R, N, a->act, a->alpha);
            act_reference(want, x, b, R, N, a->act, a->alpha);
            assert_true(value_error(y, want, n) < VALUE_TOL);
        }
        free(x), free(y), free(b), free(want);
    }
}

/* Large logits must not overflow: sigmoid at +-100, softmax of 1000s. */
static void test_activation_extremes(void **state) {
    (void)state;
    float x[6] = {-100.0f, -20.0f, 0.0f, 20.0f, 100.0f, -1e30f}, y[6];
    nn_act_forward(y, x, 1, 6, NN_SIGMOID, 0.0f);
    assert_true(y[0] >= 0.0f && y[0] < 1e-30f);
    assert_near(y[1] / (exp(-20.0) / (1.0 + exp(-20.0))), 1.0, 1e-6); /* not 1 - (1 - tiny) */
    assert_near(y[2], 0.5, 1e-7);
    assert_near(y[4], 1.0, 1e-7);
    assert_near(y[5], 0.0, 1e-30);
    float z[3] = {1000.0f, 999.0f, -1000.0f}, s[3];
    nn_act_forward(s, z, 1, 3, NN_SOFTMAX, 0.0f);
    assert_near(s[0], 1.0 / (1.0 + exp(-1.0)), 1e-6);
    assert_near(s[1], exp(-1.0) / (1.0 + exp(-1.0)), 1e-6);
    assert_true(s[2] == 0.0f);
}

/* ------------------------------------------------------------- dropout */

typedef struct {
    size_t n;
    float p;
    uint64_t key;
    float *x, *y, *r;
} DropoutCase;

static double dropout_loss(void *ctx) {
    DropoutCase *c = ctx;
    nn_dropout_forward(c->y, c->x, c->n, c->p, c->key);
    return dot(c->y, c->r, c->n);
}

static void test_dropout(void **state) {
    (void)state;
    nn_rng rng = nn_rng_seed(4);
    const float ps[] = {0.0f, 0.25f, 0.5f, 0.8f};
    enum { n = 41 };
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        float x[n], y[n], r[n], dx[n];
        fill_uniform(x, n, -1, 1, &rng);
        fill_uniform(r, n, -1, 1, &rng);
        DropoutCase c = {n, ps[k], 0x5eedu + k, x, y, r};
        dropout_loss(&c);
        for (int i = 0; i < n; i++) /* the forward values the difference quotients rest on */
            assert_near(y[i], nn_dropout_keep(c.key, i, c.p) ? x[i] / (1.0 - c.p) : 0.0, 1e-6);
        fill_nan(dx, n);
        nn_dropout_backward(dx, r, n, c.p, c.key);
        char label[64];
        assert_grad(LABEL(label, "dropout p=%g dx", c.p), dropout_loss, &c, x, n, dx);
    }
}

/* -------------------------------------------------------------- losses */

typedef struct {
    int B, N;
    float *z;
    const int *labels;
    nn_loss loss;
} LossCase;

static double loss_value(void *ctx) {
    LossCase *c = ctx;
    if (c->loss == NN_CROSS_ENTROPY)
        return nn_softmax_xent(NULL, c->z, c->labels, c->B, c->N);
    return nn_mse(NULL, c->z, c->labels, c->B, c->N);
}

static double loss_reference(const LossCase *c) {
    double total = 0.0;
    for (int b = 0; b < c->B; b++) {
        const float *z = c->z + (size_t)b * c->N;
        if (c->loss == NN_CROSS_ENTROPY) {
            double s = 0.0;
            for (int j = 0; j < c->N; j++)
                s += exp((double)z[j]);
            total += -log(exp((double)z[c->labels[b]]) / s);
        } else {
            for (int j = 0; j < c->N; j++) {
                double d = (double)z[j] - (j == c->labels[b]);
                total += d * d;
            }
        }
    }
    return c->loss == NN_CROSS_ENTROPY ? total / c->B : total / (c->B * c->N);
}

static void check_loss(nn_loss loss) {
    nn_rng rng = nn_rng_seed(5);
    enum { B = 4, N = 5, n = B * N };
    const int labels[B] = {0, 3, 4, 3};
    float z[n], dz[n];
    fill_uniform(z, n, -3, 3, &rng);
    LossCase c = {B, N, z, labels, loss};
    fill_nan(dz, n);
    float l = loss == NN_CROSS_ENTROPY ? nn_softmax_xent(dz, z, labels, B, N)
                                       : nn_mse(dz, z, labels, B, N);
    double want = loss_reference(&c);
    assert_true(fabs(l - want) <= 1e-6 * fabs(want));
    assert_true((float)loss_value(&c) == l); /* dz == NULL: same value */
    assert_grad(loss == NN_CROSS_ENTROPY ? "softmax_xent dz" : "mse dout", loss_value, &c, z, n,
                dz);
}

static void test_softmax_xent(void **state) {
    (void)state;
    check_loss(NN_CROSS_ENTROPY);
    /* Logits far beyond expf's range: the log-sum-exp form stays finite. */
    const float z[4] = {1000.0f, 0.0f, -1000.0f, 999.0f};
    const int label[1] = {3};
    float dz[4];
    float l = nn_softmax_xent(dz, z, label, 1, 4);
    assert_near(l, log1p(exp(-1.0)) + 1.0, 1e-6);
    assert_near(dz[0], 1.0 / (1.0 + exp(-1.0)), 1e-6);
    assert_near(dz[3], exp(-1.0) / (1.0 + exp(-1.0)) - 1.0, 1e-6);
}

static void test_mse(void **state) {
    (void)state;
    check_loss(NN_MSE);
}

/* -------------------------------------------------------------- conv2d */

typedef struct {
    int B, H, W, C, K, S, same, OC;
} ConvShape;

typedef struct {
    ConvShape s;
    nn_act act; /* applied inside the kernel, with the bias */
    int pad, OH, OW;
    float *x, *Wt, *b, *y, *r, *col;
} ConvCase;

/* Output size and top/left padding as Keras/TensorFlow compute them. */
static void conv_geometry(ConvCase *c) {
    const ConvShape *s = &c->s;
    if (s->same) {
        c->OH = (s->H + s->S - 1) / s->S;
        c->OW = (s->W + s->S - 1) / s->S;
        int ph = (c->OH - 1) * s->S + s->K - s->H, pw = (c->OW - 1) * s->S + s->K - s->W;
        ph = ph > 0 ? ph : 0, pw = pw > 0 ? pw : 0;
        assert_int_equal(ph / 2, pw / 2); /* the kernel takes one pad for both axes */
        c->pad = ph / 2;
    } else {
        c->OH = (s->H - s->K) / s->S + 1;
        c->OW = (s->W - s->K) / s->S + 1;
        c->pad = 0;
    }
}

static double conv_loss(void *ctx) {
    ConvCase *c = ctx;
    const ConvShape *s = &c->s;
    nn_conv2d_forward(c->y, c->x, c->Wt, c->b, c->act, 0.0f, c->col, s->B, s->H, s->W, s->C, s->K,
                      s->S, c->pad, s->OC, c->OH, c->OW);
    return dot(c->y, c->r, (size_t)s->B * c->OH * c->OW * s->OC);
}

static void test_conv2d(void **state) {
    (void)state;
    static const ConvShape shapes[] = {
        {2, 5, 5, 3, 3, 1, 0, 4}, /* valid, stride 1 */
        {2, 5, 6, 2, 3, 1, 1, 3}, /* same, stride 1, H != W */
        {1, 7, 7, 3, 3, 2, 0, 2}, /* valid, stride 2 */
        {2, 7, 7, 2, 3, 2, 1, 3}, /* same, stride 2 (pad 1) */
        {1, 6, 6, 1, 3, 2, 1, 2}, /* same, stride 2: pad 0 on top, 1 implied at the bottom */
        {1, 6, 6, 2, 2, 2, 0, 2}, /* K = S = 2: windows tile the image */
        {1, 6, 5, 4, 5, 1, 1, 2}, /* same, K = 5 */
        {2, 4, 3, 3, 1, 1, 0, 5}, /* 1x1: the no-im2col path */
        {1, 5, 5, 2, 1, 2, 0, 3}, /* 1x1 stride 2: im2col after all */
        /* channels in multiples of 16: the AVX-512 register tiles, where the CPU has them */
        {1, 2, 27, 16, 3, 1, 1, 16}, /* same: a full tile of 26 pixels and a tail */
        {1, 5, 5, 16, 3, 2, 1, 16},  /* stride 2, pad 1: dx's tiles take every other pixel */
        {1, 6, 8, 32, 3, 2, 1, 16},  /* stride 2, pad 0 on top and left (the resnet's block 3) */
        {1, 6, 6, 16, 1, 2, 0, 16},  /* 1x1 stride 2: the projection shortcut; odd rows get 0 */
        {1, 8, 7, 16, 3, 2, 0, 16},  /* valid, stride 2: the last row reaches no window */
        {1, 8, 8, 16, 3, 2, 0, 16},  /* and the last column: the tiles read x, rows W apart */
        {1, 7, 7, 16, 2, 3, 0, 16},  /* K < S: pixels between the windows get 0 */
        {2, 4, 4, 32, 3, 1, 0, 32},  /* valid, two images */
        {1, 5, 28, 1, 3, 1, 1, 32},  /* a first layer: the small-field weight tile */
    };
    nn_rng rng = nn_rng_seed(6);
    /* every shape without an activation, then with tanh (smooth: no kinks),
     * whose derivative the backward kernel applies to dy itself */
    for (size_t k = 0; k < 2 * sizeof shapes / sizeof shapes[0]; k++) {
        ConvCase c = {.s = shapes[k % (sizeof shapes / sizeof shapes[0])]};
        c.act = k < sizeof shapes / sizeof shapes[0] ? NN_LINEAR : NN_TANH;
        const ConvShape *s = &c.s;
        conv_geometry(&c);
        const size_t nx = (size_t)s->B * s->H * s->W * s->C;
        const size_t nw = (size_t)s->OC * s->K * s->K * s->C;
        const size_t ny = (size_t)s->B * c.OH * c.OW * s->OC;
        const size_t ncol =
            (size_t)nn_threads() * nn_conv2d_scratch(s->C, s->K, s->S, s->OC, c.OH, c.OW);
        c.x = alloc_floats(nx), c.Wt = alloc_floats(nw), c.b = alloc_floats(s->OC);
        const size_t npart = nn_conv2d_partials(s->C, s->K, s->OC);
        c.y = alloc_floats(ny), c.r = alloc_floats(ny), c.col = alloc_floats(ncol);
        float *partials = alloc_floats(npart);
        fill_uniform(c.x, nx, -1, 1, &rng);
        fill_uniform(c.Wt, nw, -1, 1, &rng);
        fill_uniform(c.b, s->OC, -1, 1, &rng);
        fill_uniform(c.r, ny, -1, 1, &rng);
        fill_nan(c.col, ncol); /* scratch content must not matter */
        fill_nan(partials, npart);

        float *dx = alloc_floats(nx), *dW = alloc_floats(nw), *db = alloc_floats(s->OC);
        float *dy = alloc_floats(ny); /* backward overwrites it with dy act' */
        fill_nan(dx, nx), fill_nan(dW, nw), fill_nan(db, s->OC);
        conv_loss(&c); /* the output y that act' is computed from */
        memcpy(dy, c.r, ny * sizeof *dy);
        nn_conv2d_backward(dx, dW, db, dy, c.y, c.act, 0.0f, c.x, c.Wt, c.col, partials, s->B,
                           s->H, s->W, s->C, s->K, s->S, c.pad, s->OC, c.OH, c.OW);
        char name[64], label[80];
        LABEL(name, "conv %s B%d %dx%dx%d K%d S%d pad%d OC%d", c.act ? "tanh" : "linear", s->B,
              s->H, s->W, s->C, s->K, s->S, c.pad, s->OC);
        assert_grad(LABEL(label, "%s dx", name), conv_loss, &c, c.x, nx, dx);
        assert_grad(LABEL(label, "%s dW", name), conv_loss, &c, c.Wt, nw, dW);
        assert_grad(LABEL(label, "%s db", name), conv_loss, &c, c.b, (size_t)s->OC, db);

        /* dx and db are optional and do not change dW. */
        float *dW2 = alloc_floats(nw);
        conv_loss(&c); /* y again: the checks above left it at a perturbed point */
        memcpy(dy, c.r, ny * sizeof *dy);
        nn_conv2d_backward(NULL, dW2, NULL, dy, c.y, c.act, 0.0f, c.x, c.Wt, c.col, partials,
                           s->B, s->H, s->W, s->C, s->K, s->S, c.pad, s->OC, c.OH, c.OW);
        assert_true(same_floats(dW, dW2, nw));

        free(c.x), free(c.Wt), free(c.b), free(c.y), free(c.r), free(c.col), free(partials);
        free(dx), free(dW), free(db), free(dW2), free(dy);
    }
}

/* ------------------------------------------------------------- pooling */

typedef struct {
    int B, H, W, C, K, S;
} PoolShape;

static const PoolShape pool_shapes[] = {
    {2, 4, 4, 3, 2, 2}, /* the usual 2x2/2 */
    {1, 5, 5, 2, 3, 2}, /* overlapping windows */
    {1, 6, 4, 2, 2, 1}, /* stride 1, H != W */
    {2, 5, 5, 1, 2, 2}, /* a row and a column left over */
};

typedef struct {
    PoolShape s;
    int OH, OW, max;
    float *x, *y, *r;
    int32_t *argmax;
} PoolCase;

static double pool_loss(void *ctx) {
    PoolCase *c = ctx;
    const PoolShape *s = &c->s;
    if (c->max)
        nn_maxpool_forward(c->y, c->argmax, c->x, s->B, s->H, s->W, s->C, s->K, s->S, c->OH, c->OW);
    else
        nn_avgpool_forward(c->y, c->x, s->B, s->H, s->W, s->C, s->K, s->S, c->OH, c->OW);
    return dot(c->y, c->r, (size_t)s->B * c->OH * c->OW * s->C);
}

static void check_pool(int max) {
    nn_rng rng = nn_rng_seed(7);
    for (size_t k = 0; k < sizeof pool_shapes / sizeof pool_shapes[0]; k++) {
        PoolCase c = {.s = pool_shapes[k], .max = max};
        const PoolShape *s = &c.s;
        c.OH = (s->H - s->K) / s->S + 1;
        c.OW = (s->W - s->K) / s->S + 1;
        const size_t nx = (size_t)s->B * s->H * s->W * s->C;
        const size_t ny = (size_t)s->B * c.OH * c.OW * s->C;
        c.x = alloc_floats(nx), c.y = alloc_floats(ny), c.r = alloc_floats(ny);
        c.argmax = malloc(ny * sizeof *c.argmax);
        assert_non_null(c.argmax);
        /* Distinct values 10 H_STEP apart in random order: no perturbation
         * can change which element of a window is the maximum. */
        for (size_t i = 0; i < nx; i++)
            c.x[i] = (float)i * 10 * H_STEP;
        for (size_t i = nx - 1; i > 0; i--) {
            size_t j = nn_rng_next(&rng) % (i + 1);
            float t = c.x[i];
            c.x[i] = c.x[j], c.x[j] = t;
        }
        fill_uniform(c.r, ny, -1, 1, &rng);

        float *dx = alloc_floats(nx);
        fill_nan(dx, nx);
        pool_loss(&c);
        if (max)
            nn_maxpool_backward(dx, c.r, c.argmax, s->B, s->H, s->W, s->C, c.OH, c.OW);
        else
            nn_avgpool_backward(dx, c.r, s->B, s->H, s->W, s->C, s->K, s->S, c.OH, c.OW);
        char label[64];
        assert_grad(LABEL(label, "%s B%d %dx%dx%d K%d S%d dx", max ? "maxpool" : "avgpool", s->B,
                          s->H, s->W, s->C, s->K, s->S),
                    pool_loss, &c, c.x, nx, dx);
        free(c.x), free(c.y), free(c.r), free(c.argmax), free(dx);
    }
}

static void test_maxpool(void **state) {
    (void)state;
    check_pool(1);
}

static void test_avgpool(void **state) {
    (void)state;
    check_pool(0);
}

/* ----------------------------------------------------------- batchnorm */

typedef struct {
    int R, C;
    nn_act act; /* fused into the passes */
    float *x, *gb, *y, *save, *running, *r;
} BnCase;

static double bn_loss(void *ctx) {
    BnCase *c = ctx;
    nn_batchnorm_train(c->y, c->save, c->running, c->x, c->gb, c->act, 0.0f, c->R, c->C, 0.9f,
                       1e-3f);
    return dot(c->y, c->r, (size_t)c->R * c->C);
}

/* The backward pass of bn_loss: dy, a copy of r, is taken in place */
static void bn_backward(BnCase *c, float *dx, float *dgb) {
    const size_t n = (size_t)c->R * c->C;
    float *dy = alloc_floats(n);
    memcpy(dy, c->r, n * sizeof *dy);
    nn_batchnorm_backward(dx, dgb, dy, c->y, c->act, 0.0f, c->x, c->save, c->gb, c->R, c->C);
    free(dy);
}

static void test_batchnorm(void **state) {
    (void)state;
    /* C = 130 crosses the kernel's 128-channel blocks. Each shape also with
     * a tanh fused in (smooth, so the differences need no care at a kink). */
    static const int shapes[][2] = {{12, 3}, {2 * 3 * 3, 4}, {6, 130}};
    nn_rng rng = nn_rng_seed(8);
    for (size_t k = 0; k < 2 * sizeof shapes / sizeof shapes[0]; k++) {
        BnCase c = {.R = shapes[k / 2][0], .C = shapes[k / 2][1],
                    .act = k % 2 ? NN_TANH : NN_LINEAR};
        const size_t n = (size_t)c.R * c.C, C = (size_t)c.C;
        c.x = alloc_floats(n), c.gb = alloc_floats(2 * C), c.y = alloc_floats(n);
        c.save = alloc_floats(2 * C), c.running = alloc_floats(2 * C), c.r = alloc_floats(n);
        /* Per-channel offsets and spreads, so that mean and variance matter. */
        for (size_t i = 0; i < n; i++)
            c.x[i] = (float)(i % C) - 1.0f + (1.0f + 0.1f * (float)(i % 7)) * nn_rng_normal(&rng);
        fill_uniform(c.gb, C, 0.5f, 1.5f, &rng);
        fill_uniform(c.gb + C, C, -1, 1, &rng);
        fill_uniform(c.r, n, -1, 1, &rng);
        nn_init_fill(c.running, 2 * C, 0.0f);

        bn_loss(&c);
        float *dx = alloc_floats(n), *dgb = alloc_floats(2 * C), *dgb2 = alloc_floats(2 * C);
        fill_nan(dx, n), fill_nan(dgb, 2 * C);
        bn_backward(&c, dx, dgb);
        char name[40], label[56];
        LABEL(name, "batchnorm%s R%d C%d", c.act == NN_TANH ? "+tanh" : "", c.R, c.C);
        assert_grad(LABEL(label, "%s dx", name), bn_loss, &c, c.x, n, dx);
        assert_grad(LABEL(label, "%s dgamma", name), bn_loss, &c, c.gb, C, dgb);
        assert_grad(LABEL(label, "%s dbeta", name), bn_loss, &c, c.gb + C, C, dgb + C);

        bn_loss(&c); /* save as it was for the analytic pass */
        bn_backward(&c, NULL, dgb2);
        assert_true(same_floats(dgb, dgb2, 2 * C));

        free(c.x), free(c.gb), free(c.y), free(c.save), free(c.running), free(c.r);
        free(dx), free(dgb), free(dgb2);
    }
}

/* ----------------------------------------------------- concat and gap */

typedef struct {
    int k, cs[3];
    size_t rows;
    float *x[3], *y, *r;
} ConcatLoss;

static double concat_loss(void *ctx) {
    ConcatLoss *c = ctx;
    const float *xs[3] = {c->x[0], c->x[1], c->x[2]};
    nn_concat_forward(c->y, xs, c->cs, c->k, c->rows);
    return dot(c->y, c->r, c->rows * (size_t)(c->cs[0] + c->cs[1] + c->cs[2]));
}

static void test_concat(void **state) {
    (void)state;
    nn_rng rng = nn_rng_seed(10);
    ConcatLoss c = {.k = 3, .cs = {3, 1, 4}, .rows = 6}; /* 2x3 pixels of 3 + 1 + 4 channels */
    const size_t ny = c.rows * 8;
    for (int j = 0; j < c.k; j++) {
        c.x[j] = alloc_floats(c.rows * c.cs[j]);
        fill_uniform(c.x[j], c.rows * c.cs[j], -1, 1, &rng);
    }
    c.y = alloc_floats(ny), c.r = alloc_floats(ny);
    fill_uniform(c.r, ny, -1, 1, &rng);
    float *dx[3];
    for (int j = 0; j < c.k; j++) {
        dx[j] = alloc_floats(c.rows * c.cs[j]);
        fill_nan(dx[j], c.rows * c.cs[j]);
    }
    nn_concat_backward(dx, c.r, c.cs, c.k, c.rows, 0);
    char label[48];
    for (int j = 0; j < c.k; j++)
        assert_grad(LABEL(label, "concat dx%d", j), concat_loss, &c, c.x[j], c.rows * c.cs[j],
                    dx[j]);
    for (int j = 0; j < c.k; j++)
        free(c.x[j]), free(dx[j]);
    free(c.y), free(c.r);
}

typedef struct {
    int B, HW, C;
    float *x, *y, *r;
} GapLoss;

static double gap_loss(void *ctx) {
    GapLoss *c = ctx;
    nn_gap_forward(c->y, c->x, c->B, c->HW, c->C);
    return dot(c->y, c->r, (size_t)c->B * c->C);
}

static void test_gap(void **state) {
    (void)state;
    nn_rng rng = nn_rng_seed(11);
    /* B HW C: a partial block of the kernel's 32 channels, then one and a half */
    static const int shapes[][3] = {{2, 9, 5}, {2, 4, 48}};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        GapLoss c = {shapes[k][0], shapes[k][1], shapes[k][2], NULL, NULL, NULL};
        const size_t nx = (size_t)c.B * c.HW * c.C, ny = (size_t)c.B * c.C;
        c.x = alloc_floats(nx), c.y = alloc_floats(ny), c.r = alloc_floats(ny);
        fill_uniform(c.x, nx, -1, 1, &rng);
        fill_uniform(c.r, ny, -1, 1, &rng);
        float *dx = alloc_floats(nx);
        fill_nan(dx, nx);
        nn_gap_backward(dx, c.r, c.B, c.HW, c.C);
        char label[48];
        assert_grad(LABEL(label, "gap B%d HW%d C%d dx", c.B, c.HW, c.C), gap_loss, &c, c.x, nx,
                    dx);
        free(c.x), free(c.y), free(c.r), free(dx);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_bias_act),
        cmocka_unit_test(test_bias_act_blocks),
        cmocka_unit_test(test_activation_extremes),
        cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_mse),
        cmocka_unit_test(test_conv2d),
        cmocka_unit_test(test_maxpool),
        cmocka_unit_test(test_avgpool),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_gap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
