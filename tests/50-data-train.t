#!/usr/bin/env bash
# The data meta through the trainers (docs/trainer.md, "Data meta",
# "Splits", "predict", "eval"): string class names, saved in the checkpoint,
# name eval's confusion rows and predict's classes, with or without the
# label column in predict's file, and through a resume; a regression checkpoint makes predict
# write its outputs from a file without the target column, no --target
# given; a cross_entropy model refuses float targets; --test-split holds
# out floor(F x n) rows, the documented seeded draw, and --val-split the
# last floor(F x n) of the rest, as the intro line counts them.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
blas_cflags=$(pkg-config --cflags openblas); blas_libs=$(pkg-config --libs openblas)
c=build/e2e/blobs r=build/e2e/regress

# Three blobs, the class in the middle column, named so that sorting
# reorders them: ant (0), moth (1), zebra (2)
perl -e 'srand(5); print "x1,kind,x2\n"; my @c = (["zebra", 2, 0], ["ant", -2, 0], ["moth", 0, 2]);
    for (1..150) { my $k = $c[$_ % 3]; printf "%.4f,%s,%.4f\n", $k->[1] + rand() - 0.5, $k->[0], $k->[2] + rand() - 0.5 }' >"$tmp/b.csv"
cut -d, -f1,3 "$tmp/b.csv" >"$tmp/b-nolabel.csv"
$c train --train "$tmp/b.csv" --test "$tmp/b.csv" --label kind --threads 1 --save "$tmp/b.ckpt" >"$tmp/out" 2>&1 ||
    fail "the string-label run" "$(cat "$tmp/out")"
$c eval --load "$tmp/b.ckpt" --test "$tmp/b.csv" --threads 1 >"$tmp/eval" 2>&1
rows=$(sed -n 's/^\([0-9] [a-z]*\) .*/\1/p' "$tmp/eval" | tr '\n' ,)
if [ "$rows" = "0 ant,1 moth,2 zebra," ] && [ "$(tail -1 "$tmp/eval")" = "$(tail -1 "$tmp/out")" ]
then pass "eval: the confusion rows carry the checkpoint's class names, in sorted order"
else fail "eval class names" "$(cat "$tmp/eval")"; fi
$c predict --load "$tmp/b.ckpt" --data "$tmp/b.csv" --threads 1 >"$tmp/p.csv" 2>&1 || fail "predict" "$(cat "$tmp/p.csv")"
want=$(tail -n +2 "$tmp/b.csv" | cut -d, -f2)
if [ "$(head -1 "$tmp/p.csv")" = "class,prob_ant,prob_moth,prob_zebra" ] &&
   [ "$(tail -n +2 "$tmp/p.csv" | cut -d, -f1)" = "$want" ]
then pass "predict: the classes by name (the blobs are separable: every one right), probabilities named too"
else fail "predict class names" "$(head -4 "$tmp/p.csv")"; fi
$c predict --load "$tmp/b.ckpt" --data "$tmp/b-nolabel.csv" --threads 1 >"$tmp/p2.csv" 2>&1
if cmp -s "$tmp/p.csv" "$tmp/p2.csv"; then pass "predict: a file without the label column gives the same rows"
else fail "predict without the label column" "$(head -3 "$tmp/p2.csv")"; fi

# a resume decodes the meta and stores it again: the same file as one run
$c train --train "$tmp/b.csv" --test "$tmp/b.csv" --label kind --threads 1 --epochs 4 --save "$tmp/4.ckpt" >/dev/null 2>&1 &&
$c train --train "$tmp/b.csv" --test "$tmp/b.csv" --label kind --threads 1 --epochs 2 --save "$tmp/2.ckpt" >/dev/null 2>&1 &&
$c train --resume "$tmp/2.ckpt" --epochs 4 --threads 1 >"$tmp/out" 2>&1
if cmp -s "$tmp/2.ckpt" "$tmp/4.ckpt"; then pass "string classes: 2 epochs resumed to 4 write the 4-epoch checkpoint, meta and all"
else fail "resume with class names" "$(cat "$tmp/out")"; fi

