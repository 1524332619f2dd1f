/* emit.c: writes the checked graph as C for libnnrt.
 *
 * Consumes a Model (from lower_program); produces NAME.c (parameter layout,
 * init, train step, inference, the nn_model_desc and main) and NAME.h (the
 * public symbols, for programs that embed the inference function).
 * Every size is a constant in the output except the batch size B. Each block
 * starts with a comment quoting the .model line it comes from. Both files are
 * built in memory, then written by write_files (output.c): both or neither.
 *
 * The generated code is a schedule of runtime kernel calls over one flat
 * parameter buffer and one workspace whose layout plan.c decides: a walk
 * over the fused graph in which each op's description (ops.h) prints its
 * own calls, given the buffers. Buffers are named after the value they
 * hold: L3 is op 3's output, dL3 its gradient; x is the input, out the
 * inference output.
 */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

struct Emit {
    FILE *out;
    const Model *m;       /* fused */
    const Model *written; /* as written, for the summary */
    const Plan *plan;
    const char *file; /* the .model's file name, for comments (comment_text) */
    const char *path; /* its path, likewise */
};

void emit_out(Emit *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(e->out, fmt, ap);
    va_end(ap);
}

/* A float literal that reads back as exactly v, in the fewest digits (9
 * always suffice); "%g" alone would print 0 as "0f", which is not C. */
const char *c_float(float v) {
    char *s = NULL;
    for (int digits = 6; digits <= 9; digits++)
        if (strtof(s = arena_printf("%.*g", digits, (double)v), NULL) == v)
            break;
    return strpbrk(s, ".e") ? arena_printf("%sf", s) : arena_printf("%s.0f", s);
}

const char *c_act(ActKind act) {
    static const char *const names[] = {"NN_LINEAR", "NN_RELU",    "NN_SIGMOID",
                                        "NN_TANH",   "NN_SOFTMAX", "NN_LEAKY_RELU"};
    return names[act];
}

/* B for a flat shape, else b * H * W with b = (size_t)B, declared by every
 * function, so that the product is never an int that could overflow. */
const char *c_rows(Shape s) {
    size_t per_sample = (size_t)s.h * s.w;
    return per_sample == 1 ? "B" : arena_printf("b * %zu", per_sample);
}

const char *c_bias(const Op *op, const char *buf) {
    return op->n_b ? arena_printf("%s + P_L%d_B", buf, op->index) : "NULL";
}

/* s[0..n) as text inside a C comment: "*\/" and "/\*" would end the comment
 * or draw a warning, so they get a backslash; a tab becomes a space and any
 * other byte outside printable ASCII (a newline in a file name, UTF-8) is
 * written \xNN. Trigraphs need nothing: GCC ignores them in comments unless
 * they end a line, and no byte here does. */
const char *comment_text(const char *s, size_t n) {
    char *t = arena_alloc(4 * n + 1), *p = t;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t')
            *p++ = ' ';
        else if (c < ' ' || c >= 0x7f)
            p += sprintf(p, "\\x%02x", c);
        else if ((c == '*' || c == '/') && i + 1 < n && s[i + 1] == (c == '*' ? '/' : '*'))
            *p++ = (char)c, *p++ = '\\';
        else
            *p++ = (char)c;
    }
    return t;
}

static const char *stmt_text(const Emit *e, const Op *op) {
    Loc loc = op->stmt->loc;
    return comment_text(e->m->src->text + loc.start, (size_t)(loc.end - loc.start));
}

static void comment_op(Emit *e, const Op *op) {
    emit_out(e, "    /* %s:%d: %s */\n", e->file, line_of(e->m->src, op->stmt->loc.start),
        stmt_text(e, op));
}

static const char *c_dims(Shape s) {
    if (s.rank == 1)
        return arena_printf("%d", s.c);
    return arena_printf("%d, %d, %d", s.h, s.w, s.c);
}

static const Op *output_op(const Model *m) {
    return &m->ops[m->n_ops - 1];
}

static bool ends_in_softmax(const Model *m) {
    return output_op(m)->act == ACT_SOFTMAX;
}

/* With cross-entropy, a final softmax is left to the fused loss. */
static bool softmax_fused_with_loss(const Emit *e, const Op *op) {
    return e->m->train.loss == LOSS_CROSS_ENTROPY && op == output_op(e->m) &&
           op->act == ACT_SOFTMAX;
}

