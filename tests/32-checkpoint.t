#!/bin/sh
# Checkpoints (tests/unit/test_checkpoint.c): bit-exact round trip, byte
# layout, each kind of bad file, atomic save. cmocka prints the TAP itself.
CMOCKA_MESSAGE_OUTPUT=TAP exec build/tests/test_checkpoint
