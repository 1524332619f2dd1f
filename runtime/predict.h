/* predict.h: the commands that run a saved model (predict.c), internal to
 * libnnrt: eval and predict (docs/trainer.md). */
#ifndef NNRT_PREDICT_H
#define NNRT_PREDICT_H

#include "nnrt.h"
#include "options.h"

/* The test set's metrics (and a classification's confusion matrix) under
 * the checkpoint o->load; the exit status */
int nn_eval(const nn_model_desc *m, const Options *o);
/* One CSV row of outputs per example of o's data, to o->output or stdout;
 * the exit status */
int nn_predict(const nn_model_desc *m, const Options *o);

#endif
