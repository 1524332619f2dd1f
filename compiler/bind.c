/* bind.c: a statement's arguments, checked against its row of the table.
 *
 * Consumes a Stmt and the Rule of its keyword (lower.c); produces one Value
 * per positional argument and option, converted to its type, or reports
 * each problem: a wrong type, a value out of range, a number too large for
 * its type, an unknown or duplicated option, a missing or extra argument,
 * an argument after the options. An unknown word gets a "did you mean"
 * from the edit distance, or from the names Keras and PyTorch use.
 */
#include "lower.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *quote_arg(const Arg *a) {
    return clip_text(a->text, strlen(a->text));
}

int word_index(const char *w, const char *const *words) {
    for (int i = 0; words[i]; i++)
        if (strcmp(w, words[i]) == 0)
            return i;
    return -1;
}

static const char *word_list(const char *const *words) {
    const char *list = words[0];
    for (int i = 1; words[i]; i++)
        list = arena_printf("%s, %s", list, words[i]);
    return list;
}

// ------------------------------------------------------------ "did you mean"

/* Names people bring from Keras and PyTorch, mapped to ours; they are too
 * far from ours for the edit distance to find. */
static const char *const FOREIGN[][2] = {
    {"max_pooling2d", "maxpool"},
    {"max_pool2d", "maxpool"},
    {"average_pooling2d", "avgpool"},
    {"avg_pool2d", "avgpool"},
    {"batch_normalization", "batchnorm"},
    {"batchnorm2d", "batchnorm"},
    {"batchnorm1d", "batchnorm"},
    {"fully_connected", "dense"},
    {"categorical_crossentropy", "cross_entropy"},
    {"sparse_categorical_crossentropy", "cross_entropy"},
    {"crossentropy_loss", "cross_entropy"},
    {"mean_squared_error", "mse"},
    {"mse_loss", "mse"},
    {"learning_rate", "lr"},
    {"strides", "stride"},
    {"use_bias", "bias"},
    {"kernel_initializer", "init"},
    {"glorot_uniform", "glorot"},
    {"xavier", "glorot"},
    {"xavier_uniform", "glorot"},
    {"he_uniform", "he"},
    {"he_normal", "he"},
    {"kaiming", "he"},
    {"kaiming_uniform", "he"},
    {"batch_size", "batch"},
    {"random_seed", "seed"},
};

