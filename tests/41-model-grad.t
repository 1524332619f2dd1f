#!/usr/bin/env bash
# Whole generated train steps against finite differences of their own loss
# (tests/model_gradcheck.c), for the emitter's corner cases, the end-to-end
# models and the seed MLP. Built with make's CFLAGS, which link against
# build/libnnrt.a (a sanitizer build's among them).
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
blas_cflags=$(pkg-config --cflags openblas); blas_libs=$(pkg-config --libs openblas)
for model in tests/emit/*.model tests/e2e/*.model models/fashion_mlp.model; do
    stem=$(basename "$model" .model)
    if ! build/nnc "$model" -o "$tmp/$stem.c" 2>"$tmp/err"; then
        fail "$stem: nnc" "$(cat "$tmp/err")"; continue
    fi
    name=$(sed -n 's/^const nn_model_desc \(.*\)_model = {$/\1/p' "$tmp/$stem.c")
    if ! cc ${CFLAGS:--O2} -std=c11 -Wall -Wextra -Werror -pedantic -Iruntime $blas_cflags -DMODEL_C="\"$tmp/$stem.c\"" -DDESC="${name}_model" \
         -o "$tmp/$stem" tests/model_gradcheck.c build/libnnrt.a $blas_libs -lz -lm 2>"$tmp/err"; then
        fail "$stem: build the check" "$(head -n 20 "$tmp/err")"; continue
    fi
    if out=$("$tmp/$stem"); then pass "$out"; else fail "$out"; fi
done
done_testing
