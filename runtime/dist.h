/* dist.h: the processes of a data-parallel run (docs/distributed.md),
 * internal to libnnrt. runtime/dist_local.c is the default build's one
 * process; runtime/dist_mpi.c, built by `make MPI=1`, runs the same
 * trainer as N processes under mpirun.
 *
 * Every process holds the whole model and the whole data set, shuffles
 * alike and takes the same steps; of each batch's shards (shard.h) process
 * p computes a fixed, contiguous range. So every process applies the same
 * gradient, summed over the shards in shard order, and keeps the same
 * parameters bit for bit after every step, at any process count.
 */
#ifndef NNRT_DIST_H
#define NNRT_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "shard.h"

/* Before anything else in main: 0, or 1 with the message printed */
int nn_dist_init(int *argc, char ***argv);
/* The end of the process with `status`: a failure on one process ends
 * every process at once (MPI_Abort) rather than leaving them waiting */
int nn_dist_exit(int status);

int nn_dist_rank(void);
int nn_dist_size(void);

/* The shards [*lo, *hi) of `count` this process computes: contiguous,
 * rank by rank, in shard order. A batch of one shard is computed by every
 * process: nobody waits, and nothing needs combining. */
void nn_dist_shards(int count, int *lo, int *hi);

/* The gradient of a batch of shards s, on this process: train_step writes
 * shard i's into nn_dist_slot(slots, n, s, i) (slots are n floats apart,
 * nn_dist_slots(s) of them), then nn_dist_add(..., i); after the last,
 * nn_dist_fold leaves in slots[0 .. n), on every process, the sum over
 * all of s's shards, each weighted by nn_shard_weight, in shard order. One
 * process adds the shards as they come, up to 7 at a time (8 slots); of N
 * processes, each keeps its shards' own for the ordered combination. nn_dist_fold
 * returns 0, or 1 with the message printed (out of memory). */
int nn_dist_slots(const nn_shards *s);
float *nn_dist_slot(float *slots, size_t n, const nn_shards *s, int i);
void nn_dist_add(float *slots, size_t n, const nn_shards *s, int i);
int nn_dist_fold(float *slots, size_t n, const nn_shards *s);

/* all holds per_shard values of each of count shards, this process's
 * (nn_dist_shards) filled in; on return every process has every shard's */
void nn_dist_gather(double *all, int per_shard, int count);

/* 1 if v is the same on every process */
int nn_dist_agree(uint64_t v);

#endif
