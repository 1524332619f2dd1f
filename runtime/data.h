/* data.h: data sets for the trainer, internal to libnnrt: the sets of a
 * command (data.c), the readers of each format (data_idx.c, data_csv.c,
 * data_npy.c, data_zip.c) and the meta a checkpoint keeps (data_meta.c).
 *
 * A byte source keeps its pixels as the bytes the files hold (0..255), one
 * row of in_size bytes per example: a quarter of the memory floats would
 * take. nn_data_batch converts only the batch in use to floats x/255.
 * Loaders never exit: they return -1 and write one line naming the file and
 * what is wrong into the caller's err buffer, so nn_main decides how to
 * report it and tests can check the text. docs/trainer.md lists the rules
 * and every message.
 */
#ifndef NNRT_DATA_H
#define NNRT_DATA_H

#include <stddef.h>
#include <stdint.h>

#define NN_DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

/* One set of examples. Features come either as bytes (IDX files, uint8
 * arrays, the CSV of an image model: the Fashion-MNIST layout), scaled
 * x/255 batch by batch, or as floats used as they are (after
 * --standardize, if asked, which turns bytes into floats p/255 first).
 * Targets are either class labels or regression values. */
typedef struct {
    uint8_t *pixels; /* (n, in_size) bytes 0..255, or NULL when values holds the features */
    float *values;   /* (n, in_size) floats, or NULL */
    int *labels;     /* (n), each 0 .. out_size-1, or NULL: regression, or none (predict) */
    float *targets;  /* (n, n_targets) regression targets, or NULL */
    int n_targets;
    size_t n;        /* examples */
    int in_size;     /* features per example */
    int view;        /* 1: the arrays point into another set's (a split of the same rows);
                      * free leaves them, so close the whole nn_data */
} nn_dataset;

/* What a trained model keeps of its training data (in the checkpoint), so
 * that eval, predict and deploy read and scale new data the same way */
typedef struct {
    int n_classes;       /* class names given: their count, else 0 (integer labels) */
    char **class_names;  /* (n_classes), sorted: index i is class i */
    char *label_name;    /* the label column's name in a CSV with a header, or NULL */
    int n_targets;       /* regression: the outputs, else 0 */
    char **target_names; /* (n_targets), or NULL */
    int n_features;      /* --standardize: in_size, else 0 */
    float *mean, *std;   /* (n_features): x' = (x - mean) / std; std 1 for constant columns;
                          * x is the value the model would see without it (pixels: p/255) */
} nn_data_meta;

/* Frees what the meta owns and zeroes it */
void nn_data_meta_free(nn_data_meta *m);
/* *dst = a deep copy of src; -1 when out of memory */
int nn_data_meta_copy(nn_data_meta *dst, const nn_data_meta *src);
/* The meta as bytes (a checkpoint section, docs/trainer.md "Data meta"):
 * *buf is malloc'ed, *len its size; -1 when out of memory */
int nn_data_meta_encode(const nn_data_meta *m, unsigned char **buf, size_t *len);
/* The inverse, every length checked against len before it is used; -1 with
 * one line in err ("data meta: ...") on anything malformed, m zeroed */
int nn_data_meta_decode(nn_data_meta *m, const unsigned char *buf, size_t len, char *err,
                        size_t errlen);

/* The trainer's data options, as given on the command line (docs/trainer.md) */
typedef struct {
    const char *dir;              /* --data PATH: a directory as today, or one file;
                                   * NULL: NN_DEFAULT_DATA */
    const char *train, *test, *val; /* --train, --test, --val SRC; NULL: not given. SRC is a
                                   * directory, a CSV, an .npz, or X,Y: features and labels
                                   * in two files (.npy or IDX; X alone for predict) */
    const char *header;           /* --header yes|no|auto; NULL: auto */
    const char *delimiter;        /* --delimiter , ; or tab; NULL: auto-detected */
    const char *label;            /* --label COL; NULL: the default rule */
    const char *target;           /* --target COL[,COL...]; NULL: classification */
    double test_split;            /* --test-split F, 0 < F < 1; 0: none */
    double val_split;             /* --val-split F, 0 < F < 1; 0: none */
    int standardize;              /* --standardize */
    uint64_t seed;                /* --seed: draws the --test-split rows */
} nn_data_options;

/* The sets one command works on */
typedef struct {
    nn_dataset train, val, test; /* n == 0: not wanted, or none */
    nn_data_meta meta;           /* derived from the training data, or the checkpoint's */
} nn_data;

enum {
    NN_WANT_TRAIN = 1,      /* train: the training set (and val, if asked) */
    NN_WANT_TEST = 2,       /* the test set */
    NN_LABELS_OPTIONAL = 4, /* predict: the file may lack the label column */
};

