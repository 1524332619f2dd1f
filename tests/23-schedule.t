#!/bin/sh
# The learning-rate schedules step by step, the best-so-far tracker, gradient
# clipping and the --schedule parser (tests/unit/test_schedule.c).
CMOCKA_MESSAGE_OUTPUT=TAP exec build/tests/test_schedule
