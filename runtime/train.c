/* train.c: nn_main, the command line of every generated trainer (train,
 * eval, summary, help), and the training loop it drives through the
 * nn_model_desc. Output formats are specified in docs/trainer.md.
 *
 * Memory: every buffer is allocated once before the first epoch; the loop
 * itself never allocates. Determinism: initialisation, the shuffle of each
 * epoch and each step's dropout key are pure functions of --seed (and the
 * epoch or step), so two runs with the same seed, data and thread count
 * print the same numbers.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "clock.h"
#include "bench.h"
#include "checkpoint.h"
#include "data.h"
#include "nnrt.h"

#define ERR_LEN 1024
#define EXIT_USAGE 2
#define PROB_FLOOR 1e-7 /* -log(p) clamp for softmax outputs: Keras's epsilon */
#define BAR_WIDTH 30
#define REDRAW_SECONDS 0.1

/* Independent random streams derived from the seed */
enum { STREAM_SHUFFLE = 1, STREAM_DROPOUT = 2 };

typedef enum { CMD_TRAIN = 1, CMD_EVAL = 2 } Command; /* bits: where an option is accepted */

typedef enum {
    OPT_DATA,
    OPT_EPOCHS,
    OPT_BATCH,
    OPT_LR,
    OPT_SEED,
    OPT_LIMIT,
    OPT_SAVE,
    OPT_SAVE_EVERY,
    OPT_RESUME,
    OPT_LOG,
    OPT_EVAL_TRAIN,
    OPT_THREADS,
    OPT_LOAD,
    N_OPTS
} OptId;

typedef struct {
    const char *name; /* spelled --name VALUE or --name=VALUE */
    const char *arg;  /* the value's placeholder in the help; NULL: a flag, which takes none */
    unsigned cmds;    /* CMD_TRAIN | CMD_EVAL: the commands that accept it */
    const char *help;
    const char *fixed_default; /* NULL: none, or computed from the model's defaults */
} OptInfo;

/* ORDER OPT: indexed by OptId */
static const OptInfo opt_info[N_OPTS] = {
    {"data", "DIR", CMD_TRAIN | CMD_EVAL, "IDX files (plain or .gz), or train.csv and test.csv",
     NN_DEFAULT_DATA},
    {"epochs", "N", CMD_TRAIN, "passes over the training set", NULL},
    {"batch", "N", CMD_TRAIN | CMD_EVAL, "examples per step", NULL},
    {"lr", "X", CMD_TRAIN, "learning rate", NULL},
    {"seed", "N", CMD_TRAIN, "seed of initialisation, shuffling and dropout", NULL},
    {"limit", "N", CMD_TRAIN, "train on the first N training examples only", "all"},
    {"save", "FILE", CMD_TRAIN, "write the checkpoint there after training (and --save-every)",
     "none, or the --resume FILE"},
    {"save-every", "N", CMD_TRAIN, "also write the checkpoint after every N-th epoch", "never"},
    {"resume", "FILE", CMD_TRAIN,
     "continue the run FILE holds, to --epochs in total, with its recipe and data", NULL},
    {"log", "FILE", CMD_TRAIN, "write one CSV row of metrics per epoch there", "none"},
    {"eval-train", NULL, CMD_TRAIN,
     "after each epoch, also evaluate the training set in inference mode (no dropout)", NULL},
    {"threads", "N", CMD_TRAIN | CMD_EVAL, "threads (OpenBLAS runs single-threaded in each)",
     "OPENBLAS_NUM_THREADS, else one per core"},
    {"load", "FILE", CMD_EVAL, "the checkpoint to evaluate (required)", NULL},
};

typedef struct {
    Command cmd;
    unsigned given;     /* bit 1 << OptId of each option on the command line */
    const char *data;   /* --data */
    const char *save;   /* --save, else the --resume FILE, NULL: no checkpoint */
    const char *resume; /* --resume, NULL: a new run */
    const char *log;    /* --log, NULL: no CSV */
    const char *load;   /* --load (eval) */
    nn_hparams h;       /* m->defaults with --epochs, --batch, --lr, --seed applied */
    size_t limit;       /* --limit, SIZE_MAX: every training example */
    int save_every;     /* --save-every, 0: only at the end */
    int threads;        /* --threads, 0: nn_set_threads's default */
    int eval_train;     /* --eval-train */
} Options;

/* The one allocation of each buffer the loop uses */
typedef struct {
    float *param;     /* (n_param) */
    float *grad;      /* (n_param), training only */
    float *opt_state; /* nn_optimizer_state_size floats, zeroed, training only */
    float *state;     /* (n_state) */
    float *work;      /* training or inference workspace, whichever is larger */
    float *x;         /* (B, in_size): the batch as floats */
    int *labels;      /* (B) */
    float *out;       /* (B, out_size): logits or probabilities */
    size_t *perm;     /* (n_train): this epoch's order, training only */
} Buffers;

