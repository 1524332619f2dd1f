/* test_data.c: the data loaders (runtime/data.c) on small IDX files, plain
 * and gzipped, and CSVs written into a fresh temporary directory per test:
 * what they load, and the exact message of every error they report.
 */
#include <dirent.h>
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
    char err[1024]; /* the loader's message */
    nn_dataset d;
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
                 "%s:3: wrong number of fields: expected 5 (a label and 4 pixel values), got 4",
                 path_in(f, "train.csv"));
}

static void csv_non_numeric_field(void **state) {
    Fixture *f = *state;
    write_text(path_in(f, "train.csv"), "1,2,3,4,5\n1,2,x7,4,5\n");
    expect_error(f, NN_TRAIN, "%s:2: field 3 'x7' is not an integer", path_in(f, "train.csv"));
}

static void csv_trailing_garbage_in_a_field(void **state) {
    Fixture *f = *state;
    write_text(path_in(f, "train.csv"), "1,2,3,4,5.5\n");
    expect_error(f, NN_TRAIN, "%s:1: field 5 '5.5' is not an integer", path_in(f, "train.csv"));
}

static void csv_pixel_out_of_range(void **state) {
    Fixture *f = *state;
    write_text(path_in(f, "train.csv"), "1,2,3,4,256\n");
    expect_error(f, NN_TRAIN, "%s:1: field 5: pixel value '256' is outside 0..255",
                 path_in(f, "train.csv"));
    write_text(path_in(f, "train.csv"), "1,-1,3,4,5\n");
    expect_error(f, NN_TRAIN, "%s:1: field 2: pixel value '-1' is outside 0..255",
                 path_in(f, "train.csv"));
}

static void csv_label_out_of_range(void **state) {
    Fixture *f = *state;
    write_text(path_in(f, "test.csv"), "1,2,3,4,5\n3,2,3,4,5\n");
    expect_error(f, NN_TEST, "%s:2: label '3' is out of range for 3 classes (0..2)",
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
    expect_error(f, NN_TRAIN, "%s:2: NUL byte at column 10", path_in(f, "train.csv"));
}

/* A CSV of a header and `example` padded with spaces to len bytes */
static void write_long_line(const char *path, const char *example, size_t len) {
    char *text = malloc(len + 16);
    assert_non_null(text);
    size_t n = (size_t)sprintf(text, "label,pixels\n%s", example);
    memset(text + n, ' ', len + 13 - n);
    strcpy(text + len + 13, "\n");
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
                 "%s:2: line longer than 1048576 bytes: not one example of 4 pixel values", csv);
}

/* or 64 times 4 bytes a field, for inputs where that is more */
static void csv_long_line_of_a_large_input(void **state) {
    Fixture *f = *state;
    enum { BIG = 5000, MAX = 64 * 4 * (BIG + 1) }; /* 1280256 */
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
                    "%s:2: line longer than 1280256 bytes: not one example of 5000 pixel values",
                    csv);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
