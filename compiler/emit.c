/* emit.c: writes the checked IR as C for libnnrt.
 *
 * Consumes a Model (from lower_program); produces NAME.c (parameter layout,
 * init, train step, inference, the nn_model_desc and main) and NAME.h (the
 * public symbols, for programs that embed the inference function).
 * Every size is a constant in the output except the batch size B. Each block
 * starts with a comment quoting the .model line it comes from. Both files are
 * built in memory, then written by write_files (output.c): both or neither.
 *
 * The generated code is a schedule of runtime kernel calls over one flat
 * parameter buffer and one workspace whose layout plan.c decides.
 */
#include "nnc.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    FILE *out;
    const Model *m;       /* fused */
    const Model *written; /* as written, for the summary */
    OpSlot *slots;
    WorkPlan plan;
    const char *file;  /* the .model's file name, for comments (comment_text) */
    const char *path;  /* its path, likewise */
    int first_trained; /* index (0-based) of the first op with parameters; n_ops if none */
} Emit;

static void out(Emit *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(Emit *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(e->out, fmt, ap);
    va_end(ap);
}

/* A float literal that reads back as exactly v, in the fewest digits (9
 * always suffice); "%g" alone would print 0 as "0f", which is not C. */
static const char *flt(float v) {
    char *s = NULL;
    for (int digits = 6; digits <= 9; digits++)
        if (strtof(s = arena_printf("%.*g", digits, (double)v), NULL) == v)
            break;
    return strpbrk(s, ".e") ? arena_printf("%sf", s) : arena_printf("%s.0f", s);
}

static const char *const act_enum[] = {"NN_LINEAR", "NN_RELU",    "NN_SIGMOID",
                                       "NN_TANH",   "NN_SOFTMAX", "NN_LEAKY_RELU"};

/* s[0..n) as text inside a C comment: "*\/" and "/\*" would end the comment
 * or draw a warning, so they get a backslash; a tab becomes a space and any
 * other byte outside printable ASCII (a newline in a file name, UTF-8) is
 * written \xNN. Trigraphs need nothing: GCC ignores them in comments unless
 * they end a line, and no byte here does. */
static const char *comment_text(const char *s, size_t n) {
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

static void comment_op(Emit *e, const Op *op, const char *indent) {
    out(e, "%s/* %s:%d: %s */\n", indent, e->file, line_of(e->m->src, op->stmt->loc.start),
        stmt_text(e, op));
}

static const char *shape_str(Shape s) {
    if (s.rank == 1)
        return arena_printf("%d", s.c);
    return arena_printf("%d, %d, %d", s.h, s.w, s.c);
}

/* Rows of a batch for elementwise and per-feature kernels (of s.c columns):
 * B for a flat shape, else b * H * W with b = (size_t)B, declared by the
 * function, so that the product is never an int that could overflow. */
static size_t rows_per_sample(Shape s) {
    return (size_t)s.h * s.w;
}

static const char *rows(Shape s) {
    return rows_per_sample(s) == 1 ? "B" : arena_printf("b * %zu", rows_per_sample(s));
}

static bool ends_in_softmax(const Model *m) {
    const Op *last = &m->ops[m->n_ops - 1];
    return (last->kind == OP_ACT || last->kind == OP_DENSE || last->kind == OP_CONV2D) &&
           last->act == ACT_SOFTMAX;
}

/* With cross-entropy, a final softmax is left to the fused loss. */
static bool softmax_fused_with_loss(const Emit *e, const Op *op) {
    return e->m->train.loss == LOSS_CROSS_ENTROPY && op == &e->m->ops[e->m->n_ops - 1] &&
           op->act == ACT_SOFTMAX;
}

static bool has_params(const Op *op) {
    return op->n_w > 0;
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
    out(e, "/* Parameters: one flat buffer of %zu floats; offsets in floats. */\n", m->n_param);
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        if (!has_params(op))
            continue;
        const char *what = op->kind == OP_BATCHNORM ? "gamma, beta" : "weights";
        if (op->kind == OP_DENSE)
            what = arena_printf("(%d, %zu)", op->units, shape_size(op->in));
        else if (op->kind == OP_CONV2D)
            what = arena_printf("(%d, %d, %d, %d)", op->units, op->kernel, op->kernel, op->in.c);
        out(e, "#define P_L%d_W %zu /* %s  line %d: %s */\n", op->index, op->w_off, what,
            line_of(m->src, op->stmt->loc.start), stmt_text(e, op));
        if (op->n_b)
            out(e, "#define P_L%d_B %zu /* (%zu) */\n", op->index, op->b_off, op->n_b);
    }
    if (m->n_state) {
        out(e,
            "\n/* State: %zu floats of batchnorm running [mean, var], saved in checkpoints. */\n",
            m->n_state);
        for (int i = 0; i < m->n_ops; i++)
            if (m->ops[i].n_s)
                out(e, "#define S_L%d %zu\n", m->ops[i].index, m->ops[i].s_off);
    }
    out(e,
        "\n/* Training workspace: %zu floats per sample (saved activations %zu, gradients %zu),\n"
        " * %zu fixed (batchnorm statistics, conv2d partial gradients), %zu per thread\n"
        " * (conv2d scratch). */\n",
        e->plan.saved_per_sample + e->plan.grad_per_sample, e->plan.saved_per_sample,
        e->plan.grad_per_sample, e->plan.fixed, e->plan.scratch_per_thread);
    out(e, "#define WORK_PER_SAMPLE %zu\n#define WORK_FIXED %zu\n#define WORK_PER_THREAD %zu\n",
        e->plan.saved_per_sample + e->plan.grad_per_sample, e->plan.fixed,
        e->plan.scratch_per_thread);
    out(e, "\n");
}

// ------------------------------------------------------------ init

static void emit_init(Emit *e) {
    const Model *m = e->m;
    out(e, "/* Parameter initialisation, a pure function of the seed. Each layer with random\n"
           " * weights draws from its own stream, keyed by the seed and the layer's default\n"
           " * name (dense, dense_1, conv2d, ...; see --summary), not by its position: adding\n"
           " * or removing a dropout, activation or flatten leaves every initial value as\n"
           " * it was, while adding a dense layer renames, and so redraws, the dense layers\n"
           " * after it. */\n");
    out(e, "void %s_init(float *param, float *state, uint64_t seed)\n{\n", m->name);
    if (!m->n_state)
        out(e, "    (void)state;\n");
    bool draws = false; /* only dense and conv2d weights are random */
    for (int i = 0; i < m->n_ops; i++)
        draws |= m->ops[i].kind == OP_DENSE || m->ops[i].kind == OP_CONV2D;
    if (!m->n_param)
        out(e, "    (void)param;\n");
    if (!draws)
        out(e, "    (void)seed;\n");
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        if (!has_params(op))
            continue;
        comment_op(e, op, "    ");
        int L = op->index;
        if (op->kind == OP_BATCHNORM) {
            int C = op->out.c;
            out(e, "    nn_init_fill(param + P_L%d_W, %d, 1.0f); /* gamma */\n", L, C);
            out(e, "    nn_init_fill(param + P_L%d_W + %d, %d, 0.0f); /* beta */\n", L, C, C);
            out(e, "    nn_init_fill(state + S_L%d, %d, 0.0f); /* running mean */\n", L, C);
            out(e, "    nn_init_fill(state + S_L%d + %d, %d, 1.0f); /* running variance */\n", L, C,
                C);
            continue;
        }
        long fan_in = op->kind == OP_DENSE ? (long)shape_size(op->in)
                                           : (long)op->kernel * op->kernel * op->in.c;
        long fan_out = op->kind == OP_DENSE ? op->units : (long)op->kernel * op->kernel * op->units;
        /* The name, not op->index: the index counts layers without parameters. */
        out(e, "    {\n        nn_rng r = nn_rng_seed(nn_hash2(seed, UINT64_C(0x%016llx))); /* \"%s\" */\n",
            (unsigned long long)fnv1a(FNV_BASIS, op->name), op->name);
        switch (op->init) {
        case INIT_GLOROT:
            out(e, "        nn_init_glorot_uniform(param + P_L%d_W, %zu, %ld, %ld, &r);\n", L,
                op->n_w, fan_in, fan_out);
            break;
        case INIT_HE:
            out(e, "        nn_init_he_uniform(param + P_L%d_W, %zu, %ld, &r);\n", L, op->n_w,
                fan_in);
            break;
        case INIT_ZEROS:
            out(e, "        (void)r;\n        nn_init_fill(param + P_L%d_W, %zu, 0.0f);\n", L,
                op->n_w);
            break;
        }
        out(e, "    }\n");
        if (op->n_b)
            out(e, "    nn_init_fill(param + P_L%d_B, %zu, 0.0f);\n", L, op->n_b);
    }
    out(e, "}\n\n");
}

