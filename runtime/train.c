/* train.c: nn_main, the commands of every generated trainer (train, eval,
 * summary, help; bench is bench.c), and the pieces a training run hangs on
 * the loop's hooks (fit.h): the evaluation after each epoch, the epoch
 * line and the CSV log, the plateau schedule, early stopping and
 * --save-best, --save-every. Output formats are specified in
 * docs/trainer.md.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "bench.h"
#include "predict.h"
#include "checkpoint.h"
#include "commands.h"
#include "data.h"
#include "fit.h"
#include "metrics.h"
#include "nnrt.h"
#include "options.h"
#include "dist.h"
#include "plot.h"
#include "schedule.h"

static void print_summary(const nn_model_desc *m) {
    for (const char *const *line = m->summary; line && *line; line++)
        printf("%s\n", *line);
}

/* ---------------------------------------------------------------- files */

/* Fails before training rather than after it when a save cannot succeed */
static int check_save_dir(const nn_model_desc *m, OptId opt, const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (access(dir, W_OK) != 0)
        return nn_error(m, "--%s %s: cannot write to directory %s: %s", nn_option_name(opt), path,
                        dir, strerror(errno));
    return 0;
}

/* The CSV log gets its header now and a flushed row per epoch, so a run
 * that stops early (a NaN, a kill) leaves the completed epochs readable. */
static int open_log(const nn_model_desc *m, const char *path, Task task, FILE **log) {
    *log = fopen(path, "w");
    if (!*log)
        return nn_error(m, "--log %s: %s", path, strerror(errno));
    /* The optional columns are always there, empty when their option is
     * not given, so a reader of several runs' logs sees one layout; the
     * newer ones come last, so older readers' column numbers still hold */
    fprintf(*log, "epoch,");
    nn_log_metrics(*log, task == CLASSES ? CLASSES : REGRESSION_RUNNING, "train", NULL);
    nn_log_metrics(*log, task, "test", NULL);
    fprintf(*log, "seconds,samples_per_second,");
    nn_log_metrics(*log, task, "train_eval", NULL);
    nn_log_metrics(*log, task, "val", NULL);
    fprintf(*log, "lr\n");
    fflush(*log);
    return 0;
}

static int close_log(const nn_model_desc *m, const char *path, FILE *log) {
    int bad = ferror(log);
    if (fclose(log) != 0 || bad)
        return nn_error(m, "--log %s: write error", path);
    return 0;
}

/* Writes the run as it is now to path and says so */
static int save_checkpoint(const nn_model_desc *m, const char *path, const nn_run *run,
                           const nn_buffers *b) {
    char err[ERR_LEN];
    if (nn_checkpoint_save(path, m, run, b->param, b->state, b->opt_state, err, sizeof err))
        return nn_error(m, "%s", err);
    printf("checkpoint: %s (epoch %llu)\n", path, (unsigned long long)run->epoch);
    return 0;
}

/* ---------------------------------------------------------------- a run's pieces */

/* The end of one epoch, as the pieces see it */
typedef struct {
    nn_metrics test, val, train_eval;
} Measured;

/* What the weights of the best epoch so far were, to restore them */
typedef struct {
    nn_buffers b; /* param, state and opt_state only */
    nn_run run;
    nn_metrics test;
    int taken; /* 0 until the first improvement */
} Snapshot;

/* A training run: the loop's state and everything its pieces keep */
typedef struct {
    const Options *o;
    Task task;          /* CLASSES or REGRESSION, from the training data */
    nn_fit fit;
    nn_data data;
    FILE *log;
    Measured now;
    Snapshot best;      /* with --early-stop */
    nn_history history; /* with --plot */
    long saved;         /* the epoch o->save holds, -1: none yet */
    unsigned char *meta; /* the data meta's bytes: fit.run and best.run point into them */
} Trainer;

static double monitored(const Trainer *t) {
    return t->o->monitor == MONITOR_VAL_LOSS ? t->now.val.loss : t->now.val.accuracy;
}

/* ---------------------------------------------------------------- the pieces */

