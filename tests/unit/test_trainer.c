/* test_trainer.c: nn_main (runtime/train.c) end to end, on a softmax
 * regression written out below (its own loops: no generated code, no
 * kernels) and a small synthetic IDX data set. Each run of nn_main happens
 * in a forked child with stdout and stderr captured in files, since it
 * prints and returns an exit status like a real trainer.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "nnrt.h"

/* ---------------------------------------------------------------- the model */

/* 4x4 images, 3 classes; params: W (OUT, IN) then b (OUT) */
enum { SIDE = 4, IN = SIDE * SIDE, OUT = 3, N_PARAM = OUT * IN + OUT };
enum { N_TRAIN = 600, N_TEST = 150 };

static long poison_step; /* from this call on train_step fails (0: never): */
static int poison_crash; /* by killing the process, else by returning NAN */
static long calls;

static void logits(float *out, const float *p, const float *x, int B) {
    for (int b = 0; b < B; b++)
        for (int o = 0; o < OUT; o++) {
            float s = p[OUT * IN + o];
            for (int i = 0; i < IN; i++)
                s += p[o * IN + i] * x[b * IN + i];
            out[b * OUT + o] = s;
        }
}

/* Softmax of each row of z in place */
static void softmax(float *z, int B) {
    for (int b = 0; b < B; b++) {
        float *row = z + b * OUT, max = row[0], sum = 0;
        for (int o = 1; o < OUT; o++)
            max = row[o] > max ? row[o] : max;
        for (int o = 0; o < OUT; o++)
            sum += row[o] = expf(row[o] - max);
        for (int o = 0; o < OUT; o++)
            row[o] /= sum;
    }
}

static float toy_train_step(const float *param, float *grad, float *state, float *work,
                            const float *x, const int *labels, const float *targets, float *out,
                            int B, uint64_t key) {
    (void)state, (void)key, (void)targets;
    float *p = work, loss = 0; /* (B, OUT) probabilities */
    logits(out, param, x, B);
    memcpy(p, out, sizeof(float) * (size_t)(B * OUT));
    softmax(p, B);
    memset(grad, 0, sizeof(float) * N_PARAM);
    for (int b = 0; b < B; b++) {
        loss -= logf(p[b * OUT + labels[b]]);
        for (int o = 0; o < OUT; o++) {
            float d = (p[b * OUT + o] - (o == labels[b])) / (float)B;
            for (int i = 0; i < IN; i++)
                grad[o * IN + i] += d * x[b * IN + i];
            grad[OUT * IN + o] += d;
        }
    }
    if (poison_step && ++calls >= poison_step && poison_crash)
        _exit(3);
    if (poison_step && calls >= poison_step)
        return NAN;
    return loss / (float)B;
}

/* Probabilities out, so the trainer's clamped -log(p) path is the one used */
static void toy_infer(const float *param, const float *state, float *work, const float *x,
                      float *out, int B) {
    (void)state, (void)work;
    logits(out, param, x, B);
    softmax(out, B);
}

static size_t toy_infer_work(int B) {
    (void)B;
    return 0;
}

static void toy_init(float *param, float *state, uint64_t seed) {
    (void)state;
    nn_rng r = nn_rng_seed(seed);
    for (int i = 0; i < N_PARAM; i++)
        param[i] = 0.1f * (nn_rng_uniform(&r) - 0.5f);
}

static const char *const toy_summary[] = {"toy: softmax regression", "16 -> 3", NULL};

static const nn_model_desc toy = {
    .name = "toy",
    .source = "test_trainer.c",
    .fingerprint = 77,
    .in_h = SIDE,
    .in_w = SIDE,
    .in_c = 1,
    .in_size = IN,
    .out_size = OUT,
    .loss = NN_CROSS_ENTROPY,
    .out_is_prob = 1,
    .n_param = N_PARAM,
    .work_per_sample = OUT,
    .defaults = {.optimizer = NN_SGD, .lr = 0.1f, .batch = 32, .epochs = 3, .seed = 1},
    .summary = toy_summary,
    .init = toy_init,
    .train_step = toy_train_step,
    .infer = toy_infer,
    .infer_work = toy_infer_work,
};

/* ---------------------------------------------------------------- the data */

static char dir[64]; /* the data set and every file a test writes */

static void put_be32(FILE *f, uint32_t v) {
    const uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    fwrite(b, 1, 4, f);
}