// ------------------------------------------------------------ forward

/* The C expressions naming an op's input and output buffers. */
typedef struct {
    const char *x, *y;
} Io;

static const char *bias_arg(const Op *op, const char *buf) {
    return op->n_b ? arena_printf("%s + P_L%d_B", buf, op->index) : "NULL";
}

/* The pass over a GEMM output y of `rows` rows: bias and activation, and
 * with drop, that dropout's mask as well (the output is then the dropout's) */
static void emit_bias_act(Emit *e, const Op *op, const char *y, const char *rows, ActKind act,
                          const Op *drop) {
    if (drop)
        out(e, "    nn_bias_relu_dropout(%s, %s, %s, %d, %s, key%d);\n", y,
            bias_arg(op, "param"), rows, op->out.c, flt(drop->rate), drop->index);
    else
        out(e, "    nn_bias_act(%s, %s, %s, %d, %s, %s);\n", y, bias_arg(op, "param"), rows,
            op->out.c, act_enum[act], flt(op->alpha));
}

/* One op's forward pass. train: batchnorm uses batch statistics and maxpool
 * keeps its argmax; act: the activation to apply after a GEMM; drop: the
 * dropout op whose mask goes into the same pass (fuses_dropout), or NULL. */
static void emit_forward_op(Emit *e, const Op *op, Io io, bool train, ActKind act,
                            const Op *drop) {
    int L = op->index;
    Shape in = op->in, o = op->out;
    const char *R = rows(o);
    switch (op->kind) {
    case OP_DENSE:
        out(e, "    nn_dense_forward(%s, %s, param + P_L%d_W, B, %zu, %d);\n", io.y, io.x, L,
            shape_size(in), op->units);
        emit_bias_act(e, op, io.y, "B", act, drop);
        break;
    case OP_CONV2D: /* bias and activation inside, image by image; a dropout then masks */
        out(e,
            "    nn_conv2d_forward(%s, %s, param + P_L%d_W, %s, %s, %s, col, B, %d, %d, %d, %d, %d, "
            "%d, %d, %d, %d);\n",
            io.y, io.x, L, bias_arg(op, "param"), act_enum[act], flt(op->alpha), in.h, in.w,
            in.c, op->kernel, op->stride, op->pad, o.c, o.h, o.w);
        if (drop)
            out(e, "    nn_dropout_forward(%s, %s, b * %zu, %s, key%d);\n", io.y, io.y,
                shape_size(o), flt(drop->rate), drop->index);
        break;
    case OP_MAXPOOL:
        out(e, "    nn_maxpool_forward(%s, %s, %s, B, %d, %d, %d, %d, %d, %d, %d);\n", io.y,
            train ? arena_printf("(int32_t *)(work + b * %zu)", e->slots[L - 1].argmax) : "NULL",
            io.x, in.h, in.w, in.c, op->kernel, op->stride, o.h, o.w);
        break;
    case OP_AVGPOOL:
        out(e, "    nn_avgpool_forward(%s, %s, B, %d, %d, %d, %d, %d, %d, %d);\n", io.y, io.x, in.h,
            in.w, in.c, op->kernel, op->stride, o.h, o.w);
        break;
    case OP_BATCHNORM:
        if (train)
            out(e,
                "    nn_batchnorm_train(%s, bn%d, state + S_L%d, %s, param + P_L%d_W, %s, %d, "
                "%s, %s);\n",
                io.y, L, L, io.x, L, R, o.c, flt(op->momentum), flt(op->eps));
        else
            out(e,
                "    nn_batchnorm_infer(%s, %s, state + S_L%d, param + P_L%d_W, %s, %d, "
                "%s);\n",
                io.y, io.x, L, L, R, o.c, flt(op->eps));
        break;
    case OP_DROPOUT:
        out(e, "    nn_dropout_forward(%s, %s, b * %zu, %s, key%d);\n", io.y, io.x, shape_size(o),
            flt(op->rate), L);
        break;
    case OP_ACT:
        out(e, "    nn_act_forward(%s, %s, %s, %d, %s, %s);\n", io.y, io.x, R, o.c,
            act_enum[act], flt(op->alpha));
        break;
    case OP_FLATTEN:
        break;
    }
}

