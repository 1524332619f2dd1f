/* loaded.h: the loaders' contract, as the data harnesses check it: a whole
 * data set that fits the spec (features as pixels or values; class labels
 * in range, or targets), or none and a one-line message that begins with
 * the name of one of the files. abort() is the fuzzer's finding. */
#ifndef FUZZ_LOADED_H
#define FUZZ_LOADED_H

#include <stdlib.h>
#include <string.h>

#include "data.h"

static int names_file(const char *err, const char *path) {
    return path && strncmp(err, path, strlen(path)) == 0;
}

static void check_loaded(int rc, nn_dataset *d, const nn_data_spec *spec, const char *err,
                         const char *path, const char *other_path) {
    if (rc == 0) {
        if (d->n == 0 || d->n > spec->limit || d->in_size != spec->in_h * spec->in_w * spec->in_c ||
            !d->pixels == !d->values || (d->labels && d->targets) ||
            (d->targets && d->n_targets != spec->out_size))
            abort();
        for (size_t i = 0; d->labels && i < d->n; i++)
            if (d->labels[i] < 0 || d->labels[i] >= spec->out_size)
                abort();
    } else if (rc != -1 || d->pixels || d->values || d->labels || d->targets ||
               strchr(err, '\n') ||
               !(names_file(err, path) || names_file(err, other_path))) {
        abort();
    }
    nn_data_free(d);
}

#endif
