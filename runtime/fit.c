/* fit.c: the training loop over an nn_fit state (see fit.h): the steps of
 * each epoch in its shuffled order, the hooks around them, and the live
 * progress line.
 *
 * Memory: every buffer is allocated once before the first epoch; the loop
 * itself never allocates. Determinism: initialisation, the shuffle of each
 * epoch and each step's dropout key are pure functions of the seed (and
 * the epoch or step), the clipping norm is summed in a fixed order and the
 * scheduled rate is a function of the step and the recorded plateau state,
 * so two runs with the same seed and data print the same numbers at any
 * thread count.
 */
#include "fit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "dist.h"
#include "metrics.h"
#include "options.h"
#include "schedule.h"

#define BAR_WIDTH 30
#define REDRAW_SECONDS 0.1

/* Independent random streams derived from the seed */
enum { STREAM_SHUFFLE = 1, STREAM_DROPOUT = 2 };

int nn_fit_alloc(nn_buffers *b, const nn_model_desc *m, const nn_hparams *h, size_t n_train) {
    size_t B = (size_t)h->batch;
    size_t work = m->infer_work(h->batch);
    const nn_shards full = nn_shards_of(m, h->batch);
    /* train_step runs on one shard at a time */
    size_t train_work = m->work_per_sample * (size_t)full.rows + m->work_fixed +
                        m->work_per_thread * (size_t)nn_threads();
    if (n_train > 0 && work < train_work)
        work = train_work;
    b->param = nn_alloc(m->n_param, sizeof(float));
    b->state = nn_alloc(m->n_state, sizeof(float));
    b->work = nn_alloc(work, sizeof(float));
    b->x = nn_alloc(B * (size_t)m->in_size, sizeof(float));
    b->labels = nn_alloc(B, sizeof(int));
    b->targets = nn_alloc(B * (size_t)m->out_size, sizeof(float));
    b->out = nn_alloc(B * (size_t)m->out_size, sizeof(float));
    b->ss_res = nn_alloc((size_t)m->out_size, sizeof(double));
    int ok = b->param && b->state && b->work && b->x && b->labels && b->targets && b->out &&
             b->ss_res;
    if (n_train > 0) {
        b->grad = nn_alloc((size_t)nn_dist_slots(&full) * m->n_param, sizeof(float));
        b->opt_state = nn_alloc(nn_optimizer_state_size(h, m->n_param), sizeof(float));
        b->perm = nn_alloc(n_train, sizeof(size_t));
        ok = ok && b->grad && b->opt_state && b->perm;
    }
    if (!ok)
        return nn_error(m, "out of memory for the buffers of batch %d (%zu floats of workspace)",
                        h->batch, work);
    return 0;
}

void nn_fit_free(nn_buffers *b) {
    free(b->param);
    free(b->grad);
    free(b->opt_state);
    free(b->state);
    free(b->work);
    free(b->x);
    free(b->labels);
    free(b->targets);
    free(b->out);
    free(b->ss_res);
    free(b->perm);
}

/* Fisher-Yates from the identity, so each epoch's order depends only on
 * (seed, epoch). The modulo bias is below n / 2^64: negligible. */
