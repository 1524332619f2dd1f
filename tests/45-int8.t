#!/usr/bin/env bash
# nnc --emit=deploy --int8: the trained network as int8 C (docs/deploy.md).
# For each model, trained briefly and calibrated on 1000 training images:
# the int8 file compiles alone under -std=c99 -pedantic -Werror with only
# its three headers, does no float arithmetic between quantising the input
# and dequantising the output, runs under AddressSanitizer with an arena of
# exactly NAME_ARENA_BYTES, and agrees with the trainer's float inference on
# the 10000 Fashion-MNIST test images within the bounds below; the MLP's
# weights take at most 0.26x the float file's; the fixed-point helpers
# match exact integer references.
. tests/deploy/setup.sh
define() { sed -n "s/^#define $1 //p" "$2"; }

# int8 NAME MODEL TRAINER_C MIN_AGREEMENT MAX_ACCURACY_LOSS IMAGES [MAX_DIFF]:
# train, quantise, compile, run on the first IMAGES test images, compare
# with the trainer's float outputs (and, for probabilities, bound the
# largest difference)
int8() {
    local name=$1 model=$2 trainer_c=$3 min_agree=$4 max_loss=$5 n=$6 max_diff=$7 macro d=$tmp/$1
    macro=$(echo "$name" | tr a-z A-Z)
    mkdir -p "$d"
    run "$cc" ${CFLAGS:--O2} -Ibuild/include -o "$d/trainer" "$trainer_c" $rt_libs &&
        run "$d/trainer" train --limit 2000 --epochs 1 --save "$d/net.ckpt" ||
        { fail "$name: trains" "$(cat "$tmp/err")"; return; }
    run "$cc" ${CFLAGS:--O2} -DNNC_NO_MAIN -DNET=$name -DNET_H="\"$(basename "${trainer_c%.c}").h\"" \
        -I"$(dirname "$trainer_c")" -Ibuild/include -Iruntime -o "$d/ref" tests/deploy/ref.c \
        "$trainer_c" $rt_libs &&
        run "$d/ref" "$d/net.ckpt" "$tmp/images.u8" "$d/ref.f32" ||
        { fail "$name: the trainer's outputs" "$(cat "$tmp/err")"; return; }

    if run build/nnc --emit=deploy --int8 --weights "$d/net.ckpt" "$model" -o "$d/net.c" &&
       [ -s "$d/net.c" ] && [ -s "$d/net.h" ]
    then pass "$name: --emit=deploy --int8 writes net.c and net.h"
    else fail "$name: --emit=deploy --int8" "$(cat "$tmp/err")"; return; fi

    if [ "$(grep -h '^#include <' "$d/net.c" "$d/net.h" | sort | tr '\n' ' ')" = \
         "#include <stddef.h> #include <stdint.h> #include <string.h> " ] &&
       ! grep -Eq '\b(malloc|calloc|free|printf|fopen|expf|tanhf|sqrtf)\(' "$d/net.c" &&
       ! sed "/^#ifdef ${macro}_STATIC_ARENA/,/^#endif/d" "$d/net.c" |
         grep -E '^(static )?(float|int|double|u?int[0-9]+_t)[^(]*(=|;)' | grep -v '^static const' | grep -q .
    then pass "$name: only stddef.h, stdint.h, string.h; no malloc, stdio, libm or mutable globals"
    else fail "$name: headers and globals" "$(grep -n '#include\|malloc\|printf' "$d/net.c" | head)"; fi

    # Float only in quantising the input (run's first loop), dequantising
    # (predict) and a final softmax (exp_, pow2i, softmax)
    local floats
    floats=$(awk '/^[a-z].*\(/ { fn = $0; next }
                  /^ *\/?\*/ { next }
                  /float/ && fn !~ /(pow2i|exp_|softmax|_predict|^static const int8_t \*run)\(/ { print NR": "$0 }
                  /float/ && fn ~ /\*run\(/ && !/const float \*input|t = input\[i\] \/|t = \(\(input\[i\] - [a-z0-9_]+_mean\[i\]\) \/ [a-z0-9_]+_std\[i\]\) \/|t < -128.0f|t < 0.0f/ { print NR": "$0 }' "$d/net.c")
    if [ -z "$floats" ] && grep -q 'conv8\|lut8\|add8\|requant8\|maxpool8' "$d/net.c"
    then pass "$name: no float arithmetic between the input's quantisation and the output's dequantisation"
    else fail "$name: float arithmetic in the int8 path" "$floats"; fi

    if run "$cc" $c99 -O2 -c -o "$d/net.o" "$d/net.c" &&
       run "$cc" $c99 -D${macro}_STATIC_ARENA -c -o "$d/static.o" "$d/net.c"
    then pass "$name: compiles alone under $c99 (and with -D${macro}_STATIC_ARENA)"
    else fail "$name: compiles under -std=c99 -pedantic -Werror" "$(cat "$tmp/err")"; return; fi

    local flags="-DNET=$name -DMACRO=$macro -DNET_H=\"net.h\" -I$d -Itests/deploy"
    if run "$cc" -std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all $flags \
           -o "$d/run_asan" tests/deploy/run.c "$d/net.c" &&
       run "$d/run_asan" "$tmp/images.u8" "$tmp/labels.u8" "$d/ref.f32" 100
    then pass "$name: runs under ASan and UBSan with an arena of exactly $(define ${macro}_ARENA_BYTES "$d/net.h") bytes"
    else fail "$name: ASan, arena of ARENA_BYTES" "$(head -n 20 "$tmp/err")"; fi

    run "$cc" -std=c99 -O2 $flags -D${macro}_STATIC_ARENA -DSTATIC_ARENA -o "$d/run" \
        tests/deploy/run.c "$d/net.c" &&
        run "$d/run" "$tmp/images.u8" "$tmp/labels.u8" "$d/ref.f32" "$n" ||
        { fail "$name: runs on the test set" "$(cat "$tmp/err")"; return; }
    cp "$tmp/out" "$d/result"
    local agree acc ref_acc
    agree=$(field agreement "$d/result") acc=$(field accuracy "$d/result")
    ref_acc=$(field ref_accuracy "$d/result")
    echo "# $name: int8 $(cat "$d/result") (ref: the trainer's float inference)"
    if awk -v g="$agree" -v min="$min_agree" 'BEGIN { exit !(g != "" && g >= min) }'
    then pass "$name: int8 argmax agrees with float on >= $min_agree of $n test images ($agree)"
    else fail "$name: agreement" "$(cat "$d/result")"; fi
    if awk -v a="$acc" -v r="$ref_acc" -v max="$max_loss" 'BEGIN { exit !(a != "" && r - a <= max) }'
    then pass "$name: int8 accuracy $acc, float $ref_acc: a loss of at most $max_loss"
    else fail "$name: accuracy loss" "$(cat "$d/result")"; fi
    [ -z "$max_diff" ] && return
    local diff
    diff=$(field max_logit_diff "$d/result")
    if awk -v g="$diff" -v max="$max_diff" 'BEGIN { exit !(g != "" && g <= max) }'
    then pass "$name: int8 probabilities within $max_diff of float ($diff)"
    else fail "$name: probabilities" "$(cat "$d/result")"; fi
}

# The bounds: the MLP as issue 10 asks of the fully trained one; the
# others, briefly trained, as measured with some margin (docs/deploy.md)
int8 fashion_mlp models/fashion_mlp.model build/fashion_mlp.c 0.98 0.005 10000
build/nnc tests/deploy/acts.model -o "$tmp/deploy_acts.c" >/dev/null
int8 deploy_acts tests/deploy/acts.model "$tmp/deploy_acts.c" 0.97 0.01 2000 0.05
int8 residual tests/e2e/residual.model build/e2e/residual.c 0.97 0.01 2000
int8 dense_concat tests/e2e/dense_concat.model build/e2e/dense_concat.c 0.95 0.02 2000
build/nnc tests/deploy/int8_bn.model -o "$tmp/int8_bn.c" >/dev/null
int8 int8_bn tests/deploy/int8_bn.model "$tmp/int8_bn.c" 0.95 0.02 2000 0.05

# --- the MLP's weights against the float file's
d=$tmp/fashion_mlp
if run build/nnc --emit=deploy --weights "$d/net.ckpt" models/fashion_mlp.model -o "$d/float.c" &&
   awk -v i="$(define FASHION_MLP_WEIGHT_BYTES "$d/net.h")" -v f="$(define FASHION_MLP_WEIGHT_BYTES "$d/float.h")" \
       'BEGIN { printf "# weights: int8 %d bytes, float %d, ratio %.4f\n", i, f, i / f; exit !(i > 0 && i <= 0.26 * f) }'
then pass "fashion_mlp: the int8 weights take at most 0.26x the float file's"
else fail "fashion_mlp: weight bytes" "$(cat "$tmp/err")"; fi

# --- the fixed-point helpers, and nnc's multipliers, against exact references
objs=$(ls build/compiler/*.o build/grammar/*.o | grep -v '/main\.o$')
# (nnc's objects take make's CFLAGS: under make sanitize they are sanitized)
if run "$cc" ${CFLAGS:--O2} -DNET_C="\"$d/net.c\"" -o "$tmp/fixedcheck" tests/deploy/fixedcheck.c $objs \
       build/runtime/checkpoint.o build/runtime/fail.o build/runtime/optim_state.o \
       build/runtime/atomic.o build/runtime/data_meta.o -lz -lm &&
   run "$tmp/fixedcheck"
then pass "high_mul, div_pot, rescale, quantize_multiplier: exact ($(cat "$tmp/out"))"
else fail "fixed-point helpers" "$(cat "$tmp/out" "$tmp/err")"; fi

# --- usage
run build/nnc --int8 --weights "$d/net.ckpt" models/fashion_mlp.model
if [ $? -eq 2 ] && grep -q -- "--int8 only goes with --emit=deploy" "$tmp/err"
then pass "--int8 without --emit=deploy is a usage error"
else fail "--int8 alone" "$(cat "$tmp/err")"; fi
run build/nnc --emit=deploy --int8 --weights "$d/net.ckpt" --calibrate 0 models/fashion_mlp.model
if [ $? -eq 2 ] && grep -q -- "--calibrate takes a number of images in 1..1000000, got '0'" "$tmp/err"
then pass "--calibrate 0 is a usage error"
else fail "--calibrate 0" "$(cat "$tmp/err")"; fi
run build/nnc --emit=deploy --int8 --weights "$d/net.ckpt" --data "$tmp" models/fashion_mlp.model -o "$tmp/nodata.c"
if [ $? -eq 1 ] && [ ! -e "$tmp/nodata.c" ] &&
   grep -q "^nnc: error: $tmp/train-images-idx3-ubyte.gz: cannot open the calibration images$" "$tmp/err"
then pass "a data directory without training images is refused, nothing written"
else fail "missing calibration data" "$(cat "$tmp/err")"; fi

done_testing