static bool has_params(const Op *op) {
    return op->n_w > 0;
}

static bool any_op(const Model *m, unsigned flags) {
    for (int i = 0; i < m->n_ops; i++)
        if (m->ops[i].type->flags & flags)
            return true;
    return false;
}

#define FNV_BASIS UINT64_C(0xcbf29ce484222325)
static uint64_t fnv1a(uint64_t h, const char *s) {
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

// ------------------------------------------------------------ layout

static void emit_layout(Emit *e) {
    const Model *m = e->m;
    const Plan *p = e->plan;
    emit_out(e, "/* Parameters: one flat buffer of %zu floats; offsets in floats. */\n", m->n_param);
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        if (!has_params(op))
            continue;
        emit_out(e, "#define P_L%d_W %zu /* %s  line %d: %s */\n", op->index, op->w_off,
            op->type->weights_doc(op), line_of(m->src, op->stmt->loc.start), stmt_text(e, op));
        if (op->n_b)
            emit_out(e, "#define P_L%d_B %zu /* (%zu) */\n", op->index, op->b_off, op->n_b);
    }
    if (m->n_state) {
        emit_out(e,
            "\n/* State: %zu floats of batchnorm running [mean, var], saved in checkpoints. */\n",
            m->n_state);
        for (int i = 0; i < m->n_ops; i++)
            if (m->ops[i].n_s)
                emit_out(e, "#define S_L%d %zu\n", m->ops[i].index, m->ops[i].s_off);
    }
    emit_out(e,
        "\n/* Training workspace: %zu floats per sample (values, gradients and what the\n"
        " * backward pass keeps, each buffer reused once its last reader has run),\n"
        " * %zu fixed (batchnorm statistics, conv2d partial gradients), %zu per thread\n"
        " * (conv2d scratch). */\n",
        p->per_sample, p->fixed, p->scratch_per_thread);
    emit_out(e, "#define WORK_PER_SAMPLE %zu\n#define WORK_FIXED %zu\n#define WORK_PER_THREAD %zu\n",
        p->per_sample, p->fixed, p->scratch_per_thread);
    emit_out(e, "\n");
}

// ------------------------------------------------------------ init

static void emit_init(Emit *e) {
    const Model *m = e->m;
    emit_out(e, "/* Parameter initialisation, a pure function of the seed. Each layer with random\n"
           " * weights draws from its own stream, keyed by the seed and the layer's default\n"
           " * name (dense, dense_1, conv2d, ...; see --summary), not by its position: adding\n"
           " * or removing a dropout, activation or flatten leaves every initial value as\n"
           " * it was, while adding a dense layer renames, and so redraws, the dense layers\n"
           " * after it. */\n");
    emit_out(e, "void %s_init(float *param, float *state, uint64_t seed)\n{\n", m->name);
    if (!m->n_state)
        emit_out(e, "    (void)state;\n");
    bool draws = false;
    for (int i = 0; i < m->n_ops; i++)
        draws |= has_params(&m->ops[i]) && m->ops[i].type->fans;
    if (!m->n_param)
        emit_out(e, "    (void)param;\n");
    if (!draws)
        emit_out(e, "    (void)seed;\n");
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        if (!has_params(op))
            continue;
        comment_op(e, op);
        int L = op->index;
        if (!op->type->fans) {
            op->type->init(e, op);
            continue;
        }
        long fan_in, fan_out;
        op->type->fans(op, &fan_in, &fan_out);
        /* The name, not op->index: the index counts layers without parameters. */
        emit_out(e, "    {\n        nn_rng r = nn_rng_seed(nn_hash2(seed, UINT64_C(0x%016llx))); /* \"%s\" */\n",
            (unsigned long long)fnv1a(FNV_BASIS, op->name), op->name);
        switch (op->init) {
        case INIT_GLOROT:
            emit_out(e, "        nn_init_glorot_uniform(param + P_L%d_W, %zu, %ld, %ld, &r);\n", L,
                op->n_w, fan_in, fan_out);
            break;
        case INIT_HE:
            emit_out(e, "        nn_init_he_uniform(param + P_L%d_W, %zu, %ld, &r);\n", L, op->n_w,
                fan_in);
            break;
        case INIT_ZEROS:
            emit_out(e, "        (void)r;\n        nn_init_fill(param + P_L%d_W, %zu, 0.0f);\n", L,
                op->n_w);
            break;
        }
        emit_out(e, "    }\n");
        if (op->n_b)
            emit_out(e, "    nn_init_fill(param + P_L%d_B, %zu, 0.0f);\n", L, op->n_b);
    }
    emit_out(e, "}\n\n");
}

