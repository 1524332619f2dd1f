/* lower.c: the semantic pass, from the AST to the checked IR.
 *
 * Consumes the Stmt list of parser.y; produces a Model: the graph of ops in
 * execution order, each with the values it reads (names.c), its input and
 * output Shape and its slice of the parameter and state buffers, plus the
 * training recipe with defaults filled in; or NULL after reporting every
 * problem it found.
 *
 * What each statement means is one Rule row: the model and training
 * statements' are in `rules` below, each layer kind's in its description
 * (ops.h, the registry in ops.c). bind() (bind.c) checks a statement
 * against its row generically (types, ranges, unknown or duplicated
 * options, missing or extra arguments, with "did you mean" suggestions), so
 * a row's function only does what is particular to it: for a layer, shape
 * inference.
 *
 * Errors do not stop the pass: a statement that fails is skipped and the
 * next is checked. A layer reads the previous layer's value unless it says
 * from=; a value whose shape cannot be known (after an unknown keyword, a
 * bad kernel, ...) pauses the shape checks of what reads it rather than
 * report follow-on errors.
 */
#include "ops.h"

#include "../runtime/nnrt.h" /* NN_MAX_BATCH: the trainer's limit is the language's */

#include <assert.h>
#include <string.h>

const char *const ACTS[] = {"linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", NULL};
/* ORDER: InitKind, LossKind, OptKind, PAD_* (lower.h); BOOLS by truth value. */
const char *const INITS[] = {"glorot", "he", "zeros", NULL};
static const char *const LOSSES[] = {"cross_entropy", "mse", NULL};
static const char *const OPTIMIZERS[] = {"sgd", "adam", NULL};
/* ORDER: SchedKind */
static const char *const SCHEDULES[] = {"none", "step", "cosine", "plateau", NULL};
const char *const BOOLS[] = {"false", "true", NULL};
const char *const PADDINGS[] = {"valid", "same", NULL};

// ------------------------------------------------------------ the table

static LowerFn lower_model, lower_input, lower_loss, lower_optimizer, lower_weight_decay,
    lower_batch, lower_epochs, lower_seed, lower_schedule, lower_clip_norm;

#define SCHEDULE_USAGE                                                                        \
    "schedule step every=E factor=F | schedule cosine [warmup=E] [min_lr=X] | "              \
    "schedule plateau patience=P factor=F [min_lr=X] | schedule none"

/* A row per statement other than a layer (unset fields: 0, false, NULL).
 * Positional arguments come first, in order, then the options in any
 * order. Formatted by hand: a row per statement reads better than
 * clang-format's field per line. */
// clang-format off
static const Rule rules[] = {
    {.keyword = "model", .cls = C_ONCE, .usage = "model NAME", .lower = lower_model,
     .n_required = 1, .pos = {{"name", T_NAME, R_ANY, NULL, NULL}}},
    {.keyword = "input", .cls = C_ONCE, .named = true, .usage = "input N | input HxWxC",
     .lower = lower_input, .n_required = 1, .pos = {{"shape", T_SHAPE, R_ANY, NULL, NULL}}},
    {.keyword = "loss", .cls = C_ONCE, .usage = "loss cross_entropy|mse", .lower = lower_loss,
     .n_required = 1, .pos = {{"loss", T_WORD, R_ANY, LOSSES, NULL}}},
    {.keyword = "optimizer", .cls = C_ONCE, .lower = lower_optimizer,
     .usage = "optimizer sgd [lr=X] [momentum=X] [nesterov=true|false] | "
              "optimizer adam [lr=X] [beta1=X] [beta2=X] [eps=X]",
     .n_required = 1, .pos = {{"optimizer", T_WORD, R_ANY, OPTIMIZERS, NULL}},
     .opt = {{"lr",       T_NUM,  R_POSITIVE, NULL,  NULL},   /* ORDER: lower_optimizer */
             {"momentum", T_NUM,  R_FRACTION, NULL,  "sgd"},
             {"nesterov", T_WORD, R_ANY,      BOOLS, "sgd"},
             {"beta1",    T_NUM,  R_FRACTION, NULL,  "adam"},
             {"beta2",    T_NUM,  R_FRACTION, NULL,  "adam"},
             {"eps",      T_NUM,  R_POSITIVE, NULL,  "adam"}}},
    {.keyword = "weight_decay", .cls = C_ONCE, .usage = "weight_decay X",
     .lower = lower_weight_decay, .n_required = 1,
     .pos = {{"value", T_NUM, R_NONNEG, NULL, NULL}}},
    {.keyword = "batch", .cls = C_ONCE, .usage = "batch N", .lower = lower_batch,
     .n_required = 1, .pos = {{"size", T_INT, R_COUNT, NULL, NULL, NN_MAX_BATCH}}},
    {.keyword = "epochs", .cls = C_ONCE, .usage = "epochs N", .lower = lower_epochs,
     .n_required = 1, .pos = {{"count", T_INT, R_COUNT, NULL, NULL}}},
    {.keyword = "seed", .cls = C_ONCE, .usage = "seed N", .lower = lower_seed,
     .n_required = 1, .pos = {{"value", T_SEED, R_ANY, NULL, NULL}}},
    {.keyword = "schedule", .cls = C_ONCE, .usage = SCHEDULE_USAGE, .lower = lower_schedule,
     .n_required = 1, .pos = {{"schedule", T_WORD, R_ANY, SCHEDULES, NULL}},
     .opt = {{"every",    T_INT, R_COUNT,    NULL, "step",           NN_MAX_EPOCHS}, /* ORDER: lower_schedule */
             {"warmup",   T_INT, R_NONNEG,   NULL, "cosine",         NN_MAX_EPOCHS},
             {"patience", T_INT, R_COUNT,    NULL, "plateau",        NN_MAX_EPOCHS},
             {"factor",   T_NUM, R_POSITIVE, NULL, "step|plateau"},
             {"min_lr",   T_NUM, R_NONNEG,   NULL, "cosine|plateau"}}},
    {.keyword = "clip_norm", .cls = C_ONCE, .usage = "clip_norm X", .lower = lower_clip_norm,
     .n_required = 1, .pos = {{"max", T_NUM, R_POSITIVE, NULL, NULL}}},
};
// clang-format on
enum { N_RULES = sizeof rules / sizeof rules[0] };