// ------------------------------------------------------------ train step

/* The buffer holding op i's output: a flatten's is its input's, a relu
 * layer fused with its dropout writes the dropout's. */
static const char *saved_name(const Emit *e, int i) {
    while (i >= 0 && e->slots[i].aliases_input)
        i--;
    if (i >= 0 && e->slots[i].into_next)
        i++;
    return i < 0 ? "x" : arena_printf("L%d", e->m->ops[i].index);
}

static void emit_backward_op(Emit *e, const Op *op, int i, int *cur) {
    int L = op->index;
    Shape in = op->in, o = op->out;
    const char *R = rows(o);
    const char *dy = arena_printf("g%d", *cur);
    const char *dx = i == e->first_trained ? "NULL" : arena_printf("g%d", 1 - *cur);
    const char *x = saved_name(e, i - 1), *y = saved_name(e, i);
    bool act = (op->kind == OP_DENSE || op->kind == OP_CONV2D) && op->act != ACT_LINEAR &&
               !softmax_fused_with_loss(e, op);
    if (act && e->slots[i].into_next)
        out(e, "    nn_relu_dropout_backward(%s, %s, %s, b * %zu, %s);\n", dy, dy, y,
            shape_size(o), flt(e->m->ops[i + 1].rate));
    else if (act && op->kind == OP_DENSE)
        out(e, "    nn_act_backward(%s, %s, %s, %s, %d, %s, %s);\n", dy, dy, y, R, o.c,
            act_enum[op->act], flt(op->alpha));
    /* conv2d applies its activation's derivative itself, image by image */
    bool conv_act = act && !e->slots[i].into_next;
    switch (op->kind) {
    case OP_DENSE:
        out(e,
            "    nn_dense_backward(%s, grad + P_L%d_W, %s, %s, %s, param + P_L%d_W, B, %zu, %d);\n",
            dx, L, bias_arg(op, "grad"), dy, x, L, shape_size(in), op->units);
        break;
    case OP_CONV2D:
        out(e,
            "    nn_conv2d_backward(%s, grad + P_L%d_W, %s, %s, %s, %s, %s, %s, param + P_L%d_W, "
            "col, partials, B, %d, %d, %d, %d, %d, %d, %d, %d, %d);\n",
            dx, L, bias_arg(op, "grad"), dy, conv_act ? y : "NULL",
            act_enum[conv_act ? op->act : ACT_LINEAR], flt(op->alpha), x, L, in.h, in.w, in.c,
            op->kernel, op->stride, op->pad, o.c, o.h, o.w);
        break;
    case OP_MAXPOOL:
        out(e,
            "    nn_maxpool_backward(%s, %s, (const int32_t *)(work + b * %zu), B, %d, %d, %d, "
            "%d, %d);\n",
            dx, dy, e->slots[i].argmax, in.h, in.w, in.c, o.h, o.w);
        break;
    case OP_AVGPOOL:
        out(e, "    nn_avgpool_backward(%s, %s, B, %d, %d, %d, %d, %d, %d, %d);\n", dx, dy, in.h,
            in.w, in.c, op->kernel, op->stride, o.h, o.w);
        break;
    case OP_BATCHNORM:
        out(e,
            "    nn_batchnorm_backward(%s, grad + P_L%d_W, %s, %s, bn%d, param + P_L%d_W, %s, "
            "%d);\n",
            dx, L, dy, x, L, L, R, o.c);
        break;
    case OP_DROPOUT:
        if (i > 0 && e->slots[i - 1].into_next)
            out(e, "    /* with the relu below, from this layer's output */\n");
        else
            out(e, "    nn_dropout_backward(%s, %s, b * %zu, %s, key%d);\n", dy, dy,
                shape_size(o), flt(op->rate), L);
        return;
    case OP_ACT:
        if (!softmax_fused_with_loss(e, op))
            out(e, "    nn_act_backward(%s, %s, %s, %s, %d, %s, %s);\n", dy, dy, y, R, o.c,
                act_enum[op->act], flt(op->alpha));
        return;
    case OP_FLATTEN:
        return;
    }
    *cur = 1 - *cur;
}

