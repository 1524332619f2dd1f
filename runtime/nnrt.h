/* nnrt.h: the runtime every nnc-generated trainer links against (libnnrt.a).
 *
 * Two halves:
 *   - kernels: the math of each layer, forward and backward, over row-major
 *     float arrays; the generated C calls them with constant sizes;
 *   - the trainer: data loading, optimizers, checkpoints, the training loop
 *     and the command line, driven by an nn_model_desc that the generated C
 *     fills in (nn_main).
 *
 * Conventions (llm.c style): outputs first, then inputs, then sizes.
 * Size letters: B batch, IN/OUT features, H,W,C height/width/channels of an
 * image in HWC order (channels last, the order the input arrives in), K the
 * side of a square kernel, S the stride, OH,OW output height/width, OC
 * output channels. Gradients carry a d prefix (dx, dW, db, dy).
 * Backward kernels OVERWRITE their gradient outputs (no zero_grad needed);
 * where a value has several consumers, the generated code adds the later
 * consumers' gradients in with nn_grad_into or an accumulate flag, in a
 * fixed order (see the graph block below).
 * Weight layouts: dense W is (OUT, IN) as in PyTorch, y = x W^T + b;
 * conv W is (OC, K, K, C), so a filter is one contiguous row.
 */
#ifndef NNRT_H
#define NNRT_H

#include <stddef.h>
#include <stdint.h>

#define NNRT_ABI 4 /* bumped when nn_model_desc or a kernel signature changes */
#define NN_MAX_BATCH (1 << 20)
#define NN_MAX_EPOCHS 1000000 /* --epochs, a schedule's epochs, what a checkpoint may claim */

/* ORDER ACT: keep in step with ActKind in compiler/nnc.h */
typedef enum {
    NN_LINEAR,     /* y = x */
    NN_RELU,       /* y = max(x, 0) */
    NN_SIGMOID,    /* y = 1 / (1 + e^-x) */
    NN_TANH,       /* y = tanh x */
    NN_SOFTMAX,    /* y_i = e^x_i / sum_j e^x_j over each row */
    NN_LEAKY_RELU, /* y = x > 0 ? x : alpha x, alpha >= 0 */
} nn_act;

typedef enum { NN_CROSS_ENTROPY, NN_MSE } nn_loss;
typedef enum { NN_SGD, NN_ADAM } nn_optimizer;

/* ---------------------------------------------------------------- threads */

/* The runtime's one thread pool, and the determinism contract: every
 * result is a pure function of the inputs and the shapes, never of the
 * thread count. Work is cut into parts fixed by the problem's shape; the
 * threads (the caller's and n - 1 workers) claim parts, and OpenBLAS runs
 * single-threaded inside each, so there is never more than one busy thread
 * per thread of the pool, and no OpenBLAS call's arguments depend on n.
 * Before the first call the pool has one thread. */
void nn_set_threads(int n); /* n < 1: OPENBLAS_NUM_THREADS if set, else one per core */
int nn_threads(void);
/* Runs fn(ctx, part, parts) for every part in [0, parts) (parts in
 * [1, 65535]; the caller derives it from the shapes alone), part 0 on the
 * calling thread, the others on whichever threads claim them first; inside
 * a part, and with one thread, every part runs in order on the calling
 * thread. Returns once all are done. */
void nn_parallel(void (*fn)(void *ctx, int part, int parts), void *ctx, int parts);
/* The calling thread's index in the pool, in [0, nn_threads()): which
 * per-thread scratch a part may use (never what it computes) */
int nn_thread_slot(void);
/* [*lo, *hi): part `part` of `parts` near-equal shares of [0, n), cut at
 * multiples of align */
void nn_part(size_t n, int part, int parts, size_t align, size_t *lo, size_t *hi);
/* How many parts `flops` of matrix work is worth: one per 2^18 flops (~2 us
 * of a core; a hand-off costs ~1 us), in [1, 256] */
