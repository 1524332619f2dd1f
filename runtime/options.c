/* options.c: the table of every trainer option, its parser and the help
 * built from it (docs/trainer.md, "Command line"). A row says which
 * commands take the option; adding an option is a row, an OptId and a case
 * of nn_options_set. */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "schedule.h"

#define CMD_DATA (CMD_TRAIN | CMD_EVAL) /* the data options */
#define CMD_READ (CMD_DATA | CMD_PREDICT) /* how a file reads: predict's too */

typedef struct {
    const char *name; /* spelled --name VALUE or --name=VALUE */
    const char *arg;  /* the value's placeholder in the help; NULL: a flag, which takes none */
    unsigned cmds;    /* Command bits: the commands that accept it */
    const char *help;
    const char *fixed_default; /* NULL: none, or computed from the model's defaults */
} OptInfo;

/* ORDER OPT: indexed by OptId */
static const OptInfo opt_info[N_OPTS] = {
    {"data", "PATH", CMD_READ | CMD_BENCH,
     "a directory of IDX files (plain or .gz) or train.csv and test.csv, or one file: train's "
     "training file, eval's and predict's file",
     NN_DEFAULT_DATA},
    {"train", "SRC", CMD_DATA, "the training set: a CSV, .npz or directory, or X,Y (.npy or IDX)",
     NULL},
    {"test", "SRC", CMD_DATA, "the test set, as --train", NULL},
    {"val", "SRC", CMD_TRAIN, "a validation set, as --train, evaluated after each epoch", "none"},
    {"header", "yes|no|auto", CMD_READ, "whether a CSV's first line names the columns", "auto"},
    {"delimiter", "C", CMD_READ, "a CSV's field separator: ',', ';' or tab", "auto-detected"},
    {"label", "COL", CMD_READ, "the class column, by name or 1-based index",
     "the checkpoint's, else 'label', else the first"},
    {"target", "COL[,COL...]", CMD_READ, "regression: the target columns", "none: classes"},
    {"test-split", "F", CMD_DATA, "hold out floor(F x rows) seeded rows of --train to test on",
     "none"},
    {"val-split", "F", CMD_TRAIN, "validate on the last fraction F of the training data", "none"},
    {"standardize", NULL, CMD_TRAIN,
     "z-score each feature with the training set's mean and standard deviation", NULL},
    {"epochs", "N", CMD_TRAIN, "passes over the training set", NULL},
    {"batch", "N", CMD_TRAIN | CMD_EVAL | CMD_PREDICT | CMD_BENCH, "examples per step", NULL},
    {"lr", "X", CMD_TRAIN, "learning rate (the base of a schedule)", NULL},
    {"seed", "N", CMD_TRAIN, "seed of initialisation, shuffling and dropout", NULL},
    {"limit", "N", CMD_TRAIN, "train on the first N training examples only", "all"},
    {"schedule", "TEXT", CMD_TRAIN,
     "learning-rate schedule: 'step every=E factor=F', 'cosine [warmup=E] [min_lr=X]', "
     "'plateau patience=P factor=F [min_lr=X]' or 'none'",
     NULL},
    {"save", "FILE", CMD_TRAIN, "write the checkpoint there after training (and --save-every)",
     "none, or the --resume FILE"},
    {"save-every", "N", CMD_TRAIN, "also write the checkpoint after every N-th epoch", "never"},
    {"save-best", "FILE", CMD_TRAIN, "write the checkpoint there whenever --monitor improves",
     "none"},
    {"resume", "FILE", CMD_TRAIN,
     "continue the run FILE holds, to --epochs in total, with its recipe and data", NULL},
    {"log", "FILE", CMD_TRAIN, "write one CSV row of metrics per epoch there", "none"},
    {"plot", "FILE.png", CMD_TRAIN,
     "draw the loss and accuracy curves of train, validation and test there (gnuplot)", "none"},
    {"eval-train", NULL, CMD_TRAIN,
     "after each epoch, also evaluate the training set in inference mode (no dropout)", NULL},
    {"early-stop", "N", CMD_TRAIN,
     "stop after N epochs without a --monitor improvement, and keep the best epoch's weights",
     "off"},
    {"min-delta", "D", CMD_TRAIN, "the least change of --monitor that counts as an improvement",
     "0"},
    {"monitor", "val_loss|val_accuracy", CMD_TRAIN,
     "what --early-stop, --save-best and plateau watch", "val_loss"},
    {"threads", "N", CMD_TRAIN | CMD_EVAL | CMD_PREDICT | CMD_BENCH,
     "threads (OpenBLAS runs single-threaded in each)", "OPENBLAS_NUM_THREADS, else one per core"},
    {"load", "FILE", CMD_EVAL | CMD_PREDICT, "the checkpoint to run (required)", NULL},
    {"output", "FILE", CMD_PREDICT, "write the predictions there (atomically)", "stdout"},
    {"steps", "N", CMD_BENCH, "steps per timed window", "50"},
    {"warmup", "N", CMD_BENCH, "untimed steps first", "10"},
    {"windows", "N", CMD_BENCH, "timed windows, whose median is reported", "7"},
};

