#!/usr/bin/env bash
# Exact resume (docs/trainer.md, Resuming): a run of 4 epochs and a run of
# 2 epochs resumed to 4 (on another thread count) write the same
# checkpoint, byte for byte, for the seed MLP (Adam, dropout) and for a
# model with batchnorm and SGD with momentum; and kill -9 at random moments of a run with --save-every 1
# leaves a checkpoint that loads and resumes to the uninterrupted result.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=/usr/share/datasets/fashion-mnist
mlp=build/fashion_mlp
bn=build/e2e/bn_sgd

# same NAME A B: the two checkpoints are identical
same() {
    if cmp "$2" "$3" >"$tmp/cmp" 2>&1; then pass "$1"
    else fail "$1" "$(cat "$tmp/cmp")"; fi
}

for model in $mlp $bn; do
    name=${model##*/}
    $model train --limit 1000 --epochs 4 --threads 2 --save "$tmp/$name-4.ckpt" >/dev/null 2>"$tmp/err" &&
    $model train --limit 1000 --epochs 2 --threads 1 --save "$tmp/$name-2.ckpt" >/dev/null 2>>"$tmp/err" &&
    $model train --resume "$tmp/$name-2.ckpt" --epochs 4 --threads 3 >"$tmp/out" 2>>"$tmp/err" ||
        fail "$name: the runs" "$(cat "$tmp/err")"
    same "$name: 4 epochs on 2 threads, and 2 on 1 resumed to 4 on 3, give the same checkpoint" \
        "$tmp/$name-4.ckpt" "$tmp/$name-2.ckpt"
done

$bn train --limit 1000 --epochs 0 --save "$tmp/init.ckpt" >/dev/null &&
$bn train --resume "$tmp/init.ckpt" --epochs 4 --save "$tmp/from0.ckpt" >/dev/null ||
    fail "bn_sgd: --epochs 0, then resumed"
same "bn_sgd: --epochs 0 saves the initial parameters: resumed to 4, the same checkpoint" \
    "$tmp/bn_sgd-4.ckpt" "$tmp/from0.ckpt"

# --- kill -9 at 30 random moments. A small data set (1000 training and 500
# test images) keeps a run near a tenth of a second.
small=$tmp/small
mkdir "$small"
# idx NAME HEADER_BYTES COUNT_OFFSET N RECORD_BYTES: the first N records of
# the real file NAME, with the count in its header set to N
idx() {
    local src=$data/$1.gz hex
    hex=$(printf '%08x' "$4")
    { zcat "$src" | head -c "$3"
      printf "\\x${hex:0:2}\\x${hex:2:2}\\x${hex:4:2}\\x${hex:6:2}"
      zcat "$src" | tail -c +$(($3 + 5)) | head -c $(($2 - $3 - 4 + $4 * $5)); } >"$small/$1"
}
idx train-images-idx3-ubyte 16 4 1000 784
idx train-labels-idx1-ubyte 8 4 1000 1
idx t10k-images-idx3-ubyte 16 4 500 784
idx t10k-labels-idx1-ubyte 8 4 500 1

ckpt=$tmp/kill.ckpt
fresh=(train --data "$small" --epochs 6 --save-every 1 --save "$ckpt" --threads 1)
start=$(date +%s%N)
$bn "${fresh[@]}" >"$tmp/out" 2>&1 || fail "bn_sgd: the uninterrupted run" "$(cat "$tmp/out")"
ms=$((($(date +%s%N) - start) / 1000000 + 1))
mv "$ckpt" "$tmp/ref.ckpt"

RANDOM=${KILL_SEED:-42}
kills=0 bad=0 after=0
while [ "$kills" -lt 30 ]; do
    rm -f "$ckpt"
    saved=0
    # up to three kills in a row, the later ones of resumed runs
    for _ in 1 2 3; do
        if [ -f "$ckpt" ]; then cmd=(train --resume "$ckpt"); else cmd=("${fresh[@]}"); fi
        $bn "${cmd[@]}" >"$tmp/out" 2>&1 &
        pid=$!
        sleep "$(awk -v r=$((RANDOM % ms)) 'BEGIN { printf "%.3f", r / 1000 }')"
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        kills=$((kills + 1))
        grep -q '^checkpoint:' "$tmp/out" && saved=1
        if [ -f "$ckpt" ]; then
            saved=1 after=$((after + 1))
            if ! $bn eval --data "$small" --load "$ckpt" >"$tmp/eval" 2>&1; then
                bad=$((bad + 1)); fail "kill $kills: the checkpoint loads" "$(cat "$tmp/eval")"
            fi
        elif [ "$saved" = 1 ]; then
            bad=$((bad + 1)); fail "kill $kills: a checkpoint was saved, and then there was none"
        fi
    done
    if [ -f "$ckpt" ]; then cmd=(train --resume "$ckpt"); else cmd=("${fresh[@]}"); fi
    if ! $bn "${cmd[@]}" >"$tmp/out" 2>&1 || ! cmp -s "$ckpt" "$tmp/ref.ckpt"; then
        bad=$((bad + 1)); fail "after kill $kills: the resumed run ends with the reference" \
            "$(cat "$tmp/out")"
    fi
done
if [ "$bad" -eq 0 ]
then pass "bn_sgd: 30 kill -9 at random moments of ${ms} ms runs ($after after a save): each leaves a checkpoint that loads, or none before the first save, and resuming gives the uninterrupted checkpoint"
fi

done_testing
