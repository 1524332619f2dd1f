/* summary.c: the text `nnc --summary` prints (and the trainer's `summary`).
 *
 * Consumes a checked Model; produces, as one arena string:
 *   1. the table of Keras 2's model.summary() for the same model, character
 *      for character (layer names dense, dense_1, ...; output shapes
 *      (None, ...); parameter counts as Keras counts them, batchnorm 4C of
 *      which 2C non-trainable), so the two can be compared with diff: a
 *      Sequential model's, or, when a layer reads more than one value
 *      (add, concat), a functional model's, with its InputLayer and the
 *      "Connected to" column;
 *   2. the memory training takes at the model's batch size, from the same
 *      liveness plan the emitter uses (plan.c), so the report cannot drift
 *      from the generated code;
 *   3. the training recipe, defaults included.
 */
#include "ops.h"
#include "../runtime/shard.h" /* the trainer's shards: how much it keeps live */

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

/* Keras' column layouts: a Sequential model's 65 characters, fields ending
 * at 45%, 85% and 100% of the line; a functional model's 98, at 33%, 55%,
 * 67% and 100%. */
typedef struct {
    int line, n_cols;
    int end[4];
} Layout;
static const Layout SEQUENTIAL = {65, 3, {29, 55, 65}};
static const Layout FUNCTIONAL = {98, 4, {32, 53, 65, 98}};

static void rule_line(Buf *b, const Layout *l, char ch) {
    for (int i = 0; i < l->line; i++)
        put(b, "%c", ch);
    put(b, "\n");
}

/* Keras' print_row: each field is cut to its column (less two spaces of
 * gutter, none after the last) and what does not fit continues on the
 * next line; a cut comes early, after the first "),", "},", "]," or "',"
 * (which splits a list of connections one per line). */
