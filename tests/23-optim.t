#!/bin/sh
# SGD, momentum, nesterov and Adam against torch's update rules
# (tests/unit/test_optim.c). cmocka prints the TAP itself.
CMOCKA_MESSAGE_OUTPUT=TAP exec build/tests/test_optim
