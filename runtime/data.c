/* data.c: the sets of a command. nn_data_open reads --data, --train,
 * --test and --val (a directory, or files whose format the name and the
 * content agree on), holds out --test-split and --val-split, applies
 * --standardize, and turns batches into floats. The format readers are
 * data_idx.c, data_csv.c and data_npy.c (with data_zip.c); data.h is the
 * contract, docs/trainer.md ("Data") the rules and every message.
 */
#include "data.h"
#include "fail.h"
#include "nnrt.h"
#include "simd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The stream of nn_hash2(seed, .) that draws the --test-split rows: the
 * trainer's epoch order and dropout use 1 and 2 (train.c) */
#define STREAM_TEST_SPLIT 3

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* out = dir/name, or dir/name.gz if only that exists; 0 if neither does */
static int find_file(char *out, const char *dir, const char *name) {
    snprintf(out, NN_PATH_LEN, "%s/%s", dir, name);
    if (is_file(out))
        return 1;
    snprintf(out, NN_PATH_LEN, "%s/%s.gz", dir, name);
    return is_file(out);
}

int nn_read_file(const char *path, size_t max, unsigned char **buf, size_t *len, char *err,
                 size_t errlen) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fileno(f), &st) != 0)
        rc = nn_fail(err, errlen, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = nn_fail(err, errlen, "%s: not a regular file", path);
    else if ((unsigned long long)st.st_size > max)
        rc = nn_fail(err, errlen, "%s: %lld bytes: larger than the %zu this reader takes", path,
                     (long long)st.st_size, max);
    else if (!(*buf = malloc(st.st_size ? (size_t)st.st_size : 1)))
        rc = nn_fail(err, errlen, "%s: out of memory for %lld bytes", path,
                     (long long)st.st_size);
    else if (fread(*buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        rc = nn_fail(err, errlen, "%s: read error: %s", path,
                     ferror(f) ? strerror(errno) : "the file shrank");
    fclose(f);
    if (rc) {
        free(*buf);
        *buf = NULL;
        return -1;
    }
    *len = (size_t)st.st_size;
    return 0;
}

/* ---------------------------------------------------------------- formats */

typedef enum { KIND_NONE, KIND_TEXT, KIND_NPY, KIND_NPZ, KIND_IDX, KIND_GZIP } Kind;

static const char *const kind_names[] = {"nothing (an empty file)", "text", "a NumPy .npy array",
                                         "a NumPy .npz archive", "an IDX file", "gzip data"};

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

/* What the name says: .csv, .tsv and .txt are CSV; .npy, .npz; a name
 * ending -ubyte or .idx, each maybe .gz, is IDX. KIND_NONE: none of them. */
static Kind kind_of_name(const char *path) {
    char base[NN_PATH_LEN];
    snprintf(base, sizeof base, "%s", path);
    if (ends_with(base, ".gz"))
        base[strlen(base) - 3] = '\0';
    if (ends_with(base, "-ubyte") || ends_with(base, ".idx"))
        return KIND_IDX;
    if (ends_with(path, ".csv") || ends_with(path, ".tsv") || ends_with(path, ".txt"))
        return KIND_TEXT;
    if (ends_with(path, ".npy"))
        return KIND_NPY;
    if (ends_with(path, ".npz"))
        return KIND_NPZ;
    return KIND_NONE;
}

/* What the first bytes say */
static int kind_of_content(const char *path, Kind *kind, char *err, size_t errlen) {
    unsigned char b[6];
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    if (n == 0)
        *kind = KIND_NONE;
    else if (n == 6 && memcmp(b, "\x93NUMPY", 6) == 0)
        *kind = KIND_NPY;
    else if (n >= 4 && b[0] == 'P' && b[1] == 'K' && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6)))
        *kind = KIND_NPZ;
    else if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        *kind = KIND_GZIP;
    else if (n >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 8)
        *kind = KIND_IDX;
    else
        *kind = KIND_TEXT;
    return 0;
}

