#!/bin/sh
# conv2d, pooling and batchnorm forward passes against naive loops
# (tests/unit/test_conv.c). cmocka prints the TAP itself.
CMOCKA_MESSAGE_OUTPUT=TAP exec build/tests/test_conv
