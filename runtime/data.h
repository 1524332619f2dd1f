/* data.h: data sets for the trainer (data.c), internal to libnnrt.
 *
 * A data set keeps its pixels as the bytes the files hold (0..255), one
 * row of in_size bytes per example: a quarter of the memory floats would
 * take. nn_data_batch converts only the batch in use to floats x/255.
 * Loaders never exit: they return -1 and write one line naming the file and
 * what is wrong into the caller's err buffer, so nn_main decides how to
 * report it and tests can check the text.
 */
#ifndef NNRT_DATA_H
#define NNRT_DATA_H

#include <stddef.h>
#include <stdint.h>

#define NN_DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

typedef struct {
    uint8_t *pixels; /* (n, in_size) bytes, 0..255 */
    int *labels;     /* (n), each 0 .. out_size-1 */
    size_t n;        /* examples */
    int in_size;     /* bytes per example */
} nn_dataset;

typedef enum { NN_TRAIN, NN_TEST } nn_split;

/* What the model expects of the data, and how much of it to keep */
typedef struct {
    int in_h, in_w, in_c; /* the model's input shape (1x1xN: a flat input of N values) */
    int out_size;         /* classes: labels must be 0 .. out_size-1 */
    size_t limit;         /* keep the first `limit` examples only (SIZE_MAX: all) */
} nn_data_spec;

/* Loads one split of the data set in dir, which holds either the IDX files
 * (train|t10k)-(images-idx3|labels-idx1)-ubyte, each plain or .gz, or
 * train.csv and test.csv. 0 on success; -1 with a message in err. */
int nn_data_load(nn_dataset *d, const char *dir, nn_split split, const nn_data_spec *spec,
                 char *err, size_t errlen);
/* The two IDX files of one split (each may be gzip-compressed). */
int nn_data_load_idx(nn_dataset *d, const char *images_path, const char *labels_path,
                     const nn_data_spec *spec, char *err, size_t errlen);
/* A CSV file: a label then in_size pixel values per line; a first line that
 * is not numeric is a header and is skipped. */
int nn_data_load_csv(nn_dataset *d, const char *path, const nn_data_spec *spec, char *err,
                     size_t errlen);
void nn_data_free(nn_dataset *d);

/* x(B,in_size) = pixels / 255 and labels(B) of examples idx[first .. first+B)
 * (or first .. first+B when idx is NULL: evaluation order). */
void nn_data_batch(float *x, int *labels, const nn_dataset *d, const size_t *idx, size_t first,
                   int B);

#endif
