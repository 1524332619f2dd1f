/* emit_int8.c: the trained network as dependency-free int8 C.
 *
 * The same files as emit_deploy.c writes (the API of net.h, no library, no
 * mutable globals), quantised after training as TFLite does
 * (docs/deploy.md): weights int8, symmetric per output channel; every
 * value int8 with a scale and a zero point from its range over calibration
 * images (calibrate.c); int32 accumulators and biases; each requantisation
 * a Q31 multiplier and a shift (gemmlowp's fixed-point arithmetic), so
 * that between quantising the input and dequantising the output the code
 * does no float arithmetic. Elementwise activations are 256-entry tables
 * computed here; a final softmax runs on the dequantised logits, in float.
 * The schedule and the buffers are the float file's plan, one byte per
 * value instead of four; each kind's int8 hook writes its arrays and call.
 */
#include "ops.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct Quant {
    FILE *arrays, *code;
    const Model *m; /* fused */
    size_t weight_bytes;
    const char *kernels[32]; /* the kernel texts the calls need, each once */
    int n_kernels;
};

void int8_out(Quant *q, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(q->code, fmt, ap);
    va_end(ap);
}

static void need_kernel(Quant *q, const char *text) {
    for (int k = 0; k < q->n_kernels; k++)
        if (q->kernels[k] == text)
            return;
    assert(q->n_kernels < 32);
    q->kernels[q->n_kernels++] = text;
}

void int8_array8(Quant *q, const char *name, const int8_t *v, size_t n, const char *doc) {
    fprintf(q->arrays, "static const int8_t %s[%zu] = { /* %s */\n", name, n, doc);
    for (size_t i = 0; i < n; i++)
        fprintf(q->arrays, "%s%d,%s", i % 16 ? " " : "    ", v[i],
                i % 16 == 15 || i + 1 == n ? "\n" : "");
    fprintf(q->arrays, "};\n");
    q->weight_bytes += n;
}

void int8_array32(Quant *q, const char *name, const int32_t *v, size_t n, const char *doc) {
    fprintf(q->arrays, "static const int32_t %s[%zu] = { /* %s */\n", name, n, doc);
    for (size_t i = 0; i < n; i++) /* INT32_MIN has no literal of its type */
        fprintf(q->arrays, "%s%s,%s", i % 8 ? " " : "    ",
                v[i] == INT32_MIN ? "-2147483647 - 1" : arena_printf("%ld", (long)v[i]),
                i % 8 == 7 || i + 1 == n ? "\n" : "");
    fprintf(q->arrays, "};\n");
    q->weight_bytes += 4 * n;
}

// ------------------------------------------------------------ the arithmetic

void quantize_multiplier(double real, int32_t *m, int *shift) {
    if (real == 0.0) {
        *m = 0, *shift = 0;
        return;
    }
    double frac = frexp(fabs(real), shift); /* |real| = frac 2^shift, frac in [0.5, 1) */
    long long qm = llround(frac * 2147483648.0);
    if (qm == 2147483648LL) /* frac rounded up to 1 */
        qm /= 2, ++*shift;
    if (*shift < -31) /* below the smallest step: nothing */
        qm = 0, *shift = 0;
    *m = (int32_t)(real < 0 ? -qm : qm);
}

int quantize_value(QParam p, double v) {
    double r = round(v / p.scale) + p.zp;
    return r < -128 ? -128 : r > 127 ? 127 : (int)r;
}

/* TFLite's choice: the range widened to hold 0, which must be exact (a
 * zero padding, a relu's floor), and the zero point rounded to an int8 */
static QParam qparam_of(ValRange r) {
    double lo = r.lo < 0 ? r.lo : 0, hi = r.hi > 0 ? r.hi : 0;
    if (!(hi > lo)) /* never anything but 0 */
        return (QParam){1.0f, 0};
    QParam p = {(float)((hi - lo) / 255.0), 0};
    double zp = round(-128.0 - lo / p.scale);
    p.zp = zp < -128 ? -128 : zp > 127 ? 127 : (int)zp;
    return p;
}

static const char clamp_text[] =
    "static int8_t clamp8(int32_t v)\n{\n"
    "    return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);\n}\n\n";

