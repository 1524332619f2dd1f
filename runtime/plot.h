/* plot.h: --plot, the curves of a run drawn by gnuplot (plot.c), internal
 * to libnnrt. */
#ifndef NNRT_PLOT_H
#define NNRT_PLOT_H

#include <stddef.h>

#include "fit.h"

/* The metrics of the epochs a run trained, in order */
typedef struct {
    uint64_t *epoch;              /* (cap) the epoch numbers */
    nn_metrics *train, *val, *test; /* (cap) each */
    size_t n, cap;
    int has_val;    /* a validation set was evaluated */
    int regression; /* the second panel is the MAE, not the accuracy */
} nn_history;

/* Room for cap epochs; 0, or -1 when out of memory */
int nn_history_alloc(nn_history *h, size_t cap);
void nn_history_free(nn_history *h);

/* 0 if a gnuplot is on PATH, else -1 with the message in err: checked
 * before training, so a long run does not fail at its end */
int nn_plot_check(const char *path, char *err, size_t errlen);
/* Draws h into the PNG path (loss, and accuracy or MAE, against the epoch,
 * a curve per set) by running gnuplot with the script on its stdin; 0, or
 * -1 with the message in err */
int nn_plot(const char *path, const char *title, const nn_history *h, char *err,
            size_t errlen);

#endif
