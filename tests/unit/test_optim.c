/* test_optim.c: nn_optimizer_step against torch.optim's definitions.
 *
 * Short runs worked out by hand pin the formulas (a constant gradient makes
 * Adam move exactly lr per step; momentum and nesterov differ from the
 * second step on); then every variant, with and without weight decay, runs
 * a few steps on random gradients next to a double-precision transcription
 * of the update rules as the torch documentation writes them (the t = 1
 * branch of the momentum buffer, m_hat and v_hat spelt out).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "nnrt.h"

#define assert_near(got, want, tol) assert_true(fabs((double)(got) - (double)(want)) <= (tol))

static nn_hparams sgd(float lr, float momentum, int nesterov, float wd) {
    return (nn_hparams){.optimizer = NN_SGD,
                        .lr = lr,
                        .momentum = momentum,
                        .nesterov = nesterov,
                        .weight_decay = wd};
}

static nn_hparams adam(float lr, float wd, float eps) {
    return (nn_hparams){.optimizer = NN_ADAM,
                        .lr = lr,
                        .beta1 = 0.9f,
                        .beta2 = 0.999f,
                        .eps = eps,
                        .weight_decay = wd};
}

static void test_state_size(void **state) {
    (void)state;
    nn_hparams plain = sgd(0.1f, 0.0f, 0, 0.0f), mom = sgd(0.1f, 0.9f, 0, 0.0f);
    nn_hparams a = adam(1e-3f, 0.0f, 1e-8f);
    assert_int_equal(nn_optimizer_state_size(&plain, 100), 0);
    assert_int_equal(nn_optimizer_state_size(&mom, 100), 100);
    assert_int_equal(nn_optimizer_state_size(&a, 100), 200);
}

/* Plain SGD needs no state: it is given none. */
static void test_sgd_by_hand(void **state) {
    (void)state;
    float p[3] = {1.0f, -2.0f, 0.5f};
    const float g[3] = {0.5f, 0.25f, -1.0f};
    nn_hparams h = sgd(0.1f, 0.0f, 0, 0.0f);
    nn_optimizer_step(p, g, NULL, 3, &h, 1);
    assert_near(p[0], 0.95, 1e-6);
    assert_near(p[1], -2.025, 1e-6);
    assert_near(p[2], 0.6, 1e-6);

    /* weight decay 0.1: g + 0.1 p = {0.6, 0.05, -0.95} */
    float q[3] = {1.0f, -2.0f, 0.5f};
    h.weight_decay = 0.1f;
    nn_optimizer_step(q, g, NULL, 3, &h, 1);
    assert_near(q[0], 0.94, 1e-6);
    assert_near(q[1], -2.005, 1e-6);
    assert_near(q[2], 0.595, 1e-6);
}

/* mu 0.9, lr 0.1, g = 1 twice. Momentum: buf 1 then 1.9, p 0.9 then 0.71.
 * Nesterov steps by g + mu buf: 1.9 then 2.71, p 0.81 then 0.539. */
static void test_momentum_by_hand(void **state) {
    (void)state;
    const float g[1] = {1.0f};
    float p[1] = {1.0f}, buf[1] = {0.0f};
    nn_hparams h = sgd(0.1f, 0.9f, 0, 0.0f);
    nn_optimizer_step(p, g, buf, 1, &h, 1);
    assert_near(p[0], 0.9, 1e-6);
    assert_near(buf[0], 1.0, 1e-6);
    nn_optimizer_step(p, g, buf, 1, &h, 2);
    assert_near(p[0], 0.71, 1e-6);
    assert_near(buf[0], 1.9, 1e-6);

    p[0] = 1.0f, buf[0] = 0.0f;
    h.nesterov = 1;
    nn_optimizer_step(p, g, buf, 1, &h, 1);
    assert_near(p[0], 0.81, 1e-6);
    nn_optimizer_step(p, g, buf, 1, &h, 2);
    assert_near(p[0], 0.539, 1e-6);
    assert_near(buf[0], 1.9, 1e-6);
}

/* With a constant gradient the bias corrections make m_hat = g and
 * v_hat = g^2 at every step, so each parameter moves by lr g / (|g| + eps):
 * lr towards -sign(g), whatever the scale of g. */