// ------------------------------------------------------------ train step

/* The buffer holding value v, and its gradient */
static const char *value_buf(const Slot *s, int v) {
    return s[v].root == 0 ? "x" : arena_printf("L%d", s[v].root);
}

static const char *grad_buf(const Emit *e, int v) {
    int g = e->plan->grad[v].root;
    return g < 0 ? "NULL" : arena_printf("dL%d", g);
}

static const char **input_bufs(const Op *op, const Slot *s) {
    const char **x = arena_alloc(sizeof *x * (size_t)op->n_in);
    for (int k = 0; k < op->n_in; k++)
        x[k] = value_buf(s, op->in[k]);
    return x;
}

static Shape *input_shapes(const Emit *e, const Op *op) {
    Shape *s = arena_alloc(sizeof *s * (size_t)op->n_in);
    for (int k = 0; k < op->n_in; k++)
        s[k] = value_shape(e->m, op->in[k]);
    return s;
}

static const char *key_of(const Op *op) {
    return arena_printf("key%d", op->index);
}

static void emit_forward_train(Emit *e, int i) {
    const Model *m = e->m;
    const Op *op = &m->ops[i];
    const OpPlan *p = &e->plan->op[i];
    comment_op(e, op);
    if (p->fused_into >= 0) {
        emit_out(e, "    /* applied in the pass above, with the relu */\n");
        return;
    }
    if (p->alias) {
        emit_out(e, "    /* %s */\n", softmax_fused_with_loss(e, op)
                                  ? "softmax is fused with the cross-entropy loss below"
                                  : "the output is the input's buffer: nothing to do");
        return;
    }
    const Op *drop = p->fuses >= 0 ? &m->ops[p->fuses] : NULL;
    FwdArgs a = {
        .y = value_buf(e->plan->act, i + 1),
        .x = input_bufs(op, e->plan->act),
        .shapes = input_shapes(e, op),
        .train = true,
        .act = softmax_fused_with_loss(e, op) ? ACT_LINEAR : op->act,
        .drop = drop,
        .extra = op->type->extra && p->backward ? arena_printf("L%d_kept", op->index) : NULL,
        .fixed = op->type->fixed ? arena_printf("L%d_fixed", op->index) : NULL,
        .key = key_of(drop ? drop : op),
    };
    op->type->forward(e, op, &a);
}

static void emit_backward_op(Emit *e, int i) {
    const Model *m = e->m;
    const Op *op = &m->ops[i];
    const OpPlan *p = &e->plan->op[i];
    if (p->zero_grads) {
        comment_op(e, op);
        emit_out(e, "    /* nothing it computes reaches the loss */\n");
        emit_out(e, "    memset(grad + P_L%d_W, 0, %zu * sizeof(float));\n", op->index,
            op->n_w + op->n_b);
        return;
    }
    if (p->alias && e->plan->grad[i + 1].root >= 0) {
        comment_op(e, op);
        if (p->fused_into >= 0)
            emit_out(e, "    /* with the relu below, from this layer's output */\n");
        return;
    }
    if (!p->backward)
        return;
    comment_op(e, op);
    unsigned f = op->type->flags;
    const char *dy = grad_buf(e, i + 1);
    const char **dx = arena_alloc(sizeof *dx * (size_t)op->n_in);
    const char **real = arena_alloc(sizeof *real * (size_t)op->n_in);
    for (int k = 0; k < op->n_in; k++) {
        real[k] = dx[k] = grad_buf(e, op->in[k]);
        if (p->acc[k] == 1 && !(f & OT_GRAD_ADDS)) /* the kernel overwrites: add after */
            dx[k] = f & OT_GRAD_IN_PLACE ? dy : arena_printf("L%d_tmp", op->index);
    }
    const Op *drop = p->fuses >= 0 ? &m->ops[p->fuses] : NULL;
    BwdArgs a = {
        .dy = dy,
        .dx = dx,
        .acc = p->acc,
        .y = value_buf(e->plan->act, i + 1),
        .x = input_bufs(op, e->plan->act),
        .shapes = input_shapes(e, op),
        .act = softmax_fused_with_loss(e, op) ? ACT_LINEAR : op->act,
        .drop = drop,
        .in_place = (f & OT_GRAD_IN_PLACE) && p->acc[0] == 0,
        .extra = op->type->extra ? arena_printf("L%d_kept", op->index) : NULL,
        .fixed = op->type->fixed ? arena_printf("L%d_fixed", op->index) : NULL,
        .key = key_of(drop ? drop : op),
    };
    op->type->backward(e, op, &a);
    for (int k = 0; k < op->n_in; k++)
        if (dx[k] != real[k])
            emit_out(e, "    nn_grad_into(%s, %s, b * %zu, 1); /* %s has other readers */\n", real[k],
                dx[k], shape_size(value_shape(m, op->in[k])), real[k] + 1);
}