static const char fixed_point_text[] =
    "/* round(a b / 2^31), the one overflow (INT32_MIN squared) saturated: gemmlowp's\n"
    " * SaturatingRoundingDoublingHighMul */\n"
    "static int32_t high_mul(int32_t a, int32_t b)\n{\n"
    "    const int64_t ab = (int64_t)a * b;\n"
    "    const int64_t nudge = ab >= 0 ? (1 << 30) : 1 - (1 << 30);\n"
    "    if (a == INT32_MIN && b == INT32_MIN)\n        return INT32_MAX;\n"
    "    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));\n}\n\n"
    "/* x / 2^e rounded to nearest, ties away from zero: gemmlowp's\n"
    " * RoundingDivideByPOT (>> of a negative int32_t is arithmetic in GCC and Clang) */\n"
    "static int32_t div_pot(int32_t x, int e)\n{\n"
    "    const int32_t mask = (int32_t)((1u << e) - 1u);\n"
    "    const int32_t rem = x & mask, half = (mask >> 1) + (x < 0);\n"
    "    return (x >> e) + (rem > half);\n}\n\n"
    "/* x m 2^(shift - 31): TFLite's MultiplyByQuantizedMultiplier, a left shift\n"
    " * saturated */\n"
    "static int32_t rescale(int32_t x, int32_t m, int shift)\n{\n"
    "    if (shift > 0) {\n"
    "        const int64_t v = (int64_t)x * ((int64_t)1 << shift);\n"
    "        x = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;\n"
    "    }\n"
    "    return div_pot(high_mul(x, m), shift > 0 ? 0 : -shift);\n}\n\n";

static const char lut_text[] =
    "/* y(n) = t[x(n)]: an elementwise activation as a table; y may be x */\n"
    "static void lut8(int8_t *y, const int8_t *x, size_t n, const int8_t *t)\n{\n"
    "    for (size_t i = 0; i < n; i++)\n        y[i] = t[x[i] + 128];\n}\n\n";

static const char requant_text[] =
    "/* y(rows, C) at column at, from x(rows, cols) of zero point zx: off[c] +\n"
    " * (x - zx) m[c] 2^(s[c] - 31), one set per channel (pc 1) or for all (pc 0) */\n"
    "static void requant8(int8_t *y, int C, int at, const int8_t *x, size_t rows, int cols,\n"
    "        int zx, const int32_t *off, const int32_t *m, const int8_t *s, int pc)\n{\n"
    "    for (size_t r = 0; r < rows; r++, x += cols)\n"
    "        for (int c = 0; c < cols; c++)\n"
    "            y[r * C + at + c] = clamp8(off[c * pc] + rescale(x[c] - zx, m[c * pc], s[c * pc]));\n"
    "}\n\n";

void int8_gemm_consts(Quant *q, const char *name, const float *w, const float *bias, int OC,
                      size_t taps, QParam in, QParam out) {
    const size_t OC4 = ((size_t)OC + 3) / 4 * 4; /* conv8's blocks of four channels */
    int8_t *wq = arena_alloc(OC4 * taps), *s = arena_alloc((size_t)OC);
    memset(wq, 0, OC4 * taps);
    int32_t *b = arena_alloc(sizeof *b * (size_t)OC), *m = arena_alloc(sizeof *m * (size_t)OC);
    for (int oc = 0; oc < OC; oc++) {
        const float *wo = w + (size_t)oc * taps;
        float mx = 0;
        for (size_t t = 0; t < taps; t++)
            mx = fabsf(wo[t]) > mx ? fabsf(wo[t]) : mx;
        const double ws = mx > 0 ? mx / 127.0 : 1.0;
        long long sum = 0;
        int8_t *wb = wq + (size_t)oc / 4 * 4 * taps + (size_t)oc % 4; /* tap t at wb[4 t] */
        for (size_t t = 0; t < taps; t++)
            sum += wb[4 * t] = (int8_t)lround(wo[t] / ws);
        const double acc_scale = in.scale * ws;
        double bq = (bias ? llround(bias[oc] / acc_scale) : 0) - (double)in.zp * (double)sum;
        b[oc] = bq > INT32_MAX ? INT32_MAX : bq < INT32_MIN ? INT32_MIN : (int32_t)bq;
        int shift;
        quantize_multiplier(acc_scale / out.scale, &m[oc], &shift);
        s[oc] = (int8_t)shift;
    }
    int8_array8(q, arena_printf("%s_w", name), wq, OC4 * taps,
                "weights, int8 per output channel: w / (max |w| / 127), in blocks of four "
                "channels (conv8)");
    int8_array32(q, arena_printf("%s_b", name), b, (size_t)OC,
                 "bias / (in_scale w_scale) - in_zp sum(w)");
    int8_array32(q, arena_printf("%s_m", name), m, (size_t)OC,
                 "requantisation: in_scale w_scale / out_scale = m 2^(s - 31)");
    int8_array8(q, arena_printf("%s_s", name), s, (size_t)OC, "its shift s");
}

