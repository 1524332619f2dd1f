/* emit_deploy.c: writes the trained network as dependency-free C.
 *
 * Consumes a Model (from lower_program) and a checkpoint of it; produces
 * NAME.c and NAME.h for devices: C99 with only <stdint.h>, <stddef.h> and
 * <string.h>, no malloc, no stdio, no mutable globals (the caller passes
 * the arena), the weights inside as static const arrays of hex-float
 * literals (exact). The schedule is the trainer's inference schedule: the
 * same fused graph and the same buffer plan (plan.c's inference half,
 * batch 1), so NAME_ARENA_BYTES is the planner's peak and nothing else.
 * Each op's description (ops.h) gives its plain-loop kernel, its arrays
 * and its call; this file never names a kind. The file carries its own
 * exp (and tanh) where an activation needs them: there is no <math.h>.
 *
 * The checkpoint is read by the trainer's own reader, runtime/checkpoint.c
 * (with fail.c and optim_state.c, and zlib for its CRC): the compiler
 * links those three files of the runtime and nothing else of it, so a foreign or stale checkpoint
 * is refused with exactly the messages `train --resume` and `eval --load`
 * print.
 */
#include "ops.h"

#include "../runtime/checkpoint.h"

#include <assert.h>
#include <string.h>

struct Deploy {
    FILE *out;
    const Model *m; /* fused */
    const Plan *plan;
    const char *file;     /* the .model's file name, for comments */
    size_t weight_floats; /* what deploy_array wrote */
};

void deploy_out(Deploy *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(d->out, fmt, ap);
    va_end(ap);
}

/* %a prints the double exactly; every float is one, so the literal with an
 * f suffix reads back as the same float */
void deploy_array(Deploy *d, const char *name, const float *v, size_t n, const char *doc) {
    deploy_out(d, "static const float %s[%zu] = { /* %s */\n", name, n, doc);
    for (size_t i = 0; i < n; i++)
        deploy_out(d, "%s%af,%s", i % 6 ? " " : "    ", (double)v[i],
                   i % 6 == 5 || i + 1 == n ? "\n" : "");
    deploy_out(d, "};\n");
    d->weight_floats += n;
}

static const char *const act_enum[] = {"ACT_LINEAR", "ACT_RELU",    "ACT_SIGMOID",
                                       "ACT_TANH",   "ACT_SOFTMAX", "ACT_LEAKY_RELU"};

void deploy_act(Deploy *d, const char *y, const char *x, Shape s, ActKind act, float alpha) {
    if (act == ACT_LINEAR && strcmp(y, x) == 0)
        return;
    deploy_out(d, "    activate(%s, %s, %zu, %d, %s, %s);\n", y, x, (size_t)s.h * s.w, s.c,
               act_enum[act], c_float(alpha));
}

size_t deploy_arena_bytes(const Plan *p) {
    return p->infer_per_sample * sizeof(float);
}

// ------------------------------------------------------------ math

/* Cephes' expf (S. L. Moshier), in float arithmetic: x = k ln2 + r with
 * |r| <= ln2 / 2, ln2 split in two so that k ln2 is exact to float
 * precision, e^r by its minimax polynomial, 2^k in the exponent bits, in
 * two factors so that a subnormal result is rounded once. */
