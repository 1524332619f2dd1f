/* summary.c: the text `nnc --summary` prints (and the trainer's `summary`).
 *
 * Consumes a checked Model; produces, as one arena string:
 *   1. the table of Keras 2's model.summary() for the same Sequential model,
 *      character for character (layer names dense, dense_1, ...; output
 *      shapes (None, ...); parameter counts as Keras counts them, batchnorm
 *      4C of which 2C non-trainable), so the two can be compared with diff;
 *   2. the memory training takes at the model's batch size, from the same
 *      plan the emitter uses (plan.c), so the report cannot drift from the
 *      generated code;
 *   3. the training recipe, defaults included.
 */
#include "nnc.h"

#include <string.h>

typedef struct {
    char *text;
    size_t len, cap;
} Buf;

static void put(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = 2 * (b->len + (size_t)n + 1);
        char *text = arena_alloc(cap);
        if (b->len)
            memcpy(text, b->text, b->len);
        b->text = text;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->text + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

// ------------------------------------------------------------ the Keras table

/* Keras' defaults for a Sequential model: 65 columns, fields ending at
 * 45%, 85% and 100% of the line. */
enum { LINE = 65 };
static const int END[3] = {29, 55, 65};

static void rule_line(Buf *b, char ch) {
    for (int i = 0; i < LINE; i++)
        put(b, "%c", ch);
    put(b, "\n");
}

/* Keras' print_row: each field is cut to its column (less two spaces of
 * gutter) and what does not fit continues on the next line. Keras also
 * breaks after "),", which none of these fields contain. */
static void table_row(Buf *b, const char *fields[3]) {
    const char *left[3] = {fields[0], fields[1], fields[2]};
    while (*left[0] || *left[1] || *left[2]) {
        char line[LINE * 2];
        int len = 0;
        for (int col = 0; col < 3; col++) {
            int start = col ? END[col - 1] : 0;
            int space = col < 2 ? 2 : 0;
            int cut = END[col] - start - space;
            int n = (int)strlen(left[col]);
            n = n < cut ? n : cut;
            if (col == 0)
                line[len++] = ' ';
            memcpy(line + len, left[col], (size_t)n);
            len += n;
            left[col] += n;
            for (int i = 0; i < space; i++)
                line[len++] = ' ';
            while (len < END[col])
                line[len++] = ' ';
        }
        put(b, "%.*s\n", len, line);
    }
}

static const char *keras_shape(Shape s) {
    if (s.rank == 1)
        return arena_printf("(None, %d)", s.c);
    return arena_printf("(None, %d, %d, %d)", s.h, s.w, s.c);
}

/* ORDER OP: Keras' default layer name and class name of each OpKind. */
static const char *const NAMES[][2] = {
    {"dense", "Dense"},
    {"conv2d", "Conv2D"},
    {"max_pooling2d", "MaxPooling2D"},
    {"average_pooling2d", "AveragePooling2D"},
    {"batch_normalization", "BatchNormalization"},
    {"flatten", "Flatten"},
    {"dropout", "Dropout"},
    {"activation", "Activation"},
};
_Static_assert(sizeof NAMES / sizeof NAMES[0] == N_OP_KINDS, "ORDER OP");

const char *keras_name(OpKind kind, int nth) {
    return nth ? arena_printf("%s_%d", NAMES[kind][0], nth) : NAMES[kind][0];
}

static void keras_table(Buf *b, const Model *m) {
    put(b, "Model: \"%s\"\n", m->name);
    rule_line(b, '_');
    table_row(b, (const char *[3]){"Layer (type)", "Output Shape", "Param #"});
    rule_line(b, '=');
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        table_row(b, (const char *[3]){arena_printf("%s (%s)", op->name, NAMES[op->kind][1]),
                                       keras_shape(op->out),
                                       arena_printf("%zu", op->n_w + op->n_b + op->n_s)});
        put(b, "%*s\n", LINE, "");
    }
    rule_line(b, '=');
    put(b, "Total params: %s\n", thousands(m->n_param + m->n_state));
    put(b, "Trainable params: %s\n", thousands(m->n_param));
    put(b, "Non-trainable params: %s\n", thousands(m->n_state));
    rule_line(b, '_');
}

// ------------------------------------------------------------ memory

