/* op_dense.c: dense N [ACT], y = act(x W^T + b), W (OUT, IN) as in PyTorch. */
#include "ops.h"

static void lower_dense(Ctx *c, Op *op, const Value *pos, const Value *opt) {
    op->units = (int)pos[0].n;
    op->act = pos[1].arg ? (ActKind)pos[1].word : ACT_LINEAR;
    op->alpha = op->act == ACT_LEAKY_RELU ? LEAKY_ALPHA : 0;
    op->init = opt[0].arg ? (InitKind)opt[0].word : INIT_GLOROT;
    op->bias = opt[1].arg ? opt[1].word : true;
    if (!inputs_known(c, op))
        return;
    if (op->in_shape.rank != 1) {
        error_at(c->src, pos[0].arg->loc,
                 "'dense' needs a flat input, got %s; add 'flatten' "
                 "before it",
                 shape_str(op->in_shape));
        note_shape(c, op->in[0]);
    }
    op->n_w = sat_mul((size_t)op->units, floats_of(op->in_shape));
    op->n_b = op->bias ? (size_t)op->units : 0;
    if (fits(c, op, "has a weight matrix of", op->n_w))
        set_out(c, op, flat_shape(op->units));
}

static unsigned dense_saves(const Op *op, ActKind act) {
    (void)op;
    return SAVES_INPUT | (act != ACT_LINEAR ? SAVES_OUTPUT : 0);
}

static void dense_fans(const Op *op, long *fan_in, long *fan_out) {
    *fan_in = (long)shape_size(op->in_shape);
    *fan_out = op->units;
}

static const char *dense_weights(const Op *op) {
    return arena_printf("(%d, %zu)", op->units, shape_size(op->in_shape));
}

/* The GEMM, then one pass of bias and activation over its output; with a
 * fused dropout, that pass draws the mask too (the output is then the
 * dropout's) */
static void dense_forward(Emit *e, const Op *op, const FwdArgs *a) {
    emit_out(e, "    nn_dense_forward(%s, %s, param + P_L%d_W, B, %zu, %d);\n", a->y, a->x[0],
             op->index, shape_size(op->in_shape), op->units);
    if (a->drop)
        emit_out(e, "    nn_bias_relu_dropout(%s, %s, B, %d, %s, %s);\n", a->y,
                 c_bias(op, "param"), op->units, c_float(a->drop->rate), a->key);
    else
        emit_out(e, "    nn_bias_act(%s, %s, B, %d, %s, %s);\n", a->y, c_bias(op, "param"),
                 op->units, c_act(a->act), c_float(op->alpha));
}

static void dense_backward(Emit *e, const Op *op, const BwdArgs *a) {
    if (a->drop)
        emit_out(e, "    nn_relu_dropout_backward(%s, %s, %s, b * %d, %s);\n", a->dy, a->dy, a->y,
                 op->units, c_float(a->drop->rate));
    else if (a->act != ACT_LINEAR)
        emit_out(e, "    nn_act_backward(%s, %s, %s, B, %d, %s, %s);\n", a->dy, a->dy, a->y,
                 op->units, c_act(a->act), c_float(op->alpha));
    emit_out(e,
             "    nn_dense_backward(%s, grad + P_L%d_W, %s, %s, %s, param + P_L%d_W, B, %zu, "
             "%d);\n",
             a->dx[0], op->index, c_bias(op, "grad"), a->dy, a->x[0], op->index,
             shape_size(op->in_shape), op->units);
}

static const char dense_kernel[] =
    "/* y(OUT) = W(OUT, IN) x(IN) + b: one dot product per output */\n"
    "static void dense(float *y, const float *x, const float *W, const float *b, int IN, int OUT)\n"
    "{\n"
    "    for (int o = 0; o < OUT; o++) {\n"
    "        const float *w = W + (size_t)o * IN;\n"
    "        float acc = 0.0f;\n"
    "        for (int i = 0; i < IN; i++)\n"
    "            acc += w[i] * x[i];\n"
    "        y[o] = b ? acc + b[o] : acc;\n"
    "    }\n"
    "}\n";

static void dense_deploy(Deploy *d, const Op *op, const DeployArgs *a) {
    deploy_out(d, "    dense(%s, %s, %s_w, %s, %zu, %d);\n", a->y, a->x[0], a->name,
               op->n_b ? arena_printf("%s_b", a->name) : "NULL", shape_size(op->in_shape),
               op->units);
    deploy_act(d, a->y, a->y, op->out, op->act, op->alpha);
}

/* The 1x1 convolution of a 1x1 image of IN channels */
static void dense_calib(const Op *op, const CalibArgs *a) {
    const float *param = a->param;
    conv2d_float(a->y, a->x[0], param + op->w_off, op->n_b ? param + op->b_off : NULL, 1, 1,
                 (int)shape_size(op->in_shape), 1, 1, 0, op->units, 1, 1);
}

static void dense_int8(Quant *q, const Op *op, const Int8Args *a) {
    int8_gemm_consts(q, a->name, a->w, a->b, op->units, shape_size(op->in_shape), a->qx[0],
                     a->pre);
    int8_out(q, "    conv8(%s, %s, %s_w, %s_b, %s_m, %s_s, 1, 1, %zu, 1, 1, 0, %d, 1, 1, %d, %d);\n",
             a->y, a->x[0], a->name, a->name, a->name, a->name, shape_size(op->in_shape),
             op->units, a->qx[0].zp, a->pre.zp);
    int8_fused_act(q, op, a);
}

// clang-format off
static const Rule rules[] = {
    {.keyword = "dense", .cls = C_LAYER,
     .usage = "dense N [ACT] [init=he|glorot|zeros] [bias=true|false]",
     .n_required = 1, .pos = {{"units", T_INT, R_COUNT, NULL, NULL}, ACT_ARG},
     .opt = {INIT_OPT, BIAS_OPT}},
};
// clang-format on

const OpType dense_op = {
    .code = 0,
    .keras_name = "dense",
    .keras_class = "Dense",
    .rules = rules,
    .n_rules = 1,
    .lower = lower_dense,
    .flags = OT_TAKES_ACT,
    .saves = dense_saves,
    .fans = dense_fans,
    .weights_doc = dense_weights,
    .forward = dense_forward,
    .backward = dense_backward,
    .deploy_kernel = dense_kernel,
    .deploy = dense_deploy,
    .calib = dense_calib,
    .int8_kernel = conv8_kernel,
    .int8 = dense_int8,
};