void int8_lut(Quant *q, const Op *op, const char *y, const char *x, size_t n, QParam in,
              QParam out) {
    int8_t t[256];
    for (int i = 0; i < 256; i++)
        t[i] = (int8_t)quantize_value(
            out, act_value(op->act, op->alpha, in.scale * (float)(i - 128 - in.zp)));
    const char *name = arena_printf("L%d_t", op->index);
    int8_array8(q, name, t, 256, arena_printf("%s as a table", act_name(op->act)));
    need_kernel(q, lut_text);
    int8_out(q, "    lut8(%s, %s, %zu, %s);\n", y, x, n, name);
}

/* Probabilities as TFLite keeps them: steps of 1/256 from 0 */
const QParam int8_softmax_q = {1.0f / 256, -128};

static const char softmax8_text[] =
    "/* y = softmax(x) over rows of n, y of scale 1/256 and zero point -128: with\n"
    " * e = t[max - x] = 2^16 e^(scale (x - max)), y = round(256 e / sum(e)) - 128.\n"
    " * y may be x. */\n"
    "static void softmax8(int8_t *y, const int8_t *x, size_t rows, int n, const int32_t *t)\n{\n"
    "    for (size_t r = 0; r < rows; r++, x += n, y += n) {\n"
    "        int mx = x[0];\n        int32_t s = 0;\n"
    "        for (int i = 1; i < n; i++)\n            mx = x[i] > mx ? x[i] : mx;\n"
    "        for (int i = 0; i < n; i++)\n            s += t[mx - x[i]];\n"
    "        for (int i = 0; i < n; i++)\n"
    "            y[i] = clamp8((t[mx - x[i]] * 256 + s / 2) / s - 128);\n"
    "    }\n}\n\n";

void int8_softmax(Quant *q, const Op *op, const char *y, const char *x, QParam in) {
    int32_t t[256];
    for (int d = 0; d < 256; d++)
        t[d] = (int32_t)lround(65536.0 * exp(-(double)in.scale * d));
    const char *name = arena_printf("L%d_e", op->index);
    int8_array32(q, name, t, 256, "2^16 e^(-scale d), d = max - x");
    need_kernel(q, softmax8_text);
    int8_out(q, "    softmax8(%s, %s, %zu, %d, %s);\n", y, x, shape_size(op->out) / (size_t)op->out.c,
             op->out.c, name);
}

void int8_fused_act(Quant *q, const Op *op, const Int8Args *a) {
    if (op->act == ACT_SOFTMAX && !a->last)
        int8_softmax(q, op, a->y, a->y, a->pre);
    else if (op->act != ACT_LINEAR && op->act != ACT_RELU && op->act != ACT_SOFTMAX)
        int8_lut(q, op, a->y, a->y, shape_size(op->out), a->pre, a->qy);
}

void int8_requant_call(Quant *q, const char *y, int C, int at, const char *x, size_t rows,
                       int cols, int zx, const char *name, bool per_channel) {
    need_kernel(q, requant_text);
    int8_out(q, "    requant8(%s, %d, %d, %s, %zu, %d, %d, %s_o, %s_m, %s_s, %d);\n", y, C, at, x,
             rows, cols, zx, name, name, name, per_channel);
}

// ------------------------------------------------------------ the file

static const char *buf_of(const Slot *s, int v) {
    return s[v].root == 0 ? "in8" : arena_printf("L%d", s[v].root);
}

typedef struct {
    const float *param, *state;
    const char *file, *h_name; /* the .model's name for comments; the header's */
} Inputs;

extern const OpType dropout_op;

/* m with each batchnorm that is the only reader of the linear dense/conv2d
 * just before it folded into that layer (int8_fold) and left an identity,
 * as a dropout is at inference, so that the plan gives it that layer's
 * buffer; w, b get the weights and bias each op quantises, folded[i] says
 * op i's value is the batchnorm's after it */
