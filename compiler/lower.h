/* lower.h: what the files of the semantic pass share (and the layer kinds'
 * files, through ops.h).
 *
 *   lower.c  the table of the other statements, the pass over the
 *            statements, the model and training statements, the
 *            whole-model checks
 *   bind.c   a statement's arguments checked against its table row and
 *            converted into Values; "did you mean" suggestions
 *   names.c  the graph's edges: name=, from= and the values add and concat
 *            name; unknown, duplicate and unused names
 *   shape.c  the helpers the layer kinds' shape inference shares
 *   op_*.c   the layer kinds (ops.h)
 */
#ifndef LOWER_H
#define LOWER_H

#include "nnc.h"

#include <limits.h>

/* Every tensor the runtime indexes, and their totals, must count at most
 * this many floats: kernel sizes are ints. */
#define MAX_FLOATS ((size_t)INT_MAX)
#define MAX_NAME 64       /* bytes of a model name; words longer get no suggestion */
#define LEAKY_ALPHA 0.01f /* PyTorch's default negative slope */

/* ORDER ACT: the index of each word is its ActKind. */
extern const char *const ACTS[];
/* ORDER: InitKind (nnc.h), PAD_*; BOOLS by truth value */
extern const char *const INITS[], *const BOOLS[], *const PADDINGS[];
enum { PAD_VALID, PAD_SAME };

typedef enum {
    T_INT,    /* an integer in [0, INT_MAX] (negatives are left to the range) */
    T_NUM,    /* a number that fits a float, and is not 0 only by rounding to one */
    T_SEED,   /* an integer in [0, 2^64) */
    T_WORD,   /* one of Param.words: the Value holds its index */
    T_NAME,   /* a word: the model name, judged by lower_model */
    T_SHAPE,  /* N (flat) or HxWxC */
    T_KERNEL, /* KxK, square */
    T_ID,     /* the name of a value: name=, from=, add's and concat's arguments */
} ArgType;

typedef enum {
    R_ANY,
    R_COUNT,    /* >= 1 */
    R_POSITIVE, /* > 0 */
    R_NONNEG,   /* >= 0 */
    R_FRACTION, /* in [0, 1) */
} Range;

typedef struct {
    const char *name; /* an option's key; what a positional argument is, for messages */
    ArgType type;
    Range range;
    const char *const *words; /* T_WORD: the allowed words */
    const char *only;         /* an option valid only when the first argument is this word */
    long max;                 /* T_INT: the largest value allowed; 0 for INT_MAX */
} Param;

typedef struct {
    const Arg *arg; /* NULL: not given */
    double num;     /* T_INT; T_NUM: the float the trainer will use */
    long n;         /* T_INT; T_KERNEL: K */
    uint64_t u;     /* T_SEED */
    int word;       /* T_WORD: index in Param.words */
    Shape shape;    /* T_SHAPE */
} Value;

typedef enum {
    C_ONCE,  /* model, input, training statements: at most once each */
    C_LAYER, /* an op, in order, after 'input' */
} StmtClass;

enum { MAX_POS = 3, MAX_OPT = 6 };

typedef struct Ctx Ctx;
typedef void LowerFn(Ctx *c, const Stmt *s, const Value *pos, const Value *opt);

/* One kind of statement. Every layer (C_LAYER) also takes name= and from=,
 * which names.c handles, as it does the arguments of a `refs` rule. */
typedef struct {
    const char *keyword;
    const char *alias; /* another spelling of the keyword */
    StmtClass cls;
    bool keeps_shape; /* a layer whose output shape is its input's, whatever its arguments */
    bool named;       /* a C_ONCE statement that takes name= (input) */
    bool refs;        /* its positional arguments are one or more value names (add, concat) */
    const char *usage;
    int n_required;     /* the first n_required positional arguments must be given */
    Param pos[MAX_POS]; /* positional arguments, in order; name NULL ends them */
    Param opt[MAX_OPT]; /* key=value options; name NULL ends them */
    LowerFn *lower;     /* a C_ONCE statement's; called only when the arguments bound
                         * without error (a layer's is its OpType's) */
} Rule;

/* A value's name (name=ID) */
typedef struct {
    const char *id;
    const Arg *arg; /* the name= that defined it */
    int value;      /* -1: the value's shape cannot be known */
} Name;

/* The state of the pass, threaded through every LowerFn. Value ids as in
 * nnc.h (0 the input, i + 1 ops[i]'s output); -1 is a value whose shape
 * cannot be known (after an error), which pauses the checks downstream. */
struct Ctx {
    const Source *src;
    Model *m;                 /* ops has room for one per statement */
    int cur;                  /* the current value: the previous layer's output */
    const Stmt **shape_from;  /* per value: the statement that gave its shape its form */
    bool *consumed;           /* per value: some statement reads it */
    Name *names;              /* name= definitions so far (names.c) */
    int n_names;
    bool lost_stmt;           /* a statement lost to a syntax error may have defined names */
    const Stmt *input;        /* the first 'input' statement, wherever it is */
    bool input_seen;          /* an 'input' statement has been lowered */
    bool order_reported;      /* a layer before 'input' was reported */
    const Stmt *loss;         /* the 'loss' statement, if any */
    bool oversized;           /* a tensor was too large: the totals would only repeat it */
    int *n_of_type;           /* layers of each OpType so far: Keras numbers them */
};

// ------------------------------------------------------------ bind.c

/* Checks s's arguments against r and converts them into pos and opt (one
 * Value per Param, arg NULL where absent). Reports each problem; false if
 * there was any. */
bool bind(const Ctx *c, const Rule *r, const Stmt *s, Value *pos, Value *opt);
/* name= and from= are handled by names.c; bind skips them where r takes them */
bool graph_option(const Rule *r, const Arg *a);
/* "; did you mean 'dense'?" when a candidate is close to word, else "" */
const char *did_you_mean(const char *word, const char *const *cands, int n_cands);
int word_index(const char *w, const char *const *words); /* -1 if absent */
const char *quote_arg(const Arg *a);                     /* clipped for a message */

// ------------------------------------------------------------ names.c

/* The inputs of layer statement s: from= (or the current value) and, for a
 * refs rule, the values it names; reports unknown names and names used
 * before their definition. *n gets the count; an unknown input is -1. */
int *resolve_inputs(Ctx *c, const Rule *r, const Stmt *s, int *n);
/* Defines s's name= (if any) as value v (-1: unknown); reports a
 * duplicate, and a name that is not an identifier. */
void define_name(Ctx *c, const Rule *r, const Stmt *s, int v);
/* Warns about each value nothing reads, but the model's output */
void warn_unused(const Ctx *c);

// ------------------------------------------------------------ shape.c

Shape flat_shape(int n);
Shape image_shape(int h, int w, int c);
size_t floats_of(Shape s);          /* h*w*c, saturated instead of wrapping */
size_t sat_add(size_t a, size_t b); /* saturated */
size_t sat_mul(size_t a, size_t b); /* saturated */
const char *shape_str(Shape s);     /* 784, 26x26x8 */
const char *quote_stmt(const Source *src, const Stmt *s);

#endif
