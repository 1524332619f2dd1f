#!/bin/bash
# The backward kernels of libnnrt against central finite differences
# (tests/unit/test_grad.c). cmocka prints the TAP, once per kernel
# variant the CPU supports (tests/variants.sh).
. tests/variants.sh
run_variants build/tests/test_grad
