#!/usr/bin/env bash
# nnc --emit=deploy: the trained network as dependency-free C (docs/deploy.md).
# For each model, trained briefly: the deployed C compiles alone under
# -std=c99 -pedantic -Werror with only its three headers, runs on the
# Fashion-MNIST test set with an arena of exactly NAME_ARENA_BYTES under
# AddressSanitizer, and agrees with the trainer's inference on the same
# checkpoint; its exp and tanh are within their documented error; a
# checkpoint of another model or architecture is refused as the trainer
# refuses it.
. tests/deploy/setup.sh
# at_least A MIN: exits 0 when A >= MIN
at_least() { awk -v a="$1" -v min="$2" 'BEGIN { exit !(a != "" && a >= min) }'; }

# deploy NAME MODEL TRAINER_C: train, emit, compile, run, compare
deploy() {
    local name=$1 model=$2 trainer_c=$3 macro d=$tmp/$1
    macro=$(echo "$name" | tr a-z A-Z)
    mkdir -p "$d"
    run "$cc" ${CFLAGS:--O2} -Ibuild/include -o "$d/trainer" "$trainer_c" $rt_libs ||
        { fail "$name: the trainer builds" "$(cat "$tmp/err")"; return; }
    run "$d/trainer" train --limit 2000 --epochs 1 --save "$d/net.ckpt" ||
        { fail "$name: trains" "$(cat "$tmp/err")"; return; }
    run "$d/trainer" eval --load "$d/net.ckpt"
    local eval_acc
    eval_acc=$(tail -n 1 "$tmp/out" | sed -n 's/^test: loss=[0-9.]* accuracy=\([0-9.]*\)$/\1/p')

    if run build/nnc --emit=deploy --weights "$d/net.ckpt" "$model" -o "$d/net.c" &&
       [ -s "$d/net.c" ] && [ -s "$d/net.h" ]
    then pass "$name: --emit=deploy writes net.c and net.h"
    else fail "$name: --emit=deploy" "$(cat "$tmp/err")"; return; fi

    # Only the three headers, and nothing that needs a library or the heap
    if [ "$(grep -h '^#include <' "$d/net.c" "$d/net.h" | sort | tr '\n' ' ')" = \
         "#include <stddef.h> #include <stdint.h> #include <string.h> " ] &&
       ! grep -Eq '\b(malloc|calloc|free|printf|fopen|expf|tanhf|sqrtf)\(' "$d/net.c"
    then pass "$name: includes only stddef.h, stdint.h, string.h; no malloc, stdio or libm"
    else fail "$name: headers" "$(grep -n '#include\|malloc\|printf' "$d/net.c" | head)"; fi
    # No mutable object outside -DNAME_STATIC_ARENA: every file-scope object is static const
    if ! sed "/^#ifdef ${macro}_STATIC_ARENA/,/^#endif/d" "$d/net.c" |
         grep -E '^(static )?(float|int|double|uint[0-9]+_t)[^(]*(=|;)' | grep -q .
    then pass "$name: no mutable globals"
    else fail "$name: globals"; fi

    if run "$cc" $c99 -O2 -c -o "$d/net.o" "$d/net.c" &&
       run "$cc" $c99 -D${macro}_STATIC_ARENA -c -o "$d/static.o" "$d/net.c"
    then pass "$name: compiles alone under $c99 (and with -D${macro}_STATIC_ARENA)"
    else fail "$name: compiles under -std=c99 -pedantic -Werror" "$(cat "$tmp/err")"; return; fi

    local flags="-DNET=$name -DMACRO=$macro -DNET_H=\"net.h\" -I$d -Itests/deploy"
    run "$cc" ${CFLAGS:--O2} -DNNC_NO_MAIN -DNET=$name -DNET_H="\"$(basename "${trainer_c%.c}").h\"" \
        -I"$(dirname "$trainer_c")" -Ibuild/include \
        -Iruntime -o "$d/ref" tests/deploy/ref.c "$trainer_c" $rt_libs &&
        run "$d/ref" "$d/net.ckpt" "$tmp/images.u8" "$d/ref.f32" ||
        { fail "$name: the trainer's outputs" "$(cat "$tmp/err")"; return; }

    # The arena is malloc'd to exactly NAME_ARENA_BYTES: ASan stops at a byte beyond
    if run "$cc" -std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all $flags \
           -o "$d/run_asan" tests/deploy/run.c "$d/net.c" &&
       run "$d/run_asan" "$tmp/images.u8" "$tmp/labels.u8" "$d/ref.f32" 300
    then pass "$name: runs under ASan with an arena of exactly $(sed -n "s/^#define ${macro}_ARENA_BYTES //p" "$d/net.h") bytes"
    else fail "$name: ASan, arena of ARENA_BYTES" "$(head -n 20 "$tmp/err")"; fi

    run "$cc" -std=c99 -O2 $flags -D${macro}_STATIC_ARENA -DSTATIC_ARENA -o "$d/run" \
        tests/deploy/run.c "$d/net.c" &&
        run "$d/run" "$tmp/images.u8" "$tmp/labels.u8" "$d/ref.f32" 10000 ||
        { fail "$name: runs on the test set" "$(cat "$tmp/err")"; return; }
    cp "$tmp/out" "$d/result"
    local agree acc ref_acc diff
    agree=$(field agreement "$d/result") acc=$(field accuracy "$d/result")
    ref_acc=$(field ref_accuracy "$d/result") diff=$(field max_logit_diff "$d/result")
    echo "# $name: $(cat "$d/result") eval_accuracy=$eval_acc"
    if at_least "$agree" 0.999
    then pass "$name: argmax agrees with the trainer on >= 99.9% of 10000 test images ($agree)"
    else fail "$name: agreement" "$(cat "$d/result")"; fi
    if [ -n "$eval_acc" ] && awk -v a="$acc" -v e="$eval_acc" 'BEGIN { d = a - e; exit !(d <= 0.001 && d >= -0.001) }'
    then pass "$name: accuracy $acc against eval's $eval_acc (max output difference $diff)"
    else fail "$name: accuracy against eval" "deploy $acc, eval '$eval_acc'"; fi
}

