/* shape.c: the layers, one LowerFn each (the table is in lower.c).
 *
 * Consumes a layer statement's converted arguments and the current shape;
 * produces its Op: parameters, output shape (as Keras computes it), and the
 * floats of its weights and bias, each checked against what the runtime
 * can index. Shape errors come with a note at the statement that gave the
 * input its shape. After a layer whose output cannot be known, shape checks
 * pause (lose_shape) instead of reporting follow-on errors; the statement's
 * own arguments were already checked by bind.c.
 */
#include "lower.h"

#include <string.h>

const char *quote_stmt(const Source *src, const Stmt *s) {
    return clip_text(src->text + s->loc.start, (size_t)(s->loc.end - s->loc.start));
}

const char *shape_str(Shape s) {
    return s.rank == 1 ? arena_printf("%d", s.c) : arena_printf("%dx%dx%d", s.h, s.w, s.c);
}

static size_t sat_mul(size_t a, size_t b) { /* saturating */
    return b && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

size_t sat_add(size_t a, size_t b) {
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

size_t floats_of(Shape s) {
    return sat_mul(sat_mul((size_t)s.h, (size_t)s.w), (size_t)s.c);
}

size_t shape_size(Shape s) {
    return (size_t)s.h * (size_t)s.w * (size_t)s.c;
}

Shape flat_shape(int n) {
    return (Shape){.rank = 1, .h = 1, .w = 1, .c = n};
}

Shape image_shape(int h, int w, int c) {
    return (Shape){.rank = 3, .h = h, .w = w, .c = c};
}

static Op *add_op(Ctx *c, const Stmt *s, OpKind kind) {
    Op *op = &c->m->ops[c->m->n_ops++];
    op->kind = kind;
    op->index = c->m->n_ops;
    op->name = keras_name(kind, c->n_of_kind[kind]++);
    op->stmt = s;
    op->in = c->shape;
    return op;
}

/* Pauses shape checks for the rest of the file: every later shape derives
 * from the one that could not be known. */
void lose_shape(Ctx *c) {
    c->known = false;
}

static void note_shape(const Ctx *c) {
    note_at(c->src, c->shape_from->loc, "the shape comes from '%s' here",
            quote_stmt(c->src, c->shape_from));
}

/* n floats of one tensor of op: fits the runtime, or an error. */
static bool fits(Ctx *c, const Op *op, const char *what, size_t n) {
    if (n <= MAX_FLOATS)
        return true;
    c->oversized = true;
    error_at(c->src, op->stmt->loc, "'%s' %s %s floats; at most %s are supported",
             quote_stmt(c->src, op->stmt), what, n == SIZE_MAX ? "more than 2^64" : thousands(n),
             thousands(MAX_FLOATS));
    return false;
}

static void set_out(Ctx *c, Op *op, Shape out) {
    op->out = out;
    if (!fits(c, op, "has an output of", floats_of(out))) {
        lose_shape(c);
        return;
    }
    if (memcmp(&out, &c->shape, sizeof out) != 0)
        c->shape_from = op->stmt;
    c->shape = out;
}

/* conv2d and the pools read images: a flat input is an error. */
static bool needs_image(Ctx *c, const Op *op) {
    if (op->in.rank == 3)
        return true;
    error_at(c->src, op->stmt->kw_loc, "'%s' needs an image input (HxWxC), got a flat %d",
             op->stmt->keyword, op->in.c);
    note_shape(c);
    lose_shape(c);
    return false;
}

/* A window of K x K with no padding: (H - K) / S + 1 outputs per side. */
static bool valid_window(Ctx *c, const Op *op, const Arg *kernel, int *oh, int *ow) {
    int k = op->kernel, s = op->stride;
    if (k > op->in.h || k > op->in.w) {
        error_at(c->src, kernel->loc,
                 "kernel %dx%d is larger than its %s input: the output would "
                 "be empty",
                 k, k, shape_str(op->in));
        note_shape(c);
        lose_shape(c);
        return false;
    }
    *oh = (op->in.h - k) / s + 1;
    *ow = (op->in.w - k) / s + 1;
    return true;
}

void lower_dense(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    Op *op = add_op(c, s, OP_DENSE);
    op->units = (int)pos[0].n;
    op->act = pos[1].arg ? (ActKind)pos[1].word : ACT_LINEAR;
    op->alpha = op->act == ACT_LEAKY_RELU ? LEAKY_ALPHA : 0;
    op->init = opt[0].arg ? (InitKind)opt[0].word : INIT_GLOROT;
    op->bias = opt[1].arg ? opt[1].word : true;
    if (!c->known)
        return;
    if (op->in.rank != 1) {
        error_at(c->src, pos[0].arg->loc,
                 "'dense' needs a flat input, got %s; add 'flatten' "
                 "before it",
                 shape_str(op->in));
        note_shape(c);
    }
    op->n_w = sat_mul((size_t)op->units, floats_of(op->in));
    op->n_b = op->bias ? (size_t)op->units : 0;
    if (fits(c, op, "has a weight matrix of", op->n_w))
        set_out(c, op, flat_shape(op->units));
    else
        lose_shape(c);
}

void lower_conv2d(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    Op *op = add_op(c, s, OP_CONV2D);
    op->units = (int)pos[0].n;
    op->kernel = (int)pos[1].n;
    op->act = pos[2].arg ? (ActKind)pos[2].word : ACT_LINEAR;
    op->alpha = op->act == ACT_LEAKY_RELU ? LEAKY_ALPHA : 0;
    op->stride = opt[0].arg ? (int)opt[0].n : 1;
    op->same = opt[1].arg && opt[1].word == PAD_SAME;
    op->init = opt[2].arg ? (InitKind)opt[2].word : INIT_GLOROT;
    op->bias = opt[3].arg ? opt[3].word : true;
    if (!c->known || !needs_image(c, op))
        return;
    Shape in = op->in;
    int k = op->kernel, st = op->stride, oh, ow;
    if (op->same) {
        /* TensorFlow's rule: ceil(H / S) outputs, the padding they need
         * split with the smaller half on top and left. */
        oh = (int)((in.h + (long long)st - 1) / st);
        ow = (int)((in.w + (long long)st - 1) / st);
        long long pad_h = ((long long)(oh - 1) * st + k - in.h) / 2;
        long long pad_w = ((long long)(ow - 1) * st + k - in.w) / 2;
        pad_h = pad_h > 0 ? pad_h : 0;
        pad_w = pad_w > 0 ? pad_w : 0;
        if (pad_h != pad_w) {
            error_at(c->src, opt[1].arg->loc,
                     "padding=same on a %s input with stride %d pads "
                     "%lld on top but %lld on the left; only equal padding is supported",
                     shape_str(in), st, pad_h, pad_w);
            lose_shape(c);
            return;
        }
        op->pad = (int)pad_h;
    } else if (!valid_window(c, op, pos[1].arg, &oh, &ow)) {
        return;
    }
    size_t taps = sat_mul(sat_mul((size_t)k, (size_t)k), (size_t)in.c); /* one output's inputs */
    op->n_w = sat_mul((size_t)op->units, taps);
    op->n_b = op->bias ? (size_t)op->units : 0;
    if (fits(c, op, "has a kernel of", op->n_w) &&
        fits(c, op, "needs an im2col buffer of", sat_mul(sat_mul((size_t)oh, (size_t)ow), taps)))
        set_out(c, op, image_shape(oh, ow, op->units));
    else
        lose_shape(c);
}

void lower_pool(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    Op *op = add_op(c, s, strcmp(s->keyword, "maxpool") == 0 ? OP_MAXPOOL : OP_AVGPOOL);
    op->kernel = (int)pos[0].n;
    op->stride = opt[0].arg ? (int)opt[0].n : op->kernel; /* as Keras: stride = pool size */
    int oh, ow;
    if (c->known && needs_image(c, op) && valid_window(c, op, pos[0].arg, &oh, &ow))
        set_out(c, op, image_shape(oh, ow, op->in.c));
}

void lower_batchnorm(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    (void)pos;
    Op *op = add_op(c, s, OP_BATCHNORM);
    op->momentum = opt[0].arg ? (float)opt[0].num : 0.99f; /* Keras' defaults */
    op->eps = opt[1].arg ? (float)opt[1].num : 0.001f;
    if (!c->known)
        return;
    op->n_w = 2 * (size_t)op->in.c; /* gamma, beta per channel */
    op->n_s = 2 * (size_t)op->in.c; /* running mean, variance */
    set_out(c, op, op->in);
}

void lower_dropout(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    (void)opt;
    Op *prev = c->m->n_ops ? &c->m->ops[c->m->n_ops - 1] : NULL;
    Op *op = add_op(c, s, OP_DROPOUT);
    op->rate = (float)pos[0].num;
    if (op->rate >= 0.8f)
        warn_at(c->src, pos[0].arg->loc,
                "dropout rate %s drops %.0f%% of the activations; the "
                "rate is the fraction dropped (TensorFlow 1's keep_prob=0.9 is 'dropout 0.1' here)",
                quote_arg(pos[0].arg), op->rate * 100.0);
    if (prev && prev->kind == OP_DROPOUT) {
        warn_at(c->src, s->kw_loc, "two dropouts in a row act as one of rate %.4g",
                1.0 - (1.0 - prev->rate) * (1.0 - op->rate));
        note_at(c->src, prev->stmt->loc, "the previous dropout is here");
    }
    if (c->known)
        set_out(c, op, op->in);
}

void lower_flatten(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    (void)pos, (void)opt;
    Op *op = add_op(c, s, OP_FLATTEN);
    if (c->known)
        set_out(c, op, flat_shape((int)shape_size(op->in)));
}

void lower_act(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    (void)opt;
    Op *op = add_op(c, s, OP_ACT);
    op->act = (ActKind)word_index(s->keyword, ACTS);
    op->alpha = op->act != ACT_LEAKY_RELU ? 0 : pos[0].arg ? (float)pos[0].num : LEAKY_ALPHA;
    if (c->known)
        set_out(c, op, op->in);
}
