/* plan.c: from the checked graph to the buffers the generated code uses.
 *
 * Consumes a Model from lower_program; produces (1) a fused copy in which an
 * activation op whose input is a linear dense/conv2d's value, read by
 * nothing else, becomes that layer's activation (one bias+activation pass
 * per GEMM), and (2) the Plan of its workspace, shared by the emitter
 * (offsets) and --summary (memory report), so the two never disagree. It
 * asks each op's description (ops.h) what it needs; it never names a kind.
 *
 * The training step runs forward op 0 .. n-1 at times 0 .. n-1, the loss at
 * time n, and backward op i at time 2n - i. Every buffer gets a live range:
 *   - a value, from its producer to its last reader: a later op, the loss,
 *     or a backward pass that needs it saved (SAVES_INPUT, SAVES_OUTPUT);
 *   - a value's gradient, from the first backward pass that writes it (its
 *     last consumer's, or the loss) to its producer's backward pass;
 *   - an op's extra (maxpool's argmax) from its forward to its backward;
 *   - a temporary gradient, during one backward pass (below).
 * Alias ops (flatten; a softmax the loss applies; a dropout computed in its
 * relu producer's pass) have no buffer: their value and gradient are their
 * input's. An op allowed to work in place (OT_FWD_IN_PLACE) writes its
 * output over its input when that input's range ends at the op, and its
 * input's gradient over dy (OT_GRAD_IN_PLACE) when it is that gradient's
 * first writer: the two buffers become one. The buffers are then packed
 * into one workspace: each at the lowest offset free during its range, in
 * two orders (largest first; earliest first), keeping the smaller peak.
 *
 * Fan-out: a value read by several ops receives one gradient from each. The
 * first backward pass to run (the last reader's) overwrites the gradient
 * buffer, the later ones add to it: no pass zeroes it first, and each sum
 * has a fixed order (readers in reverse, inputs in order), so the result
 * does not depend on the thread count. Kernels that only overwrite write
 * into a temporary buffer (or dy itself, when they may work in place),
 * which nn_grad_into then adds in; add and concat add themselves.
 *
 * Inference is the same forward schedule without the backward: values live
 * from producer to last reader, dropout is an alias too, the output is
 * written to `out` directly. Both workspaces are per sample; besides them:
 * each op's batch-independent floats (batchnorm's batch statistics, from
 * forward to backward), the partial weight gradients of the batch's shards
 * as large as the largest conv2d needs (summed in shard order, so that
 * results do not depend on the thread count), and per thread of the pool
 * the largest scratch an op needs (conv2d's im2col columns), training and
 * inference alike.
 */
#include "ops.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* An activation op the producer of its input can apply in its own pass */
static bool takes(const Op *prev, const Op *act, bool trainer) {
    if (prev->act != ACT_LINEAR)
        return false;
    if (prev->type->flags & OT_TAKES_ACT)
        return true;
    return trainer && (prev->type->flags & OT_TRAINER_ACT) && act->act != ACT_SOFTMAX;
}

const Model *fuse_activations(const Model *m, bool trainer) {
    Model *fused = arena_alloc(sizeof *fused);
    *fused = *m;
    fused->ops = arena_alloc(sizeof(Op) * (size_t)(m->n_ops ? m->n_ops : 1));
    int *uses = arena_alloc(sizeof *uses * (size_t)(m->n_ops + 1));
    int *map = arena_alloc(sizeof *map * (size_t)(m->n_ops + 1)); /* old value -> new */
    for (int i = 0; i < m->n_ops; i++)
        for (int k = 0; k < m->ops[i].n_in; k++)
            uses[m->ops[i].in[k]]++;
    int n = 0;
    for (int i = 0; i < m->n_ops; i++) {
        const Op *op = &m->ops[i];
        int src = op->in[0];
        Op *prev = src > 0 ? &fused->ops[map[src] - 1] : NULL;
        if ((op->type->flags & OT_ACTIVATION) && prev && takes(prev, op, trainer) &&
            uses[src] == 1) {
            prev->act = op->act;
            prev->alpha = op->alpha;
            map[i + 1] = map[src];
            continue;
        }
        Op *f = &fused->ops[n];
        *f = *op;
        f->index = n + 1;
        f->in = arena_alloc(sizeof *f->in * (size_t)op->n_in);
        for (int k = 0; k < op->n_in; k++)
            f->in[k] = map[op->in[k]];
        map[i + 1] = ++n;
    }
    fused->n_ops = n;
    return fused;
}

// ------------------------------------------------------------ packing

/* One buffer of the workspace: floats per sample, live over [start, end] */
typedef struct {
    size_t size, off;
    int start, end; /* start > end: never used */
    int group;      /* the buffer it shares storage with (union-find), itself if none */
} Buf;