/* Whether some backward op writes its input gradient into the second buffer */
static bool backward_swaps(const Emit *e) {
    for (int i = e->first_trained + 1; i < e->m->n_ops; i++) {
        OpKind k = e->m->ops[i].kind;
        if (k != OP_FLATTEN && k != OP_DROPOUT && k != OP_ACT)
            return true;
    }
    return false;
}

static void emit_train_step(Emit *e) {
    const Model *m = e->m;
    const char *N = m->name;
    size_t out_size = shape_size(m->ops[m->n_ops - 1].out);
    out(e,
        "/* One training step on x(B, %zu): forward with dropout, the loss, backward.\n"
        " * Writes the outputs (B, %zu) to out and the gradient of the mean loss to grad. */\n",
        shape_size(m->input), out_size);
    out(e,
        "float %s_train_step(const float *param, float *grad, float *state, float *work,\n"
        "        const float *x, const int *labels, float *out, int B, uint64_t dropout_key)\n{\n",
        N);
    out(e, "    const size_t b = (size_t)B;\n");
    bool uses_state = false, uses_col = false, uses_key = false, uses_grad = false;
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        uses_state |= op->kind == OP_BATCHNORM;
        uses_col |= op->kind == OP_CONV2D;
        uses_key |= op->kind == OP_DROPOUT;
        uses_grad |= has_params(op);
        if (!e->slots[i].aliases_input && !e->slots[i].into_next)
            out(e, "    float *L%d = work + b * %zu; /* (B, %s) */\n", op->index, e->slots[i].out,
                shape_str(op->out));
    }
    size_t g = e->plan.saved_per_sample;
    out(e, "    float *g0 = work + b * %zu; /* activation gradients, ping */\n", g);
    if (backward_swaps(e))
        out(e, "    float *g1 = work + b * %zu; /* pong */\n", g + e->plan.grad_per_sample / 2);
    if (uses_col)
        out(e, "    float *col = work + b * WORK_PER_SAMPLE + WORK_FIXED; /* conv2d, per thread */\n");
    size_t fixed = 0;
    for (int i = 0; i < m->n_ops; i++)
        if (m->ops[i].kind == OP_BATCHNORM) {
            out(e, "    float *bn%d = work + b * WORK_PER_SAMPLE + %zu; /* mean, 1/std */\n",
                m->ops[i].index, fixed);
            fixed += 2 * (size_t)m->ops[i].out.c;
        }
    if (uses_col)
        out(e, "    float *partials = work + b * WORK_PER_SAMPLE + %zu; /* conv2d shards' dW */\n",
            fixed);
    /* Keyed by the dropout's name, as init streams are: a statement added
     * elsewhere in the model leaves its masks as they were */
    for (int i = 0; i < m->n_ops; i++)
        if (m->ops[i].kind == OP_DROPOUT)
            out(e, "    const uint64_t key%d = nn_hash2(dropout_key, UINT64_C(0x%016llx)); /* \"%s\" */\n",
                m->ops[i].index, (unsigned long long)fnv1a(FNV_BASIS, m->ops[i].name),
                m->ops[i].name);
    if (!uses_state)
        out(e, "    (void)state;\n");
    if (!uses_key)
        out(e, "    (void)dropout_key;\n");
    if (!uses_grad)
        out(e, "    (void)grad;\n    (void)param;\n");

    out(e, "\n    /* forward */\n");
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        comment_op(e, op, "    ");
        if (op->kind == OP_FLATTEN) {
            out(e, "    /* HWC data is already flat: nothing to do */\n");
            continue;
        }
        bool fused = softmax_fused_with_loss(e, op);
        Io io = {saved_name(e, i - 1), saved_name(e, i)};
        if (fused && op->kind == OP_ACT) {
            out(e, "    /* softmax is fused with the cross-entropy loss below */\n");
            out(e, "    memcpy(%s, %s, b * %zu * sizeof(float));\n", io.y, io.x, out_size);
            continue;
        }
        if (i > 0 && e->slots[i - 1].into_next) {
            out(e, "    /* applied in the pass above, with the relu */\n");
            continue;
        }
        emit_forward_op(e, op, io, true, fused ? ACT_LINEAR : op->act,
                        e->slots[i].into_next ? &m->ops[i + 1] : NULL);
    }
    const char *y = saved_name(e, m->n_ops - 1);
    out(e, "\n    /* loss */\n");
    out(e, "    memcpy(out, %s, b * %zu * sizeof(float));\n", y, out_size);
    if (m->train.loss == LOSS_CROSS_ENTROPY)
        out(e, "    const float loss = nn_softmax_xent(g0, %s, labels, B, %zu);\n", y, out_size);
    else
        out(e, "    const float loss = nn_mse(g0, %s, labels, B, %zu);\n", y, out_size);

    out(e, "\n    /* backward, from the last layer to the first that has parameters */\n");
    int cur = 0;
    for (int i = m->n_ops - 1; i >= e->first_trained; i--) {
        comment_op(e, &m->ops[i], "    ");
        emit_backward_op(e, &m->ops[i], i, &cur);
    }
    out(e, "    return loss;\n}\n\n");
}

