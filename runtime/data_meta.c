/* data_meta.c: what a model keeps of its training data (nn_data_meta):
 * free, copy, and its bytes for a checkpoint section. The layout
 * (docs/trainer.md, "Data meta"), all integers unsigned 32-bit
 * little-endian, floats IEEE binary32 little-endian:
 *
 *   "NNDM"  version (1)
 *   n_classes, then each class name: length, bytes
 *   label name: length, bytes; 0xffffffff: none
 *   n_targets, has_target_names (0, or 1 with n_targets > 0), then each
 *   name: length, bytes
 *   n_features, then n_features means, then n_features stds
 *
 * and nothing after. Decoding checks every length against the bytes left
 * before it allocates, and the values the loaders rely on: class names
 * sorted and distinct (they are searched by bisection), no NUL in a name,
 * finite means, positive finite stds.
 */
#include "data.h"
#include "fail.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define META_MAGIC "NNDM"
#define META_VERSION 1u
#define NO_NAME 0xffffffffu

static void free_names(char **names, int n) {
    for (int k = 0; names && k < n; k++)
        free(names[k]);
    free(names);
}

void nn_data_meta_free(nn_data_meta *m) {
    free_names(m->class_names, m->n_classes);
    free(m->label_name);
    free_names(m->target_names, m->n_targets);
    free(m->mean);
    free(m->std);
    memset(m, 0, sizeof *m);
}

static char **copy_names(char *const *src, int n, int *ok) {
    if (!src || n == 0)
        return NULL;
    char **out = calloc((size_t)n, sizeof *out);
    *ok = *ok && out;
    for (int k = 0; out && k < n; k++)
        *ok = *ok && (out[k] = strdup(src[k]));
    return out;
}

static float *copy_floats(const float *src, int n, int *ok) {
    if (!src || n == 0)
        return NULL;
    float *out = malloc((size_t)n * sizeof *out);
    *ok = *ok && out;
    if (out)
        memcpy(out, src, (size_t)n * sizeof *out);
    return out;
}

int nn_data_meta_copy(nn_data_meta *dst, const nn_data_meta *src) {
    int ok = 1;
    *dst = *src;
    dst->class_names = copy_names(src->class_names, src->n_classes, &ok);
    dst->label_name = src->label_name ? strdup(src->label_name) : NULL;
    ok = ok && (!src->label_name || dst->label_name);
    dst->target_names = copy_names(src->target_names, src->n_targets, &ok);
    dst->mean = copy_floats(src->mean, src->n_features, &ok);
    dst->std = copy_floats(src->std, src->n_features, &ok);
    if (ok)
        return 0;
    nn_data_meta_free(dst);
    return -1;
}

/* ---------------------------------------------------------------- encode */

typedef struct {
    unsigned char *p;
    size_t len, cap;
    int ok;
} Out;

static void put(Out *o, const void *bytes, size_t n) {
    if (!o->ok)
        return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 256;
        while (cap < o->len + n)
            cap *= 2;
        unsigned char *p = realloc(o->p, cap);
        if (!p) {
            o->ok = 0;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, bytes, n);
    o->len += n;
}

static void put_u32(Out *o, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(o, b, 4);
}

static void put_name(Out *o, const char *s) {
    if (!s) {
        put_u32(o, NO_NAME);
        return;
    }
    put_u32(o, (uint32_t)strlen(s));
    put(o, s, strlen(s));
}

static void put_floats(Out *o, const float *v, int n) {
    for (int k = 0; k < n; k++) {
        uint32_t w;
        memcpy(&w, &v[k], 4);
        put_u32(o, w);
    }
}

int nn_data_meta_encode(const nn_data_meta *m, unsigned char **buf, size_t *len) {
    Out o = {NULL, 0, 0, 1};
    put(&o, META_MAGIC, 4);
    put_u32(&o, META_VERSION);
    put_u32(&o, (uint32_t)m->n_classes);
    for (int k = 0; k < m->n_classes; k++)
        put_name(&o, m->class_names[k]);
    put_name(&o, m->label_name);
    put_u32(&o, (uint32_t)m->n_targets);
    put_u32(&o, m->target_names && m->n_targets > 0);
    for (int k = 0; m->target_names && k < m->n_targets; k++)
        put_name(&o, m->target_names[k]);
    put_u32(&o, (uint32_t)m->n_features);
    put_floats(&o, m->mean, m->n_features);
    put_floats(&o, m->std, m->n_features);
    if (!o.ok) {
        free(o.p);
        return -1;
    }
    *buf = o.p;
    *len = o.len;
    return 0;
}

/* ---------------------------------------------------------------- decode */

typedef struct {
    const unsigned char *p;
    size_t left;
    char *err;
    size_t errlen;
} In;