/* Class c lights up row c of the image, over noise; into directory where */
static int write_split(const char *where, const char *prefix, int n, uint32_t noise) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", where, prefix);
    FILE *fi = fopen(path, "wb");
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", where, prefix);
    FILE *fl = fopen(path, "wb");
    if (!fi || !fl)
        return -1;
    put_be32(fi, 0x803), put_be32(fi, (uint32_t)n), put_be32(fi, SIDE), put_be32(fi, SIDE);
    put_be32(fl, 0x801), put_be32(fl, (uint32_t)n);
    for (int k = 0; k < n; k++) {
        uint8_t label = (uint8_t)(k % OUT);
        for (int i = 0; i < IN; i++) {
            noise = noise * 1664525u + 1013904223u;
            int lit = i / SIDE == label;
            fputc((int)(noise >> 25) + (lit ? 100 : 0), fi);
        }
        fputc(label, fl);
    }
    return fclose(fi) | fclose(fl);
}

static int setup_data(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/nnc-test-trainer-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return write_split(dir, "train", N_TRAIN, 1) | write_split(dir, "t10k", N_TEST, 2);
}

static int remove_data(void **state) {
    (void)state;
    char path[512];
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.')
            unlink(path);
    }
    if (d)
        closedir(d);
    return rmdir(dir);
}

/* ---------------------------------------------------------------- running nn_main */

typedef struct {
    int status;      /* exit status */
    char out[16384]; /* stdout */
    char err[4096];  /* stderr */
} Run;

static void slurp(const char *path, char *buf, size_t len) {
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

static void child(const nn_model_desc *m, char *args, const char *out, const char *err) {
    char *argv[32] = {"toy"};
    int argc = 1;
    for (char *a = strtok(args, " "); a && argc < 31; a = strtok(NULL, " "))
        argv[argc++] = a;
    if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr))
        _exit(99);
    exit(nn_main(argc, argv, m));
}

static void run_model(Run *r, const nn_model_desc *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Runs `toy ARGS` (ARGS: printf-formatted, split at spaces; @ stands for
 * the data directory) and captures its exit status and output */
static void run_model(Run *r, const nn_model_desc *m, const char *fmt, ...) {
    char args[1024], expanded[2048] = "", out[128], err[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    for (const char *p = args; *p; p++) {
        size_t n = strlen(expanded);
        snprintf(expanded + n, sizeof expanded - n, "%s", *p == '@' ? dir : (char[]){*p, '\0'});
    }
    snprintf(out, sizeof out, "%s/stdout", dir);
    snprintf(err, sizeof err, "%s/stderr", dir);
    fflush(NULL); /* or the child would write cmocka's pending output again */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child(m, expanded, out, err);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    r->status = WEXITSTATUS(status);
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
}

/* The line of text starting with prefix (NULL if none), up to its newline */
static const char *line_starting(const char *text, const char *prefix, char *line, size_t len) {
    for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            snprintf(line, len, "%.*s", (int)strcspn(p, "\n"), p);
            return line;
        }
    return NULL;
}

static const char *last_line(const char *text, char *line, size_t len) {
    size_t n = strlen(text);
    assert_true(n > 0 && text[n - 1] == '\n');
    const char *start = text + n - 1;
    while (start > text && start[-1] != '\n')
        start--;
    snprintf(line, len, "%.*s", (int)(text + n - 1 - start), start);
    return line;
}

/* The numbers of "epoch E/N: train loss=L accuracy=A | test loss=L accuracy=A | ..." */
static void epoch_numbers(const char *out, int epoch, double v[4]) {
    char prefix[32], line[256];
    snprintf(prefix, sizeof prefix, "epoch %d/", epoch);
    assert_non_null(line_starting(out, prefix, line, sizeof line));
    assert_int_equal(sscanf(strchr(line, ':'),
                            ": train loss=%lf accuracy=%lf | test loss=%lf accuracy=%lf", &v[0],
                            &v[1], &v[2], &v[3]),
                     4);
}

/* stdout without the timings, which differ from run to run */
static void without_timings(const char *out, char *buf, size_t len) {
    buf[0] = '\0';
    for (const char *p = out; *p;) {
        size_t n = strcspn(p, "\n");
        const char *bar = strncmp(p, "epoch ", 6) == 0 ? strstr(p, "| test") : NULL;
        size_t keep = bar ? (size_t)(strchr(bar + 1, '|') - p) : n;
        snprintf(buf + strlen(buf), len - strlen(buf), "%.*s\n", (int)keep, p);
        p += n + (p[n] == '\n');
    }
}

/* ---------------------------------------------------------------- training */

static void training_reduces_the_loss(void **state) {
    (void)state;
    Run r;
    double first[4], last[4];
    char line[256], want[256];
    run_model(&r, &toy, "train --data @ --threads 1");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, ""); /* not a terminal: no progress line */
    assert_non_null(line_starting(r.out, "toy: ", line, sizeof line));
    assert_string_equal(line, "toy: 51 parameters | train 600 examples, test 150 | sgd lr=0.1 "
                              "batch=32 epochs=3 seed=1 threads=1");
    epoch_numbers(r.out, 1, first);
    epoch_numbers(r.out, 3, last);
    assert_true(last[0] < first[0] && last[2] < first[2]);
    assert_true(last[3] > 0.9);
    snprintf(want, sizeof want, "test: loss=%.4f accuracy=%.4f", last[2], last[3]);
    assert_string_equal(last_line(r.out, line, sizeof line), want);
}

