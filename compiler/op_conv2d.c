/* op_conv2d.c: conv2d N KxK [ACT], NHWC, W (OC, K, K, C); padding as
 * TensorFlow computes it. The kernels apply bias and activation image by
 * image, and the activation's derivative in the backward pass. */
#include "ops.h"

static void lower_conv2d(Ctx *c, Op *op, const Value *pos, const Value *opt) {
    op->units = (int)pos[0].n;
    op->kernel = (int)pos[1].n;
    op->act = pos[2].arg ? (ActKind)pos[2].word : ACT_LINEAR;
    op->alpha = op->act == ACT_LEAKY_RELU ? LEAKY_ALPHA : 0;
    op->stride = opt[0].arg ? (int)opt[0].n : 1;
    op->same = opt[1].arg && opt[1].word == PAD_SAME;
    op->init = opt[2].arg ? (InitKind)opt[2].word : INIT_GLOROT;
    op->bias = opt[3].arg ? opt[3].word : true;
    if (!inputs_known(c, op) || !needs_image(c, op))
        return;
    Shape in = op->in_shape;
    int k = op->kernel, st = op->stride, oh, ow;
    if (op->same) {
        /* TensorFlow's rule: ceil(H / S) outputs, the padding they need
         * split with the smaller half on top and left. */
        oh = (int)((in.h + (long long)st - 1) / st);
        ow = (int)((in.w + (long long)st - 1) / st);
        long long pad_h = ((long long)(oh - 1) * st + k - in.h) / 2;
        long long pad_w = ((long long)(ow - 1) * st + k - in.w) / 2;
        pad_h = pad_h > 0 ? pad_h : 0;
        pad_w = pad_w > 0 ? pad_w : 0;
        if (pad_h != pad_w) {
            error_at(c->src, opt[1].arg->loc,
                     "padding=same on a %s input with stride %d pads "
                     "%lld on top but %lld on the left; only equal padding is supported",
                     shape_str(in), st, pad_h, pad_w);
            return;
        }
        op->pad = (int)pad_h;
    } else if (!valid_window(c, op, pos[1].arg, &oh, &ow)) {
        return;
    }
    size_t taps = sat_mul(sat_mul((size_t)k, (size_t)k), (size_t)in.c); /* one output's inputs */
    op->n_w = sat_mul((size_t)op->units, taps);
    op->n_b = op->bias ? (size_t)op->units : 0;
    if (fits(c, op, "has a kernel of", op->n_w) &&
        fits(c, op, "needs an im2col buffer of", sat_mul(sat_mul((size_t)oh, (size_t)ow), taps)))
        set_out(c, op, image_shape(oh, ow, op->units));
}

static unsigned conv2d_saves(const Op *op, ActKind act) {
    (void)op;
    return SAVES_INPUT | (act != ACT_LINEAR ? SAVES_OUTPUT : 0);
}

static void conv2d_fans(const Op *op, long *fan_in, long *fan_out) {
    *fan_in = (long)op->kernel * op->kernel * op->in_shape.c;
    *fan_out = (long)op->kernel * op->kernel * op->units;
}

static const char *conv2d_weights(const Op *op) {
    return arena_printf("(%d, %d, %d, %d)", op->units, op->kernel, op->kernel, op->in_shape.c);
}

static size_t max3(size_t a, size_t b, size_t c) {
    size_t m = a > b ? a : b;
    return m > c ? m : c;
}

/* nn_conv2d_scratch in runtime/nnrt.h: the same formula */
static size_t conv2d_scratch(const Op *op) {
    const size_t K = (size_t)op->kernel, S = (size_t)op->stride, C = (size_t)op->in_shape.c;
    const size_t OH = (size_t)op->out.h, OW = (size_t)op->out.w, OC = (size_t)op->units;
    const size_t cols = OH * OW * K * K * C;
    const size_t padded = ((OH - 1) * S + K) * ((OW - 1) * S + K) * C;
    const size_t dy = (OH + 2 * (K - 1)) * (OW + 2 * (K - 1)) * OC;
    return max3(cols, padded + OC * K * K * C, dy) + OC * K * K * C;
}

/* nn_conv2d_partials in runtime/nnrt.h: the same formula, for at most
 * NN_MAX_BLOCKS = 12 shards */
static size_t conv2d_partials(const Op *op) {
    const size_t K = (size_t)op->kernel, C = (size_t)op->in_shape.c, OC = (size_t)op->units;
    return (12 - 1) * (OC * K * K * C + OC);
}

