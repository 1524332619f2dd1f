#!/usr/bin/env bash
# End to end: nnc-generated trainers on a Fashion-MNIST subset. Training
# reaches a fixed accuracy, is deterministic, its checkpoint evaluates to the
# same numbers, and bad checkpoints and data files get their clear errors.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=/usr/share/datasets/fashion-mnist
mlp=build/fashion_mlp

# accuracy FILE: the A of the last line "test: loss=L accuracy=A"
accuracy() { tail -n 1 "$1" | sed -n 's/^test: loss=[0-9.]* accuracy=\([0-9.]*\)$/\1/p'; }
# at_least A MIN: exits 0 when A >= MIN
at_least() { awk -v a="$1" -v min="$2" 'BEGIN { exit !(a != "" && a >= min) }'; }
# without_timing FILE: the output minus the seconds and samples/s
without_timing() { sed 's/| [0-9.]*s [0-9]* samples\/s$//' "$1"; }

run() { "$@" >"$tmp/out" 2>"$tmp/err"; }

# --- the seed MLP on 10000 examples, 3 epochs (seeds 1 and 5 give 0.83, 0.84)
run $mlp train --limit 10000 --epochs 3 --save "$tmp/mlp.ckpt" --log "$tmp/mlp.csv"
acc=$(accuracy "$tmp/out")
if at_least "$acc" 0.80; then pass "mlp: 10000 examples, 3 epochs reach test accuracy >= 0.80 ($acc)"
else fail "mlp: reaches 0.80" "$(cat "$tmp/out" "$tmp/err")"; fi
cp "$tmp/out" "$tmp/first"

run $mlp train --limit 10000 --epochs 3
if diff <(without_timing "$tmp/first" | grep -v '^checkpoint:') <(without_timing "$tmp/out") >"$tmp/diff"
then pass "mlp: a second run with the same seed prints the same numbers"
else fail "mlp: deterministic" "$(cat "$tmp/diff")"; fi

run $mlp train --limit 10000 --epochs 3 --seed 7
if ! diff -q <(without_timing "$tmp/first" | grep -v '^checkpoint:') <(without_timing "$tmp/out") >/dev/null
then pass "mlp: another seed gives other numbers"
else fail "mlp: the seed is used"; fi

run $mlp eval --load "$tmp/mlp.ckpt"
if [ "$(tail -n 1 "$tmp/out")" = "$(tail -n 1 "$tmp/first")" ]
then pass "mlp: eval of the saved checkpoint gives the same test line"
else fail "mlp: eval reproduces" "$(tail -n 1 "$tmp/first")" "$(cat "$tmp/out" "$tmp/err")"; fi

# --- the --log CSV: its header and one row per epoch, the train_eval and
# val columns empty without --eval-train and a validation set, the rate last
header=epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,samples_per_second
header=$header,train_eval_loss,train_eval_accuracy,val_loss,val_accuracy,lr
if [ "$(head -n 1 "$tmp/mlp.csv")" = "$header" ] && [ "$(wc -l <"$tmp/mlp.csv")" -eq 4 ] &&
   awk -F, 'NR > 1 && (NF != 12 || $1 != NR - 1 || $7 == "" || $8 != "" || $9 != "" ||
                       $10 != "" || $11 != "" || $12 != "0.00100000005") { bad = 1 }
            END { exit bad }' "$tmp/mlp.csv"
then pass "mlp: --log writes the header and one 12-column row per epoch"
else fail "mlp: --log" "$(cat "$tmp/mlp.csv")"; fi
last_row_acc=$(tail -n 1 "$tmp/mlp.csv" | cut -d, -f5)
if [ "$(printf '%.4f' "$last_row_acc")" = "$acc" ]
then pass "mlp: the log's last test accuracy is the printed one"
else fail "mlp: log matches stdout" "$last_row_acc vs $acc"; fi

# --- --eval-train: the training set without dropout fits better than the
# dropout-on running mean says (2000 examples: 0.76 vs 0.60, 0.79 vs 0.75)
run $mlp train --limit 2000 --epochs 2 --eval-train --log "$tmp/eval.csv"
if [ "$(head -n 1 "$tmp/eval.csv")" = "$header" ] && [ "$(wc -l <"$tmp/eval.csv")" -eq 3 ] &&
   awk -F, 'NR > 1 && (NF != 12 || $1 != NR - 1 || $8 == "" || $9 + 0 <= $3 + 0) { bad = 1 }
            END { exit bad }' "$tmp/eval.csv" &&
   [ "$(grep -c '| train-eval loss=[0-9.]* accuracy=[0-9.]* |' "$tmp/out")" -eq 2 ]
then pass "mlp: --eval-train logs and prints the training set's accuracy without dropout, above the running one"
else fail "mlp: --eval-train" "$(cat "$tmp/eval.csv" "$tmp/out" "$tmp/err")"; fi

# --- bad checkpoints
cp "$tmp/mlp.ckpt" "$tmp/corrupt.ckpt"
printf '\x55' | dd of="$tmp/corrupt.ckpt" bs=1 seek=4000 conv=notrunc 2>/dev/null
if ! run $mlp eval --load "$tmp/corrupt.ckpt" && grep -q "corrupt.ckpt" "$tmp/err" &&
   grep -qi "checksum" "$tmp/err"
then pass "a corrupt checkpoint is refused, naming the file and the checksum"
else fail "corrupt checkpoint" "$(cat "$tmp/err")"; fi

run build/e2e/tiny_mlp train --limit 500 --save "$tmp/tiny.ckpt"
if ! run $mlp eval --load "$tmp/tiny.ckpt" && grep -q "tiny_mlp" "$tmp/err"
then pass "another model's checkpoint is refused, naming that model"
else fail "foreign checkpoint" "$(cat "$tmp/err")"; fi

head -c 1000 "$tmp/mlp.ckpt" >"$tmp/short.ckpt"
if ! run $mlp eval --load "$tmp/short.ckpt" && grep -q "short.ckpt" "$tmp/err" &&
   grep -qi "truncated" "$tmp/err"
then pass "a truncated checkpoint is refused"
else fail "truncated checkpoint" "$(cat "$tmp/err")"; fi

# --- bad data
mkdir "$tmp/data"
cp "$data"/*labels* "$tmp/data/"
zcat "$data/train-images-idx3-ubyte.gz" | head -c 100000 >"$tmp/data/train-images-idx3-ubyte"
cp "$data/t10k-images-idx3-ubyte.gz" "$tmp/data/"
if ! run $mlp train --data "$tmp/data" --epochs 1 && grep -q "train-images-idx3-ubyte" "$tmp/err" &&
   grep -qi "truncated" "$tmp/err"
then pass "a truncated image file is refused, naming it"
else fail "truncated data" "$(cat "$tmp/err")"; fi

# --- a small CNN with every image kernel (conv, batchnorm, pools, dropout)
# (seeds 1 and 5 give 0.78, 0.76)
run build/e2e/small_cnn train --limit 4000 --epochs 2
acc=$(accuracy "$tmp/out")
if at_least "$acc" 0.72; then pass "small cnn: 4000 examples, 2 epochs reach test accuracy >= 0.72 ($acc)"
else fail "small cnn: reaches 0.72" "$(cat "$tmp/out" "$tmp/err")"; fi

done_testing