static void epoch_line_format(void **state) {
    (void)state;
    Run r;
    char line[256];
    double v[4], seconds, rate;
    char tail[64];
    run_model(&r, &toy, "train --data @ --epochs 1");
    assert_non_null(line_starting(r.out, "epoch 1/1: ", line, sizeof line));
    epoch_numbers(r.out, 1, v);
    const char *timing = strrchr(line, '|');
    assert_int_equal(sscanf(timing, "| %lfs %lf %63s", &seconds, &rate, tail), 3);
    assert_string_equal(tail, "samples/s");
    char want[256];
    snprintf(want, sizeof want,
             "epoch 1/1: train loss=%.4f accuracy=%.4f | test loss=%.4f accuracy=%.4f | %.1fs "
             "%.0f samples/s",
             v[0], v[1], v[2], v[3], seconds, rate);
    assert_string_equal(line, want);
}

static void same_seed_same_numbers(void **state) {
    (void)state;
    static Run a, b, c;
    static char ta[16384], tb[16384], tc[16384];
    run_model(&a, &toy, "train --data @ --seed 5 --epochs 2");
    run_model(&b, &toy, "train --data @ --seed 5 --epochs 2");
    run_model(&c, &toy, "train --data @ --seed 6 --epochs 2");
    without_timings(a.out, ta, sizeof ta);
    without_timings(b.out, tb, sizeof tb);
    without_timings(c.out, tc, sizeof tc);
    assert_string_equal(ta, tb);
    assert_string_not_equal(ta, tc);
}

static void limit_uses_the_first_examples(void **state) {
    (void)state;
    Run r;
    char line[256];
    run_model(&r, &toy, "train --data @ --limit 100 --epochs 1 --batch 64 --lr 0.5 --seed 9");
    assert_int_equal(r.status, 0);
    assert_non_null(line_starting(r.out, "toy: ", line, sizeof line));
    assert_non_null(
        strstr(line, "| train 100 examples, test 150 | sgd lr=0.5 batch=64 epochs=1 seed=9"));
}

static void log_has_a_header_and_a_row_per_epoch(void **state) {
    (void)state;
    Run r;
    char log[4096], line[256];
    run_model(&r, &toy, "train --data @ --epochs 2 --log @/log.csv");
    assert_int_equal(r.status, 0);
    char path[128];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    slurp(path, log, sizeof log);
    assert_non_null(line_starting(log, "epoch,", line, sizeof line));
    assert_string_equal(line, "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,"
                              "samples_per_second,train_eval_loss,train_eval_accuracy,val_loss,"
                              "val_accuracy,lr");
    for (int epoch = 1; epoch <= 2; epoch++) {
        char prefix[16];
        double v[4], row[4], seconds, rate;
        int tail = 0;
        snprintf(prefix, sizeof prefix, "%d,", epoch);
        assert_non_null(line_starting(log, prefix, line, sizeof line));
        /* without --eval-train and a validation set their columns are
         * there, empty; the rate of the epoch's last step with %.9g */
        assert_int_equal(sscanf(line + 2, "%lf,%lf,%lf,%lf,%lf,%lf,,,,,%n", &row[0], &row[1],
                                &row[2], &row[3], &seconds, &rate, &tail),
                         6);
        assert_true(tail > 0);
        assert_string_equal(line + 2 + tail, "0.100000001");
        epoch_numbers(r.out, epoch, v);
        for (int i = 0; i < 4; i++)
            assert_true(fabs(row[i] - v[i]) <= 0.00005 + 1e-9);
    }
    assert_null(line_starting(log, "3,", line, sizeof line));
    assert_null(strstr(r.out, "train-eval"));
}

/* The numbers of the "train-eval loss=L accuracy=A" part of epoch's line */
static void train_eval_numbers(const char *out, int epoch, double v[2]) {
    char prefix[32], line[256];
    snprintf(prefix, sizeof prefix, "epoch %d/", epoch);
    assert_non_null(line_starting(out, prefix, line, sizeof line));
    const char *part = strstr(line, "| train-eval ");
    assert_non_null(part);
    assert_int_equal(sscanf(part, "| train-eval loss=%lf accuracy=%lf |", &v[0], &v[1]), 2);
}