typedef struct {
    double loss, accuracy; /* means over the examples */
} Metrics;

/* The live progress line on stderr, drawn only when it is a terminal */
typedef struct {
    int active;
    double start; /* when the epoch began */
    double drawn; /* when the line was last drawn */
    int width;    /* the longest line drawn, to erase it */
} Progress;

/* ---------------------------------------------------------------- messages */

static int error(const nn_model_desc *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const nn_model_desc *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "NAME: error: ..." on stderr; returns the exit status 1 */
static int error(const nn_model_desc *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", m->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* A bad command line: the message, a pointer to help, exit status 2 */
static int usage_error(const nn_model_desc *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", m->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\ntry '%s help'\n", m->name);
    va_end(ap);
    return EXIT_USAGE;
}

static const char *optimizer_name(nn_optimizer o) {
    return o == NN_ADAM ? "adam" : "sgd";
}

/* The default of option id as text; "" if it has none */
static void default_text(char *buf, size_t len, OptId id, const nn_hparams *d) {
    switch (id) {
    case OPT_EPOCHS:
        snprintf(buf, len, "%d", d->epochs);
        break;
    case OPT_BATCH:
        snprintf(buf, len, "%d", d->batch);
        break;
    case OPT_LR:
        snprintf(buf, len, "%g", d->lr);
        break;
    case OPT_SEED:
        snprintf(buf, len, "%llu", (unsigned long long)d->seed);
        break;
    default:
        snprintf(buf, len, "%s", opt_info[id].fixed_default ? opt_info[id].fixed_default : "");
    }
}

static void print_help(FILE *f, const nn_model_desc *m) {
    const char *n = m->name;
    fprintf(f, "%s: trainer generated by nnc from %s (optimizer %s), libnnrt %s\n\n", n,
            m->source, optimizer_name(m->defaults.optimizer), NNC_VERSION);
    fprintf(f, "usage: %s train [options]        train, evaluating the test set after each epoch\n",
            n);
    fprintf(f, "       %s eval --load FILE [--data DIR] [--batch N] [--threads N]\n", n);
    fprintf(f, "       %s summary               print the layers and their sizes\n", n);
    fprintf(f, "       %s bench [--batch N] [--steps N] [--warmup N] [--windows N] [--threads N]\n"
               "                [--data DIR]         time training and inference, print JSON\n",
            n);
    fprintf(f, "       %s help                  print this help\n\n", n);
    fprintf(f, "options (a value may also be given as --option=VALUE):\n");
    for (int id = 0; id < N_OPTS; id++) {
        const OptInfo *o = &opt_info[id];
        char flag[32], def[128];
        snprintf(flag, sizeof flag, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        default_text(def, sizeof def, (OptId)id, &m->defaults);
        fprintf(f, "  %-15s %s%s%s%s%s\n", flag, o->cmds == CMD_EVAL ? "eval: " : "", o->help,
                *def ? " (default: " : "", def, *def ? ")" : "");
    }
}

static void print_summary(const nn_model_desc *m) {
    for (const char *const *line = m->summary; line && *line; line++)
        printf("%s\n", *line);
}

/* ---------------------------------------------------------------- options */

/* An integer in [lo, hi]; 0 or -1 (message printed, exit status 2) */
static int parse_int(const nn_model_desc *m, const char *opt, const char *text, long long lo,
                     long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0')
        return usage_error(m, "--%s: '%s' is not an integer", opt, text);
    if (errno == ERANGE || v < lo || v > hi)
        return usage_error(m, "--%s: %s is out of range (%lld..%lld)", opt, text, lo, hi);
    *out = v;
    return 0;
}

/* A seed is any 64-bit unsigned integer */
static int parse_seed(const nn_model_desc *m, const char *text, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end != '\0' || strchr(text, '-')) /* strtoull would negate it */
        return usage_error(m, "--seed: '%s' is not a non-negative integer", text);
    if (errno == ERANGE)
        return usage_error(m, "--seed: %s is out of range (0..%llu)", text,
                           (unsigned long long)UINT64_MAX);
    *out = v;
    return 0;
}

static int parse_lr(const nn_model_desc *m, const char *text, float *out) {
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end != '\0')
        return usage_error(m, "--lr: '%s' is not a number", text);
    if (!(v > 0 && v < 1e6))
        return usage_error(m, "--lr: %s is out of range (a positive number below 1e6)", text);
    *out = (float)v;
    return 0;
}