const char deploy_exp_text[] =
    "/* 2^k for k in [-126, 127], from its bits */\n"
    "static float pow2i(int k)\n{\n"
    "    const uint32_t bits = (uint32_t)(k + 127) << 23;\n"
    "    float f;\n    memcpy(&f, &bits, sizeof f);\n    return f;\n}\n\n"
    "/* e^x without <math.h> (Cephes' expf): x = k ln2 + r, |r| <= ln2 / 2, with ln2\n"
    " * in two parts so that r is exact; e^r by a polynomial; times 2^k. At most\n"
    " * 2 ulp from glibc's expf over [-87, 88] (docs/deploy.md). */\n"
    "static float exp_(float x)\n{\n"
    "    if (x > 88.72283f)\n        return pow2i(127) * 2.0f; /* inf */\n"
    "    if (x < -103.97208f)\n        return 0.0f;\n"
    "    if (x != x)\n        return x;\n"
    "    const float t = x * 1.44269504f;\n"
    "    const int k = (int)(t < 0.0f ? t - 0.5f : t + 0.5f);\n"
    "    float r = x - (float)k * 0.693359375f;\n"
    "    r -= (float)k * -2.12194440e-4f;\n"
    "    const float p = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +\n"
    "                       4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f) *\n"
    "                        (r * r) + r + 1.0f;\n"
    "    const int k1 = k / 2;\n"
    "    return p * pow2i(k1) * pow2i(k - k1);\n}\n\n";

/* Cephes' tanhf: an odd polynomial near 0, where 1 - 2 / (e^2x + 1) would
 * cancel, the identity beyond */
static const char tanh_text[] =
    "/* tanh x without <math.h> (Cephes' tanhf): a polynomial for |x| < 0.625,\n"
    " * 1 - 2 / (e^2|x| + 1) beyond */\n"
    "static float tanh_(float x)\n{\n"
    "    const float z = x < 0.0f ? -x : x;\n"
    "    if (z >= 0.625f) {\n"
    "        const float t = 1.0f - 2.0f / (exp_(z + z) + 1.0f);\n"
    "        return x < 0.0f ? -t : t;\n    }\n"
    "    const float s = x * x;\n"
    "    return ((((-5.70498872745e-3f * s + 2.06390887954e-2f) * s - 5.37397155531e-2f) * s +\n"
    "             1.33314422036e-1f) * s - 3.33332819422e-1f) * s * x + x;\n}\n\n";

/* The code of each activation, over y[i] from x[i] (softmax: over a row of
 * n at y, x), as the runtime computes it (dense.c) */
static const char *const act_code[] = {
    [ACT_LINEAR] = "            for (size_t i = 0; i < n; i++)\n                y[i] = x[i];\n",
    [ACT_RELU] = "            for (size_t i = 0; i < n; i++)\n"
                 "                y[i] = x[i] > 0.0f ? x[i] : 0.0f;\n",
    [ACT_SIGMOID] = "            for (size_t i = 0; i < n; i++) { /* e^-|x|: no overflow */\n"
                    "                const float e = exp_(x[i] < 0.0f ? x[i] : -x[i]);\n"
                    "                const float s = 1.0f / (1.0f + e);\n"
                    "                y[i] = x[i] >= 0.0f ? s : e * s;\n            }\n",
    [ACT_TANH] = "            for (size_t i = 0; i < n; i++)\n                y[i] = tanh_(x[i]);\n",
    [ACT_SOFTMAX] = "        {   /* the max subtracted: every exponent <= 0 */\n"
                    "            float m = x[0], s = 0.0f;\n"
                    "            for (size_t i = 1; i < n; i++)\n"
                    "                m = x[i] > m ? x[i] : m;\n"
                    "            for (size_t i = 0; i < n; i++)\n"
                    "                s += y[i] = exp_(x[i] - m);\n"
                    "            const float inv = 1.0f / s;\n"
                    "            for (size_t i = 0; i < n; i++)\n"
                    "                y[i] *= inv;\n        }\n",
    [ACT_LEAKY_RELU] = "            for (size_t i = 0; i < n; i++)\n"
                       "                y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];\n",
};

const char *deploy_softmax_code(void) {
    return act_code[ACT_SOFTMAX];
}

/* The activations the model applies, and the math they need: only that
 * is written, so that no function is unused */
