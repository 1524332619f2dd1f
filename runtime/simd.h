/* simd.h: how libnnrt's loops get the machine's vector width, internal.
 *
 * The library is built for baseline x86-64 (SSE2), so that a trainer runs on
 * any x86-64; the elementwise loops that matter are compiled three times by
 * GCC's target_clones and the loader picks the best the CPU has: x86-64-v4
 * (AVX-512, with the 64-bit multiply the dropout hash needs), AVX2, or the
 * baseline. Clones are chosen by CPU features, not model names ("arch=skylake-
 * avx512" would not match a newer Xeon). The C is the same in every clone
 * and -ffp-contract is off in ISO C mode, so clones differ only in speed,
 * except the order of reductions (a sum vectorized 16 wide adds in another
 * order than 8 wide): results are a function of the machine as well. */
#ifndef NNRT_SIMD_H
#define NNRT_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_VECTORIZE __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define NN_VECTORIZE
#endif

/* Kernels written with AVX-512 intrinsics (the convolutions' register
 * tiles) are compiled for it with NN_AVX512_TARGET and called only when
 * nn_have_avx512() says the CPU has it; otherwise their callers take their
 * portable path. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_HAS_AVX512_CODE 1
#define NN_AVX512_TARGET __attribute__((target("avx512f")))
static inline int nn_have_avx512(void) {
    return __builtin_cpu_supports("avx512f");
}
#else
#define NN_HAS_AVX512_CODE 0
static inline int nn_have_avx512(void) {
    return 0;
}
#endif

#endif
