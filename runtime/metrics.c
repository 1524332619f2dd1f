/* metrics.c: loss and accuracy of a model's inference over a data set,
 * computed as Keras reports them (means over the examples). */
#include "metrics.h"

#include <math.h>
#include <string.h>

#define PROB_FLOOR 1e-7 /* -log(p) clamp for softmax outputs: Keras's epsilon */

int nn_argmax(const float *row, int N) {
    int best = 0;
    for (int j = 1; j < N; j++)
        if (row[j] > row[best])
            best = j;
    return best;
}

int nn_count_correct(const float *out, const int *labels, int B, int N) {
    int correct = 0;
    for (int b = 0; b < B; b++)
        correct += nn_argmax(out + (size_t)b * (size_t)N, N) == labels[b];
    return correct;
}

/* Mean cross-entropy of probabilities, clamped so p = 0 costs -log(1e-7)
 * rather than infinity, as Keras does */
static double prob_xent(const float *p, const int *labels, int B, int N) {
    double sum = 0;
    for (int b = 0; b < B; b++) {
        double q = p[(size_t)b * (size_t)N + (size_t)labels[b]];
        sum -= log(q > PROB_FLOOR ? q : PROB_FLOOR);
    }
    return sum / B;
}

double nn_abs_error(const float *out, const float *targets, int B, int N) {
    double sum = 0;
    for (size_t i = 0; i < (size_t)B * (size_t)N; i++)
        sum += fabs((double)out[i] - (double)targets[i]);
    return sum;
}

/* The mean loss of one inference batch, whatever infer's output is */
static double infer_loss(const nn_model_desc *m, const float *out, const int *labels, int B) {
    if (m->loss == NN_MSE)
        return nn_mse(NULL, out, labels, B, m->out_size);
    if (m->out_is_prob)
        return prob_xent(out, labels, B, m->out_size);
    return nn_softmax_xent(NULL, out, labels, B, m->out_size);
}

/* 1 - SS_res / SS_tot of each output, averaged; SS_tot by two passes over
 * the targets, which do not depend on the model */
static double r2_score(const nn_dataset *d, const double *ss_res) {
    const int N = d->n_targets;
    double r2 = 0;
    for (int j = 0; j < N; j++) {
        double mean = 0, ss_tot = 0;
        for (size_t i = 0; i < d->n; i++)
            mean += d->targets[i * (size_t)N + (size_t)j];
        mean /= (double)d->n;
        for (size_t i = 0; i < d->n; i++) {
            double e = d->targets[i * (size_t)N + (size_t)j] - mean;
            ss_tot += e * e;
        }
        r2 += ss_tot > 0 ? 1 - ss_res[j] / ss_tot : ss_res[j] == 0 ? 1 : 0;
    }
    return r2 / N;
}

static nn_metrics evaluate_regression(const nn_model_desc *m, const nn_dataset *d,
                                      const nn_buffers *b, int batch) {
    const int N = m->out_size;
    double sq = 0, abs = 0;
    for (int j = 0; j < N; j++)
        b->ss_res[j] = 0;
    for (size_t first = 0; first < d->n; first += (size_t)batch) {
        int B = d->n - first < (size_t)batch ? (int)(d->n - first) : batch;
        nn_data_batch(b->x, NULL, b->targets, d, NULL, first, B);
        m->infer(b->param, b->state, b->work, b->x, b->out, B);
        for (size_t i = 0; i < (size_t)B * (size_t)N; i++) {
            double e = (double)b->out[i] - (double)b->targets[i];
            sq += e * e;
            abs += fabs(e);
            b->ss_res[i % (size_t)N] += e * e;
        }
    }
    double count = (double)d->n * N;
    return (nn_metrics){.loss = sq / count, .mae = abs / count, .r2 = r2_score(d, b->ss_res)};
}

nn_metrics nn_evaluate(const nn_model_desc *m, const nn_dataset *d, const nn_buffers *b,
                       int batch, size_t *confusion) {
    if (d->targets)
        return evaluate_regression(m, d, b, batch);
    const int K = m->out_size;
    double loss = 0;
    size_t correct = 0;
    if (confusion)
        memset(confusion, 0, sizeof *confusion * (size_t)K * (size_t)K);
    for (size_t first = 0; first < d->n; first += (size_t)batch) {
        int B = d->n - first < (size_t)batch ? (int)(d->n - first) : batch;
        nn_data_batch(b->x, b->labels, NULL, d, NULL, first, B);
        m->infer(b->param, b->state, b->work, b->x, b->out, B);
        loss += infer_loss(m, b->out, b->labels, B) * B;
        for (int i = 0; i < B; i++) {
            int p = nn_argmax(b->out + (size_t)i * (size_t)K, K), y = b->labels[i];
            correct += p == y;
            if (confusion)
                confusion[(size_t)y * (size_t)K + (size_t)p]++;
        }
    }
    return (nn_metrics){.loss = loss / (double)d->n, .accuracy = (double)correct / (double)d->n};
}