// ------------------------------------------------------------ inference

static void emit_infer(Emit *e) {
    const Model *m = e->m;
    const char *N = m->name;
    size_t half = e->plan.grad_per_sample / 2;
    out(e,
        "/* Inference on x(B, %zu): no dropout at all, batchnorm on running statistics.\n"
        " * work holds %s_infer_work(B) floats. */\n",
        shape_size(m->input), N);
    out(e,
        "void %s_infer(const float *param, const float *state, float *work, const float *x,\n"
        "        float *out, int B)\n{\n",
        N);
    bool uses_col = false, uses_state = false, uses_param = false, image_rows = false;
    int last = -1, computing = 0; /* ops that write a buffer; all but the last write p0/p1 */
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        uses_col |= op->kind == OP_CONV2D;
        uses_state |= op->kind == OP_BATCHNORM;
        uses_param |= has_params(op);
        image_rows |= (op->kind == OP_BATCHNORM || op->kind == OP_ACT) && rows_per_sample(op->out) > 1;
        if (op->kind != OP_FLATTEN && op->kind != OP_DROPOUT) {
            last = i;
            computing++;
        }
    }
    if (uses_col || computing >= 3 || computing == 0 || image_rows)
        out(e, "    const size_t b = (size_t)B;\n");
    if (computing >= 2)
        out(e, "    float *p0 = work; /* intermediate activations, ping */\n");
    if (computing >= 3)
        out(e, "    float *p1 = work + b * %zu; /* pong */\n", half);
    if (uses_col)
        out(e, "    float *col = work + b * %zu; /* conv2d, per thread */\n", 2 * half);
    if (!uses_state)
        out(e, "    (void)state;\n");
    if (!uses_param)
        out(e, "    (void)param;\n");
    if (computing < 2)
        out(e, "    (void)work;\n");
    const char *cur = "x";
    int next = 0;
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        comment_op(e, op, "    ");
        if (op->kind == OP_FLATTEN) {
            out(e, "    /* HWC data is already flat: nothing to do */\n");
            continue;
        }
        if (op->kind == OP_DROPOUT) {
            out(e, "    /* dropout is the identity at inference */\n");
            continue;
        }
        const char *y = i == last ? "out" : arena_printf("p%d", next);
        emit_forward_op(e, op, (Io){cur, y}, false, op->act, NULL);
        cur = y;
        next = 1 - next;
    }
    if (last < 0)
        out(e, "    memcpy(out, x, b * %zu * sizeof(float));\n", shape_size(m->input));
    out(e, "}\n\n");
    if (e->plan.scratch_per_thread)
        out(e,
            "size_t %s_infer_work(int B)\n{\n    return (size_t)B * %zu + (size_t)nn_threads() * "
            "WORK_PER_THREAD;\n}\n\n",
            N, e->plan.infer_per_sample);
    else
        out(e, "size_t %s_infer_work(int B)\n{\n    return (size_t)B * %zu;\n}\n\n", N,
            e->plan.infer_per_sample);
}

