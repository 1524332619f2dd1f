/* clock.h: timing for the trainer, the pool and the benchmarks, internal. */
#ifndef NNRT_CLOCK_H
#define NNRT_CLOCK_H

/* Seconds on the monotonic clock (only differences mean anything) */
double nn_seconds(void);
/* Median of n timings; sorts v in place */
double nn_median(double *v, int n);

#endif