static Model *fold_batchnorms(const Model *m, const float *param, const float *state,
                              const float **w, const float **b, bool *folded) {
    Model *f = arena_alloc(sizeof *f);
    *f = *m;
    f->ops = arena_alloc(sizeof *f->ops * (size_t)m->n_ops);
    memcpy(f->ops, m->ops, sizeof *f->ops * (size_t)m->n_ops);
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        w[i] = op->n_w ? param + op->w_off : NULL;
        b[i] = op->n_b ? param + op->b_off : NULL;
        folded[i] = false;
        if (i == 0 || !op->type->int8_fold || op->in[0] != i)
            continue;
        const Op *gemm = &m->ops[i - 1];
        int readers = 0;
        for (int j = 0; j < m->n_ops; j++)
            for (int k = 0; k < m->ops[j].n_in; k++)
                readers += m->ops[j].in[k] == i;
        if (!(gemm->type->flags & OT_TAKES_ACT) || gemm->act != ACT_LINEAR || readers != 1)
            continue;
        size_t OC = (size_t)gemm->units, taps = gemm->n_w / OC;
        float *fw = arena_alloc(sizeof *fw * gemm->n_w), *fb = arena_alloc(sizeof *fb * OC);
        memcpy(fw, w[i - 1], sizeof *fw * gemm->n_w);
        for (size_t c = 0; c < OC; c++)
            fb[c] = b[i - 1] ? b[i - 1][c] : 0.0f;
        op->type->int8_fold(op, fw, fb, taps, param, state);
        w[i - 1] = fw, b[i - 1] = fb, folded[i - 1] = true;
        f->ops[i].type = &dropout_op;
    }
    return f;
}

/* The ops' calls into q->code and their arrays into q->arrays; the
 * quantisation of every value in qp */
static void emit_ops(Quant *q, const Plan *plan, const Inputs *in, const QParam *qp,
                     const QParam *pre, const float *const *w, const float *const *b,
                     const bool *folded) {
    const Model *m = q->m;
    const Slot *s = plan->infer;
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        deploy_comment(q->code, m, in->file, op);
        if (deploy_identity(op)) {
            int8_out(q, "    /* %s: its input's buffer */\n",
                     i > 0 && folded[i - 1] ? "folded into the layer before" : "the identity here");
            continue;
        }
        const char **x = arena_alloc(sizeof *x * (size_t)op->n_in);
        Shape *shapes = arena_alloc(sizeof *shapes * (size_t)op->n_in);
        QParam *qx = arena_alloc(sizeof *qx * (size_t)op->n_in);
        for (int k = 0; k < op->n_in; k++) {
            x[k] = buf_of(s, op->in[k]);
            shapes[k] = value_shape(m, op->in[k]);
            qx[k] = qp[op->in[k]];
        }
        Int8Args a = {.y = buf_of(s, i + 1), .x = x, .shapes = shapes, .qx = qx,
                      .qy = qp[i + 1], .pre = pre[i + 1], .name = arena_printf("L%d", op->index),
                      .param = in->param, .state = in->state, .w = w[i], .b = b[i],
                      .last = i == m->n_ops - 1};
        if (op->type->int8_kernel)
            need_kernel(q, op->type->int8_kernel);
        op->type->int8(q, op, &a);
    }
}

static const char *c_f(float v) {
    return arena_printf("%af", (double)v);
}

static void emit_api(FILE *out, const Model *m, const Plan *plan, const QParam *qp, size_t arena,
                     const DeployMeta *meta) {
    const Slot *s = plan->infer;
    const char *N = m->name, *U = macro_prefix(N);
    int result = s[m->n_ops].root;
    size_t n_in = shape_size(m->input);
    size_t in_at = plan->infer_per_sample, out_at = in_at + n_in;
    QParam qi = qp[0];
    fprintf(out,
            "#ifdef %s_STATIC_ARENA\n"
            "/* The one mutable object, on request: %s_predict is then not re-entrant */\n"
            "static int8_t %s_arena[%zu];\n#endif\n\n",
            U, N, N, arena);
    fprintf(out,
            "/* The int8 output from the float input, in the arena's bytes: the plan's\n"
            " * values, the quantised input, the output */\n"
            "static const int8_t *run(const float *input, int8_t *work)\n{\n");
    for (int v = 1; v <= m->n_ops; v++)
        if (s[v].root == v && v != result)
            fprintf(out, "    int8_t *const L%d = work + %zu; /* %s */\n", v, s[v].off,
                    shape_str(m->ops[v - 1].out));
    if (result > 0)
        fprintf(out, "    int8_t *const L%d = work + %zu;\n", result, out_at);
    fprintf(out,
            "    int8_t *const in8 = work + %zu;\n"
            "    for (int i = 0; i < %zu; i++) { /* round(x / scale) + zero point, clamped; a\n"
            "        * division, which no compiler fuses with the add: the same bits on every FPU */\n"
            "        const float t = %s / %s + %d.0f;\n"
            "        in8[i] = (int8_t)(t < -128.0f ? -128 : t > 127.0f ? 127 :\n"
            "                          t < 0.0f ? -(int)(0.5f - t) : (int)(t + 0.5f));\n"
            "    }\n",
            in_at, n_in,
            meta->mean ? arena_printf("(%s)", deploy_standardized(m)) : "input[i]",
            c_f(qi.scale), qi.zp);
}