int nn_parts(double flops);
/* The fixed blocks a product of `flops` over `units` separable units (lines
 * of 16 floats, images) is cut into: nn_parts, at most `units`, and at most
 * NN_MAX_BLOCKS, so that 2, 3, 4 or 6 threads share evenly while each block stays big
 * enough to repay the repacking a separate sgemm call costs */
#define NN_MAX_BLOCKS 12
int nn_blocks(double flops, size_t units);

/* The runtime's own kernel variants (not OpenBLAS's, which are its own
 * choice): the best the CPU supports, or the one the environment variable
 * NNRT_ISA (generic, avx2, avx512) forces, for tests. Variants differ in
 * speed; where they differ in rounding (register tiles against sgemm) the
 * results are still a pure function of the inputs and the variant. */
typedef enum { NN_ISA_GENERIC, NN_ISA_AVX2, NN_ISA_AVX512 } nn_isa;
nn_isa nn_isa_current(void); /* exits with a message if NNRT_ISA is unknown or unsupported */
int nn_isa_supported(nn_isa isa);
const char *nn_isa_name(nn_isa isa);

/* n zeroed elements of `size` bytes (at least one), 64-byte aligned as the
 * AVX-512 kernels want their buffers; free() releases it; NULL if out of
 * memory */
void *nn_alloc(size_t n, size_t size);

/* ---------------------------------------------------------------- kernels */

/* C(M,N) = alpha op(A) op(B) + beta C, row-major, op = transpose if ta/tb:
 * cblas_sgemm on blocks of rows or columns of C fixed by (M, N, K), which
 * the pool's threads claim. nn_gemm1 is the same product in one call, for
 * kernels whose own parts are already fixed by the shapes. */
void nn_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);
void nn_gemm1(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);


/* y(B,OUT) = x(B,IN) W(OUT,IN)^T (no bias: see nn_bias_act) */
void nn_dense_forward(float *y, const float *x, const float *W, int B, int IN, int OUT);
/* dW(OUT,IN) = dy^T x; db(OUT) = column sums of dy (skipped if db is NULL);
 * dx(B,IN) = dy W (skipped if dx is NULL: the first layer needs no input gradient) */
void nn_dense_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                       const float *W, int B, int IN, int OUT);

/* y(R,N) = act(y + b) in place, one pass over a GEMM output; b may be NULL */
void nn_bias_act(float *y, const float *b, int R, int N, nn_act act, float alpha);
/* y = act(x) over rows of N; y may alias x */
void nn_act_forward(float *y, const float *x, int R, int N, nn_act act, float alpha);
/* dx = dy * act'(.) computed from the OUTPUT y; dx may alias dy */
void nn_act_backward(float *dx, const float *dy, const float *y, int R, int N, nn_act act,
                     float alpha);

/* Inverted dropout: y = x * keep / (1 - p), keep ~ Bernoulli(1 - p).
 * The mask is a pure function of (key, i): nn_dropout_backward with the same
 * key regenerates it, so no mask is stored and results do not depend on the
 * thread count. y may alias x, dx may alias dy. */
void nn_dropout_forward(float *y, const float *x, size_t n, float p, uint64_t key);
void nn_dropout_backward(float *dx, const float *dy, size_t n, float p, uint64_t key);
/* 1 if element i is kept under (key, p): the mask the functions here use */
int nn_dropout_keep(uint64_t key, size_t i, float p);
/* relu then dropout fused, in place, one pass over a GEMM output:
 * y(R,N) = dropout(relu(y + b)) with nn_dropout_forward's mask of (key, p)
 * over the R*N elements (p = 0: no dropout; b may be NULL). Only the result
 * is kept: its backward needs nothing else. */
void nn_bias_relu_dropout(float *y, const float *b, int R, int N, float p, uint64_t key);
/* Its backward, from that OUTPUT y: y > 0 exactly where the unit was both
 * active and kept, so dx = y > 0 ? dy / (1 - p) : 0, without regenerating
 * the mask. dx may alias dy. */