static int group_of(Buf *b, int i) {
    while (b[i].group != i)
        i = b[i].group = b[b[i].group].group;
    return i;
}

/* Buffer i (and what shares it) is live at time t */
static void live_at(Buf *b, int i, int t) {
    i = group_of(b, i);
    if (b[i].start > t)
        b[i].start = t;
    if (b[i].end < t)
        b[i].end = t;
}

/* i and j become one buffer (an op in place): the union of their ranges */
static void share(Buf *b, int i, int j) {
    i = group_of(b, i), j = group_of(b, j);
    if (i == j)
        return;
    b[j].group = i;
    b[i].size = b[i].size > b[j].size ? b[i].size : b[j].size;
    b[i].start = b[i].start < b[j].start ? b[i].start : b[j].start;
    b[i].end = b[i].end > b[j].end ? b[i].end : b[j].end;
}

static bool overlap(const Buf *a, const Buf *b) {
    return a->start <= b->end && b->start <= a->end;
}

typedef struct {
    size_t lo, hi;
} Span;

static int by_lo(const void *pa, const void *pb) {
    const Span *a = pa, *b = pb;
    return (a->lo > b->lo) - (a->lo < b->lo);
}

/* Places the buffers of order[0..n) in that order, each at the lowest
 * offset where it overlaps no placed buffer live at the same time;
 * returns the peak. */
static size_t place(Buf *b, const int *order, int n) {
    size_t peak = 0;
    Span *taken = arena_alloc(sizeof *taken * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        Buf *x = &b[order[i]];
        int k = 0;
        for (int j = 0; j < i; j++) {
            const Buf *y = &b[order[j]];
            if (overlap(x, y))
                taken[k++] = (Span){y->off, y->off + y->size};
        }
        qsort(taken, (size_t)k, sizeof *taken, by_lo);
        size_t off = 0;
        for (int j = 0; j < k && taken[j].lo < off + x->size; j++)
            if (taken[j].hi > off)
                off = taken[j].hi;
        x->off = off;
        if (off + x->size > peak)
            peak = off + x->size;
    }
    return peak;
}

/* The two orders to try; ties by position, so the plan is a pure function
 * of the graph */
static const Buf *sort_base;
static int by_position(int a, int b) {
    return (a > b) - (a < b);
}
static int by_size(const void *pa, const void *pb) {
    int i = *(const int *)pa, j = *(const int *)pb;
    const Buf *a = &sort_base[i], *b = &sort_base[j];
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return by_position(i, j);
}
static int by_start(const void *pa, const void *pb) {
    int i = *(const int *)pa, j = *(const int *)pb;
    const Buf *a = &sort_base[i], *b = &sort_base[j];
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    return by_position(i, j);
}

/* Gives every used group root of b[0..n) its offset; returns the peak */
static size_t pack(Buf *b, int n) {
    int *order = arena_alloc(sizeof *order * (size_t)(n + 1)), k = 0;
    for (int i = 0; i < n; i++)
        if (group_of(b, i) == i && b[i].start <= b[i].end && b[i].size)
            order[k++] = i;
    size_t best = SIZE_MAX;
    size_t *offs = arena_alloc(sizeof *offs * (size_t)(n + 1));
    int (*orders[2])(const void *, const void *) = {by_size, by_start};
    for (int o = 0; o < 2; o++) {
        sort_base = b;
        qsort(order, (size_t)k, sizeof *order, orders[o]);
        size_t peak = place(b, order, k);
        if (peak < best) {
            best = peak;
            for (int i = 0; i < k; i++)
                offs[order[i]] = b[order[i]].off;
        }
    }
    for (int i = 0; i < k; i++)
        b[order[i]].off = offs[order[i]];
    return k ? best : 0;
}

static size_t offset_of(Buf *b, int i) {
    return b[group_of(b, i)].off;
}

// ------------------------------------------------------------ the training step

static bool fused_with_loss(const Model *m, int i) {
    const Op *op = &m->ops[i];
    return m->train.loss == LOSS_CROSS_ENTROPY && i == m->n_ops - 1 && op->act == ACT_SOFTMAX;
}

/* The values' buffers as the alias ops pass them on: root[v] */
static int *roots(const Model *m, const bool *alias) {
    int *root = arena_alloc(sizeof *root * (size_t)(m->n_ops + 1));
    for (int i = 0; i < m->n_ops; i++)
        root[i + 1] = alias[i] ? root[m->ops[i].in[0]] : i + 1;
    return root;
}

