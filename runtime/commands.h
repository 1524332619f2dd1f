/* commands.h: what train, eval and predict share (commands.c), internal
 * to libnnrt: opening the data with a checkpoint's meta, and metrics as
 * text (docs/trainer.md, "What training prints"). */
#ifndef NNRT_COMMANDS_H
#define NNRT_COMMANDS_H

#include <stdio.h>

#include "checkpoint.h"
#include "data.h"
#include "fit.h"
#include "nnrt.h"
#include "options.h"

#define ERR_LEN 1024

/* What a set's metrics are: classification's loss and accuracy, or
 * regression's MSE (the loss), MAE and R^2; the training pass's running
 * means have no R^2 */
typedef enum { CLASSES, REGRESSION, REGRESSION_RUNNING } Task;

Task nn_task_of(const nn_dataset *d);
/* "loss=L accuracy=A" or "loss=L mae=M r2=R": a part of the epoch line */
void nn_print_metrics(Task task, const nn_metrics *m);
/* The CSV columns of one set: "PREFIX_loss,PREFIX_accuracy," as a header
 * (prefix given), the values, or empty fields when the set is absent (m
 * NULL) */
void nn_log_metrics(FILE *log, Task task, const char *prefix, const nn_metrics *m);
/* The last line: "test: loss=L accuracy=A" or "test: loss=L mae=M r2=R" */
void nn_print_test_line(Task task, const nn_metrics *m);

/* nn_data_open with the model's shape and o's data options, and the data
 * meta of checkpoint c (eval, predict, resume; NULL: a new run, which
 * derives it from the training data). 0, or 1 with the message printed. */
int nn_open_data(const nn_model_desc *m, const Options *o, unsigned want, const nn_checkpoint *c,
                 nn_data *d);
/* The one place where a run's data meta becomes the checkpoint's opaque
 * section: run->meta points into *bytes, which the caller frees after the
 * last save. An empty meta (nothing the data would not give again) leaves
 * the section empty, so such a run writes version 2 byte for byte as
 * before. 0, or 1 with the message printed. */
int nn_record_meta(const nn_model_desc *m, nn_run *run, const nn_data_meta *meta,
                   unsigned char **bytes);

#endif
