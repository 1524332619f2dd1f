/* test_checkpoint.c: runtime/checkpoint.c. A save + load round trip is
 * bit-exact and has the documented little-endian layout; each kind of bad
 * file gets its own message and leaves the caller's buffers alone; a save
 * that fails half-way leaves the previous checkpoint intact.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "checkpoint.h"

/* More floats than one conversion chunk (4096), to cross its boundary */
enum { N_PARAM = 10000, N_STATE = 3, HEADER = 8 + 4 + 4 + 3 + 4 * 8 };
#define FILE_SIZE (HEADER + 4 * (N_PARAM + N_STATE) + 4)

static const nn_model_desc toy = {
    .name = "toy", .fingerprint = 0x0123456789abcdefull, .n_param = N_PARAM, .n_state = N_STATE};

typedef struct {
    char dir[64];
    char path[128]; /* dir/toy.ckpt */
    char err[1024];
    float param[N_PARAM], state[N_STATE];   /* what was saved */
    float param2[N_PARAM], state2[N_STATE]; /* what is loaded */
} Fixture;

/* Values whose bits a text or double round trip would change */
static void fill_awkward(float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++)
        x[i] = scale * (float)sin((double)i) * powf(10.0f, (float)(i % 60) - 30.0f);
    x[0] = -0.0f;
    x[1] = 1e-45f; /* subnormal */
    x[2] = INFINITY;
    x[3] = 1.0f;
}

static int setup(void **state) {
    Fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/nnc-test-ckpt-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/toy.ckpt", f->dir);
    fill_awkward(f->param, N_PARAM, 1.0f);
    fill_awkward(f->state, N_STATE, -2.0f);
    *state = f;
    return 0;
}

/* Names of the files left in dir, space-separated */
static void list_dir(const char *dir, char *out, size_t len) {
    DIR *d = opendir(dir);
    out[0] = '\0';
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.')
            snprintf(out + strlen(out), len - strlen(out), "%s ", e->d_name);
    if (d)
        closedir(d);
}

static int teardown(void **state) {
    Fixture *f = *state;
    char names[1024], path[256];
    list_dir(f->dir, names, sizeof names);
    for (char *name = strtok(names, " "); name; name = strtok(NULL, " ")) {
        snprintf(path, sizeof path, "%s/%s", f->dir, name);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static int save(Fixture *f, const nn_model_desc *m) {
    return nn_checkpoint_save(f->path, m, f->param, f->state, 7, f->err, sizeof f->err);
}

static int load(Fixture *f, long *epochs) {
    return nn_checkpoint_load(f->path, &toy, f->param2, f->state2, epochs, f->err, sizeof f->err);
}

/* Overwrites one byte of the checkpoint at offset (negative: from the end) */
static void poke(const Fixture *f, long offset, int byte) {
    FILE *fp = fopen(f->path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, offset, offset < 0 ? SEEK_END : SEEK_SET), 0);
    fputc(byte, fp);
    assert_int_equal(fclose(fp), 0);
}

static int peek(const Fixture *f, long offset) {
    FILE *fp = fopen(f->path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, offset, SEEK_SET), 0);
    int c = fgetc(fp);
    fclose(fp);
    return c;
}

