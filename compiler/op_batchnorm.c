/* op_batchnorm.c: batchnorm over the last axis: batch statistics while
 * training (kept from forward to backward), running statistics, which
 * checkpoints save, at inference. */
#include "ops.h"

#include <math.h>

static void lower_batchnorm(Ctx *c, Op *op, const Value *pos, const Value *opt) {
    (void)pos;
    op->momentum = opt[0].arg ? (float)opt[0].num : 0.99f; /* Keras' defaults */
    op->eps = opt[1].arg ? (float)opt[1].num : 0.001f;
    if (!inputs_known(c, op))
        return;
    op->n_w = 2 * (size_t)op->in_shape.c; /* gamma, beta per channel */
    op->n_s = 2 * (size_t)op->in_shape.c; /* running mean, variance */
    set_out(c, op, op->in_shape);
}

/* The trainer's code may fuse an activation after it (OT_TRAINER_ACT):
 * its derivative reads the output */
static unsigned batchnorm_saves(const Op *op, ActKind act) {
    (void)op;
    return SAVES_INPUT | (act != ACT_LINEAR ? SAVES_OUTPUT : 0);
}

static const char *batchnorm_weights(const Op *op) {
    (void)op;
    return "gamma, beta";
}

static void batchnorm_init(Emit *e, const Op *op) {
    int L = op->index, C = op->out.c;
    emit_out(e, "    nn_init_fill(param + P_L%d_W, %d, 1.0f); /* gamma */\n", L, C);
    emit_out(e, "    nn_init_fill(param + P_L%d_W + %d, %d, 0.0f); /* beta */\n", L, C, C);
    emit_out(e, "    nn_init_fill(state + S_L%d, %d, 0.0f); /* running mean */\n", L, C);
    emit_out(e, "    nn_init_fill(state + S_L%d + %d, %d, 1.0f); /* running variance */\n", L, C,
             C);
}

/* The batch's mean and inverse standard deviation */
static size_t batchnorm_fixed(const Op *op) {
    return 2 * (size_t)op->out.c;
}

static void batchnorm_forward(Emit *e, const Op *op, const FwdArgs *a) {
    int L = op->index;
    if (a->train)
        emit_out(e,
                 "    nn_batchnorm_train(%s, %s, state + S_L%d, %s, param + P_L%d_W, %s, %s, %s, "
                 "%d, %s, %s);\n",
                 a->y, a->fixed, L, a->x[0], L, c_act(a->act), c_float(op->alpha),
                 c_rows(op->out), op->out.c, c_float(op->momentum), c_float(op->eps));
    else
        emit_out(e,
                 "    nn_batchnorm_infer(%s, %s, state + S_L%d, param + P_L%d_W, %s, %s, %s, %d, "
                 "%s);\n",
                 a->y, a->x[0], L, L, c_act(a->act), c_float(op->alpha), c_rows(op->out),
                 op->out.c, c_float(op->eps));
}

static void batchnorm_backward(Emit *e, const Op *op, const BwdArgs *a) {
    int L = op->index;
    emit_out(e,
             "    nn_batchnorm_backward(%s, grad + P_L%d_W, %s, %s, %s, %s, %s, %s, param + "
             "P_L%d_W, %s, %d);\n",
             a->dx[0], L, a->dy, a->act != ACT_LINEAR ? a->y : "NULL", c_act(a->act),
             c_float(op->alpha), a->x[0], a->fixed, L, c_rows(op->out), op->out.c);
}

static const char batchnorm_kernel[] =
    "/* y = (x - mean) scale + beta per channel, over rows of C: the trainer's\n"
    " * inference formula, with scale = gamma / sqrt(var + eps) computed by nnc */\n"
    "static void batchnorm(float *y, const float *x, const float *mean, const float *scale,\n"
    "        const float *beta, size_t rows, int C)\n"
    "{\n"
    "    for (size_t r = 0; r < rows; r++, x += C, y += C)\n"
    "        for (int c = 0; c < C; c++)\n"
    "            y[c] = (x[c] - mean[c]) * scale[c] + beta[c];\n"
    "}\n";

/* The running mean, gamma / sqrtf(var + eps) in the float operations the
 * runtime performs (nn_batchnorm_infer), and beta: the trainer's numbers
 * bit for bit. Not folded into the conv2d before it: that would round
 * otherwise than the trainer, and a batchnorm may follow anything. */
static void batchnorm_consts(Deploy *d, const Op *op, const char *name, const float *param,
                             const float *state) {
    const int C = op->out.c;
    const float *gamma = param + op->w_off, *mean = state + op->s_off;
    float *scale = arena_alloc(sizeof *scale * (size_t)C);
    for (int c = 0; c < C; c++)
        scale[c] = gamma[c] / sqrtf(mean[C + c] + op->eps);
    deploy_array(d, arena_printf("%s_mean", name), mean, (size_t)C, "running mean");
    deploy_array(d, arena_printf("%s_scale", name), scale, (size_t)C,
                 "gamma / sqrt(running variance + eps)");
    deploy_array(d, arena_printf("%s_beta", name), gamma + C, (size_t)C, "beta");
}

