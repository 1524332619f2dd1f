/* data_csv.c: the CSV reader. A CSV of numbers, one example per line: a
 * header or not, comma, semicolon or tab between fields, a label column
 * (class indices or class names) or target columns, and the features.
 * For an image model it holds pixels, integers 0..255 kept as bytes
 * (today's Fashion-MNIST layout); for any other it holds float values.
 * See docs/trainer.md ("CSV") for every rule and message: line and column
 * numbers are 1-based, columns counted in bytes.
 */
#include "data.h"
#include "fail.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *s;  /* the field's text, unquoted and NUL-terminated in the line */
    int col;  /* 1-based byte column where it starts */
} Field;

enum { ROLE_FEATURE, ROLE_LABEL, ROLE_TARGET };

typedef struct {
    FILE *f;
    const char *path;
    char delim;
    long lineno;
    char *line;
    size_t cap, max; /* the line buffer and the longest line taken */
    Field *fields;
    size_t n_fields, fields_cap;
    char *err;
    size_t errlen;
} Csv;

/* The longest line read: 1 MiB, or 64 times an example's plain line (16
 * bytes a field, as '-1.2345678e-05,') if that is more. Without a cap, a
 * file without line breaks (a binary file, the wrong file) would be read
 * into memory whole as one line. */
static size_t max_line(int in_size) {
    size_t longest = 16 * ((size_t)in_size + 1);
    return 64 * longest > (1u << 20) ? 64 * longest : 1u << 20;
}

/* Reads one line into c->line without its line end (\n or \r\n): 1, or
 * 0 at the end of the file, -1 on an error */
static int read_line(Csv *c) {
    size_t n = 0;
    int ch;
    if (!c->line && !(c->line = malloc(c->cap = 4096)))
        return nn_fail(c->err, c->errlen, "%s: out of memory for a line", c->path);
    while ((ch = getc_unlocked(c->f)) != EOF && ch != '\n') {
        if (n == c->max)
            return nn_fail(c->err, c->errlen,
                           "%s:%ld: line longer than %zu bytes: not one example", c->path,
                           c->lineno + 1, c->max);
        if (n + 1 >= c->cap) { /* room for ch and the final '\0' */
            size_t new_cap = 2 * c->cap < c->max + 1 ? 2 * c->cap : c->max + 1;
            char *p = realloc(c->line, new_cap);
            if (!p)
                return nn_fail(c->err, c->errlen, "%s:%ld: out of memory for the line",
                               c->path, c->lineno + 1);
            c->line = p;
            c->cap = new_cap;
        }
        c->line[n++] = (char)ch;
    }
    if (ferror(c->f))
        return nn_fail(c->err, c->errlen, "%s: read error: %s", c->path, strerror(errno));
    if (ch == EOF && n == 0)
        return 0;
    c->lineno++;
    if (n > 0 && c->line[n - 1] == '\r')
        n--;
    /* the UTF-8 byte order mark some spreadsheets write first: not a field's text */
    if (c->lineno == 1 && n >= 3 && memcmp(c->line, "\xef\xbb\xbf", 3) == 0) {
        memmove(c->line, c->line + 3, n - 3);
        n -= 3;
    }
    c->line[n] = '\0';
    /* the fields are parsed as C strings: what follows a NUL would go unseen */
    const char *nul = memchr(c->line, '\0', n);
    if (nul)
        return nn_fail(c->err, c->errlen, "%s:%ld:%zu: NUL byte", c->path, c->lineno,
                       (size_t)(nul - c->line) + 1);
    return 1;
}

static int is_space(char ch, char delim) {
    return ch == ' ' || (ch == '\t' && delim != '\t');
}

static int is_blank(const char *s, char delim) {
    while (is_space(*s, delim))
        s++;
    return *s == '\0';
}

/* Splits buf (a line) into c->fields in place: a field is trimmed of
 * spaces, or quoted with '"' (a doubled '"' inside is one '"'; a quoted
 * field cannot span lines) */