static const char *const monitors[] = {"val_loss", "val_accuracy"}; /* ORDER: Monitor */

const char *nn_monitor_name(Monitor m) {
    return monitors[m];
}

const char *nn_option_name(OptId id) {
    return opt_info[id].name;
}

int nn_option_given(const Options *o, OptId id) {
    return (int)(o->given >> id & 1);
}

/* ---------------------------------------------------------------- messages */

int nn_error(const nn_model_desc *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", m->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int nn_usage_error(const nn_model_desc *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", m->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\ntry '%s help'\n", m->name);
    va_end(ap);
    return EXIT_USAGE;
}

/* ---------------------------------------------------------------- help */

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
    case OPT_SCHEDULE:
        nn_schedule_format(buf, len, &d->schedule);
        break;
    default:
        snprintf(buf, len, "%s", opt_info[id].fixed_default ? opt_info[id].fixed_default : "");
    }
}

/* "eval, predict: " before the help of an option train does not take */
static void commands_text(char *buf, size_t len, unsigned cmds) {
    static const char *const names[] = {"eval", "bench", "predict"}; /* ORDER: Command from 2 */
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < 3 && !(cmds & CMD_TRAIN); i++)
        if (cmds >> (i + 1) & 1)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", names[i]);
    if (used)
        snprintf(buf + used, len - used, ": ");
}

void nn_print_help(FILE *f, const nn_model_desc *m) {
    const char *n = m->name;
    fprintf(f, "%s: trainer generated by nnc from %s (optimizer %s), libnnrt %s\n\n", n,
            m->source, optimizer_name(m->defaults.optimizer), NNC_VERSION);
    fprintf(f, "usage: %s train [options]        train, evaluating the test set after each epoch\n",
            n);
    fprintf(f, "       %s eval --load FILE [data options] [--batch N] [--threads N]\n", n);
    fprintf(f, "       %s predict --load FILE --data FILE [--output FILE] [data options]\n"
               "                                 one CSV row of outputs per example\n",
            n);
    fprintf(f, "       %s summary               print the layers and their sizes\n", n);
    fprintf(f, "       %s bench [--batch N] [--steps N] [--warmup N] [--windows N] [--threads N]\n"
               "                [--data DIR]         time training and inference, print JSON\n",
            n);
    fprintf(f, "       %s help                  print this help\n\n", n);
    fprintf(f, "options (a value may also be given as --option=VALUE):\n");
    for (int id = 0; id < N_OPTS; id++) {
        const OptInfo *o = &opt_info[id];
        char flag[64], def[128], cmds[64];
        snprintf(flag, sizeof flag, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        default_text(def, sizeof def, (OptId)id, &m->defaults);
        commands_text(cmds, sizeof cmds, o->cmds);
        fprintf(f, "  %-15s %s%s%s%s%s\n", flag, cmds, o->help, *def ? " (default: " : "", def,
                *def ? ")" : "");
    }
}

/* ---------------------------------------------------------------- values */

/* An integer in [lo, hi]; 0 or EXIT_USAGE (message printed) */
static int parse_int(const nn_model_desc *m, OptId id, const char *text, long long lo,
                     long long hi, long long *out) {
    const char *opt = opt_info[id].name;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0')
        return nn_usage_error(m, "--%s: '%s' is not an integer", opt, text);
    if (errno == ERANGE || v < lo || v > hi)
        return nn_usage_error(m, "--%s: %s is out of range (%lld..%lld)", opt, text, lo, hi);
    *out = v;
    return 0;
}

/* A seed is any 64-bit unsigned integer */
static int parse_seed(const nn_model_desc *m, const char *text, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end != '\0' || strchr(text, '-')) /* strtoull would negate it */
        return nn_usage_error(m, "--seed: '%s' is not a non-negative integer", text);
    if (errno == ERANGE)
        return nn_usage_error(m, "--seed: %s is out of range (0..%llu)", text,
                              (unsigned long long)UINT64_MAX);
    *out = v;
    return 0;
}