/* Applies one option's value to o; 0 or the exit status 2 */
static int set_option(const nn_model_desc *m, Options *o, OptId id, const char *v) {
    long long n = 0;
    int rc = 0;
    switch (id) {
    case OPT_DATA:
        o->data = v;
        break;
    case OPT_SAVE:
        o->save = v;
        break;
    case OPT_RESUME:
        o->resume = v;
        break;
    case OPT_LOG:
        o->log = v;
        break;
    case OPT_EVAL_TRAIN:
        o->eval_train = 1;
        break;
    case OPT_LOAD:
        o->load = v;
        break;
    case OPT_LR:
        rc = parse_lr(m, v, &o->h.lr);
        break;
    case OPT_SEED:
        rc = parse_seed(m, v, &o->h.seed);
        break;
    case OPT_EPOCHS:
        if (!(rc = parse_int(m, "epochs", v, 0, NN_MAX_EPOCHS, &n)))
            o->h.epochs = (int)n;
        break;
    case OPT_BATCH:
        if (!(rc = parse_int(m, "batch", v, 1, NN_MAX_BATCH, &n)))
            o->h.batch = (int)n;
        break;
    case OPT_LIMIT:
        if (!(rc = parse_int(m, "limit", v, 1, LLONG_MAX, &n)))
            o->limit = (size_t)n;
        break;
    case OPT_SAVE_EVERY:
        if (!(rc = parse_int(m, "save-every", v, 1, NN_MAX_EPOCHS, &n)))
            o->save_every = (int)n;
        break;
    case OPT_THREADS:
        if (!(rc = parse_int(m, "threads", v, 1, NN_MAX_THREADS, &n)))
            o->threads = (int)n;
        break;
    case N_OPTS:
        break;
    }
    return rc;
}

/* The OptId named by arg ("--name" or "--name=value"), N_OPTS if none */
static OptId find_option(const char *arg, size_t *name_len) {
    if (strncmp(arg, "--", 2) != 0)
        return N_OPTS;
    *name_len = strcspn(arg + 2, "=");
    for (int id = 0; id < N_OPTS; id++)
        if (strlen(opt_info[id].name) == *name_len &&
            strncmp(arg + 2, opt_info[id].name, *name_len) == 0)
            return (OptId)id;
    return N_OPTS;
}

static int parse_options(const nn_model_desc *m, int argc, char **argv, Options *o) {
    for (int i = 0; i < argc; i++) {
        size_t len = 0;
        OptId id = find_option(argv[i], &len);
        if (id == N_OPTS || !(opt_info[id].cmds & o->cmd))
            return usage_error(m, "%s '%s' for '%s'",
                               argv[i][0] == '-' ? "unknown option" : "unexpected argument",
                               argv[i], o->cmd == CMD_TRAIN ? "train" : "eval");
        const char *value = argv[i][2 + len] == '=' ? argv[i] + 3 + len : NULL;
        if (!opt_info[id].arg && value)
            return usage_error(m, "--%s takes no value", opt_info[id].name);
        o->given |= 1u << id;
        if (!opt_info[id].arg) {
            set_option(m, o, id, NULL);
            continue;
        }
        if (!value && i + 1 == argc)
            return usage_error(m, "--%s needs a value (%s)", opt_info[id].name, opt_info[id].arg);
        if (!value)
            value = argv[++i];
        if (set_option(m, o, id, value))
            return EXIT_USAGE;
    }
    if (o->cmd == CMD_EVAL && !o->load)
        return usage_error(m, "eval needs --load FILE");
    if (!o->save)
        o->save = o->resume;
    if (o->save_every && !o->save)
        return usage_error(m, "--save-every needs --save FILE or --resume FILE");
    return 0;
}

/* ---------------------------------------------------------------- setup */

static int open_data(const nn_model_desc *m, const Options *o, unsigned want, nn_data *d) {
    char err[ERR_LEN];
    nn_data_spec spec = {m->in_h, m->in_w, m->in_c, m->out_size, o->limit};
    nn_data_options src = {.dir = o->data, .seed = o->h.seed};
    if (nn_data_open(d, &src, &spec, want, NULL, err, sizeof err))
        return error(m, "%s", err);
    return 0;
}

