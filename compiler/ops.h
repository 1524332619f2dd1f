/* ops.h: the registry, one description per layer kind.
 *
 * Everything nnc knows about a kind of layer is one OpType, defined in its
 * own file compiler/op_KIND.c and listed once in compiler/ops.c:
 *   - syntax: the Rule rows of its statement(s) (arguments, options, ranges;
 *     bind.c checks them generically; name= and from= are every layer's);
 *   - meaning: a LayerFn that reads the bound arguments into the Op and
 *     infers the output shape from the input shapes (or reports why not);
 *   - parameters: their count (set by the LayerFn), Keras' fan-in/fan-out
 *     for a random init, or an init hook for fixed values (batchnorm);
 *   - identity: a stable code for the checkpoint fingerprint and Keras'
 *     default layer name and class for --summary;
 *   - planning: flags saying what its backward needs kept from the forward
 *     pass, whether it may run in place, and the floats of scratch, extras
 *     and batch-independent state it needs;
 *   - code: forward and backward hooks that print the kernel calls, given
 *     the buffers plan.c chose;
 *   - deployment (emit_deploy.c): the plain C99 function its inference
 *     calls, the constant arrays it needs from a checkpoint, and a hook
 *     that prints the call.
 * The planner (plan.c), the emitter (emit.c) and the summary (summary.c)
 * walk the graph and ask the registry; none of them names a kind. The
 * design note for adding a kind is docs/design.md.
 */
#ifndef OPS_H
#define OPS_H

#include "lower.h"

// ------------------------------------------------------------ the description

/* What the backward pass of an op reads that the forward pass produced */
enum {
    SAVES_INPUT = 1,  /* in[0]'s value (dense, conv2d, batchnorm) */
    SAVES_OUTPUT = 2, /* its own output (an activation's derivative) */
};

/* Properties the planner and the emitter act on */
enum {
    OT_ALIAS = 1,          /* the output is the input's buffer, forward and backward (flatten) */
    OT_TAKES_ACT = 2,      /* a GEMM (dense, conv2d) that applies an activation in its own pass */
    OT_ACTIVATION = 4,     /* an activation statement: foldable into an OT_TAKES_ACT producer */
    OT_DROPOUT = 8,        /* a dropout: fusable into a relu OT_TAKES_ACT producer; needs a
                            * mask key; the identity at inference */
    OT_FWD_IN_PLACE = 16,  /* the forward may write its output over in[0] (the kernel allows it) */
    OT_GRAD_IN_PLACE = 32, /* the backward may write in[0]'s gradient over dy */
    OT_GRAD_ADDS = 64,     /* the backward hook honours BwdArgs.acc itself (add, concat);
                            * others overwrite dx, and the emitter adds the result in */
    OT_INT8_KEEPS = 128,   /* int8: the output has in[0]'s scale and zero point (the pools:
                            * a maximum or a mean stays in its input's range) */
    OT_TRAINER_ACT = 256,  /* takes an elementwise activation (not softmax) in its own pass in
                            * the trainer's code (batchnorm); deployed code keeps it apart */
};

typedef struct Emit Emit; /* emit.c's state, for the hooks' emit_out */

/* The buffers of one forward call, as C expressions */
typedef struct {
    const char *y;        /* the output */
    const char *const *x; /* the inputs, n_in of them */
    const Shape *shapes;  /* their shapes */
    bool train;           /* the training step: batch statistics, argmax kept, dropout on */
    ActKind act;          /* the activation to apply (linear when the loss applies softmax) */
    const Op *drop;       /* a dropout to apply in the same pass (OT_TAKES_ACT, relu), or NULL */
    const char *extra;    /* the op's extra buffer (NULL at inference) */
    const char *fixed;    /* its batch-independent buffer (training) */
    const char *key;      /* the dropout mask key: this op's, or drop's */
} FwdArgs;

/* The buffers of one backward call. dy may be overwritten (nothing reads it
 * after). dx[k] is "NULL" where no gradient is wanted; for types without
 * OT_GRAD_ADDS it is always overwritten. */
typedef struct {
    const char *dy;
    const char *const *dx;
    const signed char *acc; /* OT_GRAD_ADDS: per input, 0 overwrite, 1 add (-1: dx is NULL) */
    const char *y;          /* the saved output, when SAVES_OUTPUT */
    const char *const *x;   /* the saved inputs, when SAVES_INPUT (x[0]) */
    const Shape *shapes;    /* the inputs' shapes */
    ActKind act;            /* the activation whose derivative applies (linear if none) */
    const Op *drop;         /* the dropout fused into its forward pass, or NULL */
    bool in_place;          /* dx[0] is dy's buffer (OT_GRAD_IN_PLACE) */
    const char *extra, *fixed, *key;
} BwdArgs;

