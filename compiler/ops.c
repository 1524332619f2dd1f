/* ops.c: the registry, every layer kind nnc knows, each described once in
 * its own compiler/op_KIND.c (ops.h says what a description holds). A
 * kind's position here is its code, which the checkpoint fingerprint
 * hashes: new kinds go at the end, and a code is never reused. ORDER OP */
#include "ops.h"

extern const OpType dense_op, conv2d_op, maxpool_op, avgpool_op, batchnorm_op, flatten_op,
    dropout_op, act_op, add_op, concat_op, gap_op;

const OpType *const op_types[] = {
    &dense_op, &conv2d_op, &maxpool_op, &avgpool_op, &batchnorm_op, &flatten_op,
    &dropout_op, &act_op, &add_op, &concat_op, &gap_op,
};
const int n_op_types = sizeof op_types / sizeof op_types[0];