/* Allocates every buffer; the training ones only if n_train > 0 */
static int alloc_buffers(const nn_model_desc *m, const nn_hparams *h, size_t n_train, Buffers *b) {
    size_t B = (size_t)h->batch;
    size_t work = m->infer_work(h->batch);
    size_t train_work =
        m->work_per_sample * B + m->work_fixed + m->work_per_thread * (size_t)nn_threads();
    if (n_train > 0 && work < train_work)
        work = train_work;
    b->param = nn_alloc(m->n_param, sizeof(float));
    b->state = nn_alloc(m->n_state, sizeof(float));
    b->work = nn_alloc(work, sizeof(float));
    b->x = nn_alloc(B * (size_t)m->in_size, sizeof(float));
    b->labels = nn_alloc(B, sizeof(int));
    b->out = nn_alloc(B * (size_t)m->out_size, sizeof(float));
    int ok = b->param && b->state && b->work && b->x && b->labels && b->out;
    if (n_train > 0) {
        b->grad = nn_alloc(m->n_param, sizeof(float));
        b->opt_state = nn_alloc(nn_optimizer_state_size(h, m->n_param), sizeof(float));
        b->perm = nn_alloc(n_train, sizeof(size_t));
        ok = ok && b->grad && b->opt_state && b->perm;
    }
    if (!ok)
        return error(m, "out of memory for the buffers of batch %d (%zu floats of workspace)",
                     h->batch, work);
    return 0;
}

static void free_buffers(Buffers *b) {
    free(b->param);
    free(b->grad);
    free(b->opt_state);
    free(b->state);
    free(b->work);
    free(b->x);
    free(b->labels);
    free(b->out);
    free(b->perm);
}

/* Fails before training rather than after it when --save cannot succeed */
static int check_save_dir(const nn_model_desc *m, const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (access(dir, W_OK) != 0)
        return error(m, "--save %s: cannot write to directory %s: %s", path, dir, strerror(errno));
    return 0;
}

/* The CSV log gets its header now and a flushed row per epoch, so a run
 * that stops early (a NaN, a kill) leaves the completed epochs readable. */
static int open_log(const nn_model_desc *m, const char *path, FILE **log) {
    *log = fopen(path, "w");
    if (!*log)
        return error(m, "--log %s: %s", path, strerror(errno));
    /* The train_eval columns are always there, empty without --eval-train,
     * so a reader of several runs' logs sees one layout */
    fprintf(*log, "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,"
                  "samples_per_second,train_eval_loss,train_eval_accuracy\n");
    fflush(*log);
    return 0;
}

static int close_log(const nn_model_desc *m, const char *path, FILE *log) {
    int bad = ferror(log);
    if (fclose(log) != 0 || bad)
        return error(m, "--log %s: write error", path);
    return 0;
}

/* ---------------------------------------------------------------- the loop */

/* Fisher-Yates from the identity, so each epoch's order depends only on
 * (seed, epoch). The modulo bias is below n / 2^64: negligible. */
