#!/bin/bash
# The kernels of skip connections, concat and gap against naive loops, and
# their aliasing and accumulate contracts (tests/unit/test_graph.c).
# cmocka prints the TAP, once per kernel variant the CPU supports
# (tests/variants.sh).
. tests/variants.sh
run_variants build/tests/test_graph
