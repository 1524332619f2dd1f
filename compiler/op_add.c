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
};
