/* checkpoint.c: libFuzzer harness of the checkpoint loader
 * (runtime/checkpoint.c). Each input is written to a file and read as a
 * checkpoint of a small fixed model (the one of tests/unit/toy-v1.ckpt:
 * 6 parameters, 2 state values); an accepted one is copied out. Each is
 * tried twice: as it is, and with its last 4 bytes replaced by the CRC of
 * the others, so that mutations reach the checks behind the checksum. The
 * corpus starts from a version 1 and two version 2 files of that model.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "checkpoint.h"
#include "tmpdir.h"

static const nn_model_desc toy = {
    .name = "toy", .fingerprint = 0x0123456789abcdefull, .n_param = 6, .n_state = 2};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loads the n bytes of b as a checkpoint file at path */
static void try_load(const char *path, const uint8_t *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0)
        abort();
    nn_checkpoint c;
    char err[1024];
    float param[6], state[2], opt[12];
    if (nn_checkpoint_read(&c, path, &toy, err, sizeof err) == 0) {
        if (c.n_opt > sizeof opt / sizeof *opt)
            abort(); /* more optimizer state than the model can have got through */
        nn_checkpoint_copy(&c, &toy, param, state, opt);
        nn_checkpoint_free(&c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[128];
    if (!path[0])
        snprintf(path, sizeof path, "%s/input.ckpt", fuzz_dir("checkpoint"));
    try_load(path, data, size);
    if (size < 4)
        return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed)
        abort();
    memcpy(fixed, data, size);
    uLong crc = crc32(0, fixed, (uInt)(size - 4));
    for (int i = 0; i < 4; i++)
        fixed[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    try_load(path, fixed, size);
    free(fixed);
    return 0;
}
