#!/usr/bin/env bash
# predict and eval on a saved model (docs/trainer.md, "predict", "eval"):
# predict's CSV (a header, then per example the argmax class and
# probabilities that sum to 1), --output written atomically with the same
# bytes as stdout; eval's confusion matrix, which adds up to the test line
# it keeps last and unchanged; the usage errors, exactly.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
m=build/e2e/sched_mlp
data=/usr/share/datasets/fashion-mnist
$m train --limit 256 --epochs 1 --threads 1 --save "$tmp/m.ckpt" >"$tmp/train.out" 2>&1 ||
    fail "train" "$(cat "$tmp/train.out")"

$m predict --load "$tmp/m.ckpt" --data $data --threads 1 >"$tmp/p.csv" 2>"$tmp/err" || fail "predict" "$(cat "$tmp/err")"
if [ "$(head -1 "$tmp/p.csv")" = "class,prob_0,prob_1,prob_2,prob_3,prob_4,prob_5,prob_6,prob_7,prob_8,prob_9" ]
then pass "predict: the header names the class and each class's probability"
else fail "predict header" "$(head -1 "$tmp/p.csv")"; fi
bad=$(tail -n +2 "$tmp/p.csv" | perl -ne 'chomp; my ($k, @p) = split /,/; my $s = 0; my $best = 0;
    for (0..$#p) { $s += $p[$_]; $best = $_ if $p[$_] > $p[$best] }
    print "$.: $_\n" if @p != 10 || abs($s - 1) > 1e-6 || $k ne $best' | head -3)
rows=$(tail -n +2 "$tmp/p.csv" | wc -l)
if [ "$rows" = 10000 ] && [ -z "$bad" ]; then pass "predict: a row per test example, the argmax class, probabilities summing to 1"
else fail "predict rows" "$rows rows" "$bad"; fi

$m predict --load "$tmp/m.ckpt" --data $data --threads 2 --output "$tmp/out.csv" >"$tmp/out" 2>&1 || fail "predict --output" "$(cat "$tmp/out")"
if cmp -s "$tmp/p.csv" "$tmp/out.csv" && [ ! -s "$tmp/out" ] && [ -z "$(ls "$tmp" | grep tmp)" ]; then
    pass "--output holds what stdout got (at another thread count), prints nothing, leaves no temporary"
else fail "predict --output" "$(cat "$tmp/out")" "$(ls "$tmp")"; fi
$m predict --load "$tmp/m.ckpt" --data $data --output "$tmp/no/such/p.csv" >"$tmp/out" 2>&1
if [ $? = 1 ] && [ "$(cat "$tmp/out")" = "sched_mlp: error: $tmp/no/such/p.csv: cannot create a temporary file next to it: No such file or directory" ]
then pass "predict --output into a missing directory: the error"
else fail "predict into a missing directory" "$(cat "$tmp/out")"; fi

$m eval --load "$tmp/m.ckpt" --threads 1 >"$tmp/eval" 2>&1 || fail "eval" "$(cat "$tmp/eval")"
if [ "$(tail -1 "$tmp/eval")" = "$(tail -1 "$tmp/train.out")" ]; then pass "eval: the test line is last, as training printed it"
else fail "eval's last line" "$(tail -1 "$tmp/eval")" "$(tail -1 "$tmp/train.out")"; fi
check=$(perl -e 'my ($n, $right, $rows, $bad) = (0, 0, 0, "");
    while (<>) { if (/^(\d+)((?:\s+\d+){10})\s+([0-9.]+)$/) { my @c = split " ", $2; my $s = 0; $s += $_ for @c;
        $n += $s; $right += $c[$1]; $rows++; $bad .= "row $1 " if abs($c[$1] / $s - $3) > 5e-5 }
        $acc = $1 if /^test: loss=\S+ accuracy=(\S+)$/ }
    print "$rows $n ", (abs($right / $n - $acc) <= 5e-5 ? "ok" : "diagonal $right/$n vs $acc"), " $bad"' "$tmp/eval")
if [ "$check" = "10 10000 ok " ] && grep -q '^confusion matrix: a row per true class, a column per predicted class$' "$tmp/eval" &&
   grep -qE '^class +0 +1 +2 +3 +4 +5 +6 +7 +8 +9  accuracy$' "$tmp/eval"
then pass "eval: a confusion matrix of every test example, whose diagonal is the accuracy, and each class's"
else fail "eval's confusion matrix" "$check" "$(cat "$tmp/eval")"; fi

usage "$m" "predict needs --load FILE" predict --data $data
usage "$m" "predict needs --data FILE: the examples to predict" predict --load "$tmp/m.ckpt"
usage "$m" "unknown option '--epochs' for 'predict'" predict --load "$tmp/m.ckpt" --epochs 2
usage "$m" "unknown option '--output' for 'eval'" eval --load "$tmp/m.ckpt" --output x.csv
done_testing
