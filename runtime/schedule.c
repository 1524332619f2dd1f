/* schedule.c: the rate of every step under a schedule, the plateau
 * reduction, and the tracker of the best value of a monitored metric, each
 * after its Keras counterpart (CosineDecay with warmup, ReduceLROnPlateau,
 * EarlyStopping's monitor_op). Rates are computed in double and rounded to
 * float once, by the caller's optimizer step.
 */
#include "schedule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"

#define PI 3.14159265358979323846

nn_tracker nn_tracker_new(int maximize, double min_delta) {
    return (nn_tracker){maximize, min_delta, maximize ? -HUGE_VAL : HUGE_VAL, 0};
}

int nn_tracker_update(nn_tracker *t, double v) {
    int better = t->maximize ? v - t->min_delta > t->best : v + t->min_delta < t->best;
    if (better) {
        t->best = v;
        t->wait = 0;
    } else {
        t->wait++;
    }
    return better;
}

double nn_schedule_rate(const nn_schedule *s, float lr, const nn_plateau *p, uint64_t t,
                        uint64_t steps_per_epoch, int epochs) {
    const double base = lr;
    switch (s->kind) {
    case NN_SCHED_STEP: {
        uint64_t epoch = (t - 1) / steps_per_epoch; /* 0-based */
        return base * pow(s->factor, (double)(epoch / (uint64_t)s->every));
    }
    case NN_SCHED_COSINE: {
        /* Keras counts steps from 0 */
        double k = (double)(t - 1), warm = (double)s->warmup * (double)steps_per_epoch;
        if (k < warm)
            return base * k / warm;
        double decay = (double)epochs * (double)steps_per_epoch - warm;
        double frac = decay > 0 ? fmin((k - warm) / decay, 1.0) : 1.0;
        return s->min_lr + (base - s->min_lr) * 0.5 * (1 + cos(PI * frac));
    }
    case NN_SCHED_PLATEAU:
        return p->lr;
    case NN_SCHED_NONE:
        break;
    }
    return base;
}

int nn_plateau_update(nn_plateau *p, const nn_schedule *s, double v) {
    if (nn_tracker_update(&p->tracker, v) || p->tracker.wait < (uint32_t)s->patience)
        return 0;
    p->tracker.wait = 0;
    if (!(p->lr > s->min_lr))
        return 0;
    float lowered = p->lr * s->factor;
    p->lr = lowered > s->min_lr ? lowered : s->min_lr;
    return 1;
}

/* ---------------------------------------------------------------- text */

/* ORDER: nn_schedule_kind */
static const char *const kinds[] = {"none", "step", "cosine", "plateau"};

/* The options each kind takes; which are required */
enum { K_EVERY, K_WARMUP, K_PATIENCE, K_FACTOR, K_MIN_LR, N_KEYS };
static const char *const keys[N_KEYS] = {"every", "warmup", "patience", "factor", "min_lr"};
/* ORDER: nn_schedule_kind; bits 1 << key: allowed, and required */
static const unsigned allowed[] = {0, 1u << K_EVERY | 1u << K_FACTOR, 1u << K_WARMUP | 1u << K_MIN_LR,
                                   1u << K_PATIENCE | 1u << K_FACTOR | 1u << K_MIN_LR};
static const unsigned required[] = {0, 1u << K_EVERY | 1u << K_FACTOR, 0,
                                    1u << K_PATIENCE | 1u << K_FACTOR};
static const char *const usage[] = {"none", "step every=E factor=F", "cosine [warmup=E] [min_lr=X]",
                                    "plateau patience=P factor=F [min_lr=X]"};

/* One key=value into s; 0 or -1 with err */
static int set_key(nn_schedule *s, int key, const char *v, char *err, size_t errlen) {
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end)
        return nn_fail(err, errlen, "--schedule: %s='%s' is not a number", keys[key], v);
    int whole = x == floor(x) && x >= 0 && x <= NN_MAX_EPOCHS;
    switch (key) {
    case K_EVERY:
    case K_PATIENCE:
        if (!whole || x < 1)
            return nn_fail(err, errlen, "--schedule: %s=%s is not a whole number of epochs (1..%d)",
                           keys[key], v, NN_MAX_EPOCHS);
        *(key == K_EVERY ? &s->every : &s->patience) = (int)x;
        break;
    case K_WARMUP:
        if (!whole)
            return nn_fail(err, errlen, "--schedule: warmup=%s is not a whole number of epochs (0..%d)",
                           v, NN_MAX_EPOCHS);
        s->warmup = (int)x;
        break;
    case K_FACTOR:
        if (!(x > 0 && x < 1))
            return nn_fail(err, errlen, "--schedule: factor=%s is out of range (0 < F < 1)", v);
        s->factor = (float)x;
        break;
    case K_MIN_LR:
        if (!(x >= 0 && x < 1e6))
            return nn_fail(err, errlen, "--schedule: min_lr=%s is out of range (0 <= X < 1e6)", v);
        s->min_lr = (float)x;
        break;
    }
    return 0;
}

int nn_schedule_parse(nn_schedule *s, const char *text, char *err, size_t errlen) {
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", text) >= (int)sizeof buf)
        return nn_fail(err, errlen, "--schedule: too long");
    *s = (nn_schedule){0};
    char *save = NULL, *word = strtok_r(buf, " \t", &save);
    int kind = 0;
    while (word && kind < (int)(sizeof kinds / sizeof *kinds) && strcmp(word, kinds[kind]))
        kind++;
    if (!word || kind == (int)(sizeof kinds / sizeof *kinds))
        return nn_fail(err, errlen,
                       "--schedule: '%s' is not a schedule (expected step, cosine, plateau or none)",
                       word ? word : "");
    s->kind = (nn_schedule_kind)kind;
    unsigned seen = 0;
    for (char *a = strtok_r(NULL, " \t", &save); a; a = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(a, '=');
        int key = 0;
        while (key < N_KEYS && (!eq || strlen(keys[key]) != (size_t)(eq - a) ||
                                strncmp(a, keys[key], (size_t)(eq - a))))
            key++;
        if (key == N_KEYS || !(allowed[kind] >> key & 1))
            return nn_fail(err, errlen, "--schedule: unexpected '%s'; usage: %s", a, usage[kind]);
        if (set_key(s, key, eq + 1, err, errlen))
            return -1;
        seen |= 1u << key;
    }
    for (int key = 0; key < N_KEYS; key++)
        if ((required[kind] >> key & 1) && !(seen >> key & 1))
            return nn_fail(err, errlen, "--schedule: %s needs %s=; usage: %s", kinds[kind],
                           keys[key], usage[kind]);
    return 0;
}

void nn_schedule_format(char *buf, size_t len, const nn_schedule *s) {
    switch (s->kind) {
    case NN_SCHED_STEP:
        snprintf(buf, len, "step every=%d factor=%g", s->every, s->factor);
        break;
    case NN_SCHED_COSINE:
        snprintf(buf, len, "cosine warmup=%d min_lr=%g", s->warmup, s->min_lr);
        break;
    case NN_SCHED_PLATEAU:
        snprintf(buf, len, "plateau patience=%d factor=%g min_lr=%g", s->patience, s->factor,
                 s->min_lr);
        break;
    case NN_SCHED_NONE:
        snprintf(buf, len, "none");
        break;
    }
}
