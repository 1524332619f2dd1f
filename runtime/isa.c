/* isa.c: which of the runtime's own kernel variants run (see simd.h).
 *
 * The best the CPU has, unless NNRT_ISA names a lower one: the tests run
 * every kernel under each variant a machine supports, so a machine with
 * AVX-512 also tests the paths other machines take. NNRT_ISA never reaches
 * OpenBLAS, whose kernels are its own choice (OPENBLAS_CORETYPE): nothing
 * in the runtime may depend on which it picks. A name the CPU cannot run,
 * or no name at all, is fatal at the first kernel call: silently running
 * another variant would make a test pass that tested nothing.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnrt.h"

static const char *const isa_names[] = {"generic", "avx2", "avx512"}; /* ORDER nn_isa */

static nn_isa cpu_best(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) /* AVX-512 F, BW, DQ, VL: what simd.h compiles for */
        return NN_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) /* the AVX2 tiles' FMA */
        return NN_ISA_AVX2;
#endif
    return NN_ISA_GENERIC;
}

int nn_isa_supported(nn_isa isa) {
    return isa >= NN_ISA_GENERIC && isa <= cpu_best();
}

const char *nn_isa_name(nn_isa isa) {
    return isa >= NN_ISA_GENERIC && isa <= NN_ISA_AVX512 ? isa_names[isa] : "?";
}

static nn_isa chosen(void) {
    const char *want = getenv("NNRT_ISA");
    const nn_isa best = cpu_best();
    if (!want || !*want)
        return best;
    for (int i = NN_ISA_GENERIC; i <= NN_ISA_AVX512; i++)
        if (strcmp(want, isa_names[i]) == 0) {
            if (i <= (int)best)
                return (nn_isa)i;
            fprintf(stderr, "nnrt: NNRT_ISA=%s, but this CPU runs at most %s\n", want,
                    isa_names[best]);
            exit(2);
        }
    fprintf(stderr, "nnrt: NNRT_ISA=%s is not one of generic, avx2, avx512\n", want);
    exit(2);
}

nn_isa nn_isa_current(void) {
    static atomic_int isa = -1; /* racing first callers compute the same value */
    int v = atomic_load_explicit(&isa, memory_order_relaxed);
    if (v < 0) {
        v = (int)chosen();
        atomic_store_explicit(&isa, v, memory_order_relaxed);
    }
    return (nn_isa)v;
}
