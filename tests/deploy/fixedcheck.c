/* fixedcheck.c: the int8 file's fixed-point arithmetic against exact
 * integer references, for tests/45-int8.t. Built with -DNET_C='"net.c"',
 * an int8 file whose static high_mul, div_pot and rescale it includes, and
 * linked with nnc's objects for quantize_multiplier (emit_int8.c). Prints
 * one line per failed case and the count of cases; exits 1 if any failed. */
#include NET_C

#include <stdio.h>

void quantize_multiplier(double real, int32_t *m, int *shift);

static long failures, cases;

static void expect(const char *what, long long got, long long want) {
    cases++;
    if (got != want && failures++ < 20)
        printf("FAIL %s: got %lld, want %lld\n", what, got, want);
}

/* floor(a b / 2^31 + 1/2): round half up, the value gemmlowp's nudge gives */
static int32_t ref_high_mul(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    const int64_t t = (int64_t)a * b + ((int64_t)1 << 30);
    return (int32_t)(t >= 0 ? t / ((int64_t)1 << 31) : -((-t + ((int64_t)1 << 31) - 1) / ((int64_t)1 << 31)));
}

/* x / 2^e, ties away from zero, from the magnitude */
static int32_t ref_div_pot(int32_t x, int e) {
    if (e == 0)
        return x;
    const int64_t mag = x < 0 ? -(int64_t)x : x;
    const int64_t q = (mag + ((int64_t)1 << (e - 1))) >> e;
    return (int32_t)(x < 0 ? -q : q);
}

static uint64_t rng = 88172645463325252ull;
static uint32_t next(void) { /* xorshift64 */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

int main(void) {
    /* saturation: the one product that overflows */
    expect("high_mul(INT32_MIN, INT32_MIN)", high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
    expect("high_mul(INT32_MIN, INT32_MAX)", high_mul(INT32_MIN, INT32_MAX), -INT32_MAX);
    expect("high_mul(INT32_MAX, INT32_MAX)", high_mul(INT32_MAX, INT32_MAX), INT32_MAX - 1);
    /* ties: 2^30 / 2^31 = 1/2 rounds up, -1/2 too (to 0), -3/2 to -1 */
    expect("high_mul(1, 2^30)", high_mul(1, 1 << 30), 1);
    expect("high_mul(-1, 2^30)", high_mul(-1, 1 << 30), 0);
    expect("high_mul(-3, 2^30)", high_mul(-3, 1 << 30), -1);
    /* div_pot ties away from zero */
    expect("div_pot(5, 1)", div_pot(5, 1), 3);
    expect("div_pot(-5, 1)", div_pot(-5, 1), -3);
    expect("div_pot(-2, 2)", div_pot(-2, 2), -1);
    expect("div_pot(-1, 2)", div_pot(-1, 2), 0);
    expect("div_pot(INT32_MIN, 31)", div_pot(INT32_MIN, 31), -1);
    expect("div_pot(INT32_MAX, 31)", div_pot(INT32_MAX, 31), 1);
    expect("div_pot(7, 0)", div_pot(7, 0), 7);
    for (int i = 0; i < 2000000; i++) {
        const int32_t a = (int32_t)next(), b = (int32_t)next();
        const int e = (int)(next() % 32);
        expect("high_mul random", high_mul(a, b), ref_high_mul(a, b));
        expect("div_pot random", div_pot(a, e), ref_div_pot(a, e));
    }
    /* the multipliers of known scales: real = m 2^(shift - 31) */
    static const struct {
        double real;
        int32_t m;
        int shift;
    } known[] = {
        {1.0, 1 << 30, 1},          {0.5, 1 << 30, 0},        {0.75, 3 << 29, 0},
        {1.0 / 3, 1431655765, -1},  {0x1p-31, 1 << 30, -30},  {0.9999999999, 1 << 30, 1},
        {-0.5, -(1 << 30), 0},      {1e-12, 0, 0},            {5.0, 5 << 28, 3},
    };
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        int32_t m;
        int shift;
        char what[64];
        quantize_multiplier(known[k].real, &m, &shift);
        snprintf(what, sizeof what, "quantize_multiplier(%.10g): m", known[k].real);
        expect(what, m, known[k].m);
        snprintf(what, sizeof what, "quantize_multiplier(%.10g): shift", known[k].real);
        expect(what, shift, known[k].shift);
    }
    /* rescale = round(x real): high_mul's ties go up (-2.5 -> -2), div_pot's
     * away from zero (-5 / 4 -> -1, -6 / 4 -> -2) */
    expect("rescale(5, 0.5)", rescale(5, 1 << 30, 0), 3);
    expect("rescale(-5, 0.5)", rescale(-5, 1 << 30, 0), -2);
    expect("rescale(-5, 0.25)", rescale(-5, 1 << 30, -1), -1);
    expect("rescale(-6, 0.25)", rescale(-6, 1 << 30, -1), -2);
    expect("rescale(100, 1.0)", rescale(100, 1 << 30, 1), 100);
    expect("rescale(3, 0.25)", rescale(3, 1 << 30, -1), 1);
    /* the left shift saturates (TFLite's would overflow), then 0.5 */
    expect("rescale(INT32_MAX, 0.5 2^3)", rescale(INT32_MAX, 1 << 30, 3), 1 << 30);
    expect("rescale(INT32_MIN, 0.5 2^3)", rescale(INT32_MIN, 1 << 30, 3), -(1 << 30));
    expect("rescale(-2^20, 2^-25)", rescale(-(1 << 20), 1 << 30, -24), -(1 << 20) / (1 << 25));
    printf("fixed point: %ld cases, %ld failed\n", cases, failures);
    return failures != 0;
}