const char *act_name(ActKind act) {
    return ACTS[act];
}

// ------------------------------------------------------------ the other statements

static void lower_model(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    (void)s, (void)opt;
    const Arg *a = pos[0].arg;
    const char *name = a->text;
    if (strlen(name) > MAX_NAME)
        error_at(c->src, a->loc, "model name '%s' is longer than %d characters", quote_arg(a),
                 MAX_NAME);
    else if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
             strlen(name))
        error_at(c->src, a->loc, "model name '%s' is not a C identifier (letters, digits, '_')",
                 quote_arg(a));
    else if (strcmp(name, "nn") == 0 || strncmp(name, "nn_", 3) == 0)
        error_at(c->src, a->loc, "model name '%s' could clash with the runtime's nn_ symbols",
                 quote_arg(a));
    else
        c->m->name = name;
}

static void lower_input(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    (void)opt;
    c->input_seen = true;
    c->m->input = pos[0].shape;
    c->shape_from[0] = s;
    if (c->order_reported)
        return; /* layers came first: their shapes stay unchecked */
    c->cur = 0;
}

static void lower_loss(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    (void)opt;
    c->m->train.loss = (LossKind)pos[0].word;
    c->loss = s;
}

static void lower_optimizer(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    (void)s;
    Train *t = &c->m->train;
    t->optimizer = (OptKind)pos[0].word;
    if (t->optimizer == OPT_SGD)
        t->lr = 0.01f; /* PyTorch and Keras' default for SGD */
    /* ORDER: the optimizer row's options */
    float *fields[MAX_OPT] = {&t->lr, &t->momentum, NULL, &t->beta1, &t->beta2, &t->eps};
    for (int i = 0; i < MAX_OPT; i++)
        if (fields[i] && opt[i].arg)
            *fields[i] = (float)opt[i].num;
    t->nesterov = opt[2].arg && opt[2].word;
    if (t->nesterov && t->momentum == 0)
        error_at(c->src, opt[2].arg->loc, "nesterov=true needs a momentum, like momentum=0.9");
}

static void lower_weight_decay(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    (void)s, (void)opt;
    c->m->train.weight_decay = (float)pos[0].num;
}

static void lower_batch(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    (void)s, (void)opt;
    c->m->train.batch = pos[0].n;
}

static void lower_epochs(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    (void)s, (void)opt;
    c->m->train.epochs = pos[0].n;
}

static void lower_seed(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    (void)s, (void)opt;
    c->m->train.seed = pos[0].u;
}

/* What bind() cannot say: the options a kind needs, and a factor that
 * lowers the rate */