/* Parameters several rules share */
#define ACT_ARG  {"activation", T_WORD, R_ANY, ACTS, NULL}
#define INIT_OPT {"init", T_WORD, R_ANY, INITS, NULL}
#define BIAS_OPT {"bias", T_WORD, R_ANY, BOOLS, NULL}
#define STRIDE   {"stride", T_INT, R_COUNT, NULL, NULL}
#define KERNEL   {"kernel", T_KERNEL, R_ANY, NULL, NULL}

typedef struct Deploy Deploy; /* emit_deploy.c's state, for the deploy hooks */

/* The buffers of one inference call in deployed code, as C expressions */
typedef struct {
    const char *y;        /* the output */
    const char *const *x; /* the inputs, n_in of them */
    const Shape *shapes;  /* their shapes */
    const char *name;     /* the op's arrays are name_w, name_b, ... (deploy_array) */
} DeployArgs;

/* An int8 value's quantisation: real = scale (q - zp), q in [-128, 127] */
typedef struct {
    float scale;
    int zp;
} QParam;

typedef struct Quant Quant; /* emit_int8.c's state, for the int8 hooks */

/* The buffers of one int8 inference call, as C expressions, and the
 * quantisation of each */
typedef struct {
    const char *y;        /* the output (int8_t *) */
    const char *const *x; /* the inputs, n_in of them */
    const Shape *shapes;  /* their shapes */
    const QParam *qx;     /* their quantisation */
    QParam qy;            /* the output's, after the activation */
    QParam pre;           /* a dense/conv2d's output before its fused activation */
    const char *name;     /* the op's arrays are name_w, name_b, ... */
    const float *param, *state; /* the checkpoint's floats */
    const float *w, *b;   /* a dense/conv2d's weights and bias (NULL: none) to quantise:
                           * the checkpoint's, or with a batchnorm folded in */
    bool last;            /* the model's last op: a softmax of it runs in float, in predict */
} Int8Args;

/* One float inference call for calibration (calibrate.c), batch 1 */
typedef struct {
    float *y;                   /* the output, before the fused activation */
    const float *const *x;      /* the inputs */
    const Shape *shapes;        /* their shapes */
    const float *param, *state; /* the checkpoint's floats */
} CalibArgs;

typedef void LayerFn(Ctx *c, Op *op, const Value *pos, const Value *opt);

struct OpType {
    int code;                 /* its index in op_types (ops.c); part of the fingerprint,
                               * so never reused: ORDER OP */
    const char *keras_name;   /* dense: dense, dense_1, ... */
    const char *keras_class;  /* Dense */
    const Rule *rules;        /* its statement(s): several for the activations */
    int n_rules;
    LayerFn *lower;           /* arguments and input shapes -> the Op's fields and output shape */
    unsigned flags;           /* OT_* */
    /* What its backward reads from the forward pass (SAVES_*), given the
     * activation it applies; NULL: nothing */
    unsigned (*saves)(const Op *op, ActKind act);
    /* Random weights: Keras' fan-in and fan-out (glorot, he) */
    void (*fans)(const Op *op, long *fan_in, long *fan_out);
    /* Parameters with fixed initial values (batchnorm): prints their init */
    void (*init)(Emit *e, const Op *op);
    const char *(*weights_doc)(const Op *op); /* the weights' shape, for a comment */
    /* Floats: per sample kept from forward to backward besides the values,
     * batch-independent kept likewise, per-thread scratch, shard partials */
    size_t (*extra)(const Op *op);
    size_t (*fixed)(const Op *op);
    size_t (*scratch)(const Op *op);
    size_t (*partials)(const Op *op);
    void (*forward)(Emit *e, const Op *op, const FwdArgs *a);
    void (*backward)(Emit *e, const Op *op, const BwdArgs *a); /* NULL with OT_ALIAS */
    /* Deployed inference (emit_deploy.c), required but for the identities
     * there (OT_ALIAS, OT_DROPOUT): the static C99 function(s) its calls use,
     * written once per model; the constant arrays it needs (NULL: its
     * weights and bias as they are); the call. */
    const char *deploy_kernel;
    void (*deploy_consts)(Deploy *d, const Op *op, const char *name, const float *param,
                          const float *state);
    void (*deploy)(Deploy *d, const Op *op, const DeployArgs *a);
    /* int8 inference (emit_int8.c), required like the deploy hooks: the
     * float inference of one sample before the fused activation, which
     * calibration runs (calibrate.c); the int8 kernel, written once per
     * model (shared kernels: the same string); its arrays and call. */
    void (*calib)(const Op *op, const CalibArgs *a);
    const char *int8_kernel;
    void (*int8)(Quant *q, const Op *op, const Int8Args *a);
    /* A kind that int8 folds into the linear dense/conv2d before it
     * (batchnorm): rescales that layer's w(OC, taps) and sets its b(OC) in
     * place, from its own parameters */
    void (*int8_fold)(const Op *op, float *w, float *b, size_t taps, const float *param,
                      const float *state);
};

// ------------------------------------------------------------ ops.c: the registry