/* A number; `range` says which, for the message, and ok whether v is in it */
static int parse_number(const nn_model_desc *m, OptId id, const char *text, double *out) {
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end != '\0')
        return nn_usage_error(m, "--%s: '%s' is not a number", opt_info[id].name, text);
    static const struct {
        OptId id;
        double lo, hi; /* lo < v < hi, or lo <= v when lo_closed */
        int lo_closed;
        const char *range;
    } ranges[] = {
        {OPT_LR, 0, 1e6, 0, "a positive number below 1e6"},
        {OPT_TEST_SPLIT, 0, 1, 0, "0 < F < 1"},
        {OPT_VAL_SPLIT, 0, 1, 0, "0 < F < 1"},
        {OPT_MIN_DELTA, 0, 1e6, 1, "0 <= D < 1e6"},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++)
        if (ranges[i].id == id &&
            !((ranges[i].lo_closed ? v >= ranges[i].lo : v > ranges[i].lo) && v < ranges[i].hi))
            return nn_usage_error(m, "--%s: %s is out of range (%s)", opt_info[id].name, text,
                                  ranges[i].range);
    *out = v;
    return 0;
}

/* One of words[0 .. n); 0 or EXIT_USAGE */
static int parse_word(const nn_model_desc *m, OptId id, const char *text,
                      const char *const *words, int n, int *out) {
    for (int i = 0; i < n; i++)
        if (!strcmp(text, words[i])) {
            *out = i;
            return 0;
        }
    return nn_usage_error(m, "--%s: '%s' is not one of %s", opt_info[id].name, text,
                          opt_info[id].arg);
}