static void lower_schedule(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    Train *t = &c->m->train;
    t->schedule = (SchedKind)pos[0].word;
    /* ORDER: the schedule row's options; the ones each kind needs, by index */
    static const char *const keys[] = {"every", "warmup", "patience", "factor", "min_lr"};
    static const int needs[][2] = {{-1, -1}, {0, 3}, {-1, -1}, {2, 3}}; /* ORDER: SchedKind */
    for (int k = 0; k < 2; k++) {
        int i = needs[t->schedule][k];
        if (i >= 0 && !opt[i].arg) {
            error_at(c->src, s->loc, "'schedule %s' needs %s=; usage: %s", SCHEDULES[t->schedule],
                     keys[i], SCHEDULE_USAGE);
            return;
        }
    }
    if (opt[3].arg && !(opt[3].num < 1)) {
        error_at(c->src, opt[3].arg->loc, "factor=%s would not lower the rate: give 0 < factor < 1",
                 quote_arg(opt[3].arg));
        return;
    }
    t->every = opt[0].arg ? opt[0].n : 0;
    t->warmup = opt[1].arg ? opt[1].n : 0;
    t->patience = opt[2].arg ? opt[2].n : 0;
    t->factor = opt[3].arg ? (float)opt[3].num : 0;
    t->min_lr = opt[4].arg ? (float)opt[4].num : 0;
}

static void lower_clip_norm(Ctx *c, const Stmt *s, const Value *pos, const Value *opt) {
    (void)s, (void)opt;
    c->m->train.clip_norm = (float)pos[0].num;
}

// ------------------------------------------------------------ the pass

/* Every statement's rule, with its layer kind (NULL for the others), in
 * the order the language lists them: model and input, the layers, the
 * training statements (the order "did you mean" breaks ties in). */
typedef struct {
    const Rule *rule;
    const OpType *type;
} Keyword;

static int all_keywords(Keyword *out) {
    int n = 0;
    for (int i = 0; i < 2; i++)
        out[n++] = (Keyword){&rules[i], NULL};
    for (int t = 0; t < n_op_types; t++) {
        assert(op_types[t]->code == t); /* ORDER OP */
        for (int i = 0; i < op_types[t]->n_rules; i++)
            out[n++] = (Keyword){&op_types[t]->rules[i], op_types[t]};
    }
    for (int i = 2; i < N_RULES; i++)
        out[n++] = (Keyword){&rules[i], NULL};
    return n;
}

static int n_keywords(void) {
    int n = N_RULES;
    for (int t = 0; t < n_op_types; t++)
        n += op_types[t]->n_rules;
    return n;
}

static Keyword find_rule(const Keyword *kws, int n, const char *keyword) {
    for (int i = 0; i < n; i++)
        if (strcmp(kws[i].rule->keyword, keyword) == 0 ||
            (kws[i].rule->alias && strcmp(kws[i].rule->alias, keyword) == 0))
            return kws[i];
    return (Keyword){NULL, NULL};
}

/* Reports s; returns the rule it probably meant, or NULL. */
static const Rule *unknown_keyword(const Ctx *c, const Keyword *kws, int n, const Stmt *s) {
    const char **words = arena_alloc(sizeof *words * (size_t)n);
    for (int i = 0; i < n; i++)
        words[i] = kws[i].rule->keyword;
    const char *hint = did_you_mean(s->keyword, words, n);
    error_at(c->src, s->kw_loc, "unknown statement '%s'%s",
             clip_text(s->keyword, strlen(s->keyword)), hint);
    for (int i = 0; *hint && i < n; i++)
        if (strstr(hint, arena_printf("'%s'", words[i])))
            return kws[i].rule;
    return NULL;
}

/* The model name when there is no 'model' statement: the file's stem as a
 * C identifier ("-" gives "model"). */
