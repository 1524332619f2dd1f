/* test_schedule.c: the learning-rate schedules, the tracker behind
 * plateau, --early-stop and --save-best, and nn_clip_grad_norm
 * (runtime/schedule.c, runtime/optim.c), against values worked out by hand
 * from the formulas of docs/trainer.md, step by step; and the exact
 * message of every --schedule error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "nnrt.h"
#include "schedule.h"

#define assert_near(got, want) assert_true(fabs((double)(got) - (double)(want)) <= 1e-12)

static const nn_plateau no_plateau = {0};

/* 4 steps an epoch, 3 epochs: 12 steps */
static double rate(const nn_schedule *s, uint64_t t) {
    return nn_schedule_rate(s, 0.5f, &no_plateau, t, 4, 3);
}

static void no_schedule_is_the_base_rate(void **state) {
    (void)state;
    nn_schedule s = {.kind = NN_SCHED_NONE};
    for (uint64_t t = 1; t <= 12; t++)
        assert_true(rate(&s, t) == 0.5);
}

static void step_decays_every_e_epochs(void **state) {
    (void)state;
    nn_schedule s = {.kind = NN_SCHED_STEP, .every = 2, .factor = 0.25f};
    /* epochs 1-2 (steps 1-8): 0.5; epoch 3 (steps 9-12): 0.5 x 0.25 */
    for (uint64_t t = 1; t <= 8; t++)
        assert_near(rate(&s, t), 0.5);
    for (uint64_t t = 9; t <= 12; t++)
        assert_near(rate(&s, t), 0.125);
}

static void cosine_warms_up_then_decays(void **state) {
    (void)state;
    nn_schedule s = {.kind = NN_SCHED_COSINE, .warmup = 1, .min_lr = 0.1f};
    const double min = (double)0.1f;
    /* Keras counts from 0: step t is k = t - 1; warm-up over k < 4 */
    assert_near(rate(&s, 1), 0.0);
    assert_near(rate(&s, 2), 0.125);
    assert_near(rate(&s, 4), 0.375);
    /* then over the 8 steps left: min + (0.5 - min)(1 + cos(pi (k - 4) / 8)) / 2 */
    assert_near(rate(&s, 5), 0.5);
    assert_near(rate(&s, 9), min + (0.5 - min) * 0.5);
    assert_near(rate(&s, 12), min + (0.5 - min) * 0.5 * (1 + cos(3.14159265358979323846 * 7 / 8)));
    assert_near(rate(&s, 13), min); /* past the run (a longer --epochs on resume): the floor */
}

static void cosine_without_warmup_starts_at_the_rate(void **state) {
    (void)state;
    nn_schedule s = {.kind = NN_SCHED_COSINE};
    assert_near(rate(&s, 1), 0.5);
    assert_near(rate(&s, 7), 0.25); /* k = 6 of 12 */
}

static void plateau_reduces_after_patience(void **state) {
    (void)state;
    nn_schedule s = {.kind = NN_SCHED_PLATEAU, .patience = 2, .factor = 0.5f, .min_lr = 0.05f};
    nn_plateau p = {.lr = 0.4f, .tracker = nn_tracker_new(0, NN_PLATEAU_MIN_DELTA)};
    /* val_loss per epoch, and the rate the next epoch uses */
    const double loss[] = {1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.50005, 0.6, 0.7, 0.8, 0.9, 1.0};
    const float want[] = {0.4f, 0.4f, 0.4f, 0.2f, 0.2f, 0.2f, 0.2f, 0.1f, 0.1f, 0.05f, 0.05f, 0.05f};
    for (size_t e = 0; e < sizeof loss / sizeof *loss; e++) {
        nn_plateau_update(&p, &s, loss[e]);
        assert_true(p.lr == want[e]);
        assert_true(nn_schedule_rate(&s, 0.4f, &p, 99, 4, 3) == (double)want[e]);
    }
    /* 0.50005 is within min_delta 1e-4 of 0.5: no improvement */
    assert_near(p.tracker.best, 0.5);
}

