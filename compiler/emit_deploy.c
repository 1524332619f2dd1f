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
 * (with fail.c and optim_state.c, and zlib for its CRC), its data meta by
 * the trainer's decoder, runtime/data_meta.c: the compiler links those
 * files of the runtime and nothing else of it, so a foreign or stale
 * checkpoint is refused with exactly the messages `train --resume` and
 * `eval --load` print. A model trained with --standardize gets the
 * trainer's standardization of its input, from the meta's statistics,
 * before its first layer (docs/deploy.md).
 */
#include "ops.h"

#include "../runtime/checkpoint.h"
#include "../runtime/data.h"

#include <assert.h>
#include <string.h>

struct Deploy {
    FILE *out;
    const Model *m; /* fused */
    const Plan *plan;
    const char *file;     /* the .model's file name, for comments */
    size_t weight_floats; /* what deploy_array wrote */
    const DeployMeta *meta;
    const char *input;    /* what the first layer reads: input, or std_input, standardized */
};

void deploy_out(Deploy *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(d->out, fmt, ap);
    va_end(ap);
}

/* %a prints the double exactly; every float is one, so the literal with an
 * f suffix reads back as the same float */
void deploy_float_array(FILE *out, const char *name, const float *v, size_t n, const char *doc) {
    fprintf(out, "static const float %s[%zu] = { /* %s */\n", name, n, doc);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%af,%s", i % 6 ? " " : "    ", (double)v[i],
                i % 6 == 5 || i + 1 == n ? "\n" : "");
    fprintf(out, "};\n");
}

void deploy_array(Deploy *d, const char *name, const float *v, size_t n, const char *doc) {
    deploy_float_array(d->out, name, v, n, doc);
    d->weight_floats += n;
}

/* runtime/data.c's standardize(), the same two float operations in the
 * same order: a subtraction, then a division (not a product by 1/std, which
 * would round differently) */
const char *deploy_standardized(const Model *m) {
    return arena_printf("(input[i] - %s_mean[i]) / %s_std[i]", m->name, m->name);
}

size_t deploy_stats_arrays(FILE *out, const Model *m, const DeployMeta *meta) {
    if (!meta->mean)
        return 0;
    size_t n = shape_size(m->input);
    deploy_float_array(out, arena_printf("%s_mean", m->name), meta->mean, n,
                       "--standardize: the training set's mean per feature");
    deploy_float_array(out, arena_printf("%s_std", m->name), meta->std, n,
                       "and its standard deviation (1: a constant feature)");
    fprintf(out, "\n");
    return 2 * n;
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

/* The floats of the arena: the plan's, and a standardized input after them */
static size_t arena_floats(const Deploy *d) {
    return d->plan->infer_per_sample + (d->meta->mean ? shape_size(d->m->input) : 0);
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

static const char *buf_of(const Deploy *d, const Slot *s, int v) {
    return s[v].root == 0 ? d->input : arena_printf("L%d", s[v].root);
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
               U, N, N, arena_floats(d) ? arena_floats(d) : 1);
    deploy_out(d, "void %s_predict(const float *input, float *output, void *arena)\n{\n", N);
    deploy_out(d, "#ifdef %s_STATIC_ARENA\n    if (!arena)\n        arena = %s_arena;\n#endif\n",
               U, N);
    bool uses_arena = d->meta->mean != NULL;
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
    if (d->meta->mean)
        deploy_out(d,
                   "    float *const std_input = work + %zu; /* %s, standardized */\n"
                   "    for (int i = 0; i < %zu; i++) /* as the trainer: minus, then divided */\n"
                   "        std_input[i] = %s;\n",
                   d->plan->infer_per_sample, shape_str(m->input), shape_size(m->input),
                   deploy_standardized(m));
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
            x[k] = buf_of(d, s, op->in[k]);
            shapes[k] = value_shape(m, op->in[k]);
        }
        DeployArgs a = {.y = buf_of(d, s, i + 1), .x = x, .shapes = shapes, .name = op_name(op)};
        op->type->deploy(d, op, &a);
    }
    if (result == 0)
        deploy_out(d, "    memcpy(output, %s, %zu * sizeof(float));\n", d->input,
                   shape_size(m->input));
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
    d->weight_floats += deploy_stats_arrays(d->out, m, d->meta);
    emit_consts(d, in->param, in->state);
    emit_predict(d);
}

/* s as a C string literal: quote, backslash and every byte outside
 * printable ASCII escaped in octal (three digits: no digit after it joins) */
static void c_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p > 0x7e || *p == '?') /* '?': no trigraph */
            fprintf(out, "\\%03o", *p);
        else
            fputc(*p, out);
    fputc('"', out);
}

