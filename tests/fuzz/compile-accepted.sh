#!/usr/bin/env bash
# compile-accepted.sh CORPUS [MAX]: the emitter's promise, over a fuzz
# corpus (make fuzz runs it on build/fuzz/frontend.corpus after fuzzing):
# every input that `nnc --check` accepts gives C that compiles with the
# strict flags. gcc is too slow to run inside the harness, so this runs
# after it, on at most MAX accepted inputs (default 300), smallest first,
# so it stays quick. Each failure is copied to build/fuzz/ as
# miscompile-NAME, for tests/fuzz/frontend/; exits 1 if there was any.
set -u
cd "$(dirname "$0")/../.." || exit 1
corpus=${1:?usage: compile-accepted.sh CORPUS [MAX]}
max=${2:-300}
nnc=build/nnc
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

accepted=0 failed=0
while IFS= read -r file; do
    [ "$accepted" -lt "$max" ] || break
    "$nnc" --check "$file" >/dev/null 2>&1 || continue
    accepted=$((accepted + 1))
    if ! "$nnc" "$file" -o "$tmp/m.c" 2>"$tmp/err" ||
       ! gcc -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -Ibuild/include "$tmp/m.c" \
           2>>"$tmp/err"; then
        failed=$((failed + 1))
        cp "$file" "build/fuzz/miscompile-$(basename "$file")"
        echo "compile-accepted: $file: accepted, but its C does not compile:"
        head -n 5 "$tmp/err" | sed 's/^/    /'
    fi
done < <(find "$corpus" -maxdepth 1 -type f -printf '%s %p\n' | sort -n | cut -d' ' -f2-)
echo "compile-accepted: $accepted accepted inputs of $corpus compiled, $failed failed"
[ "$failed" -eq 0 ]