static void plan_training(const Model *m, Plan *p) {
    const int n = m->n_ops, V = n + 1;
    OpPlan *ops = p->op = arena_alloc(sizeof *ops * (size_t)n);
    bool *alias = arena_alloc(sizeof *alias * (size_t)n);
    int *uses = arena_alloc(sizeof *uses * (size_t)V);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < m->ops[i].n_in; k++)
            uses[m->ops[i].in[k]]++;
    for (int i = 0; i < n; i++) {
        const Op *op = &m->ops[i];
        ops[i].fused_into = ops[i].fuses = -1;
        ops[i].tmp = SIZE_MAX;
        int v = op->in[0];
        const Op *prev = v > 0 ? &m->ops[v - 1] : NULL;
        /* a dropout after a relu GEMM whose value only it reads: one pass */
        if ((op->type->flags & OT_DROPOUT) && op->rate > 0 && prev &&
            (prev->type->flags & OT_TAKES_ACT) && prev->act == ACT_RELU && uses[v] == 1) {
            ops[i].fused_into = v - 1;
            ops[v - 1].fuses = i;
        }
        alias[i] = ops[i].alias = (op->type->flags & OT_ALIAS) || ops[i].fused_into >= 0 ||
                                  ((op->type->flags & OT_ACTIVATION) && fused_with_loss(m, i));
    }
    int *root = roots(m, alias);

    /* Which gradients are wanted: a value's, if it reaches the loss and it
     * or something it depends on has parameters */
    bool *reaches = arena_alloc(sizeof *reaches * (size_t)V);
    bool *trained = arena_alloc(sizeof *trained * (size_t)V);
    reaches[n] = true;
    for (int i = n - 1; i >= 0; i--)
        for (int k = 0; k < m->ops[i].n_in && reaches[i + 1]; k++)
            reaches[m->ops[i].in[k]] = true;
    for (int i = 0; i < n; i++) {
        trained[i + 1] = m->ops[i].n_w > 0;
        for (int k = 0; k < m->ops[i].n_in; k++)
            trained[i + 1] |= trained[m->ops[i].in[k]];
    }
    bool *wanted = arena_alloc(sizeof *wanted * (size_t)V);
    for (int v = 0; v < V; v++)
        wanted[v] = reaches[v] && trained[v];
    for (int i = 0; i < n; i++) {
        ops[i].backward = wanted[i + 1] && !alias[i];
        ops[i].zero_grads = m->ops[i].n_w > 0 && !reaches[i + 1];
    }

    /* Buffers: [0, V) values, [V, 2V) their gradients, then per op its
     * extra and its temporary gradient */
    const int ACT = 0, GRAD = V, EXTRA = 2 * V, TMP = 2 * V + n, N = 2 * V + 2 * n;
    Buf *b = arena_alloc(sizeof *b * (size_t)N);
    for (int i = 0; i < N; i++)
        b[i] = (Buf){.start = INT_MAX, .end = INT_MIN, .group = i};
    for (int v = 1; v < V; v++)
        b[ACT + v].size = b[GRAD + v].size = shape_size(m->ops[v - 1].out);
    /* x is the caller's: its buffer is outside the workspace, its gradient unwanted */
    b[ACT + 0].size = b[GRAD + 0].size = 0;

    const int LOSS = n;
    for (int i = 0; i < n; i++) {
        const Op *op = &m->ops[i];
        const int back = 2 * n - i;
        live_at(b, ACT + root[i + 1], i);
        for (int k = 0; k < op->n_in && !alias[i]; k++)
            live_at(b, ACT + root[op->in[k]], i);
        if (!ops[i].backward)
            continue;
        ActKind act = fused_with_loss(m, i) ? ACT_LINEAR : op->act;
        unsigned saves = op->type->saves ? op->type->saves(op, act) : 0;
        if (saves & SAVES_INPUT)
            live_at(b, ACT + root[op->in[0]], back);
        if (saves & SAVES_OUTPUT) /* a fused dropout's output is this op's buffer */
            live_at(b, ACT + root[i + 1], back);
        if (op->type->extra) {
            b[EXTRA + i].size = op->type->extra(op);
            live_at(b, EXTRA + i, i);
            live_at(b, EXTRA + i, back);
        }
    }
    live_at(b, ACT + root[n], LOSS);

    /* Forward in place: the input's range ends here */
    for (int i = 0; i < n; i++) {
        int r = root[m->ops[i].in[0]];
        if (!alias[i] && (m->ops[i].type->flags & OT_FWD_IN_PLACE) && r > 0 &&
            b[ACT + r].end == i)
            share(b, ACT + r, ACT + i + 1);
    }

    /* Gradients, in the order the backward passes write them */
    bool *written = arena_alloc(sizeof *written * (size_t)V);
    if (wanted[n]) {
        written[root[n]] = true;
        live_at(b, GRAD + root[n], LOSS);
    }
    for (int i = n - 1; i >= 0; i--) {
        const Op *op = &m->ops[i];
        const int back = 2 * n - i;
        ops[i].acc = arena_alloc((size_t)op->n_in);
        if (!ops[i].backward) {
            memset(ops[i].acc, -1, (size_t)op->n_in);
            continue;
        }
        live_at(b, GRAD + root[i + 1], back); /* dy, read here */
        for (int k = 0; k < op->n_in; k++) {
            int g = root[op->in[k]];
            if (!wanted[op->in[k]]) {
                ops[i].acc[k] = -1;
                continue;
            }
            assert(g > 0); /* x's gradient is never wanted */
            ops[i].acc[k] = written[g];
            written[g] = true;
            live_at(b, GRAD + g, back);
        }
        unsigned f = op->type->flags;
        if ((f & OT_GRAD_IN_PLACE) && ops[i].acc[0] == 0)
            share(b, GRAD + root[i + 1], GRAD + root[op->in[0]]);
        else if (!(f & (OT_GRAD_IN_PLACE | OT_GRAD_ADDS)) && ops[i].acc[0] == 1) {
            assert(op->n_in == 1); /* kernels that overwrite have one input */
            b[TMP + i].size = shape_size(op->in_shape);
            live_at(b, TMP + i, back);
        }
    }
    p->per_sample = pack(b, N);

    p->act = arena_alloc(sizeof *p->act * (size_t)V);
    p->grad = arena_alloc(sizeof *p->grad * (size_t)V);
    for (int v = 0; v < V; v++) {
        p->act[v] = (Slot){root[v], offset_of(b, ACT + root[v])};
        int g = wanted[v] ? root[v] : -1;
        p->grad[v] = (Slot){g, g > 0 ? offset_of(b, GRAD + g) : 0};
    }
    for (int i = 0; i < n; i++) {
        if (b[EXTRA + i].size)
            ops[i].extra = offset_of(b, EXTRA + i);
        if (b[TMP + i].size)
            ops[i].tmp = offset_of(b, TMP + i);
    }
}