static void expect_load_error(Fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Loading fails with exactly this message and leaves param2/state2 alone */
static void expect_load_error(Fixture *f, const char *fmt, ...) {
    char want[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    long epochs = -1;
    memset(f->param2, 0x55, sizeof f->param2);
    assert_int_equal(load(f, &epochs), -1);
    assert_string_equal(f->err, want);
    assert_int_equal(epochs, -1);
    for (size_t i = 0; i < N_PARAM; i++)
        assert_int_equal(((unsigned char *)f->param2)[4 * i], 0x55);
}

/* ---------------------------------------------------------------- good files */

static void round_trip_is_bit_exact(void **state) {
    Fixture *f = *state;
    long epochs = 0;
    assert_int_equal(save(f, &toy), 0);
    assert_int_equal(load(f, &epochs), 0);
    assert_int_equal(epochs, 7);
    assert_memory_equal(f->param2, f->param, sizeof f->param);
    assert_memory_equal(f->state2, f->state, sizeof f->state);
}

static void layout_is_the_documented_one(void **state) {
    Fixture *f = *state;
    static const uint8_t header[HEADER] = {
        'N',  'N',  'C',  'C',  'K',  'P',  'T',  '\n', /* magic */
        1,    0,    0,    0,                            /* version */
        3,    0,    0,    0,    't',  'o',  'y',        /* name */
        0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, /* fingerprint */
        0x10, 0x27, 0,    0,    0,    0,    0,    0,    /* n_param = 10000 */
        3,    0,    0,    0,    0,    0,    0,    0,    /* n_state */
        7,    0,    0,    0,    0,    0,    0,    0,    /* epochs */
    };
    static const uint8_t one[4] = {0x00, 0x00, 0x80, 0x3f}; /* 1.0f, param[3] */
    uint8_t file[HEADER + 16];
    struct stat st;
    assert_int_equal(save(f, &toy), 0);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, FILE_SIZE);
    FILE *fp = fopen(f->path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(file, 1, sizeof file, fp), sizeof file);
    fclose(fp);
    assert_memory_equal(file, header, HEADER);
    assert_memory_equal(file + HEADER + 12, one, 4);
}

static void save_replaces_and_leaves_no_temporary(void **state) {
    Fixture *f = *state;
    char names[1024];
    long epochs;
    assert_int_equal(save(f, &toy), 0);
    f->param[5] = 42.0f;
    assert_int_equal(save(f, &toy), 0);
    list_dir(f->dir, names, sizeof names);
    assert_string_equal(names, "toy.ckpt ");
    assert_int_equal(load(f, &epochs), 0);
    assert_true(f->param2[5] == 42.0f);
}

/* tests/unit/toy-v1.ckpt was written by the version 1 code (commit 0b1319a)
 * for a model "toy" with the fingerprint above, 6 parameters and 2 state
 * values, after 3 epochs: files users already have must keep loading. */
static const nn_model_desc toy_v1 = {
    .name = "toy", .fingerprint = 0x0123456789abcdefull, .n_param = 6, .n_state = 2};

static void version_1_file_loads(void **state) {
    (void)state;
    static const float want_param[6] = {-0.0f, 1e-45f, 3.5f, 1.0f, -2.25f, 1e30f};
    static const float want_state[2] = {0.5f, 2.0f};
    float param[6], st[2];
    char err[1024];
    long epochs = 0;
    assert_int_equal(nn_checkpoint_load("tests/unit/toy-v1.ckpt", &toy_v1, param, st, &epochs, err,
                                        sizeof err),
                     0);
    assert_int_equal(epochs, 3);
    assert_memory_equal(param, want_param, sizeof param);
    assert_memory_equal(st, want_state, sizeof st);
}

/* ---------------------------------------------------------------- bad files */

static void foreign_model(void **state) {
    Fixture *f = *state;
    nn_model_desc other = toy;
    other.name = "other";
    assert_int_equal(save(f, &other), 0);
    expect_load_error(f, "%s: belongs to another model: 'other', not 'toy'", f->path);
}

static void changed_architecture(void **state) {
    Fixture *f = *state;
    nn_model_desc old = toy;
    old.fingerprint = 42;
    assert_int_equal(save(f, &old), 0);
    expect_load_error(f,
                      "%s: the architecture of 'toy' changed since this checkpoint was saved "
                      "(fingerprint 000000000000002a, 10000 parameters; now 0123456789abcdef, "
                      "10000 parameters)",
                      f->path);
}

static void flipped_byte(void **state) {
    Fixture *f = *state;
    assert_int_equal(save(f, &toy), 0);
    poke(f, HEADER + 4 * 5000, peek(f, HEADER + 4 * 5000) ^ 0x10);
    expect_load_error(f, "%s: checksum mismatch: the file is corrupt", f->path);
}

static void truncated(void **state) {
    Fixture *f = *state;
    assert_int_equal(save(f, &toy), 0);
    assert_int_equal(truncate(f->path, FILE_SIZE - 1), 0);
    expect_load_error(f, "%s: truncated: %d bytes, expected %d", f->path, FILE_SIZE - 1, FILE_SIZE);
    assert_int_equal(truncate(f->path, 20), 0);
    expect_load_error(f, "%s: truncated: the file ends inside the header", f->path);
}

static void data_after_the_checksum(void **state) {
    Fixture *f = *state;
    assert_int_equal(save(f, &toy), 0);
    poke(f, FILE_SIZE, 0);
    expect_load_error(f, "%s: corrupt: unexpected data after the checksum (1 bytes)", f->path);
}

static void wrong_magic(void **state) {
    Fixture *f = *state;
    assert_int_equal(save(f, &toy), 0);
    poke(f, 0, 'n');
    expect_load_error(f, "%s: not an nnc checkpoint (bad magic)", f->path);
}

static void unsupported_version(void **state) {
    Fixture *f = *state;
    assert_int_equal(save(f, &toy), 0);
    poke(f, 8, 2);
    expect_load_error(f, "%s: unsupported checkpoint version 2 (this trainer reads version 1)",
                      f->path);
}

static void missing_file(void **state) {
    Fixture *f = *state;
    expect_load_error(f, "%s: cannot open: No such file or directory", f->path);
}

/* ---------------------------------------------------------------- failed saves */

/* A write that fails half-way (here: the file size limit, as a full disk
 * would) must leave the old checkpoint as it was, and no temporary. */
static void failed_save_keeps_the_old_checkpoint(void **state) {
    Fixture *f = *state;
    struct rlimit saved, small;
    char names[1024];
    long epochs;
    assert_int_equal(save(f, &toy), 0);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small = saved;
    small.rlim_cur = 1000;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    f->param[5] = 42.0f;
    int rc = save(f, &toy);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(rc, -1);
    char want[256];
    snprintf(want, sizeof want, "%s: cannot write the checkpoint: File too large", f->path);
    assert_string_equal(f->err, want);
    list_dir(f->dir, names, sizeof names);
    assert_string_equal(names, "toy.ckpt ");
    assert_int_equal(load(f, &epochs), 0);
    assert_true(f->param2[5] != 42.0f);
    f->param[5] = f->param2[5];
    assert_memory_equal(f->param2, f->param, sizeof f->param);
}

static void save_into_a_missing_directory(void **state) {
    Fixture *f = *state;
    snprintf(f->path, sizeof f->path, "%s/no/toy.ckpt", f->dir);
    assert_int_equal(save(f, &toy), -1);
    char want[256];
    snprintf(want, sizeof want,
             "%s: cannot create a temporary file next to it: No such file or directory", f->path);
    assert_string_equal(f->err, want);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(round_trip_is_bit_exact),
        T(layout_is_the_documented_one),
        T(save_replaces_and_leaves_no_temporary),
        T(version_1_file_loads),
        T(foreign_model),
        T(changed_architecture),
        T(flipped_byte),
        T(truncated),
        T(data_after_the_checksum),
        T(wrong_magic),
        T(unsupported_version),
        T(missing_file),
        T(failed_save_keeps_the_old_checkpoint),
        T(save_into_a_missing_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
