#!/usr/bin/env bash
# nnc's output files: the mode new files get under the umask; the .c and
# .h pair written all or nothing, the error naming the file at fault.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
nnc=$PWD/build/nnc
model=$PWD/tests/e2e/tiny_mlp.model

# --- modes
for mask in 022 027 002; do
    rm -f "$tmp/m.c" "$tmp/m.h"
    (umask $mask && "$nnc" "$model" -o "$tmp/m.c")
    want=$(printf '%o' $((0666 & ~0$mask)))
    got="$(stat -c %a "$tmp/m.c") $(stat -c %a "$tmp/m.h")"
    if [ "$got" = "$want $want" ]; then pass "umask $mask: .c and .h get mode $want"
    else fail "umask $mask: .c and .h get mode $want" "got $got"; fi
done

# --- all or nothing: a target that is a directory
mkdir -p "$tmp/d1/x.c"
status=0; "$nnc" "$model" -o "$tmp/d1/x.c" 2>"$tmp/err" || status=$?
if [ $status = 1 ] && [ "$(ls -A "$tmp/d1")" = x.c ] && grep -q "cannot write '$tmp/d1/x.c'" "$tmp/err"
then pass "-o x.c, a directory: exit 1, no x.h nor temporary file left, the error names x.c"
else fail "-o x.c, a directory" "status $status" "$(ls -A "$tmp/d1")" "$(cat "$tmp/err")"; fi

mkdir -p "$tmp/d2/x.h"; echo old >"$tmp/d2/x.c"
status=0; "$nnc" "$model" -o "$tmp/d2/x.c" 2>"$tmp/err" || status=$?
if [ $status = 1 ] && [ "$(ls -A "$tmp/d2" | tr '\n' ' ')" = "x.c x.h " ] &&
   [ "$(cat "$tmp/d2/x.c")" = old ] && grep -q "cannot write '$tmp/d2/x.h'" "$tmp/err"
then pass "x.h a directory: exit 1, the old x.c untouched, the error names x.h"
else fail "x.h a directory" "status $status" "$(ls -A "$tmp/d2")" "$(cat "$tmp/err")"; fi

done_testing
