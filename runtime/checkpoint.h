/* checkpoint.h: saving and loading a run (checkpoint.c), internal to
 * libnnrt. The byte layout of both versions is in docs/trainer.md.
 *
 * A checkpoint holds everything a run's future depends on: the parameters,
 * the state (batchnorm running statistics), the optimizer state, the epoch
 * and step reached, and the recipe (nn_run), so `train --resume` continues
 * with the same bits as a run that was never interrupted.
 *
 * The functions that can fail return 0, or -1 with one line naming the file
 * and what is wrong in err (never exit), so nn_main reports it and tests
 * read it.
 */
#ifndef NNRT_CHECKPOINT_H
#define NNRT_CHECKPOINT_H

#include "fail.h"
#include "nnrt.h"
#include "schedule.h"

#define NN_CKPT_MAGIC "NNCCKPT\n" /* 8 bytes: readable with head -c 8 */
#define NN_CKPT_VERSION 3u        /* the newest; 2 is written when a run needs nothing of 3 */
#define NN_NO_LIMIT UINT64_MAX    /* nn_run.limit without --limit */
#define NN_MAX_THREADS 1024       /* --threads, and what a checkpoint may claim */
#define NN_SOURCES_LEN (3 * NN_PATH_LEN + 1024) /* nn_run.sources: three paths and the rest */

/* Where a run is and the recipe that shapes its trajectory */
typedef struct {
    uint64_t epoch;         /* epochs completed */
    uint64_t step;          /* optimizer steps taken: the next one is step + 1 */
    nn_hparams h;           /* optimizer, its hyper-parameters, batch, seed; h.epochs: the run's target */
    uint64_t limit;         /* --limit, NN_NO_LIMIT: every training example */
    char data[NN_PATH_LEN]; /* the data directory, as realpath() gives it */
    nn_plateau plateau;     /* the plateau schedule's progress (version 3) */
    int monitored;          /* 1: --early-stop or --save-best ran; monitor holds their state */
    nn_tracker monitor;     /* their best and count (version 3; unless monitored, a file holds
                               best +inf, and a read sets monitored when best is finite) */
    const uint8_t *meta;    /* meta_len opaque bytes of nn_data_meta (version 3); on a read,
                               inside nn_checkpoint.bytes */
    size_t meta_len;
    /* The data options besides --data (version 3): sources_len bytes of
     * "name=value" entries, each ended by a NUL, as the command line gave
     * them (paths made absolute), so that a resume reads the same data */
    char sources[NN_SOURCES_LEN];
    size_t sources_len;
} nn_run;

/* A checkpoint read into memory and verified whole */
typedef struct {
    unsigned version; /* 1, 2 or 3 */
    nn_run run;       /* version 1 holds only run.epoch: the rest is zero */
    size_t n_opt;     /* floats of optimizer state (none in version 1) */
    uint8_t *bytes;   /* the file */
    size_t floats_at; /* offset of the parameters, followed by the state and the optimizer state */
} nn_checkpoint;

/* Writes a checkpoint of m to path (version 3 if the run has a schedule,
 * clipping or data meta, else version 2, which older trainers read): param(n_param),
 * state(n_state), opt(nn_optimizer_state_size(&run->h, n_param)) and run.
 * Atomically: a temporary file in the same directory is written, flushed
 * and fsync()ed, renamed over path, and the directory fsync()ed, so path
 * holds either the old checkpoint or the complete new one. */
int nn_checkpoint_save(const char *path, const nn_model_desc *m, const nn_run *run,
                       const float *param, const float *state, const float *opt, char *err,
                       size_t errlen);

/* Reads path into c and checks, in this order: that it is a regular file,
 * the magic and version, the sizes against the file's length, the CRC, that
 * it belongs to m (name) and to its current architecture (fingerprint,
 * sizes), that the recorded numbers are in range, and that every float is
 * finite. Nothing is allocated before the sizes are checked; on failure
 * nothing stays allocated. */
int nn_checkpoint_read(nn_checkpoint *c, const char *path, const nn_model_desc *m, char *err,
                       size_t errlen);

/* Fills param(n_param), state(n_state) and, unless opt is NULL,
 * opt(c->n_opt) from a checkpoint nn_checkpoint_read accepted: it cannot
 * fail, so the caller's buffers change only by a complete, verified load. */
void nn_checkpoint_copy(const nn_checkpoint *c, const nn_model_desc *m, float *param, float *state,
                        float *opt);
void nn_checkpoint_free(nn_checkpoint *c);

/* Writes the n bytes of s into out (at least 4 n + 1 bytes) as printable
 * ASCII: other bytes, the backslash and the quote become \xHH, so a name
 * or path from a file cannot send escape sequences to a terminal. */
void nn_escape(char *out, const char *s, size_t n);

#endif
