/* schedule.h: learning-rate schedules and the "has the metric improved"
 * tracker that plateau, early stopping and --save-best share
 * (schedule.c), internal to libnnrt. The formulas are in docs/trainer.md,
 * "Learning-rate schedules". */
#ifndef NNRT_SCHEDULE_H
#define NNRT_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "nnrt.h"

/* Keras's ReduceLROnPlateau min_delta: plateau's own, not --min-delta */
#define NN_PLATEAU_MIN_DELTA 1e-4

/* Keras's monitor_op with min_delta: the best value so far and the epochs
 * since it was reached */
typedef struct {
    int maximize;     /* 1: higher is better (accuracy) */
    double min_delta; /* an improvement must beat best by more than this */
    double best;      /* +-HUGE_VAL before the first epoch */
    uint32_t wait;    /* epochs since the last improvement */
} nn_tracker;

nn_tracker nn_tracker_new(int maximize, double min_delta);
/* Feeds one epoch's value: 1 if it improved (best = v, wait = 0), else 0
 * (wait + 1) */
int nn_tracker_update(nn_tracker *t, double v);

/* Where plateau is: the rate it has come down to, and its tracker */
typedef struct {
    float lr;
    nn_tracker tracker;
} nn_plateau;

/* Parses "step every=E factor=F", "cosine [warmup=E] [min_lr=X]",
 * "plateau patience=P factor=F [min_lr=X]" or "none" (--schedule); 0, or
 * -1 with the reason in err */
int nn_schedule_parse(nn_schedule *s, const char *text, char *err, size_t errlen);
/* The text nn_schedule_parse reads back into s ("none" for no schedule) */
void nn_schedule_format(char *buf, size_t len, const nn_schedule *s);

/* The rate of step t (1-based) of a run of `epochs` epochs of
 * steps_per_epoch steps, from the base rate lr; plateau's is p->lr */
double nn_schedule_rate(const nn_schedule *s, float lr, const nn_plateau *p, uint64_t t,
                        uint64_t steps_per_epoch, int epochs);
/* Plateau at the end of an epoch whose monitored value was v: 1 if it
 * lowered the rate (ReduceLROnPlateau with cooldown 0) */
int nn_plateau_update(nn_plateau *p, const nn_schedule *s, double v);

#endif