static size_t sat_mul(size_t a, size_t b) {
    return b && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

static size_t sat_add(size_t a, size_t b) {
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static const char *human(size_t bytes) { /* bytes >= 1024 */
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double x = (double)bytes / 1024;
    int u = 0;
    while (x >= 1024 && u < 5) {
        x /= 1024;
        u++;
    }
    return arena_printf("%.2f %s", x, units[u]);
}

static void mem_line(Buf *b, const char *what, size_t floats, const char *why) {
    size_t bytes = sat_mul(floats, sizeof(float));
    const char *exact = bytes == SIZE_MAX ? "more than 2^64" : thousands(bytes);
    put(b, "  %-26s%16s B", what, exact);
    if (bytes >= 1024 && bytes != SIZE_MAX)
        put(b, "  (%s)", human(bytes));
    put(b, "%s%s\n", why ? "  " : "", why ? why : "");
}

static void memory(Buf *b, const Model *m) {
    const Train *t = &m->train;
    WorkPlan w = plan_work(fuse_activations(m));
    size_t batch = (size_t)t->batch;
    size_t saved = sat_mul(w.saved_per_sample, batch), grads = sat_mul(w.grad_per_sample, batch);
    size_t scratch = w.scratch_per_thread;
    size_t acts = sat_add(sat_add(sat_add(saved, grads), scratch), w.fixed);
    size_t opt = optimizer_state_floats(t, m->n_param);
    size_t total = sat_add(sat_add(sat_add(sat_mul(m->n_param, 2), opt), m->n_state), acts);

    put(b, "\nTraining memory at batch %ld (float32):\n", t->batch);
    mem_line(b, "parameters", m->n_param, NULL);
    mem_line(b, "gradients", m->n_param, NULL);
    mem_line(b, "optimizer state", opt,
             t->optimizer == OPT_ADAM ? "adam: m and v"
             : opt                    ? "sgd: velocity"
                                      : "plain sgd keeps none");
    if (m->n_state)
        mem_line(b, "batchnorm running stats", m->n_state, NULL);
    mem_line(b, "activations", acts, NULL);
    mem_line(b, "  saved for backward", saved, NULL);
    mem_line(b, "  gradient buffers", grads, NULL);
    if (scratch)
        mem_line(b, "  conv2d scratch", scratch, "per thread: an image's columns, a transposed W");
    if (w.conv_partials)
        mem_line(b, "  conv2d partial gradients", w.conv_partials,
                 "one per shard of the batch, summed in order");
    if (w.fixed > w.conv_partials)
        mem_line(b, "  batchnorm batch stats", w.fixed - w.conv_partials, NULL);
    mem_line(b, "dropout masks", 0,
             "none stored: backward regenerates them from a counter-based RNG");
    mem_line(b, "total", total, NULL);
}

// ------------------------------------------------------------ recipe

static bool ends_in_softmax(const Model *m) {
    const Op *last = &m->ops[m->n_ops - 1];
    return (last->kind == OP_ACT || last->kind == OP_DENSE || last->kind == OP_CONV2D) &&
           last->act == ACT_SOFTMAX;
}

static void recipe(Buf *b, const Model *m) {
    const Train *t = &m->train;
    put(b, "\nRecipe:\n");
    if (t->loss == LOSS_MSE)
        put(b, "  loss          mse\n");
    else
        put(b, "  loss          cross_entropy on logits%s\n",
            ends_in_softmax(m) ? " (the final softmax is fused into it)" : "");
    if (t->optimizer == OPT_ADAM)
        put(b, "  optimizer     adam lr=%g beta1=%g beta2=%g eps=%g\n", t->lr, t->beta1, t->beta2,
            t->eps);
    else
        put(b, "  optimizer     sgd lr=%g momentum=%g nesterov=%s\n", t->lr, t->momentum,
            t->nesterov ? "true" : "false");
    put(b, "  weight_decay  %g\n", t->weight_decay);
    put(b, "  batch         %ld\n", t->batch);
    put(b, "  epochs        %ld\n", t->epochs);
    put(b, "  seed          %llu\n", (unsigned long long)t->seed);
}

char *format_summary(const Model *m) {
    Buf b = {0};
    keras_table(&b, m);
    memory(&b, m);
    recipe(&b, m);
    return b.text;
}