/* The format of a data file, by its name and its content, which must agree */
static int file_kind(const char *path, Kind *kind, char *err, size_t errlen) {
    static const char *const said[] = {"", "a CSV file", "a NumPy .npy array",
                                       "a NumPy .npz archive", "an IDX file"};
    Kind by_name = kind_of_name(path), by_content = KIND_NONE;
    struct stat st;
    if (stat(path, &st) != 0) /* as a directory that is not there */
        return nn_fail(err, errlen, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return nn_fail(err, errlen, "%s: a directory, not a data file", path);
    if (!S_ISREG(st.st_mode))
        return nn_fail(err, errlen, "%s: not a regular file", path);
    if (by_name == KIND_NONE)
        return nn_fail(err, errlen, "%s: unknown data file type: expected .csv, .tsv, .txt, "
                       ".npy, .npz, or IDX (-ubyte or .idx, maybe .gz)", path);
    if (kind_of_content(path, &by_content, err, errlen))
        return -1;
    int agree = by_name == by_content || (by_name == KIND_IDX && by_content == KIND_GZIP) ||
                (by_name == KIND_TEXT && by_content == KIND_NONE);
    if (!agree)
        return nn_fail(err, errlen, "%s: named as %s, but it holds %s", path, said[by_name],
                       kind_names[by_content]);
    *kind = by_name;
    return 0;
}

/* ---------------------------------------------------------------- a directory */

/* The split of the data set in dir: IDX files or SPLIT.csv */
static int load_dir(nn_dataset *d, const char *dir, nn_split split, const nn_data_options *o,
                    const nn_data_spec *spec, unsigned want, const nn_data_meta *saved,
                    nn_data_meta *meta, char *err, size_t errlen) {
    static const char *const names[2][3] = {
        {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "train.csv"},
        {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "test.csv"},
    };
    const char *const *name = names[split];
    char images[NN_PATH_LEN], labels[NN_PATH_LEN], csv[NN_PATH_LEN];
    struct stat st;
    memset(d, 0, sizeof *d);
    if (strlen(dir) > NN_PATH_LEN - 64)
        return nn_fail(err, errlen, "%.64s...: data directory path too long", dir);
    if (stat(dir, &st) != 0)
        return nn_fail(err, errlen, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return nn_fail(err, errlen, "%s: not a directory", dir);
    int has_images = find_file(images, dir, name[0]);
    int has_labels = find_file(labels, dir, name[1]);
    snprintf(csv, sizeof csv, "%s/%s", dir, name[2]);
    if (has_images && has_labels)
        return nn_data_load_idx(d, images, labels, spec, err, errlen);
    if (is_file(csv))
        return nn_data_load_csv(d, csv, o, spec, want, saved, meta, err, errlen);
    if (has_images || has_labels)
        return nn_fail(err, errlen, "missing file %s/%s[.gz] (%s was found)", dir,
                       name[has_images ? 1 : 0], has_images ? images : labels);
    return nn_fail(err, errlen, "%s: no %s set: expected %s[.gz] and %s[.gz], or %s", dir,
                   split == NN_TRAIN ? "training" : "test", name[0], name[1], name[2]);
}

int nn_data_load(nn_dataset *d, const char *dir, nn_split split, const nn_data_spec *spec,
                 char *err, size_t errlen) {
    const nn_data_options defaults = {0};
    return load_dir(d, dir, split, &defaults, spec, 0, NULL, NULL, err, errlen);
}

void nn_data_free(nn_dataset *d) {
    if (!d->view) {
        free(d->pixels);
        free(d->values);
        free(d->labels);
        free(d->targets);
    }
    memset(d, 0, sizeof *d);
}

/* ---------------------------------------------------------------- one set */

/* How a set reads: the options, the model, the label mapping to follow */
typedef struct {
    const nn_data_options *o;
    const nn_data_spec *spec;
    unsigned want;              /* NN_LABELS_OPTIONAL */
    int regression;             /* labels are targets, whatever their type */
    const nn_data_meta *saved;  /* the mapping to follow, or NULL: derive it */
    nn_data_meta *meta;         /* where a derived mapping goes */
    int shared;                 /* the source gave the training set too: an .npz's x.npy
                                 * is that set, not this one */
} Reading;

/* The set `role` (train, test, val) of SOURCE: a directory (split), a
 * CSV, an .npz, or X,Y (two .npy or two IDX files; X alone for predict) */
static int load_set(nn_dataset *d, const char *source, nn_split split, const char *role,
                    const Reading *r, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    if (is_dir(source))
        return load_dir(d, source, split, r->o, r->spec, r->want, r->saved, r->meta, err,
                        errlen);
    char x[NN_PATH_LEN];
    const char *comma = strchr(source, ','), *y = comma ? comma + 1 : NULL;
    snprintf(x, sizeof x, "%.*s", comma ? (int)(comma - source) : (int)strlen(source), source);
    Kind kx, ky;
    if (file_kind(x, &kx, err, errlen) || (y && file_kind(y, &ky, err, errlen)))
        return -1;
    if (y && (kx != ky || (kx != KIND_NPY && kx != KIND_IDX)))
        return nn_fail(err, errlen, "%s: features and labels X,Y are two .npy files or two IDX "
                       "files", source);
    if (!y && (kx == KIND_NPY || kx == KIND_IDX) && !(r->want & NN_LABELS_OPTIONAL && kx == KIND_NPY))
        return nn_fail(err, errlen, "%s: the features need their labels: give the two files as "
                       "X,Y", source);
    switch (kx) {
    case KIND_TEXT:
        return nn_data_load_csv(d, x, r->o, r->spec, r->want, r->saved, r->meta, err, errlen);
    case KIND_NPY:
        return nn_data_load_npy(d, x, y, r->spec, r->regression, err, errlen);
    case KIND_IDX:
        return nn_data_load_idx(d, x, y, r->spec, err, errlen);
    default: {
        int rc = nn_data_load_npz(d, x, role, !r->shared, r->spec, r->regression, r->want, err,
                                  errlen);
        if (rc == 1)
            return nn_fail(err, errlen, "%s: no x_%s.npy%s in the archive", x, role,
                           r->shared ? "" : " (or x.npy)");
        return rc;
    }
    }
}

/* ---------------------------------------------------------------- splits */

/* Moves the rows marked in `held` behind the others, each part in its
 * order: the rows of `row` bytes in a (n rows) */
static int partition(void *a, size_t row, size_t n, const unsigned char *held, size_t k) {
    if (!a)
        return 0;
    unsigned char *base = a, *tmp = malloc(k * row);
    if (!tmp)
        return -1;
    size_t kept = 0, out = 0;
    for (size_t i = 0; i < n; i++)
        if (held[i])
            memcpy(tmp + out++ * row, base + i * row, row);
        else
            memmove(base + kept++ * row, base + i * row, row);
    memcpy(base + kept * row, tmp, k * row);
    free(tmp);
    return 0;
}

/* rows first .. first+n of d, as a view */
static nn_dataset view_of(const nn_dataset *d, size_t first, size_t n) {
    size_t in = (size_t)d->in_size, t = (size_t)d->n_targets;
    nn_dataset v = *d;
    v.pixels = d->pixels ? d->pixels + first * in : NULL;
    v.values = d->values ? d->values + first * in : NULL;
    v.labels = d->labels ? d->labels + first : NULL;
    v.targets = d->targets ? d->targets + first * t : NULL;
    v.n = n;
    v.view = 1;
    return v;
}

/* --test-split F: floor(F n) rows drawn by a Fisher-Yates shuffle of
 * 0..n-1 (as the epoch order's) with nn_rng seeded by nn_hash2(seed, 3);
 * the first k of the shuffled order are held out. Both parts keep the
 * file's order; the test rows move behind the training rows, a view. */
static int split_test(nn_data *d, double f, uint64_t seed, const char *source, char *err,
                      size_t errlen) {
    nn_dataset *t = &d->train;
    size_t n = t->n, k = (size_t)floor(f * (double)n);
    if (k == 0 || k == n)
        return nn_fail(err, errlen, "%s: --test-split %g holds out %zu of the %zu examples", source,
                       f, k, n);
    size_t *perm = malloc(n * sizeof *perm);
    unsigned char *held = calloc(n, 1);
    int rc = 0;
    if (!perm || !held)
        rc = nn_fail(err, errlen, "%s: out of memory for --test-split", source);
    if (rc == 0) {
        nn_rng r = nn_rng_seed(nn_hash2(seed, STREAM_TEST_SPLIT));
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)(nn_rng_next(&r) % (i + 1)), s = perm[i];
            perm[i] = perm[j];
            perm[j] = s;
        }
        for (size_t i = 0; i < k; i++)
            held[perm[i]] = 1;
        size_t in = (size_t)t->in_size, nt = (size_t)t->n_targets;
        if (partition(t->pixels, in, n, held, k) ||
            partition(t->values, in * sizeof(float), n, held, k) ||
            partition(t->labels, sizeof(int), n, held, k) ||
            partition(t->targets, nt * sizeof(float), n, held, k))
            rc = nn_fail(err, errlen, "%s: out of memory for --test-split", source);
    }
    free(perm);
    free(held);
    if (rc == 0) {
        d->test = view_of(t, n - k, k);
        t->n = n - k;
    }
    return rc;
}