/* --eval-train adds the training set's numbers as infer gives them, and
 * changes nothing else */
static void eval_train_leaves_training_alone(void **state) {
    (void)state;
    static Run plain, with;
    static char tp[16384], tw[16384];
    char path[128], log[4096], line[256];
    run_model(&plain, &toy, "train --data @ --epochs 2");
    run_model(&with, &toy, "train --data @ --epochs 2 --eval-train --log @/eval.csv");
    assert_int_equal(with.status, 0);
    without_timings(plain.out, tp, sizeof tp);
    without_timings(with.out, tw, sizeof tw);
    assert_string_equal(tp, tw);
    snprintf(path, sizeof path, "%s/eval.csv", dir);
    slurp(path, log, sizeof log);
    for (int epoch = 1; epoch <= 2; epoch++) {
        double v[4], te[2], row[9];
        char prefix[16];
        epoch_numbers(with.out, epoch, v);
        train_eval_numbers(with.out, epoch, te);
        /* neither the running mean over the epoch nor the test set's */
        assert_true(te[0] != v[0] && te[0] != v[2]);
        snprintf(prefix, sizeof prefix, "%d,", epoch);
        assert_non_null(line_starting(log, prefix, line, sizeof line));
        assert_int_equal(sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &row[0], &row[1],
                                &row[2], &row[3], &row[4], &row[5], &row[6], &row[7], &row[8]),
                         9);
        assert_true(fabs(row[7] - te[0]) <= 0.00005 + 1e-9);
        assert_true(fabs(row[8] - te[1]) <= 0.00005 + 1e-9);
    }
}

/* On a data set whose test split is its training split, --eval-train must
 * print the test numbers: the training set evaluated as the test set is */
static void eval_train_evaluates_like_the_test_set(void **state) {
    (void)state;
    Run r;
    char same[64], args[128], path[128];
    snprintf(same, sizeof same, "%s", "/tmp/nnc-test-trainer-same-XXXXXX");
    assert_non_null(mkdtemp(same));
    assert_int_equal(write_split(same, "train", N_TRAIN, 1) | write_split(same, "t10k", N_TRAIN, 1),
                     0);
    snprintf(args, sizeof args, "train --data %s --epochs 2 --eval-train", same);
    run_model(&r, &toy, "%s", args);
    const char *names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", same, names[i]);
        unlink(path);
    }
    rmdir(same);
    assert_int_equal(r.status, 0);
    for (int epoch = 1; epoch <= 2; epoch++) {
        double v[4], te[2];
        epoch_numbers(r.out, epoch, v);
        train_eval_numbers(r.out, epoch, te);
        assert_true(te[0] == v[2] && te[1] == v[3]);
    }
}

/* ---------------------------------------------------------------- checkpoints */

static void eval_reproduces_the_test_line(void **state) {
    (void)state;
    Run t, e;
    char a[256], b[256], line[256], want[256];
    run_model(&t, &toy, "train --data @ --epochs 2 --save @/toy.ckpt");
    assert_int_equal(t.status, 0);
    run_model(&e, &toy, "eval --data @ --load @/toy.ckpt --threads 1");
    assert_int_equal(e.status, 0);
    assert_string_equal(last_line(e.out, a, sizeof a), last_line(t.out, b, sizeof b));
    snprintf(want, sizeof want,
             "toy: checkpoint %s/toy.ckpt (2 epochs) | test 150 examples | batch=32 threads=1",
             dir);
    assert_string_equal(line_starting(e.out, "toy: ", line, sizeof line), want);
}

/* tests/unit/trainer-toy-v1.ckpt: a version 1 checkpoint of this toy
 * (2 epochs), written by the version 1 code (commit 0b1319a) */
static void eval_reads_a_version_1_checkpoint(void **state) {
    (void)state;
    Run e;
    char line[256];
    run_model(&e, &toy, "eval --data @ --load tests/unit/trainer-toy-v1.ckpt --threads 1");
    assert_int_equal(e.status, 0);
    assert_string_equal(line_starting(e.out, "toy: ", line, sizeof line),
                        "toy: checkpoint tests/unit/trainer-toy-v1.ckpt (2 epochs) | test 150 "
                        "examples | batch=32 threads=1");
    assert_non_null(line_starting(e.out, "test: loss=", line, sizeof line));
}