static void emit_math(Deploy *d) {
    bool used[ACT_LEAKY_RELU + 1] = {false};
    for (int i = 0; i < d->m->n_ops; i++)
        used[d->m->ops[i].act] = true;
    used[ACT_LINEAR] = true; /* an activation statement 'linear' copies when not in place */
    if (used[ACT_SIGMOID] || used[ACT_TANH] || used[ACT_SOFTMAX])
        deploy_out(d, "%s", deploy_exp_text);
    if (used[ACT_TANH])
        deploy_out(d, "%s", tanh_text);
    deploy_out(d, "enum { ");
    for (int a = 0; a <= ACT_LEAKY_RELU; a++)
        deploy_out(d, "%s%s", act_enum[a], a < ACT_LEAKY_RELU ? ", " : " };\n\n");
    deploy_out(d, "/* y = act(x) over rows of n (softmax per row); y may be x */\n"
                  "static void activate(float *y, const float *x, size_t rows, size_t n, int act,\n"
                  "        float alpha)\n{\n");
    if (!used[ACT_LEAKY_RELU])
        deploy_out(d, "    (void)alpha;\n");
    deploy_out(d, "    for (size_t r = 0; r < rows; r++, y += n, x += n)\n        switch (act) {\n");
    for (int a = 0; a <= ACT_LEAKY_RELU; a++)
        if (used[a])
            deploy_out(d, "        case %s:\n%s            break;\n", act_enum[a], act_code[a]);
    deploy_out(d, "        }\n}\n\n");
}

// ------------------------------------------------------------ the file

/* What inference passes through unchanged, as plan.c's inference half
 * does; every other kind has its deploy hook */
bool deploy_identity(const Op *op) {
    bool identity = op->type->flags & (OT_ALIAS | OT_DROPOUT);
    assert(identity || (op->type->deploy && op->type->int8 && op->type->calib));
    return identity;
}

/* Each kind's kernel once, in registry order */
static void emit_kernels(Deploy *d) {
    for (int t = 0; t < n_op_types; t++)
        for (int i = 0; i < d->m->n_ops; i++)
            if (d->m->ops[i].type == op_types[t] && op_types[t]->deploy_kernel) {
                deploy_out(d, "%s\n", op_types[t]->deploy_kernel);
                break;
            }
}

static const char *op_name(const Op *op) {
    return arena_printf("L%d", op->index);
}

/* The name in capitals, for the macros: fashion_mlp -> FASHION_MLP */
const char *macro_prefix(const char *name) {
    char *u = arena_printf("%s", name);
    for (char *p = u; *p; p++)
        *p = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
    return u;
}

void deploy_comment(FILE *out, const Model *m, const char *file, const Op *op) {
    Loc loc = op->stmt->loc;
    fprintf(out, "    /* %s:%d: %s */\n", file, line_of(m->src, loc.start),
            comment_text(m->src->text + loc.start, (size_t)(loc.end - loc.start)));
}

static void emit_consts(Deploy *d, const float *param, const float *state) {
    for (int i = 0; i < d->m->n_ops; i++) {
        const Op *op = &d->m->ops[i];
        if (deploy_identity(op))
            continue;
        const char *name = op_name(op);
        if (op->type->deploy_consts) {
            op->type->deploy_consts(d, op, name, param, state);
            continue;
        }
        if (op->n_w)
            deploy_array(d, arena_printf("%s_w", name), param + op->w_off, op->n_w,
                         arena_printf("%s %s", name, op->type->weights_doc(op)));
        if (op->n_b)
            deploy_array(d, arena_printf("%s_b", name), param + op->b_off, op->n_b, "bias");
    }
    deploy_out(d, "\n");
}

static const char *buf_of(const Slot *s, int v) {
    return s[v].root == 0 ? "input" : arena_printf("L%d", s[v].root);
}

