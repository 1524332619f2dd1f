/* options.h: the command line of every trainer (options.c), internal to
 * libnnrt: one table of options, each with the commands that take it, its
 * help and its default (docs/trainer.md, "Command line"), and the two
 * error messages every command prints. */
#ifndef NNRT_OPTIONS_H
#define NNRT_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "data.h"
#include "nnrt.h"

#define EXIT_USAGE 2
#define NN_MAX_WINDOWS 101 /* bench --windows */

/* bits: the commands an option is accepted by */
typedef enum { CMD_TRAIN = 1, CMD_EVAL = 2, CMD_BENCH = 4, CMD_PREDICT = 8 } Command;

/* ORDER OPT: the rows of opt_info in options.c */
typedef enum {
    OPT_DATA,
    OPT_TRAIN,
    OPT_TEST,
    OPT_VAL,
    OPT_HEADER,
    OPT_DELIMITER,
    OPT_LABEL,
    OPT_TARGET,
    OPT_TEST_SPLIT,
    OPT_VAL_SPLIT,
    OPT_STANDARDIZE,
    OPT_EPOCHS,
    OPT_BATCH,
    OPT_LR,
    OPT_SEED,
    OPT_LIMIT,
    OPT_SCHEDULE,
    OPT_SAVE,
    OPT_SAVE_EVERY,
    OPT_SAVE_BEST,
    OPT_RESUME,
    OPT_LOG,
    OPT_PLOT,
    OPT_EVAL_TRAIN,
    OPT_EARLY_STOP,
    OPT_MIN_DELTA,
    OPT_MONITOR,
    OPT_THREADS,
    OPT_LOAD,
    OPT_OUTPUT,
    OPT_STEPS,
    OPT_WARMUP,
    OPT_WINDOWS,
    N_OPTS
} OptId;

typedef enum { MONITOR_VAL_LOSS, MONITOR_VAL_ACCURACY } Monitor;

typedef struct {
    Command cmd;
    uint64_t given;       /* bit 1 << OptId of each option on the command line */
    nn_data_options data; /* --data ... --standardize, and --seed */
    const char *save;     /* --save, else the --resume FILE, NULL: no checkpoint */
    const char *save_best; /* --save-best, NULL: none */
    const char *resume;   /* --resume, NULL: a new run */
    const char *log;      /* --log, NULL: no CSV */
    const char *plot;     /* --plot, NULL: no curves */
    const char *load;     /* --load (eval, predict) */
    const char *output;   /* --output (predict), NULL: stdout */
    nn_hparams h;         /* m->defaults with --epochs, --batch, --lr, --seed, --schedule applied */
    size_t limit;         /* --limit, SIZE_MAX: every training example */
    int save_every;       /* --save-every, 0: only at the end */
    int threads;          /* --threads, 0: nn_set_threads's default */
    int eval_train;       /* --eval-train */
    int early_stop;       /* --early-stop PATIENCE, 0: off */
    double min_delta;     /* --min-delta */
    Monitor monitor;      /* --monitor */
    int steps, warmup, windows; /* bench */
} Options;

const char *nn_monitor_name(Monitor m);

/* Prints "NAME: error: ..." on stderr; returns the exit status 1 */
int nn_error(const nn_model_desc *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A bad command line: the message, a pointer to help; returns EXIT_USAGE */
int nn_usage_error(const nn_model_desc *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The options of command cmd with m's defaults, before parsing */
Options nn_options_default(const nn_model_desc *m, Command cmd);
/* argv[0 .. argc) of command cmd into o; 0, or EXIT_USAGE with the
 * message printed */
int nn_options_parse(const nn_model_desc *m, int argc, char **argv, Options *o);
/* Applies one option's value (NULL for a flag) to o, as the command line
 * would; 0, or EXIT_USAGE with the message printed */
int nn_options_set(const nn_model_desc *m, Options *o, OptId id, const char *v);
int nn_option_given(const Options *o, OptId id);
const char *nn_option_name(OptId id);
void nn_print_help(FILE *f, const nn_model_desc *m);

#endif