// ------------------------------------------------------------ descriptor

/* A string literal of s[0..n), any bytes: quotes and backslashes escaped,
 * bytes outside printable ASCII in octal, and the second '?' of "??"
 * escaped so that no trigraph (??= is #) forms. */
static void emit_c_string(Emit *e, const char *s, size_t n) {
    out(e, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || (c == '?' && i > 0 && s[i - 1] == '?'))
            out(e, "\\%c", c);
        else if (c < ' ' || c >= 0x7f)
            out(e, "\\%03o", c);
        else
            out(e, "%c", c);
    }
    out(e, "\"");
}

static void emit_descriptor(Emit *e) {
    const Model *m = e->m;
    const Train *t = &m->train;
    const char *N = m->name;
    out(e, "static const char *const summary[] = {\n");
    const char *s = format_summary(e->written);
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        out(e, "    ");
        emit_c_string(e, s, n);
        out(e, ",\n");
        s += n + (nl != NULL);
    }
    out(e, "    NULL,\n};\n\n");
    Shape in = m->input;
    out(e, "const nn_model_desc %s_model = {\n", N);
    out(e, "    .name = \"%s\",\n    .source = ", N);
    emit_c_string(e, m->source_path, strlen(m->source_path));
    out(e, ",\n    .fingerprint = UINT64_C(0x%016llx),\n",
        (unsigned long long)model_fingerprint(m));
    out(e, "    .in_h = %d, .in_w = %d, .in_c = %d, .in_size = %zu,\n", in.h, in.w, in.c,
        shape_size(in));
    out(e, "    .out_size = %zu,\n", shape_size(m->ops[m->n_ops - 1].out));
    out(e, "    .loss = %s,\n", t->loss == LOSS_CROSS_ENTROPY ? "NN_CROSS_ENTROPY" : "NN_MSE");
    out(e, "    .out_is_prob = %d,\n", ends_in_softmax(m));
    out(e, "    .n_param = %zu,\n    .n_state = %zu,\n", m->n_param, m->n_state);
    out(e, "    .work_per_sample = WORK_PER_SAMPLE,\n    .work_fixed = WORK_FIXED,\n"
           "    .work_per_thread = WORK_PER_THREAD,\n");
    out(e, "    .defaults = {\n");
    out(e, "        .optimizer = %s,\n", t->optimizer == OPT_ADAM ? "NN_ADAM" : "NN_SGD");
    out(e, "        .lr = %s, .momentum = %s, .nesterov = %d,\n", flt(t->lr), flt(t->momentum),
        t->nesterov);
    out(e, "        .beta1 = %s, .beta2 = %s, .eps = %s,\n", flt(t->beta1), flt(t->beta2),
        flt(t->eps));
    out(e, "        .weight_decay = %s,\n", flt(t->weight_decay));
    out(e, "        .batch = %ld, .epochs = %ld, .seed = UINT64_C(%llu),\n", t->batch, t->epochs,
        (unsigned long long)t->seed);
    out(e, "    },\n");
    out(e, "    .summary = summary,\n");
    out(e, "    .init = %s_init,\n    .train_step = %s_train_step,\n", N, N);
    out(e, "    .infer = %s_infer,\n    .infer_work = %s_infer_work,\n};\n\n", N, N);
    out(e,
        "#ifndef NNC_NO_MAIN\nint main(int argc, char **argv)\n{\n"
        "    return nn_main(argc, argv, &%s_model);\n}\n#endif\n",
        N);
}