/* --val-split F: the last floor(F n) training examples (Keras's
 * validation_split), a view */
static int split_val(nn_data *d, double f, const char *source, char *err, size_t errlen) {
    nn_dataset *t = &d->train;
    size_t k = (size_t)floor(f * (double)t->n);
    if (k == 0 || k == t->n)
        return nn_fail(err, errlen, "%s: --val-split %g holds out %zu of the %zu training "
                       "examples", source, f, k, t->n);
    d->val = view_of(t, t->n - k, k);
    t->n -= k;
    return 0;
}

/* ---------------------------------------------------------------- --standardize */

/* Pixels as the floats p/255 the model sees, so they can be standardized */
static int to_values(nn_dataset *d, const char *source, char *err, size_t errlen) {
    if (!d->pixels)
        return 0;
    size_t count = d->n * (size_t)d->in_size;
    float *v = malloc((count ? count : 1) * sizeof *v);
    if (!v)
        return nn_fail(err, errlen, "%s: out of memory for --standardize", source);
    for (size_t i = 0; i < count; i++)
        v[i] = d->pixels[i] / 255.0f;
    free(d->pixels);
    d->pixels = NULL;
    d->values = v;
    return 0;
}

/* The training rows' mean and standard deviation (ddof 0) per feature, in
 * double, rows in order; a constant feature gets std 1 */