static void eval_refuses_another_models_checkpoint(void **state) {
    (void)state;
    Run t, e;
    nn_model_desc other = toy;
    other.name = "other";
    run_model(&t, &other, "train --data @ --epochs 1 --save @/other.ckpt");
    assert_int_equal(t.status, 0);
    run_model(&e, &toy, "eval --data @ --load @/other.ckpt");
    assert_int_equal(e.status, 1);
    char want[256];
    snprintf(want, sizeof want,
             "toy: error: %s/other.ckpt: belongs to another model: 'other', not 'toy'\n", dir);
    assert_string_equal(e.err, want);
}

static void save_to_a_missing_directory_fails_before_training(void **state) {
    (void)state;
    Run r;
    char want[256];
    run_model(&r, &toy, "train --data @ --save @/no/toy.ckpt");
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "");
    snprintf(want, sizeof want,
             "toy: error: --save %s/no/toy.ckpt: cannot write to directory %s/no: No such file "
             "or directory\n",
             dir, dir);
    assert_string_equal(r.err, want);
}

/* ---------------------------------------------------------------- resume */

/* The bytes of the file at dir/name (at most len), their count */
static size_t file_bytes(const char *name, char *buf, size_t len) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, len, f);
    assert_true(n < len);
    fclose(f);
    return n;
}

static void assert_same_file(const char *a, const char *b) {
    static char x[65536], y[65536];
    size_t n = file_bytes(a, x, sizeof x), k = file_bytes(b, y, sizeof y);
    assert_int_equal(n, k);
    assert_memory_equal(x, y, n);
}

/* 3 epochs straight, and 1 epoch resumed to 3, and 0 epochs (the initial
 * parameters) resumed to 3: the same checkpoint, byte for byte */
static void resume_continues_exactly(void **state) {
    (void)state;
    Run r;
    char line[256], want[256];
    run_model(&r, &toy, "train --data @ --epochs 3 --save @/full.ckpt");
    assert_int_equal(r.status, 0);
    run_model(&r, &toy, "train --data @ --epochs 1 --save @/part.ckpt");
    assert_int_equal(r.status, 0);
    run_model(&r, &toy, "train --resume @/part.ckpt --epochs 3");
    assert_int_equal(r.status, 0);
    snprintf(want, sizeof want, "resume: %s/part.ckpt at epoch 1 (step 19)", dir);
    assert_string_equal(line_starting(r.out, "resume: ", line, sizeof line), want);
    assert_null(line_starting(r.out, "epoch 1/", line, sizeof line));
    assert_non_null(line_starting(r.out, "epoch 2/3: ", line, sizeof line));
    snprintf(want, sizeof want, "checkpoint: %s/part.ckpt (epoch 3)", dir);
    assert_string_equal(line_starting(r.out, "checkpoint: ", line, sizeof line), want);
    assert_same_file("full.ckpt", "part.ckpt");

    run_model(&r, &toy, "train --data @ --epochs 0 --save @/init.ckpt");
    assert_int_equal(r.status, 0);
    snprintf(want, sizeof want, "checkpoint: %s/init.ckpt (epoch 0)", dir);
    assert_string_equal(line_starting(r.out, "checkpoint: ", line, sizeof line), want);
    assert_non_null(line_starting(r.out, "test: loss=", line, sizeof line));
    run_model(&r, &toy, "train --resume @/init.ckpt --epochs 3 --save @/from0.ckpt");
    assert_int_equal(r.status, 0);
    assert_same_file("full.ckpt", "from0.ckpt");
}

/* A finished run trains nothing: it evaluates, and the test line is eval's */
static void resume_of_a_finished_run_evaluates(void **state) {
    (void)state;
    Run t, r, e;
    char a[256], b[256], c[256];
    run_model(&t, &toy, "train --data @ --epochs 2 --save @/done.ckpt");
    run_model(&r, &toy, "train --resume @/done.ckpt");
    assert_int_equal(r.status, 0);
    assert_null(strstr(r.out, "epoch 3/"));
    assert_null(strstr(r.out, "checkpoint: "));
    run_model(&e, &toy, "eval --data @ --load @/done.ckpt");
    assert_string_equal(last_line(r.out, a, sizeof a), last_line(t.out, b, sizeof b));
    assert_string_equal(last_line(e.out, c, sizeof c), b);
}

