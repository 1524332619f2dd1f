/* test_data.c: the data loaders (runtime/data.c) on small IDX files, plain
 * and gzipped, and CSVs written into a fresh temporary directory per test:
 * what they load, and the exact message of every error they report.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "data.h"
#include "nnrt.h"

#define IMAGES 0x00000803u
#define LABELS 0x00000801u

/* Five 2x2 images, three classes: the model these tests load for */
enum { N = 5, ROWS = 2, COLS = 2, IN = ROWS * COLS, CLASSES = 3 };
static const uint8_t pixels[N * IN] = {0, 255, 1,  2,  3,  4,  5,  6,  7,  8,
                                       9, 10,  11, 12, 13, 14, 15, 16, 17, 200};
static const uint8_t labels[N] = {2, 0, 1, 1, 0};
static const nn_data_spec spec = {ROWS, COLS, 1, CLASSES, SIZE_MAX};

typedef struct {
    char dir[64];   /* the test's temporary directory */
    char err[2048]; /* the loader's message */
    nn_dataset d;
    nn_data all;    /* what nn_data_open opened */
} Fixture;

static int setup(void **state) {
    Fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/nnc-test-data-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    Fixture *f = *state;
    DIR *dir = opendir(f->dir);
    char path[1024];
    for (struct dirent *e; dir && (e = readdir(dir));) {
        snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
        if (e->d_name[0] != '.')
            unlink(path);
    }
    if (dir)
        closedir(dir);
    rmdir(f->dir);
    nn_data_free(&f->d);
    nn_data_close(&f->all);
    free(f);
    return 0;
}

static const char *path_in(const Fixture *f, const char *name) {
    static char path[2][1024]; /* two paths may be live in one expression */
    static int which;
    which ^= 1;
    snprintf(path[which], sizeof path[which], "%s/%s", f->dir, name);
    return path[which];
}

/* Writes len bytes, gzip-compressed if the name ends in .gz */
static void write_bytes(const char *path, const void *bytes, size_t len) {
    size_t n = strlen(path);
    if (n > 3 && strcmp(path + n - 3, ".gz") == 0) {
        gzFile g = gzopen(path, "wb");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, bytes, (unsigned)len), (int)len);
        assert_int_equal(gzclose(g), Z_OK);
    } else {
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(bytes, 1, len, fp), len);
        assert_int_equal(fclose(fp), 0);
    }
}

static size_t put_be32(uint8_t *b, uint32_t v) {
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
    return 4;
}

/* An IDX images file with header (magic, n, rows, cols) and the first
 * n_bytes bytes of `pixels` */
static void write_images(const char *path, uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols,
                         size_t n_bytes) {
    uint8_t b[16 + sizeof pixels];
    size_t len = put_be32(b, magic);
    len += put_be32(b + len, n);
    len += put_be32(b + len, rows);
    len += put_be32(b + len, cols);
    memcpy(b + len, pixels, n_bytes);
    write_bytes(path, b, len + n_bytes);
}

/* An IDX labels file with header (magic, n) and the first n_bytes of lab */
static void write_labels(const char *path, uint32_t magic, uint32_t n, const uint8_t *lab,
                         size_t n_bytes) {
    uint8_t b[8 + 16];
    size_t len = put_be32(b, magic);
    len += put_be32(b + len, n);
    memcpy(b + len, lab, n_bytes);
    write_bytes(path, b, len + n_bytes);
}

/* Appends len bytes as they are, or as one more gzip member with gz */
static void append_bytes(const char *path, const void *bytes, size_t len, int gz) {
    if (gz) {
        gzFile g = gzopen(path, "ab");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, bytes, (unsigned)len), (int)len);
        assert_int_equal(gzclose(g), Z_OK);
    } else {
        FILE *fp = fopen(path, "ab");
        assert_non_null(fp);
        assert_int_equal(fwrite(bytes, 1, len, fp), len);
        assert_int_equal(fclose(fp), 0);
    }
}

static void write_text(const char *path, const char *text) {
    write_bytes(path, text, strlen(text));
}

/* The standard training pair, optionally gzipped */
static void write_train_idx(const Fixture *f, const char *suffix) {
    char images[64], labs[64];
    snprintf(images, sizeof images, "train-images-idx3-ubyte%s", suffix);
    snprintf(labs, sizeof labs, "train-labels-idx1-ubyte%s", suffix);
    write_images(path_in(f, images), IMAGES, N, ROWS, COLS, sizeof pixels);
    write_labels(path_in(f, labs), LABELS, N, labels, N);
}

static int load_as(Fixture *f, nn_split split, const nn_data_spec *s) {
    return nn_data_load(&f->d, f->dir, split, s, f->err, sizeof f->err);
}

static int load(Fixture *f, nn_split split) {
    return load_as(f, split, &spec);
}

static void expect_error_as(Fixture *f, nn_split split, const nn_data_spec *s, const char *fmt,
                            ...) __attribute__((format(printf, 4, 5)));

/* Loading for the model s must fail with exactly this message (formatted
 * like printf) */