static int split(Csv *c, char *buf) {
    char *p = buf;
    c->n_fields = 0;
    for (;;) {
        while (is_space(*p, c->delim))
            p++;
        Field f = {p, (int)(p - buf) + 1};
        char *end, *next;
        if (*p == '"') {
            char *w = p, *r = p + 1;
            for (;;) {
                if (*r == '\0')
                    return nn_fail(c->err, c->errlen, "%s:%ld:%d: unterminated quoted field",
                                   c->path, c->lineno, f.col);
                if (*r == '"' && r[1] == '"')
                    *w++ = '"', r += 2;
                else if (*r == '"')
                    break;
                else
                    *w++ = *r++;
            }
            end = w;
            next = r + 1;
            while (is_space(*next, c->delim))
                next++;
            if (*next != c->delim && *next != '\0')
                return nn_fail(c->err, c->errlen, "%s:%ld:%d: text after a quoted field",
                               c->path, c->lineno, (int)(next - buf) + 1);
        } else {
            for (next = p; *next && *next != c->delim;)
                next++;
            end = next;
            while (end > p && is_space(end[-1], c->delim))
                end--;
        }
        char sep = *next;
        *end = '\0';
        if (c->n_fields == c->fields_cap) {
            size_t cap = c->fields_cap ? 2 * c->fields_cap : 64;
            Field *fs = realloc(c->fields, cap * sizeof *fs);
            if (!fs)
                return nn_fail(c->err, c->errlen, "%s:%ld: out of memory for the fields",
                               c->path, c->lineno);
            c->fields = fs;
            c->fields_cap = cap;
        }
        c->fields[c->n_fields++] = f;
        if (sep == '\0')
            return 0;
        p = next + 1;
    }
}

/* A decimal number: [+-] digits [. digits] or [+-] . digits, then an
 * optional exponent. No hex, no inf, no nan: strtod would take those. */
static int is_number(const char *s) {
    size_t digits = 0;
    s += *s == '+' || *s == '-';
    for (; isdigit((unsigned char)*s); s++)
        digits++;
    if (*s == '.')
        for (s++; isdigit((unsigned char)*s); s++)
            digits++;
    if (digits == 0)
        return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        s += *s == '+' || *s == '-';
        if (!isdigit((unsigned char)*s))
            return 0;
        while (isdigit((unsigned char)*s))
            s++;
    }
    return *s == '\0';
}

static int is_integer(const char *s) {
    s += *s == '+' || *s == '-';
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* A field's text as a message quotes it: at most 40 bytes, and every byte
 * outside printable ASCII, and '\\', as \xHH, so that a crafted file
 * cannot send escape sequences to a terminal */
static const char *show(const char *s, char *buf) {
    size_t n = 0;
    for (; *s && n < 40; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch > 0x7e || ch == '\\')
            n += (size_t)sprintf(buf + n, "\\x%02x", ch);
        else
            buf[n++] = (char)ch;
    }
    buf[n] = '\0';
    return buf;
}
#define SHOW(s) show((s), (char[4 * 40 + 8]){0})

/* A float field: strtod in the C locale (the trainer never calls
 * setlocale), then rounded to float, as NumPy's loadtxt and astype do */
static int parse_float(const Csv *c, const Field *f, float *out) {
    if (!*f->s)
        return nn_fail(c->err, c->errlen, "%s:%ld:%d: empty field", c->path, c->lineno, f->col);
    const char *s = f->s + (*f->s == '+' || *f->s == '-');
    if (!is_number(f->s)) {
        int inf = strcasecmp(s, "inf") == 0 || strcasecmp(s, "infinity") == 0;
        return nn_fail(c->err, c->errlen, "%s:%ld:%d: '%s' is not a %snumber", c->path,
                       c->lineno, f->col, SHOW(f->s), inf ? "finite " : "");
    }
    double v = strtod(f->s, NULL);
    if (v > FLT_MAX || v < -FLT_MAX)
        return nn_fail(c->err, c->errlen, "%s:%ld:%d: '%s' is out of the range of a float",
                       c->path, c->lineno, f->col, SHOW(f->s));
    *out = (float)v;
    return 0;
}

/* A pixel field: an integer 0..255 */
static int parse_pixel(const Csv *c, const Field *f, uint8_t *out) {
    if (!*f->s)
        return nn_fail(c->err, c->errlen, "%s:%ld:%d: empty field", c->path, c->lineno, f->col);
    const char *s = f->s + (*f->s == '+');
    int v = 0, digits = 0;
    for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
        v = 10 * v + (*s - '0');
    if (digits == 0 || *s || v > 255)
        return nn_fail(c->err, c->errlen, "%s:%ld:%d: pixel value '%s' is not an integer 0..255",
                       c->path, c->lineno, f->col, SHOW(f->s));
    *out = (uint8_t)v;
    return 0;
}

