/* csv.c: fuzzes the CSV loader (nn_data_load_csv in runtime/data.c).
 *
 * Input: byte 0 picks the model (see `flags`), the rest is the file.
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
    SHAPE = 3,      /* bits 0-1: the model's input, one of shapes[] */
    LIMIT = 1 << 2, /* --limit 2 */
    TEN = 1 << 3,   /* 10 classes instead of 3 */
};

static const int shapes[4][3] = {{2, 2, 1}, {1, 1, 4}, {1, 1, 1}, {2, 2, 3}};

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    if (!path[0])
        snprintf(path, sizeof path, "%s/train.csv", fuzz_dir("csv"));
    int flags = data[0];
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f))
        abort();

    const int *s = shapes[flags & SHAPE];
    nn_data_spec spec = {s[0], s[1], s[2], flags & TEN ? 10 : 3, flags & LIMIT ? 2 : SIZE_MAX};
    nn_dataset d;
    char err[1024] = "";
    int rc = nn_data_load_csv(&d, path, &spec, err, sizeof err);
    check_loaded(rc, &d, &spec, err, path, NULL);
    return 0;
}
