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

static const char maxpool_kernel[] =
    "/* y(OH, OW, C) = the maxima of x(., W, C)'s KxK windows at stride S */\n"
    "static void maxpool(float *y, const float *x, int W_, int C, int K, int S, int OH, int OW)\n"
    "{\n"
    "    for (int oh = 0; oh < OH; oh++)\n"
    "        for (int ow = 0; ow < OW; ow++, y += C)\n"
    "            for (int c = 0; c < C; c++) {\n"
    "                float m = x[((size_t)oh * S * W_ + (size_t)ow * S) * C + c];\n"
    "                for (int kh = 0; kh < K; kh++)\n"
    "                    for (int kw = 0; kw < K; kw++) {\n"
    "                        const float v =\n"
    "                            x[(((size_t)oh * S + kh) * W_ + (size_t)ow * S + kw) * C + c];\n"
    "                        m = v > m ? v : m;\n"
    "                    }\n"
    "                y[c] = m;\n"
    "            }\n"
    "}\n";

static const char avgpool_kernel[] =
    "/* y(OH, OW, C) = the means of x(., W, C)'s KxK windows at stride S: summed\n"
    " * in window order, times 1 / K^2, as the trainer does */\n"
    "static void avgpool(float *y, const float *x, int W_, int C, int K, int S, int OH, int OW)\n"
    "{\n"
    "    const float inv = 1.0f / (float)(K * K);\n"
    "    for (int oh = 0; oh < OH; oh++)\n"
    "        for (int ow = 0; ow < OW; ow++, y += C)\n"
    "            for (int c = 0; c < C; c++) {\n"
    "                float s = 0.0f;\n"
    "                for (int kh = 0; kh < K; kh++)\n"
    "                    for (int kw = 0; kw < K; kw++)\n"
    "                        s += x[(((size_t)oh * S + kh) * W_ + (size_t)ow * S + kw) * C + c];\n"
    "                y[c] = s * inv;\n"
    "            }\n"
    "}\n";

static void pool_deploy(Deploy *d, const Op *op, const DeployArgs *a) {
    /* the kernels are named as the statements */
    deploy_out(d, "    %s(%s, %s, %d, %d, %d, %d, %d, %d);\n", op->stmt->keyword, a->y, a->x[0],
               op->in_shape.w, op->in_shape.c, op->kernel, op->stride, op->out.h, op->out.w);
}

static void maxpool_calib(const Op *op, const CalibArgs *a) {
    float *y = a->y;
    const float *const *x = a->x;
    const int W_ = op->in_shape.w, C = op->out.c, K = op->kernel, S = op->stride;
    for (int oh = 0; oh < op->out.h; oh++)
        for (int ow = 0; ow < op->out.w; ow++, y += C)
            for (int c = 0; c < C; c++) {
                float m = x[0][((size_t)oh * S * W_ + (size_t)ow * S) * C + c];
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        const float v = x[0][(((size_t)oh * S + kh) * W_ + (size_t)ow * S + kw) * C + c];
                        m = v > m ? v : m;
                    }
                y[c] = m;
            }
}

static void avgpool_calib(const Op *op, const CalibArgs *a) {
    float *y = a->y;
    const float *const *x = a->x;
    const int W_ = op->in_shape.w, C = op->out.c, K = op->kernel, S = op->stride;
    for (int oh = 0; oh < op->out.h; oh++)
        for (int ow = 0; ow < op->out.w; ow++, y += C)
            for (int c = 0; c < C; c++) {
                float s = 0.0f;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++)
                        s += x[0][(((size_t)oh * S + kh) * W_ + (size_t)ow * S + kw) * C + c];
                y[c] = s / (float)(K * K);
            }
}

/* Both keep the input's scale and zero point (OT_INT8_KEEPS): a maximum of
 * int8 values is the int8 of the maximum; a mean, rounded, that of the mean */
static const char maxpool8_kernel[] =
    "/* y(OH, OW, C) = the maxima of x(., W, C)'s KxK windows at stride S, in x's\n"
    " * scale and zero point */\n"
    "static void maxpool8(int8_t *y, const int8_t *x, int W_, int C, int K, int S, int OH, int OW)\n"
    "{\n"
    "    for (int oh = 0; oh < OH; oh++)\n"
    "        for (int ow = 0; ow < OW; ow++, y += C)\n"
    "            for (int c = 0; c < C; c++) {\n"
    "                int8_t m = -128;\n"
    "                for (int kh = 0; kh < K; kh++)\n"
    "                    for (int kw = 0; kw < K; kw++) {\n"
    "                        const int8_t v =\n"
    "                            x[(((size_t)oh * S + kh) * W_ + (size_t)ow * S + kw) * C + c];\n"
    "                        m = v > m ? v : m;\n"
    "                    }\n"
    "                y[c] = m;\n"
    "            }\n"
    "}\n";

static const char avgpool8_kernel[] =
    "/* y(OH, OW, C) = the means of x(., W, C)'s KxK windows at stride S, rounded\n"
    " * half away from zero, in x's scale and zero point */\n"
    "static void avgpool8(int8_t *y, const int8_t *x, int W_, int C, int K, int S, int OH, int OW)\n"
    "{\n"
    "    const int32_t n = K * K;\n"
    "    for (int oh = 0; oh < OH; oh++)\n"
    "        for (int ow = 0; ow < OW; ow++, y += C)\n"
    "            for (int c = 0; c < C; c++) {\n"
    "                int32_t s = 0;\n"
    "                for (int kh = 0; kh < K; kh++)\n"
    "                    for (int kw = 0; kw < K; kw++)\n"
    "                        s += x[(((size_t)oh * S + kh) * W_ + (size_t)ow * S + kw) * C + c];\n"
    "                y[c] = (int8_t)((s >= 0 ? s + n / 2 : s - n / 2) / n);\n"
    "            }\n"
    "}\n";

static void pool_int8(Quant *q, const Op *op, const Int8Args *a) {
    int8_out(q, "    %s8(%s, %s, %d, %d, %d, %d, %d, %d);\n", op->stmt->keyword, a->y, a->x[0],
             op->in_shape.w, op->in_shape.c, op->kernel, op->stride, op->out.h, op->out.w);
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
    .flags = OT_INT8_KEEPS,
    .extra = maxpool_extra,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .deploy_kernel = maxpool_kernel,
    .deploy = pool_deploy,
    .calib = maxpool_calib,
    .int8_kernel = maxpool8_kernel,
    .int8 = pool_int8,
};

const OpType avgpool_op = {
    .code = 3,
    .keras_name = "average_pooling2d",
    .keras_class = "AveragePooling2D",
    .rules = avgpool_rules,
    .n_rules = 1,
    .lower = lower_pool,
    .flags = OT_INT8_KEEPS,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .deploy_kernel = avgpool_kernel,
    .deploy = pool_deploy,
    .calib = avgpool_calib,
    .int8_kernel = avgpool8_kernel,
    .int8 = pool_int8,
};
