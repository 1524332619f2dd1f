/* op_dropout.c: dropout P, inverted dropout with Keras' semantics. The mask
 * is regenerated from the step's key in the backward pass, never stored;
 * after a relu dense/conv2d it is drawn in that layer's pass (OT_DROPOUT),
 * and at inference the op is the identity. */
#include "ops.h"

static void lower_dropout(Ctx *c, Op *op, const Value *pos, const Value *opt) {
    (void)opt;
    op->rate = (float)pos[0].num;
    if (op->rate >= 0.8f)
        warn_at(c->src, pos[0].arg->loc,
                "dropout rate %s drops %.0f%% of the activations; the "
                "rate is the fraction dropped (TensorFlow 1's keep_prob=0.9 is 'dropout 0.1' here)",
                quote_arg(pos[0].arg), op->rate * 100.0);
    int v = op->in[0];
    const Op *prev = v > 0 ? &c->m->ops[v - 1] : NULL;
    if (prev && prev->type == op->type) {
        warn_at(c->src, op->stmt->kw_loc, "two dropouts in a row act as one of rate %.4g",
                1.0 - (1.0 - prev->rate) * (1.0 - op->rate));
        note_at(c->src, prev->stmt->loc, "the previous dropout is here");
    }
    if (inputs_known(c, op))
        set_out(c, op, op->in_shape);
}

static void dropout_forward(Emit *e, const Op *op, const FwdArgs *a) {
    emit_out(e, "    nn_dropout_forward(%s, %s, b * %zu, %s, %s);\n", a->y, a->x[0],
             shape_size(op->out), c_float(op->rate), a->key);
}

static void dropout_backward(Emit *e, const Op *op, const BwdArgs *a) {
    emit_out(e, "    nn_dropout_backward(%s, %s, b * %zu, %s, %s);\n", a->dx[0], a->dy,
             shape_size(op->out), c_float(op->rate), a->key);
}

static const Rule rules[] = {
    {.keyword = "dropout", .cls = C_LAYER, .keeps_shape = true, .usage = "dropout P",
     .n_required = 1, .pos = {{"rate", T_NUM, R_FRACTION, NULL, NULL}}},
};

const OpType dropout_op = {
    .code = 6,
    .keras_name = "dropout",
    .keras_class = "Dropout",
    .rules = rules,
    .n_rules = 1,
    .lower = lower_dropout,
    .flags = OT_DROPOUT | OT_FWD_IN_PLACE | OT_GRAD_IN_PLACE,
    .forward = dropout_forward,
    .backward = dropout_backward,
};
