/* names.c: the edges of the graph, from the names in the statements.
 *
 * Consumes, for each layer statement in order, its name= (which names the
 * value the statement produces), its from= (the value it reads instead of
 * the previous statement's), and for add and concat the values they name;
 * produces each Op's input value ids. A name is defined once and used only
 * after its definition (so the graph is acyclic by construction): a use
 * before it is reported at the use, with a note at the definition; an
 * unknown name gets a "did you mean" among the names defined so far. After
 * a statement lost to a syntax error, an unknown name is not reported (the
 * lost statement may have defined it) and the value is unknown, which
 * pauses the shape checks that depend on it. At the end, a value nothing
 * reads (but the output) gets a warning.
 */
#include "ops.h"

#include <string.h>

/* A value's name: a word of letters, digits and '_' (a C identifier) */
static bool is_identifier(const Arg *a) {
    return a->kind == ARG_WORD && !strchr(a->text, '-');
}

static bool id_ok(const Ctx *c, const Arg *a, const char *what) {
    if (is_identifier(a))
        return true;
    error_at(c->src, a->loc, "%s must be a name (letters, digits, '_'), got '%s'", what,
             quote_arg(a));
    return false;
}

static const Name *find_name(const Ctx *c, const char *id) {
    for (int i = 0; i < c->n_names; i++)
        if (strcmp(c->names[i].id, id) == 0)
            return &c->names[i];
    return NULL;
}

/* The statement's key=... argument, reporting a second one */
static const Arg *keyed(const Ctx *c, const Stmt *s, const char *key) {
    const Arg *found = NULL;
    for (const Arg *a = s->args; a; a = a->next) {
        if (!a->key || strcmp(a->key, key) != 0)
            continue;
        if (found) {
            error_at(c->src, a->key_loc, "option '%s' given twice", key);
            note_at(c->src, found->key_loc, "first given here");
            continue;
        }
        found = a;
    }
    return found;
}

/* The name= of this statement or a later one that defines id, if any */
static const Arg *later_definition(const Stmt *s, const char *id) {
    for (const Stmt *t = s; t; t = t->next) /* its own name= too */
        for (const Arg *a = t->args; a; a = a->next)
            if (a->key && strcmp(a->key, "name") == 0 && strcmp(a->text, id) == 0)
                return a;
    return NULL;
}

/* The value a reference names, or -1 after reporting why there is none */
static int lookup(Ctx *c, const Stmt *s, const Arg *a) {
    if (!id_ok(c, a, a->key ? "'from'" : arena_printf("an argument of '%s'", s->keyword)))
        return -1;
    const Name *n = find_name(c, a->text);
    if (n)
        return n->value;
    const Arg *later = later_definition(s, a->text);
    if (later) {
        error_at(c->src, a->loc, "'%s' is used before it is defined; a layer can only read "
                 "values of the statements above it", quote_arg(a));
        note_at(c->src, later->loc, "'%s' is defined here", quote_arg(a));
    } else if (!c->lost_stmt) {
        const char **ids = arena_alloc(sizeof *ids * (size_t)(c->n_names + 1));
        for (int i = 0; i < c->n_names; i++)
            ids[i] = c->names[i].id;
        error_at(c->src, a->loc, "unknown name '%s'%s", quote_arg(a),
                 did_you_mean(a->text, ids, c->n_names));
    }
    return -1;
}

int *resolve_inputs(Ctx *c, const Rule *r, const Stmt *s, int *n) {
    int refs = 0;
    if (r->refs)
        for (const Arg *a = s->args; a; a = a->next)
            refs += !a->key;
    int *in = arena_alloc(sizeof *in * (size_t)(refs + 1));
    const Arg *from = keyed(c, s, "from");
    in[0] = from ? lookup(c, s, from) : c->cur;
    int k = 1;
    if (r->refs)
        for (const Arg *a = s->args; a; a = a->next)
            if (!a->key)
                in[k++] = lookup(c, s, a);
    for (int i = 0; i < k; i++)
        if (in[i] >= 0)
            c->consumed[in[i]] = true;
    *n = k;
    return in;
}

void define_name(Ctx *c, const Rule *r, const Stmt *s, int v) {
    (void)r;
    const Arg *a = keyed(c, s, "name");
    if (!a || !id_ok(c, a, "'name'"))
        return;
    const Name *first = find_name(c, a->text);
    if (first) {
        error_at(c->src, a->loc, "the name '%s' is defined twice", quote_arg(a));
        note_at(c->src, first->arg->loc, "first defined here");
        return;
    }
    c->names[c->n_names++] = (Name){a->text, a, v};
}

/* The argument that names op's input k; NULL for the current value */
static const Arg *input_arg(const Op *op, int k) {
    int pos = 0;
    for (const Arg *a = op->stmt->args; a; a = a->next) {
        if (k == 0 && a->key && strcmp(a->key, "from") == 0)
            return a;
        if (k > 0 && !a->key && ++pos == k)
            return a;
    }
    return NULL;
}

/* The statement that produces value v */
static const Stmt *producer(const Ctx *c, int v) {
    return v == 0 ? c->input : c->m->ops[v - 1].stmt;
}

void inputs_mismatch(const Ctx *c, const Op *op, int k, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const Arg *at = input_arg(op, k);
    error_at(c->src, at ? at->loc : op->stmt->kw_loc, "%s", msg);
    for (int j = 0; j < op->n_in; j++) {
        const Arg *a = input_arg(op, j);
        const char *what = a ? arena_printf("'%s'", quote_arg(a)) : "the current value";
        const Stmt *p = producer(c, op->in[j]);
        note_at(c->src, p->loc, "%s (%s) comes from '%s' here", what,
                shape_str(value_shape(c->m, op->in[j])), quote_stmt(c->src, p));
    }
}

void warn_unused(const Ctx *c) {
    if (c->lost_stmt) /* what the lost statement read is unknown */
        return;
    for (int v = 0; v < c->m->n_ops; v++) {
        if (c->consumed[v])
            continue;
        const Stmt *p = producer(c, v);
        const char *label = NULL;
        for (int i = 0; i < c->n_names; i++)
            if (c->names[i].value == v)
                label = c->names[i].id;
        if (label)
            warn_at(c->src, p->loc, "the value '%s' is never used", clip_text(label, strlen(label)));
        else
            warn_at(c->src, p->loc, "the value of '%s' is never used: the next layer reads "
                    "another (from=)", quote_stmt(c->src, p));
    }
}