static void conv2d_forward(Emit *e, const Op *op, const FwdArgs *a) {
    Shape in = op->in_shape, o = op->out;
    emit_out(e,
             "    nn_conv2d_forward(%s, %s, param + P_L%d_W, %s, %s, %s, col, B, %d, %d, %d, %d, "
             "%d, %d, %d, %d, %d);\n",
             a->y, a->x[0], op->index, c_bias(op, "param"), c_act(a->act), c_float(op->alpha),
             in.h, in.w, in.c, op->kernel, op->stride, op->pad, o.c, o.h, o.w);
    if (a->drop) /* relu was applied image by image; the mask goes over the result */
        emit_out(e, "    nn_dropout_forward(%s, %s, b * %zu, %s, %s);\n", a->y, a->y,
                 shape_size(o), c_float(a->drop->rate), a->key);
}

static void conv2d_backward(Emit *e, const Op *op, const BwdArgs *a) {
    Shape in = op->in_shape, o = op->out;
    /* The kernel applies the activation's derivative itself, image by
     * image, unless a fused dropout's pass does it here */
    bool own_act = a->act != ACT_LINEAR && !a->drop;
    if (a->drop)
        emit_out(e, "    nn_relu_dropout_backward(%s, %s, %s, b * %zu, %s);\n", a->dy, a->dy,
                 a->y, shape_size(o), c_float(a->drop->rate));
    emit_out(e,
             "    nn_conv2d_backward(%s, grad + P_L%d_W, %s, %s, %s, %s, %s, %s, param + P_L%d_W, "
             "col, partials, B, %d, %d, %d, %d, %d, %d, %d, %d, %d);\n",
             a->dx[0], op->index, c_bias(op, "grad"), a->dy, own_act ? a->y : "NULL",
             c_act(own_act ? a->act : ACT_LINEAR), c_float(op->alpha), a->x[0], op->index, in.h,
             in.w, in.c, op->kernel, op->stride, op->pad, o.c, o.h, o.w);
}

static const char conv2d_kernel[] =
    "/* y(OH, OW, OC): x(H, W, C)'s KxK windows at stride S, zero-padded by P on\n"
    " * top and left (and as far as they reach bottom and right), times\n"
    " * W(OC, K, K, C), + b */\n"
    "static void conv2d(float *y, const float *x, const float *W, const float *b, int H, int W_,\n"
    "        int C, int K, int S, int P, int OC, int OH, int OW)\n"
    "{\n"
    "    for (int oh = 0; oh < OH; oh++)\n"
    "        for (int ow = 0; ow < OW; ow++)\n"
    "            for (int oc = 0; oc < OC; oc++) {\n"
    "                float acc = b ? b[oc] : 0.0f;\n"
    "                for (int kh = 0; kh < K; kh++) {\n"
    "                    const int ih = oh * S + kh - P;\n"
    "                    if (ih < 0 || ih >= H)\n"
    "                        continue;\n"
    "                    for (int kw = 0; kw < K; kw++) {\n"
    "                        const int iw = ow * S + kw - P;\n"
    "                        if (iw < 0 || iw >= W_)\n"
    "                            continue;\n"
    "                        const float *xp = x + ((size_t)ih * W_ + iw) * C;\n"
    "                        const float *wp = W + (((size_t)oc * K + kh) * K + kw) * C;\n"
    "                        for (int c = 0; c < C; c++)\n"
    "                            acc += xp[c] * wp[c];\n"
    "                    }\n"
    "                }\n"
    "                y[((size_t)oh * OW + ow) * OC + oc] = acc;\n"
    "            }\n"
    "}\n";

static void conv2d_deploy(Deploy *d, const Op *op, const DeployArgs *a) {
    Shape in = op->in_shape, o = op->out;
    deploy_out(d, "    conv2d(%s, %s, %s_w, %s, %d, %d, %d, %d, %d, %d, %d, %d, %d);\n", a->y,
               a->x[0], a->name, op->n_b ? arena_printf("%s_b", a->name) : "NULL", in.h, in.w,
               in.c, op->kernel, op->stride, op->pad, o.c, o.h, o.w);
    deploy_act(d, a->y, a->y, o, op->act, op->alpha);
}

/* Four output channels at a time, their weights interleaved by nnc
 * (int8_gemm_consts): each input byte is loaded once for four weights that
 * lie side by side, so the Cortex-M4's inner loop is ldrsb x, four ldrsb w
 * and smlabb, and the loop's compare and branch: 2.75 instructions a MAC,
 * against 6 one channel at a time */
