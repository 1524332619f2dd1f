/* op_act.c: an activation written as its own statement (Keras' Activation
 * layer): relu, sigmoid, tanh, softmax, linear, leaky_relu [ALPHA]. After
 * a dense/conv2d whose value nothing else reads, plan.c folds it into that
 * layer's pass (OT_ACTIVATION). */
#include "ops.h"

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
};