static void emit_train_step(Emit *e) {
    const Model *m = e->m;
    const Plan *p = e->plan;
    const char *N = m->name;
    size_t out_size = shape_size(output_op(m)->out);
    emit_out(e,
        "/* One training step on x(B, %zu): forward with dropout, the loss, backward.\n"
        " * Writes the outputs (B, %zu) to out and the gradient of the mean loss to grad. */\n",
        shape_size(m->input), out_size);
    emit_out(e,
        "float %s_train_step(const float *param, float *grad, float *state, float *work,\n"
        "        const float *x, const int *labels, const float *targets, float *out, int B,\n"
        "        uint64_t dropout_key)\n{\n",
        N);
    emit_out(e, "    const size_t b = (size_t)B;\n");
    bool uses_work = false; /* a model of aliases alone (flatten) has no buffer */
    for (int v = 1; v <= m->n_ops; v++)
        if (p->act[v].root == v) {
            emit_out(e, "    float *L%d = work + b * %zu; /* (B, %s) */\n", v, p->act[v].off,
                c_dims(m->ops[v - 1].out));
            uses_work = true;
        }
    for (int v = 1; v <= m->n_ops; v++)
        if (p->grad[v].root == v) {
            emit_out(e, "    float *dL%d = work + b * %zu; /* its gradient */\n", v, p->grad[v].off);
            uses_work = true;
        }
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        if (op->type->extra && p->op[i].backward)
            emit_out(e, "    float *L%d_kept = work + b * %zu; /* for its backward */\n", op->index,
                p->op[i].extra);
        if (p->op[i].tmp != SIZE_MAX)
            emit_out(e, "    float *L%d_tmp = work + b * %zu; /* its input's gradient, to add in */\n",
                op->index, p->op[i].tmp);
        if (op->type->fixed)
            emit_out(e, "    float *L%d_fixed = work + b * WORK_PER_SAMPLE + %zu; /* batch statistics */\n",
                op->index, p->op[i].fixed);
        uses_work |= (op->type->extra && p->op[i].backward) || p->op[i].tmp != SIZE_MAX ||
                     op->type->fixed;
    }
    if (p->scratch_per_thread)
        emit_out(e, "    float *col = work + b * WORK_PER_SAMPLE + WORK_FIXED; /* per thread */\n");
    if (p->conv_partials)
        emit_out(e, "    float *partials = work + b * WORK_PER_SAMPLE + %zu; /* conv2d shards' dW */\n",
            p->fixed - p->conv_partials);
    uses_work |= p->scratch_per_thread || p->conv_partials;
    /* Keyed by the dropout's name, as init streams are: a statement added
     * elsewhere in the model leaves its masks as they were */
    for (int i = 0; i < m->n_ops; i++)
        if (m->ops[i].type->flags & OT_DROPOUT)
            emit_out(e, "    const uint64_t key%d = nn_hash2(dropout_key, UINT64_C(0x%016llx)); /* \"%s\" */\n",
                m->ops[i].index, (unsigned long long)fnv1a(FNV_BASIS, m->ops[i].name),
                m->ops[i].name);
    if (!m->n_state)
        emit_out(e, "    (void)state;\n");
    if (!any_op(m, OT_DROPOUT))
        emit_out(e, "    (void)dropout_key;\n");
    if (!m->n_param)
        emit_out(e, "    (void)grad;\n    (void)param;\n");
    if (!uses_work)
        emit_out(e, "    (void)work;\n");

    emit_out(e, "\n    /* forward */\n");
    for (int i = 0; i < m->n_ops; i++)
        emit_forward_train(e, i);
    const char *y = value_buf(p->act, m->n_ops);
    emit_out(e, "\n    /* loss */\n");
    emit_out(e, "    memcpy(out, %s, b * %zu * sizeof(float));\n", y, out_size);
    if (m->train.loss == LOSS_CROSS_ENTROPY)
        emit_out(e, "    (void)targets; /* classes only */\n"
                    "    const float loss = nn_softmax_xent(%s, %s, labels, B, %zu);\n",
            grad_buf(e, m->n_ops), y, out_size);
    else /* regression targets, or the one-hot labels */
        emit_out(e, "    const float loss = targets ? nn_mse_targets(%s, %s, targets, B, %zu)\n"
                    "                               : nn_mse(%s, %s, labels, B, %zu);\n",
            grad_buf(e, m->n_ops), y, out_size, grad_buf(e, m->n_ops), y, out_size);

    emit_out(e, "\n    /* backward, from the last layer to the first that has parameters */\n");
    for (int i = m->n_ops - 1; i >= 0; i--)
        emit_backward_op(e, i);
    emit_out(e, "    return loss;\n}\n\n");
}

