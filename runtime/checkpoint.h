/* checkpoint.h: saving and loading trained parameters (checkpoint.c),
 * internal to libnnrt. The byte layout is in docs/trainer.md.
 *
 * Both functions return 0, or -1 with one line naming the file and what is
 * wrong in err (never exit), so nn_main reports it and tests read it.
 */
#ifndef NNRT_CHECKPOINT_H
#define NNRT_CHECKPOINT_H

#include "nnrt.h"

#define NN_CKPT_MAGIC "NNCCKPT\n" /* 8 bytes: readable with head -c 8 */
#define NN_CKPT_VERSION 1u

/* Writes m's name and fingerprint, param(n_param), state(n_state) and the
 * number of epochs trained to path, atomically: a temporary file in the
 * same directory is written, flushed and fsync()ed, then renamed over path,
 * so path holds either the old checkpoint or the complete new one. */
int nn_checkpoint_save(const char *path, const nn_model_desc *m, const float *param,
                       const float *state, long epochs, char *err, size_t errlen);

/* Checks the magic, version, size and CRC, that the checkpoint belongs to
 * m (name) and to its current architecture (fingerprint, sizes), then
 * fills param(n_param) and state(n_state) and sets *epochs. When a check
 * fails, param and state are untouched. */
int nn_checkpoint_load(const char *path, const nn_model_desc *m, float *param, float *state,
                       long *epochs, char *err, size_t errlen);

#endif
