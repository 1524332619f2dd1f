/* nnc.h: the one internal header of the compiler, sectioned by stage.
 *
 * Pipeline (each stage consumes the whole output of the previous one):
 *   source.c   file or stdin  -> Source (bytes, never NUL-terminated by the user)
 *   lexer.l    Source         -> tokens with byte-offset locations
 *   parser.y   tokens         -> AST: a list of Stmt (keyword + arguments)
 *   lower.c    AST            -> Model: typed Ops with shapes, checked
 *   summary.c  Model          -> the Keras-like --summary text
 *   emit.c     Model          -> NAME.c and NAME.h for libnnrt
 *   emit_deploy.c Model, checkpoint -> dependency-free inference C
 *   output.c   NAME.c, NAME.h -> the two files, written all or nothing
 *   main.c     the driver: options, the pipeline, exit status
 * Every object lives in the arena and dies at exit (no frees in the compiler).
 */
#ifndef NNC_H
#define NNC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// ------------------------------------------------------------ arena.c

void *arena_alloc(size_t size); /* zeroed; exits with a message if memory runs out */
void arena_free_all(void);      /* frees every object: a new run (the fuzz harness) */
char *arena_strndup(const char *s, size_t n);
char *arena_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// ------------------------------------------------------------ source.c, diag.c

typedef struct {
    int start, end; /* byte offsets into Source.text, end exclusive */
} Loc;

typedef struct {
    const char *path; /* as given on the command line; "<stdin>" for - */
    const char *text; /* the bytes read, with a NUL appended (text may contain NULs) */
    int len;          /* bytes in text, not counting the appended NUL */
} Source;

/* Reads the file ("-" is standard input); NULL with a message on failure. */
Source *source_load(const char *path);

/* GCC-style diagnostics: "PATH:LINE:COL: error: MSG", the source line and a
 * caret under loc. Errors are counted; one more than MAX_ERRORS is not
 * reported but says so, and from then on error_limit_reached() is true:
 * the stages stop early and report nothing more. */