static int compute_stats(nn_data_meta *m, const nn_dataset *d, const char *source, char *err,
                         size_t errlen) {
    size_t in = (size_t)d->in_size;
    double *sum = calloc(in, sizeof *sum), *sq = calloc(in, sizeof *sq);
    m->mean = malloc(in * sizeof *m->mean);
    m->std = malloc(in * sizeof *m->std);
    int rc = 0;
    if (!sum || !sq || !m->mean || !m->std)
        rc = nn_fail(err, errlen, "%s: out of memory for --standardize", source);
    for (size_t i = 0; rc == 0 && i < d->n; i++)
        for (size_t j = 0; j < in; j++)
            sum[j] += d->values[i * in + j];
    for (size_t j = 0; rc == 0 && j < in; j++)
        sum[j] /= (double)d->n;
    for (size_t i = 0; rc == 0 && i < d->n; i++)
        for (size_t j = 0; j < in; j++) {
            double e = d->values[i * in + j] - sum[j];
            sq[j] += e * e;
        }
    for (size_t j = 0; rc == 0 && j < in; j++) {
        double s = sqrt(sq[j] / (double)d->n);
        m->mean[j] = (float)sum[j];
        m->std[j] = s > 0 && (float)s > 0 ? (float)s : 1.0f;
    }
    m->n_features = rc == 0 ? (int)in : 0;
    free(sum);
    free(sq);
    return rc;
}

