#!/bin/bash
# The thread pool, and kernels on several threads against one
# (tests/unit/test_threads.c). cmocka prints the TAP, once per kernel
# variant the CPU supports (tests/variants.sh).
. tests/variants.sh
run_variants build/tests/test_threads
