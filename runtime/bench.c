/* bench.c: `NAME bench`, the measurement `make bench` reads.
 *
 * It times the trainer's own code, not a model of it: the steps are the
 * training loop's nn_fit_step (nn_data_batch, train_step, clipping, the
 * scheduled rate, nn_optimizer_step, on real examples in a shuffled
 * order), the inference is the generated infer
 * function on test images. Each figure is the median over --windows timed
 * windows, after --warmup steps that fill caches, fault in the buffers and
 * wake the thread pool. Peak RSS is the process's (getrusage) at the end:
 * both splits loaded, every training buffer and the inference workspace of
 * the largest inference batch allocated.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"
#include "clock.h"
#include "data.h"
#include "fit.h"

#define INFER_SECONDS 0.2 /* per inference window: calls are repeated until it has passed */

static const int infer_batches[] = {1, 64, 256};
#define N_INFER (int)(sizeof infer_batches / sizeof *infer_batches)

/* Median training samples/s over the windows: the training loop's own
 * steps (nn_fit_step) on a shuffled order, wrapping around the training
 * set; 1 if out of memory or the loss is not finite */
static int time_training(const nn_model_desc *m, const Options *o, const nn_dataset *d,
                         double *rate) {
    const int B = o->h.batch;
    nn_fit f = {.m = m, .run = {.h = o->h}, .train = d};
    if (nn_fit_alloc(&f.b, m, &o->h, d->n))
        return 1;
    nn_fit_shuffle(f.b.perm, d->n, o->h.seed, 1);
    m->init(f.b.param, f.b.state, o->h.seed);
    double rates[NN_MAX_WINDOWS];
    size_t first = 0;
    int bad = 0;
    for (int w = -1; w < o->windows && !bad; w++) {
        const int steps = w < 0 ? o->warmup : o->steps;
        double t0 = nn_seconds();
        for (int s = 0; s < steps && !bad; s++) {
            if (first + (size_t)B > d->n)
                first = 0;
            bad = nn_fit_step(&f, first, B);
            first += (size_t)B;
        }
        if (w >= 0)
            rates[w] = (double)steps * B / (nn_seconds() - t0);
    }
    *rate = bad ? 0 : nn_median(rates, o->windows);
    nn_fit_free(&f.b);
    return bad;
}

/* Median inference samples/s at each of infer_batches, on test images */
static int time_inference(const nn_model_desc *m, const Options *o, const nn_dataset *d,
                          double *rate) {
    const int most = infer_batches[N_INFER - 1];
    float *param = nn_alloc(m->n_param, sizeof(float));
    float *state = nn_alloc(m->n_state, sizeof(float));
    float *work = nn_alloc(m->infer_work(most), sizeof(float));
    float *x = nn_alloc((size_t)most * (size_t)m->in_size, sizeof(float));
    float *out = nn_alloc((size_t)most * (size_t)m->out_size, sizeof(float));
    int *labels = nn_alloc((size_t)most, sizeof(int));
    int bad = !(param && state && work && x && out && labels) || d->n < (size_t)most;
    if (!bad) {
        m->init(param, state, o->h.seed);
        nn_data_batch(x, labels, NULL, d, NULL, 0, most);
        for (int k = 0; k < N_INFER; k++) {
            const int B = infer_batches[k];
            double rates[NN_MAX_WINDOWS];
            for (int w = -1; w < o->windows; w++) {
                double t0 = nn_seconds(), t;
                long calls = 0;
                do {
                    m->infer(param, state, work, x, out, B);
                    calls++;
                } while ((t = nn_seconds() - t0) < INFER_SECONDS);
                if (w >= 0)
                    rates[w] = (double)calls * B / t;
            }
            rate[k] = nn_median(rates, o->windows);
        }
    }
    free(param);
    free(state);
    free(work);
    free(x);
    free(out);
    free(labels);
    return bad;
}

int nn_bench(const nn_model_desc *m, const Options *o) {
    nn_data data;
    char err[1024];
    nn_data_spec spec = {m->in_h, m->in_w, m->in_c, m->out_size, SIZE_MAX};
    if (nn_data_open(&data, &o->data, &spec, NN_WANT_TRAIN | NN_WANT_TEST, NULL, err,
                     sizeof err)) {
        fprintf(stderr, "%s: error: %s\n", m->name, err);
        return 1;
    }
    double train_rate = 0, infer_rate[N_INFER] = {0};
    int bad = time_training(m, o, &data.train, &train_rate) ||
              time_inference(m, o, &data.test, infer_rate);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (bad)
        fprintf(stderr, "%s: error: out of memory, or the loss diverged\n", m->name);
    else {
        printf("{\"model\": \"%s\", \"threads\": %d, \"batch\": %d, \"train_samples_per_s\": %.1f, "
               "\"train_step_us\": %.1f",
               m->name, nn_threads(), o->h.batch, train_rate, 1e6 * o->h.batch / train_rate);
        for (int k = 0; k < N_INFER; k++)
            printf(", \"infer%d_samples_per_s\": %.1f", infer_batches[k], infer_rate[k]);
        printf(", \"peak_rss_mib\": %.1f}\n", (double)ru.ru_maxrss / 1024.0);
    }
    nn_data_close(&data);
    return bad;
}