// ------------------------------------------------------------ inference

static void emit_infer(Emit *e) {
    const Model *m = e->m;
    const Plan *p = e->plan;
    const char *N = m->name;
    emit_out(e,
        "/* Inference on x(B, %zu): no dropout at all, batchnorm on running statistics.\n"
        " * work holds %s_infer_work(B) floats. */\n",
        shape_size(m->input), N);
    emit_out(e,
        "void %s_infer(const float *param, const float *state, float *work, const float *x,\n"
        "        float *out, int B)\n{\n",
        N);
    emit_out(e, "    const size_t b = (size_t)B;\n    (void)b;\n");
    const Slot *s = p->infer;
    int result = s[m->n_ops].root; /* the value written to out */
    bool uses_work = p->scratch_per_thread > 0;
    for (int v = 1; v <= m->n_ops; v++)
        if (s[v].root == v && v != result) {
            emit_out(e, "    float *L%d = work + b * %zu; /* (B, %s) */\n", v, s[v].off,
                c_dims(m->ops[v - 1].out));
            uses_work = true;
        }
    if (result > 0)
        emit_out(e, "    float *L%d = out; /* the output */\n", result);
    if (p->scratch_per_thread)
        emit_out(e, "    float *col = work + b * %zu; /* per thread */\n", p->infer_per_sample);
    if (!m->n_state)
        emit_out(e, "    (void)state;\n");
    if (!m->n_param)
        emit_out(e, "    (void)param;\n");
    if (!uses_work)
        emit_out(e, "    (void)work;\n");
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        comment_op(e, op);
        if (op->type->flags & (OT_ALIAS | OT_DROPOUT)) {
            emit_out(e, "    /* %s */\n", op->type->flags & OT_DROPOUT
                                      ? "dropout is the identity at inference"
                                      : "the output is the input's buffer: nothing to do");
            continue;
        }
        FwdArgs a = {
            .y = value_buf(s, i + 1),
            .x = input_bufs(op, s),
            .shapes = input_shapes(e, op),
            .act = op->act,
        };
        op->type->forward(e, op, &a);
    }
    if (result == 0)
        emit_out(e, "    memcpy(out, x, b * %zu * sizeof(float));\n", shape_size(m->input));
    emit_out(e, "}\n\n");
    if (p->scratch_per_thread)
        emit_out(e,
            "size_t %s_infer_work(int B)\n{\n    return (size_t)B * %zu + (size_t)nn_threads() * "
            "WORK_PER_THREAD;\n}\n\n",
            N, p->infer_per_sample);
    else
        emit_out(e, "size_t %s_infer_work(int B)\n{\n    return (size_t)B * %zu;\n}\n\n", N,
            p->infer_per_sample);
}

// ------------------------------------------------------------ descriptor

/* A string literal of s[0..n), any bytes: quotes and backslashes escaped,
 * bytes outside printable ASCII in octal, and the second '?' of "??"
 * escaped so that no trigraph (??= is #) forms. */
static void emit_c_string(Emit *e, const char *s, size_t n) {
    emit_out(e, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || (c == '?' && i > 0 && s[i - 1] == '?'))
            emit_out(e, "\\%c", c);
        else if (c < ' ' || c >= 0x7f)
            emit_out(e, "\\%03o", c);
        else
            emit_out(e, "%c", c);
    }
    emit_out(e, "\"");
}