static const char *default_name(const char *path) {
    if (strcmp(path, "<stdin>") == 0)
        return "model";
    const char *base = base_name(path);
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (n == 0)
        return "model";
    bool digit = base[0] >= '0' && base[0] <= '9';
    char *name = arena_alloc(n + 3);
    char *p = name;
    if (digit) /* an identifier cannot start with one */
        *p++ = 'm', *p++ = '_';
    for (size_t i = 0; i < n; i++) {
        char ch = base[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        *p++ = ok ? ch : '_';
    }
    return name;
}

static void check_default_name(Ctx *c) {
    const char *name = c->m->name, *why = NULL;
    if (strlen(name) > MAX_NAME)
        why = "is too long";
    else if (strcmp(name, "nn") == 0 || strncmp(name, "nn_", 3) == 0)
        why = "could clash with the runtime's nn_ symbols";
    if (why)
        error_at(c->src, (Loc){0, 0},
                 "the model name '%s' (from the file name) %s; name the "
                 "model with 'model NAME'",
                 clip_text(name, strlen(name)), why);
}

/* What the loss needs of the model's output. */
static void check_output(Ctx *c) {
    const Op *last = &c->m->ops[c->m->n_ops - 1];
    bool xent = c->m->train.loss == LOSS_CROSS_ENTROPY;
    const char *loss = xent ? "cross_entropy" : "mse";
    const char *dflt = c->loss ? "" : " (the default loss)";
    if (last->out.rank != 1)
        error_at(c->src, last->stmt->loc,
                 "the model's output must be flat for %s%s, got %s; end "
                 "with 'flatten' and 'dense N'",
                 loss, dflt, shape_str(last->out));
    else if (xent && last->out.c < 2)
        error_at(c->src, last->stmt->loc,
                 "cross_entropy%s needs at least 2 output classes, got "
                 "%d",
                 dflt, last->out.c);
    else
        return;
    if (c->loss)
        note_at(c->src, c->loss->loc, "the loss is chosen here");
}

/* Lays out the parameter and state buffers and checks the totals. */
static void place_buffers(Ctx *c) {
    Model *m = c->m;
    size_t acts = floats_of(m->input);
    bool reported = false;
    for (int i = 0; i < m->n_ops; i++) {
        Op *op = &m->ops[i];
        op->w_off = m->n_param;
        m->n_param = sat_add(m->n_param, op->n_w);
        op->b_off = m->n_param;
        m->n_param = sat_add(m->n_param, op->n_b);
        op->s_off = m->n_state;
        m->n_state = sat_add(m->n_state, op->n_s);
        acts = sat_add(acts, floats_of(op->out)); /* rank 0 (unknown): 0 */
        if (!reported && !c->oversized && (m->n_param > MAX_FLOATS || acts > MAX_FLOATS)) {
            error_at(c->src, op->stmt->loc, "the model has more than %s %s at '%s'",
                     thousands(MAX_FLOATS),
                     m->n_param > MAX_FLOATS ? "parameters" : "activations per sample",
                     quote_stmt(c->src, op->stmt));
            reported = true;
        }
    }
}

/* A layer statement: its inputs, its Op (when its arguments bound), its
 * name; its value becomes the current one. */
static void lower_layer(Ctx *c, Keyword k, const Stmt *s, bool bound, const Value *pos,
                        const Value *opt) {
    Model *m = c->m;
    int n_in;
    int *in = resolve_inputs(c, k.rule, s, &n_in);
    if (!bound) { /* no op: a layer that keeps its shape lets the checks go on */
        c->cur = k.rule->keeps_shape ? in[0] : -1;
        define_name(c, k.rule, s, c->cur);
        return;
    }
    Op *op = &m->ops[m->n_ops++];
    op->type = k.type;
    op->index = m->n_ops;
    op->name = k.type->keras_name;
    if (c->n_of_type[k.type->code]++)
        op->name = arena_printf("%s_%d", op->name, c->n_of_type[k.type->code] - 1);
    op->stmt = s;
    op->in = in;
    op->n_in = n_in;
    if (in[0] >= 0)
        op->in_shape = value_shape(m, in[0]);
    k.type->lower(c, op, pos, opt);
    int v = m->n_ops;
    bool same = op->out.rank && memcmp(&op->out, &op->in_shape, sizeof op->out) == 0;
    c->shape_from[v] = same ? c->shape_from[in[0]] : s;
    define_name(c, k.rule, s, v); /* unknown when out.rank is 0: it pauses later checks */
    c->cur = v;
}

Model *lower_program(const Source *src, const Stmt *stmts) {
    Model *m = arena_alloc(sizeof *m);
    m->src = src;
    m->source_path = src->path;
    m->name = default_name(src->path);
    m->train = (Train){
        .loss = LOSS_CROSS_ENTROPY,
        .optimizer = OPT_ADAM,
        .lr = 0.001f, /* PyTorch's Adam */
        .beta1 = 0.9f,
        .beta2 = 0.999f,
        .eps = 1e-8f,
        .batch = 32,
        .epochs = 10,
        .seed = 1,
    };
    Ctx c = {.src = src, .m = m, .cur = -1};
    int n_kws = n_keywords();
    Keyword *kws = arena_alloc(sizeof *kws * (size_t)n_kws);
    all_keywords(kws);
    const Stmt *first[N_RULES] = {0}; /* the C_ONCE statements seen so far */
    /* A statement lost to a syntax error or an unknown keyword may have
     * been the input or a layer: then saying they are missing would only
     * confuse. */
    bool lost = false, named = false;
    const Stmt *first_layer = NULL;
    int n = 0;
    for (const Stmt *s = stmts; s; s = s->next) {
        n++;
        if (strcmp(s->keyword, "input") == 0 && !c.input)
            c.input = s;
    }
    m->ops = arena_alloc(sizeof(Op) * (size_t)(n ? n : 1));
    c.shape_from = arena_alloc(sizeof *c.shape_from * (size_t)(n + 1));
    c.consumed = arena_alloc(sizeof *c.consumed * (size_t)(n + 1));
    c.names = arena_alloc(sizeof *c.names * (size_t)(n + 1));
    c.n_of_type = arena_alloc(sizeof *c.n_of_type * (size_t)n_op_types);

    for (const Stmt *s = stmts; s && !error_limit_reached(); s = s->next) {
        Keyword k = find_rule(kws, n_kws, s->keyword);
        const Rule *r = k.rule;
        if (!r || s->broken) {
            const Rule *meant = s->broken ? r : unknown_keyword(&c, kws, n_kws, s);
            if (!meant || meant->cls == C_LAYER) { /* a layer was lost: its value is unknown */
                if (c.cur >= 0)
                    c.consumed[c.cur] = true;
                c.cur = -1;
                define_name(&c, NULL, s, -1);
            }
            c.lost_stmt = true;
            lost |= !meant;
            if (meant && meant->cls == C_LAYER)
                first_layer = first_layer ? first_layer : s;
            c.input_seen |= meant && meant->lower == lower_input;
            named |= meant && meant->lower == lower_model;
            continue;
        }
        int idx = (int)(r - rules); /* C_ONCE rules are in `rules` */
        if (r->cls == C_ONCE) {
            if (first[idx]) {
                error_at(src, s->kw_loc, "'%s' given twice", r->keyword);
                note_at(src, first[idx]->loc, "first given here");
                continue;
            }
            first[idx] = s;
            named |= r->lower == lower_model;
        } else {
            first_layer = first_layer ? first_layer : s;
            if (!c.input_seen && !c.order_reported && !lost) {
                if (c.input) {
                    error_at(src, s->kw_loc,
                             "'%s' comes before 'input'; the input shape must be "
                             "declared first",
                             s->keyword);
                    note_at(src, c.input->loc, "'input' is here");
                } else {
                    error_at(src, s->kw_loc,
                             "no 'input' statement before '%s'; declare the "
                             "input shape first, like 'input 784' or 'input 28x28x1'",
                             s->keyword);
                }
                c.order_reported = true;
            }
        }
        Value pos[MAX_POS] = {{0}}, opt[MAX_OPT] = {{0}};
        bool bound = bind(&c, r, s, pos, opt);
        if (r->cls == C_LAYER) {
            lower_layer(&c, k, s, bound, pos, opt);
            continue;
        }
        if (bound)
            r->lower(&c, s, pos, opt);
        c.input_seen |= r->lower == lower_input;
        if (r->named)
            define_name(&c, r, s, bound && c.cur == 0 ? 0 : -1);
    }

    if (!named)
        check_default_name(&c);
    if (!lost && !c.input && !first_layer) /* else reported at the first layer */
        error_at(src, (Loc){0, 0},
                 "no 'input' statement; a model starts with one, like "
                 "'input 784' or 'input 28x28x1'");
    if (!lost && !first_layer)
        error_at(src, c.input ? c.input->loc : (Loc){0, 0},
                 "the model has no layers; add at "
                 "least one, like 'dense 10'");
    /* The output is the last layer's value, when that layer made an op */
    if (m->n_ops > 0 && c.cur == m->n_ops && m->ops[m->n_ops - 1].out.rank)
        check_output(&c);
    if (m->n_ops > 0 && (m->ops[m->n_ops - 1].type->flags & OT_DROPOUT))
        warn_at(src, m->ops[m->n_ops - 1].stmt->loc,
                "dropout as the last layer only perturbs "
                "the output: nothing after it learns to compensate");
    if (!error_count()) /* after an error, what reads what is not known for sure */
        warn_unused(&c);
    place_buffers(&c);
    if (error_count())
        return NULL;
    for (int i = 0; i < m->n_ops; i++) /* what the later stages rely on */
        for (int j = 0; j < m->ops[i].n_in; j++)
            assert(m->ops[i].in[j] >= 0 && m->ops[i].in[j] <= i);
    return m;
}