static void test_adam_by_hand(void **state) {
    (void)state;
    float p[2] = {1.0f, -1.0f}, mv[4] = {0};
    const float g[2] = {0.5f, -3.0f};
    nn_hparams h = adam(0.01f, 0.0f, 1e-8f);
    for (long t = 1; t <= 3; t++) {
        nn_optimizer_step(p, g, mv, 2, &h, t);
        assert_near(p[0], 1.0 - 0.01 * t, 1e-6);
        assert_near(p[1], -1.0 + 0.01 * t, 1e-6);
    }
    /* m and v after three steps: g (1 - b^3) and g^2 (1 - b2^3) */
    assert_near(mv[0], 0.5 * (1 - pow(h.beta1, 3)), 1e-6);
    assert_near(mv[3], 9.0 * (1 - pow(h.beta2, 3)), 1e-6);
}

/* ----------------------------------------------- against a double reference */

typedef struct {
    double p, buf, m, v;
} RefState;

/* torch.optim.SGD.step (dampening 0) and torch.optim.Adam.step as their
 * documentation writes them, in double. */
static void reference_step(RefState *s, double g, const nn_hparams *h, long t) {
    g += h->weight_decay * s->p;
    if (h->optimizer == NN_SGD) {
        if (h->momentum != 0) {
            s->buf = t > 1 ? h->momentum * s->buf + g : g;
            g = h->nesterov ? g + h->momentum * s->buf : s->buf;
        }
        s->p -= h->lr * g;
        return;
    }
    s->m = h->beta1 * s->m + (1 - h->beta1) * g;
    s->v = h->beta2 * s->v + (1 - h->beta2) * g * g;
    double m_hat = s->m / (1 - pow(h->beta1, (double)t));
    double v_hat = s->v / (1 - pow(h->beta2, (double)t));
    s->p -= h->lr * m_hat / (sqrt(v_hat) + h->eps);
}

static void test_against_reference(void **state) {
    (void)state;
    /* eps 1e-3 with gradients near 1e-3 makes eps's place (outside the
     * sqrt, after the bias correction) matter. */
    const struct {
        nn_hparams h;
        float grad_scale;
    } cases[] = {
        {sgd(0.1f, 0.0f, 0, 0.0f), 1},     {sgd(0.1f, 0.0f, 0, 0.01f), 1},
        {sgd(0.05f, 0.9f, 0, 0.0f), 1},    {sgd(0.05f, 0.9f, 0, 0.01f), 1},
        {sgd(0.05f, 0.8f, 1, 0.0f), 1},    {sgd(0.05f, 0.8f, 1, 0.01f), 1},
        {adam(1e-2f, 0.0f, 1e-8f), 1},     {adam(1e-2f, 0.1f, 1e-8f), 1},
        {adam(1e-2f, 0.0f, 1e-3f), 1e-3f},
    };
    enum { n = 37, steps = 6 };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const nn_hparams *h = &cases[k].h;
        nn_rng rng = nn_rng_seed(31 + k);
        float p[n], g[n], st[2 * n];
        RefState ref[n];
        memset(st, 0, sizeof st);
        for (int i = 0; i < n; i++) {
            p[i] = 2.0f * nn_rng_uniform(&rng) - 1.0f;
            ref[i] = (RefState){.p = p[i]};
        }
        for (long t = 1; t <= steps; t++) {
            for (int i = 0; i < n; i++)
                g[i] = cases[k].grad_scale * nn_rng_normal(&rng);
            nn_optimizer_step(p, g, st, n, h, t);
            for (int i = 0; i < n; i++) {
                reference_step(&ref[i], g[i], h, t);
                if (!(fabs(p[i] - ref[i].p) <= 1e-6)) {
                    print_error("case %zu step %ld param %d: %.9g, reference %.9g\n", k, t, i, p[i],
                                ref[i].p);
                    fail();
                }
            }
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_size),        cmocka_unit_test(test_sgd_by_hand),
        cmocka_unit_test(test_momentum_by_hand),  cmocka_unit_test(test_adam_by_hand),
        cmocka_unit_test(test_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
