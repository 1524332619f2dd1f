#!/usr/bin/env bash
# nnc --build: a trainer in one command, against a runtime pkg-config finds
# (here an nnrt.pc for the build tree), and its failures: each named in one
# line, exit status 1, and no file left behind, the old program untouched.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/pc" "$tmp/tmpdir"
cat >"$tmp/pc/nnrt.pc" <<PC
Name: nnrt
Description: the build tree's runtime
Version: $(cat VERSION)
Requires: openblas zlib
Libs: $PWD/build/libnnrt.a -lm
Cflags: -I$PWD/build/include
PC
export PKG_CONFIG_PATH=$tmp/pc TMPDIR=$tmp/tmpdir
model=tests/e2e/tiny_mlp.model

# nothing but PROG in its directory, nothing left in TMPDIR
only_prog() { [ "$(ls -A "$tmp/out")" = "$1" ] && [ -z "$(ls -A "$tmp/tmpdir")" ]; }

mkdir "$tmp/out"
if build/nnc --build $model -o "$tmp/out/tiny" 2>"$tmp/err" && [ -x "$tmp/out/tiny" ] && only_prog tiny
then pass "--build writes the trainer, and only it"
else fail "--build" "$(cat "$tmp/err")" "$(ls -A "$tmp/out" "$tmp/tmpdir")"; fi

if "$tmp/out/tiny" train --limit 500 --epochs 1 >"$tmp/train" 2>&1 &&
   tail -n 1 "$tmp/train" | grep -q '^test: loss=[0-9.]* accuracy=[0-9.]*$'
then pass "the trainer --build wrote trains"
else fail "trainer runs" "$(cat "$tmp/train")"; fi

cp "$tmp/out/tiny" "$tmp/before"
CC=false build/nnc --build $model -o "$tmp/out/tiny" 2>"$tmp/err"; st=$?
if [ $st -eq 1 ] && grep -q "^nnc: error: the C compiler 'false' failed building '$tmp/out/tiny'" "$tmp/err" &&
   cmp -s "$tmp/before" "$tmp/out/tiny" && only_prog tiny
then pass "a failing C compiler: one line naming it, exit 1, the old trainer untouched, no files left"
else fail "CC=false" "$(cat "$tmp/err")" "$(ls -A "$tmp/out" "$tmp/tmpdir")"; fi

if ! CFLAGS=-fno-such-flag-at-all CC=cc build/nnc --build $model -o "$tmp/out/tiny" 2>"$tmp/err" &&
   grep -q "no-such-flag" "$tmp/err" && grep -q "^nnc: error: the C compiler 'cc' failed" "$tmp/err"
then pass "CFLAGS reach the compiler, and its own messages are shown"
else fail "CFLAGS" "$(cat "$tmp/err")"; fi

if ! CC=/no/such/cc build/nnc --build $model -o "$tmp/out/tiny" 2>"$tmp/err" &&
   grep -q "^nnc: error: cannot run the C compiler '/no/such/cc' (CC)" "$tmp/err" && only_prog tiny
then pass "a missing C compiler is named"
else fail "missing CC" "$(cat "$tmp/err")"; fi

if ! PKG_CONFIG_PATH=$tmp/tmpdir build/nnc --build $model -o "$tmp/out/tiny" 2>"$tmp/err" &&
   grep -q "^nnc: error: 'pkg-config --cflags --libs nnrt' failed" "$tmp/err" && only_prog tiny
then pass "no runtime found: pkg-config's message, then one line saying what to install"
else fail "no nnrt.pc" "$(cat "$tmp/err")"; fi

printf 'input 784\ndense 10 relu6\n' >"$tmp/bad.model"
build/nnc --build "$tmp/bad.model" -o "$tmp/out/bad" 2>"$tmp/err"; st=$?
if [ $st -eq 1 ] && grep -q "error: unknown activation\|error: .*relu6" "$tmp/err" && only_prog tiny
then pass "a model with errors: its diagnostics, exit 1, nothing written"
else fail "bad model" "$(cat "$tmp/err")"; fi

for args in "$model" "$model -o x.c" "$model -o" "$model -o a -o b" "$model --summary -o a" "-o a"; do
    # shellcheck disable=SC2086
    build/nnc --build $args 2>"$tmp/err" >/dev/null; st=$?
    if [ $st -eq 2 ] && grep -q "^nnc: " "$tmp/err"
    then pass "usage error, exit 2: nnc --build $args"
    else fail "usage: --build $args" "$(cat "$tmp/err")"; fi
done
done_testing