typedef enum { NN_TRAIN, NN_TEST } nn_split;

/* What the model expects of the data, and how much of it to keep */
typedef struct {
    int in_h, in_w, in_c; /* the model's input shape (1x1xN: a flat input of N values) */
    int out_size;         /* classes: labels must be 0 .. out_size-1 */
    size_t limit;         /* keep the first `limit` examples only (SIZE_MAX: all) */
} nn_data_spec;

/* Opens the sets `want` asks for, from o; spec->limit keeps the first N
 * training examples (after the --test-split draw, before the validation
 * split); the test and validation sets are whole. saved: the meta of the
 * checkpoint in use (eval, predict, resume), or NULL: derive it from the
 * training data; either way d->meta holds it after. With
 * NN_LABELS_OPTIONAL a set may come without labels (labels and targets
 * NULL). 0 on success; -1 with one line in err naming the file and what is
 * wrong with it, and nothing left open. */
int nn_data_open(nn_data *d, const nn_data_options *o, const nn_data_spec *spec, unsigned want,
                 const nn_data_meta *saved, char *err, size_t errlen);
void nn_data_close(nn_data *d);

/* Loads one split of the data set in dir, which holds either the IDX files
 * (train|t10k)-(images-idx3|labels-idx1)-ubyte, each plain or .gz, or
 * train.csv and test.csv. 0 on success; -1 with a message in err. */
int nn_data_load(nn_dataset *d, const char *dir, nn_split split, const nn_data_spec *spec,
                 char *err, size_t errlen);
/* The two IDX files of one split (each may be gzip-compressed). */
int nn_data_load_idx(nn_dataset *d, const char *images_path, const char *labels_path,
                     const nn_data_spec *spec, char *err, size_t errlen);
/* A CSV file read with the options' header, delimiter, label and target
 * rules. saved: the label mapping to follow (a checkpoint's, or the
 * training file's for its test file), or NULL: derive it into *meta (class
 * names, label and target names; meta may be NULL to drop it). want:
 * NN_LABELS_OPTIONAL or 0. */
int nn_data_load_csv(nn_dataset *d, const char *path, const nn_data_options *o,
                     const nn_data_spec *spec, unsigned want, const nn_data_meta *saved,
                     nn_data_meta *meta, char *err, size_t errlen);
/* Features X and labels Y (NULL: none, for predict) as .npy files.
 * regression: Y holds targets even if it is an integer array. */
int nn_data_load_npy(nn_dataset *d, const char *x_path, const char *y_path,
                     const nn_data_spec *spec, int regression, char *err, size_t errlen);
/* The members x_ROLE.npy and y_ROLE.npy of an .npz, or with fallback, if
 * there is no x_ROLE.npy, x.npy and y.npy (y is optional with
 * NN_LABELS_OPTIONAL). 1: no such member (no such set), 0: loaded, -1: an
 * error. */
int nn_data_load_npz(nn_dataset *d, const char *path, const char *role, int fallback,
                     const nn_data_spec *spec, int regression, unsigned want, char *err,
                     size_t errlen);
void nn_data_free(nn_dataset *d);

#define NN_NPY_MAX_DIMS 8
/* A parsed .npy array (data_npy.c), pointing into the caller's bytes */
typedef struct {
    char kind;          /* 'u' unsigned, 'i' signed, 'f' float */
    int size;           /* bytes per element: 1, 4 or 8 */
    int n_dims;         /* 0..NN_NPY_MAX_DIMS */
    uint64_t dims[NN_NPY_MAX_DIMS]; /* the shape */
    uint64_t count;     /* elements: the product of dims */
    const unsigned char *data; /* count * size bytes, little-endian */
} nn_npy;
/* Parses the .npy bytes buf[0..len) named `name` in messages; the data
 * must fill the rest of buf exactly */
int nn_npy_parse(nn_npy *a, const char *name, const unsigned char *buf, size_t len, char *err,
                 size_t errlen);

/* A member of a zip archive (data_zip.c), stored or deflated, CRC checked:
 * *out malloc'ed. 1: no such member, 0: read, -1: an error */
int nn_zip_read(const char *path, const unsigned char *zip, size_t zip_len, const char *member,
                unsigned char **out, size_t *out_len, char *err, size_t errlen);
/* A whole file into memory (at most max bytes): *buf malloc'ed */
int nn_read_file(const char *path, size_t max, unsigned char **buf, size_t *len, char *err,
                 size_t errlen);

/* x(B,in_size), labels(B) and targets(B,n_targets) of examples
 * idx[first .. first+B) (or first .. first+B when idx is NULL: evaluation
 * order); labels or targets may be NULL when the set has none */
void nn_data_batch(float *x, int *labels, float *targets, const nn_dataset *d, const size_t *idx,
                   size_t first, int B);

#endif
