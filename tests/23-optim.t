#!/bin/bash
# SGD, momentum, nesterov and Adam against torch's update rules
# (tests/unit/test_optim.c). cmocka prints the TAP, once per kernel
# variant the CPU supports (tests/variants.sh).
. tests/variants.sh
run_variants build/tests/test_optim
