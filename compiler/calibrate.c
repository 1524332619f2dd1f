/* calibrate.c: the ranges int8 quantisation needs, from the float network.
 *
 * Runs the fused model at batch 1 over the first N training images, each
 * kind's calib hook computing its output before the fused activation, and
 * records the range of every value (after the activation) and of every
 * op's output before it (the input of a lookup-table activation). The
 * images are read as the trainer reads them (runtime/data.c): the IDX
 * bytes, / 255. This runs in nnc, so that quantising needs nothing but the
 * checkpoint and the data directory (docs/deploy.md).
 */
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

float act_value(ActKind act, float alpha, float x) {
    switch (act) {
    case ACT_RELU:
        return x > 0.0f ? x : 0.0f;
    case ACT_LEAKY_RELU:
        return x > 0.0f ? x : alpha * x;
    case ACT_SIGMOID:
        return 1.0f / (1.0f + expf(-x));
    case ACT_TANH:
        return tanhf(x);
    default: /* linear; softmax is a row's */
        return x;
    }
}

static void activate_row(float *y, size_t n, ActKind act, float alpha) {
    if (act != ACT_SOFTMAX) {
        for (size_t i = 0; i < n; i++)
            y[i] = act_value(act, alpha, y[i]);
        return;
    }
    float m = y[0], s = 0.0f;
    for (size_t i = 1; i < n; i++)
        m = y[i] > m ? y[i] : m;
    for (size_t i = 0; i < n; i++)
        s += y[i] = expf(y[i] - m);
    for (size_t i = 0; i < n; i++)
        y[i] /= s;
}

static void widen(ValRange *r, const float *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        r->lo = v[i] < r->lo ? v[i] : r->lo;
        r->hi = v[i] > r->hi ? v[i] : r->hi;
    }
}

static uint32_t be32(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* The first n images' bytes (fewer if the file holds fewer: *n says) */
static unsigned char *read_images(const char *path, size_t size, long *n) {
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "nnc: error: %s: cannot open the calibration images\n", path);
        return NULL;
    }
    unsigned char h[16];
    unsigned char *px = NULL;
    if (gzread(f, h, 16) != 16 || be32(h) != 0x803 || (size_t)be32(h + 8) * be32(h + 12) != size) {
        fprintf(stderr, "nnc: error: %s: not IDX images of the model's input size %zu\n", path,
                size);
    } else {
        *n = *n < (long)be32(h + 4) ? *n : (long)be32(h + 4);
        size_t bytes = (size_t)*n * size;
        px = malloc(bytes ? bytes : 1);
        if (!px || gzread(f, px, (unsigned)bytes) != (int)bytes) {
            fprintf(stderr, "nnc: error: %s: cannot read %ld images\n", path, *n);
            free(px), px = NULL;
        }
    }
    gzclose(f);
    return px;
}

int calibrate(const Model *m, const float *param, const float *state, const char *dir, long n,
              const DeployMeta *meta, ValRange *post, ValRange *pre) {
    size_t in_size = shape_size(m->input);
    const char *path = arena_printf("%s/train-images-idx3-ubyte.gz", dir);
    unsigned char *px = read_images(path, in_size, &n);
    if (!px)
        return -1;
    /* one buffer per value, an identity's its input's */
    float **v = arena_alloc(sizeof *v * (size_t)(m->n_ops + 1));
    v[0] = arena_alloc(sizeof(float) * in_size);
    for (int i = 0; i < m->n_ops; i++)
        v[i + 1] = deploy_identity(&m->ops[i]) ? v[m->ops[i].in[0]]
                                                : arena_alloc(sizeof(float) *
                                                              shape_size(m->ops[i].out));
    CalibArgs *args = arena_alloc(sizeof *args * (size_t)m->n_ops);
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        const float **x = arena_alloc(sizeof *x * (size_t)op->n_in);
        Shape *shapes = arena_alloc(sizeof *shapes * (size_t)op->n_in);
        for (int k = 0; k < op->n_in; k++)
            x[k] = v[op->in[k]], shapes[k] = value_shape(m, op->in[k]);
        args[i] = (CalibArgs){v[i + 1], x, shapes, param, state};
    }
    for (int k = 0; k <= m->n_ops; k++)
        post[k] = pre[k] = (ValRange){INFINITY, -INFINITY};
    for (long e = 0; e < n; e++) {
        for (size_t j = 0; j < in_size; j++)
            v[0][j] = px[(size_t)e * in_size + j] / 255.0f;
        if (meta->mean) /* as runtime/data.c standardizes */
            for (size_t j = 0; j < in_size; j++)
                v[0][j] = (v[0][j] - meta->mean[j]) / meta->std[j];
        widen(&post[0], v[0], in_size);
        for (int i = 0; i < m->n_ops; i++) {
            const Op *op = &m->ops[i];
            float *y = v[i + 1];
            size_t size = shape_size(op->out), row = (size_t)op->out.c;
            if (!deploy_identity(op)) {
                op->type->calib(op, &args[i]);
                widen(&pre[i + 1], y, size);
                for (size_t r = 0; r < size; r += row)
                    activate_row(y + r, row, op->act, op->alpha);
            }
            widen(&post[i + 1], y, size);
        }
    }
    free(px);
    return 0;
}