static char lower_ascii(char ch) {
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Optimal string alignment distance, case-insensitive: a transposition
 * ("desne") costs one, like a substitution. Both words are short. */
static int distance(const char *a, const char *b) {
    int n = (int)strlen(a), m = (int)strlen(b);
    int d[MAX_NAME + 1][MAX_NAME + 1];
    for (int i = 0; i <= n; i++)
        d[i][0] = i;
    for (int j = 0; j <= m; j++)
        d[0][j] = j;
    for (int i = 1; i <= n; i++)
        for (int j = 1; j <= m; j++) {
            int cost = lower_ascii(a[i - 1]) != lower_ascii(b[j - 1]);
            int best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && lower_ascii(a[i - 1]) == lower_ascii(b[j - 2]) &&
                lower_ascii(a[i - 2]) == lower_ascii(b[j - 1]) && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

/* The candidate the user most likely meant, or NULL. */
static const char *suggest(const char *word, const char *const *cands, int n_cands) {
    if (strlen(word) > MAX_NAME)
        return NULL;
    char folded[MAX_NAME + 1];
    size_t k = 0;
    for (const char *p = word; *p; p++)
        if (*p != '-' && *p != '_')
            folded[k++] = lower_ascii(*p);
    folded[k] = '\0';
    for (size_t i = 0; i < sizeof FOREIGN / sizeof FOREIGN[0]; i++) {
        char theirs[MAX_NAME + 1];
        size_t t = 0;
        for (const char *p = FOREIGN[i][0]; *p; p++)
            if (*p != '_')
                theirs[t++] = *p;
        theirs[t] = '\0';
        if (strcmp(folded, theirs) == 0)
            for (int j = 0; j < n_cands; j++)
                if (strcmp(cands[j], FOREIGN[i][1]) == 0)
                    return cands[j];
    }
    const char *best = NULL;
    int best_d = INT_MAX;
    for (int j = 0; j < n_cands; j++) {
        int d = distance(word, cands[j]);
        /* One edit per three letters: 'dens' and 'desne' are 'dense', but
         * 'x' is not 'mse'. */
        if (d <= ((int)strlen(cands[j]) + 2) / 3 && d < best_d) {
            best = cands[j];
            best_d = d;
        }
    }
    return best;
}

static int count_words(const char *const *words) {
    int n = 0;
    while (words[n])
        n++;
    return n;
}

const char *did_you_mean(const char *word, const char *const *cands, int n_cands) {
    const char *s = suggest(word, cands, n_cands);
    return s ? arena_printf("; did you mean '%s'?", s) : "";
}

static const char *suggest_or_list(const char *word, const char *const *words) {
    const char *s = did_you_mean(word, words, count_words(words));
    return *s ? s : arena_printf("; expected one of %s", word_list(words));
}

// ------------------------------------------------------------ binding

static const char *subject(const Stmt *s, const Param *p, bool is_opt) {
    return is_opt ? arena_printf("'%s'", p->name) : arena_printf("'%s' %s", s->keyword, p->name);
}

static bool in_range(const Ctx *c, const char *subj, const Param *p, const Arg *a, double x) {
    const char *need = NULL;
    switch (p->range) {
    case R_ANY:
        break;
    case R_COUNT:
        need = x >= 1 ? NULL : "at least 1";
        break;
    case R_POSITIVE:
        need = x > 0 ? NULL : "> 0";
        break;
    case R_NONNEG:
        need = x >= 0 ? NULL : ">= 0";
        break;
    case R_FRACTION: /* 0.99999999 is 1 as a float */
        need = x >= 0 && (float)x < 1 ? NULL : "in [0, 1)";
        break;
    }
    if (need)
        error_at(c->src, a->loc, "%s must be %s, got '%s'", subj, need, quote_arg(a));
    return !need;
}

static bool convert_number(const Ctx *c, const char *subj, const Param *p, Value *v) {
    const Arg *a = v->arg;
    if (a->kind != ARG_NUMBER) {
        error_at(c->src, a->loc, "%s must be %s, got '%s'", subj,
                 p->type == T_NUM ? "a number" : "an integer", quote_arg(a));
        return false;
    }
    if (p->type != T_NUM && !a->is_int) {
        error_at(c->src, a->loc, "%s must be an integer, got '%s'", subj, quote_arg(a));
        return false;
    }
    double x = a->num; /* inf when the text overflowed a double */
    long max = p->max ? p->max : INT_MAX;
    if (p->type == T_SEED) {
        if (x < 0)
            return in_range(c, subj, &(Param){.range = R_NONNEG}, a, x);
        errno = 0;
        v->u = strtoull(a->text, NULL, 10);
        if (errno != ERANGE)
            return true;
    } else if (p->type == T_INT && fabs(x) <= (double)max) {
        v->num = x;
        v->n = (long)x; /* only now: a cast of a double beyond long's range is undefined */
        return in_range(c, subj, p, a, x);
    } else if (p->type == T_NUM && fabs(x) <= (double)FLT_MAX) {
        if (!in_range(c, subj, p, a, x))
            return false;
        /* The trainer computes in float: the value is the float, which is
         * what the generated C must spell and what the ranges mean. */
        v->num = (float)x;
        if (v->num == 0 && x != 0) {
            error_at(c->src, a->loc,
                     "'%s' is too small for %s: it would be 0 as a float, the type the "
                     "trainer uses (the smallest positive float is about 1.4e-45)",
                     quote_arg(a), subj);
            return false;
        }
        return true;
    } else if (x < 0 && !in_range(c, subj, p, a, x)) {
        return false;
    }
    if (p->type == T_INT)
        error_at(c->src, a->loc, "'%s' is too large for %s (at most %ld)", quote_arg(a), subj,
                 max);
    else if (p->type == T_SEED)
        error_at(c->src, a->loc, "'%s' is too large for %s (at most 18446744073709551615)",
                 quote_arg(a), subj);
    else
        error_at(c->src, a->loc, "'%s' is out of range for %s", quote_arg(a), subj);
    return false;
}

/* Is word one of the '|'-separated choices? */
static bool is_choice(const char *choices, const char *word) {
    size_t n = strlen(word);
    for (const char *p = choices; p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL)
        if (strncmp(p, word, n) == 0 && (p[n] == '|' || p[n] == '\0'))
            return true;
    return false;
}

/* The sizes of a DIMS argument, judged: each at least 1 and not saturated. */
static bool sizes_ok(const Ctx *c, const char *subj, const Arg *a) {
    for (int i = 0; i < a->n_dims; i++) {
        if (a->dims[i] < 1) {
            error_at(c->src, a->loc, "%s sizes must be at least 1, got '%s'", subj, quote_arg(a));
            return false;
        }
        if (a->dims[i] == INT_MAX) {
            error_at(c->src, a->loc, "'%s' is too large for %s", quote_arg(a), subj);
            return false;
        }
    }
    return true;
}

static bool convert(const Ctx *c, const Stmt *s, const Param *p, Value *v, bool is_opt) {
    const Arg *a = v->arg;
    const char *subj = subject(s, p, is_opt);
    switch (p->type) {
    case T_INT:
    case T_NUM:
    case T_SEED:
        return convert_number(c, subj, p, v);
    case T_WORD:
        if (a->kind == ARG_WORD && (v->word = word_index(a->text, p->words)) >= 0)
            return true;
        if (a->kind != ARG_WORD)
            error_at(c->src, a->loc, "%s must be one of %s, got '%s'", subj, word_list(p->words),
                     quote_arg(a));
        else
            error_at(c->src, a->loc, "unknown %s '%s'%s%s", is_opt ? "value" : p->name,
                     quote_arg(a), is_opt ? arena_printf(" for '%s'", p->name) : "",
                     suggest_or_list(a->text, p->words));
        return false;
    case T_ID: /* names.c's */
    case T_NAME:
        if (a->kind == ARG_WORD)
            return true;
        error_at(c->src, a->loc, "%s must be a C identifier, got '%s'", subj, quote_arg(a));
        return false;
    case T_SHAPE:
        if (a->kind == ARG_NUMBER) {
            Param size = {.range = R_COUNT, .type = T_INT};
            if (!convert_number(c, subj, &size, v))
                return false;
            v->shape = flat_shape((int)v->n);
            return true;
        }
        if (a->kind != ARG_DIMS) {
            error_at(c->src, a->loc, "%s must be N or HxWxC (like 784 or 28x28x1), got '%s'", subj,
                     quote_arg(a));
            return false;
        }
        if (a->n_dims == 2) {
            error_at(c->src, a->loc,
                     "an image input needs its channels too: write '%dx%dx1' for one channel",
                     a->dims[0], a->dims[1]);
            return false;
        }
        if (!sizes_ok(c, subj, a))
            return false;
        v->shape = image_shape(a->dims[0], a->dims[1], a->dims[2]);
        if (floats_of(v->shape) > MAX_FLOATS) {
            error_at(c->src, a->loc, "input %s is %s floats per sample; at most %s are supported",
                     quote_arg(a), thousands(floats_of(v->shape)), thousands(MAX_FLOATS));
            return false;
        }
        return true;
    case T_KERNEL:
        if (a->kind != ARG_DIMS || a->n_dims != 2) {
            const char *eg = a->kind == ARG_NUMBER && a->is_int ? a->text : "3";
            error_at(c->src, a->loc, "%s must be written KxK, like %sx%s; got '%s'", subj,
                     clip_text(eg, strlen(eg)), clip_text(eg, strlen(eg)), quote_arg(a));
            return false;
        }
        if (!sizes_ok(c, subj, a))
            return false;
        if (a->dims[0] != a->dims[1]) {
            error_at(c->src, a->loc, "only square kernels are supported, got '%s'", quote_arg(a));
            return false;
        }
        v->n = a->dims[0];
        return true;
    }
    return false;
}

static int n_positional(const Rule *r) {
    int n = 0;
    while (n < MAX_POS && r->pos[n].name)
        n++;
    return n;
}

static int find_option(const Rule *r, const char *key) {
    for (int i = 0; i < MAX_OPT && r->opt[i].name; i++)
        if (strcmp(r->opt[i].name, key) == 0)
            return i;
    return -1;
}

bool graph_option(const Rule *r, const Arg *a) {
    return a->key && ((strcmp(a->key, "name") == 0 && (r->cls == C_LAYER || r->named)) ||
                      (strcmp(a->key, "from") == 0 && r->cls == C_LAYER));
}

static void unknown_option(const Ctx *c, const Stmt *s, const Rule *r, const Arg *a) {
    const char *names[MAX_OPT + 2];
    int n = 0;
    while (n < MAX_OPT && r->opt[n].name) {
        names[n] = r->opt[n].name;
        n++;
    }
    if (r->cls == C_LAYER || r->named)
        names[n++] = "name";
    if (r->cls == C_LAYER)
        names[n++] = "from";
    const char *key = clip_text(a->key, strlen(a->key));
    if (n == 0) {
        error_at(c->src, a->key_loc, "'%s' takes no options, got '%s'", s->keyword, key);
        return;
    }
    const char *hint = suggest(a->key, names, n);
    const char *list = names[0];
    for (int i = 1; i < n; i++)
        list = arena_printf("%s, %s", list, names[i]);
    if (hint)
        error_at(c->src, a->key_loc, "'%s' has no option '%s'; did you mean '%s'?", s->keyword, key,
                 hint);
    else
        error_at(c->src, a->key_loc, "'%s' has no option '%s'; its options are %s", s->keyword, key,
                 list);
}

bool bind(const Ctx *c, const Rule *r, const Stmt *s, Value *pos, Value *opt) {
    bool ok = true, extra_reported = false;
    int n_pos = 0, max_pos = n_positional(r);
    const Arg *first_opt = NULL;
    for (const Arg *a = s->args; a; a = a->next) {
        if (a->key && graph_option(r, a)) { /* names.c's */
            first_opt = first_opt ? first_opt : a;
        } else if (a->key) {
            first_opt = first_opt ? first_opt : a;
            int i = find_option(r, a->key);
            if (i < 0) {
                unknown_option(c, s, r, a);
                ok = false;
            } else if (opt[i].arg) {
                error_at(c->src, a->key_loc, "option '%s' given twice", r->opt[i].name);
                note_at(c->src, opt[i].arg->key_loc, "first given here");
                ok = false;
            } else {
                opt[i].arg = a;
                ok &= convert(c, s, &r->opt[i], &opt[i], true);
            }
        } else if (first_opt) {
            error_at(c->src, a->loc, "argument '%s' comes after option '%s'; options go last",
                     quote_arg(a), clip_text(first_opt->key, strlen(first_opt->key)));
            ok = false;
        } else if (r->refs) { /* value names: names.c judges them */
            n_pos++;
        } else if (n_pos == max_pos) {
            if (!extra_reported && max_pos == 0)
                error_at(c->src, a->loc, "'%s' takes no arguments, got '%s'", s->keyword,
                         quote_arg(a));
            else if (!extra_reported)
                error_at(c->src, a->loc, "too many arguments to '%s': '%s'; usage: %s", s->keyword,
                         quote_arg(a), r->usage);
            extra_reported = true;
            ok = false;
        } else {
            pos[n_pos].arg = a;
            /* After a wrong positional argument, the next ones are likely
             * shifted: one message is enough. */
            if (ok && !convert(c, s, &r->pos[n_pos], &pos[n_pos], false))
                ok = false;
            n_pos++;
        }
    }
    if (ok && n_pos < r->n_required) {
        error_at(c->src, s->loc, "'%s' is missing an argument; usage: %s", s->keyword, r->usage);
        ok = false;
    }
    /* Options that belong to some choices of the first argument
     * (optimizer, schedule): only is "a" or "a|b". */
    for (int i = 0; ok && i < MAX_OPT && r->opt[i].name; i++) {
        const char *only = r->opt[i].only;
        if (!only || !opt[i].arg || is_choice(only, pos[0].arg->text))
            continue;
        const char *bar = strchr(only, '|');
        const char *choices =
            bar ? arena_printf("%.*s or %s", (int)(bar - only), only, bar + 1) : only;
        error_at(c->src, opt[i].arg->key_loc, "'%s' is an option of %s, not %s", r->opt[i].name,
                 choices, quote_arg(pos[0].arg));
        ok = false;
    }
    return ok;
}