static int get_u32(In *in, uint32_t *v, const char *what) {
    *v = 0; /* for gcc, which cannot see that no caller reads it after an error */
    if (in->left < 4)
        return nn_fail(in->err, in->errlen, "data meta: truncated in %s", what);
    *v = (uint32_t)in->p[0] | (uint32_t)in->p[1] << 8 | (uint32_t)in->p[2] << 16 |
         (uint32_t)in->p[3] << 24;
    in->p += 4;
    in->left -= 4;
    return 0;
}

/* A count of items of at least `size` bytes each: no more than fit */
static int get_count(In *in, int *n, size_t size, const char *what) {
    uint32_t v;
    if (get_u32(in, &v, what))
        return -1;
    if (v > in->left / size || v > (1u << 30))
        return nn_fail(in->err, in->errlen, "data meta: %u %s cannot fit in %zu bytes", v, what,
                       in->left);
    *n = (int)v;
    return 0;
}

/* A name: *s malloc'ed, or NULL for NO_NAME when none is allowed */
static int get_name(In *in, char **s, int may_be_none, const char *what) {
    uint32_t n;
    *s = NULL;
    if (get_u32(in, &n, what))
        return -1;
    if (n == NO_NAME && may_be_none)
        return 0;
    if (n > in->left)
        return nn_fail(in->err, in->errlen, "data meta: a %s of %u bytes, only %zu left", what,
                       n, in->left);
    if (memchr(in->p, '\0', n))
        return nn_fail(in->err, in->errlen, "data meta: a %s holds a NUL byte", what);
    if (!(*s = malloc((size_t)n + 1)))
        return nn_fail(in->err, in->errlen, "data meta: out of memory");
    memcpy(*s, in->p, n);
    (*s)[n] = '\0';
    in->p += n;
    in->left -= n;
    return 0;
}

static int get_names(In *in, char ***names, int n, const char *what) {
    if (n == 0)
        return 0;
    if (!(*names = calloc((size_t)n, sizeof **names)))
        return nn_fail(in->err, in->errlen, "data meta: out of memory");
    for (int k = 0; k < n; k++)
        if (get_name(in, &(*names)[k], 0, what))
            return -1;
    return 0;
}

static int get_floats(In *in, float **v, int n, int positive, const char *what) {
    if (n == 0)
        return 0;
    if (!(*v = malloc((size_t)n * sizeof **v)))
        return nn_fail(in->err, in->errlen, "data meta: out of memory");
    for (int k = 0; k < n; k++) {
        uint32_t w;
        if (get_u32(in, &w, what))
            return -1;
        memcpy(&(*v)[k], &w, 4);
        if (!isfinite((*v)[k]) || (positive && !((*v)[k] > 0)))
            return nn_fail(in->err, in->errlen, "data meta: %s %d is %g", what, k + 1,
                           (double)(*v)[k]);
    }
    return 0;
}

static int decode(nn_data_meta *m, In *in) {
    uint32_t version, has_names;
    if (in->left < 4 || memcmp(in->p, META_MAGIC, 4) != 0)
        return nn_fail(in->err, in->errlen, "data meta: bad magic");
    in->p += 4, in->left -= 4;
    if (get_u32(in, &version, "the version"))
        return -1;
    if (version != META_VERSION)
        return nn_fail(in->err, in->errlen, "data meta: unsupported version %u (this runtime "
                       "reads 1)", version);
    if (get_count(in, &m->n_classes, 4, "class names") ||
        get_names(in, &m->class_names, m->n_classes, "class name"))
        return -1;
    for (int k = 1; k < m->n_classes; k++)
        if (strcmp(m->class_names[k - 1], m->class_names[k]) >= 0)
            return nn_fail(in->err, in->errlen, "data meta: class names %d and %d are not in "
                           "sorted order", k, k + 1);
    if (get_name(in, &m->label_name, 1, "label name") ||
        get_count(in, &m->n_targets, 4, "targets") || get_u32(in, &has_names, "target names"))
        return -1;
    if (has_names > 1 || (has_names && m->n_targets == 0))
        return nn_fail(in->err, in->errlen, "data meta: the target names flag is %u for %d "
                       "targets", has_names, m->n_targets);
    if (has_names && get_names(in, &m->target_names, m->n_targets, "target name"))
        return -1;
    if (get_count(in, &m->n_features, 8, "features") ||
        get_floats(in, &m->mean, m->n_features, 0, "mean") ||
        get_floats(in, &m->std, m->n_features, 1, "std"))
        return -1;
    if (in->left)
        return nn_fail(in->err, in->errlen, "data meta: %zu bytes after the end", in->left);
    return 0;
}

int nn_data_meta_decode(nn_data_meta *m, const unsigned char *buf, size_t len, char *err,
                        size_t errlen) {
    memset(m, 0, sizeof *m);
    In in = {buf, len, err, errlen};
    if (decode(m, &in) == 0)
        return 0;
    /* the counts say how many names were asked for; those not read are NULL */
    nn_data_meta_free(m);
    return -1;
}
