#!/bin/sh
# Loss, accuracy, MSE, MAE and R^2 of a model over a data set, and the
# regression loss, against hand-computed values (tests/unit/test_metrics.c).
CMOCKA_MESSAGE_OUTPUT=TAP exec build/tests/test_metrics
