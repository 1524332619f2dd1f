/* test_checkpoint.c: runtime/checkpoint.c. A save + load round trip is
 * bit-exact and has the documented little-endian layout; version 1 files
 * still load; each kind of bad file gets its own message and leaves the
 * caller's buffers alone; a save that fails half-way leaves the previous
 * checkpoint intact.
 */
#include <dirent.h>
#include <float.h>
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
#include <zlib.h>

#include "checkpoint.h"

/* More floats than one conversion chunk (4096), to cross its boundary.
 * The run's data path is DATA; the offsets are those of docs/trainer.md
 * for the 3-byte name "toy". */
#define DATA "/data/fashion"
enum {
    N_PARAM = 10000,
    N_STATE = 3,
    N_OPT = 2 * N_PARAM, /* adam: m and v */
    AT_N_STATE = 35,
    AT_EPOCH = 51,
    AT_OPTIMIZER = 67,
    AT_DATA_LEN = 123,
    HEADER = 124 + 3 + sizeof DATA - 1,
};
#define FILE_SIZE (HEADER + 4 * (N_PARAM + N_STATE + N_OPT) + 4)

static const nn_model_desc toy = {
    .name = "toy", .fingerprint = 0x0123456789abcdefull, .n_param = N_PARAM, .n_state = N_STATE};

typedef struct {
    char dir[64];
    char path[128]; /* dir/toy.ckpt */
    char err[1024];
    nn_run run;                                           /* what was saved */
    float param[N_PARAM], state[N_STATE], opt[N_OPT];     /* and its floats */
    nn_run run2;                                          /* what is loaded */
    float param2[N_PARAM], state2[N_STATE], opt2[N_OPT];
} Fixture;

/* Values whose bits a text or double round trip would change */
static void fill_awkward(float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++)
        x[i] = scale * (float)sin((double)i) * powf(10.0f, (float)(i % 60) - 30.0f);
    x[0] = -0.0f;
    x[1] = 1e-45f; /* subnormal */
    x[2] = FLT_MAX;
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
    fill_awkward(f->opt, N_OPT, 3.0f);
    f->run = (nn_run){.epoch = 7,
                      .step = 700,
                      .h = {.optimizer = NN_ADAM, .lr = 0.001f, .beta1 = 0.9f, .beta2 = 0.999f,
                            .eps = 1e-7f, .batch = 64, .epochs = 10, .seed = 42},
                      .limit = NN_NO_LIMIT,
                      .data = DATA};
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
    return nn_checkpoint_save(f->path, m, &f->run, f->param, f->state, f->opt, f->err,
                              sizeof f->err);
}

/* Reads path as toy's and copies it into run2, param2, state2, opt2 */
static int load_path(Fixture *f, const char *path) {
    nn_checkpoint c;
    if (nn_checkpoint_read(&c, path, &toy, f->err, sizeof f->err))
        return -1;
    assert_true(c.n_opt <= N_OPT);
    nn_checkpoint_copy(&c, &toy, f->param2, f->state2, f->opt2);
    f->run2 = c.run;
    nn_checkpoint_free(&c);
    return 0;
}