int nn_options_set(const nn_model_desc *m, Options *o, OptId id, const char *v) {
    static const char *const headers[] = {"yes", "no", "auto"};
    long long n = 0;
    double x = 0;
    int w = 0, rc = 0;
    char err[256];
    switch (id) {
    case OPT_DATA:
        o->data.dir = v;
        break;
    case OPT_TRAIN:
        o->data.train = v;
        break;
    case OPT_TEST:
        o->data.test = v;
        break;
    case OPT_VAL:
        o->data.val = v;
        break;
    case OPT_HEADER:
        if (!(rc = parse_word(m, id, v, headers, 3, &w)))
            o->data.header = v;
        break;
    case OPT_DELIMITER:
        o->data.delimiter = v;
        break;
    case OPT_LABEL:
        o->data.label = v;
        break;
    case OPT_TARGET:
        o->data.target = v;
        break;
    case OPT_TEST_SPLIT:
        rc = parse_number(m, id, v, &o->data.test_split);
        break;
    case OPT_VAL_SPLIT:
        rc = parse_number(m, id, v, &o->data.val_split);
        break;
    case OPT_STANDARDIZE:
        o->data.standardize = 1;
        break;
    case OPT_SAVE:
        o->save = v;
        break;
    case OPT_SAVE_BEST:
        o->save_best = v;
        break;
    case OPT_RESUME:
        o->resume = v;
        break;
    case OPT_LOG:
        o->log = v;
        break;
    case OPT_PLOT:
        o->plot = v;
        break;
    case OPT_EVAL_TRAIN:
        o->eval_train = 1;
        break;
    case OPT_LOAD:
        o->load = v;
        break;
    case OPT_OUTPUT:
        o->output = v;
        break;
    case OPT_LR:
        if (!(rc = parse_number(m, id, v, &x)))
            o->h.lr = (float)x;
        break;
    case OPT_MIN_DELTA:
        rc = parse_number(m, id, v, &o->min_delta);
        break;
    case OPT_MONITOR:
        if (!(rc = parse_word(m, id, v, monitors, 2, &w)))
            o->monitor = (Monitor)w;
        break;
    case OPT_SCHEDULE:
        if (nn_schedule_parse(&o->h.schedule, v, err, sizeof err))
            rc = nn_usage_error(m, "%s", err);
        break;
    case OPT_SEED:
        rc = parse_seed(m, v, &o->h.seed);
        break;
    case OPT_EPOCHS:
        if (!(rc = parse_int(m, id, v, 0, NN_MAX_EPOCHS, &n)))
            o->h.epochs = (int)n;
        break;
    case OPT_BATCH:
        if (!(rc = parse_int(m, id, v, 1, NN_MAX_BATCH, &n)))
            o->h.batch = (int)n;
        break;
    case OPT_LIMIT:
        if (!(rc = parse_int(m, id, v, 1, LLONG_MAX, &n)))
            o->limit = (size_t)n;
        break;
    case OPT_SAVE_EVERY:
        if (!(rc = parse_int(m, id, v, 1, NN_MAX_EPOCHS, &n)))
            o->save_every = (int)n;
        break;
    case OPT_EARLY_STOP:
        if (!(rc = parse_int(m, id, v, 1, NN_MAX_EPOCHS, &n)))
            o->early_stop = (int)n;
        break;
    case OPT_THREADS:
        if (!(rc = parse_int(m, id, v, 1, NN_MAX_THREADS, &n)))
            o->threads = (int)n;
        break;
    case OPT_STEPS:
    case OPT_WARMUP:
        if (!(rc = parse_int(m, id, v, id == OPT_STEPS, 1000000, &n)))
            *(id == OPT_STEPS ? &o->steps : &o->warmup) = (int)n;
        break;
    case OPT_WINDOWS:
        if (!(rc = parse_int(m, id, v, 1, NN_MAX_WINDOWS, &n)))
            o->windows = (int)n;
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

static const char *command_name(Command cmd) {
    return cmd == CMD_TRAIN ? "train" : cmd == CMD_EVAL ? "eval" : cmd == CMD_PREDICT ? "predict" : "bench";
}

Options nn_options_default(const nn_model_desc *m, Command cmd) {
    return (Options){.cmd = cmd,
                     .h = m->defaults,
                     .limit = SIZE_MAX,
                     .steps = 50,
                     .warmup = 10,
                     .windows = 7};
}

/* What one option asks of the others, once all are known */
static int check_combinations(const nn_model_desc *m, Options *o) {
    if ((o->cmd == CMD_EVAL || o->cmd == CMD_PREDICT) && !o->load)
        return nn_usage_error(m, "%s needs --load FILE", command_name(o->cmd));
    if (o->cmd == CMD_PREDICT && !nn_option_given(o, OPT_DATA))
        return nn_usage_error(m, "predict needs --data FILE: the examples to predict");
    if (!o->save)
        o->save = o->resume;
    if (o->save_every && !o->save)
        return nn_usage_error(m, "--save-every needs --save FILE or --resume FILE");
    if (nn_option_given(o, OPT_DATA) && o->data.train)
        return nn_usage_error(m, "--data and --train both name the training data: give one");
    if (o->data.test && o->data.test_split > 0)
        return nn_usage_error(m, "--test and --test-split both name the test set: give one");
    if (o->data.val && o->data.val_split > 0)
        return nn_usage_error(m, "--val and --val-split both name the validation set: give one");
    int monitoring = o->early_stop || o->save_best || o->h.schedule.kind == NN_SCHED_PLATEAU;
    if ((nn_option_given(o, OPT_MIN_DELTA) || nn_option_given(o, OPT_MONITOR)) && !monitoring)
        return nn_usage_error(m, "--%s needs --early-stop N, --save-best FILE or a plateau schedule",
                              nn_option_given(o, OPT_MONITOR) ? "monitor" : "min-delta");
    if (o->cmd == CMD_TRAIN && monitoring && !o->data.val && !(o->data.val_split > 0))
        return nn_usage_error(m, "%s needs a validation set: --val FILE or --val-split F",
                              o->early_stop  ? "--early-stop"
                              : o->save_best ? "--save-best"
                                             : "a plateau schedule");
    /* The default directory, unless files name the sets the command reads */
    if (!o->data.train && !o->data.dir && !(o->cmd == CMD_EVAL && o->data.test))
        o->data.dir = NN_DEFAULT_DATA;
    return 0;
}

int nn_options_parse(const nn_model_desc *m, int argc, char **argv, Options *o) {
    for (int i = 0; i < argc; i++) {
        size_t len = 0;
        OptId id = find_option(argv[i], &len);
        if (id == N_OPTS || !(opt_info[id].cmds & o->cmd))
            return nn_usage_error(m, "%s '%s' for '%s'",
                                  argv[i][0] == '-' ? "unknown option" : "unexpected argument",
                                  argv[i], command_name(o->cmd));
        const char *value = argv[i][2 + len] == '=' ? argv[i] + 3 + len : NULL;
        if (!opt_info[id].arg && value)
            return nn_usage_error(m, "--%s takes no value", opt_info[id].name);
        o->given |= UINT64_C(1) << id;
        if (!opt_info[id].arg) {
            nn_options_set(m, o, id, NULL);
            continue;
        }
        if (!value && i + 1 == argc)
            return nn_usage_error(m, "--%s needs a value (%s)", opt_info[id].name,
                                  opt_info[id].arg);
        if (!value)
            value = argv[++i];
        if (nn_options_set(m, o, id, value))
            return EXIT_USAGE;
    }
    o->data.seed = o->h.seed;
    return check_combinations(m, o);
}
