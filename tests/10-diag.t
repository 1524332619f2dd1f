#!/usr/bin/env bash
# The front end's diagnostics and --summary match their golden files.
exec "$(dirname "$0")/golden.sh"
