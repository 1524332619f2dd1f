/* test_metrics.c: what the trainer reports of a model on a data set
 * (runtime/metrics.c) and the regression loss (nn_mse_targets), against
 * values worked out by hand. The "model" is the identity, so its outputs
 * are the examples' features, chosen to make the sums easy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "fit.h"
#include "metrics.h"
#include "nnrt.h"

#define assert_near(got, want) assert_true(fabs((double)(got) - (double)(want)) <= 1e-12)

enum { N = 2, EXAMPLES = 4, BATCH = 3 }; /* 3: the last batch is short */

static void identity(const float *param, const float *state, float *work, const float *x,
                     float *out, int B) {
    (void)param, (void)state, (void)work;
    memcpy(out, x, sizeof(float) * (size_t)B * N);
}

static size_t no_work(int B) {
    (void)B;
    return 0;
}

static const nn_model_desc model = {.name = "id", .in_h = 1, .in_w = 1, .in_c = N, .in_size = N,
                                    .out_size = N, .loss = NN_MSE, .defaults = {.batch = BATCH},
                                    .infer = identity, .infer_work = no_work};

/* outputs (the features) and targets, by example: errors -1 0 | 0 -1 | -1 0 | 0 2 */
static float outputs[EXAMPLES * N] = {1, 0, 2, 1, 3, 1, 4, 2};
static float targets[EXAMPLES * N] = {2, 0, 2, 2, 4, 1, 4, 0};

static void regression_metrics(void **state) {
    (void)state;
    nn_dataset d = {.values = outputs, .targets = targets, .n_targets = N, .n = EXAMPLES,
                    .in_size = N};
    nn_buffers b = {0};
    assert_int_equal(nn_fit_alloc(&b, &model, &model.defaults, 0), 0);
    nn_metrics m = nn_evaluate(&model, &d, &b, BATCH, NULL);
    /* squared errors 1+0+1+0 and 0+1+0+4 over 8 outputs; absolute 2 and 3 */
    assert_near(m.loss, 7.0 / 8);
    assert_near(m.mae, 5.0 / 8);
    /* column 0: targets 2 2 4 4, SS_tot 4, SS_res 2: R^2 1/2; column 1:
     * targets 0 2 1 0 (mean 3/4), SS_tot 11/4, SS_res 5: R^2 -9/11 */
    assert_near(m.r2, (0.5 - 9.0 / 11) / 2);
    nn_fit_free(&b);
}

static void r2_of_a_constant_target(void **state) {
    (void)state;
    /* column 1's target is always 1: predicted exactly (1 1 1 1) scores 1 */
    float out[EXAMPLES * N] = {0, 1, 1, 1, 2, 1, 3, 1};
    float tgt[EXAMPLES * N] = {0, 1, 1, 1, 2, 1, 4, 1};
    nn_dataset d = {.values = out, .targets = tgt, .n_targets = N, .n = EXAMPLES, .in_size = N};
    nn_buffers b = {0};
    assert_int_equal(nn_fit_alloc(&b, &model, &model.defaults, 0), 0);
    nn_metrics m = nn_evaluate(&model, &d, &b, BATCH, NULL);
    /* column 0: targets 0 1 2 4 (mean 7/4), SS_tot 35/4, SS_res 1 */
    assert_near(m.r2, ((1 - 4.0 / 35) + 1) / 2);
    tgt[7] = 2; /* now mispredicted: a constant column scores 0, as scikit-learn's */
    tgt[1] = tgt[3] = tgt[5] = 2;
    m = nn_evaluate(&model, &d, &b, BATCH, NULL);
    assert_near(m.r2, (1 - 4.0 / 35) / 2);
    nn_fit_free(&b);
}

static void mse_against_targets(void **state) {
    (void)state;
    float dout[4];
    /* the first two examples: errors -1 0 0 -1 */
    float loss = nn_mse_targets(dout, outputs, targets, 2, N);
    assert_true(loss == 0.5f);
    const float want[4] = {-0.5f, 0, 0, -0.5f}; /* 2 (out - t) / (B N) */
    assert_memory_equal(dout, want, sizeof want);
}

static void classification_metrics(void **state) {
    (void)state;
    /* argmax of the outputs against the labels: right, wrong, right, right */
    float out[EXAMPLES * N] = {0.9f, 0.1f, 0.2f, 0.8f, 0.3f, 0.7f, 0.6f, 0.4f};
    int labels[EXAMPLES] = {0, 0, 1, 0};
    nn_dataset d = {.values = out, .labels = labels, .n = EXAMPLES, .in_size = N};
    nn_buffers b = {0};
    assert_int_equal(nn_fit_alloc(&b, &model, &model.defaults, 0), 0);
    nn_metrics m = nn_evaluate(&model, &d, &b, BATCH, NULL);
    assert_near(m.accuracy, 0.75);
    /* loss mse against the one-hot labels: (0.01+0.01)+(0.64+0.64)+(0.09+0.09)+(0.16+0.16) */
    assert_true(fabs(m.loss - 1.8 / 8) < 1e-7);
    nn_fit_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regression_metrics),
        cmocka_unit_test(r2_of_a_constant_target),
        cmocka_unit_test(mse_against_targets),
        cmocka_unit_test(classification_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
