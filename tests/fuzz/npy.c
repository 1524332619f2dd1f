/* npy.c: fuzzes the NumPy readers (runtime/data_npy.c, data_zip.c): an
 * .npz archive, or two .npy files (features, labels) cut from one input.
 *
 * Input: byte 0 picks the model and the form (see `flags`), bytes 1-2 the
 * length of the features part (big-endian; .npy pairs only), then the
 * file (.npz) or the two parts.
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
    SHAPE = 3,           /* bits 0-1: the model's input, one of shapes[] */
    LIMIT = 1 << 2,      /* --limit 2 */
    TEN = 1 << 3,        /* 10 classes (or outputs) instead of 3 */
    NPZ = 1 << 4,        /* the input is an .npz, else two .npy files */
    REGRESSION = 1 << 5, /* labels are targets whatever their dtype */
    OPTIONAL = 1 << 6,   /* predict: the labels may be missing */
    ROLE_TEST = 1 << 7,  /* the npz's test set */
};

static const int shapes[4][3] = {{2, 2, 1}, {1, 1, 4}, {1, 1, 1}, {2, 2, 3}};

static char x_path[64], y_path[64], z_path[64];

static void write_part(const char *path, const uint8_t *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3)
        return 0;
    if (!x_path[0]) {
        const char *dir = fuzz_dir("npy");
        snprintf(x_path, sizeof x_path, "%s/x.npy", dir);
        snprintf(y_path, sizeof y_path, "%s/y.npy", dir);
        snprintf(z_path, sizeof z_path, "%s/d.npz", dir);
    }
    int flags = data[0];
    size_t split = (size_t)data[1] << 8 | data[2];
    data += 3, size -= 3;
    split = split < size ? split : size;

    const int *s = shapes[flags & SHAPE];
    nn_data_spec spec = {s[0], s[1], s[2], flags & TEN ? 10 : 3, flags & LIMIT ? 2 : SIZE_MAX};
    nn_dataset d;
    char err[1024] = "";
    int rc;
    if (flags & NPZ) {
        write_part(z_path, data, size);
        rc = nn_data_load_npz(&d, z_path, flags & ROLE_TEST ? "test" : "train", 1, &spec,
                              flags & REGRESSION, flags & OPTIONAL ? NN_LABELS_OPTIONAL : 0, err,
                              sizeof err);
        if (rc == 1) { /* no such member: nothing loaded, the caller says it */
            if (d.n || d.pixels || d.values || d.labels || d.targets)
                abort();
            return 0;
        }
        check_loaded(rc, &d, &spec, err, z_path, NULL);
    } else {
        write_part(x_path, data, split);
        write_part(y_path, data + split, size - split);
        rc = nn_data_load_npy(&d, x_path, flags & OPTIONAL ? NULL : y_path, &spec,
                              flags & REGRESSION, err, sizeof err);
        if (rc == 0 && !(flags & OPTIONAL) && !d.labels == !d.targets)
            abort();
        check_loaded(rc, &d, &spec, err, x_path, y_path);
    }
    return 0;
}
