#!/bin/bash
# Dropout masks and rates, the RNG and the initialisers
# (tests/unit/test_dropout.c). cmocka prints the TAP, once per kernel
# variant the CPU supports (tests/variants.sh).
. tests/variants.sh
run_variants build/tests/test_dropout