static void save_every_saves_as_it_goes(void **state) {
    (void)state;
    Run r;
    char want[1024];
    run_model(&r, &toy, "train --data @ --epochs 5 --save @/every.ckpt --save-every 2");
    assert_int_equal(r.status, 0);
    char *lines = strstr(r.out, "checkpoint: ");
    assert_non_null(lines);
    snprintf(want, sizeof want,
             "checkpoint: %s/every.ckpt (epoch 2)\n", dir);
    assert_memory_equal(lines, want, strlen(want));
    assert_non_null(strstr(r.out, "epoch 4/5"));
    snprintf(want, sizeof want, "checkpoint: %s/every.ckpt (epoch 4)\nepoch 5/5", dir);
    assert_non_null(strstr(r.out, want));
    snprintf(want, sizeof want, "checkpoint: %s/every.ckpt (epoch 5)\ntest: ", dir);
    assert_non_null(strstr(r.out, want));
    run_model(&r, &toy, "train --data @ --epochs 5 --save @/five.ckpt");
    assert_same_file("every.ckpt", "five.ckpt");
}

static void expect_resume_error(const nn_model_desc *m, const char *args, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* `train --resume @/base.ckpt ARGS` fails with exactly this message (after
 * "toy: error: @/base.ckpt: ") and trains nothing */
static void expect_resume_error(const nn_model_desc *m, const char *args, const char *fmt, ...) {
    Run r;
    char msg[1024], want[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    run_model(&r, m, "train --resume @/base.ckpt %s", args);
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof want, "toy: error: %s/base.ckpt: %s\n", dir, msg);
    assert_string_equal(r.err, want);
    assert_string_equal(r.out, "");
}

static void resume_refuses_another_recipe(void **state) {
    (void)state;
    Run r;
    char real[4096];
    assert_non_null(realpath(dir, real));
    run_model(&r, &toy, "train --data @ --epochs 2 --limit 300 --threads 1 --save @/base.ckpt");
    assert_int_equal(r.status, 0);
    expect_resume_error(&toy, "--lr 0.2",
                        "--lr 0.2 differs from the checkpoint's 0.1; leave --lr out to continue "
                        "with it");
    expect_resume_error(&toy, "--batch 16",
                        "--batch 16 differs from the checkpoint's 32; leave --batch out to "
                        "continue with it");
    expect_resume_error(&toy, "--seed 2",
                        "--seed 2 differs from the checkpoint's 1; leave --seed out to continue "
                        "with it");
    expect_resume_error(&toy, "--limit 200",
                        "--limit 200 differs from the checkpoint's 300; leave --limit out to "
                        "continue with it");
    expect_resume_error(&toy, "--data /tmp",
                        "--data /tmp differs from the checkpoint's %s; leave --data out to "
                        "continue with it",
                        real);
    expect_resume_error(&toy, "--epochs 1", "holds 2 epochs, more than the 1 asked for");
    nn_model_desc other = toy;
    other.defaults.momentum = 0.5f;
    expect_resume_error(&other, "",
                        "the checkpoint was trained with momentum=0, this trainer's model has "
                        "momentum=0.5");
    other.defaults.optimizer = NN_ADAM;
    expect_resume_error(&other, "",
                        "the checkpoint was trained with sgd, this trainer's model uses adam");
    /* the same values again are accepted, however they are spelled; the
     * thread count is free (results do not depend on it) */
    run_model(&r, &toy,
              "train --resume @/base.ckpt --data @/. --limit 300 --lr 0.1 --batch 32 --seed 1 "
              "--threads 2 --epochs 3 --save @/again.ckpt");
    assert_int_equal(r.status, 0);
}

/* The training set lost examples since the checkpoint was saved: the
 * steps no longer add up */
static void resume_notices_changed_data(void **state) {
    (void)state;
    Run r;
    char data[64], want[512];
    snprintf(data, sizeof data, "%s", "/tmp/nnc-test-trainer-changed-XXXXXX");
    assert_non_null(mkdtemp(data));
    assert_int_equal(write_split(data, "train", N_TRAIN, 1) | write_split(data, "t10k", N_TEST, 2),
                     0);
    run_model(&r, &toy, "train --data %s --epochs 1 --save @/changed.ckpt", data);
    assert_int_equal(r.status, 0);
    assert_int_equal(write_split(data, "train", N_TRAIN - 100, 1), 0);
    run_model(&r, &toy, "train --resume @/changed.ckpt --epochs 2");
    const char *names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", data, names[i]);
        unlink(path);
    }
    rmdir(data);
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof want,
             "toy: error: %s/changed.ckpt: 19 steps in 1 epochs, but 500 examples in batches of "
             "32 take 16 an epoch: the training data changed since the checkpoint was saved\n",
             dir);
    assert_string_equal(r.err, want);
}

/* The data options a run was given are in its checkpoint (version 3): a
 * resume reads the data the same way without them, and refuses others */
