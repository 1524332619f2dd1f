/* op_add.c: add ID [ID ...], the element-wise sum of the current value and
 * the named ones (Keras' Add): a skip connection. The gradient of the sum
 * goes unchanged to every input. */
#include "ops.h"

#include <string.h>

static void lower_add(Ctx *c, Op *op, const Value *pos, const Value *opt) {
    (void)pos, (void)opt;
    if (!inputs_known(c, op))
        return;
    for (int k = 1; k < op->n_in; k++) {
        Shape s = value_shape(c->m, op->in[k]);
        if (memcmp(&s, &op->in_shape, sizeof s) != 0) {
            inputs_mismatch(c, op, k, "'add' needs inputs of one shape, got %s and %s",
                            shape_str(op->in_shape), shape_str(s));
            return;
        }
    }
    set_out(c, op, op->in_shape);
}

/* ((x0 + x1) + x2) + ...: a fixed order, so a fixed rounding */
static void add_forward(Emit *e, const Op *op, const FwdArgs *a) {
    for (int k = 1; k < op->n_in; k++)
        emit_out(e, "    nn_add(%s, %s, %s, b * %zu);\n", a->y, k == 1 ? a->x[0] : a->y, a->x[k],
                 shape_size(op->out));
}

static void add_backward(Emit *e, const Op *op, const BwdArgs *a) {
    for (int k = 0; k < op->n_in; k++) {
        if (a->acc[k] < 0)
            continue;
        if (k == 0 && a->in_place)
            emit_out(e, "    /* %s: the gradient is dy's, in place */\n", a->dx[0]);
        else
            emit_out(e, "    nn_grad_into(%s, %s, b * %zu, %d);\n", a->dx[k], a->dy,
                     shape_size(op->out), a->acc[k]);
    }
}

static const char add_kernel[] =
    "/* y(n) = a(n) + b(n); y may be a */\n"
    "static void add(float *y, const float *a, const float *b, size_t n)\n"
    "{\n"
    "    for (size_t i = 0; i < n; i++)\n"
    "        y[i] = a[i] + b[i];\n"
    "}\n";

/* In the trainer's order: ((x0 + x1) + x2) + ... */
static void add_deploy(Deploy *d, const Op *op, const DeployArgs *a) {
    for (int k = 1; k < op->n_in; k++)
        deploy_out(d, "    add(%s, %s, %s, %zu);\n", a->y, k == 1 ? a->x[0] : a->y, a->x[k],
                   shape_size(op->out));
}

static void add_calib(const Op *op, const CalibArgs *a) {
    for (size_t i = 0; i < shape_size(op->out); i++) {
        float s = a->x[0][i];
        for (int k = 1; k < op->n_in; k++)
            s += a->x[k][i];
        a->y[i] = s;
    }
}

/* TFLite's add: each input's (x - zx) 2^20 rescaled to sx / (n max s), a
 * common scale fine enough that the sum loses nothing, then the sum to the
 * output's; y may be an input */
static const char add8_kernel[] =
    "/* y(n) = the sum of K inputs xs[k](n) of zero points zs[k]: (x - z) 2^20 times\n"
    " * ms[k] 2^(ss[k] - 31) each, a common scale, summed, then times my 2^(sy - 31)\n"
    " * to y's scale, + zy. y may be xs[0]. */\n"
    "static void add8(int8_t *y, const int8_t *const *xs, const int32_t *zs, const int32_t *ms,\n"
    "        const int8_t *ss, int K, size_t n, int zy, int32_t my, int sy)\n"
    "{\n"
    "    for (size_t i = 0; i < n; i++) {\n"
    "        int32_t s = 0;\n"
    "        for (int k = 0; k < K; k++)\n"
    "            s += rescale((xs[k][i] - zs[k]) * (1 << 20), ms[k], ss[k]);\n"
    "        y[i] = clamp8(zy + rescale(s, my, sy));\n"
    "    }\n"
    "}\n";

static void add_int8(Quant *q, const Op *op, const Int8Args *a) {
    float mx = 0;
    for (int k = 0; k < op->n_in; k++)
        mx = a->qx[k].scale > mx ? a->qx[k].scale : mx;
    const double common = (double)op->n_in * mx;
    const char *xs = "", *zs = "", *ms = "", *ss = "";
    for (int k = 0; k < op->n_in; k++) {
        int32_t m;
        int s;
        quantize_multiplier(a->qx[k].scale / common, &m, &s);
        const char *sep = k ? ", " : "";
        xs = arena_printf("%s%s%s", xs, sep, a->x[k]);
        zs = arena_printf("%s%s%d", zs, sep, a->qx[k].zp);
        ms = arena_printf("%s%s%ld", ms, sep, (long)m);
        ss = arena_printf("%s%s%d", ss, sep, s);
    }
    int32_t my;
    int sy;
    quantize_multiplier(common / ((double)(1 << 20) * a->qy.scale), &my, &sy);
    int8_out(q,
             "    {\n        const int8_t *const xs[] = {%s};\n"
             "        static const int32_t zs[] = {%s}, ms[] = {%s};\n"
             "        static const int8_t ss[] = {%s};\n"
             "        add8(%s, xs, zs, ms, ss, %d, %zu, %d, %ld, %d);\n    }\n",
             xs, zs, ms, ss, a->y, op->n_in, shape_size(op->out), a->qy.zp, (long)my, sy);
}

static const Rule rules[] = {
    {.keyword = "add", .cls = C_LAYER, .keeps_shape = true, .refs = true, .usage = "add ID [ID ...]",
     .n_required = 1, .pos = {{"value", T_ID, R_ANY, NULL, NULL}}},
};

const OpType add_op = {
    .code = 8,
    .keras_name = "add",
    .keras_class = "Add",
    .rules = rules,
    .n_rules = 1,
    .lower = lower_add,
    .flags = OT_FWD_IN_PLACE | OT_GRAD_IN_PLACE | OT_GRAD_ADDS,
    .forward = add_forward,
    .backward = add_backward,
    .deploy_kernel = add_kernel,
    .deploy = add_deploy,
    .calib = add_calib,
    .int8_kernel = add8_kernel,
    .int8 = add_int8,
};