static void expect_error_as(Fixture *f, nn_split split, const nn_data_spec *s, const char *fmt,
                            ...) {
    char want[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    assert_int_equal(load_as(f, split, s), -1);
    assert_string_equal(f->err, want);
    assert_null(f->d.pixels);
    assert_null(f->d.labels);
}

#define expect_error(f, split, ...) expect_error_as(f, split, &spec, __VA_ARGS__)

static void assert_all_examples(const nn_dataset *d, size_t n) {
    assert_int_equal(d->n, n);
    assert_int_equal(d->in_size, IN);
    assert_memory_equal(d->pixels, pixels, n * IN);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(d->labels[i], labels[i]);
}

/* ---------------------------------------------------------------- loading */

static void idx_plain_loads(void **state) {
    Fixture *f = *state;
    write_train_idx(f, "");
    assert_int_equal(load(f, NN_TRAIN), 0);
    assert_all_examples(&f->d, N);
}

static void idx_gzip_loads(void **state) {
    Fixture *f = *state;
    write_images(path_in(f, "t10k-images-idx3-ubyte.gz"), IMAGES, N, ROWS, COLS, sizeof pixels);
    write_labels(path_in(f, "t10k-labels-idx1-ubyte.gz"), LABELS, N, labels, N);
    assert_int_equal(load(f, NN_TEST), 0);
    assert_all_examples(&f->d, N);
}

static void limit_keeps_the_first_examples(void **state) {
    Fixture *f = *state;
    nn_data_spec two = {ROWS, COLS, 1, CLASSES, 2};
    write_train_idx(f, ".gz");
    assert_int_equal(nn_data_load(&f->d, f->dir, NN_TRAIN, &two, f->err, sizeof f->err), 0);
    assert_all_examples(&f->d, 2);
}

static void csv_loads_with_or_without_header(void **state) {
    Fixture *f = *state;
    write_text(path_in(f, "train.csv"), "label,p1,p2,p3,p4\r\n"
                                        "2, 0,255,1,2\r\n"
                                        "0,3,4,5,6\r\n"
                                        "\n"
                                        "1,7,8,9,10\n"
                                        "1,11,12,13,14\n"
                                        "0,15,16,17,200");
    write_text(path_in(f, "test.csv"), "2,0,255,1,2\n0,3,4,5,6\n");
    assert_int_equal(load(f, NN_TRAIN), 0);
    assert_all_examples(&f->d, N);
    nn_data_free(&f->d);
    assert_int_equal(load(f, NN_TEST), 0);
    assert_all_examples(&f->d, 2);
}

static void batch_is_pixels_over_255_in_index_order(void **state) {
    Fixture *f = *state;
    write_train_idx(f, "");
    assert_int_equal(load(f, NN_TRAIN), 0);
    float x[2 * IN];
    int y[2];
    const size_t order[] = {4, 0, 3};
    nn_data_batch(x, y, NULL, &f->d, order, 1, 2); /* examples 0 and 3 */
    assert_true(x[0] == 0.0f && x[1] == 1.0f && x[2] == 1.0f / 255.0f);
    assert_true(x[IN] == 11.0f / 255.0f);
    assert_int_equal(y[0], labels[0]);
    assert_int_equal(y[1], labels[3]);
    nn_data_batch(x, y, NULL, &f->d, NULL, 4, 1); /* evaluation order */
    assert_true(x[3] == 200.0f / 255.0f);
    assert_int_equal(y[0], labels[4]);
}

/* ---------------------------------------------------------------- IDX errors */

static void missing_directory(void **state) {
    Fixture *f = *state;
    char gone[128];
    snprintf(gone, sizeof gone, "%s/nope", f->dir);
    assert_int_equal(nn_data_load(&f->d, gone, NN_TRAIN, &spec, f->err, sizeof f->err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s: No such file or directory", gone);
    assert_string_equal(f->err, want);
}

static void no_data_set(void **state) {
    Fixture *f = *state;
    expect_error(f, NN_TEST,
                 "%s: no test set: expected t10k-images-idx3-ubyte[.gz] and "
                 "t10k-labels-idx1-ubyte[.gz], or test.csv",
                 f->dir);
}

static void missing_labels_file(void **state) {
    Fixture *f = *state;
    write_images(path_in(f, "train-images-idx3-ubyte.gz"), IMAGES, N, ROWS, COLS, sizeof pixels);
    expect_error(f, NN_TRAIN, "missing file %s/train-labels-idx1-ubyte[.gz] (%s was found)", f->dir,
                 path_in(f, "train-images-idx3-ubyte.gz"));
}

static void wrong_magic(void **state) {
    Fixture *f = *state;
    write_train_idx(f, "");
    write_images(path_in(f, "train-images-idx3-ubyte"), 0x50350a32, N, ROWS, COLS, sizeof pixels);
    expect_error(f, NN_TRAIN,
                 "%s: wrong magic number 0x50350a32: not an IDX images file (expected 0x00000803)",
                 path_in(f, "train-images-idx3-ubyte"));
}

static void wrong_data_type(void **state) {
    Fixture *f = *state;
    write_train_idx(f, "");
    write_images(path_in(f, "train-images-idx3-ubyte"), 0x00000d03, N, ROWS, COLS, sizeof pixels);
    expect_error(f, NN_TRAIN,
                 "%s: IDX data type 0x0d (floats) is not supported: expected unsigned bytes (0x08)",
                 path_in(f, "train-images-idx3-ubyte"));
}

/* The magic's last byte counts the dimensions: each file in the other's place */
static void wrong_dimension_count(void **state) {
    Fixture *f = *state;
    write_train_idx(f, "");
    write_images(path_in(f, "train-images-idx3-ubyte"), LABELS, N, ROWS, COLS, sizeof pixels);
    expect_error(f, NN_TRAIN,
                 "%s: not an IDX images file: 1 dimension, expected 3 (count, rows, columns)",
                 path_in(f, "train-images-idx3-ubyte"));
    write_train_idx(f, "");
    write_images(path_in(f, "train-labels-idx1-ubyte"), IMAGES, N, ROWS, COLS, sizeof pixels);
    expect_error(f, NN_TRAIN, "%s: not an IDX labels file: 3 dimensions, expected 1 (count)",
                 path_in(f, "train-labels-idx1-ubyte"));
}

static void truncated_images(void **state) {
    Fixture *f = *state;
    write_train_idx(f, ".gz");
    write_images(path_in(f, "train-images-idx3-ubyte.gz"), IMAGES, N, ROWS, COLS, 3 * IN + 1);
    expect_error(f, NN_TRAIN, "%s: truncated: expected 20 bytes of pixels, got 13",
                 path_in(f, "train-images-idx3-ubyte.gz"));
}

static void truncated_header(void **state) {
    Fixture *f = *state;
    write_train_idx(f, "");
    write_bytes(path_in(f, "train-labels-idx1-ubyte"), "\0\0\10", 3);
    expect_error(f, NN_TRAIN, "%s: truncated: expected 8 bytes of header, got 3",
                 path_in(f, "train-labels-idx1-ubyte"));
}

/* A gzip stream cut short is a truncated file too, not a zlib riddle */
static void truncated_gzip_stream(void **state) {
    Fixture *f = *state;
    write_train_idx(f, ".gz");
    const char *path = path_in(f, "train-images-idx3-ubyte.gz");
    assert_int_equal(truncate(path, 20), 0);
    assert_int_equal(load(f, NN_TRAIN), -1);
    char want[1024];
    snprintf(want, sizeof want, "%s: truncated: ", path);
    assert_memory_equal(f->err, want, strlen(want));
}

/* The gzip trailer's CRC is checked: flip a bit of it */
static void corrupt_gzip_stream(void **state) {
    Fixture *f = *state;
    write_train_idx(f, ".gz");
    const char *path = path_in(f, "train-labels-idx1-ubyte.gz");
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, -8, SEEK_END), 0);
    int c = fgetc(fp);
    assert_int_equal(fseek(fp, -8, SEEK_END), 0);
    fputc(c ^ 1, fp);
    assert_int_equal(fclose(fp), 0);
    expect_error(f, NN_TRAIN, "%s: corrupt: incorrect data check", path);
}

static void more_data_than_the_header_says(void **state) {
    Fixture *f = *state;
    write_train_idx(f, "");
    write_images(path_in(f, "train-images-idx3-ubyte"), IMAGES, N - 1, ROWS, COLS, sizeof pixels);
    write_labels(path_in(f, "train-labels-idx1-ubyte"), LABELS, N - 1, labels, N - 1);
    expect_error(f, NN_TRAIN, "%s: corrupt: more data than the header announces",
                 path_in(f, "train-images-idx3-ubyte"));
}

/* gzip allows members one after another; the images come in three */
static void idx_multi_member_gzip_loads(void **state) {
    Fixture *f = *state;
    write_train_idx(f, ".gz");
    const char *images = path_in(f, "train-images-idx3-ubyte.gz");
    write_images(images, IMAGES, N, ROWS, COLS, 7);
    append_bytes(images, pixels + 7, 0, 1);
    append_bytes(images, pixels + 7, sizeof pixels - 7, 1);
    assert_int_equal(load(f, NN_TRAIN), 0);
    assert_all_examples(&f->d, N);
}

/* Bytes after the last gzip member are neither a member nor nothing */
static void data_after_the_gzip_stream(void **state) {
    Fixture *f = *state;
    write_train_idx(f, ".gz");
    const char *labs = path_in(f, "train-labels-idx1-ubyte.gz");
    append_bytes(labs, "\0", 1, 0);
    expect_error(f, NN_TRAIN, "%s: corrupt: data after the end of the gzip stream", labs);
    write_train_idx(f, ".gz");
    append_bytes(labs, "junk after the stream", 21, 0);
    expect_error(f, NN_TRAIN, "%s: corrupt: data after the end of the gzip stream", labs);
}

/* A header may claim any count: what is there decides, what it claims is
 * never allocated (here 16 GiB of pixels in a file of 20 bytes) */
static void count_beyond_the_data(Fixture *f, const char *suffix) {
    const nn_data_spec two = {ROWS, COLS, 1, CLASSES, 2};
    char images[1024], labs[1024];
    snprintf(images, sizeof images, "%s/train-images-idx3-ubyte%s", f->dir, suffix);
    snprintf(labs, sizeof labs, "%s/train-labels-idx1-ubyte%s", f->dir, suffix);
    write_images(images, IMAGES, 0xffffffffu, ROWS, COLS, sizeof pixels);
    write_labels(labs, LABELS, 0xffffffffu, labels, N);
    /* the address space is capped while it loads: a loader that allocated
     * the count would fail with "out of memory" */
    struct rlimit saved, cap;
    assert_int_equal(getrlimit(RLIMIT_AS, &saved), 0);
    long pages = 0;
    FILE *statm = fopen("/proc/self/statm", "r");
    assert_non_null(statm);
    assert_int_equal(fscanf(statm, "%ld", &pages), 1);
    fclose(statm);
    cap = saved;
    cap.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)256 << 20);
    assert_int_equal(setrlimit(RLIMIT_AS, &cap), 0);
    int rc = load(f, NN_TRAIN);
    assert_int_equal(setrlimit(RLIMIT_AS, &saved), 0);
    assert_int_equal(rc, -1);
    char want[2048];
    snprintf(want, sizeof want, "%s: truncated: expected 17179869180 bytes of pixels, got 20",
             images);
    assert_string_equal(f->err, want);
    /* --limit keeps two examples but checks the count all the same */
    expect_error_as(f, NN_TRAIN, &two, "%s", want);
    write_images(images, IMAGES, N + 1, ROWS, COLS, sizeof pixels);
    write_labels(labs, LABELS, N + 1, labels, N);
    expect_error_as(f, NN_TRAIN, &two, "%s: truncated: expected 24 bytes of pixels, got 20",
                    images);
}

static void count_beyond_the_data_plain(void **state) {
    count_beyond_the_data(*state, "");
}

static void count_beyond_the_data_gzip(void **state) {
    count_beyond_the_data(*state, ".gz");
}

/* Pixels past the loader's first 1 MiB buffer, whole and under --limit */
static void idx_larger_than_the_first_buffer(void **state) {
    Fixture *f = *state;
    enum { MANY = 600000, KEEP = 400000 }; /* 2.4 MB of pixels, 1.6 MB kept */
    uint8_t *images = malloc(16 + (size_t)MANY * IN), *labs = malloc(8 + MANY);
    assert_non_null(images);
    assert_non_null(labs);
    put_be32(images, IMAGES), put_be32(images + 4, MANY);
    put_be32(images + 8, ROWS), put_be32(images + 12, COLS);
    put_be32(labs, LABELS), put_be32(labs + 4, MANY);
    for (size_t i = 0; i < (size_t)MANY * IN; i++)
        images[16 + i] = (uint8_t)(i * 7 % 251);
    for (size_t i = 0; i < MANY; i++)
        labs[8 + i] = (uint8_t)(i % CLASSES);
    write_bytes(path_in(f, "t10k-images-idx3-ubyte.gz"), images, 16 + (size_t)MANY * IN);
    write_bytes(path_in(f, "t10k-labels-idx1-ubyte.gz"), labs, 8 + MANY);
    const nn_data_spec keep = {ROWS, COLS, 1, CLASSES, KEEP};
    const size_t n[2] = {MANY, KEEP};
    for (int limited = 0; limited < 2; limited++) {
        assert_int_equal(load_as(f, NN_TEST, limited ? &keep : &spec), 0);
        assert_int_equal(f->d.n, n[limited]);
        assert_memory_equal(f->d.pixels, images + 16, n[limited] * IN);
        for (size_t i = 0; i < n[limited]; i++)
            assert_int_equal(f->d.labels[i], labs[8 + i]);
        nn_data_free(&f->d);
    }
    free(images);
    free(labs);
}