static void emit_predict(Deploy *d) {
    const Model *m = d->m;
    const Slot *s = d->plan->infer;
    const char *N = m->name, *U = macro_prefix(N);
    int result = s[m->n_ops].root;
    deploy_out(d,
               "#ifdef %s_STATIC_ARENA\n"
               "/* The one mutable object, on request: %s_predict is then not re-entrant */\n"
               "static float %s_arena[%zu];\n#endif\n\n",
               U, N, N, d->plan->infer_per_sample ? d->plan->infer_per_sample : 1);
    deploy_out(d, "void %s_predict(const float *input, float *output, void *arena)\n{\n", N);
    deploy_out(d, "#ifdef %s_STATIC_ARENA\n    if (!arena)\n        arena = %s_arena;\n#endif\n",
               U, N);
    bool uses_arena = false;
    for (int v = 1; v <= m->n_ops; v++)
        uses_arena |= s[v].root == v && v != result;
    if (uses_arena)
        deploy_out(d, "    float *const work = arena;\n");
    else
        deploy_out(d, "    (void)arena;\n");
    for (int v = 1; v <= m->n_ops; v++)
        if (s[v].root == v && v != result)
            deploy_out(d, "    float *const L%d = work + %zu; /* %s */\n", v, s[v].off,
                       shape_str(m->ops[v - 1].out));
    if (result > 0)
        deploy_out(d, "    float *const L%d = output;\n", result);
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        deploy_comment(d->out, m, d->file, op);
        if (deploy_identity(op)) {
            deploy_out(d, "    /* the identity here: its input's buffer */\n");
            continue;
        }
        const char **x = arena_alloc(sizeof *x * (size_t)op->n_in);
        Shape *shapes = arena_alloc(sizeof *shapes * (size_t)op->n_in);
        for (int k = 0; k < op->n_in; k++) {
            x[k] = buf_of(s, op->in[k]);
            shapes[k] = value_shape(m, op->in[k]);
        }
        DeployArgs a = {.y = buf_of(s, i + 1), .x = x, .shapes = shapes, .name = op_name(op)};
        op->type->deploy(d, op, &a);
    }
    if (result == 0)
        deploy_out(d, "    memcpy(output, input, %zu * sizeof(float));\n", shape_size(m->input));
    deploy_out(d, "}\n\n");
    size_t n_out = shape_size(m->ops[m->n_ops - 1].out);
    deploy_out(d,
               "int %s_classify(const float *input, void *arena)\n{\n"
               "    float out[%zu];\n    int best = 0;\n    %s_predict(input, out, arena);\n"
               "    for (int i = 1; i < %zu; i++)\n        best = out[i] > out[best] ? i : best;\n"
               "    return best;\n}\n",
               N, n_out, N, n_out);
}

typedef struct {
    const char *ckpt;
    const float *param, *state;
    const char *h_name;
} Inputs;

static void emit_c(Deploy *d, const Inputs *in) {
    const Model *m = d->m;
    deploy_out(d,
               "/* Generated by nnc %s from %s with the weights of %s: do not edit.\n *\n"
               " * Model %s: input (%s) -> output (%zu), %zu parameters; inference only, C99,\n"
               " * no library (docs/deploy.md). Activations are (H, W, C), channels last. */\n",
               NNC_VERSION, d->file, comment_text(in->ckpt, strlen(in->ckpt)), m->name,
               shape_str(m->input), shape_size(m->ops[m->n_ops - 1].out), m->n_param);
    deploy_out(d, "#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n#include \"%s\"\n\n",
               in->h_name);
    emit_math(d);
    emit_kernels(d);
    emit_consts(d, in->param, in->state);
    emit_predict(d);
}

