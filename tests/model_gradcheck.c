/* model_gradcheck.c: checks a whole generated train step against central
 * finite differences of its own loss, so the emitter's wiring (buffer
 * offsets, the order of the backward pass, which buffer holds which
 * gradient, fused activations and the fused softmax loss) is tested, not
 * only the kernels. Built per model by tests/41-model-grad.t:
 *   cc -DMODEL_C='"build/x.c"' -DDESC=x_model tests/model_gradcheck.c ...
 * Prints one line for the TAP driver; exits 1 when the check fails.
 *
 * The train step's loss is a float computation, so single coordinates with
 * tiny gradients are noise; the check compares sums over a stratified
 * sample of coordinates (every parameter tensor is hit) and requires the
 * gradient mass to be well above the noise, so a wrong or missing gradient
 * anywhere in the sample fails it (wiring bugs measured 0.25 to 0.6 against
 * 0.009 at worst for correct code: the 0.05 threshold). Dropout masks are
 * fixed by the key. A model with loss mse is checked twice: against the
 * one-hot labels and against regression targets. */
#define NNC_NO_MAIN
#include MODEL_C

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

enum { B = 3, SAMPLES = 400 };

static const float *targets; /* NULL: the labels */

static float loss_at(const nn_model_desc *m, float *param, float *grad, float *state, float *work,
                     const float *x, const int *labels, float *out) {
    return m->train_step(param, grad, state, work, x, labels, targets, out, B, 12345);
}

int main(void) {
    const nn_model_desc *m = &DESC;
    size_t n = m->n_param;
    float *param = malloc(sizeof(float) * (n + 1));
    float *grad = malloc(sizeof(float) * (n + 1));
    float *state = malloc(sizeof(float) * (m->n_state + 1));
    float *work = malloc(sizeof(float) * (m->work_per_sample * B + m->work_fixed +
                                          m->work_per_thread * (size_t)nn_threads() + 1));
    float *x = malloc(sizeof(float) * (size_t)m->in_size * B);
    float *out = malloc(sizeof(float) * (size_t)m->out_size * B);
    int labels[B];
    nn_rng r = nn_rng_seed(7);
    m->init(param, state, 3);
    /* Random non-zero biases and zero-init weights: a zero parameter hides
     * gradient errors that only show through it. */
    for (size_t i = 0; i < n; i++)
        if (param[i] == 0.0f)
            param[i] = 0.1f * (nn_rng_uniform(&r) - 0.5f);
    for (size_t i = 0; i < (size_t)m->in_size * B; i++)
        x[i] = nn_rng_uniform(&r);
    for (int i = 0; i < B; i++)
        labels[i] = (int)(nn_rng_next(&r) % (uint64_t)m->out_size);
    float *regression = malloc(sizeof(float) * (size_t)m->out_size * B);
    for (size_t i = 0; i < (size_t)m->out_size * B; i++)
        regression[i] = 2 * nn_rng_uniform(&r) - 1;

    bool ok = true;
    for (int pass = 0; pass < (m->loss == NN_MSE ? 2 : 1); pass++) {
        targets = pass ? regression : NULL;
        loss_at(m, param, grad, state, work, x, labels, out);
        float *analytic = malloc(sizeof(float) * (n + 1));
        for (size_t i = 0; i < n; i++)
            analytic[i] = grad[i];

        /* Two step sizes: truncation error (kinks of relu and maxpool, curvature)
         * shrinks with h, float rounding grows; a correct gradient agrees at
         * one of them, a wrong one at neither. */
        const float steps[2] = {1e-2f, 1e-3f};
        double diff[2] = {0, 0}, mass[2] = {0, 0};
        size_t samples = n < SAMPLES ? n : SAMPLES;
        for (size_t s = 0; s < samples; s++) {
            size_t i = s * n / samples + (size_t)(nn_rng_next(&r) % (n / samples));
            float keep = param[i];
            for (int k = 0; k < 2; k++) {
                float h = steps[k] * fmaxf(1.0f, fabsf(keep));
                param[i] = keep + h;
                double up = loss_at(m, param, grad, state, work, x, labels, out);
                param[i] = keep - h;
                double down = loss_at(m, param, grad, state, work, x, labels, out);
                param[i] = keep;
                double numeric = (up - down) / (2.0 * (double)h);
                diff[k] += fabs(numeric - analytic[i]);
                mass[k] += fabs(numeric);
            }
    }
    int best = diff[0] * mass[1] <= diff[1] * mass[0] ? 0 : 1;
    double rel = mass[best] > 0 ? diff[best] / mass[best] : 0;
    ok = ok && (n == 0 || (mass[best] > 1e-3 && rel < 0.05));
    printf("%s%s: %zu of %zu parameters, relative error %.2e (h=%g), gradient mass %.3g",
           pass ? "; " : "", pass ? "regression targets" : m->name, samples, n, rel,
           (double)steps[best], mass[best]);
    free(analytic);
    }
    printf("\n");
    free(regression);
    free(param);
    free(grad);
    free(state);
    free(work);
    free(x);
    free(out);
    return ok ? 0 : 1;
}