/* Under --limit the rest of both files is read and checked too */
static void limit_checks_the_whole_files(void **state) {
    Fixture *f = *state;
    const nn_data_spec two = {ROWS, COLS, 1, CLASSES, 2};
    const uint8_t bad[N] = {0, 1, 2, 0, 3};
    write_train_idx(f, ".gz");
    write_images(path_in(f, "train-images-idx3-ubyte.gz"), IMAGES, N - 1, ROWS, COLS,
                 sizeof pixels);
    write_labels(path_in(f, "train-labels-idx1-ubyte.gz"), LABELS, N - 1, labels, N - 1);
    expect_error_as(f, NN_TRAIN, &two, "%s: corrupt: more data than the header announces",
                    path_in(f, "train-images-idx3-ubyte.gz"));
    write_train_idx(f, ".gz");
    write_labels(path_in(f, "train-labels-idx1-ubyte.gz"), LABELS, N, labels, N - 1);
    expect_error_as(f, NN_TRAIN, &two, "%s: truncated: expected 5 bytes of labels, got 4",
                    path_in(f, "train-labels-idx1-ubyte.gz"));
    write_labels(path_in(f, "train-labels-idx1-ubyte.gz"), LABELS, N, bad, N);
    expect_error_as(f, NN_TRAIN, &two,
                    "%s: label 3 of example 5 is out of range for 3 classes (0..2)",
                    path_in(f, "train-labels-idx1-ubyte.gz"));
}

/* An image input takes its own rows and columns only, though 4x1 or 1x4
 * images have the four pixels a 2x2x1 input counts */
static void image_shape_differs_from_the_input(void **state) {
    Fixture *f = *state;
    write_train_idx(f, "");
    const char *images = path_in(f, "train-images-idx3-ubyte");
    write_images(images, IMAGES, N, 3, 3, sizeof pixels);
    expect_error(f, NN_TRAIN, "%s: images are 3x3x1 but the model's input is 2x2x1", images);
    write_images(images, IMAGES, N, 4, 1, sizeof pixels);
    expect_error(f, NN_TRAIN, "%s: images are 4x1x1 but the model's input is 2x2x1", images);
    write_images(images, IMAGES, N, 1, 4, sizeof pixels);
    expect_error(f, NN_TRAIN, "%s: images are 1x4x1 but the model's input is 2x2x1", images);
}

/* IDX images have one channel */
static void image_input_with_channels(void **state) {
    Fixture *f = *state;
    const nn_data_spec rgb = {ROWS, COLS, 3, CLASSES, SIZE_MAX};
    write_train_idx(f, "");
    expect_error_as(f, NN_TRAIN, &rgb, "%s: images are 2x2x1 but the model's input is 2x2x3",
                    path_in(f, "train-images-idx3-ubyte"));
}

/* A flat input takes any rows x cols of its size, row after row */
static void flat_input_takes_any_shape_of_its_size(void **state) {
    Fixture *f = *state;
    const nn_data_spec flat = {1, 1, IN, CLASSES, SIZE_MAX};
    const uint32_t shapes[3][2] = {{ROWS, COLS}, {4, 1}, {1, 4}};
    write_train_idx(f, "");
    const char *images = path_in(f, "train-images-idx3-ubyte");
    for (int i = 0; i < 3; i++) {
        write_images(images, IMAGES, N, shapes[i][0], shapes[i][1], sizeof pixels);
        assert_int_equal(load_as(f, NN_TRAIN, &flat), 0);
        assert_all_examples(&f->d, N);
        nn_data_free(&f->d);
    }
    write_images(images, IMAGES, N, 3, 3, sizeof pixels);
    expect_error_as(f, NN_TRAIN, &flat,
                    "%s: images are 3x3 = 9 values but the model's input has 4 values", images);
}

static void count_mismatch(void **state) {
    Fixture *f = *state;
    write_train_idx(f, "");
    write_labels(path_in(f, "train-labels-idx1-ubyte"), LABELS, N - 1, labels, N - 1);
    expect_error(f, NN_TRAIN, "%s has 5 images but %s has 4 labels",
                 path_in(f, "train-images-idx3-ubyte"), path_in(f, "train-labels-idx1-ubyte"));
}

static void label_out_of_range(void **state) {
    Fixture *f = *state;
    const uint8_t bad[N] = {0, 1, 2, 3, 0};
    write_train_idx(f, "");
    write_labels(path_in(f, "train-labels-idx1-ubyte"), LABELS, N, bad, N);
    expect_error(f, NN_TRAIN, "%s: label 3 of example 4 is out of range for 3 classes (0..2)",
                 path_in(f, "train-labels-idx1-ubyte"));
}

/* ---------------------------------------------------------------- CSV errors */

static void csv_wrong_field_count(void **state) {
    Fixture *f = *state;
    write_text(path_in(f, "train.csv"), "label,a,b,c,d\n1,2,3,4,5\n1,2,3,4\n");
    expect_error(f, NN_TRAIN,
                 "%s:3: wrong number of fields: expected 5, got 4",
                 path_in(f, "train.csv"));
}

static void csv_non_numeric_field(void **state) {
    Fixture *f = *state;
    write_text(path_in(f, "train.csv"), "1,2,3,4,5\n1,2,x7,4,5\n");
    expect_error(f, NN_TRAIN, "%s:2:5: pixel value 'x7' is not an integer 0..255",
                 path_in(f, "train.csv"));
}

static void csv_trailing_garbage_in_a_field(void **state) {
    Fixture *f = *state;
    write_text(path_in(f, "train.csv"), "1,2,3,4,5.5\n");
    expect_error(f, NN_TRAIN, "%s:1:9: pixel value '5.5' is not an integer 0..255",
                 path_in(f, "train.csv"));
}

static void csv_pixel_out_of_range(void **state) {
    Fixture *f = *state;
    write_text(path_in(f, "train.csv"), "1,2,3,4,256\n");
    expect_error(f, NN_TRAIN, "%s:1:9: pixel value '256' is not an integer 0..255",
                 path_in(f, "train.csv"));
    write_text(path_in(f, "train.csv"), "1,-1,3,4,5\n");
    expect_error(f, NN_TRAIN, "%s:1:3: pixel value '-1' is not an integer 0..255",
                 path_in(f, "train.csv"));
}

static void csv_label_out_of_range(void **state) {
    Fixture *f = *state;
    write_text(path_in(f, "test.csv"), "1,2,3,4,5\n3,2,3,4,5\n");
    expect_error(f, NN_TEST, "%s:2:1: label '3' is out of range for 3 classes (0..2)",
                 path_in(f, "test.csv"));
}

static void csv_without_examples(void **state) {
    Fixture *f = *state;
    write_text(path_in(f, "train.csv"), "label,a,b,c,d\n\n");
    expect_error(f, NN_TRAIN, "%s: no examples", path_in(f, "train.csv"));
}

/* "1,2,3,4,5" would parse, and hide the rest of the line */
static void csv_nul_byte(void **state) {
    Fixture *f = *state;
    write_bytes(path_in(f, "train.csv"), "0,1,2,3,4\n1,2,3,4,5\0,6\n", 23);
    expect_error(f, NN_TRAIN, "%s:2:10: NUL byte", path_in(f, "train.csv"));
}

/* A CSV of `example` (one-digit fields) padded with spaces to len bytes,
 * after a header naming each column 'c' */
static void write_long_line(const char *path, const char *example, size_t len) {
    size_t h = strlen(example) + 1;
    char *text = malloc(h + len + 2);
    assert_non_null(text);
    for (size_t i = 0; i < h - 1; i++)
        text[i] = example[i] == ',' ? ',' : 'c';
    text[h - 1] = '\n';
    size_t n = h + (size_t)sprintf(text + h, "%s", example);
    memset(text + n, ' ', h + len - n);
    strcpy(text + h + len, "\n");
    write_text(path, text);
    free(text);
}

/* A line may be as long as 1 MiB, not one byte longer */
static void csv_line_too_long(void **state) {
    Fixture *f = *state;
    const char *csv = path_in(f, "train.csv");
    write_long_line(csv, "1,2,3,4,5", 1 << 20);
    assert_int_equal(load(f, NN_TRAIN), 0);
    assert_int_equal(f->d.n, 1);
    nn_data_free(&f->d);
    write_long_line(csv, "1,2,3,4,5", (1 << 20) + 1);
    expect_error(f, NN_TRAIN,
                 "%s:2: line longer than 1048576 bytes: not one example", csv);
}

/* or 64 times 16 bytes a field, for inputs where that is more */
static void csv_long_line_of_a_large_input(void **state) {
    Fixture *f = *state;
    enum { BIG = 5000, MAX = 64 * 16 * (BIG + 1) }; /* 5121024 */
    const nn_data_spec big = {1, 1, BIG, CLASSES, SIZE_MAX};
    const char *csv = path_in(f, "train.csv");
    char example[2 * BIG + 2] = "1";
    for (int i = 0; i < BIG; i++)
        strcat(example + 2 * i, ",0");
    write_long_line(csv, example, MAX);
    assert_int_equal(load_as(f, NN_TRAIN, &big), 0);
    assert_int_equal(f->d.n, 1);
    nn_data_free(&f->d);
    write_long_line(csv, example, MAX + 1);
    expect_error_as(f, NN_TRAIN, &big,
                    "%s:2: line longer than 5121024 bytes: not one example", csv);
}

