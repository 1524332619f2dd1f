#!/bin/sh
# The data sets (tests/unit/test_data.c): IDX plain and gzipped, CSV of
# pixels and of numbers, NumPy .npy and .npz (written by NumPy), the
# splits, --standardize, the data meta's bytes, and the exact message of
# every error. cmocka prints the TAP itself.
CMOCKA_MESSAGE_OUTPUT=TAP exec build/tests/test_data
