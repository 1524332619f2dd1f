/* plan.c: from the checked IR to the buffers the generated code uses.
 *
 * Consumes a Model from lower_program; produces (1) a fused copy in which an
 * activation statement right after a linear dense/conv2d becomes that
 * layer's activation, so each GEMM is followed by one bias+activation pass,
 * and (2) the per-sample layout of the training workspace, shared by the
 * emitter (offsets) and --summary (memory report), so the two never disagree.
 *
 * Training workspace, per sample, in this order:
 *   saved:   the output of every op that computes one (flatten and nothing
 *            else aliases its input), kept for the backward pass; maxpool
 *            argmax indices follow their op's output; a relu dense/conv2d
 *            right before a dropout computes both in one pass and keeps only
 *            the dropout's output (fuses_dropout);
 *   grad:    two ping-pong buffers for activation gradients, each as large
 *            as the largest activation (the backward of an op reads one and
 *            writes the other; elementwise backwards work in place);
 * Fixed (independent of the batch): each batchnorm's batch mean and inverse
 * standard deviation (2C floats), kept from forward to backward; then the
 * partial weight gradients of the batch's shards, as large as the largest
 * conv2d needs (its backward sums them in shard order, so that results do
 * not depend on the thread count).
 * Per thread of the runtime's pool: the conv2d kernels' scratch (one
 * image's im2col columns and a transposed W or dW), as large as the
 * largest conv2d needs; inference uses the same.
 */
#include "nnc.h"

#include <string.h>

const Model *fuse_activations(const Model *m) {
    Model *fused = arena_alloc(sizeof *fused);
    *fused = *m;
    fused->ops = arena_alloc(sizeof(Op) * (size_t)(m->n_ops ? m->n_ops : 1));
    int n = 0;
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        Op *prev = n > 0 ? &fused->ops[n - 1] : NULL;
        bool foldable =
            prev && (prev->kind == OP_DENSE || prev->kind == OP_CONV2D) && prev->act == ACT_LINEAR;
        if (op->kind == OP_ACT && foldable) {
            prev->act = op->act;
            prev->alpha = op->alpha;
            continue;
        }
        fused->ops[n] = *op;
        fused->ops[n].index = n + 1;
        n++;
    }
    fused->n_ops = n;
    return fused;
}

static size_t max3(size_t a, size_t b, size_t c) {
    size_t m = a > b ? a : b;
    return m > c ? m : c;
}

/* nn_conv2d_scratch in runtime/nnrt.h: the same formula */
static size_t conv_scratch(const Op *op) {
    const size_t K = (size_t)op->kernel, S = (size_t)op->stride, C = (size_t)op->in.c;
    const size_t OH = (size_t)op->out.h, OW = (size_t)op->out.w, OC = (size_t)op->units;
    const size_t cols = OH * OW * K * K * C;
    const size_t padded = ((OH - 1) * S + K) * ((OW - 1) * S + K) * C;
    const size_t dy = (OH + 2 * (K - 1)) * (OW + 2 * (K - 1)) * OC;
    return max3(cols, padded, dy) + OC * K * K * C;
}

/* nn_conv2d_partials in runtime/nnrt.h: the same formula, for at most
 * NN_MAX_BLOCKS = 12 shards */
static size_t conv_partials(const Op *op) {
    const size_t K = (size_t)op->kernel, C = (size_t)op->in.c, OC = (size_t)op->units;
    return (12 - 1) * (OC * K * K * C + OC);
}

bool fuses_dropout(const Model *fused, int i) {
    const Op *op = &fused->ops[i];
    return (op->kind == OP_DENSE || op->kind == OP_CONV2D) && op->act == ACT_RELU &&
           i + 1 < fused->n_ops && fused->ops[i + 1].kind == OP_DROPOUT &&
           fused->ops[i + 1].rate > 0;
}

void plan_slots(const Model *fused, OpSlot *slots) {
    size_t saved = 0;
    for (int i = 0; i < fused->n_ops; i++) {
        const Op *op = &fused->ops[i];
        OpSlot *s = &slots[i];
        memset(s, 0, sizeof *s);
        s->aliases_input = op->kind == OP_FLATTEN;
        s->into_next = fuses_dropout(fused, i);
        if (s->aliases_input || s->into_next)
            continue;
        s->out = saved;
        if (i > 0 && slots[i - 1].into_next)
            slots[i - 1].out = saved;
        saved += shape_size(op->out);
        if (op->kind == OP_MAXPOOL) {
            s->argmax = saved; /* int32 indices, one float-sized slot each */
            saved += shape_size(op->out);
        }
    }
}

WorkPlan plan_work(const Model *fused) {
    WorkPlan p = {0};
    size_t largest = shape_size(fused->input), cols = 0, partials = 0;
    for (int i = 0; i < fused->n_ops; i++) {
        const Op *op = &fused->ops[i];
        if (op->kind != OP_FLATTEN && !fuses_dropout(fused, i))
            p.saved_per_sample += shape_size(op->out) * (op->kind == OP_MAXPOOL ? 2 : 1);
        if (shape_size(op->out) > largest)
            largest = shape_size(op->out);
        if (op->kind == OP_CONV2D && conv_scratch(op) > cols)
            cols = conv_scratch(op);
        if (op->kind == OP_CONV2D && conv_partials(op) > partials)
            partials = conv_partials(op);
        if (op->kind == OP_BATCHNORM)
            p.fixed += 2 * (size_t)op->out.c;
    }
    p.conv_partials = partials;
    p.fixed += partials;
    p.grad_per_sample = 2 * largest;
    p.scratch_per_thread = cols;
    p.infer_per_sample = 2 * largest;
    return p;
}

size_t optimizer_state_floats(const Train *t, size_t n) {
    if (t->optimizer == OPT_ADAM)
        return 2 * n;
    return t->momentum > 0 ? n : 0;
}