extern const OpType *const op_types[];
extern const int n_op_types;

// ------------------------------------------------------------ emit.c: for the hooks

void emit_out(Emit *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *c_float(float v);   /* a literal that reads back as exactly v */
const char *c_act(ActKind act); /* NN_RELU */
/* Rows of a batch for per-feature kernels over a value of shape s: B, or
 * b * H * W (b is the size_t batch every generated function declares) */
const char *c_rows(Shape s);
const char *c_bias(const Op *op, const char *buf); /* buf + P_Ln_B, or NULL */

// ------------------------------------------------------------ emit_deploy.c: for the hooks

void deploy_out(Deploy *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* static const float NAME[n] = {...}, exact hex-float literals; counted
 * in NAME_WEIGHT_BYTES */
void deploy_array(Deploy *d, const char *name, const float *v, size_t n, const char *doc);
/* The call y = act(x) over a value of shape s (nothing for linear in
 * place) */
void deploy_act(Deploy *d, const char *y, const char *x, Shape s, ActKind act, float alpha);

/* The file's own exp (exp_), and the body of a row's softmax over y, x, n,
 * for the int8 file's final softmax */
extern const char deploy_exp_text[];
const char *deploy_softmax_code(void);

// ------------------------------------------------------------ emit_int8.c: for the int8 hooks

void int8_out(Quant *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* static const int8_t / int32_t NAME[n]; counted in NAME_WEIGHT_BYTES */
void int8_array8(Quant *q, const char *name, const int8_t *v, size_t n, const char *doc);
void int8_array32(Quant *q, const char *name, const int32_t *v, size_t n, const char *doc);
/* real = m 2^(shift - 31), m in [2^30, 2^31) (negative for a negative real),
 * or m = 0 when real rounds to nothing: TFLite's QuantizeMultiplier */
void quantize_multiplier(double real, int32_t *m, int *shift);
int quantize_value(QParam p, double v); /* round(v / scale) + zp, clamped to int8 */
/* A dense/conv2d's arrays: name_w, per-channel symmetric int8 W(OC, taps)
 * in conv8's order (blocks of four channels, the four weights of a tap side
 * by side);
 * name_b, the int32 bias at scale in.scale * w_scale[oc] minus in.zp sum(w);
 * name_m, name_s, the requantisation in.scale * w_scale[oc] / out.scale */
void int8_gemm_consts(Quant *q, const char *name, const float *w, const float *bias, int OC,
                      size_t taps, QParam in, QParam out);
/* After a dense/conv2d: its fused activation in place from a->pre to a->qy,
 * a lookup table or an int8 softmax (relu and linear need none: the
 * requantisation's clamp; nor the last op's softmax) */
void int8_fused_act(Quant *q, const Op *op, const Int8Args *a);
/* The call y = table(x) over n values, the table from in to out through act */
void int8_lut(Quant *q, const Op *op, const char *y, const char *x, size_t n, QParam in,
              QParam out);
/* The call y = softmax(x) over op's rows, x of quantisation in, y of
 * int8_softmax_q */
void int8_softmax(Quant *q, const Op *op, const char *y, const char *x, QParam in);
extern const QParam int8_softmax_q;
/* The call of requant8 (emit_int8.c) writing x's cols channels at column at
 * of y's C, each y = off[c] + (x - zx) m[c] 2^s[c]; name_o, name_m, name_s
 * per channel when per_channel, else one of each */
void int8_requant_call(Quant *q, const char *y, int C, int at, const char *x, size_t rows,
                       int cols, int zx, const char *name, bool per_channel);
/* The int8 convolution (op_conv2d.c), which dense calls as the 1x1 case,
 * and its float twin for calibration: y(OH, OW, OC) from x(H, W, C) and
 * W(OC, K, K, C) at stride S, padding P, + b (NULL: none) */
extern const char conv8_kernel[];
void conv2d_float(float *y, const float *x, const float *W, const float *b, int H, int W_, int C,
                  int K, int S, int P, int OC, int OH, int OW);
/* Float activation of one value (not softmax), as the runtime computes it */
float act_value(ActKind act, float alpha, float x);

// ------------------------------------------------------------ names.c, shape.c: for the LayerFns

/* Reports that op's inputs do not fit together (add, concat): an error at
 * the argument naming input k (the keyword for the current value), then a
 * note at the statement that produces each input. */
void inputs_mismatch(const Ctx *c, const Op *op, int k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void set_out(Ctx *c, Op *op, Shape out);
bool fits(Ctx *c, const Op *op, const char *what, size_t n);
bool needs_image(Ctx *c, const Op *op);
bool valid_window(Ctx *c, const Op *op, const Arg *kernel, int *oh, int *ow);
void note_shape(const Ctx *c, int value); /* where the value's shape comes from */
/* The inputs' shapes are known (a lost statement upstream leaves them unknown) */
bool inputs_known(const Ctx *c, const Op *op);

#endif