static void resume_keeps_the_data_options(void **state) {
    (void)state;
    Run r;
    run_model(&r, &toy, "train --data @ --header yes --label 1 --epochs 3 --save @/full.ckpt");
    assert_int_equal(r.status, 0);
    run_model(&r, &toy, "train --data @ --header yes --label 1 --epochs 1 --save @/base.ckpt");
    assert_int_equal(r.status, 0);
    char path[128];
    snprintf(path, sizeof path, "%s/base.ckpt", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 8, SEEK_SET), 0);
    assert_int_equal(fgetc(f), 3);
    fclose(f);
    expect_resume_error(&toy, "--epochs 3 --header no",
                        "--header no differs from the checkpoint's yes; leave --header out to "
                        "continue with it");
    expect_resume_error(&toy, "--epochs 3 --label 2",
                        "--label 2 differs from the checkpoint's 1; leave --label out to continue "
                        "with it");
    run_model(&r, &toy, "train --resume @/base.ckpt --epochs 3 --header yes");
    assert_int_equal(r.status, 0);
    assert_same_file("full.ckpt", "base.ckpt");
}

static void resume_refuses_version_1(void **state) {
    (void)state;
    Run r;
    run_model(&r, &toy, "train --resume tests/unit/trainer-toy-v1.ckpt --data @");
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, "toy: error: tests/unit/trainer-toy-v1.ckpt: a version 1 "
                               "checkpoint holds no optimizer state or step, so its run cannot "
                               "be resumed exactly (eval still reads it); train again to get a "
                               "version 2 checkpoint\n");
}

static void resume_of_a_missing_file(void **state) {
    (void)state;
    Run r;
    char want[256];
    run_model(&r, &toy, "train --resume @/none.ckpt");
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof want, "toy: error: %s/none.ckpt: cannot open: No such file or directory\n",
             dir);
    assert_string_equal(r.err, want);
}

/* ---------------------------------------------------------------- failures */

/* The NaN appears in epoch 2, batch 1 (epoch 1 has 19 batches): the run
 * stops there, with epoch 1 reported and logged */
static void nan_stops_with_a_hint(void **state) {
    (void)state;
    Run r;
    char log[4096], line[256], path[128];
    poison_step = 20;
    run_model(&r, &toy, "train --data @ --log @/nan.csv");
    poison_step = 0;
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, "toy: error: the loss became nan at epoch 2, batch 1 (step 20); the "
                               "learning rate 0.1 is probably too high: try --lr 0.01\n");
    assert_non_null(line_starting(r.out, "epoch 1/3", line, sizeof line));
    assert_null(line_starting(r.out, "epoch 2/3", line, sizeof line));
    assert_null(line_starting(r.out, "test:", line, sizeof line));
    snprintf(path, sizeof path, "%s/nan.csv", dir);
    slurp(path, log, sizeof log);
    assert_non_null(line_starting(log, "1,", line, sizeof line));
    assert_null(line_starting(log, "2,", line, sizeof line));
}

/* A run killed in epoch 2 leaves epoch 1 on stdout and in the log */
static void crash_keeps_the_finished_epochs(void **state) {
    (void)state;
    Run r;
    char log[4096], line[256], path[128];
    poison_step = 20;
    poison_crash = 1;
    run_model(&r, &toy, "train --data @ --log @/crash.csv");
    poison_step = poison_crash = 0;
    assert_int_equal(r.status, 3);
    assert_non_null(line_starting(r.out, "epoch 1/3", line, sizeof line));
    snprintf(path, sizeof path, "%s/crash.csv", dir);
    slurp(path, log, sizeof log);
    assert_non_null(line_starting(log, "epoch,", line, sizeof line));
    assert_non_null(line_starting(log, "1,", line, sizeof line));
}

static void huge_learning_rate_stops(void **state) {
    (void)state;
    Run r;
    run_model(&r, &toy, "train --data @ --lr 900000");
    assert_int_equal(r.status, 1);
    assert_non_null(
        strstr(r.err, "the learning rate 900000 is probably too high: try --lr 90000\n"));
    assert_memory_equal(r.err, "toy: error: the loss became ", 28);
}

static void data_errors_are_reported(void **state) {
    (void)state;
    Run r;
    char want[256];
    run_model(&r, &toy, "train --data @/nowhere");
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof want, "toy: error: %s/nowhere: No such file or directory\n", dir);
    assert_string_equal(r.err, want);
}

static void expect_usage_error(const char *args, const char *message) {
    Run r;
    char want[512];
    run_model(&r, &toy, "%s", args);
    assert_int_equal(r.status, 2);
    snprintf(want, sizeof want, "toy: error: %s\ntry 'toy help'\n", message);
    assert_string_equal(r.err, want);
    assert_string_equal(r.out, "");
}

