/* gemm.c: every matrix product of the runtime, split over the thread pool.
 *
 * The output C(M,N) is cut into blocks of rows or of columns, along
 * whichever of M and N is longer, at multiples of 16 floats (a 64-byte
 * line, one AVX-512 register); each block is one single-threaded
 * cblas_sgemm, and the pool's threads claim blocks. The blocks are a
 * function of (M, N, K) alone, never of the thread count: OpenBLAS's
 * kernels round an element differently depending on where the call's block
 * starts (the Haswell sgemm kernel, which AMD Zen also runs, sums some
 * 8-row panels with two accumulators, even and odd k, and which panels
 * those are follows the call's rows and OpenBLAS's own 320-wide blocking),
 * so a split that followed the threads would change bits in the interior.
 * nn_blocks bounds the repacking each extra call costs (every block packs
 * the whole of the shorter operand again) while letting 2, 3, 4 or 6
 * threads share the work evenly; a product too small to repay a hand-off
 * (a few microseconds of work) is one block.
 * A product with one row goes to sgemv: OpenBLAS's sgemm would first copy
 * all of B into its packed layout (a 784x1024 layer at batch 1: 93 us of
 * which the packing is most; split over two cores, each half of the weights
 * stays in that core's L2 from one call to the next).
 */
#include <cblas.h>

#include "nnrt.h"

#define ALIGN 16

typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int split_rows; /* 1: blocks of rows of C (M), 0: blocks of columns (N) */
} Gemm;

static void gemm_block(const Gemm *g, int m0, int m1, int n0, int n1) {
    if (m1 <= m0 || n1 <= n0)
        return;
    /* Row block m0..m1 of op(A) starts at row m0 of A, or at its column m0
     * if A is transposed; likewise for the columns of op(B). */
    const float *A = g->A + (size_t)m0 * (g->ta ? 1 : (size_t)g->lda);
    const float *B = g->B + (size_t)n0 * (g->tb ? (size_t)g->ldb : 1);
    if (m1 - m0 == 1) { /* one row, as in inference at batch 1: sgemm would pack B for it */
        cblas_sgemv(CblasRowMajor, g->tb ? CblasNoTrans : CblasTrans, g->tb ? n1 - n0 : g->K,
                    g->tb ? g->K : n1 - n0, g->alpha, B, g->ldb, A, g->ta ? g->lda : 1, g->beta,
                    g->C + (size_t)m0 * g->ldc + n0, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                m1 - m0, n1 - n0, g->K, g->alpha, A, g->lda, B, g->ldb, g->beta,
                g->C + (size_t)m0 * g->ldc + n0, g->ldc);
}

static void gemm_part(void *ctx, int part, int parts) {
    const Gemm *g = ctx;
    size_t lo, hi;
    if (g->split_rows) {
        nn_part((size_t)g->M, part, parts, ALIGN, &lo, &hi);
        gemm_block(g, (int)lo, (int)hi, 0, g->N);
    } else {
        nn_part((size_t)g->N, part, parts, ALIGN, &lo, &hi);
        gemm_block(g, 0, g->M, (int)lo, (int)hi);
    }
}

void nn_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    Gemm g = {ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C, M >= N};
    const size_t longest = (size_t)(M >= N ? M : N);
    nn_parallel(gemm_part, &g, nn_blocks(2.0 * M * N * K, (longest + ALIGN - 1) / ALIGN));
}

void nn_gemm1(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    Gemm g = {ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C, 1};
    gemm_block(&g, 0, M, 0, N);
}