void nn_relu_dropout_backward(float *dx, const float *dy, const float *y, size_t n, float p);

/* Softmax + cross-entropy on logits z(B,N) with labels y(B), fused for
 * numerical stability. Returns the mean loss over the batch; writes
 * dz = (softmax(z) - onehot(y)) / B. dz may be NULL (evaluation). */
float nn_softmax_xent(float *dz, const float *z, const int *labels, int B, int N);
/* Mean squared error against onehot(labels), averaged over all B*N
 * elements (as Keras and PyTorch do); dout = 2 (out - onehot) / (B N).
 * dout may be NULL. */
float nn_mse(float *dout, const float *out, const int *labels, int B, int N);
/* The same against regression targets(B,N) */
float nn_mse_targets(float *dout, const float *out, const float *targets, int B, int N);

/* Convolution, NHWC: y(B,OH,OW,OC) = act(conv(x(B,H,W,C), W) + b), the bias
 * and activation applied to each image's rows while they are in cache (b
 * may be NULL). pad is the zero padding on top/left (bottom/right gets
 * whatever the output size implies). col is scratch of
 * nn_threads() * nn_conv2d_scratch(C, K, S, OC, OH, OW) floats, that is per
 * thread the largest of OH*OW*K*K*C (one image's im2col columns),
 * ((OH-1)S+K)((OW-1)S+K)C + OC*K*K*C (a padded image and the weight
 * gradient's sums between bands of rows) and (OH+2K-2)(OW+2K-2)OC (a
 * padded dy), plus OC*K*K*C (a transposed W or dW); nnc emits the same
 * formula. Backward: the weight and bias gradients are summed over at most
 * NN_MAX_BLOCKS fixed shards of the batch, in shard order, the partial
 * sums in `partials`, nn_conv2d_partials(C, K, OC) floats. dy is first
 * multiplied in place by act'(.) computed from the layer's output y (with
 * NN_LINEAR, y is not read and may be NULL); dx and db may be NULL (the
 * first layer needs no input gradient). */
size_t nn_conv2d_scratch(int C, int K, int S, int OC, int OH, int OW);
size_t nn_conv2d_partials(int C, int K, int OC);
void nn_conv2d_forward(float *y, const float *x, const float *W, const float *b, nn_act act,
                       float alpha, float *col, int B, int H, int W_, int C, int K, int S, int pad,
                       int OC, int OH, int OW);
void nn_conv2d_backward(float *dx, float *dW, float *db, float *dy, const float *y, nn_act act,
                        float alpha, const float *x, const float *W, float *col, float *partials,
                        int B, int H, int W_, int C, int K, int S, int pad, int OC, int OH,
                        int OW);

/* Pooling, NHWC, KxK window, stride S, no padding. maxpool keeps the
 * index of each maximum within its image (so int32 at any batch) in argmax
 * for the backward pass. */
void nn_maxpool_forward(float *y, int32_t *argmax, const float *x, int B, int H, int W_, int C,
                        int K, int S, int OH, int OW);
void nn_maxpool_backward(float *dx, const float *dy, const int32_t *argmax, int B, int H, int W_,
                         int C, int OH, int OW);
void nn_avgpool_forward(float *y, const float *x, int B, int H, int W_, int C, int K, int S,
                        int OH, int OW);
void nn_avgpool_backward(float *dx, const float *dy, int B, int H, int W_, int C, int K, int S,
                         int OH, int OW);

/* Batch normalisation over the last axis of x(R,C) (R = B*H*W for images).
 * Training: batch statistics; saves mean and inverse std in save(2C) for
 * backward; updates running(2C) = [mean, var] with
 * running = momentum * running + (1 - momentum) * batch (Keras convention,
 * unbiased variance for the running estimate).
 * gamma_beta(2C) = [gamma, beta]; y may not alias x. */
void nn_batchnorm_train(float *y, float *save, float *running, const float *x,
                        const float *gamma_beta, nn_act act, float alpha, int R, int C,
                        float momentum, float eps);