/* Evaluation: the test set, the validation set, and with --eval-train the
 * training set, in inference mode after the epoch's last update */
static int evaluate_epoch(nn_fit *f, void *ctx) {
    Trainer *t = ctx;
    int batch = f->run.h.batch;
    t->now.test = nn_evaluate(f->m, f->test, &f->b, batch, NULL);
    if (f->val->n)
        t->now.val = nn_evaluate(f->m, f->val, &f->b, batch, NULL);
    if (t->o->eval_train)
        t->now.train_eval = nn_evaluate(f->m, f->train, &f->b, batch, NULL);
    return 0;
}

/* The epoch line and the CSV row */
static int report_epoch(nn_fit *f, void *ctx) {
    Trainer *t = ctx;
    const Measured *e = &t->now;
    const Task running = t->task == CLASSES ? CLASSES : REGRESSION_RUNNING;
    int val = f->val->n > 0, sched = f->run.h.schedule.kind != NN_SCHED_NONE;
    double rate = f->seconds > 0 ? (double)f->train->n / f->seconds : 0;
    printf("epoch %llu/%d: train ", (unsigned long long)f->run.epoch, f->run.h.epochs);
    nn_print_metrics(running, &f->train_m);
    if (val) {
        printf(" | val ");
        nn_print_metrics(t->task, &e->val);
    }
    printf(" | test ");
    nn_print_metrics(t->task, &e->test);
    if (t->o->eval_train) {
        printf(" | train-eval ");
        nn_print_metrics(t->task, &e->train_eval);
    }
    if (sched)
        printf(" | lr=%.4g", f->lr);
    printf(" | %.1fs %.0f samples/s\n", f->seconds, rate);
    fflush(stdout);
    if (t->log) {
        fprintf(t->log, "%llu,", (unsigned long long)f->run.epoch);
        nn_log_metrics(t->log, running, NULL, &f->train_m);
        nn_log_metrics(t->log, t->task, NULL, &e->test);
        fprintf(t->log, "%.3f,%.1f,", f->seconds, rate);
        nn_log_metrics(t->log, t->task, NULL, t->o->eval_train ? &e->train_eval : NULL);
        nn_log_metrics(t->log, t->task, NULL, val ? &e->val : NULL);
        fprintf(t->log, "%.9g\n", f->lr);
        fflush(t->log);
    }
    return 0;
}

/* --plot's numbers */
static int record_epoch(nn_fit *f, void *ctx) {
    Trainer *t = ctx;
    nn_history *h = &t->history;
    h->epoch[h->n] = f->run.epoch;
    h->train[h->n] = f->train_m;
    h->val[h->n] = t->now.val;
    h->test[h->n] = t->now.test;
    h->n++;
    return 0;
}

/* ReduceLROnPlateau, before the pieces that save the run, so a checkpoint
 * of this epoch holds the rate the next epoch will use */
static int plateau_epoch(nn_fit *f, void *ctx) {
    nn_plateau_update(&f->run.plateau, &f->run.h.schedule, monitored(ctx));
    return 0;
}

static void snapshot_copy(nn_buffers *to, const nn_buffers *from, const nn_fit *f) {
    memcpy(to->param, from->param, f->m->n_param * sizeof(float));
    memcpy(to->state, from->state, f->m->n_state * sizeof(float));
    memcpy(to->opt_state, from->opt_state,
           nn_optimizer_state_size(&f->run.h, f->m->n_param) * sizeof(float));
}

/* EarlyStopping(restore_best_weights=True) and ModelCheckpoint(save_best_only=True) */
static int monitor_epoch(nn_fit *f, void *ctx) {
    Trainer *t = ctx;
    const Options *o = t->o;
    if (nn_tracker_update(&f->run.monitor, monitored(t))) {
        if (o->early_stop) {
            snapshot_copy(&t->best.b, &f->b, f);
            t->best.run = f->run;
            t->best.test = t->now.test;
            t->best.taken = 1;
        }
        if (o->save_best && save_checkpoint(f->m, o->save_best, &f->run, &f->b))
            return 1;
    } else if (o->early_stop && f->run.monitor.wait >= (uint32_t)o->early_stop) {
        printf("early stop: no %s improvement in %u epochs\n", nn_monitor_name(o->monitor),
               f->run.monitor.wait);
        f->stop = 1;
    }
    return 0;
}

