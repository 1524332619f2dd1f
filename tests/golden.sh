#!/usr/bin/env bash
# golden.sh [--update]: runs build/nnc over the golden files and prints TAP.
#   tests/diag/NAME.model     -> NAME.err: the exact stderr of `nnc --check`
#                                (the exit status must be 1 iff it holds an error)
#   tests/summary/NAME.model  -> NAME.txt: the exact stdout of `nnc --summary`
#                                (exit status 0, nothing on stderr)
# With --update, rewrites the expected files instead (`make golden`); review
# the diff before committing. Paths are relative to the repo root, where this
# script runs, so the file names inside the messages are stable.
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
nnc=${NNC:-build/nnc}
update=false
[ "${1:-}" = --update ] && update=true

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# golden NAME EXPECTED ACTUAL STATUS_OK: compares (or updates) one file
golden() {
    local name=$1 expected=$2 actual=$3 status_ok=$4
    if $update; then
        if ! cmp -s "$actual" "$expected" 2>/dev/null; then
            cp "$actual" "$expected"
            echo "# updated $expected"
        fi
        pass "$name"
    elif ! [ -f "$expected" ]; then
        fail "$name" "missing $expected (run tests/golden.sh --update)"
    elif ! cmp -s "$expected" "$actual"; then
        fail "$name" "$(diff -u "$expected" "$actual")"
    elif ! $status_ok; then
        fail "$name" "wrong exit status"
    else
        pass "$name"
    fi
}

for model in tests/diag/*.model; do
    name=${model%.model}
    status=0
    "$nnc" --check "$model" 2>"$tmp/err" >/dev/null || status=$?
    want=0
    grep -q ': error: ' "$tmp/err" && want=1
    golden "${name#tests/}" "$name.err" "$tmp/err" "$([ $status = $want ] && echo true || echo false)"
done

for model in tests/summary/*.model; do
    name=${model%.model}
    status=0
    "$nnc" --summary "$model" >"$tmp/out" 2>"$tmp/err" || status=$?
    golden "${name#tests/}" "$name.txt" "$tmp/out" \
        "$([ $status = 0 ] && ! [ -s "$tmp/err" ] && echo true || echo false)"
done

done_testing