#define MAX_ERRORS 20
void error_at(const Source *src, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void warn_at(const Source *src, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void note_at(const Source *src, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int error_count(void);
bool error_limit_reached(void);
void diag_reset(void); /* forgets the errors and the line index: a new run (the fuzz harness) */
int line_of(const Source *src, int offset); /* 1-based */
/* s[0..n) made safe to quote inside a message: at most 40 bytes, "..." where
 * cut, unprintable bytes as '?'. Arena-owned. */
const char *clip_text(const char *s, size_t n);
/* n with thousands separators, as Keras prints counts: 1,199,882 */
const char *thousands(size_t n);

// ------------------------------------------------------------ ast.c (built by parser.y)

typedef enum {
    ARG_NUMBER, /* 784, 0.5, .5, 1e-3 */
    ARG_WORD,   /* relu, true, glorot */
    ARG_DIMS,   /* 28x28x1, 3x3 */
} ArgKind;

typedef struct Arg Arg;
struct Arg {
    ArgKind kind;
    Loc loc;          /* the value */
    const char *key;  /* "lr" in lr=0.1; NULL for a positional argument */
    Loc key_loc;      /* the key, when there is one */
    const char *text; /* the value's source text */
    double num;       /* ARG_NUMBER */
    bool is_int;      /* ARG_NUMBER written without '.', 'e' */
    int dims[3];      /* ARG_DIMS */
    int n_dims;       /* ARG_DIMS: 2 or 3 */
    Arg *next;
};

typedef struct Stmt Stmt;
struct Stmt {
    const char *keyword; /* first word of the statement */
    Loc kw_loc;
    Loc loc;             /* whole statement, keyword to last argument */
    Arg *args;           /* in source order */
    bool broken;         /* lost to a syntax error: keyword is its first word ("" if
                          * none), args is NULL; later passes know something was there */
    Stmt *next;
};

Stmt *new_stmt(const Source *src, Loc kw_loc, Arg *args);
Stmt *new_broken_stmt(const Source *src, Loc loc); /* loc: what the parser skipped */
Arg *new_number_arg(const Source *src, Loc loc);
Arg *new_word_arg(const Source *src, Loc loc);
Arg *new_dims_arg(const Source *src, Loc loc);
Arg *with_key(const Source *src, Arg *value, Loc key_loc);
void dump_ast(FILE *out, const Stmt *stmts);

// ------------------------------------------------------------ parse.c (lexer.l + parser.y)

/* Parses the whole source, reporting every syntax error; returns the
 * statements that parsed (the caller checks error_count()). */
Stmt *parse_source(const Source *src);

// ------------------------------------------------------------ lower.c: the IR

/* ORDER ACT: keep in step with nn_act in runtime/nnrt.h */
typedef enum { ACT_LINEAR, ACT_RELU, ACT_SIGMOID, ACT_TANH, ACT_SOFTMAX, ACT_LEAKY_RELU } ActKind;
typedef enum { INIT_GLOROT, INIT_HE, INIT_ZEROS } InitKind; /* default: glorot, as Keras */
typedef enum { LOSS_CROSS_ENTROPY, LOSS_MSE } LossKind;
typedef enum { OPT_SGD, OPT_ADAM } OptKind;

typedef struct {
    int rank;    /* 1: a vector of c features (h = w = 1); 3: an h x w x c image */
    int h, w, c;
} Shape;

/* One layer statement, a node of the graph. A value is what an op (or the
 * input) produces; value ids: 0 is the model's input, i + 1 the output of
 * ops[i]. Ops are in execution order, so an op reads only values of lower
 * ids (the graph is acyclic by construction: a name can only be used after
 * its definition). What the op computes, and everything else that depends
 * on its kind, is its type's description (compiler/ops.h). */
typedef struct OpType OpType;
typedef struct {
    const OpType *type;
    int index;          /* 1-based position among the ops: names L1, L2, ... */
    const char *name;   /* Keras' default name, as --summary prints it (dense, dense_1):
                         * the layer's identity, which keys its init stream */
    const Stmt *stmt;   /* where it came from: location, source line for comments */
    int *in, n_in;      /* the value ids it reads, in order; in[0] is the main input */
    Shape in_shape;     /* the shape of in[0] (rank 0: unknown) */
    Shape out;          /* the shape of its output value (rank 0: unknown) */
    ActKind act;        /* dense/conv2d fused activation, or an activation op's */
    float alpha;        /* leaky_relu slope */
    int units;          /* dense: OUT; conv2d: OC */
    int kernel, stride; /* conv2d, pools: K, S */
    int pad;            /* conv2d: zero padding on top/left (0 for valid) */
    bool same;          /* conv2d padding=same */
    InitKind init;
    bool bias;
    float rate;         /* dropout p */
    float momentum, eps; /* batchnorm */
    size_t w_off, n_w;  /* weights (dense, conv2d) or [gamma, beta] (batchnorm) in the param buffer */
    size_t b_off, n_b;  /* bias; n_b = 0 without one */
    size_t s_off, n_s;  /* batchnorm running [mean, var] in the state buffer */
} Op;

/* ORDER: SCHEDULES (lower.c), nn_schedule_kind (runtime/nnrt.h) */
typedef enum { SCHED_NONE, SCHED_STEP, SCHED_COSINE, SCHED_PLATEAU } SchedKind;

typedef struct {
    LossKind loss;
    OptKind optimizer;
    float lr, momentum, beta1, beta2, eps, weight_decay; /* the trainer's type */
    bool nesterov;
    long batch, epochs;
    uint64_t seed;
    SchedKind schedule;              /* the rate per step (docs/trainer.md) */
    long every, warmup, patience;    /* step, cosine, plateau: epochs */
    float factor, min_lr;            /* step and plateau; cosine and plateau */
    float clip_norm;                 /* 0: no clipping */
} Train;

typedef struct {
    const char *name;   /* C-safe identifier, the prefix of every generated symbol */
    const char *source_path;
    const Source *src;
    Shape input;
    Op *ops;            /* in execution order; the last one's value is the output */
    int n_ops;
    Train train;        /* defaults filled in where the .model is silent */
    size_t n_param;     /* floats: weights, biases, gamma/beta */
    size_t n_state;     /* floats: batchnorm running statistics */
} Model;

/* Lowers, infers shapes and checks; reports every problem it finds. Returns
 * NULL if there was an error. Warnings do not stop it. */
Model *lower_program(const Source *src, const Stmt *stmts);
const char *act_name(ActKind act);
size_t shape_size(Shape s);
/* The shape of value v (0: the input, i + 1: ops[i]'s output) */
Shape value_shape(const Model *m, int v);
/* 1 if some op reads more than one value: a graph that is not a chain */
bool has_joins(const Model *m);

// ------------------------------------------------------------ plan.c: buffers of the generated code

/* A copy of m with every activation op folded into the dense/conv2d of
 * linear activation that produces its input, when nothing else reads that
 * value (one bias+activation pass per GEMM), and for the trainer's code
 * (trainer) an elementwise one into a batchnorm likewise; value ids
 * renumbered. */
const Model *fuse_activations(const Model *m, bool trainer);

/* Where a value lives in one schedule (the training step or inference) */
typedef struct {
    int root;   /* the value whose buffer it is: itself, or the value an alias op
                 * (flatten; dropout at inference) passes on; 0 is x, outside the
                 * workspace. Training gradients: -1 when none is needed */
    size_t off; /* the root's per-sample offset in the workspace */
} Slot;

/* What the training step does for one op of the fused model */
typedef struct {
    bool alias;       /* its output is its input's buffer, and so is its gradient:
                       * flatten, a softmax left to the loss */
    int fused_into;   /* a dropout computed in the pass of the relu dense/conv2d
                       * that produces its input: that op's index; else -1 */
    int fuses;        /* the reverse: the dropout this op computes too, or -1 */
    bool backward;    /* its backward pass runs (its output's gradient is needed) */
    bool zero_grads;  /* it has parameters but nothing it computes reaches the loss */
    signed char *acc; /* per input: -1 no gradient wanted, 0 the first gradient
                       * written into the value (overwrites), 1 a later one (adds) */
    size_t tmp;       /* per-sample offset of the buffer its kernel writes an input's
                       * gradient to before it is added in; SIZE_MAX if none */
    size_t extra;     /* per-sample offset of what its backward needs beyond the
                       * values (maxpool's argmax) */
    size_t fixed;     /* offset of its batch-independent floats (batchnorm statistics) */
} OpPlan;

/* The workspace of the fused model, in floats, shared by the emitter
 * (offsets) and --summary (memory), so the two never disagree. */
typedef struct {
    Slot *act, *grad;          /* training, per value */
    OpPlan *op;                /* training, per op */
    Slot *infer;               /* inference, per value */
    size_t per_sample;         /* training: the peak of live values, gradients and extras */
    size_t fixed;              /* batchnorm batch statistics, then conv_partials */
    size_t conv_partials;      /* conv2d weight gradients of the batch's shards
                                  (nn_conv2d_partials), training only */
    size_t scratch_per_thread; /* conv2d scratch (nn_conv2d_scratch), training and inference */
    size_t infer_per_sample;   /* inference: the peak of live values */
} Plan;
const Plan *plan_model(const Model *fused);
/* Floats of optimizer state for n parameters (adam 2n, sgd+momentum n, sgd 0) */
size_t optimizer_state_floats(const Train *t, size_t n);

// ------------------------------------------------------------ summary.c

/* Keras-like summary: layers, output shapes, parameter counts, totals, and
 * the memory training needs at the model's batch size. */
char *format_summary(const Model *m);

// ------------------------------------------------------------ emit.c

/* Writes the trainer's C to c_path and its header to h_path (write_files);
 * returns 0, or -1 after a message. */
int emit_model(const Model *m, const char *c_path, const char *h_path);
/* Of a model as fuse_activations(written, false) gives it, so that the
 * trainer and deployed code agree on a checkpoint */
uint64_t model_fingerprint(const Model *m);
/* s[0..n) made safe inside a C comment; arena-owned */
const char *comment_text(const char *s, size_t n);
const char *header_guard(const char *h_name); /* NNC_NAME_H for name.h */

// ------------------------------------------------------------ emit_deploy.c

/* Writes the dependency-free inference C of m with the weights of the
 * checkpoint ckpt (docs/deploy.md) to c_path and its header to h_path
 * (write_files); returns 0, or -1 after a message (a checkpoint of another
 * model or architecture is refused with the trainer's words). */
int emit_deploy(const Model *m, const char *ckpt, const char *c_path, const char *h_path);
/* Bytes of the deployed code's arena: the most inference values live at
 * once, batch 1 */
size_t deploy_arena_bytes(const Plan *p);
/* What the deployed files share with emit_int8.c: an op that inference
 * passes through unchanged (flatten, dropout); the name in capitals
 * (fashion_mlp -> FASHION_MLP); the source line of op as a comment; the
 * checkpoint's floats, refused as the trainer refuses them (0, or -1 after
 * a message) */
bool deploy_identity(const Op *op);
const char *macro_prefix(const char *name);
void deploy_comment(FILE *out, const Model *m, const char *file, const Op *op);
/* What deploy keeps of a checkpoint's data meta (docs/trainer.md, "Data meta") */
typedef struct {
    const float *mean, *std;       /* (input size): --standardize's statistics, or NULL */
    int n_classes;                 /* the class names' count, or 0 */
    const char *const *class_names; /* (n_classes), class i at i */
} DeployMeta;
int deploy_load(const Model *m, const char *path, float **param, float **state,
                DeployMeta *meta);
/* static const float name[n] = { hex floats }: exact */
void deploy_float_array(FILE *out, const char *name, const float *v, size_t n, const char *doc);
/* The input's standardization, x' = (x - mean) / std, as the trainer computes
 * it (runtime/data.c), as a C expression of input[i], over the arrays
 * NAME_mean and NAME_std that deploy_stats_arrays writes */
const char *deploy_standardized(const Model *m);
size_t deploy_stats_arrays(FILE *out, const Model *m, const DeployMeta *meta);
/* NAME.h: the API's macros and functions; kind says what the arena is */
void deploy_header(FILE *out, const Model *m, const char *file, const char *guard,
                   size_t arena_bytes, size_t weight_bytes, const char *kind,
                   const DeployMeta *meta);

// ------------------------------------------------------------ emit_int8.c, calibrate.c

/* Writes the int8 inference C (docs/deploy.md) of m with the weights of
 * ckpt, calibrated on the first n training images of data_dir; as
 * emit_deploy */
int emit_int8(const Model *m, const char *ckpt, const char *data_dir, long n, const char *c_path,
              const char *h_path);
/* A value's range over the calibration images */
typedef struct {
    float lo, hi;
} ValRange;
/* Runs the fused model m in float on the first n images of
 * DIR/train-images-idx3-ubyte.gz (pixel / 255, as the trainer feeds them,
 * standardized as the trainer does if meta has statistics) and records
 * each value's range in post[0 .. n_ops] (0: the input), and each op's
 * output before its activation in pre[1 .. n_ops]; 0, or -1 after a
 * message */
int calibrate(const Model *m, const float *param, const float *state, const char *dir, long n,
              const DeployMeta *meta, ValRange *post, ValRange *pre);

// ------------------------------------------------------------ output.c

typedef struct {
    const char *path;
    const char *data;
    size_t len;
} OutFile;
/* Writes all n files, with the mode new files get under the umask, or none
 * of them (every target as it was); returns 0, or -1 after one message
 * naming the file that could not be written. */
int write_files(const OutFile *files, int n);
/* write_files for texts rendered into malloc'd memory (open_memstream),
 * data NULL where that ran out of memory; frees them */
int write_rendered(OutFile *files, int n);
const char *base_name(const char *path); /* what follows the last '/' */

// ------------------------------------------------------------ build.c

/* nnc --build FILE.model -o PROG: the whole command line; returns the exit status */
int build_main(int argc, char **argv);

#endif
