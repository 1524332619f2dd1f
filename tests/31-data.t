#!/bin/sh
# The data loaders (tests/unit/test_data.c): IDX plain and gzipped, CSV,
# and the message of every error. cmocka prints the TAP itself.
CMOCKA_MESSAGE_OUTPUT=TAP exec build/tests/test_data
