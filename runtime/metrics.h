/* metrics.h: what the trainer measures of a model on a data set
 * (metrics.c), internal to libnnrt. */
#ifndef NNRT_METRICS_H
#define NNRT_METRICS_H

#include "data.h"
#include "fit.h"
#include "nnrt.h"

/* The index of row(N)'s largest value, the first of equal ones */
int nn_argmax(const float *row, int N);
/* How many rows of out(B,N) have their argmax at the label */
int nn_count_correct(const float *out, const int *labels, int B, int N);
/* The sum of |out - targets| over out(B,N) */
double nn_abs_error(const float *out, const float *targets, int B, int N);
/* The model in b over the whole of d in stored order, in batches of `batch`
 * (infer: no dropout, batchnorm on running statistics): loss and
 * accuracy, or, when d has regression targets, the MSE, the MAE over
 * every output, and R^2 = 1 - SS_res / SS_tot per output averaged over the
 * outputs (scikit-learn's r2_score; an output of constant target scores 1
 * if predicted exactly, else 0). confusion, unless NULL, gets the
 * classification's counts (out_size, out_size): row the label, column the
 * prediction */
nn_metrics nn_evaluate(const nn_model_desc *m, const nn_dataset *d, const nn_buffers *b,
                       int batch, size_t *confusion);

#endif
