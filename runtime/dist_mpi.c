/* dist_mpi.c: dist.h over MPI (`make MPI=1`; docs/distributed.md).
 *
 * The ordered combination: the gradient's n floats are cut into one chunk
 * per process (nn_part, 16-float aligned). An MPI_Alltoallv brings process
 * q every shard's chunk q, rank by rank, so in shard order; q folds them
 * as shard.h says, and an MPI_Allgatherv hands every process every folded
 * chunk. That is a reduce-scatter and an allgather, as a ring allreduce
 * moves, except that the sum is ours, in shard order, never MPI's.
 * NNRT_REDUCE=plain uses MPI_Allreduce instead: fewer bytes when a process
 * has several shards, but its order of addition is OpenMPI's, which varies
 * with the process count and the algorithm, so bit-identity is lost.
 */
#include "dist.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, size, plain;
static float *sendbuf, *recvbuf;
static size_t send_cap, recv_cap;
static int *counts; /* 4 * size ints: send counts and displacements, receive's */

int nn_dist_init(int *argc, char ***argv) {
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *r = getenv("NNRT_REDUCE");
    if (r && strcmp(r, "plain") && strcmp(r, "ordered")) {
        fprintf(stderr, "error: NNRT_REDUCE=%s: expected ordered or plain\n", r);
        return 1;
    }
    plain = r && !strcmp(r, "plain");
    counts = calloc(4 * (size_t)size, sizeof *counts);
    if (!counts) {
        fprintf(stderr, "error: out of memory for %d processes\n", size);
        return 1;
    }
    return 0;
}

int nn_dist_exit(int status) {
    if (status != 0)
        MPI_Abort(MPI_COMM_WORLD, status); /* ends every process, now */
    free(sendbuf);
    free(recvbuf);
    free(counts);
    MPI_Finalize();
    return status;
}

int nn_dist_rank(void) { return rank; }

int nn_dist_size(void) { return size; }

static void shards_of_rank(int count, int r, int *lo, int *hi) {
    if (count == 1) { /* everybody computes it */
        *lo = 0;
        *hi = 1;
        return;
    }
    *lo = (int)((long)count * r / size);
    *hi = (int)((long)count * (r + 1) / size);
}

void nn_dist_shards(int count, int *lo, int *hi) { shards_of_rank(count, rank, lo, hi); }

/* The most shards a rank has: shards_of_rank's ranges differ by one at most */
int nn_dist_slots(const nn_shards *s) { return (s->count + size - 1) / size; }

float *nn_dist_slot(float *slots, size_t n, const nn_shards *s, int i) {
    int lo, hi;
    nn_dist_shards(s->count, &lo, &hi);
    return slots + (size_t)(i - lo) * n;
}

void nn_dist_add(float *slots, size_t n, const nn_shards *s, int i) {
    (void)slots;
    (void)n;
    (void)s;
    (void)i;
}

/* Room for `want` floats in *buf, grown once to the largest batch's need */
static int reserve(float **buf, size_t *cap, size_t want) {
    if (want <= *cap)
        return 0;
    float *p = realloc(*buf, want * sizeof *p);
    if (!p) {
        fprintf(stderr, "error: out of memory for %zu floats of gradient exchange\n", want);
        return 1;
    }
    *buf = p;
    *cap = want;
    return 0;
}

static void chunk(size_t n, int q, size_t *lo, size_t *hi) { nn_part(n, q, size, 16, lo, hi); }

static int fold_plain(float *slots, size_t n, const nn_shards *s) {
    int lo, hi;
    nn_dist_shards(s->count, &lo, &hi);
    float weight[NN_MAX_SHARDS];
    nn_shard_weights(s, lo, hi, weight);
    if (hi > lo)
        nn_shards_fold(slots, slots, n, n, weight, hi - lo);
    else
        memset(slots, 0, n * sizeof *slots);
    MPI_Allreduce(MPI_IN_PLACE, slots, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    return 0;
}

int nn_dist_fold(float *slots, size_t n, const nn_shards *s) {
    if (size == 1 || s->count == 1) { /* one shard: every process has the whole gradient */
        if (size == 1 && s->count > 1) {
            float weight[NN_MAX_SHARDS];
            nn_shard_weights(s, 0, s->count, weight);
            nn_shards_fold(slots, slots, n, n, weight, s->count);
        }
        return 0;
    }
    if (plain)
        return fold_plain(slots, n, s);
    int lo, hi;
    nn_dist_shards(s->count, &lo, &hi);
    const int mine = hi - lo;
    size_t c0, c1;
    chunk(n, rank, &c0, &c1);
    if (reserve(&sendbuf, &send_cap, (size_t)mine * n) ||
        reserve(&recvbuf, &recv_cap, (size_t)s->count * (c1 - c0) + 1))
        return 1;
    int *scount = counts, *sdispl = counts + size, *rcount = counts + 2 * size,
        *rdispl = counts + 3 * size;
    size_t at = 0;
    for (int q = 0; q < size; q++) { /* to q: chunk q of each of my shards */
        size_t q0, q1;
        chunk(n, q, &q0, &q1);
        sdispl[q] = (int)at;
        for (int i = 0; i < mine; i++, at += q1 - q0)
            memcpy(sendbuf + at, slots + (size_t)i * n + q0, (q1 - q0) * sizeof *sendbuf);
        scount[q] = (int)(at - (size_t)sdispl[q]);
    }
    for (int p = 0, rat = 0; p < size; p++) { /* from p: my chunk of each of its shards */
        int plo, phi;
        shards_of_rank(s->count, p, &plo, &phi);
        rdispl[p] = rat;
        rcount[p] = (phi - plo) * (int)(c1 - c0);
        rat += rcount[p];
    }
    MPI_Alltoallv(sendbuf, scount, sdispl, MPI_FLOAT, recvbuf, rcount, rdispl, MPI_FLOAT,
                  MPI_COMM_WORLD);
    float weight[NN_MAX_SHARDS];
    nn_shard_weights(s, 0, s->count, weight);
    nn_shards_fold(slots + c0, recvbuf, c1 - c0, c1 - c0, weight, s->count);
    for (int q = 0; q < size; q++) {
        size_t q0, q1;
        chunk(n, q, &q0, &q1);
        rcount[q] = (int)(q1 - q0);
        rdispl[q] = (int)q0;
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, slots, rcount, rdispl, MPI_FLOAT,
                   MPI_COMM_WORLD);
    return 0;
}

void nn_dist_gather(double *all, int per_shard, int count) {
    if (size == 1 || count == 1)
        return;
    int *rcount = counts + 2 * size, *rdispl = counts + 3 * size;
    for (int p = 0; p < size; p++) {
        int plo, phi;
        shards_of_rank(count, p, &plo, &phi);
        rcount[p] = (phi - plo) * per_shard;
        rdispl[p] = plo * per_shard;
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, rcount, rdispl, MPI_DOUBLE,
                   MPI_COMM_WORLD);
}

int nn_dist_agree(uint64_t v) {
    uint64_t lo = v, hi = v;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    return lo == v && hi == v;
}