void nn_fit_shuffle(size_t *perm, size_t n, uint64_t seed, uint64_t epoch) {
    nn_rng r = nn_rng_seed(nn_hash2(nn_hash2(seed, STREAM_SHUFFLE), epoch));
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(nn_rng_next(&r) % (i + 1));
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

uint64_t nn_steps_per_epoch(size_t n, int batch) {
    return (n + (size_t)batch - 1) / (size_t)batch;
}

typedef enum { EPOCH_BEGIN, STEP_END, EPOCH_END } HookKind;

/* Runs one kind of hook of every piece, in order; 0, or 1 from the first that fails */
static int call_hooks(nn_fit *f, HookKind kind) {
    for (int i = 0; i < f->n_hooks; i++) {
        const nn_hook *h = &f->hooks[i];
        int (*fn)(nn_fit *, void *) = kind == EPOCH_BEGIN ? h->epoch_begin
                                      : kind == STEP_END  ? h->step_end
                                                          : h->epoch_end;
        if (fn && fn(f, h->ctx))
            return 1;
    }
    return 0;
}

/* Shard i of the batch of s at first: one train_step on its examples, its
 * gradient into its slot; *loss and *score its mean loss and its score
 * (examples right, or the sum of absolute errors) */
static void train_shard(nn_fit *f, const nn_shards *s, int i, uint64_t key, double *loss,
                        double *score) {
    const nn_model_desc *m = f->m;
    nn_buffers *b = &f->b;
    const size_t r = (size_t)nn_shard_first(s, i);
    const int B = nn_shard_size(s, i);
    float *x = b->x + r * (size_t)m->in_size, *out = b->out + r * (size_t)m->out_size;
    float *targets = f->train->targets ? b->targets + r * (size_t)m->out_size : NULL;
    /* Keyed by the shard, so each example's mask by its place in the batch */
    const uint64_t shard_key = s->count > 1 ? nn_hash2(key, (uint64_t)i) : key;
    *loss = m->train_step(b->param, nn_dist_slot(b->grad, m->n_param, s, i), b->state, b->work,
                          x, b->labels + r, targets, out, B, shard_key);
    *score = targets ? nn_abs_error(out, targets, B, m->out_size)
                     : nn_count_correct(out, b->labels + r, B, m->out_size);
}

int nn_fit_step(nn_fit *f, size_t first, int B) {
    const nn_model_desc *m = f->m;
    nn_buffers *b = &f->b;
    nn_hparams h = f->run.h;
    uint64_t step = f->run.step + 1;
    const nn_shards s = nn_shards_of(m, B);
    int lo, hi;
    nn_dist_shards(s.count, &lo, &hi);
    const size_t r0 = (size_t)nn_shard_first(&s, lo);
    const int rows = hi > lo ? nn_shard_first(&s, hi - 1) + nn_shard_size(&s, hi - 1) - (int)r0 : 0;
    nn_data_batch(b->x + r0 * (size_t)m->in_size, b->labels + r0,
                  b->targets + r0 * (size_t)m->out_size, f->train, b->perm, first + r0, rows);
    f->batch_size = B;
    const uint64_t key = nn_hash2(nn_hash2(h.seed, STREAM_DROPOUT), step);
    double shard[2 * NN_MAX_SHARDS]; /* each shard's mean loss and score */
    for (int i = lo; i < hi; i++) {
        train_shard(f, &s, i, key, &shard[2 * i], &shard[2 * i + 1]);
        nn_dist_add(b->grad, m->n_param, &s, i);
    }
    nn_dist_gather(shard, 2, s.count);
    /* The batch's mean loss as its gradient's: the shards' in shard order */
    float loss = 0.0f;
    f->score = 0.0;
    for (int i = 0; i < s.count; i++) {
        loss += nn_shard_weight(&s, i) * (float)shard[2 * i];
        f->score += shard[2 * i + 1];
    }
    f->loss = loss;
    if (!isfinite(f->loss))
        return 1;
    if (nn_dist_fold(b->grad, m->n_param, &s))
        return 1;
    if (h.clip_norm > 0)
        nn_clip_grad_norm(b->grad, m->n_param, h.clip_norm);
    h.lr = f->lr = (float)nn_schedule_rate(&h.schedule, h.lr, &f->run.plateau, step,
                                          nn_steps_per_epoch(f->train->n, h.batch), h.epochs);
    nn_optimizer_step(b->param, b->grad, b->opt_state, m->n_param, &h, (long)step);
    f->run.step = step;
    return call_hooks(f, STEP_END);
}

/* ---------------------------------------------------------------- progress */

/* The live progress line on stderr, drawn only when it is a terminal */
typedef struct {
    int active;
    double start; /* when the epoch began */
    double drawn; /* when the line was last drawn */
    int width;    /* the longest line drawn, to erase it */
} Progress;

static void progress_start(Progress *p) {
    p->active = isatty(STDERR_FILENO);
    p->start = p->drawn = nn_seconds();
    p->width = 0;
}

/* epoch 3/10 [=========>      ] 38400/60000  52341 samples/s  loss 0.3124  ETA 0.4s */
static void progress_draw(Progress *p, uint64_t epoch, int epochs, size_t done, size_t total,
                          double loss) {
    double t = nn_seconds();
    if (!p->active || t - p->drawn < REDRAW_SECONDS)
        return;
    p->drawn = t;
    double rate = (double)done / (t - p->start);
    char bar[BAR_WIDTH + 1];
    int filled = (int)((double)BAR_WIDTH * (double)done / (double)total);
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled - 1 || done == total ? '=' : i == filled - 1 ? '>' : ' ';
    bar[BAR_WIDTH] = '\0';
    char line[256];
    int width = snprintf(line, sizeof line,
                         "epoch %llu/%d [%s] %zu/%zu  %.0f samples/s  loss %.4f  ETA %.1fs",
                         (unsigned long long)epoch, epochs, bar, done, total, rate, loss,
                         (double)(total - done) / rate);
    /* Blanks over what a longer previous line left behind */
    fprintf(stderr, "\r%s%*s", line, p->width > width ? p->width - width : 0, "");
    p->width = width > p->width ? width : p->width;
}

static void progress_clear(Progress *p) {
    if (p->active && p->width > 0)
        fprintf(stderr, "\r%*s\r", p->width, "");
    p->width = 0;
}

/* ---------------------------------------------------------------- the loop */

static int report_nan(const nn_fit *f, long batch) {
    float lr = f->run.h.lr;
    return nn_error(f->m,
                    "the loss became %s at epoch %llu, batch %ld (step %llu); the learning rate "
                    "%g is probably too high: try --lr %g",
                    isnan(f->loss) ? "nan" : "inf", (unsigned long long)f->run.epoch + 1, batch,
                    (unsigned long long)f->run.step + 1, lr, lr / 10);
}

/* One pass over the training set in this epoch's order; train metrics are
 * means over the examples, as Keras reports them */
static int train_epoch(nn_fit *f) {
    const nn_dataset *d = f->train;
    const int batch = f->run.h.batch;
    double loss_sum = 0, score = 0; /* examples right, or the sum of absolute errors */
    Progress p;
    nn_fit_shuffle(f->b.perm, d->n, f->run.h.seed, f->run.epoch + 1);
    progress_start(&p);
    for (size_t first = 0; first < d->n; first += (size_t)batch) {
        int B = d->n - first < (size_t)batch ? (int)(d->n - first) : batch;
        if (nn_fit_step(f, first, B)) {
            progress_clear(&p);
            return isfinite(f->loss) ? 1 : report_nan(f, (long)(first / (size_t)batch) + 1);
        }
        loss_sum += (double)f->loss * B;
        score += f->score;
        f->done = first + (size_t)B;
        progress_draw(&p, f->run.epoch + 1, f->run.h.epochs, f->done, d->n,
                      loss_sum / (double)f->done);
    }
    progress_clear(&p);
    f->train_m = (nn_metrics){.loss = loss_sum / (double)d->n};
    if (d->targets)
        f->train_m.mae = score / ((double)d->n * f->m->out_size);
    else
        f->train_m.accuracy = score / (double)d->n;
    return 0;
}

/* Every process took the same steps from the same start, so their
 * parameters agree bit for bit; checked once an epoch, as a hash, so that
 * a broken promise stops the run instead of training apart */
static int check_agreement(const nn_fit *f) {
    if (nn_dist_size() == 1)
        return 0;
    const size_t bytes = f->m->n_param * sizeof(float);
    uint64_t h = crc32(crc32(0, NULL, 0), (const Bytef *)f->b.param, (uInt)bytes);
    if (f->m->n_state)
        h = h << 32 | crc32(crc32(0, NULL, 0), (const Bytef *)f->b.state,
                            (uInt)(f->m->n_state * sizeof(float)));
    if (nn_dist_agree(h))
        return 0;
    return nn_error(f->m, "after epoch %llu the parameters differ between the %d processes",
                    (unsigned long long)f->run.epoch, nn_dist_size());
}

int nn_fit_run(nn_fit *f) {
    while (f->run.epoch < (uint64_t)f->run.h.epochs && !f->stop) {
        if (call_hooks(f, EPOCH_BEGIN))
            return 1;
        double t0 = nn_seconds();
        if (train_epoch(f))
            return 1;
        f->seconds = nn_seconds() - t0;
        f->run.epoch++;
        if (check_agreement(f) || call_hooks(f, EPOCH_END))
            return 1;
    }
    return 0;
}