static void emit_tail(FILE *out, const Model *m, const Plan *plan, const QParam *qp) {
    const char *N = m->name, *U = macro_prefix(N);
    int result = plan->infer[m->n_ops].root;
    size_t n_out = shape_size(m->ops[m->n_ops - 1].out);
    QParam qo = qp[m->n_ops];
    bool softmax = m->ops[m->n_ops - 1].act == ACT_SOFTMAX;
    fprintf(out, "    return %s;\n}\n\n", result > 0 ? arena_printf("L%d", result) : "in8");
    fprintf(out, "void %s_predict(const float *input, float *output, void *arena)\n{\n", N);
    fprintf(out, "#ifdef %s_STATIC_ARENA\n    if (!arena)\n        arena = %s_arena;\n#endif\n", U,
            N);
    fprintf(out,
            "    const int8_t *y = run(input, arena);\n"
            "    for (int i = 0; i < %zu; i++) /* dequantised: scale (q - zero point) */\n"
            "        output[i] = %s * (float)(y[i] - %d);\n",
            n_out, c_f(qo.scale), qo.zp);
    if (softmax)
        fprintf(out, "    softmax(output, output, %zu); /* of the logits, in float */\n", n_out);
    fprintf(out, "}\n\n");
    fprintf(out,
            "/* The argmax of the int8 %s: dequantising%s keeps the order */\n"
            "int %s_classify(const float *input, void *arena)\n{\n"
            "#ifdef %s_STATIC_ARENA\n    if (!arena)\n        arena = %s_arena;\n#endif\n"
            "    const int8_t *y = run(input, arena);\n    int best = 0;\n"
            "    for (int i = 1; i < %zu; i++)\n        best = y[i] > y[best] ? i : best;\n"
            "    return best;\n}\n",
            softmax ? "logits" : "outputs", softmax ? " and softmax" : "", N, U, N, n_out);
}

static char *rendered(FILE *f, char **buf) {
    return fclose(f) == 0 ? *buf : NULL;
}

static int out_of_memory(void) {
    fprintf(stderr, "nnc: error: out of memory writing the int8 C\n");
    return -1;
}

