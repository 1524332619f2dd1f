/* shape.c: what the layer kinds' shape inference shares (ops.h).
 *
 * A LayerFn (compiler/op_*.c) computes its Op's output shape (as Keras
 * does) and the floats of its weights and bias, each checked against what
 * the runtime can index; these are its tools. Shape errors come with a
 * note at the statement that gave the input its shape. A value whose shape
 * cannot be known (after an error) has rank 0, and the checks of every op
 * that reads it pause instead of reporting follow-on errors.
 */
#include "ops.h"

#include <assert.h>
#include <string.h>

const char *quote_stmt(const Source *src, const Stmt *s) {
    return clip_text(src->text + s->loc.start, (size_t)(s->loc.end - s->loc.start));
}

const char *shape_str(Shape s) {
    return s.rank == 1 ? arena_printf("%d", s.c) : arena_printf("%dx%dx%d", s.h, s.w, s.c);
}

size_t sat_mul(size_t a, size_t b) { /* saturating */
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

Shape value_shape(const Model *m, int v) {
    assert(v >= 0 && v <= m->n_ops);
    return v == 0 ? m->input : m->ops[v - 1].out;
}

bool has_joins(const Model *m) {
    for (int i = 0; i < m->n_ops; i++)
        if (m->ops[i].n_in > 1)
            return true;
    return false;
}

bool inputs_known(const Ctx *c, const Op *op) {
    for (int k = 0; k < op->n_in; k++)
        if (op->in[k] < 0 || value_shape(c->m, op->in[k]).rank == 0)
            return false;
    return true;
}

void note_shape(const Ctx *c, int value) {
    const Stmt *from = c->shape_from[value];
    note_at(c->src, from->loc, "the shape comes from '%s' here", quote_stmt(c->src, from));
}

/* n floats of one tensor of op: fits the runtime, or an error. */
bool fits(Ctx *c, const Op *op, const char *what, size_t n) {
    if (n <= MAX_FLOATS)
        return true;
    c->oversized = true;
    error_at(c->src, op->stmt->loc, "'%s' %s %s floats; at most %s are supported",
             quote_stmt(c->src, op->stmt), what, n == SIZE_MAX ? "more than 2^64" : thousands(n),
             thousands(MAX_FLOATS));
    return false;
}

/* Sets the output shape (left unknown when too large). */
void set_out(Ctx *c, Op *op, Shape out) {
    if (fits(c, op, "has an output of", floats_of(out)))
        op->out = out;
}

/* conv2d and the pools read images: a flat input is an error. */
bool needs_image(Ctx *c, const Op *op) {
    if (op->in_shape.rank == 3)
        return true;
    error_at(c->src, op->stmt->kw_loc, "'%s' needs an image input (HxWxC), got a flat %d",
             op->stmt->keyword, op->in_shape.c);
    note_shape(c, op->in[0]);
    return false;
}

/* A window of K x K with no padding: (H - K) / S + 1 outputs per side. */
bool valid_window(Ctx *c, const Op *op, const Arg *kernel, int *oh, int *ow) {
    int k = op->kernel, s = op->stride;
    if (k > op->in_shape.h || k > op->in_shape.w) {
        error_at(c->src, kernel->loc,
                 "kernel %dx%d is larger than its %s input: the output would "
                 "be empty",
                 k, k, shape_str(op->in_shape));
        note_shape(c, op->in[0]);
        return false;
    }
    *oh = (op->in_shape.h - k) / s + 1;
    *ow = (op->in_shape.w - k) / s + 1;
    return true;
}
