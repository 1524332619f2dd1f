/* op_flatten.c: flatten, (h, w, c) -> (h*w*c): on HWC data the bytes are
 * already in order, so the output is the input's buffer (OT_ALIAS). */
#include "ops.h"

static void lower_flatten(Ctx *c, Op *op, const Value *pos, const Value *opt) {
    (void)pos, (void)opt;
    if (inputs_known(c, op))
        set_out(c, op, flat_shape((int)shape_size(op->in_shape)));
}

static const Rule rules[] = {
    {.keyword = "flatten", .cls = C_LAYER, .usage = "flatten"},
};

const OpType flatten_op = {
    .code = 5,
    .keras_name = "flatten",
    .keras_class = "Flatten",
    .rules = rules,
    .n_rules = 1,
    .lower = lower_flatten,
    .flags = OT_ALIAS,
};
