/* op_gap.c: gap, global average pooling (Keras' GlobalAveragePooling2D):
 * an HxWxC image becomes its C channel means, flat. */
#include "ops.h"

static void lower_gap(Ctx *c, Op *op, const Value *pos, const Value *opt) {
    (void)pos, (void)opt;
    if (inputs_known(c, op) && needs_image(c, op))
        set_out(c, op, flat_shape(op->in_shape.c));
}

static void gap_forward(Emit *e, const Op *op, const FwdArgs *a) {
    Shape in = op->in_shape;
    emit_out(e, "    nn_gap_forward(%s, %s, B, %d, %d);\n", a->y, a->x[0], in.h * in.w, in.c);
}

static void gap_backward(Emit *e, const Op *op, const BwdArgs *a) {
    Shape in = op->in_shape;
    emit_out(e, "    nn_gap_backward(%s, %s, B, %d, %d);\n", a->dx[0], a->dy, in.h * in.w, in.c);
}

static const char gap_kernel[] =
    "/* y(C) = the channel means of x(HW, C): summed pixel by pixel, / HW */\n"
    "static void gap(float *y, const float *x, int HW, int C)\n"
    "{\n"
    "    for (int c = 0; c < C; c++) {\n"
    "        float s = 0.0f;\n"
    "        for (int p = 0; p < HW; p++)\n"
    "            s += x[(size_t)p * C + c];\n"
    "        y[c] = s / (float)HW;\n"
    "    }\n"
    "}\n";

static void gap_deploy(Deploy *d, const Op *op, const DeployArgs *a) {
    deploy_out(d, "    gap(%s, %s, %d, %d);\n", a->y, a->x[0], op->in_shape.h * op->in_shape.w,
               op->in_shape.c);
}

static void gap_calib(const Op *op, const CalibArgs *a) {
    float *y = a->y;
    const float *const *x = a->x;
    const int HW = op->in_shape.h * op->in_shape.w, C = op->in_shape.c;
    for (int c = 0; c < C; c++) {
        float s = 0.0f;
        for (int p = 0; p < HW; p++)
            s += x[0][(size_t)p * C + c];
        y[c] = s / (float)HW;
    }
}

/* In the input's scale and zero point (OT_INT8_KEEPS), as avgpool8 */
static const char gap8_kernel[] =
    "/* y(C) = the channel means of x(HW, C), rounded half away from zero, in x's\n"
    " * scale and zero point */\n"
    "static void gap8(int8_t *y, const int8_t *x, int HW, int C)\n"
    "{\n"
    "    for (int c = 0; c < C; c++) {\n"
    "        int32_t s = 0;\n"
    "        for (int p = 0; p < HW; p++)\n"
    "            s += x[(size_t)p * C + c];\n"
    "        y[c] = (int8_t)((s >= 0 ? s + HW / 2 : s - HW / 2) / HW);\n"
    "    }\n"
    "}\n";

static void gap_int8(Quant *q, const Op *op, const Int8Args *a) {
    int8_out(q, "    gap8(%s, %s, %d, %d);\n", a->y, a->x[0], op->in_shape.h * op->in_shape.w,
             op->in_shape.c);
}

static const Rule rules[] = {
    {.keyword = "gap", .cls = C_LAYER, .usage = "gap"},
};

const OpType gap_op = {
    .code = 10,
    .keras_name = "global_average_pooling2d",
    .keras_class = "GlobalAveragePooling2D",
    .rules = rules,
    .n_rules = 1,
    .lower = lower_gap,
    .flags = OT_INT8_KEEPS,
    .forward = gap_forward,
    .backward = gap_backward,
    .deploy_kernel = gap_kernel,
    .deploy = gap_deploy,
    .calib = gap_calib,
    .int8_kernel = gap8_kernel,
    .int8 = gap_int8,
};
