/* csv.c: fuzzes the CSV reader (nn_data_load_csv in runtime/data_csv.c).
 *
 * Input: byte 0 picks the model and the options (see `flags`), byte 1 the
 * label column and mapping (see `more`), the rest is the file.
 */
#include "data.h"
#include "loaded.h"
#include "tmpdir.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    SHAPE = 3,         /* bits 0-1: the model's input, one of shapes[] */
    LIMIT = 1 << 2,    /* --limit 2 */
    TEN = 1 << 3,      /* 10 classes (or outputs) instead of 3 */
    HEADER = 3 << 4,   /* bits 4-5: --header auto, yes, no, or none given */
    TARGET = 1 << 6,   /* regression: --target 2 */
    OPTIONAL = 1 << 7, /* predict: NN_LABELS_OPTIONAL */
};

enum {
    LABEL_INDEX = 1,   /* --label 2 (or --target 2,3 with TARGET) */
    LABEL_NAME = 2,    /* --label label */
    SAVED = 4,         /* a checkpoint's class names a, b, c */
    SEMICOLON = 8,     /* --delimiter ';' */
};

static const int shapes[4][3] = {{2, 2, 1}, {1, 1, 4}, {1, 1, 1}, {2, 2, 3}};
static const char *const headers[4] = {"auto", "yes", "no", NULL};

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    if (!path[0])
        snprintf(path, sizeof path, "%s/train.csv", fuzz_dir("csv"));
    int flags = data[0], more = data[1];
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data + 2, 1, size - 2, f) != size - 2 || fclose(f))
        abort();

    const int *s = shapes[flags & SHAPE];
    int outputs = flags & TEN ? 10 : flags & TARGET && more & LABEL_INDEX ? 2 : 3;
    nn_data_spec spec = {s[0], s[1], s[2], outputs, flags & LIMIT ? 2 : SIZE_MAX};
    nn_data_options o = {.header = headers[(flags & HEADER) >> 4],
                         .delimiter = more & SEMICOLON ? ";" : NULL};
    if (flags & TARGET)
        o.target = more & LABEL_INDEX ? "2,3" : more & LABEL_NAME ? "label" : "1";
    else
        o.label = more & LABEL_INDEX ? "2" : more & LABEL_NAME ? "label" : NULL;
    char *names[3] = {"a", "b", "c"};
    nn_data_meta saved = {.n_classes = 3, .class_names = names};
    nn_data_meta meta = {0};
    nn_dataset d;
    char err[1024] = "";
    int rc = nn_data_load_csv(&d, path, &o, &spec, flags & OPTIONAL ? NN_LABELS_OPTIONAL : 0,
                              more & SAVED && !(flags & TARGET) ? &saved : NULL, &meta, err,
                              sizeof err);
    if (rc == 0 && !(flags & OPTIONAL) && !d.labels == !d.targets)
        abort();
    if (rc == 0 && meta.n_classes && meta.n_classes != outputs)
        abort();
    check_loaded(rc, &d, &spec, err, path, NULL);
    nn_data_meta_free(&meta);
    return 0;
}