/* ---------------------------------------------------------------- nn_data_open */

/* Opens the sets `want` asks for into f->all */
static int open_with(Fixture *f, const nn_data_options *o, const nn_data_spec *s, unsigned want,
                     const nn_data_meta *saved) {
    nn_data_close(&f->all);
    return nn_data_open(&f->all, o, s, want, saved, f->err, sizeof f->err);
}

static void expect_open_error(Fixture *f, const nn_data_options *o, const nn_data_spec *s,
                              unsigned want, const nn_data_meta *saved, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Opening must fail with exactly this message, and leave nothing open */
static void expect_open_error(Fixture *f, const nn_data_options *o, const nn_data_spec *s,
                              unsigned want, const nn_data_meta *saved, const char *fmt, ...) {
    char want_text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want_text, sizeof want_text, fmt, ap);
    va_end(ap);
    assert_int_equal(open_with(f, o, s, want, saved), -1);
    assert_string_equal(f->err, want_text);
    assert_int_equal(f->all.train.n, 0);
    assert_null(f->all.train.values);
    assert_null(f->all.test.values);
    assert_null(f->all.meta.class_names);
}

static void assert_floats(const float *got, const float *want, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("value %zu: %.9g, expected %.9g", i, (double)got[i], (double)want[i]);
}

static void assert_ints(const int *got, const int *want, size_t n) {
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
}

/* A flat model of 2 inputs and 2 classes, and one of 4 inputs */
static const nn_data_spec flat2 = {1, 1, 2, 2, SIZE_MAX};
static const nn_data_spec flat4 = {1, 1, 4, CLASSES, SIZE_MAX};

/* --train FILE.csv with the given options: the training set only */
static int open_csv(Fixture *f, nn_data_options o, const nn_data_spec *s, const char *text) {
    const char *path = path_in(f, "data.csv");
    write_text(path, text);
    o.train = path;
    return open_with(f, &o, s, NN_WANT_TRAIN, NULL);
}

static void expect_csv_error(Fixture *f, nn_data_options o, const nn_data_spec *s,
                             const char *text, const char *message) {
    const char *path = path_in(f, "data.csv");
    write_text(path, text);
    o.train = path;
    expect_open_error(f, &o, s, NN_WANT_TRAIN, NULL, "%s%s", path, message);
}

/* ---------------------------------------------------------------- CSV of numbers */

/* Floats in any notation, a quoted class-name column picked by name,
 * semicolons, CRLF: the names sorted, the values as they are */
static void csv_floats_and_class_names(void **state) {
    Fixture *f = *state;
    assert_int_equal(open_csv(f, (nn_data_options){.label = "species"}, &flat2,
                              "a;\"b\";species\r\n"
                              "1e-3;-.5;\"setosa\"\r\n"
                              "+2; 3.25 ;versicolor\r\n"
                              "4;\"5\";setosa\r\n"),
                     0);
    const nn_data *d = &f->all;
    assert_int_equal(d->train.n, 3);
    assert_null(d->train.pixels);
    const float x[6] = {(float)1e-3, -0.5f, 2, 3.25f, 4, 5};
    const int y[3] = {0, 1, 0};
    assert_floats(d->train.values, x, 6);
    assert_ints(d->train.labels, y, 3);
    assert_int_equal(d->meta.n_classes, 2);
    assert_string_equal(d->meta.class_names[0], "setosa");
    assert_string_equal(d->meta.class_names[1], "versicolor");
    assert_string_equal(d->meta.label_name, "species");
    /* names sort by strcmp, whatever order they come in; --label by index */
    assert_int_equal(open_csv(f, (nn_data_options){.label = "3"}, &flat2,
                              "1,2,b\n3,4,a\n5,6,B\n"),
                     -1);
    assert_int_equal(open_csv(f, (nn_data_options){.label = "3"}, &(nn_data_spec){1, 1, 2, 3, SIZE_MAX},
                              "1,2,b\n3,4,a\n5,6,B\n"),
                     0);
    const int y3[3] = {2, 1, 0};
    assert_ints(f->all.train.labels, y3, 3);
    assert_null(f->all.meta.label_name);
}

/* Without --label: a header column named 'label' (any case), else the first */
static void csv_default_label_column(void **state) {
    Fixture *f = *state;
    assert_int_equal(open_csv(f, (nn_data_options){0}, &flat2, "x1,Label,x2\n1,1,2\n3,0,4\n"), 0);
    const float x[4] = {1, 2, 3, 4};
    const int y[2] = {1, 0};
    assert_floats(f->all.train.values, x, 4);
    assert_ints(f->all.train.labels, y, 2);
    assert_string_equal(f->all.meta.label_name, "Label");
    assert_int_equal(open_csv(f, (nn_data_options){0}, &flat2, "1,1,2\n0,3,4\n"), 0);
    assert_ints(f->all.train.labels, y, 2);
    assert_floats(f->all.train.values, x, 4);
    /* a UTF-8 byte order mark before the header or the first example is skipped */
    assert_int_equal(open_csv(f, (nn_data_options){0}, &flat2, "\xef\xbb\xbf" "1,1,2\n0,3,4\n"), 0);
    assert_int_equal(f->all.train.n, 2);
    assert_ints(f->all.train.labels, y, 2);
    assert_int_equal(open_csv(f, (nn_data_options){0}, &flat2,
                              "\xef\xbb\xbf" "x1,label,x2\n1,1,2\n3,0,4\n"), 0);
    assert_string_equal(f->all.meta.label_name, "label");
    assert_floats(f->all.train.values, x, 4);
}

/* An all-integer CSV for a flat model holds values, not pixels: no /255 */
static void csv_integers_for_a_flat_model_are_values(void **state) {
    Fixture *f = *state;
    assert_int_equal(open_csv(f, (nn_data_options){0}, &flat4, "2,0,255,1,200\n"), 0);
    assert_null(f->all.train.pixels);
    const float x[4] = {0, 255, 1, 200};
    assert_floats(f->all.train.values, x, 4);
    /* an image model's CSV is pixels, x/255 as the IDX files */
    assert_int_equal(open_csv(f, (nn_data_options){0}, &spec, "2,0,255,1,200\n"), 0);
    assert_non_null(f->all.train.pixels);
    assert_null(f->all.train.values);
}

/* auto: a header when a field is not a number and the same field of the
 * next line is one; class names in both lines are data */
static void csv_header_rule(void **state) {
    Fixture *f = *state;
    const char *no_header = "5.1,3.5,setosa\n4.9,3.0,virginica\n1,2,setosa\n";
    nn_data_options by3 = {.label = "3"};
    assert_int_equal(open_csv(f, by3, &flat2, no_header), 0);
    assert_int_equal(f->all.train.n, 3);
    by3.header = "yes";
    assert_int_equal(open_csv(f, by3, &flat2, no_header), 0);
    assert_int_equal(f->all.train.n, 2);
    /* an empty field is a missing value, not a name */
    expect_csv_error(f, (nn_data_options){0}, &flat2, "1,,3\n", ":1:3: empty field");
    nn_data_options no = {.header = "no"};
    expect_csv_error(f, no, &flat2, "label,a,b\n1,2,3\n", ":1:7: 'a' is not a number");
    expect_csv_error(f, (nn_data_options){.header = "maybe"}, &flat2, "1,2,3\n",
                     ": --header 'maybe': expected yes, no or auto");
    expect_csv_error(f, (nn_data_options){0}, &flat2, "label,a,b\n", ": no examples");
}

static void csv_delimiters(void **state) {
    Fixture *f = *state;
    const float x[2] = {1.5f, 2};
    assert_int_equal(open_csv(f, (nn_data_options){0}, &flat2, "label\ta\tb\n1\t1.5\t2\n"), 0);
    assert_floats(f->all.train.values, x, 2);
    assert_int_equal(open_csv(f, (nn_data_options){.delimiter = "tab"}, &flat2, "1\t1.5\t2\n"), 0);
    assert_floats(f->all.train.values, x, 2);
    /* a comma inside quotes is no delimiter */
    assert_int_equal(open_csv(f, (nn_data_options){.delimiter = ";"}, &flat2, "\"a,b\";1.5;2\n"
                              "\"c\"\"d\";1;1\n"), 0);
    assert_string_equal(f->all.meta.class_names[0], "a,b");
    assert_string_equal(f->all.meta.class_names[1], "c\"d");
    expect_csv_error(f, (nn_data_options){.delimiter = "|"}, &flat2, "1|2|3\n",
                     ": --delimiter '|': expected ',', ';' or 'tab'");
}

