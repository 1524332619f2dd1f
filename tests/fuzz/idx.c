/* idx.c: fuzzes the IDX loader (nn_data_load_idx in runtime/data.c) on an
 * images file and a labels file cut from one input, plain or gzipped.
 *
 * Input: byte 0 picks the model and the files' form (see `flags`), bytes
 * 1-2 the length of the images part (big-endian), then the images part,
 * then the labels part. A part the flags say to compress is gzipped here,
 * so the fuzzer reaches the header and count checks behind a valid gzip
 * stream; a part written as it is (a gzip file in the corpus) exercises
 * the inflate loop's own error paths.
 */
#include "data.h"
#include "loaded.h"
#include "tmpdir.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

enum {
    SHAPE = 3,       /* bits 0-1: the model's input, one of shapes[] */
    LIMIT = 1 << 2,  /* --limit 2 */
    GZ_IMAGES = 1 << 3,
    GZ_LABELS = 1 << 4,
    TEN = 1 << 5,    /* 10 classes instead of 3 */
};

static const int shapes[4][3] = {{2, 2, 1}, {1, 1, 4}, {3, 2, 1}, {2, 2, 3}};

static char images[64], labels[64];

/* The two files live in one directory made on the first call */
static void make_paths(void) {
    const char *dir = fuzz_dir("idx");
    snprintf(images, sizeof images, "%s/images", dir);
    snprintf(labels, sizeof labels, "%s/labels", dir);
}

static void write_part(const char *path, const uint8_t *data, size_t n, int gz) {
    if (gz) {
        gzFile g = gzopen(path, "wb1");
        if (!g || (n && gzwrite(g, data, (unsigned)n) != (int)n) || gzclose(g) != Z_OK)
            abort();
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3)
        return 0;
    if (!images[0])
        make_paths();
    int flags = data[0];
    size_t split = (size_t)data[1] << 8 | data[2];
    data += 3, size -= 3;
    split = split < size ? split : size;
    write_part(images, data, split, flags & GZ_IMAGES);
    write_part(labels, data + split, size - split, flags & GZ_LABELS);

    const int *s = shapes[flags & SHAPE];
    nn_data_spec spec = {s[0], s[1], s[2], flags & TEN ? 10 : 3, flags & LIMIT ? 2 : SIZE_MAX};
    nn_dataset d;
    char err[1024] = "";
    int rc = nn_data_load_idx(&d, images, labels, &spec, err, sizeof err);
    if (rc == 0 && (!d.pixels || !d.labels))
        abort();
    check_loaded(rc, &d, &spec, err, images, labels);
    return 0;
}