static int save_every_epoch(nn_fit *f, void *ctx) {
    Trainer *t = ctx;
    if (f->run.epoch % (uint64_t)t->o->save_every)
        return 0;
    t->saved = (long)f->run.epoch;
    return save_checkpoint(f->m, t->o->save, &f->run, &f->b);
}

/* The pieces this run needs, in the order they must see an epoch's end */
static int build_hooks(Trainer *t, nn_hook *hooks) {
    const Options *o = t->o;
    int n = 0;
    hooks[n++] = (nn_hook){.epoch_end = evaluate_epoch, .ctx = t};
    hooks[n++] = (nn_hook){.epoch_end = report_epoch, .ctx = t};
    if (o->plot)
        hooks[n++] = (nn_hook){.epoch_end = record_epoch, .ctx = t};
    if (o->h.schedule.kind == NN_SCHED_PLATEAU)
        hooks[n++] = (nn_hook){.epoch_end = plateau_epoch, .ctx = t};
    if (o->early_stop || o->save_best)
        hooks[n++] = (nn_hook){.epoch_end = monitor_epoch, .ctx = t};
    if (o->save_every)
        hooks[n++] = (nn_hook){.epoch_end = save_every_epoch, .ctx = t};
    return n;
}

/* ---------------------------------------------------------------- checkpoints */

/* The data options a checkpoint records besides --data (nn_run.data), so
 * that a resume reads the same files the same way */
static const OptId sources[] = {OPT_TRAIN,     OPT_TEST,  OPT_VAL,        OPT_HEADER,
                                OPT_DELIMITER, OPT_LABEL, OPT_TARGET,     OPT_TEST_SPLIT,
                                OPT_VAL_SPLIT, OPT_STANDARDIZE};

/* SRC with each of its paths (one, or the two of X,Y) made absolute by
 * realpath, so that a resume from another directory finds the files. A
 * path realpath cannot resolve stays as given, for the data reader to name
 * in its message, and so does all of SRC when the result would not fit. */
static void canonical_source(char *out, size_t len, const char *src) {
    char x[NN_PATH_LEN], cx[NN_PATH_LEN], cy[NN_PATH_LEN];
    const char *comma = strchr(src, ','), *y = comma ? comma + 1 : NULL;
    snprintf(x, sizeof x, "%.*s", comma ? (int)(comma - src) : (int)strlen(src), src);
    const char *rx = realpath(x, cx) ? cx : x, *ry = y && realpath(y, cy) ? cy : y;
    int n = snprintf(out, len, "%s%s%s", rx, y ? "," : "", y ? ry : "");
    if (n < 0 || (size_t)n >= len)
        snprintf(out, len, "%s", src);
}

/* Option id's value in d as text, "" if it is not set; paths canonical */
static void source_text(char *buf, size_t len, const nn_data_options *d, OptId id) {
    const char *const text[] = {[OPT_TRAIN] = d->train,     [OPT_TEST] = d->test,
                                [OPT_VAL] = d->val,         [OPT_HEADER] = d->header,
                                [OPT_DELIMITER] = d->delimiter, [OPT_LABEL] = d->label,
                                [OPT_TARGET] = d->target};
    const double split = id == OPT_TEST_SPLIT ? d->test_split : d->val_split;
    buf[0] = '\0';
    if (id == OPT_TEST_SPLIT || id == OPT_VAL_SPLIT) {
        if (split > 0)
            snprintf(buf, len, "%.17g", split);
    } else if (id == OPT_STANDARDIZE)
        snprintf(buf, len, "%s", d->standardize ? "yes" : "");
    else if (id <= OPT_VAL && text[id])
        canonical_source(buf, len, text[id]);
    else
        snprintf(buf, len, "%s", text[id] ? text[id] : "");
}