/* ---------------------------------------------------------------- columns */

/* Which column COL names: a 1-based index, or a name in the header */
static int find_column(const Csv *c, const char *ref, const char *option, char *const *names,
                       size_t n_cols, size_t *col) {
    if (is_integer(ref) && *ref != '-' && *ref != '+') {
        unsigned long v = strtoul(ref, NULL, 10);
        if (v < 1 || v > n_cols || strlen(ref) > 9)
            return nn_fail(c->err, c->errlen, "%s: %s %s: the file has %zu columns", c->path,
                           option, ref, n_cols);
        *col = v - 1;
        return 0;
    }
    if (!names)
        return nn_fail(c->err, c->errlen, "%s: %s '%s' names a column, but the file has no header",
                       c->path, option, ref);
    for (size_t j = 0; j < n_cols; j++)
        if (strcmp(names[j], ref) == 0) {
            *col = j;
            return 0;
        }
    return nn_fail(c->err, c->errlen, "%s: %s '%s': no such column in the header", c->path,
                   option, ref);
}

/* The header detection of --header auto: the first line is a header when
 * one of its fields is neither empty nor a number while the same field of
 * the next non-blank line is a number (or there is no next line) */
static int looks_like_header(const int *first_num, size_t n_first, const Csv *second) {
    for (size_t j = 0; j < n_first; j++)
        if (!first_num[j] &&
            (!second || (j < second->n_fields && is_number(second->fields[j].s))))
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- labels */

/* The class labels of a file being read */
typedef struct {
    const nn_data_meta *saved; /* the mapping to follow, or NULL */
    char **names;              /* derived: distinct class names in order of appearance */
    int n_names;
    long name_line, int_line;  /* the lines of the first name and the first index, or 0 */
} Labels;

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One label field into *out: a class index, or a class name's number */
static int parse_label(const Csv *c, Labels *lb, const Field *f, int out_size, int *out) {
    const char *s = f->s;
    if (!*s)
        return nn_fail(c->err, c->errlen, "%s:%ld:%d: empty field", c->path, c->lineno, f->col);
    if (lb->saved && lb->saved->n_classes > 0) {
        char *key = f->s;
        char **hit = bsearch(&key, lb->saved->class_names, (size_t)lb->saved->n_classes,
                             sizeof *hit, cmp_names);
        if (!hit)
            return nn_fail(c->err, c->errlen, "%s:%ld:%d: class '%s' is not one of the model's "
                           "%d classes", c->path, c->lineno, f->col, SHOW(s),
                           lb->saved->n_classes);
        *out = (int)(hit - lb->saved->class_names);
        return 0;
    }
    if (is_integer(s)) {
        long v = strlen(s) > 9 ? -1 : strtol(s, NULL, 10);
        if (v < 0 || v >= out_size)
            return nn_fail(c->err, c->errlen,
                           "%s:%ld:%d: label '%s' is out of range for %d classes (0..%d)",
                           c->path, c->lineno, f->col, SHOW(s), out_size, out_size - 1);
        if (lb->n_names)
            return nn_fail(c->err, c->errlen, "%s:%ld:%d: label '%s' is a class index, but "
                           "line %ld holds a class name", c->path, c->lineno, f->col, SHOW(s),
                           lb->name_line);
        if (!lb->int_line)
            lb->int_line = c->lineno;
        *out = (int)v;
        return 0;
    }
    if (lb->saved)
        return nn_fail(c->err, c->errlen, "%s:%ld:%d: label '%s' is not a class index (the "
                       "model was trained on class indices)", c->path, c->lineno, f->col,
                       SHOW(s));
    if (lb->int_line)
        return nn_fail(c->err, c->errlen, "%s:%ld:%d: label '%s' is a class name, but line "
                       "%ld holds a class index", c->path, c->lineno, f->col, SHOW(s),
                       lb->int_line);
    for (int k = 0; k < lb->n_names; k++)
        if (strcmp(lb->names[k], s) == 0) {
            *out = k;
            return 0;
        }
    if (lb->n_names == out_size)
        return nn_fail(c->err, c->errlen, "%s:%ld:%d: class '%s' is one more than the model's "
                       "%d outputs", c->path, c->lineno, f->col, SHOW(s), out_size);
    if (!lb->names && !(lb->names = calloc((size_t)out_size, sizeof *lb->names)))
        return nn_fail(c->err, c->errlen, "%s: out of memory for class names", c->path);
    if (!(lb->names[lb->n_names] = strdup(s)))
        return nn_fail(c->err, c->errlen, "%s: out of memory for class names", c->path);
    if (!lb->name_line)
        lb->name_line = c->lineno;
    *out = lb->n_names++;
    return 0;
}

/* Class names, once every line is read: sorted (strcmp), the labels
 * renumbered to match, and moved into the meta */
static int finish_names(const Csv *c, Labels *lb, nn_dataset *d, int out_size,
                        nn_data_meta *meta) {
    if (!lb->n_names)
        return 0;
    if (lb->n_names != out_size)
        return nn_fail(c->err, c->errlen, "%s: %d class name%s, but the model has %d outputs",
                       c->path, lb->n_names, lb->n_names == 1 ? "" : "s", out_size);
    char **sorted = malloc((size_t)lb->n_names * sizeof *sorted);
    int *rank = malloc((size_t)lb->n_names * sizeof *rank);
    if (!sorted || !rank) {
        free(sorted);
        free(rank);
        return nn_fail(c->err, c->errlen, "%s: out of memory for class names", c->path);
    }
    memcpy(sorted, lb->names, (size_t)lb->n_names * sizeof *sorted);
    qsort(sorted, (size_t)lb->n_names, sizeof *sorted, cmp_names);
    for (int k = 0; k < lb->n_names; k++)
        for (int r = 0; r < lb->n_names; r++)
            if (sorted[r] == lb->names[k])
                rank[k] = r;
    for (size_t i = 0; i < d->n; i++)
        d->labels[i] = rank[d->labels[i]];
    free(rank);
    free(lb->names);
    lb->names = NULL;
    meta->class_names = sorted;
    meta->n_classes = lb->n_names;
    lb->n_names = 0;
    return 0;
}

/* ---------------------------------------------------------------- the file */

/* How the columns of one file are read */
typedef struct {
    unsigned char *role; /* (n_cols) ROLE_* */
    int *slot;           /* (n_cols) the feature's or target's index */
    size_t n_cols;
    int pixels;          /* features are pixels (an image model's classes) */
    int has_label;       /* else the file lacks the label (predict) */
    int n_targets;       /* has the target columns: their count */
} Layout;

/* Makes room for example i, doubling the arrays (the row count is unknown
 * until the end; the slack is released by shrink) */
static int grow(nn_dataset *d, const Layout *l, size_t *cap, const Csv *c) {
    if (d->n < *cap)
        return 0;
    size_t new_cap = *cap ? 2 * *cap : 1024;
    size_t row = (size_t)d->in_size * (l->pixels ? 1 : sizeof(float));
    if (new_cap > SIZE_MAX / row / 2)
        return nn_fail(c->err, c->errlen, "%s: out of memory after %zu examples", c->path, d->n);
    int ok = 1;
    if (l->pixels) {
        uint8_t *p = realloc(d->pixels, new_cap * row);
        ok = ok && p, d->pixels = p ? p : d->pixels;
    } else {
        float *p = realloc(d->values, new_cap * row);
        ok = ok && p, d->values = p ? p : d->values;
    }
    if (l->has_label) {
        int *p = realloc(d->labels, new_cap * sizeof *p);
        ok = ok && p, d->labels = p ? p : d->labels;
    }
    if (l->n_targets) {
        float *p = realloc(d->targets, new_cap * (size_t)l->n_targets * sizeof *p);
        ok = ok && p, d->targets = p ? p : d->targets;
    }
    if (!ok)
        return nn_fail(c->err, c->errlen, "%s: out of memory after %zu examples", c->path, d->n);
    *cap = new_cap;
    return 0;
}

static void shrink(nn_dataset *d, const Layout *l) {
    size_t n = d->n ? d->n : 1;
    void *p;
    if (d->pixels && (p = realloc(d->pixels, n * (size_t)d->in_size)))
        d->pixels = p;
    if (d->values && (p = realloc(d->values, n * (size_t)d->in_size * sizeof(float))))
        d->values = p;
    if (d->labels && (p = realloc(d->labels, n * sizeof(int))))
        d->labels = p;
    if (d->targets && (p = realloc(d->targets, n * (size_t)l->n_targets * sizeof(float))))
        d->targets = p;
}

/* One data line, split into c->fields, as example d->n */
static int parse_row(Csv *c, nn_dataset *d, const Layout *l, Labels *lb,
                     const nn_data_spec *spec) {
    if (c->n_fields != l->n_cols)
        return nn_fail(c->err, c->errlen, "%s:%ld: wrong number of fields: expected %zu, got %zu",
                       c->path, c->lineno, l->n_cols, c->n_fields);
    size_t i = d->n, in = (size_t)d->in_size;
    for (size_t j = 0; j < l->n_cols; j++) {
        const Field *f = &c->fields[j];
        int rc = 0;
        if (l->role[j] == ROLE_LABEL)
            rc = parse_label(c, lb, f, spec->out_size, &d->labels[i]);
        else if (l->role[j] == ROLE_TARGET)
            rc = parse_float(c, f, &d->targets[i * (size_t)l->n_targets + (size_t)l->slot[j]]);
        else if (l->pixels)
            rc = parse_pixel(c, f, &d->pixels[i * in + (size_t)l->slot[j]]);
        else
            rc = parse_float(c, f, &d->values[i * in + (size_t)l->slot[j]]);
        if (rc)
            return -1;
    }
    d->n++;
    return 0;
}

static void free_names(char **names, size_t n) {
    for (size_t j = 0; names && j < n; j++)
        free(names[j]);
    free(names);
}

/* The label's or targets' columns, as the references refs name them, into
 * cols. 1 when optional and a name is not in the header (predict: the file
 * lacks them); -1 on an error. */
static int find_columns(const Csv *c, char *const *refs, size_t n_refs, const char *option,
                        char *const *names, size_t n_cols, int optional, size_t *cols) {
    for (size_t k = 0; k < n_refs; k++) {
        if (optional && names && !is_integer(refs[k])) {
            size_t j = 0;
            while (j < n_cols && strcmp(names[j], refs[k]) != 0)
                j++;
            if (j == n_cols)
                return 1;
        }
        if (find_column(c, refs[k], option, names, n_cols, &cols[k]))
            return -1;
        for (size_t i = 0; i < k; i++)
            if (cols[i] == cols[k])
                return nn_fail(c->err, c->errlen, "%s: %s names column %zu twice", c->path,
                               option, cols[k] + 1);
    }
    return 0;
}

/* The columns' roles: the label (or the targets) and the features, which
 * must be as many as the model's input. Regression: --target's list, else
 * the checkpoint's target names. Classification: --label, else the
 * checkpoint's label name, else a header column named 'label' (in any
 * case), else the first column. */
static int plan_columns(Csv *c, Layout *l, char *const *names, const nn_data_options *o,
                        const nn_data_spec *spec, unsigned want, const nn_data_meta *saved,
                        nn_data_meta *meta) {
    size_t n = l->n_cols;
    int in_size = spec->in_h * spec->in_w * spec->in_c;
    int regression = o->target || (saved && saved->n_targets > 0);
    int optional = (want & NN_LABELS_OPTIONAL) != 0;
    char *list = NULL, *refs_buf[1], **refs = refs_buf;
    size_t n_refs = 0;
    l->role = calloc(n, 1);
    l->slot = calloc(n, sizeof *l->slot);
    size_t *cols = calloc(n, sizeof *cols);
    int rc = !l->role || !l->slot || !cols ? nn_fail(c->err, c->errlen, "%s: out of memory", c->path) : 0;
    const char *option = regression ? (o->target ? "--target" : "the target")
                                    : (o->label ? "--label" : "the label");
    if (rc == 0 && regression && o->target) {
        /* COL[,COL...]: the list cut at its commas, in place */
        refs = calloc(strlen(o->target) + 1, sizeof *refs);
        list = strdup(o->target);
        if (!refs || !list)
            rc = nn_fail(c->err, c->errlen, "%s: out of memory", c->path);
        for (char *p = list; rc == 0 && p; n_refs++) {
            refs[n_refs] = p;
            p = strchr(p, ',');
            if (p)
                *p++ = '\0';
        }
    } else if (rc == 0 && regression && saved->target_names) {
        refs = saved->target_names;
        n_refs = (size_t)saved->n_targets;
    } else if (rc == 0 && regression) {
        rc = nn_fail(c->err, c->errlen, "%s: the model predicts %d target%s: name the columns "
                     "with --target COL[,COL...]", c->path, saved->n_targets,
                     saved->n_targets == 1 ? "" : "s");
    } else if (rc == 0) {
        refs_buf[0] = (char *)(o->label ? o->label : saved && saved->label_name ? saved->label_name : "1");
        for (size_t j = 0; !o->label && !(saved && saved->label_name) && names && j < n; j++)
            if (strcasecmp(names[j], "label") == 0) {
                refs_buf[0] = names[j];
                break;
            }
        n_refs = 1;
    }
    int absent = 0;
    if (rc == 0) {
        /* predict: a file of as many columns as features has none */
        absent = optional && n == (size_t)in_size;
        if (!absent)
            absent = find_columns(c, refs, n_refs, option, names, n, optional, cols);
        rc = absent < 0 ? -1 : 0;
    }
    if (rc == 0 && !absent && regression && n_refs != (size_t)spec->out_size)
        rc = nn_fail(c->err, c->errlen, "%s: %zu target%s, but the model has %d outputs",
                     c->path, n_refs, n_refs == 1 ? "" : "s", spec->out_size);
    size_t n_out = rc == 0 && !absent ? n_refs : 0;
    for (size_t k = 0; k < n_out; k++) {
        l->role[cols[k]] = regression ? ROLE_TARGET : ROLE_LABEL;
        l->slot[cols[k]] = (int)k;
    }
    if (rc == 0) {
        l->has_label = !regression && n_out;
        l->n_targets = regression ? (int)n_out : 0;
        l->pixels = !regression && spec->in_h * spec->in_w > 1;
    }
    /* what the meta keeps of the columns: their names, when there is a header */
    if (rc == 0 && !saved && n_out && names) {
        for (size_t k = 0; rc == 0 && k < n_out; k++) {
            char *name = strdup(names[cols[k]]);
            if (!name)
                rc = -1;
            else if (!regression)
                meta->label_name = name;
            else {
                char **grown = realloc(meta->target_names, (k + 1) * sizeof *grown);
                if (!grown) {
                    free(name);
                    rc = -1;
                } else
                    (meta->target_names = grown)[k] = name, meta->n_targets = (int)k + 1;
            }
        }
        if (rc)
            nn_fail(c->err, c->errlen, "%s: out of memory", c->path);
    } else if (rc == 0 && !saved && regression)
        meta->n_targets = (int)n_out;
    if (rc == 0 && n - n_out != (size_t)in_size)
        rc = nn_fail(c->err, c->errlen,
                     "%s: %zu columns: %zu %s and %zu features, but the model's input has %d "
                     "values", c->path, n, n_out,
                     regression ? (n_out == 1 ? "target" : "targets") : (n_out ? "label" : "labels"),
                     n - n_out, in_size);
    int k = 0;
    for (size_t j = 0; rc == 0 && j < n; j++)
        if (l->role[j] == ROLE_FEATURE)
            l->slot[j] = k++;
    if (refs != refs_buf && !(saved && refs == saved->target_names))
        free(refs);
    free(list);
    free(cols);
    return rc;
}

static int pick_delimiter(Csv *c, const char *given, const char *line) {
    if (given) {
        if (strcmp(given, ",") == 0 || strcmp(given, ";") == 0)
            c->delim = given[0];
        else if (strcmp(given, "tab") == 0 || strcmp(given, "\t") == 0)
            c->delim = '\t';
        else
            return nn_fail(c->err, c->errlen, "%s: --delimiter '%s': expected ',', ';' or 'tab'",
                           c->path, given);
        return 0;
    }
    /* the most frequent of the three outside quotes; a tie goes to , then ; */
    size_t count[3] = {0};
    int quoted = 0;
    for (const char *p = line; *p; p++) {
        quoted ^= *p == '"';
        if (!quoted)
            count[0] += *p == ',', count[1] += *p == ';', count[2] += *p == '\t';
    }
    c->delim = count[0] >= count[1] && count[0] >= count[2] ? ','
               : count[1] >= count[2]                      ? ';'
                                                           : '\t';
    return 0;
}

/* The next non-blank line: 1, 0 at the end, -1 on an error */
static int next_line(Csv *c) {
    int got;
    while ((got = read_line(c)) == 1 && is_blank(c->line, c->delim ? c->delim : ','))
        ;
    return got;
}

/* Reads the file: the first line, the header decision (which looks at the
 * second line too), the columns' plan, then every example. The first two
 * lines are split from copies, so that they can be parsed as examples
 * after the decision. */
static int read_csv(Csv *c, nn_dataset *d, const nn_data_options *o, const nn_data_spec *spec,
                    unsigned want, const nn_data_meta *saved, nn_data_meta *meta, Layout *l,
                    Labels *lb, char **lines, char ***names_out) {
    const char *h = o->header ? o->header : "auto";
    int header = strcmp(h, "yes") == 0 ? 1 : strcmp(h, "no") == 0 ? 0 : -1;
    if (header < 0 && strcmp(h, "auto") != 0)
        return nn_fail(c->err, c->errlen, "%s: --header '%s': expected yes, no or auto", c->path,
                       h);
    int got = next_line(c);
    if (got <= 0)
        return got < 0 ? -1 : nn_fail(c->err, c->errlen, "%s: no examples", c->path);
    if (pick_delimiter(c, o->delimiter, c->line))
        return -1;
    long line_no[2] = {c->lineno, 0};
    if (!(lines[0] = strdup(c->line)) || !(lines[1] = strdup(c->line)))
        return nn_fail(c->err, c->errlen, "%s: out of memory", c->path);
    if (split(c, lines[1]))
        return -1;
    size_t n_cols = l->n_cols = c->n_fields;
    char **names = *names_out = calloc(n_cols, sizeof *names);
    int *num = calloc(n_cols, sizeof *num);
    for (size_t j = 0; names && num && j < n_cols; j++)
        if ((num[j] = !*c->fields[j].s || is_number(c->fields[j].s)), !(names[j] = strdup(c->fields[j].s)))
            break;
    if (!names || !num || !names[n_cols - 1]) {
        free(num);
        return nn_fail(c->err, c->errlen, "%s: out of memory", c->path);
    }
    free(lines[1]);
    lines[1] = NULL;
    got = next_line(c);
    if (got == 1) {
        line_no[1] = c->lineno;
        if (!(lines[1] = strdup(c->line))) {
            free(num);
            return nn_fail(c->err, c->errlen, "%s: out of memory", c->path);
        }
    }
    if (got < 0 || (got == 1 && split(c, c->line))) {
        free(num);
        return -1;
    }
    if (header < 0)
        header = looks_like_header(num, n_cols, got == 1 ? c : NULL);
    free(num);
    if (plan_columns(c, l, header ? names : NULL, o, spec, want, saved, meta))
        return -1;
    d->in_size = spec->in_h * spec->in_w * spec->in_c;
    lb->saved = saved;
    size_t cap = 0;
    long last = c->lineno;
    for (int k = header; k < 2 && lines[k] && d->n < spec->limit; k++) {
        c->lineno = line_no[k];
        if (split(c, lines[k]) || grow(d, l, &cap, c) || parse_row(c, d, l, lb, spec))
            return -1;
    }
    c->lineno = last;
    for (got = got == 1 ? next_line(c) : 0; got == 1 && d->n < spec->limit; got = next_line(c))
        if (split(c, c->line) || grow(d, l, &cap, c) || parse_row(c, d, l, lb, spec))
            return -1;
    if (got < 0)
        return -1;
    if (d->n == 0)
        return nn_fail(c->err, c->errlen, "%s: no examples", c->path);
    shrink(d, l);
    if (!saved && finish_names(c, lb, d, spec->out_size, meta))
        return -1;
    d->n_targets = l->n_targets;
    return 0;
}

int nn_data_load_csv(nn_dataset *d, const char *path, const nn_data_options *o,
                     const nn_data_spec *spec, unsigned want, const nn_data_meta *saved,
                     nn_data_meta *meta, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    nn_data_meta derived = {0};
    Csv c = {.path = path, .err = err, .errlen = errlen,
             .max = max_line(spec->in_h * spec->in_w * spec->in_c)};
    c.f = fopen(path, "r");
    if (!c.f)
        return nn_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    Layout l = {0};
    Labels lb = {0};
    char *lines[2] = {NULL, NULL}, **names = NULL;
    int rc = read_csv(&c, d, o, spec, want, saved, &derived, &l, &lb, lines, &names);
    fclose(c.f);
    free(c.line);
    free(c.fields);
    free(lines[0]);
    free(lines[1]);
    free_names(names, l.n_cols);
    free_names(lb.names, (size_t)lb.n_names);
    free(l.role);
    free(l.slot);
    if (rc) {
        nn_data_meta_free(&derived);
        nn_data_free(d);
        return -1;
    }
    if (meta)
        *meta = derived;
    else
        nn_data_meta_free(&derived);
    return 0;
}