static void bad_command_lines(void **state) {
    (void)state;
    expect_usage_error("", "no command: expected train, eval, predict, summary or help");
    expect_usage_error("fit", "unknown command 'fit'");
    expect_usage_error("train --epochs abc", "--epochs: 'abc' is not an integer");
    expect_usage_error("train --epochs -1", "--epochs: -1 is out of range (0..1000000)");
    expect_usage_error("train --save-every 0 --save x", "--save-every: 0 is out of range (1..1000000)");
    expect_usage_error("train --save-every 2", "--save-every needs --save FILE or --resume FILE");
    expect_usage_error("train --batch=0", "--batch: 0 is out of range (1..1048576)");
    expect_usage_error("train --lr 1e-3x", "--lr: '1e-3x' is not a number");
    expect_usage_error("train --lr -1", "--lr: -1 is out of range (a positive number below 1e6)");
    expect_usage_error("train --seed -3", "--seed: '-3' is not a non-negative integer");
    expect_usage_error("train --threads 0", "--threads: 0 is out of range (1..1024)");
    expect_usage_error("train --seed", "--seed needs a value (N)");
    expect_usage_error("train --eval-train=yes", "--eval-train takes no value");
    expect_usage_error("eval --load x --eval-train", "unknown option '--eval-train' for 'eval'");
    expect_usage_error("train --bogus 1", "unknown option '--bogus' for 'train'");
    expect_usage_error("train extra", "unexpected argument 'extra' for 'train'");
    expect_usage_error("eval --load x --epochs 3", "unknown option '--epochs' for 'eval'");
    expect_usage_error("eval", "eval needs --load FILE");
    expect_usage_error("summary x", "unexpected argument 'x' for 'summary'");
}

static void help_shows_every_option_and_default(void **state) {
    (void)state;
    static const char *const want[] = {
        "--data DIR",    "(default: /usr/share/datasets/fashion-mnist)",
        "--epochs N",    "(default: 3)",
        "--batch N",     "(default: 32)",
        "--lr X",        "(default: 0.1)",
        "--seed N",      "(default: 1)",
        "--limit N",     "--save FILE",
        "--save-every N", "--resume FILE",
        "--log FILE",    "--threads N",
        "--eval-train",  "--load FILE",
        "optimizer sgd",
    };
    for (int i = 0; i < 3; i++) {
        Run r;
        run_model(&r, &toy, "%s", (const char *[]){"help", "--help", "-h"}[i]);
        assert_int_equal(r.status, 0);
        for (size_t k = 0; k < sizeof want / sizeof *want; k++)
            assert_non_null(strstr(r.out, want[k]));
    }
}

static void summary_prints_the_lines(void **state) {
    (void)state;
    Run r;
    run_model(&r, &toy, "summary");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "toy: softmax regression\n16 -> 3\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(training_reduces_the_loss),
        cmocka_unit_test(epoch_line_format),
        cmocka_unit_test(same_seed_same_numbers),
        cmocka_unit_test(limit_uses_the_first_examples),
        cmocka_unit_test(log_has_a_header_and_a_row_per_epoch),
        cmocka_unit_test(eval_train_leaves_training_alone),
        cmocka_unit_test(eval_train_evaluates_like_the_test_set),
        cmocka_unit_test(eval_reproduces_the_test_line),
        cmocka_unit_test(eval_reads_a_version_1_checkpoint),
        cmocka_unit_test(eval_refuses_another_models_checkpoint),
        cmocka_unit_test(save_to_a_missing_directory_fails_before_training),
        cmocka_unit_test(resume_continues_exactly),
        cmocka_unit_test(resume_of_a_finished_run_evaluates),
        cmocka_unit_test(save_every_saves_as_it_goes),
        cmocka_unit_test(resume_refuses_another_recipe),
        cmocka_unit_test(resume_notices_changed_data),
        cmocka_unit_test(resume_keeps_the_data_options),
        cmocka_unit_test(resume_refuses_version_1),
        cmocka_unit_test(resume_of_a_missing_file),
        cmocka_unit_test(nan_stops_with_a_hint),
        cmocka_unit_test(crash_keeps_the_finished_epochs),
        cmocka_unit_test(huge_learning_rate_stops),
        cmocka_unit_test(data_errors_are_reported),
        cmocka_unit_test(bad_command_lines),
        cmocka_unit_test(help_shows_every_option_and_default),
        cmocka_unit_test(summary_prints_the_lines),
    };
    return cmocka_run_group_tests(tests, setup_data, remove_data);
}
