/* metrics.h: what the trainer measures of a model on a data set
 * (metrics.c), internal to libnnrt. */
#ifndef NNRT_METRICS_H
#define NNRT_METRICS_H

#include "data.h"
#include "fit.h"
#include "nnrt.h"

/* How many rows of out(B,N) have their argmax at the label */
int nn_count_correct(const float *out, const int *labels, int B, int N);
/* The mean loss of one inference batch, whatever infer's output is */
double nn_infer_loss(const nn_model_desc *m, const float *out, const int *labels, int B);
/* The model in b over the whole of d in stored order, in batches of `batch`
 * (infer: no dropout, batchnorm on running statistics) */
nn_metrics nn_evaluate(const nn_model_desc *m, const nn_dataset *d, const nn_buffers *b,
                       int batch);

#endif