static void csv_field_errors(void **state) {
    Fixture *f = *state;
    nn_data_options o = {0};
    expect_csv_error(f, o, &flat2, "1,2,3\n0,,3\n", ":2:3: empty field");
    expect_csv_error(f, o, &flat2, "1,2,3\n0,2,nan\n", ":2:5: 'nan' is not a number");
    expect_csv_error(f, o, &flat2, "1,2,3\n0,NaN,1\n", ":2:3: 'NaN' is not a number");
    expect_csv_error(f, o, &flat2, "1,2,3\n0,2,x7\n", ":2:5: 'x7' is not a number");
    expect_csv_error(f, o, &flat2, "1,2,3\n0,0x10,1\n", ":2:3: '0x10' is not a number");
    /* quoted with the bytes outside printable ASCII escaped */
    expect_csv_error(f, o, &flat2, "1,2,3\n0,\x1b[2J\\,1\n", ":2:3: '\\x1b[2J\\x5c' is not a number");
    expect_csv_error(f, o, &flat2, "1,2,3\n0,-inf,1\n", ":2:3: '-inf' is not a finite number");
    expect_csv_error(f, o, &flat2, "1,2,3\n0,1e39,1\n",
                     ":2:3: '1e39' is out of the range of a float");
    expect_csv_error(f, o, &flat2, "1,\"2,3\n", ":1:3: unterminated quoted field");
    expect_csv_error(f, o, &flat2, "1,\"2\"x,3\n", ":1:6: text after a quoted field");
    expect_csv_error(f, o, &flat2, "1,2,3\n1,2\n", ":2: wrong number of fields: expected 3, got 2");
    expect_csv_error(f, o, &flat2, "1,2,3,4\n", ": 4 columns: 1 label and 3 features, but the "
                     "model's input has 2 values");
    expect_csv_error(f, o, &flat2, "1,2,3\n2,2,3\n", ":2:1: label '2' is out of range for 2 "
                     "classes (0..1)");
}

static void csv_label_errors(void **state) {
    Fixture *f = *state;
    expect_csv_error(f, (nn_data_options){.label = "9"}, &flat2, "1,2,3\n",
                     ": --label 9: the file has 3 columns");
    expect_csv_error(f, (nn_data_options){.label = "kind"}, &flat2, "a,b,c\n1,2,3\n",
                     ": --label 'kind': no such column in the header");
    expect_csv_error(f, (nn_data_options){.label = "kind"}, &flat2, "1,2,3\n",
                     ": --label 'kind' names a column, but the file has no header");
    nn_data_options o = {0};
    expect_csv_error(f, o, &flat2, "a,1,2\nb,3,4\nc,5,6\n",
                     ":3:1: class 'c' is one more than the model's 2 outputs");
    expect_csv_error(f, o, &(nn_data_spec){1, 1, 2, 3, SIZE_MAX}, "a,1,2\nb,3,4\n",
                     ": 2 class names, but the model has 3 outputs");
    expect_csv_error(f, o, &flat2, "1,1,2\nb,3,4\n",
                     ":2:1: label 'b' is a class name, but line 1 holds a class index");
    expect_csv_error(f, o, &flat2, "a,1,2\nb,3,4\n1,5,6\n",
                     ":3:1: label '1' is a class index, but line 1 holds a class name");
}

/* eval and predict read with the checkpoint's mapping */
static void csv_saved_class_names(void **state) {
    Fixture *f = *state;
    char *names[2] = {"cat", "dog"};
    const nn_data_meta saved = {.n_classes = 2, .class_names = names, .label_name = "animal"};
    const char *path = path_in(f, "data.csv");
    nn_data_options o = {.test = path};
    write_text(path, "w,animal,h\n1,dog,2\n3,cat,4\n");
    assert_int_equal(open_with(f, &o, &flat2, NN_WANT_TEST, &saved), 0);
    const int y[2] = {1, 0};
    assert_ints(f->all.test.labels, y, 2);
    assert_string_equal(f->all.meta.class_names[1], "dog");
    write_text(path, "w,animal,h\n1,dog,2\n3,cow,4\n");
    expect_open_error(f, &o, &flat2, NN_WANT_TEST, &saved,
                      "%s:3:3: class 'cow' is not one of the model's 2 classes", path);
    char *three[3] = {"a", "b", "c"};
    const nn_data_meta other = {.n_classes = 3, .class_names = three};
    expect_open_error(f, &o, &flat2, NN_WANT_TEST, &other,
                      "the data meta has 3 classes, but the model has 2 outputs");
    float mean[3] = {0}, std[3] = {1, 1, 1};
    const nn_data_meta wider = {.n_features = 3, .mean = mean, .std = std};
    expect_open_error(f, &o, &flat2, NN_WANT_TEST, &wider,
                      "the data meta has statistics of 3 features, but the model's input has 2 "
                      "values");
    const nn_data_meta ints = {0};
    write_text(path, "1,2,3\ncat,1,2\n");
    expect_open_error(f, &o, &flat2, NN_WANT_TEST, &ints,
                      "%s:2:1: label 'cat' is not a class index (the model was trained on class "
                      "indices)", path);
}

/* predict: the label column may be missing, and is ignored if there */
static void csv_predict_without_labels(void **state) {
    Fixture *f = *state;
    char *names[2] = {"cat", "dog"};
    const nn_data_meta saved = {.n_classes = 2, .class_names = names, .label_name = "animal"};
    const char *path = path_in(f, "data.csv");
    nn_data_options o = {.test = path};
    const float x[4] = {1, 2, 3, 4};
    const char *files[3] = {"w,h\n1,2\n3,4\n", "1,2\n3,4\n", "w,animal,h\n1,dog,2\n3,cow,4\n"};
    for (int k = 0; k < 3; k++) {
        write_text(path, files[k]);
        int rc = open_with(f, &o, &flat2, NN_WANT_TEST | NN_LABELS_OPTIONAL, &saved);
        if (k == 2) { /* present: read, and a class it does not know is still an error */
            assert_int_equal(rc, -1);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_null(f->all.test.labels);
        assert_floats(f->all.test.values, x, 4);
    }
}

static void csv_regression_targets(void **state) {
    Fixture *f = *state;
    const nn_data_spec two_out = {1, 1, 2, 2, SIZE_MAX};
    assert_int_equal(open_csv(f, (nn_data_options){.target = "t2,1"}, &two_out,
                              "t1,a,t2,b\n0.5,1,-2,2\n1.5,3,4e2,4\n"),
                     0);
    const float x[4] = {1, 2, 3, 4}, t[4] = {-2, 0.5f, 400, 1.5f};
    assert_null(f->all.train.labels);
    assert_int_equal(f->all.train.n_targets, 2);
    assert_floats(f->all.train.values, x, 4);
    assert_floats(f->all.train.targets, t, 4);
    assert_int_equal(f->all.meta.n_targets, 2);
    assert_string_equal(f->all.meta.target_names[0], "t2");
    assert_string_equal(f->all.meta.target_names[1], "t1");
    expect_csv_error(f, (nn_data_options){.target = "1"}, &two_out, "1,2,3\n",
                     ": 1 target, but the model has 2 outputs");
    expect_csv_error(f, (nn_data_options){.target = "1,1"}, &two_out, "1,2,3,4\n",
                     ": --target names column 1 twice");
    expect_csv_error(f, (nn_data_options){.target = "1,2"}, &two_out, "1,,3,4\n",
                     ":1:3: empty field");
    /* eval: the checkpoint's model is a regression of unnamed targets */
    const nn_data_meta saved = {.n_targets = 2};
    const char *path = path_in(f, "data.csv");
    expect_open_error(f, &(nn_data_options){.test = path}, &two_out, NN_WANT_TEST, &saved,
                      "%s: the model predicts 2 targets: name the columns with --target "
                      "COL[,COL...]", path);
}

/* ---------------------------------------------------------------- NumPy */

/* An .npy file of format version `major`: header dict `dict` then len
 * bytes of data */
static void write_npy_version(const char *path, int major, const char *dict, const void *data,
                              size_t len) {
    unsigned char b[512];
    size_t h = strlen(dict), start = major == 1 ? 10 : 12;
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major, b[7] = 0;
    b[8] = (unsigned char)h, b[9] = (unsigned char)(h >> 8), b[10] = b[11] = 0;
    memcpy(b + start, dict, h);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, start + h, fp), start + h);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void write_npy(const char *path, const char *dict, const void *data, size_t len) {
    write_npy_version(path, 1, dict, data, len);
}

/* Runs a Python program with NumPy in the test's directory */
static void python(const Fixture *f, const char *program) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && /usr/bin/python3 -c \"import numpy as np\n%s\"", f->dir,
             program);
    assert_int_equal(system(cmd), 0);
}

/* An .npz written by NumPy, stored and deflated, in the Keras layout */
static void npz_from_numpy_loads(void **state) {
    Fixture *f = *state;
    python(f, "x = np.arange(20, dtype=np.uint8).reshape(5, 2, 2)\n"
              "y = np.array([2, 0, 1, 1, 0])\n"
              "xt = np.array([[0.5, -1, 2, 3]], dtype=np.float32).reshape(1, 2, 2, 1)\n"
              "np.savez('plain.npz', x_train=x, y_train=y, x_test=xt, y_test=np.int32([1]))\n"
              "np.savez_compressed('packed.npz', x_train=x, y_train=y, x_test=xt, "
              "y_test=np.int32([1]))\n");
    const char *files[2] = {"plain.npz", "packed.npz"};
    for (int k = 0; k < 2; k++) {
        nn_data_options o = {.train = path_in(f, files[k])};
        assert_int_equal(open_with(f, &o, &spec, NN_WANT_TRAIN | NN_WANT_TEST, NULL), 0);
        const nn_data *d = &f->all;
        assert_int_equal(d->train.n, 5);
        uint8_t px[20];
        for (int i = 0; i < 20; i++)
            px[i] = (uint8_t)i;
        assert_memory_equal(d->train.pixels, px, 20);
        const int y[5] = {2, 0, 1, 1, 0};
        assert_ints(d->train.labels, y, 5);
        assert_int_equal(d->test.n, 1);
        const float xt[4] = {0.5f, -1, 2, 3};
        assert_floats(d->test.values, xt, 4);
        assert_int_equal(d->test.labels[0], 1);
    }
}