void deploy_header(FILE *out, const Model *m, const char *file, const char *guard,
                   size_t arena_bytes, size_t weight_bytes, const char *kind,
                   const DeployMeta *meta) {
    const char *N = m->name, *U = macro_prefix(N);
    Shape in = m->input;
    bool prob = m->ops[m->n_ops - 1].act == ACT_SOFTMAX;
    fprintf(out, "/* Generated by nnc %s from %s: do not edit. The API: docs/deploy.md. */\n",
            NNC_VERSION, file);
    fprintf(out, "#ifndef %s\n#define %s\n\n", guard, guard);
    if (meta->mean)
        fprintf(out, "/* floats in: %s, (H, W, C), as the trainer reads them, before\n"
                     " * --standardize, which %s_predict applies */\n", shape_str(in), N);
    else
        fprintf(out, "/* floats in: %s, (H, W, C), as the trainer feeds them */\n", shape_str(in));
    fprintf(out, "#define %s_IN_SIZE %zu\n", U, shape_size(in));
    fprintf(out, "/* floats out: %s */\n", prob ? "probabilities (the model ends in softmax)" : "logits");
    fprintf(out, "#define %s_OUT_SIZE %zu\n", U, shape_size(m->ops[m->n_ops - 1].out));
    fprintf(out, "/* the arena %s_predict needs, %s */\n#define %s_ARENA_BYTES %zu\n", N, kind, U,
            arena_bytes);
    fprintf(out, "/* the static const weight arrays%s */\n#define %s_WEIGHT_BYTES %zu\n\n",
            meta->mean ? " (with the mean and std of --standardize)" : "", U, weight_bytes);
    if (meta->n_classes) {
        fprintf(out, "/* The class names of the training data, class i at i, as an initializer:\n"
                     " * static const char *const names[%s_OUT_SIZE] = %s_CLASS_NAMES; */\n"
                     "#define %s_CLASS_NAMES { ", U, U, U);
        for (int k = 0; k < meta->n_classes; k++) {
            c_string(out, meta->class_names[k]);
            fputs(k + 1 < meta->n_classes ? ", " : " }\n\n", out);
        }
    }
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
    deploy_header(d->out, d->m, d->file, guard, arena_floats(d) * sizeof(float),
                  d->weight_floats * sizeof(float),
                  d->meta->mean ? "float-aligned: the most values live at once, and the "
                                  "standardized input"
                                : "float-aligned: the most values live at once",
                  d->meta);
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

/* A copy of the meta's strings and floats in the arena */
static void keep_meta(DeployMeta *out, const nn_data_meta *meta) {
    *out = (DeployMeta){0};
    if (meta->n_features) {
        size_t bytes = sizeof(float) * (size_t)meta->n_features;
        float *mean = arena_alloc(bytes), *std = arena_alloc(bytes);
        memcpy(mean, meta->mean, bytes);
        memcpy(std, meta->std, bytes);
        out->mean = mean, out->std = std;
    }
    if (meta->n_classes) {
        const char **names = arena_alloc(sizeof *names * (size_t)meta->n_classes);
        for (int k = 0; k < meta->n_classes; k++)
            names[k] = arena_printf("%s", meta->class_names[k]);
        out->n_classes = meta->n_classes, out->class_names = names;
    }
}

/* The checkpoint's floats and data meta, refused as the trainer refuses
 * them (runtime/commands.c, runtime/data.c) */
int deploy_load(const Model *m, const char *path, float **param, float **state,
                DeployMeta *meta) {
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
    nn_data_meta dm = {0};
    int rc = c.run.meta_len ? nn_data_meta_decode(&dm, c.run.meta, c.run.meta_len, err, sizeof err)
                            : 0;
    nn_checkpoint_free(&c);
    if (rc) {
        fprintf(stderr, "nnc: error: %s: %s\n", path, err);
        return -1;
    }
    size_t in_size = shape_size(m->input);
    if (dm.n_features && (size_t)dm.n_features != in_size) {
        fprintf(stderr, "nnc: error: the data meta has statistics of %d features, but the "
                        "model's input has %zu values\n", dm.n_features, in_size);
        nn_data_meta_free(&dm);
        return -1;
    }
    keep_meta(meta, &dm);
    nn_data_meta_free(&dm);
    return 0;
}

int emit_deploy(const Model *written, const char *ckpt, const char *c_path, const char *h_path) {
    Deploy d = {0};
    d.m = fuse_activations(written, false);
    d.plan = plan_model(d.m);
    d.file = comment_text(base_name(written->source_path), strlen(base_name(written->source_path)));
    Inputs in = {.ckpt = ckpt, .h_name = base_name(h_path)};
    float *param, *state;
    DeployMeta meta;
    if (deploy_load(d.m, ckpt, &param, &state, &meta))
        return -1;
    d.meta = &meta;
    d.input = meta.mean ? "std_input" : "input";
    in.param = param, in.state = state;
    OutFile files[2] = {{.path = c_path}, {.path = h_path}};
    /* the header last: it says how many bytes of weights the .c holds */
    files[0].data = render(&d, c_body, &in, &files[0].len);
    files[1].data = render(&d, h_body, header_guard(in.h_name), &files[1].len);
    return write_rendered(files, 2);
}