const char conv8_kernel[] =
    "/* y(OH, OW, OC), zero point zy: x(H, W, C) of zero point zx convolved with the\n"
    " * int8 weights at stride S, padding P, in int32: b[oc] (which holds -zx sum(w))\n"
    " * + sum(w x) over the taps in the image + zx sum(w) over those in the padding\n"
    " * (a real 0 is zx), times m[oc] 2^(s[oc] - 31). Four channels at a time: W\n"
    " * holds blocks of four channels (the last padded with zeros), tap by tap\n"
    " * (K, K, C), the four weights of a tap side by side. dense is the 1x1 case. */\n"
    "static void conv8(int8_t *y, const int8_t *x, const int8_t *W, const int32_t *b,\n"
    "        const int32_t *m, const int8_t *s, int H, int W_, int C, int K, int S, int P,\n"
    "        int OC, int OH, int OW, int zx, int zy)\n"
    "{\n"
    "    for (int oh = 0; oh < OH; oh++)\n"
    "        for (int ow = 0; ow < OW; ow++, y += OC)\n"
    "            for (int oc = 0; oc < OC; oc += 4) {\n"
    "                const int8_t *w = W + (size_t)oc * K * K * C;\n"
    "                int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;\n"
    "                for (int kh = 0; kh < K; kh++)\n"
    "                    for (int kw = 0; kw < K; kw++) {\n"
    "                        const int ih = oh * S + kh - P, iw = ow * S + kw - P;\n"
    "                        const int pad = ih < 0 || ih >= H || iw < 0 || iw >= W_;\n"
    "                        const int8_t *xp = pad ? x : x + ((size_t)ih * W_ + iw) * C;\n"
    "                        for (int c = C; c > 0; c--, w += 4) { /* counted down: no bound kept */\n"
    "                            const int32_t v = pad ? zx : *xp++;\n"
    "                            a0 += v * w[0], a1 += v * w[1], a2 += v * w[2], a3 += v * w[3];\n"
    "                        }\n"
    "                    }\n"
    "                const int32_t a[4] = {a0, a1, a2, a3};\n"
    "                for (int k = 0; k < 4 && oc + k < OC; k++)\n"
    "                    y[oc + k] = clamp8(zy + rescale(b[oc + k] + a[k], m[oc + k], s[oc + k]));\n"
    "            }\n"
    "}\n";

void conv2d_float(float *y, const float *x, const float *W, const float *b, int H, int W_, int C,
                  int K, int S, int P, int OC, int OH, int OW) {
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++)
            for (int oc = 0; oc < OC; oc++, y++) {
                const float *w = W + (size_t)oc * K * K * C;
                float acc = b ? b[oc] : 0.0f;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++, w += C) {
                        const int ih = oh * S + kh - P, iw = ow * S + kw - P;
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W_)
                            continue;
                        for (int c = 0; c < C; c++)
                            acc += x[((size_t)ih * W_ + iw) * C + c] * w[c];
                    }
                *y = acc;
            }
}

static void conv2d_calib(const Op *op, const CalibArgs *a) {
    const float *param = a->param;
    Shape in = op->in_shape, o = op->out;
    conv2d_float(a->y, a->x[0], param + op->w_off, op->n_b ? param + op->b_off : NULL, in.h, in.w, in.c,
                 op->kernel, op->stride, op->pad, o.c, o.h, o.w);
}

static void conv2d_int8(Quant *q, const Op *op, const Int8Args *a) {
    Shape in = op->in_shape, o = op->out;
    int8_gemm_consts(q, a->name, a->w, a->b, o.c, (size_t)op->kernel * op->kernel * in.c,
                     a->qx[0], a->pre);
    int8_out(q,
             "    conv8(%s, %s, %s_w, %s_b, %s_m, %s_s, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, "
             "%d);\n",
             a->y, a->x[0], a->name, a->name, a->name, a->name, in.h, in.w, in.c, op->kernel,
             op->stride, op->pad, o.c, o.h, o.w, a->qx[0].zp, a->pre.zp);
    int8_fused_act(q, op, a);
}

// clang-format off
static const Rule rules[] = {
    {.keyword = "conv2d", .alias = "conv", .cls = C_LAYER,
     .usage = "conv2d N KxK [ACT] [stride=S] [padding=valid|same] [init=he|glorot|zeros] "
              "[bias=true|false]",
     .n_required = 2, .pos = {{"filters", T_INT, R_COUNT, NULL, NULL}, KERNEL, ACT_ARG},
     .opt = {STRIDE, {"padding", T_WORD, R_ANY, PADDINGS, NULL}, INIT_OPT, BIAS_OPT}},
};
// clang-format on

const OpType conv2d_op = {
    .code = 1,
    .keras_name = "conv2d",
    .keras_class = "Conv2D",
    .rules = rules,
    .n_rules = 1,
    .lower = lower_conv2d,
    .flags = OT_TAKES_ACT,
    .saves = conv2d_saves,
    .fans = conv2d_fans,
    .weights_doc = conv2d_weights,
    .scratch = conv2d_scratch,
    .partials = conv2d_partials,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
    .deploy_kernel = conv2d_kernel,
    .deploy = conv2d_deploy,
    .calib = conv2d_calib,
    .int8_kernel = conv8_kernel,
    .int8 = conv2d_int8,
};
