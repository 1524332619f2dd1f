/* bench.h: the `bench` command of every trainer (bench.c), internal to
 * libnnrt: nn_main hands it the parsed command line. */
#ifndef NNRT_BENCH_H
#define NNRT_BENCH_H

#include "nnrt.h"
#include "options.h"

/* Times training steps and inference of m on real data and prints one JSON
 * line (docs/trainer.md, "bench"); returns the exit status. */
int nn_bench(const nn_model_desc *m, const Options *o);

#endif