make_trainer() { # the trainer C of a model that is not in the Makefile's lists
    build/nnc "$1" -o "$2" >/dev/null
}

deploy fashion_mlp models/fashion_mlp.model build/fashion_mlp.c
deploy small_cnn tests/e2e/small_cnn.model build/e2e/small_cnn.c
deploy residual tests/e2e/residual.model build/e2e/residual.c
deploy dense_concat tests/e2e/dense_concat.model build/e2e/dense_concat.c
make_trainer tests/deploy/acts.model "$tmp/deploy_acts.c"
deploy deploy_acts tests/deploy/acts.model "$tmp/deploy_acts.c"

# --- exp and tanh against glibc (the numbers in docs/deploy.md)
if run "$cc" -O2 -DNET_C="\"$tmp/deploy_acts/net.c\"" -o "$tmp/mathcheck" tests/deploy/mathcheck.c -lm &&
   run "$tmp/mathcheck" &&
   awk '{ for (i = 1; i <= NF; i++) if ($i == "error") rel[$1] = $(i + 1) }
        END { exit !(rel["exp:"] + 0 <= 2.4e-7 && rel["tanh:"] + 0 <= 4.8e-7) }' "$tmp/out"
then pass "exp, tanh: within 2 and 4 ulp-sized relative errors of glibc's"; sed 's/^/# /' "$tmp/out"
else fail "exp, tanh against glibc" "$(cat "$tmp/out" "$tmp/err")"; fi

# --- a format 1 checkpoint (docs/trainer.md: the header ends with the
# epoch, no optimizer state) of the same floats gives the same C
perl -MCompress::Zlib -e '
    open my $f, "<:raw", $ARGV[0] or die; local $/; my $b = <$f>;
    my $L = unpack "V", substr($b, 12, 4);
    my ($np, $ns) = unpack "Q<Q<", substr($b, 24 + $L, 16);
    my $D = unpack "V", substr($b, 120 + $L, 4);
    my $v1 = substr($b, 0, 8) . pack("V", 1) . substr($b, 12, 4 + $L + 24) .
             substr($b, 48 + $L, 8) . substr($b, 124 + $L + $D, 4 * ($np + $ns));
    print $v1, pack("V", crc32($v1));' "$tmp/small_cnn/net.ckpt" >"$tmp/v1.ckpt"
mkdir -p "$tmp/v1"
if run build/nnc --emit=deploy --weights "$tmp/v1.ckpt" tests/e2e/small_cnn.model -o "$tmp/v1/net.c" &&
   [ "$(od -An -tu4 -j8 -N4 "$tmp/v1.ckpt" | tr -d ' ')" = 1 ] && diff <(tail -n +2 "$tmp/v1/net.c") <(tail -n +2 "$tmp/small_cnn/net.c") >/dev/null
then pass "a format 1 checkpoint (small_cnn: parameters and batchnorm state) gives the same C"
else fail "format 1 checkpoint" "$(cat "$tmp/err")"; fi

# --- refusals: the trainer's words, and no file written
ck=$tmp/small_cnn/net.ckpt
run build/fashion_mlp eval --load "$ck"
want=$(sed 's/^fashion_mlp: error: //' "$tmp/err")
run build/nnc --emit=deploy --weights "$ck" models/fashion_mlp.model -o "$tmp/other.c"
if [ $? -eq 1 ] && [ "$(cat "$tmp/err")" = "nnc: error: $want" ] && [ ! -e "$tmp/other.c" ] &&
   [ "$want" = "$ck: belongs to another model: 'small_cnn', not 'fashion_mlp'" ]
then pass "a checkpoint of another model is refused with the trainer's message, nothing written"
else fail "another model's checkpoint" "want: nnc: error: $want" "got: $(cat "$tmp/err")"; fi

sed 's/^dense 1024 relu$/dense 512 relu/' models/fashion_mlp.model >"$tmp/fashion_mlp.model"
run build/nnc --emit=deploy --weights "$tmp/fashion_mlp/net.ckpt" "$tmp/fashion_mlp.model" -o "$tmp/changed.c"
if [ $? -eq 1 ] && [ ! -e "$tmp/changed.c" ] &&
   grep -q "^nnc: error: $tmp/fashion_mlp/net.ckpt: the architecture of 'fashion_mlp' changed since this checkpoint was saved (fingerprint [0-9a-f]*, now [0-9a-f]*; 814090 parameters, now 407050)$" "$tmp/err"
then pass "a changed architecture is refused with the trainer's message"
else fail "changed architecture" "$(cat "$tmp/err")"; fi

run build/nnc --emit=deploy models/fashion_mlp.model
if [ $? -eq 2 ] && grep -q -- "--emit=deploy needs --weights CKPT" "$tmp/err"
then pass "--emit=deploy without --weights is a usage error"
else fail "--weights required" "$(cat "$tmp/err")"; fi

done_testing
