#!/usr/bin/env bash
# The determinism contract (docs/trainer.md): for a given model, seed, data
# and batch size, the parameters after training are the same bits at any
# --threads, whichever kernels OpenBLAS selects, under each of the
# runtime's own kernel variants the CPU supports. One epoch on 2048 images
# of Fashion-MNIST, the seed MLP and the Keras CNN, and on 512 the residual
# CNN (batchnorm, skip connections, gap), at 1, 2 and 3 threads.
. tests/tap.sh
. tests/subset.sh
. tests/variants.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fashion_subset "$tmp/data" 2048 256

for run in "fashion_mlp 2048" "keras_mnist_cnn 2048" "fashion_resnet 512"; do
    set -- $run
    model=$1 limit=$2
    for isa in $(supported_isas); do
        what="$model [$isa]: --limit $limit --epochs 1 checkpoints are identical at 1, 2 and 3 threads"
        ok=1 log=""
        for t in 1 2 3; do
            if ! NNRT_ISA=$isa build/$model train --data "$tmp/data" --limit $limit --epochs 1 \
                    --threads $t --save "$tmp/$t.ckpt" >"$tmp/out" 2>&1; then
                ok=0 log="$log$(cat "$tmp/out")"
            elif [ $t -gt 1 ] && ! cmp "$tmp/1.ckpt" "$tmp/$t.ckpt" >"$tmp/cmp" 2>&1; then
                ok=0 log="$log threads $t: $(cat "$tmp/cmp")"
            fi
        done
        if [ $ok = 1 ]; then pass "$what"; else fail "$what" "$log"; fi
    done
done
done_testing