static void emit_descriptor(Emit *e) {
    const Model *m = e->m;
    const Train *t = &m->train;
    const char *N = m->name;
    emit_out(e, "static const char *const summary[] = {\n");
    const char *s = format_summary(e->written);
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        emit_out(e, "    ");
        emit_c_string(e, s, n);
        emit_out(e, ",\n");
        s += n + (nl != NULL);
    }
    emit_out(e, "    NULL,\n};\n\n");
    Shape in = m->input;
    emit_out(e, "const nn_model_desc %s_model = {\n", N);
    emit_out(e, "    .name = \"%s\",\n    .source = ", N);
    emit_c_string(e, m->source_path, strlen(m->source_path));
    /* as deployed code computes it, without the trainer's own fusions */
    emit_out(e, ",\n    .fingerprint = UINT64_C(0x%016llx),\n",
        (unsigned long long)model_fingerprint(fuse_activations(e->written, false)));
    emit_out(e, "    .in_h = %d, .in_w = %d, .in_c = %d, .in_size = %zu,\n", in.h, in.w, in.c,
        shape_size(in));
    emit_out(e, "    .out_size = %zu,\n", shape_size(output_op(m)->out));
    emit_out(e, "    .loss = %s,\n", t->loss == LOSS_CROSS_ENTROPY ? "NN_CROSS_ENTROPY" : "NN_MSE");
    emit_out(e, "    .out_is_prob = %d,\n", ends_in_softmax(m));
    emit_out(e, "    .n_param = %zu,\n    .n_state = %zu,\n", m->n_param, m->n_state);
    emit_out(e, "    .work_per_sample = WORK_PER_SAMPLE,\n    .work_fixed = WORK_FIXED,\n"
           "    .work_per_thread = WORK_PER_THREAD,\n");
    emit_out(e, "    .defaults = {\n");
    emit_out(e, "        .optimizer = %s,\n", t->optimizer == OPT_ADAM ? "NN_ADAM" : "NN_SGD");
    emit_out(e, "        .lr = %s, .momentum = %s, .nesterov = %d,\n", c_float(t->lr), c_float(t->momentum),
        t->nesterov);
    emit_out(e, "        .beta1 = %s, .beta2 = %s, .eps = %s,\n", c_float(t->beta1), c_float(t->beta2),
        c_float(t->eps));
    emit_out(e, "        .weight_decay = %s,\n", c_float(t->weight_decay));
    emit_out(e, "        .batch = %ld, .epochs = %ld, .seed = UINT64_C(%llu),\n", t->batch, t->epochs,
        (unsigned long long)t->seed);
    /* Only when set: the generated C of a model without them stays as it was */
    static const char *const kinds[] = {"NN_SCHED_NONE", "NN_SCHED_STEP", "NN_SCHED_COSINE",
                                        "NN_SCHED_PLATEAU"}; /* ORDER: SchedKind */
    if (t->schedule != SCHED_NONE)
        emit_out(e, "        .schedule = {.kind = %s, .every = %ld, .warmup = %ld, .patience = %ld,\n"
                    "                     .factor = %s, .min_lr = %s},\n",
            kinds[t->schedule], t->every, t->warmup, t->patience, c_float(t->factor),
            c_float(t->min_lr));
    if (t->clip_norm != 0)
        emit_out(e, "        .clip_norm = %s,\n", c_float(t->clip_norm));
    emit_out(e, "    },\n");
    emit_out(e, "    .summary = summary,\n");
    emit_out(e, "    .init = %s_init,\n    .train_step = %s_train_step,\n", N, N);
    emit_out(e, "    .infer = %s_infer,\n    .infer_work = %s_infer_work,\n};\n\n", N, N);
    emit_out(e,
        "#ifndef NNC_NO_MAIN\nint main(int argc, char **argv)\n{\n"
        "    return nn_main(argc, argv, &%s_model);\n}\n#endif\n",
        N);
}