/* r->sources from o's data options; 0, or 1 with the message printed */
static int record_sources(const nn_model_desc *m, nn_run *r, const nn_data_options *d) {
    char value[NN_SOURCES_LEN];
    r->sources_len = 0;
    for (size_t i = 0; i < sizeof sources / sizeof *sources; i++) {
        source_text(value, sizeof value, d, sources[i]);
        if (!*value)
            continue;
        size_t left = sizeof r->sources - r->sources_len;
        int n = snprintf(r->sources + r->sources_len, left, "%s=%s", nn_option_name(sources[i]),
                         value);
        if (n < 0 || (size_t)n >= left)
            return nn_error(m, "the data options are too long to record in a checkpoint "
                               "(%d bytes at most)",
                            NN_SOURCES_LEN - 1);
        r->sources_len += (size_t)n + 1; /* and its NUL */
    }
    return 0;
}

/* The recorded data options into o; one given on the command line must
 * agree. f: the checkpoint's name; 0, or 1 with the message printed. */
static int adopt_sources(const nn_model_desc *m, Options *o, const nn_run *r, const char *f) {
    char now[NN_SOURCES_LEN], shown[4 * NN_PATH_LEN + 1];
    for (size_t at = 0; at < r->sources_len; at += strlen(r->sources + at) + 1) {
        const char *entry = r->sources + at, *eq = strchr(entry, '=');
        size_t k = 0;
        while (k < sizeof sources / sizeof *sources &&
               !(eq && strlen(nn_option_name(sources[k])) == (size_t)(eq - entry) &&
                 !strncmp(entry, nn_option_name(sources[k]), (size_t)(eq - entry))))
            k++;
        if (k == sizeof sources / sizeof *sources) {
            nn_escape(shown, entry, strlen(entry) < NN_PATH_LEN ? strlen(entry) : NN_PATH_LEN);
            return nn_error(m, "%s: corrupt: an unknown data option '%s'", f, shown);
        }
        OptId id = sources[k];
        if (nn_option_given(o, id)) {
            source_text(now, sizeof now, &o->data, id);
            if (strcmp(now, eq + 1)) {
                nn_escape(shown, eq + 1, strlen(eq + 1) < NN_PATH_LEN ? strlen(eq + 1) : NN_PATH_LEN);
                return nn_error(m,
                                "%s: --%s %s differs from the checkpoint's %s; leave --%s out to "
                                "continue with it",
                                f, nn_option_name(id), now, shown, nn_option_name(id));
            }
        } else if (nn_options_set(m, o, id, id == OPT_STANDARDIZE ? NULL : eq + 1)) {
            return 1;
        }
    }
    return 0;
}

/* What a new run records: the recipe, and where it is (epoch 0, step 0) */
static void record_run(nn_run *r, const Options *o) {
    const char *data = o->data.dir ? o->data.dir : "";
    *r = (nn_run){.h = o->h,
                  .limit = o->limit == SIZE_MAX ? NN_NO_LIMIT : (uint64_t)o->limit,
                  .plateau = {.lr = o->h.lr,
                              .tracker = nn_tracker_new(o->monitor == MONITOR_VAL_ACCURACY,
                                                        NN_PLATEAU_MIN_DELTA)},
                  .monitored = o->early_stop || o->save_best,
                  .monitor = nn_tracker_new(o->monitor == MONITOR_VAL_ACCURACY, o->min_delta)};
    canonical_source(r->data, sizeof r->data, data);
}

static const char *limit_text(char *buf, size_t len, uint64_t limit) {
    if (limit == NN_NO_LIMIT)
        return "all";
    snprintf(buf, len, "%llu", (unsigned long long)limit);
    return buf;
}

static const char *optimizer_name(nn_optimizer o) {
    return o == NN_ADAM ? "adam" : "sgd";
}

/* The model's own recipe (what the command line cannot set) against the
 * one the checkpoint was trained with */
