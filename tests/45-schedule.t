#!/usr/bin/env bash
# Learning-rate schedules and clipping end to end (docs/trainer.md,
# "Learning-rate schedules"): the CSV log's lr column holds the rate of each
# epoch's last step, which must be the documented formula's; --schedule
# overrides the .model's; a scheduled, clipped run resumes to the same bits
# and gives them at any thread count; the option errors, exactly.
# tests/e2e/sched_mlp.model: sgd lr=0.1, cosine warmup=1 min_lr=0.001,
# clip_norm 1; 256 examples in batches of 64 make 4 steps an epoch.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
m=build/e2e/sched_mlp
run="$m train --limit 256 --threads 1"

# lr_column LOG: the last column of each row
lr_column() { tail -n +2 "$1" | awk -F, '{ print $NF }' | tr '\n' ' '; }
# near "A B C" "X Y Z": each pair within 1e-7 relative (the rates are floats)
near() {
    perl -e '@a = split " ", $ARGV[0]; @b = split " ", $ARGV[1]; exit 1 if @a != @b;
             for (0..$#a) { exit 1 if abs($a[$_] - $b[$_]) > 1e-7 * abs($b[$_]) + 1e-12 } ' "$1" "$2"
}

$run --log "$tmp/cos.csv" >"$tmp/out" 2>&1 || fail "cosine run" "$(cat "$tmp/out")"
# Last step of epoch e: t = 4e, k = t - 1; warm-up while k < 4: lr k / 4;
# then min + (lr - min)(1 + cos(pi (k - 4) / 8)) / 2
want=$(perl -e 'my ($lr, $min) = (0.1, 0.001); for my $e (1..3) { my $k = 4 * $e - 1;
    printf "%.9g ", $k < 4 ? $lr * $k / 4 : $min + ($lr - $min) * (1 + cos(3.14159265358979 * ($k - 4) / 8)) / 2 }')
got=$(lr_column "$tmp/cos.csv")
if near "$got" "$want"; then pass "cosine: the rate of each epoch's last step is the formula's"
else fail "cosine rates" "want: $want" "got:  $got"; fi
if grep -q '^epoch 1/3: .* | lr=0.075 | ' "$tmp/out"; then pass "the epoch line shows the rate, 4 significant digits"
else fail "lr= in the epoch line" "$(cat "$tmp/out")"; fi
if grep -q 'schedule="cosine warmup=1 min_lr=0.001" clip_norm=1 batch=64' "$tmp/out"; then pass "the first line names the schedule and the clipping"
else fail "the first line" "$(head -1 "$tmp/out")"; fi

$run --schedule "step every=1 factor=0.5" --log "$tmp/step.csv" >"$tmp/out" 2>&1 || fail "step run" "$(cat "$tmp/out")"
got=$(lr_column "$tmp/step.csv")
if near "$got" "0.1 0.05 0.025"; then pass "--schedule step overrides the .model's: lr factor^(epoch - 1)"
else fail "step rates" "got: $got"; fi

$run --schedule none --log "$tmp/none.csv" >"$tmp/out" 2>&1 || fail "none run" "$(cat "$tmp/out")"
got=$(lr_column "$tmp/none.csv")
if [ "$got" = "0.100000001 0.100000001 0.100000001 " ] && ! grep -q ' | lr=' "$tmp/out"; then
    pass "--schedule none: the base rate, and no lr= part in the epoch line"
else fail "no schedule" "got: $got" "$(cat "$tmp/out")"; fi

# Exact resume and threads: 3 epochs on 1 thread; 1 epoch on 2 resumed to 3 on 2
$run --save "$tmp/3.ckpt" >/dev/null 2>&1 &&
$m train --limit 256 --threads 2 --epochs 1 --save "$tmp/1.ckpt" >/dev/null 2>&1 &&
$m train --resume "$tmp/1.ckpt" --epochs 3 --threads 2 >/dev/null 2>&1 ||
    fail "the resume runs"
if cmp -s "$tmp/3.ckpt" "$tmp/1.ckpt"; then pass "a scheduled, clipped run resumed on another thread count: the same checkpoint"
else fail "resume with a schedule" "$(cmp "$tmp/3.ckpt" "$tmp/1.ckpt" 2>&1)"; fi
if [ "$(head -c 12 "$tmp/3.ckpt" | tail -c 4 | od -An -tu4 | tr -d ' ')" = 3 ]; then pass "it is a version 3 checkpoint"
else fail "checkpoint version"; fi
$m train --resume "$tmp/1.ckpt" --schedule "step every=1 factor=0.5" >"$tmp/out" 2>&1
if grep -qF "1.ckpt: --schedule step every=1 factor=0.5 differs from the checkpoint's cosine warmup=1 min_lr=0.001; leave --schedule out to continue with it" "$tmp/out"
then pass "--resume refuses another --schedule"
else fail "resume with another schedule" "$(cat "$tmp/out")"; fi

usage "$m" "--schedule: 'linear' is not a schedule (expected step, cosine, plateau or none)" train --schedule linear
usage "$m" "--schedule: step needs every=; usage: step every=E factor=F" train --schedule step
usage "$m" "--early-stop needs a validation set: --val FILE or --val-split F" train --early-stop 2
usage "$m" "--save-best needs a validation set: --val FILE or --val-split F" train --save-best b.ckpt
usage "$m" "a plateau schedule needs a validation set: --val FILE or --val-split F" train --schedule "plateau patience=1 factor=0.5"
usage "$m" "--monitor needs --early-stop N, --save-best FILE or a plateau schedule" train --monitor val_accuracy
usage "$m" "--min-delta needs --early-stop N, --save-best FILE or a plateau schedule" train --min-delta 0.1
usage "$m" "--monitor: 'loss' is not one of val_loss|val_accuracy" train --early-stop 2 --val v.csv --monitor loss
usage "$m" "--early-stop: 0 is out of range (1..1000000)" train --early-stop 0 --val v.csv
usage "$m" "--min-delta: -1 is out of range (0 <= D < 1e6)" train --early-stop 2 --val v.csv --min-delta -1
usage "$m" "--val-split: 1 is out of range (0 < F < 1)" train --val-split 1
usage "$m" "--header: 'maybe' is not one of yes|no|auto" train --header maybe
usage "$m" "--data and --train both name the training data: give one" train --data d --train t.csv
usage "$m" "--test and --test-split both name the test set: give one" train --test t.csv --test-split 0.2
usage "$m" "--val and --val-split both name the validation set: give one" train --val v.csv --val-split 0.2
usage "$m" "unknown option '--val' for 'eval'" eval --load x --val v.csv
usage "$m" "unknown option '--epochs' for 'bench'" bench --epochs 2
usage "$m" "--windows: 0 is out of range (1..101)" bench --windows 0
done_testing
