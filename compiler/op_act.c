/* op_act.c: an activation written as its own statement (Keras' Activation
 * layer): relu, sigmoid, tanh, softmax, linear, leaky_relu [ALPHA]. After
 * a dense/conv2d whose value nothing else reads, plan.c folds it into that
 * layer's pass (OT_ACTIVATION). */
#include "ops.h"

#include <string.h>

static void lower_act(Ctx *c, Op *op, const Value *pos, const Value *opt) {
    (void)opt;
    op->act = (ActKind)word_index(op->stmt->keyword, ACTS);
    op->alpha = op->act != ACT_LEAKY_RELU ? 0 : pos[0].arg ? (float)pos[0].num : LEAKY_ALPHA;
    if (inputs_known(c, op))
        set_out(c, op, op->in_shape);
}

/* The derivative is computed from the output */
static unsigned act_saves(const Op *op, ActKind act) {
    (void)op, (void)act;
    return SAVES_OUTPUT;
}

static void act_forward(Emit *e, const Op *op, const FwdArgs *a) {
    emit_out(e, "    nn_act_forward(%s, %s, %s, %d, %s, %s);\n", a->y, a->x[0], c_rows(op->out),
             op->out.c, c_act(a->act), c_float(op->alpha));
}

static void act_backward(Emit *e, const Op *op, const BwdArgs *a) {
    emit_out(e, "    nn_act_backward(%s, %s, %s, %s, %d, %s, %s);\n", a->dx[0], a->dy, a->y,
             c_rows(op->out), op->out.c, c_act(a->act), c_float(op->alpha));
}

static void act_deploy(Deploy *d, const Op *op, const DeployArgs *a) {
    deploy_act(d, a->y, a->x[0], op->out, op->act, op->alpha);
}

static void act_calib(const Op *op, const CalibArgs *a) {
    float *y = a->y;
    const float *const *x = a->x;
    memcpy(y, x[0], sizeof *y * shape_size(op->out)); /* calibrate.c applies op->act */
}

/* A table from the input's quantisation to the output's; a softmax in
 * int8, but the last layer's, which leaves the logits to predict */
static void act_int8(Quant *q, const Op *op, const Int8Args *a) {
    if (op->act != ACT_SOFTMAX)
        int8_lut(q, op, a->y, a->x[0], shape_size(op->out), a->qx[0], a->qy);
    else if (!a->last)
        int8_softmax(q, op, a->y, a->x[0], a->qx[0]);
    else if (strcmp(a->y, a->x[0]) != 0)
        int8_out(q, "    memcpy(%s, %s, %zu);\n", a->y, a->x[0], shape_size(op->out));
}

// clang-format off
#define ACTIVATION(word) {.keyword = word, .cls = C_LAYER, .keeps_shape = true, .usage = word}
static const Rule rules[] = {
    ACTIVATION("linear"),
    ACTIVATION("relu"),
    ACTIVATION("sigmoid"),
    ACTIVATION("tanh"),
    ACTIVATION("softmax"),
    {.keyword = "leaky_relu", .cls = C_LAYER, .keeps_shape = true,
     .usage = "leaky_relu [ALPHA]", .pos = {{"alpha", T_NUM, R_NONNEG, NULL, NULL}}},
};
// clang-format on

const OpType act_op = {
    .code = 7,
    .keras_name = "activation",
    .keras_class = "Activation",
    .rules = rules,
    .n_rules = sizeof rules / sizeof rules[0],
    .lower = lower_act,
    .flags = OT_ACTIVATION | OT_FWD_IN_PLACE | OT_GRAD_IN_PLACE,
    .saves = act_saves,
    .forward = act_forward,
    .backward = act_backward,
    .deploy = act_deploy,
    .calib = act_calib,
    .int8 = act_int8,
};
