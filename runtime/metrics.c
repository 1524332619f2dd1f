/* metrics.c: loss and accuracy of a model's inference over a data set,
 * computed as Keras reports them (means over the examples). */
#include "metrics.h"

#include <math.h>

#define PROB_FLOOR 1e-7 /* -log(p) clamp for softmax outputs: Keras's epsilon */

int nn_count_correct(const float *out, const int *labels, int B, int N) {
    int correct = 0;
    for (int b = 0; b < B; b++) {
        const float *row = out + (size_t)b * (size_t)N;
        int best = 0;
        for (int j = 1; j < N; j++)
            if (row[j] > row[best])
                best = j;
        correct += best == labels[b];
    }
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

double nn_infer_loss(const nn_model_desc *m, const float *out, const int *labels, int B) {
    if (m->loss == NN_MSE)
        return nn_mse(NULL, out, labels, B, m->out_size);
    if (m->out_is_prob)
        return prob_xent(out, labels, B, m->out_size);
    return nn_softmax_xent(NULL, out, labels, B, m->out_size);
}

nn_metrics nn_evaluate(const nn_model_desc *m, const nn_dataset *d, const nn_buffers *b,
                       int batch) {
    double loss = 0;
    size_t correct = 0;
    for (size_t first = 0; first < d->n; first += (size_t)batch) {
        int B = d->n - first < (size_t)batch ? (int)(d->n - first) : batch;
        nn_data_batch(b->x, b->labels, NULL, d, NULL, first, B);
        m->infer(b->param, b->state, b->work, b->x, b->out, B);
        loss += nn_infer_loss(m, b->out, b->labels, B) * B;
        correct += (size_t)nn_count_correct(b->out, b->labels, B, m->out_size);
    }
    return (nn_metrics){loss / (double)d->n, (double)correct / (double)d->n};
}
