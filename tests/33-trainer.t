#!/bin/sh
# nn_main end to end on a hand-written model (tests/unit/test_trainer.c):
# training, determinism, the log, eval, errors. cmocka prints the TAP itself.
CMOCKA_MESSAGE_OUTPUT=TAP exec build/tests/test_trainer
