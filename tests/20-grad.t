#!/bin/sh
# The backward kernels of libnnrt against central finite differences
# (tests/unit/test_grad.c). cmocka prints the TAP itself.
CMOCKA_MESSAGE_OUTPUT=TAP exec build/tests/test_grad
