#!/usr/bin/env bash
# Host inferences per second of the deployed C (nnc --emit=deploy, float
# and --int8) against the trainer's own inference at batch 1 (`bench`'s
# infer1), for the seed MLP, one thread, side by side in one run: the
# three alternate for ROUNDS rounds, so a noisy machine slows all alike.
# Speed does not depend on the weights' values: a brief training gives the
# checkpoint. Usage: scripts/bench-deploy.sh (make bench-deploy);
# DEPLOY_ROUNDS (3), DEPLOY_SECONDS per run (3).
set -euo pipefail
rounds=${DEPLOY_ROUNDS:-3}
seconds=${DEPLOY_SECONDS:-3}
build=${BENCH_BUILD:-build}
cc=${CC:-cc}
data=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1

"$build/fashion_mlp" train --limit 2000 --epochs 1 --save "$tmp/net.ckpt" >/dev/null
gunzip -c $data/t10k-images-idx3-ubyte.gz | tail -c +17 >"$tmp/images.u8"
for kind in float int8; do
    mkdir -p "$tmp/$kind"
    flag=; [ $kind = float ] || flag=--int8
    "$build/nnc" --emit=deploy $flag --weights "$tmp/net.ckpt" models/fashion_mlp.model -o "$tmp/$kind/net.c"
    # -O2, as a user builds it; no -march, so the file's own code is what is measured
    "$cc" -std=c99 -O2 -DNET=fashion_mlp -DMACRO=FASHION_MLP -DNET_H='"net.h"' -I"$tmp/$kind" \
        -o "$tmp/$kind/rate" bench/deploy_rate.c "$tmp/$kind/net.c"
done

rate() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p"; }
for r in $(seq 1 "$rounds"); do
    f=$("$tmp/float/rate" "$tmp/images.u8" 1000 "$seconds" | rate inferences_per_s)
    q=$("$tmp/int8/rate" "$tmp/images.u8" 1000 "$seconds" | rate inferences_per_s)
    t=$("$build/fashion_mlp" bench --threads 1 --steps 20 --windows 3 | rate infer1_samples_per_s)
    echo "round $r: deployed float $f/s, deployed int8 $q/s, trainer infer (batch 1) $t/s"
    echo "$f $q $t" >>"$tmp/rates"
done
awk '{ f[NR] = $1; q[NR] = $2; t[NR] = $3 }
     function med(a, n,   i, j, x) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                                      if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
                                    return a[int((n + 1) / 2)] }
     END { mf = med(f, NR); mq = med(q, NR); mt = med(t, NR)
           printf "median over %d rounds: deployed float %.0f/s (%.2fx the trainer), int8 %.0f/s (%.2fx), trainer %.0f/s\n",
                  NR, mf, mf / mt, mq, mq / mt, mt }' "$tmp/rates"