static void tracker_follows_keras_monitor_op(void **state) {
    (void)state;
    nn_tracker lo = nn_tracker_new(0, 0.01);
    assert_int_equal(nn_tracker_update(&lo, 1.0), 1);
    assert_int_equal(nn_tracker_update(&lo, 0.995), 0); /* better, but not by more than 0.01 */
    assert_int_equal(lo.wait, 1);
    assert_int_equal(nn_tracker_update(&lo, 0.98), 1);
    assert_int_equal(lo.wait, 0);
    nn_tracker hi = nn_tracker_new(1, 0);
    assert_int_equal(nn_tracker_update(&hi, 0.5), 1);
    assert_int_equal(nn_tracker_update(&hi, 0.5), 0); /* equal is not better */
    assert_int_equal(nn_tracker_update(&hi, 0.4), 0);
    assert_int_equal(hi.wait, 2);
    assert_int_equal(nn_tracker_update(&hi, 0.6), 1);
}

static void clip_scales_to_the_norm(void **state) {
    (void)state;
    float g[] = {3, 4, 0};
    assert_near(nn_clip_grad_norm(g, 3, 1.0f), 5.0);
    assert_true(g[0] == 0.6f && g[1] == 0.8f && g[2] == 0);
    float small[] = {0.3f, 0.4f};
    nn_clip_grad_norm(small, 2, 1.0f);
    assert_true(small[0] == 0.3f && small[1] == 0.4f); /* under the limit: untouched */
}

static void parse_reads_what_format_writes(void **state) {
    (void)state;
    const char *const texts[] = {"step every=3 factor=0.5", "cosine warmup=2 min_lr=1e-05",
                                 "plateau patience=4 factor=0.2 min_lr=0", "none"};
    for (size_t i = 0; i < 4; i++) {
        nn_schedule s;
        char err[256], back[256];
        assert_int_equal(nn_schedule_parse(&s, texts[i], err, sizeof err), 0);
        assert_int_equal(s.kind, (int)i + 1 == 4 ? NN_SCHED_NONE : (nn_schedule_kind)(i + 1));
        nn_schedule_format(back, sizeof back, &s);
        nn_schedule t;
        assert_int_equal(nn_schedule_parse(&t, back, err, sizeof err), 0);
        assert_memory_equal(&s, &t, sizeof s);
    }
    nn_schedule c;
    char err[256];
    assert_int_equal(nn_schedule_parse(&c, "cosine", err, sizeof err), 0);
    assert_true(c.warmup == 0 && c.min_lr == 0);
}

static void parse_errors(void **state) {
    (void)state;
    const char *const cases[][2] = {
        {"", "--schedule: '' is not a schedule (expected step, cosine, plateau or none)"},
        {"linear", "--schedule: 'linear' is not a schedule (expected step, cosine, plateau or none)"},
        {"step every=2", "--schedule: step needs factor=; usage: step every=E factor=F"},
        {"plateau factor=0.5",
         "--schedule: plateau needs patience=; usage: plateau patience=P factor=F [min_lr=X]"},
        {"cosine factor=0.5",
         "--schedule: unexpected 'factor=0.5'; usage: cosine [warmup=E] [min_lr=X]"},
        {"cosine warmup", "--schedule: unexpected 'warmup'; usage: cosine [warmup=E] [min_lr=X]"},
        {"step every=x factor=0.5", "--schedule: every='x' is not a number"},
        {"step every=1.5 factor=0.5",
         "--schedule: every=1.5 is not a whole number of epochs (1..1000000)"},
        {"step every=0 factor=0.5",
         "--schedule: every=0 is not a whole number of epochs (1..1000000)"},
        {"cosine warmup=-1", "--schedule: warmup=-1 is not a whole number of epochs (0..1000000)"},
        {"step every=1 factor=1", "--schedule: factor=1 is out of range (0 < F < 1)"},
        {"cosine min_lr=-1", "--schedule: min_lr=-1 is out of range (0 <= X < 1e6)"},
        {"none every=1", "--schedule: unexpected 'every=1'; usage: none"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        nn_schedule s;
        char err[256] = "";
        assert_int_equal(nn_schedule_parse(&s, cases[i][0], err, sizeof err), -1);
        assert_string_equal(err, cases[i][1]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_schedule_is_the_base_rate),
        cmocka_unit_test(step_decays_every_e_epochs),
        cmocka_unit_test(cosine_warms_up_then_decays),
        cmocka_unit_test(cosine_without_warmup_starts_at_the_rate),
        cmocka_unit_test(plateau_reduces_after_patience),
        cmocka_unit_test(tracker_follows_keras_monitor_op),
        cmocka_unit_test(clip_scales_to_the_norm),
        cmocka_unit_test(parse_reads_what_format_writes),
        cmocka_unit_test(parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