static void shuffle(size_t *perm, size_t n, uint64_t seed, int epoch) {
    nn_rng r = nn_rng_seed(nn_hash2(nn_hash2(seed, STREAM_SHUFFLE), (uint64_t)epoch));
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(nn_rng_next(&r) % (i + 1));
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static int count_correct(const float *out, const int *labels, int B, int N) {
    int correct = 0;
    for (int b = 0; b < B; b++) {
        const float *row = out + (size_t)b * (size_t)N;
        int best = 0;
        for (int j = 1; j < N; j++)
            if (row[j] > row[best])
                best = j;
        correct += best == labels[b];
    }
    return correct;
}

/* Mean cross-entropy of probabilities, clamped so p = 0 costs -log(1e-7)
 * rather than infinity, as Keras does */
static double prob_xent(const float *p, const int *labels, int B, int N) {
    double sum = 0;
    for (int b = 0; b < B; b++) {
        double q = p[(size_t)b * (size_t)N + (size_t)labels[b]];
        sum -= log(q > PROB_FLOOR ? q : PROB_FLOOR);
    }
    return sum / B;
}

/* The mean loss of one inference batch, whatever infer's output is */
static double infer_loss(const nn_model_desc *m, const float *out, const int *labels, int B) {
    if (m->loss == NN_MSE)
        return nn_mse(NULL, out, labels, B, m->out_size);
    if (m->out_is_prob)
        return prob_xent(out, labels, B, m->out_size);
    return nn_softmax_xent(NULL, out, labels, B, m->out_size);
}

static Metrics evaluate(const nn_model_desc *m, const nn_dataset *d, const Buffers *b, int batch) {
    double loss = 0;
    size_t correct = 0;
    for (size_t first = 0; first < d->n; first += (size_t)batch) {
        int B = d->n - first < (size_t)batch ? (int)(d->n - first) : batch;
        nn_data_batch(b->x, b->labels, NULL, d, NULL, first, B);
        m->infer(b->param, b->state, b->work, b->x, b->out, B);
        loss += infer_loss(m, b->out, b->labels, B) * B;
        correct += (size_t)count_correct(b->out, b->labels, B, m->out_size);
    }
    return (Metrics){loss / (double)d->n, (double)correct / (double)d->n};
}

static void progress_start(Progress *p) {
    p->active = isatty(STDERR_FILENO);
    p->start = p->drawn = nn_seconds();
    p->width = 0;
}

/* epoch 3/10 [=========>      ] 38400/60000  52341 samples/s  loss 0.3124  ETA 0.4s */
static void progress_draw(Progress *p, int epoch, int epochs, size_t done, size_t total,
                          double loss) {
    double t = nn_seconds();
    if (!p->active || t - p->drawn < REDRAW_SECONDS)
        return;
    p->drawn = t;
    double rate = (double)done / (t - p->start);
    char bar[BAR_WIDTH + 1];
    int filled = (int)((double)BAR_WIDTH * (double)done / (double)total);
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled - 1 || done == total ? '=' : i == filled - 1 ? '>' : ' ';
    bar[BAR_WIDTH] = '\0';
    char line[256];
    int width = snprintf(line, sizeof line,
                         "epoch %d/%d [%s] %zu/%zu  %.0f samples/s  loss %.4f  ETA %.1fs", epoch,
                         epochs, bar, done, total, rate, loss, (double)(total - done) / rate);
    /* Blanks over what a longer previous line left behind */
    fprintf(stderr, "\r%s%*s", line, p->width > width ? p->width - width : 0, "");
    p->width = width > p->width ? width : p->width;
}

static void progress_clear(Progress *p) {
    if (p->active && p->width > 0)
        fprintf(stderr, "\r%*s\r", p->width, "");
    p->width = 0;
}

static int report_nan(const nn_model_desc *m, float loss, int epoch, long batch, long step,
                      float lr) {
    return error(m,
                 "the loss became %s at epoch %d, batch %ld (step %ld); the learning rate %g is "
                 "probably too high: try --lr %g",
                 isnan(loss) ? "nan" : "inf", epoch, batch, step, lr, lr / 10);
}

/* One pass over the training set in this epoch's order; train metrics are
 * means over the examples, as Keras reports them. 0, or 1 on a NaN. */
static int train_epoch(const nn_model_desc *m, const Options *o, const nn_dataset *d, Buffers *b,
                       int epoch, long *step, Metrics *train) {
    const int batch = o->h.batch;
    const uint64_t dropout_key = nn_hash2(o->h.seed, STREAM_DROPOUT);
    double loss_sum = 0;
    size_t correct = 0;
    Progress p;
    shuffle(b->perm, d->n, o->h.seed, epoch);
    progress_start(&p);
    for (size_t first = 0; first < d->n; first += (size_t)batch) {
        int B = d->n - first < (size_t)batch ? (int)(d->n - first) : batch;
        nn_data_batch(b->x, b->labels, NULL, d, b->perm, first, B);
        ++*step;
        float loss = m->train_step(b->param, b->grad, b->state, b->work, b->x, b->labels, b->out, B,
                                   nn_hash2(dropout_key, (uint64_t)*step));
        if (!isfinite(loss)) {
            progress_clear(&p);
            return report_nan(m, loss, epoch, (long)(first / (size_t)batch) + 1, *step, o->h.lr);
        }
        nn_optimizer_step(b->param, b->grad, b->opt_state, m->n_param, &o->h, *step);
        loss_sum += (double)loss * B;
        correct += (size_t)count_correct(b->out, b->labels, B, m->out_size);
        size_t done = first + (size_t)B;
        progress_draw(&p, epoch, o->h.epochs, done, d->n, loss_sum / (double)done);
    }
    progress_clear(&p);
    *train = (Metrics){loss_sum / (double)d->n, (double)correct / (double)d->n};
    return 0;
}

static void print_intro(const nn_model_desc *m, const Options *o, size_t n_train, size_t n_test) {
    const nn_hparams *h = &o->h;
    printf("%s: %zu parameters | train %zu examples, test %zu | %s lr=%g", m->name, m->n_param,
           n_train, n_test, optimizer_name(h->optimizer), h->lr);
    if (h->optimizer == NN_SGD && h->momentum != 0)
        printf(" momentum=%g%s", h->momentum, h->nesterov ? " nesterov" : "");
    if (h->weight_decay != 0)
        printf(" weight_decay=%g", h->weight_decay);
    printf(" batch=%d epochs=%d seed=%llu threads=%d\n", h->batch, h->epochs,
           (unsigned long long)h->seed, nn_threads());
}

/* train_eval: the training set evaluated by infer, NULL without --eval-train */
static void report_epoch(FILE *log, int epoch, int epochs, Metrics train, Metrics test,
                         const Metrics *train_eval, double seconds, size_t n) {
    double rate = seconds > 0 ? (double)n / seconds : 0;
    printf("epoch %d/%d: train loss=%.4f accuracy=%.4f | test loss=%.4f accuracy=%.4f | ", epoch,
           epochs, train.loss, train.accuracy, test.loss, test.accuracy);
    if (train_eval)
        printf("train-eval loss=%.4f accuracy=%.4f | ", train_eval->loss, train_eval->accuracy);
    printf("%.1fs %.0f samples/s\n", seconds, rate);
    fflush(stdout);
    if (log) {
        fprintf(log, "%d,%.6f,%.6f,%.6f,%.6f,%.3f,%.1f,", epoch, train.loss, train.accuracy,
                test.loss, test.accuracy, seconds, rate);
        if (train_eval)
            fprintf(log, "%.6f,%.6f\n", train_eval->loss, train_eval->accuracy);
        else
            fprintf(log, ",\n");
        fflush(log);
    }
}

static void print_test_line(Metrics test) {
    printf("test: loss=%.4f accuracy=%.4f\n", test.loss, test.accuracy);
    fflush(stdout);
}

/* ---------------------------------------------------------------- checkpoints */

/* What a new run records: the recipe, and where it is (epoch 0, step 0) */
static void record_run(nn_run *r, const Options *o) {
    *r = (nn_run){.h = o->h,
                  .limit = o->limit == SIZE_MAX ? NN_NO_LIMIT : (uint64_t)o->limit};
    /* Canonical, so that a resume from another directory finds the data */
    if (!realpath(o->data, r->data))
        snprintf(r->data, sizeof r->data, "%s", o->data);
}

/* Writes the run as it is now to o->save and says so */
static int save_checkpoint(const nn_model_desc *m, const Options *o, const nn_run *run,
                           const Buffers *b) {
    char err[ERR_LEN];
    if (nn_checkpoint_save(o->save, m, run, b->param, b->state, b->opt_state, err, sizeof err))
        return error(m, "%s", err);
    printf("checkpoint: %s (epoch %llu)\n", o->save, (unsigned long long)run->epoch);
    return 0;
}

static const char *limit_text(char *buf, size_t len, uint64_t limit) {
    if (limit == NN_NO_LIMIT)
        return "all";
    snprintf(buf, len, "%llu", (unsigned long long)limit);
    return buf;
}

/* The model's own recipe (what the command line cannot set) against the
 * one the checkpoint was trained with */
static int check_model_recipe(const nn_model_desc *m, const char *file, const nn_hparams *h) {
    const nn_hparams *d = &m->defaults;
    if (d->optimizer != h->optimizer)
        return error(m, "%s: the checkpoint was trained with %s, this trainer's model uses %s",
                     file, optimizer_name(h->optimizer), optimizer_name(d->optimizer));
    const struct {
        const char *name;
        double file, model;
    } v[] = {{"momentum", h->momentum, d->momentum},    {"nesterov", h->nesterov, d->nesterov},
             {"beta1", h->beta1, d->beta1},             {"beta2", h->beta2, d->beta2},
             {"eps", h->eps, d->eps},                   {"weight_decay", h->weight_decay, d->weight_decay}};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        if (v[i].file != v[i].model)
            return error(m, "%s: the checkpoint was trained with %s=%g, this trainer's model has %s=%g",
                         file, v[i].name, v[i].file, v[i].name, v[i].model);
    return 0;
}

static int given(const Options *o, OptId id) {
    return o->given >> id & 1;
}

/* The recipe options of a resumed run: each comes from the checkpoint, and
 * one given on the command line must agree with it (--epochs, the target,
 * is the exception). 0, or 1 with the message printed. */
static int adopt_run(const nn_model_desc *m, Options *o, const nn_checkpoint *c) {
    const nn_run *r = &c->run;
    const char *f = o->resume;
    char a[NN_PATH_LEN], b[4 * NN_PATH_LEN + 1], canon[NN_PATH_LEN];
    if (c->version == 1)
        return error(m, "%s: a version 1 checkpoint holds no optimizer state or step, so its run "
                        "cannot be resumed exactly (eval still reads it); train again to get a "
                        "version 2 checkpoint",
                     f);
    if (check_model_recipe(m, f, &r->h))
        return 1;
    uint64_t limit = o->limit == SIZE_MAX ? NN_NO_LIMIT : (uint64_t)o->limit;
    OptId bad = N_OPTS;
    if (given(o, OPT_DATA) && strcmp(realpath(o->data, canon) ? canon : o->data, r->data)) {
        bad = OPT_DATA;
        snprintf(a, sizeof a, "%s", o->data);
        nn_escape(b, r->data, strlen(r->data));
    } else if (given(o, OPT_LIMIT) && limit != r->limit) {
        bad = OPT_LIMIT;
        limit_text(a, sizeof a, limit);
        limit_text(b, sizeof b, r->limit);
    } else if (given(o, OPT_BATCH) && o->h.batch != r->h.batch) {
        bad = OPT_BATCH;
        snprintf(a, sizeof a, "%d", o->h.batch);
        snprintf(b, sizeof b, "%d", r->h.batch);
    } else if (given(o, OPT_LR) && o->h.lr != r->h.lr) {
        bad = OPT_LR;
        snprintf(a, sizeof a, "%g", o->h.lr);
        snprintf(b, sizeof b, "%g", r->h.lr);
    } else if (given(o, OPT_SEED) && o->h.seed != r->h.seed) {
        bad = OPT_SEED;
        snprintf(a, sizeof a, "%llu", (unsigned long long)o->h.seed);
        snprintf(b, sizeof b, "%llu", (unsigned long long)r->h.seed);
    }
    if (bad != N_OPTS)
        return error(m,
                     "%s: --%s %s differs from the checkpoint's %s; leave --%s out to continue "
                     "with it",
                     f, opt_info[bad].name, a, b, opt_info[bad].name);
    int target = given(o, OPT_EPOCHS) ? o->h.epochs : r->h.epochs;
    if (r->epoch > (uint64_t)target)
        return error(m, "%s: holds %llu epochs, more than the %d asked for", f,
                     (unsigned long long)r->epoch, target);
    o->h = r->h;
    o->h.epochs = target;
    o->data = r->data;
    o->limit = r->limit == NN_NO_LIMIT ? SIZE_MAX : (size_t)r->limit;
    return 0; /* the thread count is the command line's: results do not depend on it */
}

/* The steps taken so far must be what the epochs of this training set
 * take: otherwise the data changed since the checkpoint was saved */
static int check_steps(const nn_model_desc *m, const Options *o, const nn_run *r, size_t n_train) {
    uint64_t per_epoch = (n_train + (size_t)o->h.batch - 1) / (size_t)o->h.batch;
    if (r->step != r->epoch * per_epoch)
        return error(m,
                     "%s: %llu steps in %llu epochs, but %zu examples in batches of %d take %llu "
                     "an epoch: the training data changed since the checkpoint was saved",
                     o->resume, (unsigned long long)r->step, (unsigned long long)r->epoch, n_train,
                     o->h.batch, (unsigned long long)per_epoch);
    return 0;
}

/* ---------------------------------------------------------------- runs */

/* Trains from where run is to o->h.epochs, saving every --save-every
 * epochs; *last gets the last epoch's test metrics, *saved the epoch
 * o->save holds. */
static int train_epochs(const nn_model_desc *m, const Options *o, const nn_dataset *train,
                        const nn_dataset *test, Buffers *b, FILE *log, nn_run *run, Metrics *last,
                        long *saved) {
    for (int epoch = (int)run->epoch + 1; epoch <= o->h.epochs; epoch++) {
        Metrics tr = {0, 0};
        long step = (long)run->step;
        double t0 = nn_seconds();
        if (train_epoch(m, o, train, b, epoch, &step, &tr))
            return 1;
        double seconds = nn_seconds() - t0;
        run->epoch = (uint64_t)epoch;
        run->step = (uint64_t)step;
        *last = evaluate(m, test, b, o->h.batch);
        Metrics tr_eval = o->eval_train ? evaluate(m, train, b, o->h.batch) : (Metrics){0, 0};
        report_epoch(log, epoch, o->h.epochs, tr, *last, o->eval_train ? &tr_eval : NULL, seconds,
                     train->n);
        if (o->save_every && epoch % o->save_every == 0) {
            if (save_checkpoint(m, o, run, b))
                return 1;
            *saved = epoch;
        }
    }
    return 0;
}

/* A new run from init, or one resumed from c (NULL: new) */
static int run_training(const nn_model_desc *m, const Options *o, const nn_checkpoint *c) {
    nn_data data;
    const nn_dataset *train = &data.train, *test = &data.test;
    Buffers b = {0};
    FILE *log = NULL;
    nn_run run;
    record_run(&run, o);
    /* The epoch o->save holds already: the --resume FILE holds its own */
    long saved = c && o->save == o->resume ? (long)c->run.epoch : -1;
    if ((o->save && check_save_dir(m, o->save)) ||
        open_data(m, o, NN_WANT_TRAIN | NN_WANT_TEST, &data))
        return 1;
    int rc = (c && check_steps(m, o, &c->run, train->n)) ||
             alloc_buffers(m, &o->h, train->n, &b) || (o->log && open_log(m, o->log, &log));
    if (!rc) {
        print_intro(m, o, train->n, test->n);
        if (c) {
            nn_checkpoint_copy(c, m, b.param, b.state, b.opt_state);
            run.epoch = c->run.epoch;
            run.step = c->run.step;
            printf("resume: %s at epoch %llu (step %llu)\n", o->resume,
                   (unsigned long long)run.epoch, (unsigned long long)run.step);
        } else {
            m->init(b.param, b.state, o->h.seed);
        }
        uint64_t first = run.epoch;
        Metrics last = {0, 0};
        rc = train_epochs(m, o, train, test, &b, log, &run, &last, &saved);
        /* Nothing to train (--epochs 0, or a finished run): the test line
         * is the checkpoint's */
        if (!rc && run.epoch == first)
            last = evaluate(m, test, &b, o->h.batch);
        if (!rc && o->save && saved != (long)run.epoch)
            rc = save_checkpoint(m, o, &run, &b);
        if (log && close_log(m, o->log, log))
            rc = 1;
        if (!rc)
            print_test_line(last);
    }
    free_buffers(&b);
    nn_data_close(&data);
    return rc;
}

static int run_train(const nn_model_desc *m, Options *o) {
    nn_checkpoint c;
    char err[ERR_LEN];
    if (!o->resume) {
        nn_set_threads(o->threads);
        return run_training(m, o, NULL);
    }
    if (nn_checkpoint_read(&c, o->resume, m, err, sizeof err))
        return error(m, "%s", err);
    int rc = adopt_run(m, o, &c);
    if (!rc) {
        nn_set_threads(o->threads);
        rc = run_training(m, o, &c);
    }
    nn_checkpoint_free(&c);
    return rc;
}

static int run_eval(const nn_model_desc *m, const Options *o) {
    nn_data data = {0};
    const nn_dataset *test = &data.test;
    Buffers b = {0};
    nn_checkpoint c;
    char err[ERR_LEN];
    int rc = alloc_buffers(m, &o->h, 0, &b);
    if (!rc && nn_checkpoint_read(&c, o->load, m, err, sizeof err))
        rc = error(m, "%s", err);
    if (!rc) {
        nn_checkpoint_copy(&c, m, b.param, b.state, NULL);
        nn_checkpoint_free(&c);
        rc = open_data(m, o, NN_WANT_TEST, &data);
    }
    if (!rc) {
        printf("%s: checkpoint %s (%llu epochs) | test %zu examples | batch=%d threads=%d\n",
               m->name, o->load, (unsigned long long)c.run.epoch, test->n, o->h.batch,
               nn_threads());
        print_test_line(evaluate(m, test, &b, o->h.batch));
    }
    free_buffers(&b);
    nn_data_close(&data);
    return rc;
}

/* ---------------------------------------------------------------- nn_main */

/* Flush subnormal floats to zero on this thread (where the optimizer runs).
 * The Adam moments of weights that only ever see zero inputs (the blank
 * border pixels of MNIST-like images) decay geometrically into the
 * subnormal range, where x86 arithmetic is ~100x slower: without this, the
 * seed MLP's epochs slow down by half after the first. Results stay
 * deterministic; such values are below anything that changes a weight. */
static void flush_subnormals(void) {
#if defined(__SSE__)
    _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ | DAZ */
#endif
}

int nn_main(int argc, char **argv, const nn_model_desc *m) {
    flush_subnormals();
    /* Line-buffered even into a pipe, so `| tee` shows each epoch as it ends */
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        print_help(stdout, m);
        return 0;
    }
    if (!strcmp(cmd, "summary")) {
        if (argc > 2)
            return usage_error(m, "unexpected argument '%s' for 'summary'", argv[2]);
        print_summary(m);
        return 0;
    }
    if (!strcmp(cmd, "bench"))
        return nn_bench(argc - 2, argv + 2, m);
    if (strcmp(cmd, "train") != 0 && strcmp(cmd, "eval") != 0)
        return argc > 1 ? usage_error(m, "unknown command '%s'", cmd)
                        : usage_error(m, "no command: expected train, eval, summary or help");
    Options o = {.cmd = strcmp(cmd, "train") ? CMD_EVAL : CMD_TRAIN,
                 .data = NN_DEFAULT_DATA,
                 .h = m->defaults,
                 .limit = SIZE_MAX};
    if (parse_options(m, argc - 2, argv + 2, &o))
        return EXIT_USAGE;
    if (o.cmd == CMD_TRAIN)
        return run_train(m, &o);
    nn_set_threads(o.threads);
    return run_eval(m, &o);
}