void nn_batchnorm_infer(float *y, const float *x, const float *running, const float *gamma_beta,
                        nn_act act, float alpha, int R, int C, float eps);
/* y = act(the normalized x) in the same pass, act elementwise (not
 * softmax), with the bits of nn_act_forward after it. Backward: dy is first
 * multiplied in place by act'(.) computed from the layer's output y (with
 * NN_LINEAR, y is not read and may be NULL), block by block; dx may be
 * NULL. */
void nn_batchnorm_backward(float *dx, float *dgamma_beta, float *dy, const float *y, nn_act act,
                           float alpha, const float *x, const float *save,
                           const float *gamma_beta, int R, int C);

/* Values with several consumers or producers (skip connections, concat,
 * gap). A value that fans out receives one gradient per consumer: the
 * first goes in with accumulate 0 (overwrites), the others with 1 (adds),
 * in a fixed order, so the sum does not depend on the thread count. */
/* y(n) = a(n) + b(n); y may alias a or b */
void nn_add(float *y, const float *a, const float *b, size_t n);
/* dx(n) (+)= dy(n): the gradient of one consumer of a value into the value's
 * gradient buffer; accumulate 0 overwrites, 1 adds (fan-out) */
void nn_grad_into(float *dx, const float *dy, size_t n, int accumulate);
/* Concatenation along the last axis of `rows` rows: y(rows, C) with
 * C = cs[0] + ... + cs[k-1], from xs[i](rows, cs[i]) */
void nn_concat_forward(float *y, const float *const *xs, const int *cs, int k, size_t rows);
/* Its backward: dxs[i](rows, cs[i]) = the matching columns of dy(rows, C);
 * accumulate 0 overwrites, 1 adds (a value with other consumers too);
 * a NULL dxs[i] is skipped (an input that needs no gradient) */
void nn_concat_backward(float *const *dxs, const float *dy, const int *cs, int k, size_t rows,
                        int accumulate);
/* Global average pooling, NHWC: y(B,C) = the mean over the HW pixels of x(B,HW,C) */
void nn_gap_forward(float *y, const float *x, int B, int HW, int C);
/* dx(B,HW,C) = dy(B,C) / HW at every pixel (overwrites) */
void nn_gap_backward(float *dx, const float *dy, int B, int HW, int C);

/* ------------------------------------------------------------------ RNG */

/* SplitMix64 stream: parameter init and shuffling. Deterministic per seed. */
typedef struct { uint64_t s; } nn_rng;
nn_rng nn_rng_seed(uint64_t seed);
uint64_t nn_rng_next(nn_rng *r);
float nn_rng_uniform(nn_rng *r);  /* [0, 1) */
float nn_rng_normal(nn_rng *r);   /* N(0, 1) */
/* Stateless 64-bit mix of (key, counter): dropout masks and key derivation */
uint64_t nn_hash2(uint64_t key, uint64_t counter);

/* Initialisers of one tensor (fan_in/fan_out as Keras computes them) */
void nn_init_glorot_uniform(float *w, size_t n, int fan_in, int fan_out, nn_rng *r);
void nn_init_he_uniform(float *w, size_t n, int fan_in, nn_rng *r);
void nn_init_fill(float *w, size_t n, float value);

/* ---------------------------------------------------------- optimizers */

/* A learning-rate schedule (docs/trainer.md, "Learning-rate schedules"):
 * the rate of each step as a function of the step, or, for plateau, of the
 * monitored metric's history */
typedef enum { NN_SCHED_NONE, NN_SCHED_STEP, NN_SCHED_COSINE, NN_SCHED_PLATEAU } nn_schedule_kind;

typedef struct {
    nn_schedule_kind kind;
    int every;    /* step: epochs between two decays, >= 1 */
    int warmup;   /* cosine: epochs of linear warm-up from 0, >= 0 */
    int patience; /* plateau: epochs without improvement before a decay, >= 1 */
    float factor; /* step, plateau: the rate is multiplied by it, in (0, 1) */
    float min_lr; /* cosine: where the cosine ends; plateau: the lowest rate; >= 0 */
} nn_schedule;