// ------------------------------------------------------------ inference

static void plan_inference(const Model *m, Plan *p) {
    const int n = m->n_ops, V = n + 1;
    bool *alias = arena_alloc(sizeof *alias * (size_t)n);
    for (int i = 0; i < n; i++)
        alias[i] = m->ops[i].type->flags & (OT_ALIAS | OT_DROPOUT);
    int *root = roots(m, alias);
    Buf *b = arena_alloc(sizeof *b * (size_t)V);
    for (int v = 0; v < V; v++)
        b[v] = (Buf){.size = v ? shape_size(m->ops[v - 1].out) : 0, .start = INT_MAX,
                     .end = INT_MIN, .group = v};
    for (int i = 0; i < n; i++) {
        live_at(b, root[i + 1], i);
        for (int k = 0; k < m->ops[i].n_in && !alias[i]; k++)
            live_at(b, root[m->ops[i].in[k]], i);
    }
    b[root[n]].size = 0; /* the output is written to out, never over */
    for (int i = 0; i < n; i++) {
        int r = root[m->ops[i].in[0]];
        if (!alias[i] && (m->ops[i].type->flags & OT_FWD_IN_PLACE) && r > 0 && r != root[n] &&
            b[r].end == i && root[i + 1] != root[n])
            share(b, r, i + 1);
    }
    p->infer_per_sample = pack(b, V);
    p->infer = arena_alloc(sizeof *p->infer * (size_t)V);
    for (int v = 0; v < V; v++)
        p->infer[v] = (Slot){root[v], offset_of(b, root[v])};
}

const Plan *plan_model(const Model *fused) {
    Plan *p = arena_alloc(sizeof *p);
    plan_training(fused, p);
    plan_inference(fused, p);
    for (int i = 0; i < fused->n_ops; i++) {
        const Op *op = &fused->ops[i];
        if (op->type->fixed) {
            p->op[i].fixed = p->fixed;
            p->fixed += op->type->fixed(op);
        }
        if (op->type->scratch && op->type->scratch(op) > p->scratch_per_thread)
            p->scratch_per_thread = op->type->scratch(op);
        if (op->type->partials && op->type->partials(op) > p->conv_partials)
            p->conv_partials = op->type->partials(op);
    }
    p->fixed += p->conv_partials; /* after the statistics */
    return p;
}

size_t optimizer_state_floats(const Train *t, size_t n) {
    if (t->optimizer == OPT_ADAM)
        return 2 * n;
    return t->momentum > 0 ? n : 0;
}
