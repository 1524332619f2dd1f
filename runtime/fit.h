/* fit.h: the training loop as an explicit state and a few hooks (fit.c),
 * internal to libnnrt.
 *
 * nn_fit holds everything a run's future depends on (the buffers, the run
 * record the checkpoint serialises whole, the data sets) and what the
 * epoch just finished measured. The loop itself only trains and keeps
 * count; the rest (evaluation, the epoch line and the CSV log, early
 * stopping, the plateau schedule, periodic and best checkpoints) are
 * hooks, each a small piece of train.c called in the order given:
 *
 *   for each epoch:   epoch_begin
 *     for each step:  batch, train_step on each of its shards (shard.h)
 *                     and their gradients summed (dist.h), clip_norm,
 *                     the scheduled rate, the optimizer step, step_end
 *                     epoch_end
 *
 * A hook returns 0, or 1 to stop the run with an error (its message
 * printed); setting f->stop ends the run normally after this epoch.
 */
#ifndef NNRT_FIT_H
#define NNRT_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "data.h"
#include "nnrt.h"

/* The one allocation of each buffer the loop uses */
typedef struct {
    float *param;     /* (n_param) */
    float *grad;      /* (n_param) each of nn_dist_slots slots, training only */
    float *opt_state; /* nn_optimizer_state_size floats, zeroed, training only */
    float *state;     /* (n_state) */
    float *work;      /* training or inference workspace, whichever is larger */
    float *x;         /* (B, in_size): the batch as floats */
    int *labels;      /* (B) */
    float *targets;   /* (B, out_size): regression targets */
    float *out;       /* (B, out_size): logits or probabilities */
    double *ss_res;   /* (out_size): regression evaluation's sums of squared errors */
    size_t *perm;     /* (n_train): this epoch's order, training only */
} nn_buffers;

/* Means over the examples; classification has accuracy, regression mae
 * and r2 (loss is then the MSE) */
typedef struct {
    double loss, accuracy, mae, r2;
} nn_metrics;

typedef struct nn_fit nn_fit;

typedef struct {
    int (*epoch_begin)(nn_fit *f, void *ctx);
    int (*step_end)(nn_fit *f, void *ctx);
    int (*epoch_end)(nn_fit *f, void *ctx);
    void *ctx;
} nn_hook;

struct nn_fit {
    const nn_model_desc *m;
    nn_run run;            /* epoch and step done, the recipe (run.h), the plateau's progress */
    nn_buffers b;
    const nn_dataset *train, *val, *test; /* val->n == 0: no validation set */
    const nn_hook *hooks;
    int n_hooks;
    /* the step just taken */
    int batch_size;        /* its examples: --batch, or fewer at the end of an epoch */
    float loss;            /* its mean loss */
    double score;          /* its examples right, or its sum of absolute errors */
    float lr;              /* its rate */
    /* the epoch just finished */
    nn_metrics train_m;    /* running means over the epoch (dropout on): loss, and accuracy or mae */
    double seconds;        /* of its training pass */
    size_t done;           /* examples so far in the current epoch */
    int stop;              /* a hook ends the run after this epoch */
};

/* Allocates every buffer; the training ones only if n_train > 0. 0, or 1
 * with the message printed. */
int nn_fit_alloc(nn_buffers *b, const nn_model_desc *m, const nn_hparams *h, size_t n_train);
void nn_fit_free(nn_buffers *b);

/* Epoch `epoch`'s order of n examples: a pure function of (seed, epoch) */
void nn_fit_shuffle(size_t *perm, size_t n, uint64_t seed, uint64_t epoch);

/* One optimizer step on the B examples perm[first ..): 0, or 1 if the loss
 * is not finite (the parameters are then left as they were) or a hook failed */
int nn_fit_step(nn_fit *f, size_t first, int B);

/* Trains from f->run.epoch to f->run.h.epochs, or until a hook sets stop;
 * 0, or 1 with the message printed */
int nn_fit_run(nn_fit *f);

/* Steps an epoch takes with batch size `batch` */
uint64_t nn_steps_per_epoch(size_t n, int batch);

#endif