# rows FILE N SHIFTED: x1,x2,x3,y with y = 2 x1 - x2 + 0.5 x3, plus 100 in
# the rows (0-based) listed in SHIFTED
rows() {
    perl -e 'my ($n, %s) = ($ARGV[0], map { $_ => 1 } split " ", $ARGV[1]); srand(1); print "x1,x2,x3,y\n";
        for my $i (0..$n - 1) { my @x = map { sprintf "%.4f", 4 * rand() - 2 } 1..3;
            printf "%s,%.6f\n", join(",", @x), 2 * $x[0] - $x[1] + 0.5 * $x[2] + ($s{$i} ? 100 : 0) }' "$2" "$3" >"$1"
}
rows "$tmp/r.csv" 200 ""
cut -d, -f1-3 "$tmp/r.csv" >"$tmp/r-x.csv"
$r train --train "$tmp/r.csv" --test "$tmp/r.csv" --target y --epochs 2 --threads 1 --save "$tmp/r.ckpt" >/dev/null 2>&1 &&
$r predict --load "$tmp/r.ckpt" --data "$tmp/r.csv" --target y --threads 1 >"$tmp/p.csv" 2>&1 &&
$r predict --load "$tmp/r.ckpt" --data "$tmp/r-x.csv" --threads 1 >"$tmp/p2.csv" 2>&1
if [ "$(head -1 "$tmp/p2.csv")" = y ] && cmp -s "$tmp/p.csv" "$tmp/p2.csv"
then pass "predict: a regression checkpoint on a file without the target column writes its outputs"
else fail "regression predict without targets" "$(head -3 "$tmp/p2.csv")"; fi

perl -e 'print "x1,x2,a,b,c\n"; print "0.5,1.5,0.1,0.2,0.3\n" for 1..20' >"$tmp/ce.csv"
$c train --train "$tmp/ce.csv" --test "$tmp/ce.csv" --target a,b,c >"$tmp/out" 2>&1
if [ $? = 1 ] && [ "$(cat "$tmp/out")" = "blobs: error: regression targets need a model with 'loss mse'; blobs's loss is cross_entropy" ]
then pass "a cross_entropy model given float targets: the error"
else fail "cross_entropy with targets" "$(cat "$tmp/out")"; fi

# --test-split 0.15 of 101 rows: 15 held out, those the documented draw
# picks (a Fisher-Yates shuffle seeded by nn_hash2(seed, 3), its first k),
# computed here with the runtime's generator; only they are shifted, so a
# test loss near 100^2 shows the test set is exactly them. Then
# --val-split 0.3 of the 86 left: the last 25.
cat >"$tmp/draw.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <nnc/nnrt.h>
int main(int argc, char **argv) {
    if (argc != 4)
        return 2;
    size_t n = strtoul(argv[1], NULL, 10), k = strtoul(argv[2], NULL, 10), perm[1000];
    nn_rng r = nn_rng_seed(nn_hash2(strtoull(argv[3], NULL, 10), 3));
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(nn_rng_next(&r) % (i + 1)), s = perm[i];
        perm[i] = perm[j];
        perm[j] = s;
    }
    for (size_t i = 0; i < k; i++)
        printf("%zu ", perm[i]);
    return 0;
}
EOF
cc ${CFLAGS:--O1} -std=c11 -Wall -Wextra -Werror -pedantic -Ibuild/include $blas_cflags -o "$tmp/draw" \
    "$tmp/draw.c" build/libnnrt.a $blas_libs -lz -lm || fail "building the draw"
rows "$tmp/s.csv" 101 "$("$tmp/draw" 101 15 7)"
$r train --train "$tmp/s.csv" --target y --test-split 0.15 --val-split 0.3 --seed 7 --epochs 5 --threads 1 \
    >"$tmp/out" 2>&1 || fail "the --test-split run" "$(cat "$tmp/out")"
tloss=$(sed -n 's/^test: loss=\([0-9.]*\) .*/\1/p' "$tmp/out")
if grep -q '| train 61 examples, val 25, test 15 |' "$tmp/out" && perl -e 'exit !($ARGV[0] > 8000)' "${tloss:-0}"
then pass "--test-split 0.15 of 101: the 15 rows of the seeded draw; --val-split 0.3: 25 of the 86 left (test loss $tloss)"
else fail "--test-split rows" "$(cat "$tmp/out")"; fi
done_testing