/* Float labels in an .npz are regression targets */
static void npz_regression(void **state) {
    Fixture *f = *state;
    python(f, "np.savez('r.npz', x=np.float64([[1, 2], [3, 4]]), y=np.float32([0.25, -8]))\n");
    nn_data_options o = {.train = path_in(f, "r.npz"), .test_split = 0.5};
    const nn_data_spec one = {1, 1, 2, 1, SIZE_MAX};
    assert_int_equal(open_with(f, &o, &one, NN_WANT_TRAIN | NN_WANT_TEST, NULL), 0);
    assert_null(f->all.train.labels);
    assert_int_equal(f->all.train.n_targets, 1);
    assert_int_equal(f->all.meta.n_targets, 1);
    assert_int_equal(f->all.train.n + f->all.test.n, 2);
}

static void npy_pair_loads(void **state) {
    Fixture *f = *state;
    const double x[8] = {1, 2, 3, 4, -5, 6.5, 7, 8};
    const int32_t y[2] = {1, 2};
    char pair[2048];
    write_npy(path_in(f, "x.npy"), "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4), }",
              x, sizeof x);
    write_npy(path_in(f, "y.npy"), "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
              y, sizeof y);
    snprintf(pair, sizeof pair, "%s,%s", path_in(f, "x.npy"), path_in(f, "y.npy"));
    nn_data_options o = {.train = pair};
    assert_int_equal(open_with(f, &o, &flat4, NN_WANT_TRAIN, NULL), 0);
    const float xf[8] = {1, 2, 3, 4, -5, 6.5f, 7, 8};
    assert_floats(f->all.train.values, xf, 8);
    assert_int_equal(f->all.train.labels[1], 2);
    /* predict: the features alone */
    nn_data_options p = {.test = path_in(f, "x.npy")};
    assert_int_equal(open_with(f, &p, &flat4, NN_WANT_TEST | NN_LABELS_OPTIONAL, NULL), 0);
    assert_null(f->all.test.labels);
    expect_open_error(f, &(nn_data_options){.train = path_in(f, "x.npy")}, &flat4, NN_WANT_TRAIN,
                      NULL, "%s: the features need their labels: give the two files as X,Y",
                      path_in(f, "x.npy"));
}

/* Each bad .npy header, as the X of a pair */
static void expect_npy_error(Fixture *f, const char *dict, const void *data, size_t len,
                             const nn_data_spec *s, const char *message) {
    const int32_t y[2] = {0, 1};
    char pair[2048];
    write_npy(path_in(f, "x.npy"), dict, data, len);
    write_npy(path_in(f, "y.npy"), "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
              y, sizeof y);
    snprintf(pair, sizeof pair, "%s,%s", path_in(f, "x.npy"), path_in(f, "y.npy"));
    nn_data_options o = {.train = pair};
    expect_open_error(f, &o, s, NN_WANT_TRAIN, NULL, "%s%s", path_in(f, "x.npy"), message);
}

static void npy_errors(void **state) {
    Fixture *f = *state;
    const float x[8] = {0};
    expect_npy_error(f, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 4), }", x,
                     sizeof x, &flat4, ": the array is in Fortran order: save it in C order "
                     "(numpy.ascontiguousarray)");
    expect_npy_error(f, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 4), }", x,
                     sizeof x, &flat4, ": dtype '>f4' is big-endian: save it little-endian "
                     "(astype('<f4'))");
    expect_npy_error(f, "{'descr': '|O', 'fortran_order': False, 'shape': (2, 4), }", x,
                     sizeof x, &flat4, ": dtype '|O' is not supported: expected uint8 ('|u1'), "
                     "int32 ('<i4'), int64 ('<i8'), float32 ('<f4') or float64 ('<f8')");
    expect_npy_error(f, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", x,
                     4 * sizeof *x, &flat4, ": features of shape (2, 2) are 2 values an example, "
                     "but the model's input has 4");
    expect_npy_error(f, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", x,
                     sizeof x, &spec, ": features of shape (2, 4) do not fit the model's input "
                     "2x2x1");
    expect_npy_error(f, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", x,
                     sizeof x - 1, &flat4, ": truncated: the shape needs 32 bytes of data, the "
                     "file has 31");
    expect_npy_error(f, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, "
                     "4611686018427387904), }", x, sizeof x, &flat4,
                     ": corrupt: the shape's size overflows");
    expect_npy_error(f, "{'descr': '<f4', 'fortran_order': False, 'shape': (536870912, 4), }", x,
                     sizeof x, &flat4, ": truncated: the shape needs 8589934592 bytes of data, "
                     "the file has 32");
    expect_npy_error(f, "{'descr': '<f4', 'shape': (2, 4), }", x, sizeof x, &flat4,
                     ": malformed .npy header: expected {'descr': ..., 'fortran_order': ..., "
                     "'shape': (...)}");
    const float nan[4] = {0, 0, NAN, 0};
    expect_npy_error(f, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), }", nan,
                     sizeof nan, &flat4, ": value 3 of example 1 is not a finite float");
}

/* Each bad labels (or targets) array, as the Y of a pair of 2 examples */
static void expect_labels_error(Fixture *f, const char *dict, const void *data, size_t len,
                                const nn_data_spec *s, const char *message) {
    const float x[8] = {0};
    char pair[2048];
    write_npy(path_in(f, "x.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }",
              x, sizeof x);
    write_npy(path_in(f, "y.npy"), dict, data, len);
    snprintf(pair, sizeof pair, "%s,%s", path_in(f, "x.npy"), path_in(f, "y.npy"));
    nn_data_options o = {.train = pair};
    expect_open_error(f, &o, s, NN_WANT_TRAIN, NULL, "%s%s", path_in(f, "y.npy"), message);
}

static void npy_label_errors(void **state) {
    Fixture *f = *state;
    const int64_t y[20] = {0, 3};
    expect_labels_error(f, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", y,
                        2 * sizeof *y, &flat4, ": label 3 of example 2 is out of range for 3 "
                        "classes (0..2)");
    expect_labels_error(f, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", y,
                        3 * sizeof *y, &flat4, ": labels of shape (3,) for 2 examples");
    expect_labels_error(f, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", y,
                        6 * sizeof *y, &flat4, ": labels of shape (2, 3): expected one class "
                        "index per example, (2,)");
    const double t[6] = {1, 2, 3, 4, INFINITY, 6};
    expect_labels_error(f, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", t,
                        4 * sizeof *t, &flat4, ": targets of shape (2, 2), but the model has 3 "
                        "outputs");
    expect_labels_error(f, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", t,
                        sizeof t, &flat4, ": target 5 is not a finite float");
    /* a version 2 header reads as version 1; version 4 does not exist */
    const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    write_npy_version(path_in(f, "x.npy"), 2,
                      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4)}", x, sizeof x);
    nn_data_options p = {.test = path_in(f, "x.npy")};
    assert_int_equal(open_with(f, &p, &flat4, NN_WANT_TEST | NN_LABELS_OPTIONAL, NULL), 0);
    assert_floats(f->all.test.values, x, 8);
    write_npy_version(path_in(f, "x.npy"), 4,
                      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4)}", x, sizeof x);
    expect_open_error(f, &p, &flat4, NN_WANT_TEST | NN_LABELS_OPTIONAL, NULL,
                      "%s: unsupported .npy version 4.0 (this reader takes 1, 2 and 3)", p.test);
    write_npy(path_in(f, "x.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (8,)}", x,
              sizeof x);
    expect_open_error(f, &p, &flat4, NN_WANT_TEST | NN_LABELS_OPTIONAL, NULL,
                      "%s: features of shape (8,): expected one row per example, (examples, ...)",
                      p.test);
    /* (n, H, W) and (n, H, W, C) fit an image input */
    write_npy(path_in(f, "x.npy"), "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 2, 1)}",
              pixels, 4);
    assert_int_equal(open_with(f, &p, &spec, NN_WANT_TEST | NN_LABELS_OPTIONAL, NULL), 0);
    assert_memory_equal(f->all.test.pixels, pixels, 4);
}

/* The bytes of a file, to corrupt them */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char *b = malloc(1 << 16);
    assert_non_null(b);
    *len = fread(b, 1, 1 << 16, fp);
    fclose(fp);
    return b;
}