static int load(Fixture *f) {
    return load_path(f, f->path);
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

/* Recomputes the CRC after a poke, so that the check under test is the
 * one that fires, not the checksum */
static void fix_crc(const Fixture *f) {
    static uint8_t b[FILE_SIZE + 128]; /* and version 3's fields */
    FILE *fp = fopen(f->path, "r+b");
    assert_non_null(fp);
    size_t n = fread(b, 1, sizeof b, fp);
    assert_true(n > 4 && n < sizeof b);
    uint32_t crc = (uint32_t)crc32(0, b, (uInt)(n - 4));
    for (int i = 0; i < 4; i++)
        b[n - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* Overwrites n little-endian bytes of v at offset, then fixes the CRC */
static void poke_uint(const Fixture *f, long offset, uint64_t v, int n) {
    for (int i = 0; i < n; i++)
        poke(f, offset + i, (int)(uint8_t)(v >> (8 * i)));
    fix_crc(f);
}

static void expect_path_error(Fixture *f, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Loading path fails with exactly this message and leaves the buffers alone */
static void expect_path_error(Fixture *f, const char *path, const char *fmt, ...) {
    char want[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    memset(f->param2, 0x55, sizeof f->param2);
    memset(&f->run2, 0x55, sizeof f->run2);
    assert_int_equal(load_path(f, path), -1);
    assert_string_equal(f->err, want);
    for (size_t i = 0; i < N_PARAM; i++)
        assert_int_equal(((unsigned char *)f->param2)[4 * i], 0x55);
    assert_int_equal(((unsigned char *)&f->run2)[0], 0x55);
}

#define expect_load_error(f, ...) expect_path_error(f, (f)->path, __VA_ARGS__)

/* ---------------------------------------------------------------- good files */

static void round_trip_is_bit_exact(void **state) {
    Fixture *f = *state;
    assert_int_equal(save(f, &toy), 0);
    assert_int_equal(load(f), 0);
    assert_memory_equal(f->param2, f->param, sizeof f->param);
    assert_memory_equal(f->state2, f->state, sizeof f->state);
    assert_memory_equal(f->opt2, f->opt, sizeof f->opt);
    const nn_run *r = &f->run2;
    assert_int_equal(r->epoch, 7);
    assert_int_equal(r->step, 700);
    assert_int_equal(r->h.optimizer, NN_ADAM);
    assert_true(r->h.lr == 0.001f && r->h.beta1 == 0.9f && r->h.beta2 == 0.999f &&
                r->h.eps == 1e-7f && r->h.momentum == 0 && r->h.weight_decay == 0);
    assert_int_equal(r->h.batch, 64);
    assert_int_equal(r->h.epochs, 10);
    assert_int_equal(r->h.seed, 42);
    assert_true(r->limit == NN_NO_LIMIT);
    assert_string_equal(r->data, DATA);
}

static void layout_is_the_documented_one(void **state) {
    Fixture *f = *state;
    static const uint8_t header[HEADER] = {
        'N',  'N',  'C',  'C',  'K',  'P',  'T',  '\n', /* magic */
        2,    0,    0,    0,                            /* version */
        3,    0,    0,    0,    't',  'o',  'y',        /* name */
        0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, /* fingerprint */
        0x10, 0x27, 0,    0,    0,    0,    0,    0,    /* n_param = 10000 */
        3,    0,    0,    0,    0,    0,    0,    0,    /* n_state */
        0x20, 0x4e, 0,    0,    0,    0,    0,    0,    /* n_opt = 20000 */
        7,    0,    0,    0,    0,    0,    0,    0,    /* epoch */
        0xbc, 0x02, 0,    0,    0,    0,    0,    0,    /* step = 700 */
        1,    0,    0,    0,                            /* optimizer: adam */
        0x6f, 0x12, 0x83, 0x3a,                         /* lr = 0.001f */
        0,    0,    0,    0,                            /* momentum */
        0,    0,    0,    0,                            /* nesterov */
        0x66, 0x66, 0x66, 0x3f,                         /* beta1 = 0.9f */
        0x77, 0xbe, 0x7f, 0x3f,                         /* beta2 = 0.999f */
        0x95, 0xbf, 0xd6, 0x33,                         /* eps = 1e-7f */
        0,    0,    0,    0,                            /* weight_decay */
        64,   0,    0,    0,                            /* batch */
        10,   0,    0,    0,                            /* epochs (target) */
        42,   0,    0,    0,    0,    0,    0,    0,    /* seed */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* limit: none */
        13,   0,    0,    0,                            /* data path length */
        '/',  'd',  'a',  't',  'a',  '/',  'f',  'a',  's', 'h', 'i', 'o', 'n',
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
    assert_int_equal(save(f, &toy), 0);
    f->param[5] = 42.0f;
    assert_int_equal(save(f, &toy), 0);
    list_dir(f->dir, names, sizeof names);
    assert_string_equal(names, "toy.ckpt ");
    assert_int_equal(load(f), 0);
    assert_true(f->param2[5] == 42.0f);
}

/* SGD without momentum keeps no optimizer state: the file has none */
static void plain_sgd_has_no_optimizer_state(void **state) {
    Fixture *f = *state;
    struct stat st;
    f->run.h = (nn_hparams){.optimizer = NN_SGD, .lr = 0.1f, .batch = 8, .epochs = 3};
    assert_int_equal(save(f, &toy), 0);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, FILE_SIZE - 4 * N_OPT);
    assert_int_equal(load(f), 0);
    assert_int_equal(f->run2.h.optimizer, NN_SGD);
    assert_memory_equal(f->param2, f->param, sizeof f->param);
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
    nn_checkpoint c;
    assert_int_equal(nn_checkpoint_read(&c, "tests/unit/toy-v1.ckpt", &toy_v1, err, sizeof err), 0);
    assert_int_equal(c.version, 1);
    assert_int_equal(c.run.epoch, 3);
    assert_int_equal(c.n_opt, 0);
    nn_checkpoint_copy(&c, &toy_v1, param, st, NULL);
    nn_checkpoint_free(&c);
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

/* "toy\0x" is not "toy": the name is counted bytes, compared as such */
static void name_with_an_embedded_nul(void **state) {
    Fixture *f = *state;
    nn_model_desc other = toy;
    other.name = "toyAx";
    assert_int_equal(save(f, &other), 0);
    poke(f, 16 + 3, '\0');
    fix_crc(f);
    expect_load_error(f, "%s: belongs to another model: 'toy\\x00x', not 'toy'", f->path);
}

/* A crafted name cannot send escape sequences to the terminal */
static void name_is_printed_escaped(void **state) {
    Fixture *f = *state;
    nn_model_desc other = toy;
    other.name = "\033[2J\\'\x7f\xff";
    assert_int_equal(save(f, &other), 0);
    expect_load_error(f, "%s: belongs to another model: '\\x1b[2J\\x5c\\x27\\x7f\\xff', not 'toy'",
                      f->path);
}

static void changed_architecture(void **state) {
    Fixture *f = *state;
    nn_model_desc old = toy;
    old.fingerprint = 42;
    assert_int_equal(save(f, &old), 0);
    expect_load_error(f,
                      "%s: the architecture of 'toy' changed since this checkpoint was saved "
                      "(fingerprint 000000000000002a, now 0123456789abcdef)",
                      f->path);
    old.n_param = N_PARAM - 1;
    assert_int_equal(save(f, &old), 0);
    expect_load_error(f,
                      "%s: the architecture of 'toy' changed since this checkpoint was saved "
                      "(fingerprint 000000000000002a, now 0123456789abcdef; 9999 parameters, now "
                      "10000)",
                      f->path);
}

/* Only the state differs: the message says so */
static void changed_state_size(void **state) {
    Fixture *f = *state;
    nn_model_desc old = toy;
    old.n_state = N_STATE - 1;
    assert_int_equal(save(f, &old), 0);
    expect_load_error(f,
                      "%s: the architecture of 'toy' changed since this checkpoint was saved "
                      "(2 state values, now 3)",
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
    assert_int_equal(truncate(f->path, HEADER - 1), 0);
    expect_load_error(f, "%s: truncated: the file ends inside the header", f->path);
    assert_int_equal(truncate(f->path, 10), 0);
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
    assert_int_equal(truncate(f->path, 0), 0);
    expect_load_error(f, "%s: not an nnc checkpoint (bad magic)", f->path);
}

/* A run that needs version 3: a schedule, clipping, the plateau's state,
 * data options and meta bytes, each back as it went in */
static void version_3_round_trip(void **state) {
    Fixture *f = *state;
    static const uint8_t meta[] = {1, 2, 0, 255, 7};
    static const char sources[] = "train=/d/train.csv\0target=y\0val-split=0.25";
    f->run.h.schedule = (nn_schedule){.kind = NN_SCHED_PLATEAU, .patience = 3, .factor = 0.5f,
                                      .min_lr = 1e-5f};
    f->run.h.clip_norm = 2.5f;
    f->run.plateau = (nn_plateau){.lr = 0.00025f, .tracker = {.best = 0.4375, .wait = 2}};
    f->run.monitored = 1;
    f->run.monitor = (nn_tracker){.best = -0.8125, .wait = 5};
    f->run.meta = meta;
    f->run.meta_len = sizeof meta;
    memcpy(f->run.sources, sources, sizeof sources);
    f->run.sources_len = sizeof sources;
    assert_int_equal(save(f, &toy), 0);
    assert_int_equal(peek(f, 8), 3);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    /* version 2's size, the 68 bytes of version 3's fields, the sources and the meta */
    assert_int_equal(st.st_size, FILE_SIZE + 68 + sizeof sources + sizeof meta);
    nn_checkpoint c;
    assert_int_equal(nn_checkpoint_read(&c, f->path, &toy, f->err, sizeof f->err), 0);
    assert_int_equal(c.version, 3);
    assert_memory_equal(&c.run.h.schedule, &f->run.h.schedule, sizeof f->run.h.schedule);
    assert_true(c.run.h.clip_norm == 2.5f && c.run.plateau.lr == 0.00025f);
    assert_true(c.run.plateau.tracker.best == 0.4375 && c.run.plateau.tracker.wait == 2);
    assert_true(c.run.monitored && c.run.monitor.best == -0.8125 && c.run.monitor.wait == 5);
    assert_int_equal(c.run.meta_len, sizeof meta);
    assert_memory_equal(c.run.meta, meta, sizeof meta);
    assert_int_equal(c.run.sources_len, sizeof sources);
    assert_memory_equal(c.run.sources, sources, sizeof sources);
    nn_checkpoint_copy(&c, &toy, f->param2, f->state2, f->opt2);
    assert_memory_equal(f->param2, f->param, sizeof f->param);
    assert_memory_equal(f->opt2, f->opt, sizeof f->opt);
    nn_checkpoint_free(&c);
}

static void version_3_corrupt_fields(void **state) {
    Fixture *f = *state;
    f->run.h.schedule = (nn_schedule){.kind = NN_SCHED_STEP, .every = 2, .factor = 0.5f};
    assert_int_equal(save(f, &toy), 0);
    poke_uint(f, HEADER, 7, 4); /* the schedule's kind */
    expect_load_error(f, "%s: corrupt: schedule 7 is out of range (0..3)", f->path);
    poke_uint(f, HEADER, NN_SCHED_STEP, 4);
    poke_uint(f, HEADER + 16, 0x7fc00000u, 4); /* factor: a NaN */
    expect_load_error(f, "%s: corrupt: factor nan is not a finite number", f->path);
    poke_uint(f, HEADER + 16, 0x3f000000u, 4);
    poke_uint(f, HEADER + 64, 1, 4); /* sources: one byte more than the file has... */
    expect_load_error(f, "%s: truncated: %ld bytes, expected %ld", f->path, (long)FILE_SIZE + 68,
                      (long)FILE_SIZE + 69);
    poke_uint(f, HEADER + 64, 1u << 20, 4); /* ...and a length no header holds */
    expect_load_error(f, "%s: corrupt: data options of 1048576 bytes (at most %d)", f->path,
                      NN_SOURCES_LEN - 1);
}

static void unsupported_version(void **state) {
    Fixture *f = *state;
    assert_int_equal(save(f, &toy), 0);
    poke(f, 8, 4);
    expect_load_error(f, "%s: unsupported checkpoint version 4 (this trainer reads versions 1 to 3)",
                      f->path);
}

static void missing_file(void **state) {
    Fixture *f = *state;
    expect_load_error(f, "%s: cannot open: No such file or directory", f->path);
}

static void directory(void **state) {
    Fixture *f = *state;
    expect_path_error(f, f->dir, "%s: is a directory, not a checkpoint", f->dir);
    expect_path_error(f, "/dev/null", "/dev/null: not a regular file");
}

/* Sizes are checked against the file before anything is allocated: a
 * header that claims 2^59 parameters is a truncated file, not an attempt
 * at a 2 EiB buffer */
static void huge_sizes_allocate_nothing(void **state) {
    Fixture *f = *state;
    assert_int_equal(save(f, &toy), 0);
    poke_uint(f, 27, 1ull << 59, 8);
    expect_load_error(f, "%s: truncated: %d bytes, expected %llu", f->path, FILE_SIZE,
                      (unsigned long long)FILE_SIZE - 4 * N_PARAM + (1ull << 61));
    poke_uint(f, 27, 1ull << 62, 8);
    expect_load_error(f, "%s: corrupt: implausible sizes in the header", f->path);
    poke_uint(f, 12, 1u << 24, 4);
    expect_load_error(f, "%s: corrupt: a model name of 16777216 bytes (at most 1024)", f->path);
}

static void huge_data_path(void **state) {
    Fixture *f = *state;
    assert_int_equal(save(f, &toy), 0);
    poke_uint(f, AT_DATA_LEN, 4096, 4);
    expect_load_error(f, "%s: corrupt: a data path of 4096 bytes (at most 4095)", f->path);
}

/* 2^64 - 1 epochs is printed as such, not as -1, and refused */
static void epoch_out_of_range(void **state) {
    Fixture *f = *state;
    assert_int_equal(save(f, &toy), 0);
    poke_uint(f, AT_EPOCH, UINT64_MAX, 8);
    expect_load_error(f, "%s: corrupt: epoch 18446744073709551615 is out of range (0..1000000)",
                      f->path);
}

static void recipe_out_of_range(void **state) {
    Fixture *f = *state;
    assert_int_equal(save(f, &toy), 0);
    poke_uint(f, AT_OPTIMIZER, 7, 4);
    expect_load_error(f, "%s: corrupt: optimizer 7 is out of range (0..1)", f->path);
    poke_uint(f, AT_OPTIMIZER, NN_SGD, 4);
    expect_load_error(f,
                      "%s: corrupt: 20000 floats of optimizer state, but sgd over 10000 "
                      "parameters keeps 0",
                      f->path);
    poke_uint(f, AT_OPTIMIZER, NN_ADAM, 4);
    poke_uint(f, AT_OPTIMIZER + 4, 0x7fc00000u, 4); /* lr: nan */
    expect_load_error(f, "%s: corrupt: lr nan is not a finite number", f->path);
}

static void data_path_with_a_nul(void **state) {
    Fixture *f = *state;
    assert_int_equal(save(f, &toy), 0);
    poke(f, AT_DATA_LEN + 4 + 2, '\0');
    fix_crc(f);
    expect_load_error(f, "%s: corrupt: the data path holds a NUL byte", f->path);
}

/* A NaN or an infinity anywhere is refused, naming the first one */
static void non_finite_values(void **state) {
    Fixture *f = *state;
    f->param[17] = NAN;
    f->param[18] = INFINITY;
    assert_int_equal(save(f, &toy), 0);
    expect_load_error(f, "%s: parameter 17 is nan", f->path);
    f->param[17] = 0;
    assert_int_equal(save(f, &toy), 0);
    expect_load_error(f, "%s: parameter 18 is inf", f->path);
    f->param[18] = 0;
    f->state[2] = -INFINITY;
    assert_int_equal(save(f, &toy), 0);
    expect_load_error(f, "%s: state value 2 is -inf", f->path);
    f->state[2] = 0;
    f->opt[N_PARAM + 5] = NAN;
    assert_int_equal(save(f, &toy), 0);
    expect_load_error(f, "%s: optimizer state value 10005 is nan", f->path);
}

static void version_1_out_of_range_epoch(void **state) {
    Fixture *f = *state;
    FILE *in = fopen("tests/unit/toy-v1.ckpt", "rb"), *out = fopen(f->path, "wb");
    uint8_t b[256];
    assert_non_null(in);
    assert_non_null(out);
    size_t n = fread(b, 1, sizeof b, in);
    assert_int_equal(fwrite(b, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
    poke_uint(f, 43, UINT64_MAX, 8);
    char err[1024];
    nn_checkpoint c;
    assert_int_equal(nn_checkpoint_read(&c, f->path, &toy_v1, err, sizeof err), -1);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: corrupt: epoch 18446744073709551615 is out of range (0..1000000)", f->path);
    assert_string_equal(err, want);
}

/* ---------------------------------------------------------------- failed saves */

/* A write that fails half-way (here: the file size limit, as a full disk
 * would) must leave the old checkpoint as it was, and no temporary. */
static void failed_save_keeps_the_old_checkpoint(void **state) {
    Fixture *f = *state;
    struct rlimit saved, small;
    char names[1024];
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
    assert_int_equal(load(f), 0);
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
        T(plain_sgd_has_no_optimizer_state),
        T(version_1_file_loads),
        T(foreign_model),
        T(name_with_an_embedded_nul),
        T(name_is_printed_escaped),
        T(changed_architecture),
        T(changed_state_size),
        T(flipped_byte),
        T(truncated),
        T(data_after_the_checksum),
        T(wrong_magic),
        T(version_3_round_trip),
        T(version_3_corrupt_fields),
        T(unsupported_version),
        T(missing_file),
        T(directory),
        T(huge_sizes_allocate_nothing),
        T(huge_data_path),
        T(epoch_out_of_range),
        T(recipe_out_of_range),
        T(data_path_with_a_nul),
        T(non_finite_values),
        T(version_1_out_of_range_epoch),
        T(failed_save_keeps_the_old_checkpoint),
        T(save_into_a_missing_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