static void emit_header(Emit *e, const char *guard) {
    const Model *m = e->m;
    const char *N = m->name;
    emit_out(e, "/* Generated by nnc %s from %s: do not edit. */\n", NNC_VERSION, e->file);
    emit_out(e,
        "#ifndef %s\n#define %s\n\n#include <stddef.h>\n#include <stdint.h>\n\n"
        "#include <nnc/nnrt.h>\n\n",
        guard, guard);
    emit_out(e, "#define %s_IN_SIZE %zu\n#define %s_OUT_SIZE %zu\n", N, shape_size(m->input), N,
        shape_size(output_op(m)->out));
    emit_out(e, "#define %s_N_PARAM %zu\n#define %s_N_STATE %zu\n\n", N, m->n_param, N, m->n_state);
    emit_out(e, "extern const nn_model_desc %s_model;\n", N);
    emit_out(e, "void %s_init(float *param, float *state, uint64_t seed);\n", N);
    emit_out(e,
        "float %s_train_step(const float *param, float *grad, float *state, float *work,\n"
        "        const float *x, const int *labels, const float *targets, float *out, int B,\n"
        "        uint64_t dropout_key);\n",
        N);
    emit_out(e,
        "void %s_infer(const float *param, const float *state, float *work, const float *x,\n"
        "        float *out, int B);\n",
        N);
    emit_out(e, "size_t %s_infer_work(int B);\n\n#endif\n", N);
}

static void emit_c(Emit *e, const char *h_name) {
    const Model *m = e->m;
    emit_out(e, "/* Generated by nnc %s from %s: do not edit; edit the .model and rerun nnc.\n *\n",
        NNC_VERSION, e->path);
    emit_out(e, " * Model %s: input (%s) -> output (%zu), %zu parameters.\n", m->name,
        c_dims(m->input), shape_size(output_op(m)->out), m->n_param);
    emit_out(e, " * Activations are row-major (B, H, W, C), channels last; every size is a\n"
           " * constant except the batch size B. The kernels: <nnc/nnrt.h>.\n */\n");
    emit_out(e,
        "#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n#include <nnc/nnrt.h>\n"
        "#include \"%s\"\n\n",
        h_name);
    emit_layout(e);
    emit_init(e);
    emit_train_step(e);
    emit_infer(e);
    emit_descriptor(e);
}

// ------------------------------------------------------------ fingerprint

/* FNV-1a over a canonical description of everything that gives the
 * parameters and state their meaning; a checkpoint must match it. */
uint64_t model_fingerprint(const Model *m) {
    uint64_t h = fnv1a(FNV_BASIS,
                       arena_printf("in %d %d %d %d;", m->input.rank, m->input.h, m->input.w,
                                    m->input.c));
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        /* The inputs only where they are not the previous op's value, so
         * that a chain hashes as it did before the graph IR */
        const char *in = "";
        if (op->n_in != 1 || op->in[0] != i)
            for (int k = 0; k < op->n_in; k++)
                in = arena_printf("%s <%d", in, op->in[k]);
        h = fnv1a(h, arena_printf("%d %d %d %d %d %d %d %g %d %d %g %g %g %zu %zu %zu%s;",
                                  op->type->code, op->units, op->kernel, op->stride, op->pad,
                                  op->same, op->act, op->alpha, op->init, op->bias, op->rate,
                                  op->momentum, op->eps, op->n_w, op->n_b, op->n_s, in));
    }
    return h;
}

// ------------------------------------------------------------ files

static char *render(Emit *e, void (*body)(Emit *, const char *), const char *arg, size_t *len) {
    char *buf = NULL;
    e->out = open_memstream(&buf, len);
    if (!e->out)
        return NULL;
    body(e, arg);
    if (fclose(e->out) != 0)
        return NULL;
    return buf;
}

const char *header_guard(const char *h_name) {
    char *g = arena_printf("NNC_%s", h_name);
    for (char *p = g; *p; p++)
        *p = (*p >= 'a' && *p <= 'z')                                 ? (char)(*p - 'a' + 'A')
             : ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ? *p
                                                                      : '_';
    return g;
}

int emit_model(const Model *written, const char *c_path, const char *h_path) {
    Emit e = {0};
    e.written = written;
    e.m = fuse_activations(written, true);
    e.plan = plan_model(e.m);
    e.path = comment_text(written->source_path, strlen(written->source_path));
    e.file = comment_text(base_name(written->source_path),
                          strlen(base_name(written->source_path)));

    const char *h_name = base_name(h_path);
    OutFile files[2] = {{.path = c_path}, {.path = h_path}};
    files[0].data = render(&e, emit_c, h_name, &files[0].len);
    files[1].data = render(&e, emit_header, header_guard(h_name), &files[1].len);
    return write_rendered(files, 2);
}