static void table_row(Buf *b, const Layout *l, const char *const *fields) {
    static const char *const breaks[] = {"),", "},", "],", "',"};
    const char *left[4];
    for (int col = 0; col < l->n_cols; col++)
        left[col] = fields[col];
    for (;;) {
        bool more = false;
        for (int col = 0; col < l->n_cols; col++)
            more |= *left[col] != '\0';
        if (!more)
            break;
        char line[256];
        int len = 0;
        for (int col = 0; col < l->n_cols; col++) {
            int start = col ? l->end[col - 1] : 0;
            int space = col < l->n_cols - 1 ? 2 : 0;
            int cut = l->end[col] - start - space;
            int n = (int)strlen(left[col]);
            n = n < cut ? n : cut;
            for (int k = 0; k < 4; k++) {
                const char *at = strstr(left[col], breaks[k]);
                if (at && at - left[col] + 2 <= n)
                    n = (int)(at - left[col]) + 2;
            }
            if (col == 0)
                line[len++] = ' ';
            memcpy(line + len, left[col], (size_t)n);
            len += n;
            left[col] += n;
            for (int i = 0; i < space; i++)
                line[len++] = ' ';
            while (len < l->end[col])
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

/* Keras' name of value v's layer: the InputLayer, or the op's */
static const char *layer_of(const Model *m, int v) {
    return v == 0 ? "input_1" : m->ops[v - 1].name;
}

static void keras_table(Buf *b, const Model *m) {
    bool functional = has_joins(m);
    const Layout *l = functional ? &FUNCTIONAL : &SEQUENTIAL;
    put(b, "Model: \"%s\"\n", m->name);
    rule_line(b, l, '_');
    table_row(b, l, (const char *[4]){"Layer (type)", "Output Shape", "Param #", "Connected to"});
    rule_line(b, l, '=');
    if (functional) {
        table_row(b, l,
                  (const char *[4]){"input_1 (InputLayer)",
                                    arena_printf("[%s]", keras_shape(m->input)), "0", "[]"});
        put(b, "%*s\n", l->line, "");
    }
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        const char *links = "[";
        for (int k = 0; k < op->n_in; k++)
            links = arena_printf("%s%s'%s[0][0]'", links, k ? ", " : "", layer_of(m, op->in[k]));
        table_row(b, l,
                  (const char *[4]){arena_printf("%s (%s)", op->name, op->type->keras_class),
                                    keras_shape(op->out),
                                    arena_printf("%zu", op->n_w + op->n_b + op->n_s),
                                    arena_printf("%s]", links)});
        put(b, "%*s\n", l->line, "");
    }
    rule_line(b, l, '=');
    put(b, "Total params: %s\n", thousands(m->n_param + m->n_state));
    put(b, "Trainable params: %s\n", thousands(m->n_param));
    put(b, "Non-trainable params: %s\n", thousands(m->n_state));
    rule_line(b, l, '_');
}

// ------------------------------------------------------------ memory

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
    const Plan *w = plan_model(fuse_activations(m, true));
    /* The trainer (runtime/shard.h) runs a shard of the batch at a time
     * and keeps a second gradient, the running sum, when there are more */
    const int rows = nn_shard_rows((int)t->batch, m->n_state > 0);
    const size_t grad_slots = rows < t->batch ? 2 : 1;
    size_t live = sat_mul(w->per_sample, (size_t)rows);
    size_t scratch = w->scratch_per_thread;
    size_t acts = sat_add(sat_add(live, scratch), w->fixed);
    size_t opt = optimizer_state_floats(t, m->n_param);
    size_t total = sat_add(sat_add(sat_add(sat_mul(m->n_param, 1 + grad_slots), opt), m->n_state), acts);

    put(b, "\nTraining memory at batch %ld (float32):\n", t->batch);
    mem_line(b, "parameters", m->n_param, NULL);
    mem_line(b, "gradients", sat_mul(m->n_param, grad_slots),
             grad_slots > 1 ? arena_printf("shards of %d examples: one shard's, and their sum", rows)
                            : NULL);
    mem_line(b, "optimizer state", opt,
             t->optimizer == OPT_ADAM ? "adam: m and v"
             : opt                    ? "sgd: velocity"
                                      : "plain sgd keeps none");
    if (m->n_state)
        mem_line(b, "batchnorm running stats", m->n_state, NULL);
    mem_line(b, "activations", acts, NULL);
    mem_line(b, "  values and gradients", live,
             rows < t->batch
                 ? arena_printf("of a shard of %d examples, the most live at once", rows)
                 : "the most live at once: each buffer reused after its last reader");
    if (scratch)
        mem_line(b, "  conv2d scratch", scratch, "per thread: an image's columns, a transposed W");
    if (w->conv_partials)
        mem_line(b, "  conv2d partial gradients", w->conv_partials,
                 "one per fixed block of a shard's images, summed in order");
    if (w->fixed > w->conv_partials)
        mem_line(b, "  batchnorm batch stats", w->fixed - w->conv_partials, NULL);
    mem_line(b, "dropout masks", 0,
             "none stored: backward regenerates them from a counter-based RNG");
    mem_line(b, "total", total, NULL);
    /* not part of the total: another program's memory, on another machine */
    mem_line(b, "deploy arena", deploy_arena_bytes(w) / sizeof(float),
             "nnc --emit=deploy, batch 1: the most values live at once; not in the total");
}

// ------------------------------------------------------------ recipe

static bool ends_in_softmax(const Model *m) {
    return m->ops[m->n_ops - 1].act == ACT_SOFTMAX;
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
    /* Only when set, so the summaries of models without them read as before */
    if (t->schedule == SCHED_STEP)
        put(b, "  schedule      step every=%ld factor=%g\n", t->every, t->factor);
    else if (t->schedule == SCHED_COSINE)
        put(b, "  schedule      cosine warmup=%ld min_lr=%g\n", t->warmup, t->min_lr);
    else if (t->schedule == SCHED_PLATEAU)
        put(b, "  schedule      plateau patience=%ld factor=%g min_lr=%g\n", t->patience,
            t->factor, t->min_lr);
    if (t->clip_norm != 0)
        put(b, "  clip_norm     %g\n", t->clip_norm);
}

char *format_summary(const Model *m) {
    Buf b = {0};
    keras_table(&b, m);
    memory(&b, m);
    recipe(&b, m);
    return b.text;
}
