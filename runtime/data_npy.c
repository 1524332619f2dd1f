/* data_npy.c: the NumPy reader. An .npy file is a magic, a version, a
 * header length and a Python dict literal ('descr', 'fortran_order',
 * 'shape'), then the array's bytes; an .npz is a zip of them
 * (data_zip.c). Arrays become the features (uint8: pixels kept as bytes,
 * any other dtype: float values) and the labels (integers: classes) or
 * the targets (floats, or anything when the model is a regression). Every
 * size in a header is checked against the bytes there before it is used.
 */
#include "data.h"
#include "fail.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* ---------------------------------------------------------------- the header dict */

typedef struct {
    const char *p, *end;
} Scan;

static void skip_spaces(Scan *s) {
    while (s->p < s->end && isspace((unsigned char)*s->p))
        s->p++;
}

static int eat(Scan *s, char ch) {
    skip_spaces(s);
    if (s->p < s->end && *s->p == ch) {
        s->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string ('...' or "...", no escapes) into out */
static int scan_string(Scan *s, char *out, size_t cap) {
    skip_spaces(s);
    if (s->p >= s->end || (*s->p != '\'' && *s->p != '"'))
        return -1;
    char q = *s->p++;
    size_t n = 0;
    while (s->p < s->end && *s->p != q) {
        /* printable ASCII only: a message may quote it */
        if (n + 1 >= cap || *s->p == '\\' || *s->p < 0x20 || *s->p > 0x7e)
            return -1;
        out[n++] = *s->p++;
    }
    if (s->p >= s->end)
        return -1;
    s->p++;
    out[n] = '\0';
    return 0;
}

/* The dict's three keys, in any order, each once */
static int parse_dict(Scan *s, nn_npy *a, char *descr, size_t descr_cap, int *fortran) {
    int seen = 0;
    if (!eat(s, '{'))
        return -1;
    while (!eat(s, '}')) {
        char key[32];
        if (scan_string(s, key, sizeof key) || !eat(s, ':'))
            return -1;
        if (strcmp(key, "descr") == 0 && !(seen & 1)) {
            if (scan_string(s, descr, descr_cap))
                return -1;
            seen |= 1;
        } else if (strcmp(key, "fortran_order") == 0 && !(seen & 2)) {
            skip_spaces(s);
            size_t left = (size_t)(s->end - s->p);
            if (left >= 4 && memcmp(s->p, "True", 4) == 0)
                *fortran = 1, s->p += 4;
            else if (left >= 5 && memcmp(s->p, "False", 5) == 0)
                *fortran = 0, s->p += 5;
            else
                return -1;
            seen |= 2;
        } else if (strcmp(key, "shape") == 0 && !(seen & 4)) {
            if (!eat(s, '('))
                return -1;
            a->n_dims = 0;
            while (!eat(s, ')')) {
                skip_spaces(s);
                if (a->n_dims == NN_NPY_MAX_DIMS || s->p >= s->end ||
                    !isdigit((unsigned char)*s->p))
                    return -1;
                uint64_t v = 0;
                for (; s->p < s->end && isdigit((unsigned char)*s->p); s->p++) {
                    if (v > (UINT64_MAX - 9) / 10)
                        return -1;
                    v = 10 * v + (uint64_t)(*s->p - '0');
                }
                a->dims[a->n_dims++] = v;
                if (!eat(s, ',') && !(skip_spaces(s), s->p < s->end && *s->p == ')'))
                    return -1;
            }
            seen |= 4;
        } else
            return -1;
        if (!eat(s, ',') && !(skip_spaces(s), s->p < s->end && *s->p == '}'))
            return -1;
    }
    skip_spaces(s);
    return seen == 7 && s->p == s->end ? 0 : -1;
}

int nn_npy_parse(nn_npy *a, const char *name, const unsigned char *buf, size_t len, char *err,
                 size_t errlen) {
    memset(a, 0, sizeof *a);
    if (len < 10 || memcmp(buf, NPY_MAGIC, sizeof NPY_MAGIC) != 0)
        return nn_fail(err, errlen, "%s: not a NumPy .npy file (bad magic)", name);
    int major = buf[6];
    size_t header_len, start;
    if (major == 1) {
        header_len = (size_t)buf[8] | (size_t)buf[9] << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return nn_fail(err, errlen, "%s: truncated: the file ends inside the header", name);
        header_len = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
                     (size_t)buf[11] << 24;
        start = 12;
    } else
        return nn_fail(err, errlen, "%s: unsupported .npy version %d.%d (this reader takes 1, 2 "
                       "and 3)", name, major, buf[7]);
    if (header_len > len - start)
        return nn_fail(err, errlen, "%s: truncated: the file ends inside the header", name);
    char descr[16] = {0};
    int fortran = 0;
    Scan s = {(const char *)buf + start, (const char *)buf + start + header_len};
    if (parse_dict(&s, a, descr, sizeof descr, &fortran))
        return nn_fail(err, errlen, "%s: malformed .npy header: expected {'descr': ..., "
                       "'fortran_order': ..., 'shape': (...)}", name);
    if (fortran)
        return nn_fail(err, errlen, "%s: the array is in Fortran order: save it in C order "
                       "(numpy.ascontiguousarray)", name);
    /* '<f4', '|u1': byte order, kind, size */
    char order = descr[0], kind = descr[1];
    int size = descr[2] >= '1' && descr[2] <= '8' && descr[3] == '\0' ? descr[2] - '0' : 0;
    int known = (kind == 'u' && size == 1) || (kind == 'i' && (size == 4 || size == 8)) ||
                (kind == 'f' && (size == 4 || size == 8));
    if (order == '>' && known)
        return nn_fail(err, errlen, "%s: dtype '%s' is big-endian: save it little-endian "
                       "(astype('%c%c%d'))", name, descr, '<', kind, size);
    if (!known || (size == 1 ? order != '|' && order != '<' : order != '<'))
        return nn_fail(err, errlen, "%s: dtype '%s' is not supported: expected uint8 ('|u1'), "
                       "int32 ('<i4'), int64 ('<i8'), float32 ('<f4') or float64 ('<f8')",
                       name, descr);
    a->kind = kind;
    a->size = size;
    uint64_t count = 1;
    for (int k = 0; k < a->n_dims; k++) {
        if (a->dims[k] && count > UINT64_MAX / a->dims[k])
            return nn_fail(err, errlen, "%s: corrupt: the shape's size overflows", name);
        count *= a->dims[k];
    }
    size_t data_len = len - start - header_len;
    if (count > data_len / (size_t)size || count * (size_t)size != data_len)
        return nn_fail(err, errlen, "%s: %s: the shape needs %llu bytes of data, the file has "
                       "%zu", name, count > data_len / (size_t)size ? "truncated" : "corrupt",
                       (unsigned long long)count * (unsigned long long)size, data_len);
    a->count = count;
    a->data = buf + start + header_len;
    return 0;
}

/* ---------------------------------------------------------------- arrays into a data set */

static uint64_t get_le(const unsigned char *p, int size) {
    uint64_t v = 0;
    for (int k = size - 1; k >= 0; k--)
        v = v << 8 | p[k];
    return v;
}

/* Element i as a double (the dtypes parse accepts) */
static double element(const nn_npy *a, uint64_t i) {
    const unsigned char *p = a->data + i * (uint64_t)a->size;
    uint64_t v = get_le(p, a->size);
    if (a->kind == 'u')
        return (double)v;
    if (a->kind == 'i')
        return a->size == 4 ? (double)(int32_t)(uint32_t)v : (double)(int64_t)v;
    if (a->size == 4) {
        float f;
        uint32_t w = (uint32_t)v;
        memcpy(&f, &w, sizeof f);
        return f;
    }
    double g;
    memcpy(&g, &v, sizeof g);
    return g;
}

static void shape_text(char *out, size_t cap, const nn_npy *a) {
    size_t n = (size_t)snprintf(out, cap, "(");
    for (int k = 0; k < a->n_dims && n < cap; k++)
        n += (size_t)snprintf(out + n, cap - n, "%s%llu", k ? ", " : "",
                              (unsigned long long)a->dims[k]);
    if (n < cap)
        snprintf(out + n, cap - n, "%s)", a->n_dims == 1 ? "," : "");
}

/* The features: (n, H, W), (n, H, W, C) or, for a flat input, any (n, ...)
 * of N values an example; uint8 stays bytes, the rest becomes floats */
static int take_features(nn_dataset *d, const nn_npy *x, const char *name,
                         const nn_data_spec *spec, char *err, size_t errlen) {
    char shape[256];
    shape_text(shape, sizeof shape, x);
    uint64_t in = (uint64_t)spec->in_h * (uint64_t)spec->in_w * (uint64_t)spec->in_c;
    if (x->n_dims < 2)
        return nn_fail(err, errlen, "%s: features of shape %s: expected one row per example, "
                       "(examples, ...)", name, shape);
    if (x->dims[0] == 0)
        return nn_fail(err, errlen, "%s: no examples", name);
    uint64_t row = x->count / x->dims[0];
    if (spec->in_h == 1 && spec->in_w == 1) {
        if (row != in)
            return nn_fail(err, errlen, "%s: features of shape %s are %llu values an example, "
                           "but the model's input has %llu", name, shape,
                           (unsigned long long)row, (unsigned long long)in);
    } else if (!(x->dims[1] == (uint64_t)spec->in_h && x->n_dims >= 3 &&
                 x->dims[2] == (uint64_t)spec->in_w &&
                 ((x->n_dims == 3 && spec->in_c == 1) ||
                  (x->n_dims == 4 && x->dims[3] == (uint64_t)spec->in_c))))
        return nn_fail(err, errlen, "%s: features of shape %s do not fit the model's input "
                       "%dx%dx%d", name, shape, spec->in_h, spec->in_w, spec->in_c);
    size_t n = (size_t)x->dims[0];
    d->in_size = (int)in;
    if (x->kind == 'u') {
        if (!(d->pixels = malloc(x->count)))
            return nn_fail(err, errlen, "%s: out of memory for %llu pixels", name,
                           (unsigned long long)x->count);
        memcpy(d->pixels, x->data, x->count);
    } else {
        if (!(d->values = malloc(x->count * sizeof(float))))
            return nn_fail(err, errlen, "%s: out of memory for %llu values", name,
                           (unsigned long long)x->count);
        for (uint64_t i = 0; i < x->count; i++) {
            double v = element(x, i);
            if (!(fabs(v) <= FLT_MAX))
                return nn_fail(err, errlen, "%s: value %llu of example %llu is not a finite "
                               "float", name, (unsigned long long)(i % in + 1),
                               (unsigned long long)(i / in + 1));
            d->values[i] = (float)v;
        }
    }
    d->n = n;
    return 0;
}

/* The labels (n,) of integers 0..out_size-1, or targets (n,) or (n, T) */
static int take_labels(nn_dataset *d, const nn_npy *y, const char *name,
                       const nn_data_spec *spec, int regression, char *err, size_t errlen) {
    char shape[256];
    shape_text(shape, sizeof shape, y);
    if (y->n_dims < 1 || y->dims[0] != d->n)
        return nn_fail(err, errlen, "%s: %s of shape %s for %zu examples", name,
                       regression || y->kind == 'f' ? "targets" : "labels", shape, d->n);
    if (regression || y->kind == 'f') {
        uint64_t t = d->n ? y->count / d->n : 0;
        if (y->n_dims > 2 || t != (uint64_t)spec->out_size)
            return nn_fail(err, errlen, "%s: targets of shape %s, but the model has %d outputs",
                           name, shape, spec->out_size);
        if (!(d->targets = malloc(y->count * sizeof(float))))
            return nn_fail(err, errlen, "%s: out of memory for the targets", name);
        for (uint64_t i = 0; i < y->count; i++) {
            double v = element(y, i);
            if (!(fabs(v) <= FLT_MAX))
                return nn_fail(err, errlen, "%s: target %llu is not a finite float", name,
                               (unsigned long long)i + 1);
            d->targets[i] = (float)v;
        }
        d->n_targets = (int)t;
        return 0;
    }
    if (y->n_dims != 1)
        return nn_fail(err, errlen, "%s: labels of shape %s: expected one class index per "
                       "example, (%zu,)", name, shape, d->n);
    if (!(d->labels = malloc(d->n * sizeof *d->labels)))
        return nn_fail(err, errlen, "%s: out of memory for the labels", name);
    for (size_t i = 0; i < d->n; i++) {
        double v = element(y, i);
        if (v < 0 || v >= spec->out_size)
            return nn_fail(err, errlen, "%s: label %.0f of example %zu is out of range for %d "
                           "classes (0..%d)", name, v, i + 1, spec->out_size, spec->out_size - 1);
        d->labels[i] = (int)v;
    }
    return 0;
}

/* x and y (y may be NULL) as parsed arrays, into d */
static int take_arrays(nn_dataset *d, const nn_npy *x, const char *x_name, const nn_npy *y,
                       const char *y_name, const nn_data_spec *spec, int regression, char *err,
                       size_t errlen) {
    if (take_features(d, x, x_name, spec, err, errlen) ||
        (y && take_labels(d, y, y_name, spec, regression, err, errlen)))
        return -1;
    /* --limit: the first examples only (the rest is checked all the same) */
    if (d->n > spec->limit)
        d->n = spec->limit;
    return 0;
}

/* The largest .npy file read into memory: 16 GiB */
#define NPY_MAX_FILE ((size_t)1 << 34)

int nn_data_load_npy(nn_dataset *d, const char *x_path, const char *y_path,
                     const nn_data_spec *spec, int regression, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    unsigned char *xb = NULL, *yb = NULL;
    size_t xl = 0, yl = 0;
    nn_npy x, y;
    int rc = nn_read_file(x_path, NPY_MAX_FILE, &xb, &xl, err, errlen) ||
             nn_npy_parse(&x, x_path, xb, xl, err, errlen) ||
             (y_path && (nn_read_file(y_path, NPY_MAX_FILE, &yb, &yl, err, errlen) ||
                         nn_npy_parse(&y, y_path, yb, yl, err, errlen))) ||
             take_arrays(d, &x, x_path, y_path ? &y : NULL, y_path, spec, regression, err,
                         errlen);
    free(xb);
    free(yb);
    if (rc) {
        nn_data_free(d);
        return -1;
    }
    return 0;
}

int nn_data_load_npz(nn_dataset *d, const char *path, const char *role, int fallback,
                     const nn_data_spec *spec, int regression, unsigned want, char *err,
                     size_t errlen) {
    memset(d, 0, sizeof *d);
    unsigned char *zip = NULL, *xb = NULL, *yb = NULL;
    size_t zl = 0, xl = 0, yl = 0;
    char x_name[32], y_name[32] = "", x_msg[NN_PATH_LEN + 40], y_msg[NN_PATH_LEN + 40];
    nn_npy x, y;
    if (nn_read_file(path, NPY_MAX_FILE, &zip, &zl, err, errlen))
        return -1;
    /* x_ROLE.npy, else x.npy; then the y of the same name */
    snprintf(x_name, sizeof x_name, "x_%s.npy", role);
    int rc = nn_zip_read(path, zip, zl, x_name, &xb, &xl, err, errlen);
    if (rc == 1 && fallback) {
        snprintf(x_name, sizeof x_name, "x.npy");
        rc = nn_zip_read(path, zip, zl, x_name, &xb, &xl, err, errlen);
    }
    if (rc == 0) {
        snprintf(y_name, sizeof y_name, "y%s", x_name + 1);
        rc = nn_zip_read(path, zip, zl, y_name, &yb, &yl, err, errlen);
        if (rc == 1 && (want & NN_LABELS_OPTIONAL))
            rc = 0;
        else if (rc == 1)
            rc = nn_fail(err, errlen, "%s: has %s but no %s", path, x_name, y_name);
    } else if (rc == 1) {
        free(zip);
        return 1;
    }
    snprintf(x_msg, sizeof x_msg, "%s: %s", path, x_name);
    snprintf(y_msg, sizeof y_msg, "%s: %s", path, y_name);
    if (rc == 0)
        rc = nn_npy_parse(&x, x_msg, xb, xl, err, errlen) ||
             (yb && nn_npy_parse(&y, y_msg, yb, yl, err, errlen)) ||
             take_arrays(d, &x, x_msg, yb ? &y : NULL, y_msg, spec, regression, err, errlen);
    free(zip);
    free(xb);
    free(yb);
    if (rc) {
        nn_data_free(d);
        return -1;
    }
    return 0;
}
