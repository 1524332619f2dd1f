#!/usr/bin/env bash
# Regression end to end (docs/trainer.md, "What training prints"):
# tests/e2e/regress on CSVs of floats (negative ones too) with a header,
# target y = 2 x1 - x2 + 0.5 x3 + noise, --target y. The epoch lines report
# loss (MSE), mae and r2, the last line is 'test: loss=L mae=M r2=R', and
# those numbers are what predict's outputs give against the targets,
# recomputed here by hand; eval prints no confusion matrix. --val-split
# takes the LAST fraction of the (first --limit) training rows: the last
# quarter's targets are shifted by 100, which only those rows can show.
# Needs the data helper's CSV reader (--train, --test, --target, --val-split).
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
m=build/e2e/regress
# rows FILE N SEED SHIFT_FROM: N rows; rows from SHIFT_FROM on get y + 100
rows() {
    perl -e 'my ($n, $seed, $from) = @ARGV; srand($seed); print "x1,x2,x3,y\n";
        for my $i (1..$n) { my @x = map { sprintf "%.4f", 4 * rand() - 2 } 1..3;
            my $y = 2 * $x[0] - $x[1] + 0.5 * $x[2] + 0.05 * (rand() - 0.5) + ($i >= $from ? 100 : 0);
            printf "%s,%.6f\n", join(",", @x), $y }' "$2" "$3" "$4" >"$1"
}
rows "$tmp/train.csv" 400 1 1000000
rows "$tmp/test.csv" 100 2 1000000

$m train --train "$tmp/train.csv" --test "$tmp/test.csv" --target y --threads 1 --save "$tmp/r.ckpt" \
    >"$tmp/out" 2>&1 || fail "the regression run" "$(cat "$tmp/out")"
if grep -qE '^epoch 1/30: train loss=[0-9.]+ mae=[0-9.]+ \| test loss=[0-9.]+ mae=[0-9.]+ r2=-?[0-9.]+ \| ' "$tmp/out"
then pass "the epoch line: train loss and mae, test loss, mae and r2"
else fail "regression epoch line" "$(head -3 "$tmp/out")"; fi
last=$(tail -1 "$tmp/out")
if [[ $last =~ ^test:\ loss=([0-9.]+)\ mae=([0-9.]+)\ r2=(-?[0-9.]+)$ ]] &&
   perl -e 'exit !($ARGV[0] > 0.95)' "${BASH_REMATCH[3]}"
then pass "the last line is 'test: loss=L mae=M r2=R', and the fit is good (r2 ${BASH_REMATCH[3]})"
else fail "the regression's test line" "$last"; fi

$m predict --load "$tmp/r.ckpt" --data "$tmp/test.csv" --target y --threads 1 >"$tmp/p.csv" 2>"$tmp/err" ||
    fail "predict" "$(cat "$tmp/err")"
got=$(perl -e 'open my $p, "<", $ARGV[0] or die; open my $t, "<", $ARGV[1] or die; <$p>; <$t>;
    my (@y, @o); while (my $l = <$t>) { chomp $l; push @y, (split /,/, $l)[3]; my $q = <$p>; chomp $q; push @o, $q }
    my ($sq, $ab, $mean, $tot) = (0, 0, 0, 0); $mean += $_ / @y for @y;
    for (0..$#y) { my $e = $o[$_] - $y[$_]; $sq += $e * $e; $ab += abs $e; $tot += ($y[$_] - $mean) ** 2 }
    printf "test: loss=%.4f mae=%.4f r2=%.4f", $sq / @y, $ab / @y, 1 - $sq / $tot' "$tmp/p.csv" "$tmp/test.csv")
if [ "$(head -1 "$tmp/p.csv")" = y ] && [ "$(tail -n +2 "$tmp/p.csv" | wc -l)" = 100 ] && [ "$got" = "$last" ]
then pass "predict: a column named after the target, a row per example, giving the test line's MSE, MAE and R^2"
else fail "predict against the test line" "header: $(head -1 "$tmp/p.csv")" "recomputed: $got" "printed:    $last"; fi

$m eval --load "$tmp/r.ckpt" --test "$tmp/test.csv" --target y --threads 1 >"$tmp/eval" 2>&1
if [ "$(tail -1 "$tmp/eval")" = "$last" ] && ! grep -q confusion "$tmp/eval"
then pass "eval of a regression: the same test line, no confusion matrix"
else fail "regression eval" "$(cat "$tmp/eval")"; fi

# --val-split 0.25 of the first 200 rows: rows 151..200 validate, and only they are shifted
rows "$tmp/shift.csv" 400 3 151
$m train --train "$tmp/shift.csv" --test "$tmp/test.csv" --target y --limit 200 --val-split 0.25 --epochs 5 \
    --threads 1 >"$tmp/out" 2>&1 || fail "the --val-split run" "$(cat "$tmp/out")"
vloss=$(sed -n 's/^epoch 5\/5: .* | val loss=\([0-9.]*\) .*/\1/p' "$tmp/out")
if grep -q '| train 150 examples, val 50, test 100 |' "$tmp/out" && perl -e 'exit !($ARGV[0] > 5000)' "${vloss:-0}"
then pass "--val-split: the last quarter of the first --limit rows validates (val loss $vloss: all shifted)"
else fail "--val-split rows" "$(cat "$tmp/out")"; fi

$m train --train "$tmp/train.csv" --test "$tmp/test.csv" --target y --val-split 0.2 --early-stop 2 --monitor val_accuracy >"$tmp/out" 2>&1
if [ $? = 1 ] && [ "$(cat "$tmp/out")" = "regress: error: --monitor val_accuracy: a regression has no accuracy; monitor val_loss" ]
then pass "--monitor val_accuracy in a regression: the error"
else fail "val_accuracy in a regression" "$(cat "$tmp/out")"; fi
done_testing