/* x' = (x - mean) / std, in float */
static void standardize(nn_dataset *d, const nn_data_meta *m) {
    size_t in = (size_t)d->in_size;
    for (size_t i = 0; i < d->n; i++)
        for (size_t j = 0; j < in; j++)
            d->values[i * in + j] = (d->values[i * in + j] - m->mean[j]) / m->std[j];
}

/* ---------------------------------------------------------------- the sets of a command */

/* A source that holds more than one set: a directory or an .npz */
static int has_sets(const char *source) {
    return is_dir(source) || (!strchr(source, ',') && ends_with(source, ".npz"));
}

static int open_sets(nn_data *d, const nn_data_options *o, const nn_data_spec *spec,
                     unsigned want, const nn_data_meta *saved, char *err, size_t errlen) {
    const char *dir = o->dir ? o->dir : NN_DEFAULT_DATA;
    nn_data_spec all = *spec;
    all.limit = SIZE_MAX;
    if (o->test_split < 0 || o->test_split >= 1 || o->val_split < 0 || o->val_split >= 1)
        return nn_fail(err, errlen, "--%s-split %g: expected a fraction, 0 < F < 1",
                       o->test_split < 0 || o->test_split >= 1 ? "test" : "val",
                       o->test_split < 0 || o->test_split >= 1 ? o->test_split : o->val_split);
    if (o->test && o->test_split > 0)
        return nn_fail(err, errlen, "%s: --test FILE and --test-split F exclude each other",
                       o->test);
    if (o->val && o->val_split > 0)
        return nn_fail(err, errlen, "%s: --val FILE and --val-split F exclude each other", o->val);
    /* a checkpoint's meta belongs to its model, whose sizes are checked:
     * only a meta made for another model disagrees */
    int in_size = spec->in_h * spec->in_w * spec->in_c;
    if (saved && saved->n_features && saved->n_features != in_size)
        return nn_fail(err, errlen, "the data meta has statistics of %d features, but the "
                       "model's input has %d values", saved->n_features, in_size);
    if (saved && (saved->n_classes || saved->n_targets) &&
        (saved->n_classes ? saved->n_classes : saved->n_targets) != spec->out_size)
        return nn_fail(err, errlen, "the data meta has %d %s, but the model has %d outputs",
                       saved->n_classes ? saved->n_classes : saved->n_targets,
                       saved->n_classes ? "classes" : "targets", spec->out_size);
    if (saved && nn_data_meta_copy(&d->meta, saved))
        return nn_fail(err, errlen, "out of memory for the data meta");
    int stats = o->standardize || (saved && saved->n_features > 0);
    Reading r = {o, &all, want & NN_LABELS_OPTIONAL, o->target || (saved && saved->n_targets > 0),
                 saved, saved ? NULL : &d->meta, 0};
    if (want & NN_WANT_TRAIN) {
        const char *src = o->train ? o->train : dir;
        int hold_out = (want & NN_WANT_TEST) && o->test_split > 0;
        Reading tr = r;
        tr.spec = hold_out ? &all : spec; /* --limit after the held-out rows are drawn */
        if (load_set(&d->train, src, NN_TRAIN, "train", &tr, err, errlen) ||
            (stats && to_values(&d->train, src, err, errlen)))
            return -1;
        /* the other sets follow the training data's class names and kind */
        r.saved = &d->meta;
        r.meta = NULL;
        r.regression = r.regression || d->train.targets;
        if (!saved && d->train.targets)
            d->meta.n_targets = d->train.n_targets;
        if (hold_out) {
            if (split_test(d, o->test_split, o->seed, src, err, errlen))
                return -1;
            if (d->train.n > spec->limit)
                d->train.n = spec->limit;
        } else if (want & NN_WANT_TEST) {
            const char *test_src = o->test ? o->test : has_sets(src) ? src : NULL;
            if (!test_src)
                return nn_fail(err, errlen, "%s: no test set: give --test FILE or --test-split F",
                               src);
            Reading te = r;
            te.shared = !o->test;
            if (load_set(&d->test, test_src, NN_TEST, "test", &te, err, errlen) ||
                (stats && to_values(&d->test, test_src, err, errlen)))
                return -1;
        }
        if (o->val) {
            if (load_set(&d->val, o->val, NN_TEST, "val", &r, err, errlen) ||
                (stats && to_values(&d->val, o->val, err, errlen)))
                return -1;
        } else if (o->val_split > 0 && split_val(d, o->val_split, src, err, errlen))
            return -1;
    } else if (want & NN_WANT_TEST) {
        const char *src = o->test ? o->test : dir;
        if (load_set(&d->test, src, NN_TEST, "test", &r, err, errlen) ||
            (stats && to_values(&d->test, src, err, errlen)))
            return -1;
    }
    if (!stats)
        return 0;
    if (!saved || !saved->n_features) {
        if (!(want & NN_WANT_TRAIN))
            return nn_fail(err, errlen, "--standardize: no training statistics to apply (the "
                           "checkpoint was trained without --standardize)");
        if (compute_stats(&d->meta, &d->train, o->train ? o->train : dir, err, errlen))
            return -1;
    }
    nn_dataset *sets[3] = {&d->train, &d->val, &d->test};
    for (int k = 0; k < 3; k++)
        if (sets[k]->n)
            standardize(sets[k], &d->meta);
    return 0;
}

