#!/bin/sh
# bench-compare.sh: this tree's trainers against another revision's, side
# by side in one run (`make bench-compare BASE=REV`). Builds REV in
# build/base/ (a git worktree), then alternates the two builds' `bench`
# on each model and batch ROUNDS times (so both see the same machine
# state) and prints the median samples/s of each, and their ratio, as a
# Markdown table; the raw JSON lines go to build/bench/compare.jsonl.
# Settings: BASE (required), ROUNDS (3), THREADS (the trainers' default),
# CNN_WINDOWS (`bench` options of the CNN rows, shorter than the default
# on a slow machine: "--steps 50 --warmup 10 --windows 7" is the default).
set -eu
base=${BASE:?usage: make bench-compare BASE=REV}
rounds=${ROUNDS:-3}
threads=${THREADS:+--threads $THREADS}
here=$(pwd)
wt=build/base
mkdir -p build/bench
rm -rf "$wt"; git worktree prune
git worktree add -q --detach "$wt" "$base"
make -s -C "$wt" build/fashion_mlp build/keras_mnist_cnn >/dev/null
make -s build/fashion_mlp build/keras_mnist_cnn >/dev/null
raw=build/bench/compare.jsonl; : >"$raw"
cnn=${CNN_WINDOWS:-}
# model batch [bench options]: the rows
for row in "fashion_mlp 64" "fashion_mlp 256" "keras_mnist_cnn 128 $cnn"; do
    set -- $row
    model=$1 batch=$2; shift 2
    for r in $(seq "$rounds"); do
        for side in base new; do
            dir=$here; [ $side = base ] && dir=$here/$wt
            # shellcheck disable=SC2086
            line=$("$dir/build/$model" bench --batch "$batch" $threads "$@")
            echo "{\"side\": \"$side\", \"round\": $r, ${line#\{}" >>"$raw"
        done
    done
done
git worktree remove --force "$wt"
/usr/bin/python3 - "$raw" "$base" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = [("train_samples_per_s", "training"), ("infer1_samples_per_s", "inference, batch 1"),
        ("infer64_samples_per_s", "inference, batch 64"),
        ("infer256_samples_per_s", "inference, batch 256")]
print(f"| samples/s (median of {max(r['round'] for r in rows)}) | {sys.argv[2]} | this tree | ratio |")
print("|---|---:|---:|---:|")
seen = []
for r in rows:
    if (r["model"], r["batch"]) not in seen:
        seen.append((r["model"], r["batch"]))
for model, batch in seen:
    for key, what in keys:
        if key != "train_samples_per_s" and batch != max(b for m, b in seen if m == model):
            continue
        med = {s: statistics.median(r[key] for r in rows
                                    if r["model"] == model and r["batch"] == batch and r["side"] == s)
               for s in ("base", "new")}
        label = f"{model} {what}" + (f", batch {batch}" if key == "train_samples_per_s" else "")
        print(f"| {label} | {med['base']:,.0f} | {med['new']:,.0f} | {med['new'] / med['base']:.3f} |")
PY
