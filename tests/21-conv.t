#!/bin/bash
# conv2d, pooling and batchnorm forward passes against naive loops
# (tests/unit/test_conv.c). cmocka prints the TAP, once per kernel
# variant the CPU supports (tests/variants.sh).
. tests/variants.sh
run_variants build/tests/test_conv