static int check_model_recipe(const nn_model_desc *m, const char *file, const nn_hparams *h) {
    const nn_hparams *d = &m->defaults;
    if (d->optimizer != h->optimizer)
        return nn_error(m, "%s: the checkpoint was trained with %s, this trainer's model uses %s",
                        file, optimizer_name(h->optimizer), optimizer_name(d->optimizer));
    const struct {
        const char *name;
        double file, model;
    } v[] = {{"momentum", h->momentum, d->momentum},    {"nesterov", h->nesterov, d->nesterov},
             {"beta1", h->beta1, d->beta1},             {"beta2", h->beta2, d->beta2},
             {"eps", h->eps, d->eps},                   {"weight_decay", h->weight_decay, d->weight_decay},
             {"clip_norm", h->clip_norm, d->clip_norm}};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        if (v[i].file != v[i].model)
            return nn_error(m, "%s: the checkpoint was trained with %s=%g, this trainer's model has %s=%g",
                            file, v[i].name, v[i].file, v[i].name, v[i].model);
    return 0;
}

/* The recipe options of a resumed run: each comes from the checkpoint, and
 * one given on the command line must agree with it (--epochs, the target,
 * is the exception). 0, or 1 with the message printed. */
static int adopt_run(const nn_model_desc *m, Options *o, const nn_checkpoint *c) {
    const nn_run *r = &c->run;
    const char *f = o->resume;
    char a[NN_PATH_LEN], b[4 * NN_PATH_LEN + 1], canon[NN_PATH_LEN];
    if (c->version == 1)
        return nn_error(m, "%s: a version 1 checkpoint holds no optimizer state or step, so its "
                           "run cannot be resumed exactly (eval still reads it); train again to "
                           "get a version 2 checkpoint",
                        f);
    if (check_model_recipe(m, f, &r->h))
        return 1;
    uint64_t limit = o->limit == SIZE_MAX ? NN_NO_LIMIT : (uint64_t)o->limit;
    OptId bad = N_OPTS;
    if (nn_option_given(o, OPT_DATA) &&
        (canonical_source(canon, sizeof canon, o->data.dir), strcmp(canon, r->data))) {
        bad = OPT_DATA;
        snprintf(a, sizeof a, "%s", o->data.dir);
        nn_escape(b, r->data, strlen(r->data));
    } else if (nn_option_given(o, OPT_LIMIT) && limit != r->limit) {
        bad = OPT_LIMIT;
        limit_text(a, sizeof a, limit);
        limit_text(b, sizeof b, r->limit);
    } else if (nn_option_given(o, OPT_BATCH) && o->h.batch != r->h.batch) {
        bad = OPT_BATCH;
        snprintf(a, sizeof a, "%d", o->h.batch);
        snprintf(b, sizeof b, "%d", r->h.batch);
    } else if (nn_option_given(o, OPT_LR) && o->h.lr != r->h.lr) {
        bad = OPT_LR;
        snprintf(a, sizeof a, "%g", o->h.lr);
        snprintf(b, sizeof b, "%g", r->h.lr);
    } else if (nn_option_given(o, OPT_SEED) && o->h.seed != r->h.seed) {
        bad = OPT_SEED;
        snprintf(a, sizeof a, "%llu", (unsigned long long)o->h.seed);
        snprintf(b, sizeof b, "%llu", (unsigned long long)r->h.seed);
    } else if (nn_option_given(o, OPT_SCHEDULE) &&
               memcmp(&o->h.schedule, &r->h.schedule, sizeof r->h.schedule)) {
        bad = OPT_SCHEDULE;
        nn_schedule_format(a, sizeof a, &o->h.schedule);
        nn_schedule_format(b, sizeof b, &r->h.schedule);
    }
    if (bad != N_OPTS)
        return nn_error(m,
                        "%s: --%s %s differs from the checkpoint's %s; leave --%s out to continue "
                        "with it",
                        f, nn_option_name(bad), a, b, nn_option_name(bad));
    int target = nn_option_given(o, OPT_EPOCHS) ? o->h.epochs : r->h.epochs;
    if (r->epoch > (uint64_t)target)
        return nn_error(m, "%s: holds %llu epochs, more than the %d asked for", f,
                        (unsigned long long)r->epoch, target);
    if (adopt_sources(m, o, r, f))
        return 1;
    o->h = r->h;
    o->h.epochs = target;
    o->data.dir = *r->data ? r->data : NULL;
    o->data.seed = o->h.seed; /* it draws the --test-split rows */
    o->limit = r->limit == NN_NO_LIMIT ? SIZE_MAX : (size_t)r->limit;
    return 0; /* the thread count is the command line's: results do not depend on it */
}

