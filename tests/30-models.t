#!/usr/bin/env bash
# Every model in models/, and the emitter's corner cases in tests/emit/,
# compiles with nnc, and its C with the strict flags; no size in that C is
# an int product of the batch size B (B * 676 overflows for large batches).
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
blas=$(pkg-config --cflags openblas)
for model in models/*.model tests/emit/*.model; do
    name=$(basename "$model" .model)
    check "$name: nnc" build/nnc "$model" -o "$tmp/$name.c"
    check "$name: cc -std=c11 -Wall -Wextra -Werror -pedantic" \
        cc -std=c11 -Wall -Wextra -Werror -pedantic $blas -Iruntime -c -o "$tmp/$name.o" "$tmp/$name.c"
    if products=$(grep -nE '(^|[^)A-Za-z0-9_])B \*' "$tmp/$name.c"); then
        fail "$name: sizes are size_t products of B" "$products"
    else
        pass "$name: sizes are size_t products of B"
    fi
done
done_testing