int nn_data_open(nn_data *d, const nn_data_options *o, const nn_data_spec *spec, unsigned want,
                 const nn_data_meta *saved, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    if (open_sets(d, o, spec, want, saved, err, errlen) == 0)
        return 0;
    nn_data_close(d);
    return -1;
}

void nn_data_close(nn_data *d) {
    nn_data_free(&d->train);
    nn_data_free(&d->val);
    nn_data_free(&d->test);
    nn_data_meta_free(&d->meta);
}

/* One example's pixels as floats: 16 conversions and divisions per
 * AVX-512 instruction (the division is exact at any width: the same
 * floats as the scalar loop) */
NN_BODY void to_floats_body(float *restrict row, const uint8_t *restrict px, size_t in) {
    for (size_t j = 0; j < in; j++)
        row[j] = px[j] / 255.0f; /* as torchvision's ToTensor: the same floats as PyTorch */
}
NN_VECTORIZED(to_floats,
              (float *restrict row, const uint8_t *restrict px, size_t in),
              (row, px, in))

typedef struct {
    float *x;
    int *labels;
    float *targets;
    const nn_dataset *d;
    const size_t *idx;
    size_t first;
    int B;
} Batch;

/* A share of the batch's examples: the rows are scattered over 47 MB of
 * pixels, so their cache misses overlap better on two cores than on one */
static void batch_part(void *ctx, int part, int parts) {
    const Batch *c = ctx;
    const size_t in = (size_t)c->d->in_size;
    size_t lo, hi;
    nn_part((size_t)c->B, part, parts, 1, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        size_t e = c->idx ? c->idx[c->first + b] : c->first + b;
        if (c->d->pixels)
            to_floats(c->x + b * in, c->d->pixels + e * in, in);
        else
            memcpy(c->x + b * in, c->d->values + e * in, in * sizeof(float));
        if (c->labels && c->d->labels)
            c->labels[b] = c->d->labels[e];
        if (c->targets && c->d->targets) {
            size_t t = (size_t)c->d->n_targets;
            memcpy(c->targets + b * t, c->d->targets + e * t, t * sizeof(float));
        }
    }
}

void nn_data_batch(float *x, int *labels, float *targets, const nn_dataset *d, const size_t *idx,
                   size_t first, int B) {
    Batch c = {x, labels, targets, d, idx, first, B};
    nn_parallel(batch_part, &c, (int)((size_t)B * (size_t)d->in_size / 16384) + 1);
}