/* The steps taken so far must be what the epochs of this training set
 * take: otherwise the data changed since the checkpoint was saved */
static int check_steps(const nn_model_desc *m, const Options *o, const nn_run *r, size_t n_train) {
    uint64_t per_epoch = nn_steps_per_epoch(n_train, o->h.batch);
    if (r->step != r->epoch * per_epoch)
        return nn_error(m,
                        "%s: %llu steps in %llu epochs, but %zu examples in batches of %d take "
                        "%llu an epoch: the training data changed since the checkpoint was saved",
                        o->resume, (unsigned long long)r->step, (unsigned long long)r->epoch,
                        n_train, o->h.batch, (unsigned long long)per_epoch);
    return 0;
}

/* ---------------------------------------------------------------- train */

/* What the data asks of the model and of the options, once it is read */
static int check_task(const nn_model_desc *m, const Options *o, const nn_data *d) {
    int monitoring = o->early_stop || o->save_best || o->h.schedule.kind == NN_SCHED_PLATEAU;
    if (d->train.targets && m->loss != NN_MSE)
        return nn_error(m, "regression targets need a model with 'loss mse'; %s's loss is "
                           "cross_entropy",
                        m->name);
    if (monitoring && !d->val.n)
        return nn_error(m, "the validation set has no examples: %s needs some to watch %s",
                        o->early_stop ? "--early-stop" : o->save_best ? "--save-best" : "plateau",
                        nn_monitor_name(o->monitor));
    if (monitoring && d->train.targets && o->monitor == MONITOR_VAL_ACCURACY)
        return nn_error(m, "--monitor val_accuracy: a regression has no accuracy; monitor val_loss");
    return 0;
}

static void print_intro(const nn_model_desc *m, const Options *o, const nn_data *d) {
    const nn_hparams *h = &o->h;
    printf("%s: %zu parameters | train %zu examples, ", m->name, m->n_param, d->train.n);
    if (d->val.n)
        printf("val %zu, ", d->val.n);
    printf("test %zu | %s lr=%g", d->test.n, optimizer_name(h->optimizer), h->lr);
    if (h->optimizer == NN_SGD && h->momentum != 0)
        printf(" momentum=%g%s", h->momentum, h->nesterov ? " nesterov" : "");
    if (h->weight_decay != 0)
        printf(" weight_decay=%g", h->weight_decay);
    if (h->schedule.kind != NN_SCHED_NONE) {
        char s[128];
        nn_schedule_format(s, sizeof s, &h->schedule);
        printf(" schedule=\"%s\"", s);
    }
    if (h->clip_norm != 0)
        printf(" clip_norm=%g", h->clip_norm);
    printf(" batch=%d epochs=%d seed=%llu threads=%d\n", h->batch, h->epochs,
           (unsigned long long)h->seed, nn_threads());
    if (nn_dist_size() > 1) {
        const nn_shards s = nn_shards_of(m, h->batch);
        printf("processes: %d | %d shards of %d examples a batch, summed in shard order%s\n",
               nn_dist_size(), s.count, s.rows,
               s.count < nn_dist_size() ? " (fewer shards than processes: some compute "
                                          "every shard of one)" : "");
    }
}

static int alloc_snapshot(const nn_model_desc *m, const nn_hparams *h, Snapshot *s) {
    s->b.param = nn_alloc(m->n_param, sizeof(float));
    s->b.state = nn_alloc(m->n_state, sizeof(float));
    s->b.opt_state = nn_alloc(nn_optimizer_state_size(h, m->n_param), sizeof(float));
    if (!s->b.param || !s->b.state || !s->b.opt_state)
        return nn_error(m, "out of memory for a copy of the best weights (--early-stop)");
    return 0;
}

