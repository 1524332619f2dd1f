#!/bin/sh
# The thread pool, and kernels on several threads against one
# (tests/unit/test_threads.c). cmocka prints the TAP itself.
CMOCKA_MESSAGE_OUTPUT=TAP exec build/tests/test_threads
