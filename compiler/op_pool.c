/* op_pool.c: maxpool KxK and avgpool KxK, NHWC, stride defaulting to K (as
 * Keras), no padding. maxpool keeps each maximum's index for its backward. */
#include "ops.h"

static void lower_pool(Ctx *c, Op *op, const Value *pos, const Value *opt) {
    op->kernel = (int)pos[0].n;
    op->stride = opt[0].arg ? (int)opt[0].n : op->kernel; /* as Keras: stride = pool size */
    int oh, ow;
    if (inputs_known(c, op) && needs_image(c, op) && valid_window(c, op, pos[0].arg, &oh, &ow))
        set_out(c, op, image_shape(oh, ow, op->in_shape.c));
}

/* The argmax indices, int32, one float-sized slot each */
static size_t maxpool_extra(const Op *op) {
    return shape_size(op->out);
}

static void maxpool_forward(Emit *e, const Op *op, const FwdArgs *a) {
    Shape in = op->in_shape, o = op->out;
    emit_out(e, "    nn_maxpool_forward(%s, %s, %s, B, %d, %d, %d, %d, %d, %d, %d);\n", a->y,
             a->extra ? arena_printf("(int32_t *)%s", a->extra) : "NULL", a->x[0], in.h, in.w,
             in.c, op->kernel, op->stride, o.h, o.w);
}

static void maxpool_backward(Emit *e, const Op *op, const BwdArgs *a) {
    Shape in = op->in_shape, o = op->out;
    emit_out(e, "    nn_maxpool_backward(%s, %s, (const int32_t *)%s, B, %d, %d, %d, %d, %d);\n",
             a->dx[0], a->dy, a->extra, in.h, in.w, in.c, o.h, o.w);
}

static void avgpool_forward(Emit *e, const Op *op, const FwdArgs *a) {
    Shape in = op->in_shape, o = op->out;
    emit_out(e, "    nn_avgpool_forward(%s, %s, B, %d, %d, %d, %d, %d, %d, %d);\n", a->y, a->x[0],
             in.h, in.w, in.c, op->kernel, op->stride, o.h, o.w);
}

static void avgpool_backward(Emit *e, const Op *op, const BwdArgs *a) {
    Shape in = op->in_shape, o = op->out;
    emit_out(e, "    nn_avgpool_backward(%s, %s, B, %d, %d, %d, %d, %d, %d, %d);\n", a->dx[0],
             a->dy, in.h, in.w, in.c, op->kernel, op->stride, o.h, o.w);
}

// clang-format off
static const Rule maxpool_rules[] = {
    {.keyword = "maxpool", .cls = C_LAYER, .usage = "maxpool KxK [stride=S]",
     .n_required = 1, .pos = {KERNEL}, .opt = {STRIDE}},
};
static const Rule avgpool_rules[] = {
    {.keyword = "avgpool", .cls = C_LAYER, .usage = "avgpool KxK [stride=S]",
     .n_required = 1, .pos = {KERNEL}, .opt = {STRIDE}},
};
// clang-format on

const OpType maxpool_op = {
    .code = 2,
    .keras_name = "max_pooling2d",
    .keras_class = "MaxPooling2D",
    .rules = maxpool_rules,
    .n_rules = 1,
    .lower = lower_pool,
    .extra = maxpool_extra,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
};

const OpType avgpool_op = {
    .code = 3,
    .keras_name = "average_pooling2d",
    .keras_class = "AveragePooling2D",
    .rules = avgpool_rules,
    .n_rules = 1,
    .lower = lower_pool,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
};