/* Room for the epochs this run trains */
static int alloc_history(const nn_model_desc *m, const Options *o, const nn_checkpoint *c,
                         Trainer *t) {
    uint64_t first = c ? c->run.epoch : 0;
    if (nn_history_alloc(&t->history, (size_t)((uint64_t)o->h.epochs - first)))
        return nn_error(m, "out of memory for the curves of %d epochs (--plot)", o->h.epochs);
    t->history.has_val = t->data.val.n > 0;
    t->history.regression = t->task == REGRESSION;
    return 0;
}

/* The run's end: the best epoch's weights back (--early-stop), then the
 * final checkpoint; *test gets the metrics the test line prints */
static int finish(Trainer *t, uint64_t first, nn_metrics *test) {
    nn_fit *f = &t->fit;
    const Options *o = t->o;
    *test = t->now.test;
    /* Nothing trained (--epochs 0, or a finished run): the test line is the checkpoint's */
    if (f->run.epoch == first)
        *test = nn_evaluate(f->m, f->test, &f->b, o->h.batch, NULL);
    if (t->best.taken) {
        snapshot_copy(&f->b, &t->best.b, f);
        f->run = t->best.run;
        *test = t->best.test;
        printf("restore: the weights of epoch %llu (%s=%.4f)\n",
               (unsigned long long)f->run.epoch, nn_monitor_name(o->monitor), f->run.monitor.best);
    }
    if (o->save && t->saved != (long)f->run.epoch && save_checkpoint(f->m, o->save, &f->run, &f->b))
        return 1;
    if (o->plot && t->history.n) { /* nothing trained, nothing to draw */
        char err[ERR_LEN];
        if (nn_plot(o->plot, f->m->name, &t->history, err, sizeof err))
            return nn_error(f->m, "%s", err);
        printf("plot: %s\n", o->plot);
    }
    return 0;
}

/* A new run from init, or one resumed from c (NULL: new) */
static int run_training(const nn_model_desc *m, const Options *o, const nn_checkpoint *c) {
    Trainer t = {.o = o};
    nn_fit *f = &t.fit;
    nn_hook hooks[8];
    record_run(&f->run, o);
    if (record_sources(m, &f->run, &o->data))
        return 1;
    /* The epoch o->save holds already: the --resume FILE holds its own */
    t.saved = c && o->save == o->resume ? (long)c->run.epoch : -1;
    char err[ERR_LEN];
    if (o->plot && nn_plot_check(o->plot, err, sizeof err))
        return nn_error(m, "%s", err);
    if ((o->save && check_save_dir(m, OPT_SAVE, o->save)) ||
        (o->plot && check_save_dir(m, OPT_PLOT, o->plot)) ||
        (o->save_best && check_save_dir(m, OPT_SAVE_BEST, o->save_best)) ||
        nn_open_data(m, o, NN_WANT_TRAIN | NN_WANT_TEST, c, &t.data))
        return 1;
    t.task = nn_task_of(&t.data.train);
    if (check_task(m, o, &t.data) || nn_record_meta(m, &f->run, &t.data.meta, &t.meta)) {
        nn_data_close(&t.data);
        return 1;
    }
    *f = (nn_fit){.m = m, .run = f->run, .train = &t.data.train, .val = &t.data.val,
                  .test = &t.data.test, .hooks = hooks, .n_hooks = build_hooks(&t, hooks),
                  .lr = o->h.lr};
    int rc = (c && check_steps(m, o, &c->run, f->train->n)) ||
             nn_fit_alloc(&f->b, m, &o->h, f->train->n) ||
             (o->early_stop && alloc_snapshot(m, &o->h, &t.best)) ||
             (o->plot && alloc_history(m, o, c, &t)) ||
             (o->log && open_log(m, o->log, t.task, &t.log));
    if (!rc) {
        print_intro(m, o, &t.data);
        if (c) {
            nn_checkpoint_copy(c, m, f->b.param, f->b.state, f->b.opt_state);
            f->run.epoch = c->run.epoch;
            f->run.step = c->run.step;
            /* its rate, best and count; what "better" means is --monitor's */
            f->run.plateau.lr = c->run.plateau.lr;
            f->run.plateau.tracker.best = c->run.plateau.tracker.best;
            f->run.plateau.tracker.wait = c->run.plateau.tracker.wait;
            if (c->run.monitored) {
                f->run.monitor.best = c->run.monitor.best;
                f->run.monitor.wait = c->run.monitor.wait;
            }
            printf("resume: %s at epoch %llu (step %llu)\n", o->resume,
                   (unsigned long long)f->run.epoch, (unsigned long long)f->run.step);
        } else {
            m->init(f->b.param, f->b.state, o->h.seed);
        }
        uint64_t first = f->run.epoch;
        nn_metrics test;
        rc = nn_fit_run(f) || finish(&t, first, &test);
        if (t.log && close_log(m, o->log, t.log))
            rc = 1;
        if (!rc)
            nn_print_test_line(t.task, &test);
    }
    nn_fit_free(&f->b);
    nn_fit_free(&t.best.b);
    nn_history_free(&t.history);
    nn_data_close(&t.data);
    free(t.meta);
    return rc;
}