int emit_int8(const Model *written, const char *ckpt, const char *data_dir, long n_calib,
              const char *c_path, const char *h_path) {
    const Model *fused = fuse_activations(written, false);
    Inputs in = {.h_name = base_name(h_path)};
    in.file = comment_text(base_name(written->source_path), strlen(base_name(written->source_path)));
    float *param, *state;
    DeployMeta meta;
    if (deploy_load(fused, ckpt, &param, &state, &meta))
        return -1;
    in.param = param, in.state = state;
    ValRange *post = arena_alloc(sizeof *post * (size_t)(fused->n_ops + 1));
    ValRange *pre = arena_alloc(sizeof *pre * (size_t)(fused->n_ops + 1));
    if (calibrate(fused, param, state, data_dir, n_calib, &meta, post, pre))
        return -1;
    const float **w = arena_alloc(sizeof *w * (size_t)fused->n_ops);
    const float **b = arena_alloc(sizeof *b * (size_t)fused->n_ops);
    bool *folded = arena_alloc(sizeof *folded * (size_t)fused->n_ops);
    Quant q = {.m = fold_batchnorms(fused, param, state, w, b, folded)};
    const Model *m = q.m;
    const Plan *plan = plan_model(m);
    QParam *qp = arena_alloc(sizeof *qp * (size_t)(m->n_ops + 1));
    QParam *qpre = arena_alloc(sizeof *qpre * (size_t)(m->n_ops + 1));
    qp[0] = qpre[0] = qparam_of(post[0]);
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        int v = i + 1;
        /* the last op's softmax runs in predict, in float: its value stays the logits' */
        bool final_softmax = op->act == ACT_SOFTMAX && i == m->n_ops - 1;
        bool keeps = deploy_identity(op) || op->type->flags & OT_INT8_KEEPS ||
                     (op->type->flags & OT_ACTIVATION && final_softmax);
        qp[v] = keeps                    ? qp[op->in[0]]
                : folded[i]              ? qparam_of(post[v + 1]) /* the batchnorm's */
                : final_softmax          ? qparam_of(pre[v])
                : op->act == ACT_SOFTMAX ? int8_softmax_q
                                         : qparam_of(post[v]);
        /* what a dense/conv2d writes: the value's own, unless a table or an
         * int8 softmax follows */
        bool after = op->act != ACT_LINEAR && op->act != ACT_RELU && !final_softmax;
        qpre[v] = after ? qparam_of(pre[v]) : qp[v];
    }

    char *arrays_buf = NULL, *code_buf = NULL;
    size_t arrays_len, code_len;
    q.arrays = open_memstream(&arrays_buf, &arrays_len);
    q.code = open_memstream(&code_buf, &code_len);
    if (!q.arrays || !q.code)
        return out_of_memory();
    emit_ops(&q, plan, &in, qp, qpre, w, b, folded);
    if (!rendered(q.arrays, &arrays_buf) || !rendered(q.code, &code_buf))
        return out_of_memory();

    size_t n_out_extra = plan->infer[m->n_ops].root > 0 ? shape_size(m->ops[m->n_ops - 1].out) : 0;
    size_t arena = plan->infer_per_sample + shape_size(m->input) + n_out_extra;
    OutFile files[2] = {{.path = c_path}, {.path = h_path}};
    FILE *out = open_memstream((char **)&files[0].data, &files[0].len);
    if (!out)
        return out_of_memory();
    fprintf(out,
            "/* Generated by nnc %s from %s with the weights of %s, int8, calibrated on\n"
            " * %ld images of %s: do not edit.\n *\n"
            " * Model %s: input (%s) -> output (%zu), %zu parameters; int8 inference,\n"
            " * C99, no library (docs/deploy.md). Activations are (H, W, C), channels last. */\n",
            NNC_VERSION, in.file, comment_text(ckpt, strlen(ckpt)), n_calib,
            comment_text(data_dir, strlen(data_dir)), m->name, shape_str(m->input),
            shape_size(m->ops[m->n_ops - 1].out), m->n_param);
    fprintf(out, "#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n#include \"%s\"\n\n",
            in.h_name);
    bool fixed_point = false, clamp = false;
    for (int k = 0; k < q.n_kernels; k++) {
        fixed_point |= strstr(q.kernels[k], "rescale(") != NULL;
        clamp |= strstr(q.kernels[k], "clamp8(") != NULL;
    }
    if (fixed_point)
        fputs(fixed_point_text, out);
    if (clamp)
        fputs(clamp_text, out);
    for (int k = 0; k < q.n_kernels; k++)
        fprintf(out, "%s%s", q.kernels[k], q.kernels[k][strlen(q.kernels[k]) - 2] == '\n' ? "" : "\n");
    if (m->ops[m->n_ops - 1].act == ACT_SOFTMAX)
        fprintf(out, "%s/* y = softmax(x) over n; y may be x */\n"
                     "static void softmax(float *y, const float *x, size_t n)\n{\n%s}\n\n",
                deploy_exp_text, deploy_softmax_code());
    /* --standardize's statistics: float, since the input is quantised after */
    q.weight_bytes += sizeof(float) * deploy_stats_arrays(out, m, &meta);
    fputs(arrays_buf, out);
    fputs("\n", out);
    emit_api(out, m, plan, qp, arena, &meta);
    fputs(code_buf, out);
    emit_tail(out, m, plan, qp);
    free(arrays_buf), free(code_buf);
    if (fclose(out) != 0)
        return out_of_memory();

    FILE *h = open_memstream((char **)&files[1].data, &files[1].len);
    if (!h)
        return out_of_memory();
    deploy_header(h, m, in.file, header_guard(in.h_name), arena, q.weight_bytes,
                  "in bytes (any alignment): the most int8 values live at once, the int8 input "
                  "and output", &meta);
    if (fclose(h) != 0)
        return out_of_memory();
    return write_rendered(files, 2);
}
