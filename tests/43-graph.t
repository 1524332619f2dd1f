#!/usr/bin/env bash
# A graph model end to end: the residual block of tests/e2e/residual.model
# (a projection shortcut, an add, a value read twice) trains on a
# Fashion-MNIST subset, its loss falls, and its checkpoint is the same
# bytes at 1 and 2 threads (the determinism contract, with fan-out
# gradients summed in a fixed order).
. tests/tap.sh
. tests/subset.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fashion_subset "$tmp/data" 500 200
res=build/e2e/residual

# loss N FILE: the train loss of epoch N
loss() { sed -n "s/^epoch $1\/[0-9]*: train loss=\([0-9.]*\) .*/\1/p" "$2"; }

if $res train --data "$tmp/data" --limit 500 --epochs 2 --threads 1 --save "$tmp/1.ckpt" >"$tmp/out1" 2>&1 &&
   awk -v a="$(loss 1 "$tmp/out1")" -v b="$(loss 2 "$tmp/out1")" 'BEGIN { exit !(a != "" && b != "" && b < a) }'
then pass "residual: the train loss falls from epoch 1 to 2 ($(loss 1 "$tmp/out1") -> $(loss 2 "$tmp/out1"))"
else fail "residual: the loss falls" "$(cat "$tmp/out1")"; fi

if $res train --data "$tmp/data" --limit 500 --epochs 2 --threads 2 --save "$tmp/2.ckpt" >"$tmp/out2" 2>&1 &&
   cmp "$tmp/1.ckpt" "$tmp/2.ckpt" >"$tmp/cmp" 2>&1
then pass "residual: the checkpoints are identical at 1 and 2 threads"
else fail "residual: deterministic" "$(cat "$tmp/out2" "$tmp/cmp")"; fi
done_testing