static int run_train(const nn_model_desc *m, Options *o) {
    nn_checkpoint c;
    char err[ERR_LEN];
    if (nn_dist_rank() > 0) { /* process 0 writes every file; the others train alike */
        o->save = o->save_best = o->log = o->plot = NULL;
        o->save_every = 0;
    }
    if (!o->resume) {
        nn_set_threads(o->threads);
        return run_training(m, o, NULL);
    }
    if (nn_checkpoint_read(&c, o->resume, m, err, sizeof err))
        return nn_error(m, "%s", err);
    int rc = adopt_run(m, o, &c);
    if (!rc) {
        nn_set_threads(o->threads);
        rc = run_training(m, o, &c);
    }
    nn_checkpoint_free(&c);
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

/* One process's run of the command line */
static int run_command(int argc, char **argv, const nn_model_desc *m) {
    /* Line-buffered even into a pipe, so `| tee` shows each epoch as it ends */
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        nn_print_help(stdout, m);
        return 0;
    }
    if (!strcmp(cmd, "summary")) {
        if (argc > 2)
            return nn_usage_error(m, "unexpected argument '%s' for 'summary'", argv[2]);
        print_summary(m);
        return 0;
    }
    static const struct {
        const char *name;
        Command cmd;
    } commands[] = {{"train", CMD_TRAIN}, {"eval", CMD_EVAL}, {"predict", CMD_PREDICT},
                    {"bench", CMD_BENCH}};
    size_t k = 0;
    while (k < sizeof commands / sizeof *commands && strcmp(cmd, commands[k].name))
        k++;
    if (k == sizeof commands / sizeof *commands)
        return argc > 1 ? nn_usage_error(m, "unknown command '%s'", cmd)
                        : nn_usage_error(m, "no command: expected train, eval, predict, summary or help");
    Options o = nn_options_default(m, commands[k].cmd);
    if (nn_options_parse(m, argc - 2, argv + 2, &o))
        return EXIT_USAGE;
    if (o.cmd == CMD_TRAIN)
        return run_train(m, &o);
    /* training (and its benchmark) is data-parallel; process 0 does the rest */
    if (nn_dist_rank() > 0 && o.cmd != CMD_BENCH)
        return 0;
    nn_set_threads(o.threads);
    if (o.cmd == CMD_EVAL)
        return nn_eval(m, &o);
    return o.cmd == CMD_PREDICT ? nn_predict(m, &o) : nn_bench(m, &o);
}

int nn_main(int argc, char **argv, const nn_model_desc *m) {
    flush_subnormals();
    if (nn_dist_init(&argc, &argv))
        return nn_dist_exit(1);
    /* Process 0 speaks for all: the others' output would repeat it */
    if (nn_dist_rank() > 0 && !freopen("/dev/null", "w", stdout))
        return nn_dist_exit(1);
    return nn_dist_exit(run_command(argc, argv, m));
}
