/* optim.c: parameter updates over the flat parameter buffer, with the
 * semantics of torch.optim.SGD (dampening 0) and torch.optim.Adam
 * (amsgrad off). Weight decay is L2 folded into the gradient, as both do.
 * Each variant is one fused loop; everything that depends only on the step
 * number is computed before it, so the loop body is plain arithmetic.
 */
#include <math.h>

#include "nnrt.h"
#include "simd.h"

/* torch: g = grad + wd p; buf = mu buf + g (buf = g at t = 1, the same
 * thing from a zero buffer); p -= lr (nesterov ? g + mu buf : buf). */
static void sgd_step(float *restrict p, const float *restrict grad, float *restrict buf, size_t n,
                     const nn_hparams *h) {
    const float lr = h->lr, wd = h->weight_decay, mu = h->momentum;
    if (mu == 0.0f) {
        for (size_t i = 0; i < n; i++)
            p[i] -= lr * (grad[i] + wd * p[i]);
    } else if (h->nesterov) {
        for (size_t i = 0; i < n; i++) {
            float g = grad[i] + wd * p[i];
            float b = mu * buf[i] + g;
            buf[i] = b;
            p[i] -= lr * (g + mu * b);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float g = grad[i] + wd * p[i];
            float b = mu * buf[i] + g;
            buf[i] = b;
            p[i] -= lr * b;
        }
    }
}

/* torch: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * GCC vectorizes this loop only with -fno-math-errno: otherwise sqrtf keeps
 * a call to set errno for negative v, which cannot happen here. */
NN_BODY void adam_step_body(float *restrict p, const float *restrict grad, float *restrict m,
                            float *restrict v, size_t n, const nn_hparams *h, long t) {
    const float b1 = h->beta1, b2 = h->beta2, eps = h->eps, wd = h->weight_decay;
    const float step = (float)(h->lr / (1.0 - pow(h->beta1, (double)t)));
    const float inv_bc2 = (float)(1.0 / sqrt(1.0 - pow(h->beta2, (double)t)));
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + wd * p[i];
        float mi = b1 * m[i] + (1.0f - b1) * g;
        float vi = b2 * v[i] + (1.0f - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step * mi / (sqrtf(vi) * inv_bc2 + eps);
    }
}
NN_VECTORIZED(adam_step,
              (float *restrict p, const float *restrict grad, float *restrict m, float *restrict v,
               size_t n, const nn_hparams *h, long t),
              (p, grad, m, v, n, h, t))

typedef struct {
    float *param, *state;
    const float *grad;
    size_t n;
    const nn_hparams *h;
    long t;
} Step;

/* One share of the parameters per thread: the update is elementwise, so
 * the split changes no result. */
static void step_part(void *ctx, int part, int parts) {
    const Step *s = ctx;
    size_t lo, hi;
    nn_part(s->n, part, parts, 16, &lo, &hi);
    if (s->h->optimizer == NN_ADAM)
        adam_step(s->param + lo, s->grad + lo, s->state + lo, s->state + s->n + lo, hi - lo, s->h,
                  s->t);
    else
        sgd_step(s->param + lo, s->grad + lo, s->h->momentum != 0.0f ? s->state + lo : NULL, hi - lo, s->h);
}

void nn_optimizer_step(float *param, const float *grad, float *state, size_t n, const nn_hparams *h,
                       long t) {
    Step s = {param, state, grad, n, h, t};
    nn_parallel(step_part, &s, (int)(n / 32768) + 1);
}

/* One thread, index order: the sum's rounding is fixed by n alone */
double nn_clip_grad_norm(float *grad, size_t n, float max_norm) {
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)grad[i] * (double)grad[i];
    double norm = sqrt(sum);
    if (norm > (double)max_norm) {
        const float scale = (float)((double)max_norm / norm);
        for (size_t i = 0; i < n; i++)
            grad[i] *= scale;
    }
    return norm;
}
