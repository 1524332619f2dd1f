#!/bin/sh
# Dropout masks and rates, the RNG and the initialisers
# (tests/unit/test_dropout.c). cmocka prints the TAP itself.
CMOCKA_MESSAGE_OUTPUT=TAP exec build/tests/test_dropout