static void emit_header(Emit *e, const char *guard) {
    const Model *m = e->m;
    const char *N = m->name;
    out(e, "/* Generated by nnc %s from %s: do not edit. */\n", NNC_VERSION, e->file);
    out(e,
        "#ifndef %s\n#define %s\n\n#include <stddef.h>\n#include <stdint.h>\n\n"
        "#include <nnc/nnrt.h>\n\n",
        guard, guard);
    out(e, "#define %s_IN_SIZE %zu\n#define %s_OUT_SIZE %zu\n", N, shape_size(m->input), N,
        shape_size(m->ops[m->n_ops - 1].out));
    out(e, "#define %s_N_PARAM %zu\n#define %s_N_STATE %zu\n\n", N, m->n_param, N, m->n_state);
    out(e, "extern const nn_model_desc %s_model;\n", N);
    out(e, "void %s_init(float *param, float *state, uint64_t seed);\n", N);
    out(e,
        "float %s_train_step(const float *param, float *grad, float *state, float *work,\n"
        "        const float *x, const int *labels, float *out, int B, uint64_t dropout_key);\n",
        N);
    out(e,
        "void %s_infer(const float *param, const float *state, float *work, const float *x,\n"
        "        float *out, int B);\n",
        N);
    out(e, "size_t %s_infer_work(int B);\n\n#endif\n", N);
}

