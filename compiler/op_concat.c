/* op_concat.c: concat ID [ID ...], the current value and the named ones, in
 * that order, joined along the last axis (Keras' Concatenate): channels of
 * images of one size, or features of flat values. */
#include "ops.h"

#include <string.h>

static void lower_concat(Ctx *c, Op *op, const Value *pos, const Value *opt) {
    (void)pos, (void)opt;
    if (!inputs_known(c, op))
        return;
    Shape first = op->in_shape;
    size_t channels = (size_t)first.c;
    for (int k = 1; k < op->n_in; k++) {
        Shape s = value_shape(c->m, op->in[k]);
        if (s.rank != first.rank || s.h != first.h || s.w != first.w) {
            inputs_mismatch(c, op, k,
                            "'concat' needs inputs that agree in all but the last axis, got %s "
                            "and %s",
                            shape_str(first), shape_str(s));
            return;
        }
        channels += (size_t)s.c;
    }
    Shape out = first;
    out.c = channels > MAX_FLOATS ? INT_MAX : (int)channels;
    if (fits(c, op, "has channels", channels))
        set_out(c, op, out);
}

/* The inputs' last-axis sizes, as a C initializer */
static const char *columns(const Op *op, const Shape *shapes) {
    const char *cs = arena_printf("%d", shapes[0].c);
    for (int k = 1; k < op->n_in; k++)
        cs = arena_printf("%s, %d", cs, shapes[k].c);
    return cs;
}

static void concat_forward(Emit *e, const Op *op, const FwdArgs *a) {
    const char *xs = a->x[0];
    for (int k = 1; k < op->n_in; k++)
        xs = arena_printf("%s, %s", xs, a->x[k]);
    emit_out(e, "    {\n        const float *const xs[] = {%s};\n", xs);
    emit_out(e, "        static const int cs[] = {%s};\n", columns(op, a->shapes));
    emit_out(e, "        nn_concat_forward(%s, xs, cs, %d, %s);\n    }\n", a->y, op->n_in,
             c_rows(op->out));
}

/* One call for the inputs whose gradient starts here, one for those that
 * add to it: the kernel takes one accumulate flag */
static void concat_backward(Emit *e, const Op *op, const BwdArgs *a) {
    for (int acc = 0; acc <= 1; acc++) {
        const char *dxs = NULL;
        bool any = false;
        for (int k = 0; k < op->n_in; k++) {
            const char *dx = a->acc[k] == acc ? a->dx[k] : "NULL";
            dxs = dxs ? arena_printf("%s, %s", dxs, dx) : dx;
            any |= a->acc[k] == acc;
        }
        if (!any)
            continue;
        emit_out(e, "    {\n        float *const dxs[] = {%s};\n", dxs);
        emit_out(e, "        static const int cs[] = {%s};\n", columns(op, a->shapes));
        emit_out(e, "        nn_concat_backward(dxs, %s, cs, %d, %s, %d);\n    }\n", a->dy,
                 op->n_in, c_rows(op->out), acc);
    }
}

static const char concat_kernel[] =
    "/* y(rows, C) = the inputs' rows side by side: x of cols columns goes at\n"
    " * column at of y's C */\n"
    "static void concat(float *y, const float *x, size_t rows, int C, int at, int cols)\n"
    "{\n"
    "    for (size_t r = 0; r < rows; r++)\n"
    "        memcpy(y + r * C + at, x + r * cols, (size_t)cols * sizeof *x);\n"
    "}\n";

static void concat_deploy(Deploy *d, const Op *op, const DeployArgs *a) {
    int at = 0;
    for (int k = 0; k < op->n_in; k++) {
        deploy_out(d, "    concat(%s, %s, %zu, %d, %d, %d);\n", a->y, a->x[k],
                   (size_t)op->out.h * op->out.w, op->out.c, at, a->shapes[k].c);
        at += a->shapes[k].c;
    }
}

static void concat_calib(const Op *op, const CalibArgs *a) {
    const size_t rows = (size_t)op->out.h * op->out.w;
    int at = 0;
    for (int k = 0; k < op->n_in; at += a->shapes[k++].c)
        for (size_t r = 0; r < rows; r++)
            memcpy(a->y + r * op->out.c + at, a->x[k] + r * a->shapes[k].c,
                   sizeof(float) * (size_t)a->shapes[k].c);
}

/* Each input rescaled to the output's quantisation (requant8) at its column */
static void concat_int8(Quant *q, const Op *op, const Int8Args *a) {
    int at = 0;
    for (int k = 0; k < op->n_in; at += a->shapes[k++].c) {
        const char *name = arena_printf("%s_%d", a->name, k);
        int32_t off = a->qy.zp, m;
        int sh;
        quantize_multiplier((double)a->qx[k].scale / a->qy.scale, &m, &sh);
        int8_t s = (int8_t)sh;
        int8_array32(q, arena_printf("%s_o", name), &off, 1, "the output's zero point");
        int8_array32(q, arena_printf("%s_m", name), &m, 1, "sx / sy = m 2^(s - 31)");
        int8_array8(q, arena_printf("%s_s", name), &s, 1, "its shift s");
        int8_requant_call(q, a->y, op->out.c, at, a->x[k], (size_t)op->out.h * op->out.w,
                          a->shapes[k].c, a->qx[k].zp, name, false);
    }
}

static const Rule rules[] = {
    {.keyword = "concat", .cls = C_LAYER, .refs = true, .usage = "concat ID [ID ...]",
     .n_required = 1, .pos = {{"value", T_ID, R_ANY, NULL, NULL}}},
};

const OpType concat_op = {
    .code = 9,
    .keras_name = "concatenate",
    .keras_class = "Concatenate",
    .rules = rules,
    .n_rules = 1,
    .lower = lower_concat,
    .flags = OT_GRAD_ADDS,
    .forward = concat_forward,
    .backward = concat_backward,
    .deploy_kernel = concat_kernel,
    .deploy = concat_deploy,
    .calib = concat_calib,
    .int8 = concat_int8,
};