static void npz_errors(void **state) {
    Fixture *f = *state;
    python(f, "np.savez('d.npz', x_train=np.float32([[1, 2]]), y_train=np.int64([1]))\n"
              "np.savez('nolabels.npz', x_train=np.float32([[1, 2]]))\n"
              "np.savez('other.npz', a=np.float32([[1, 2]]))\n");
    char npz[1024]; /* path_in's buffers are reused below */
    snprintf(npz, sizeof npz, "%s", path_in(f, "d.npz"));
    nn_data_options o = {.train = npz};
    /* no test set in it, and no --test-split */
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN | NN_WANT_TEST, NULL,
                      "%s: no x_test.npy in the archive", npz);
    /* an archive of x and y is one set: the training set, and with
     * --test FILE the test set, never both from one file */
    python(f, "np.savez('xy.npz', x=np.float32([[1, 2]]), y=np.int64([1]))\n");
    const char *xy = path_in(f, "xy.npz");
    expect_open_error(f, &(nn_data_options){.train = xy}, &flat2, NN_WANT_TRAIN | NN_WANT_TEST,
                      NULL, "%s: no x_test.npy in the archive", xy);
    assert_int_equal(open_with(f, &(nn_data_options){.train = xy, .test = xy}, &flat2,
                               NN_WANT_TRAIN | NN_WANT_TEST, NULL), 0);
    assert_int_equal(f->all.test.labels[0], 1);
    o.train = path_in(f, "other.npz");
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN, NULL,
                      "%s: no x_train.npy (or x.npy) in the archive", o.train);
    o.train = path_in(f, "nolabels.npz");
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN, NULL,
                      "%s: has x_train.npy but no y_train.npy", o.train);
    /* a flipped byte of the stored data: the CRC catches it */
    size_t len;
    unsigned char *b = slurp(npz, &len);
    size_t at = 0;
    while (memcmp(b + at, "\x93NUMPY", 6) != 0)
        at++;
    b[at + 10] ^= 0x20; /* inside the header dict: '{' becomes '[' */
    write_bytes(npz, b, len);
    o.train = npz;
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN, NULL,
                      "%s: x_train.npy: CRC mismatch: the archive is corrupt", npz);
    /* the end-of-directory record of a zip64 archive: 0xffff entries */
    b[at + 10] ^= 0x20;
    size_t e = len - 22;
    b[e + 8] = b[e + 9] = b[e + 10] = b[e + 11] = 0xff;
    write_bytes(npz, b, len);
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN, NULL,
                      "%s: a zip64 archive: not supported (save smaller arrays, or separate .npy "
                      "files)", npz);
    write_bytes(npz, b, 100);
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN, NULL,
                      "%s: not a zip archive (.npz): no end of central directory", npz);
    free(b);
}

/* The central directory's word on a member: its method, flags and sizes */
static void npz_member_errors(void **state) {
    Fixture *f = *state;
    python(f, "np.savez_compressed('d.npz', x_train=np.zeros((200, 2), np.float32), "
              "y_train=np.zeros(200, np.int64))\n");
    const char *npz = path_in(f, "d.npz");
    size_t len;
    unsigned char *b = slurp(npz, &len), *c = malloc(len);
    assert_non_null(c);
    size_t cd = 0; /* the first central directory entry: x_train.npy */
    while (memcmp(b + cd, "PK\1\2", 4) != 0)
        cd++;
    const struct {
        size_t at;
        unsigned char byte;
        const char *message;
    } bad[] = {
        {cd + 10, 12, ": x_train.npy: compression method 12: not supported (stored or deflated "
                      "only)"},
        {cd + 8, 1, ": x_train.npy: encrypted: not supported"},
        {cd + 27, 0x7f, ": x_train.npy: corrupt zip: %u bytes cannot inflate to %u"},
        {cd + 24, 0xff, ": x_train.npy: corrupt: the deflated data does not hold %u bytes"},
        {cd + 42, 0x7f, ": x_train.npy: corrupt zip: bad local header"},
    };
    nn_data_options o = {.train = npz};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        memcpy(c, b, len);
        c[bad[k].at] = bad[k].byte;
        uint32_t csize = c[cd + 20] | (uint32_t)c[cd + 21] << 8 | (uint32_t)c[cd + 22] << 16 |
                         (uint32_t)c[cd + 23] << 24;
        uint32_t usize = c[cd + 24] | (uint32_t)c[cd + 25] << 8 | (uint32_t)c[cd + 26] << 16 |
                         (uint32_t)c[cd + 27] << 24;
        char message[256];
        if (k == 2)
            snprintf(message, sizeof message, bad[k].message, csize, usize);
        else if (k == 3)
            snprintf(message, sizeof message, bad[k].message, usize);
        else
            snprintf(message, sizeof message, "%s", bad[k].message);
        write_bytes(npz, c, len);
        expect_open_error(f, &o, &flat2, NN_WANT_TRAIN, NULL, "%s%s", npz, message);
    }
    free(b);
    free(c);
}

/* The name and the content must agree */
static void format_by_name_and_content(void **state) {
    Fixture *f = *state;
    const float x[2] = {0};
    write_npy(path_in(f, "x.csv"), "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }",
              x, sizeof x);
    nn_data_options o = {.train = path_in(f, "x.csv")};
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN, NULL,
                      "%s: named as a CSV file, but it holds a NumPy .npy array", o.train);
    write_text(path_in(f, "x.npz"), "1,2,3\n");
    o.train = path_in(f, "x.npz");
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN, NULL,
                      "%s: named as a NumPy .npz archive, but it holds text", o.train);
    o.train = path_in(f, "gone.csv");
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN, NULL,
                      "%s: No such file or directory", o.train);
    o.train = "/dev/null";
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN, NULL, "/dev/null: not a regular file");
    write_text(path_in(f, "x.data"), "1,2,3\n");
    o.train = path_in(f, "x.data");
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN, NULL,
                      "%s: unknown data file type: expected .csv, .tsv, .txt, .npy, .npz, or IDX "
                      "(-ubyte or .idx, maybe .gz)", o.train);
    char pair[2048];
    snprintf(pair, sizeof pair, "%s,%s", path_in(f, "x.csv"), path_in(f, "x.data"));
    o.train = path_in(f, "x.csv");
    write_text(path_in(f, "x.csv"), "1,2,3\n");
    expect_open_error(f, &(nn_data_options){.train = path_in(f, "x.csv"), .test = path_in(f, "x.csv"),
                                            .test_split = 0.5},
                      &flat2, NN_WANT_TRAIN | NN_WANT_TEST, NULL,
                      "%s: --test FILE and --test-split F exclude each other", o.train);
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN | NN_WANT_TEST, NULL,
                      "%s: no test set: give --test FILE or --test-split F", o.train);
    /* IDX pairs are X,Y too, named as the MNIST files are */
    write_train_idx(f, ".gz");
    snprintf(pair, sizeof pair, "%s,%s", path_in(f, "train-images-idx3-ubyte.gz"),
             path_in(f, "train-labels-idx1-ubyte.gz"));
    o.train = pair;
    assert_int_equal(open_with(f, &o, &spec, NN_WANT_TRAIN, NULL), 0);
    assert_all_examples(&f->all.train, N);
}

/* ---------------------------------------------------------------- splits */

/* N rows, feature = the row number, label = the row number mod 2 */
static void write_rows(Fixture *f, size_t n) {
    char *text = malloc(n * 32 + 1), *p = text;
    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%zu,%zu,0\n", i % 2, i);
    write_text(path_in(f, "rows.csv"), text);
    free(text);
}

/* --val-split: the last floor(F n) rows of the (first --limit) training rows */
static void val_split_is_the_last_rows(void **state) {
    Fixture *f = *state;
    write_rows(f, 10);
    nn_data_options o = {.train = path_in(f, "rows.csv"), .val_split = 0.25};
    assert_int_equal(open_with(f, &o, &flat2, NN_WANT_TRAIN, NULL), 0);
    assert_int_equal(f->all.train.n, 8);
    assert_int_equal(f->all.val.n, 2);
    assert_true(f->all.val.view);
    assert_true(f->all.val.values[0] == 8 && f->all.val.values[2] == 9);
    nn_data_spec six = flat2;
    six.limit = 6;
    o.val_split = 0.5;
    assert_int_equal(open_with(f, &o, &six, NN_WANT_TRAIN, NULL), 0);
    assert_int_equal(f->all.train.n, 3);
    assert_int_equal(f->all.val.n, 3);
    assert_true(f->all.val.values[0] == 3 && f->all.val.values[4] == 5);
    o.val_split = 0.01;
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN, NULL,
                      "%s: --val-split 0.01 holds out 0 of the 10 training examples", o.train);
}

/* --test-split: the documented draw, a pure function of the seed and n */
static void test_split_draw(void **state) {
    Fixture *f = *state;
    enum { ROWS_N = 50 };
    write_rows(f, ROWS_N);
    nn_data_options o = {.train = path_in(f, "rows.csv"), .test_split = 0.2, .seed = 7};
    nn_data_spec lim = flat2;
    lim.limit = 30;
    assert_int_equal(open_with(f, &o, &lim, NN_WANT_TRAIN | NN_WANT_TEST, NULL), 0);
    /* the draw: Fisher-Yates of 0..n-1 with nn_rng(nn_hash2(seed, 3)); the first k held out */
    size_t perm[ROWS_N];
    int held[ROWS_N] = {0};
    nn_rng r = nn_rng_seed(nn_hash2(7, 3));
    for (size_t i = 0; i < ROWS_N; i++)
        perm[i] = i;
    for (size_t i = ROWS_N - 1; i > 0; i--) {
        size_t j = (size_t)(nn_rng_next(&r) % (i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < 10; i++)
        held[perm[i]] = 1;
    assert_int_equal(f->all.test.n, 10);
    assert_int_equal(f->all.train.n, 30); /* --limit after the draw */
    size_t t = 0, k = 0;
    for (size_t i = 0; i < ROWS_N; i++) {
        if (held[i]) {
            assert_true(f->all.test.values[2 * t] == (float)i);
            assert_int_equal(f->all.test.labels[t++], (int)(i % 2));
        } else if (k < 30)
            assert_true(f->all.train.values[2 * k++] == (float)i);
    }
    o.test_split = 0.01;
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN | NN_WANT_TEST, NULL,
                      "%s: --test-split 0.01 holds out 0 of the 50 examples", o.train);
    o.test_split = 1;
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN | NN_WANT_TEST, NULL,
                      "--test-split 1: expected a fraction, 0 < F < 1");
    o.test_split = 0;
    o.val_split = 1e300;
    expect_open_error(f, &o, &flat2, NN_WANT_TRAIN | NN_WANT_TEST, NULL,
                      "--val-split 1e+300: expected a fraction, 0 < F < 1");
}

