/* bench.c: `NAME bench`, the measurement `make bench` reads.
 *
 * It times the trainer's own code, not a model of it: the steps are the
 * training loop's (nn_data_batch, train_step, nn_optimizer_step, on real
 * examples in a shuffled order), the inference is the generated infer
 * function on test images. Each figure is the median over --windows timed
 * windows, after --warmup steps that fill caches, fault in the buffers and
 * wake the thread pool. Peak RSS is the process's (getrusage) at the end:
 * both splits loaded, every training buffer and the inference workspace of
 * the largest inference batch allocated.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"
#include "clock.h"
#include "data.h"

#define MAX_WINDOWS 101
#define INFER_SECONDS 0.2 /* per inference window: calls are repeated until it has passed */

static const int infer_batches[] = {1, 64, 256};
#define N_INFER (int)(sizeof infer_batches / sizeof *infer_batches)

typedef struct {
    const char *data;
    int batch, steps, warmup, windows, threads;
    uint64_t seed;
} BenchOptions;

static int usage(const nn_model_desc *m, const char *fmt, const char *arg) {
    fprintf(stderr, "%s: error: ", m->name);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\ntry '%s help'\n", m->name);
    return 2;
}

static int parse(const nn_model_desc *m, int argc, char **argv, BenchOptions *o) {
    static const char *const names[] = {"batch", "steps", "warmup", "windows", "threads"};
    int *const slots[] = {&o->batch, &o->steps, &o->warmup, &o->windows, &o->threads};
    static const long lo[] = {1, 1, 0, 1, 1}, hi[] = {NN_MAX_BATCH, 1000000, 1000000, MAX_WINDOWS, 1024};
    for (int i = 0; i < argc; i += 2) {
        const char *opt = argv[i];
        if (strncmp(opt, "--", 2) != 0)
            return usage(m, "unexpected argument '%s' for 'bench'", opt);
        if (i + 1 == argc)
            return usage(m, "%s needs a value", opt);
        const char *v = argv[i + 1];
        if (!strcmp(opt + 2, "data")) {
            o->data = v;
            continue;
        }
        size_t k = 0;
        while (k < sizeof names / sizeof *names && strcmp(opt + 2, names[k]) != 0)
            k++;
        if (k == sizeof names / sizeof *names)
            return usage(m, "unknown option '%s' for 'bench'", opt);
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (end == v || *end || errno || n < lo[k] || n > hi[k])
            return usage(m, "bad value '%s'", v);
        *slots[k] = (int)n;
    }
    return 0;
}

/* Median training samples/s over the windows; 1 if the loss is not finite */
static int time_training(const nn_model_desc *m, const BenchOptions *o, const nn_dataset *d,
                         double *rate) {
    const int B = o->batch;
    nn_hparams h = m->defaults;
    h.batch = B;
    float *param = nn_alloc(m->n_param, sizeof(float));
    float *grad = nn_alloc(m->n_param, sizeof(float));
    float *opt = nn_alloc(nn_optimizer_state_size(&h, m->n_param), sizeof(float));
    float *state = nn_alloc(m->n_state, sizeof(float));
    float *work = nn_alloc(m->work_per_sample * (size_t)B + m->work_fixed +
                               m->work_per_thread * (size_t)nn_threads(),
                           sizeof(float));
    float *x = nn_alloc((size_t)B * (size_t)m->in_size, sizeof(float));
    float *out = nn_alloc((size_t)B * (size_t)m->out_size, sizeof(float));
    int *labels = nn_alloc((size_t)B, sizeof(int));
    size_t *perm = nn_alloc(d->n, sizeof(size_t));
    int bad = !(param && grad && opt && state && work && x && out && labels && perm);
    if (!bad) {
        nn_rng r = nn_rng_seed(o->seed);
        for (size_t i = 0; i < d->n; i++)
            perm[i] = i;
        for (size_t i = d->n - 1; i > 0; i--) {
            size_t j = (size_t)(nn_rng_next(&r) % (i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        m->init(param, state, o->seed);
        double rates[MAX_WINDOWS];
        long step = 0;
        size_t first = 0;
        for (int w = -1; w < o->windows && !bad; w++) {
            const int steps = w < 0 ? o->warmup : o->steps;
            double t0 = nn_seconds();
            for (int s = 0; s < steps; s++) {
                if (first + (size_t)B > d->n)
                    first = 0;
                nn_data_batch(x, labels, NULL, d, perm, first, B);
                first += (size_t)B;
                step++;
                float loss = m->train_step(param, grad, state, work, x, labels, out, B,
                                           nn_hash2(o->seed, (uint64_t)step));
                nn_optimizer_step(param, grad, opt, m->n_param, &h, step);
                bad |= !isfinite(loss);
            }
            if (w >= 0)
                rates[w] = (double)steps * B / (nn_seconds() - t0);
        }
        *rate = bad ? 0 : nn_median(rates, o->windows);
    }
    free(param);
    free(grad);
    free(opt);
    free(state);
    free(work);
    free(x);
    free(out);
    free(labels);
    free(perm);
    return bad;
}

/* Median inference samples/s at each of infer_batches, on test images */
static int time_inference(const nn_model_desc *m, const BenchOptions *o, const nn_dataset *d,
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
        m->init(param, state, o->seed);
        nn_data_batch(x, labels, NULL, d, NULL, 0, most);
        for (int k = 0; k < N_INFER; k++) {
            const int B = infer_batches[k];
            double rates[MAX_WINDOWS];
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

int nn_bench(int argc, char **argv, const nn_model_desc *m) {
    BenchOptions o = {NN_DEFAULT_DATA, m->defaults.batch, 50, 10, 7, 0, m->defaults.seed};
    if (parse(m, argc, argv, &o))
        return 2;
    nn_set_threads(o.threads);
    nn_dataset train = {0}, test = {0};
    char err[1024];
    nn_data_spec spec = {m->in_h, m->in_w, m->in_c, m->out_size, SIZE_MAX};
    if (nn_data_load(&train, o.data, NN_TRAIN, &spec, err, sizeof err) ||
        nn_data_load(&test, o.data, NN_TEST, &spec, err, sizeof err)) {
        fprintf(stderr, "%s: error: %s\n", m->name, err);
        nn_data_free(&train);
        return 1;
    }
    double train_rate = 0, infer_rate[N_INFER] = {0};
    int bad = time_training(m, &o, &train, &train_rate) || time_inference(m, &o, &test, infer_rate);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (bad)
        fprintf(stderr, "%s: error: out of memory, or the loss diverged\n", m->name);
    else {
        printf("{\"model\": \"%s\", \"threads\": %d, \"batch\": %d, \"train_samples_per_s\": %.1f, "
               "\"train_step_us\": %.1f",
               m->name, nn_threads(), o.batch, train_rate, 1e6 * o.batch / train_rate);
        for (int k = 0; k < N_INFER; k++)
            printf(", \"infer%d_samples_per_s\": %.1f", infer_batches[k], infer_rate[k]);
        printf(", \"peak_rss_mib\": %.1f}\n", (double)ru.ru_maxrss / 1024.0);
    }
    nn_data_free(&train);
    nn_data_free(&test);
    return bad;
}