/* scale = gamma / sqrt(var + eps) and shift = beta - mean scale per channel */
static void batchnorm_affine(const Op *op, const float *param, const float *state, int c,
                             float *scale, float *shift) {
    const int C = op->out.c;
    const float *gamma = param + op->w_off, *mean = state + op->s_off;
    *scale = gamma[c] / sqrtf(mean[C + c] + op->eps);
    *shift = gamma[C + c] - mean[c] * *scale;
}

static void batchnorm_calib(const Op *op, const CalibArgs *a) {
    const int C = op->out.c;
    for (size_t i = 0; i < shape_size(op->out); i++) {
        float scale, shift;
        batchnorm_affine(op, a->param, a->state, (int)(i % (size_t)C), &scale, &shift);
        a->y[i] = a->x[0][i] * scale + shift;
    }
}

/* Folded into the linear dense/conv2d before it, when only it reads that
 * layer's value (emit_int8.c): w scale, (b - mean) scale + beta per channel,
 * before the weights are quantised, which saves a pass and a rounding */
static void batchnorm_fold(const Op *op, float *w, float *b, size_t taps, const float *param,
                           const float *state) {
    for (int c = 0; c < op->out.c; c++) {
        float scale, shift;
        batchnorm_affine(op, param, state, c, &scale, &shift);
        for (size_t t = 0; t < taps; t++)
            w[(size_t)c * taps + t] *= scale;
        b[c] = b[c] * scale + shift;
    }
}

/* Anywhere else, per channel y = zy + round(shift / sy) + (x - zx) (sx
 * scale / sy), one requantisation */
static void batchnorm_int8(Quant *q, const Op *op, const Int8Args *a) {
    const int C = op->out.c;
    int32_t *off = arena_alloc(sizeof *off * (size_t)C), *m = arena_alloc(sizeof *m * (size_t)C);
    int8_t *s = arena_alloc((size_t)C);
    for (int c = 0; c < C; c++) {
        float scale, shift;
        int sh;
        batchnorm_affine(op, a->param, a->state, c, &scale, &shift);
        double o = a->qy.zp + round(shift / a->qy.scale);
        off[c] = o > INT32_MAX / 2 ? INT32_MAX / 2 : o < INT32_MIN / 2 ? INT32_MIN / 2 : (int32_t)o;
        quantize_multiplier((double)a->qx[0].scale * scale / a->qy.scale, &m[c], &sh);
        s[c] = (int8_t)sh;
    }
    int8_array32(q, arena_printf("%s_o", a->name), off, (size_t)C, "zy + (beta - mean scale) / sy");
    int8_array32(q, arena_printf("%s_m", a->name), m, (size_t)C, "sx scale / sy = m 2^(s - 31)");
    int8_array8(q, arena_printf("%s_s", a->name), s, (size_t)C, "its shift s");
    int8_requant_call(q, a->y, C, 0, a->x[0], (size_t)op->out.h * op->out.w, C, a->qx[0].zp,
                      a->name, true);
}

static void batchnorm_deploy(Deploy *d, const Op *op, const DeployArgs *a) {
    deploy_out(d, "    batchnorm(%s, %s, %s_mean, %s_scale, %s_beta, %zu, %d);\n", a->y, a->x[0],
               a->name, a->name, a->name, (size_t)op->out.h * op->out.w, op->out.c);
}

// clang-format off
static const Rule rules[] = {
    {.keyword = "batchnorm", .cls = C_LAYER, .keeps_shape = true,
     .usage = "batchnorm [momentum=X] [eps=X]",
     .opt = {{"momentum", T_NUM, R_FRACTION, NULL, NULL}, {"eps", T_NUM, R_POSITIVE, NULL, NULL}}},
};
// clang-format on

const OpType batchnorm_op = {
    .code = 4,
    .keras_name = "batch_normalization",
    .keras_class = "BatchNormalization",
    .rules = rules,
    .n_rules = 1,
    .flags = OT_TRAINER_ACT,
    .lower = lower_batchnorm,
    .saves = batchnorm_saves,
    .init = batchnorm_init,
    .weights_doc = batchnorm_weights,
    .fixed = batchnorm_fixed,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .deploy_kernel = batchnorm_kernel,
    .deploy_consts = batchnorm_consts,
    .deploy = batchnorm_deploy,
    .calib = batchnorm_calib,
    .int8 = batchnorm_int8,
    .int8_fold = batchnorm_fold,
};