/* ---------------------------------------------------------------- --standardize */

static void standardize_with_the_training_statistics(void **state) {
    Fixture *f = *state;
    write_text(path_in(f, "train.csv"), "0,1,5\n1,3,5\n0,5,5\n1,7,5\n");
    write_text(path_in(f, "test.csv"), "0,4,6\n");
    nn_data_options o = {.train = path_in(f, "train.csv"), .test = path_in(f, "test.csv"),
                         .standardize = 1};
    assert_int_equal(open_with(f, &o, &flat2, NN_WANT_TRAIN | NN_WANT_TEST, NULL), 0);
    const nn_data_meta *m = &f->all.meta;
    assert_int_equal(m->n_features, 2);
    /* mean 4, std sqrt(5) (ddof 0); the constant column: mean 5, std 1 */
    assert_true(m->mean[0] == 4 && m->std[0] == (float)sqrt(5.0));
    assert_true(m->mean[1] == 5 && m->std[1] == 1);
    assert_true(f->all.train.values[0] == (1 - 4) / (float)sqrt(5.0));
    assert_true(f->all.train.values[1] == 0);
    assert_true(f->all.test.values[0] == 0 && f->all.test.values[1] == 1);
    /* eval: the checkpoint's statistics, whether --standardize is given or not */
    nn_data_meta saved;
    assert_int_equal(nn_data_meta_copy(&saved, m), 0);
    nn_data_options e = {.test = path_in(f, "test.csv")};
    assert_int_equal(open_with(f, &e, &flat2, NN_WANT_TEST, &saved), 0);
    assert_true(f->all.test.values[0] == 0 && f->all.test.values[1] == 1);
    nn_data_meta_free(&saved);
    e.standardize = 1;
    expect_open_error(f, &e, &flat2, NN_WANT_TEST, NULL,
                      "--standardize: no training statistics to apply (the checkpoint was "
                      "trained without --standardize)");
    /* pixels are standardized as the floats p/255 */
    write_train_idx(f, "");
    nn_data_options px = {.dir = f->dir, .standardize = 1, .val_split = 0.4};
    assert_int_equal(open_with(f, &px, &spec, NN_WANT_TRAIN, NULL), 0);
    assert_null(f->all.train.pixels);
    assert_int_equal(f->all.val.n, 2);
    double mean0 = (0 + 3 + 7) / 3.0 / 255;
    assert_true(f->all.meta.mean[0] == (float)mean0);
}

/* ---------------------------------------------------------------- the meta's bytes */

static void meta_round_trip_and_corruption(void **state) {
    Fixture *f = *state;
    char *classes[2] = {"cat", "dog"}, *targets[2] = {"t", ""};
    float mean[3] = {0.5f, -1, 2}, std[3] = {1, 0.25f, 3};
    const nn_data_meta m = {2, classes, "animal", 2, targets, 3, mean, std};
    unsigned char *buf;
    size_t len;
    assert_int_equal(nn_data_meta_encode(&m, &buf, &len), 0);
    assert_int_equal(len, 4 + 4 + 4 + 7 + 7 + 10 + 4 + 4 + 5 + 4 + 4 + 24);
    nn_data_meta back;
    assert_int_equal(nn_data_meta_decode(&back, buf, len, f->err, sizeof f->err), 0);
    assert_int_equal(back.n_classes, 2);
    assert_string_equal(back.class_names[1], "dog");
    assert_string_equal(back.label_name, "animal");
    assert_string_equal(back.target_names[0], "t");
    assert_string_equal(back.target_names[1], "");
    assert_floats(back.mean, mean, 3);
    assert_floats(back.std, std, 3);
    nn_data_meta_free(&back);
    /* every truncation is an error, never a crash */
    for (size_t n = 0; n < len; n++) {
        assert_int_equal(nn_data_meta_decode(&back, buf, n, f->err, sizeof f->err), -1);
        assert_null(back.class_names);
    }
    assert_string_equal(f->err, "data meta: 3 features cannot fit in 23 bytes");
    const struct {
        size_t at;
        unsigned char byte;
        const char *message;
    } bad[] = {
        {0, 'X', "data meta: bad magic"},
        {4, 2, "data meta: unsupported version 2 (this runtime reads 1)"},
        {8, 0xff, "data meta: 255 class names cannot fit in 69 bytes"},
        {16, 'e', "data meta: class names 1 and 2 are not in sorted order"},
        {12, 200, "data meta: a class name of 200 bytes, only 65 left"},
        {14, 1, "data meta: a class name of 65539 bytes, only 65 left"},
        {17, 0, "data meta: a class name holds a NUL byte"},
        {len - 1, 0xbf, "data meta: std 3 is -0.75"},
        {4 + 4 + 4 + 7 + 7 + 10 + 4, 3, "data meta: the target names flag is 3 for 2 targets"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        unsigned char *c = malloc(len + 1);
        assert_non_null(c);
        memcpy(c, buf, len);
        c[bad[k].at] = bad[k].byte;
        assert_int_equal(nn_data_meta_decode(&back, c, len, f->err, sizeof f->err), -1);
        assert_string_equal(f->err, bad[k].message);
        free(c);
    }
    unsigned char *longer = malloc(len + 3);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    assert_int_equal(nn_data_meta_decode(&back, longer, len + 3, f->err, sizeof f->err), -1);
    assert_string_equal(f->err, "data meta: 3 bytes after the end");
    free(longer);
    free(buf);
    /* the empty meta: integer labels, no statistics */
    assert_int_equal(nn_data_meta_encode(&(nn_data_meta){0}, &buf, &len), 0);
    assert_int_equal(nn_data_meta_decode(&back, buf, len, f->err, sizeof f->err), 0);
    assert_null(back.label_name);
    assert_int_equal(back.n_features, 0);
    free(buf);
    unsigned char names_of_none[28];
    memcpy(names_of_none, "NNDM\1\0\0\0\0\0\0\0\377\377\377\377\0\0\0\0\1\0\0\0\0\0\0\0", 28);
    assert_int_equal(nn_data_meta_decode(&back, names_of_none, 28, f->err, sizeof f->err), -1);
    assert_string_equal(f->err, "data meta: the target names flag is 1 for 0 targets");
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(idx_plain_loads),
        T(idx_gzip_loads),
        T(limit_keeps_the_first_examples),
        T(csv_loads_with_or_without_header),
        T(batch_is_pixels_over_255_in_index_order),
        T(missing_directory),
        T(no_data_set),
        T(missing_labels_file),
        T(wrong_magic),
        T(wrong_data_type),
        T(wrong_dimension_count),
        T(truncated_images),
        T(truncated_header),
        T(truncated_gzip_stream),
        T(corrupt_gzip_stream),
        T(more_data_than_the_header_says),
        T(idx_multi_member_gzip_loads),
        T(data_after_the_gzip_stream),
        T(count_beyond_the_data_plain),
        T(count_beyond_the_data_gzip),
        T(idx_larger_than_the_first_buffer),
        T(limit_checks_the_whole_files),
        T(image_shape_differs_from_the_input),
        T(image_input_with_channels),
        T(flat_input_takes_any_shape_of_its_size),
        T(count_mismatch),
        T(label_out_of_range),
        T(csv_wrong_field_count),
        T(csv_non_numeric_field),
        T(csv_trailing_garbage_in_a_field),
        T(csv_pixel_out_of_range),
        T(csv_label_out_of_range),
        T(csv_without_examples),
        T(csv_nul_byte),
        T(csv_line_too_long),
        T(csv_long_line_of_a_large_input),
        T(csv_floats_and_class_names),
        T(csv_default_label_column),
        T(csv_integers_for_a_flat_model_are_values),
        T(csv_header_rule),
        T(csv_delimiters),
        T(csv_field_errors),
        T(csv_label_errors),
        T(csv_saved_class_names),
        T(csv_predict_without_labels),
        T(csv_regression_targets),
        T(npz_from_numpy_loads),
        T(npz_regression),
        T(npy_pair_loads),
        T(npy_errors),
        T(npz_errors),
        T(npy_label_errors),
        T(npz_member_errors),
        T(format_by_name_and_content),
        T(val_split_is_the_last_rows),
        T(test_split_draw),
        T(standardize_with_the_training_statistics),
        T(meta_round_trip_and_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