static void emit_c(Emit *e, const char *h_name) {
    const Model *m = e->m;
    out(e, "/* Generated by nnc %s from %s: do not edit; edit the .model and rerun nnc.\n *\n",
        NNC_VERSION, e->path);
    out(e, " * Model %s: input (%s) -> output (%zu), %zu parameters.\n", m->name,
        shape_str(m->input), shape_size(m->ops[m->n_ops - 1].out), m->n_param);
    out(e, " * Activations are row-major (B, H, W, C), channels last; every size is a\n"
           " * constant except the batch size B. The kernels: <nnc/nnrt.h>.\n */\n");
    out(e,
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
        h = fnv1a(h, arena_printf("%d %d %d %d %d %d %d %g %d %d %g %g %g %zu %zu %zu;", op->kind,
                                  op->units, op->kernel, op->stride, op->pad, op->same, op->act,
                                  op->alpha, op->init, op->bias, op->rate, op->momentum, op->eps,
                                  op->n_w, op->n_b, op->n_s));
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

static char *header_guard(const char *h_name) {
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
    e.m = fuse_activations(written);
    e.slots = arena_alloc(sizeof(OpSlot) * (size_t)(e.m->n_ops + 1));
    plan_slots(e.m, e.slots);
    e.plan = plan_work(e.m);
    e.path = comment_text(written->source_path, strlen(written->source_path));
    e.file = comment_text(base_name(written->source_path),
                          strlen(base_name(written->source_path)));
    e.first_trained = e.m->n_ops;
    for (int i = e.m->n_ops - 1; i >= 0; i--)
        if (has_params(&e.m->ops[i]))
            e.first_trained = i;

    const char *h_name = base_name(h_path);
    OutFile files[2] = {{.path = c_path}, {.path = h_path}};
    char *c_text = render(&e, emit_c, h_name, &files[0].len);
    char *h_text = render(&e, emit_header, header_guard(h_name), &files[1].len);
    files[0].data = c_text;
    files[1].data = h_text;
    int status = 0;
    if (!c_text || !h_text) {
        fprintf(stderr, "nnc: error: cannot write '%s': out of memory\n", c_text ? h_path : c_path);
        status = -1;
    } else {
        status = write_files(files, 2);
    }
    free(c_text);
    free(h_text);
    return status;
}
