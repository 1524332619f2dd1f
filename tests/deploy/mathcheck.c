/* mathcheck.c: the deployed code's own exp and tanh against glibc's expf
 * and tanhf, for tests/44-deploy.t and the numbers in docs/deploy.md.
 * Built with -DNET_C='"net.c"', the deployed C of tests/deploy/acts.model,
 * whose static exp_ and tanh_ it includes. Prints the largest relative
 * error and the largest distance in ulps of each, over every float
 * STRIDE-th float of the range that matters: exp over [-87, 88] (softmax,
 * sigmoid and tanh call it with arguments <= 0 or up to 2 |x|), tanh over
 * [-10, 10] (beyond, both are +-1). */
#include NET_C

#include <math.h>
#include <stdio.h>

#define STRIDE 64 /* of the ~2^31 floats in each range: 2^25 inputs */

static uint32_t bits_of(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* The floats between a and b, both finite and of one sign (0 and -0 are
 * one number) */
static double ulps(float a, float b) {
    if (a == b)
        return 0;
    double d = (double)bits_of(a) - (double)bits_of(b);
    return d < 0 ? -d : d;
}

static void check(const char *what, float (*mine)(float), float (*ref)(float), float lo,
                  float hi) {
    double max_rel = 0, max_ulp = 0, at = 0;
    long n = 0;
    for (int sign = 0; sign < 2; sign++) /* the floats of each sign, by their bits */
        for (uint32_t b = 0; b < 0x7f800000u; b += STRIDE) {
            float x;
            uint32_t v = b | (uint32_t)sign << 31;
            memcpy(&x, &v, sizeof x);
            if (x < lo || x > hi)
                continue;
            float m = mine(x), r = ref(x);
            double rel = r != 0 ? fabs(((double)m - r) / r) : fabs((double)m);
            double u = ulps(m, r);
            if (rel > max_rel)
                max_rel = rel, at = x;
            max_ulp = u > max_ulp ? u : max_ulp;
            n++;
        }
    printf("%s: %ld inputs in [%g, %g]: max relative error %.3g (at %.9g), max %.0f ulp\n", what,
           n, (double)lo, (double)hi, max_rel, at, max_ulp);
}

static float glibc_expf(float x) {
    return expf(x);
}
static float glibc_tanhf(float x) {
    return tanhf(x);
}

int main(void) {
    check("exp", exp_, glibc_expf, -87.0f, 88.0f);
    check("tanh", tanh_, glibc_tanhf, -10.0f, 10.0f);
    return 0;
}