void deploy_header(FILE *out, const Model *m, const char *file, const char *guard,
                   size_t arena_bytes, size_t weight_bytes, const char *kind) {
    const char *N = m->name, *U = macro_prefix(N);
    Shape in = m->input;
    bool prob = m->ops[m->n_ops - 1].act == ACT_SOFTMAX;
    fprintf(out, "/* Generated by nnc %s from %s: do not edit. The API: docs/deploy.md. */\n",
            NNC_VERSION, file);
    fprintf(out, "#ifndef %s\n#define %s\n\n", guard, guard);
    fprintf(out, "/* floats in: %s, (H, W, C), as the trainer feeds them */\n", shape_str(in));
    fprintf(out, "#define %s_IN_SIZE %zu\n", U, shape_size(in));
    fprintf(out, "/* floats out: %s */\n", prob ? "probabilities (the model ends in softmax)" : "logits");
    fprintf(out, "#define %s_OUT_SIZE %zu\n", U, shape_size(m->ops[m->n_ops - 1].out));
    fprintf(out, "/* the arena %s_predict needs, %s */\n#define %s_ARENA_BYTES %zu\n", N, kind, U,
            arena_bytes);
    fprintf(out, "/* the static const weight arrays */\n#define %s_WEIGHT_BYTES %zu\n\n", U,
            weight_bytes);
    fprintf(out,
            "/* output(%s_OUT_SIZE) from input(%s_IN_SIZE); arena: %s_ARENA_BYTES bytes of\n"
            " * scratch, or NULL when built with -D%s_STATIC_ARENA. Re-entrant: it keeps\n"
            " * no state but the arena's. */\n"
            "void %s_predict(const float *input, float *output, void *arena);\n"
            "/* The index of the largest output */\n"
            "int %s_classify(const float *input, void *arena);\n\n#endif\n",
            U, U, U, U, N, N);
}

static void emit_h(Deploy *d, const char *guard) {
    deploy_header(d->out, d->m, d->file, guard, deploy_arena_bytes(d->plan),
                  d->weight_floats * sizeof(float),
                  "float-aligned: the most values live at once");
}

static char *render(Deploy *d, void (*body)(Deploy *, const void *), const void *arg,
                    size_t *len) {
    char *buf = NULL;
    d->out = open_memstream(&buf, len);
    if (!d->out)
        return NULL;
    body(d, arg);
    if (fclose(d->out) != 0)
        return NULL;
    return buf;
}

static void c_body(Deploy *d, const void *arg) {
    emit_c(d, arg);
}
static void h_body(Deploy *d, const void *arg) {
    emit_h(d, arg);
}

/* The checkpoint's floats, refused as the trainer refuses it */
int deploy_load(const Model *m, const char *path, float **param, float **state) {
    nn_model_desc desc = {.name = m->name,
                          .fingerprint = model_fingerprint(m),
                          .n_param = m->n_param,
                          .n_state = m->n_state};
    nn_checkpoint c;
    char err[1024];
    if (nn_checkpoint_read(&c, path, &desc, err, sizeof err)) {
        fprintf(stderr, "nnc: error: %s\n", err);
        return -1;
    }
    *param = arena_alloc(sizeof(float) * (m->n_param + 1));
    *state = arena_alloc(sizeof(float) * (m->n_state + 1));
    nn_checkpoint_copy(&c, &desc, *param, *state, NULL);
    nn_checkpoint_free(&c);
    return 0;
}

int emit_deploy(const Model *written, const char *ckpt, const char *c_path, const char *h_path) {
    Deploy d = {0};
    d.m = fuse_activations(written);
    d.plan = plan_model(d.m);
    d.file = comment_text(base_name(written->source_path), strlen(base_name(written->source_path)));
    Inputs in = {.ckpt = ckpt, .h_name = base_name(h_path)};
    float *param, *state;
    if (deploy_load(d.m, ckpt, &param, &state))
        return -1;
    in.param = param, in.state = state;
    OutFile files[2] = {{.path = c_path}, {.path = h_path}};
    /* the header last: it says how many bytes of weights the .c holds */
    files[0].data = render(&d, c_body, &in, &files[0].len);
    files[1].data = render(&d, h_body, header_guard(in.h_name), &files[1].len);
    return write_rendered(files, 2);
}