typedef struct {
    nn_optimizer optimizer;
    float lr;
    float momentum;      /* sgd */
    int nesterov;        /* sgd */
    float beta1, beta2, eps; /* adam */
    float weight_decay;  /* L2 added to the gradient, as torch.optim does */
    int batch;
    int epochs;
    uint64_t seed;
    nn_schedule schedule; /* kind NN_SCHED_NONE: the rate is lr at every step */
    float clip_norm;      /* > 0: the gradient's global L2 norm is clipped to it; 0: off */
} nn_hparams;

/* One update of n parameters. state holds 1 (sgd momentum) or 2 (adam m, v)
 * arrays of n floats, zero at start; t is the 1-based step number. */
void nn_optimizer_step(float *param, const float *grad, float *state, size_t n,
                       const nn_hparams *h, long t);
size_t nn_optimizer_state_size(const nn_hparams *h, size_t n);
/* If the L2 norm of grad(n), summed in double in index order (so the same
 * bits at any thread count), exceeds max_norm, scales grad by
 * max_norm / norm (tf.clip_by_global_norm). Returns the norm before. */
double nn_clip_grad_norm(float *grad, size_t n, float max_norm);

/* ---------------------------------------------------------- the model */

/* What generated code provides. All feature sizes are constants inside the
 * generated functions; only the batch size B is a run-time argument (the
 * last batch of an epoch is short, --batch overrides the .model's). */
typedef struct {
    const char *name;        /* model name, also the C prefix */
    const char *source;      /* .model file it was generated from */
    uint64_t fingerprint;    /* hash of the architecture: checkpoints of any other refuse to load */
    int in_h, in_w, in_c;    /* input image shape (1x1xN for a flat input) */
    int in_size;             /* in_h * in_w * in_c */
    int out_size;            /* classes (labels are 0 .. out_size-1), or regression targets */
    nn_loss loss;
    int out_is_prob;         /* infer() ends in softmax: its output is probabilities, not logits */
    size_t n_param;          /* floats in the flat parameter (and gradient) buffer */
    size_t n_state;          /* floats of non-trained state kept in checkpoints (batchnorm) */
    size_t work_per_sample;  /* floats of training workspace per sample */
    size_t work_fixed;       /* floats of training workspace independent of B */
    size_t work_per_thread;  /* and per thread of the pool, nn_threads(): conv2d scratch */
    nn_hparams defaults;     /* from the .model's training statements */
    const char *const *summary; /* the lines `nnc --summary` prints, NULL-terminated
                                   (lines, not one string: C11 caps literals at 4095 chars) */
    /* Fill param and state: a pure function of the seed. */
    void (*init)(float *param, float *state, uint64_t seed);
    /* Forward (dropout on, batchnorm on batch statistics) and backward on
     * x(B,in_size) with labels(B), or, for loss mse with regression data,
     * targets(B,out_size) (NULL otherwise: mse then compares with the
     * one-hot label); writes the output logits (B,out_size) to out, the
     * gradient of the mean loss to grad (overwritten), updates running
     * statistics in state; returns the mean loss. dropout_key seeds this
     * step's masks. */
    float (*train_step)(const float *param, float *grad, float *state, float *work,
                        const float *x, const int *labels, const float *targets, float *out,
                        int B, uint64_t dropout_key);
    /* Inference: no dropout code at all, batchnorm on running statistics.
     * work holds at least infer_work(B) floats. out(B,out_size) gets the
     * model's output (probabilities if it ends in softmax, else logits). */
    void (*infer)(const float *param, const float *state, float *work, const float *x,
                  float *out, int B);
    size_t (*infer_work)(int B);
} nn_model_desc;

/* The trainer's command line (train, eval, summary, --help): see
 * docs/trainer.md. Returns the process exit status. */
int nn_main(int argc, char **argv, const nn_model_desc *m);

#endif
