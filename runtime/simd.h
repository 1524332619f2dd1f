/* simd.h: how libnnrt's loops get the machine's vector width, internal.
 *
 * The library is built for baseline x86-64 (SSE2), so that a trainer runs on
 * any x86-64. The elementwise loops that matter are compiled three times,
 * for x86-64-v4 (AVX-512, with the 64-bit multiply the dropout hash needs),
 * AVX2 and the baseline, and each call runs the variant nn_isa_current()
 * names: the best the CPU has, or the one NNRT_ISA forces (isa.c), so every
 * variant can be tested on one machine. (GCC's target_clones would choose
 * at load time, beyond the reach of a test.) The C is the same in every
 * variant, -ffp-contract is off in ISO C mode, and GCC vectorizes no float
 * reduction without -fassociative-math, so the variants give the same bits;
 * the tests check that they do.
 *
 * A multi-versioned loop is written once as an always-inline body, then
 * NN_VECTORIZED(name, (params), (args)) defines `static void name(params)`
 * and its three compiled copies:
 *
 *     NN_BODY void scale_body(float *y, size_t n) { ... }
 *     NN_VECTORIZED(scale, (float *y, size_t n), (y, n))
 */
#ifndef NNRT_SIMD_H
#define NNRT_SIMD_H

#include "nnrt.h"

#define NN_BODY static inline __attribute__((always_inline))

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_HAS_X86_INTRINSICS 1
/* Kernels written with intrinsics (the register tiles) are compiled with
 * NN_AVX512_TARGET and called only when nn_have_avx512(), or with
 * NN_AVX2_FMA_TARGET and called only when nn_isa_current() is AVX2 (which
 * isa.c chooses only where the CPU also has FMA) */
#define NN_AVX512_TARGET __attribute__((target("avx512f")))
#define NN_AVX2_FMA_TARGET __attribute__((target("avx2,fma")))
#define NN_V4_TARGET __attribute__((target("arch=x86-64-v4")))
#define NN_V3_TARGET __attribute__((target("avx2")))
#define NN_VECTORIZED(name, params, args)                                                        \
    NN_V4_TARGET static void name##_avx512 params { name##_body args; }                         \
    NN_V3_TARGET static void name##_avx2 params { name##_body args; }                           \
    static void name##_generic params { name##_body args; }                                      \
    static void name params {                                                                    \
        switch (nn_isa_current()) {                                                              \
        case NN_ISA_AVX512: name##_avx512 args; break;                                           \
        case NN_ISA_AVX2: name##_avx2 args; break;                                               \
        default: name##_generic args; break;                                                     \
        }                                                                                        \
    }
#else
#define NN_HAS_X86_INTRINSICS 0
#define NN_VECTORIZED(name, params, args)                                                        \
    static void name params { name##_body args; }
#endif

static inline int nn_have_avx512(void) {
    return NN_HAS_X86_INTRINSICS && nn_isa_current() == NN_ISA_AVX512;
}

#endif
