#!/usr/bin/env bash
# nnc's output files: the mode new files get under the umask; the .c and
# .h pair written all or nothing, the error naming the file at fault; model
# paths with any bytes (comment ends, trigraphs, quotes, newlines, UTF-8)
# still give C that compiles and carries the path exactly; and -o names
# that would hide the runtime's header, or cannot be #included, refused.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
nnc=$PWD/build/nnc
model=$PWD/tests/e2e/tiny_mlp.model
blas_cflags=$(pkg-config --cflags openblas); blas_libs=$(pkg-config --libs openblas)

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

# --- model paths with any bytes: the C compiles, and .source is the path
cat >"$tmp/source.c" <<'C'
#define NNC_NO_MAIN
#include MODEL_C
int main(void) { fputs(DESC.source, stdout); return 0; }
C
n=0
for dir in 'a*' '/*b' 'q??=' '??/' 'x"y\' "it's" $'new\nline' $'\xc3\xa9\xff' 'sp ace'; do
    n=$((n + 1)); what=$(printf "path with %q" "$dir")
    mkdir -p "$tmp/p$n/$dir"
    path="$tmp/p$n/$dir/m.model"
    cp "$model" "$path"
    if ! out=$("$nnc" "$path" -o "$tmp/p$n.c" 2>&1); then fail "$what: nnc" "$out"; continue; fi
    if ! out=$(cc ${CFLAGS:-} -std=c11 -Wall -Wextra -Werror -pedantic -Ibuild/include $blas_cflags \
               -DMODEL_C="\"$tmp/p$n.c\"" -DDESC=m_model -include stdio.h -o "$tmp/p$n.bin" \
               "$tmp/source.c" build/libnnrt.a $blas_libs -lz -lm 2>&1); then
        fail "$what: the C compiles with the strict flags" "$out"; continue
    fi
    if [ "$("$tmp/p$n.bin")" = "$path" ]; then pass "$what: the C compiles, .source is the path"
    else fail "$what: .source is the path" "$("$tmp/p$n.bin" | od -c | head)"; fi
done

# --- -o names refused before anything is read
mkdir "$tmp/d3"
status=0; "$nnc" "$model" -o "$tmp/d3/nnrt.c" 2>"$tmp/err" || status=$?
if [ $status = 2 ] && [ -z "$(ls -A "$tmp/d3")" ] && grep -q "hides the runtime's header" "$tmp/err"
then pass "-o nnrt.c: a usage error (exit 2), nothing written"
else fail "-o nnrt.c refused" "status $status" "$(cat "$tmp/err")"; fi

printf 'model nnrt\ninput 4\ndense 2\n' >"$tmp/d3/n.model"
status=0; (cd "$tmp/d3" && "$nnc" n.model) 2>"$tmp/err" || status=$?
if [ $status = 1 ] && [ "$(ls -A "$tmp/d3")" = n.model ] && grep -q "hides the runtime's header" "$tmp/err"
then pass "model nnrt without -o: exit 1, no nnrt.h written"
else fail "model nnrt without -o" "status $status" "$(cat "$tmp/err")"; fi

for name in 'a"b.c' 'a\b.c' 'a??=b.c' $'a\nb.c'; do
    what=$(printf -- "-o %q" "$name")
    status=0; "$nnc" "$model" -o "$tmp/d3/$name" 2>"$tmp/err" || status=$?
    if [ $status = 2 ] && [ "$(ls -A "$tmp/d3")" = n.model ] && grep -q "#include" "$tmp/err"
    then pass "$what: refused, its .h could not be #included"
    else fail "$what: refused" "status $status" "$(cat "$tmp/err")"; fi
done
done_testing
