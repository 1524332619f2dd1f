#!/usr/bin/env bash
# The deployed C (nnc --emit=deploy) on an emulated Cortex-M4: the
# firmware of tests/cortexm/ links one deployed file, runs it under
# qemu-system-arm with semihosting on Fashion-MNIST test images read from
# the host, and its outputs must be bit-identical to the host build of the
# same file (-ffp-contract=off on both); it reports the instructions per
# inference (qemu -icount, SysTick), the stack's high-water mark and the
# arena. Also: the code size at -Os without the weights, within the
# issue's budgets, and the netduinoplus2 budgets (1 MB flash, 128 KB RAM)
# enforced by its linker script. docs/deploy.md, "On a Cortex-M", quotes
# the numbers this prints as comments. CORTEXM_CNN_IMAGES sets the Keras
# CNN's image count (200: about a minute of QEMU).
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=/usr/share/datasets/fashion-mnist
cc=${CC:-cc}
c99="-std=c99 -Wall -Wextra -Werror -pedantic -Wshadow -Wmissing-prototypes"
m4="arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
# Each instruction 1 ns of virtual time: SysTick then counts instructions
qemu="qemu-system-arm -nographic -monitor none -serial none -icount shift=0"
fw=tests/cortexm

gunzip -c $data/t10k-images-idx3-ubyte.gz | tail -c +17 >"$tmp/images.u8"

run() { "$@" >"$tmp/out" 2>"$tmp/err"; }
# field KEY FILE: the value of KEY=VALUE in FILE's last line
field() { tail -n 1 "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

if command -v arm-none-eabi-gcc >/dev/null && command -v qemu-system-arm >/dev/null
then pass "arm-none-eabi-gcc and qemu-system-arm are installed"
else fail "the cross tools (scripts/deps.sh installs them)"; done_testing; exit; fi

# prefix DIR: the deployed file's prefix, as its net.h declares NAME_predict
# (the macros are NAME in capitals)
prefix() { sed -n 's/^void \([A-Za-z0-9_]*\)_predict(.*/\1/p' "$tmp/$1/net.h"; }

# emit DIR MODEL TRAINER [NNC_OPTION...]: a brief training, then the
# deployed C in $tmp/DIR/net.c
emit() {
    local d=$tmp/$1 model=$2 trainer=$3
    shift 3
    mkdir -p "$d"
    run "$trainer" train --limit 2000 --epochs 1 --save "$d/net.ckpt" &&
        run build/nnc --emit=deploy "$@" --weights "$d/net.ckpt" "$model" -o "$d/net.c"
}

# firmware DIR BOARD [LDFLAGS...]: links $tmp/DIR/BOARD.elf at -O2 against
# the board's linker script (a region overflowed fails here)
firmware() {
    local d=$tmp/$1 board=$2 net
    net=$(prefix "$1")
    shift 2
    run $m4 $c99 -O2 -ffp-contract=off -ffunction-sections -fdata-sections \
        -DNET="$net" -DMACRO="$(echo "$net" | tr a-z A-Z)" -DNET_H='"net.h"' -I"$d" \
        -o "$d/$board.elf" $fw/main.c $fw/startup.c "$d/net.c" \
        -nostartfiles --specs=nano.specs -Wl,--gc-sections -L$fw -T "$board.ld" "$@"
}

# onboard NAME MODEL TRAINER BOARD N [NNC_OPTION...]: N images on BOARD,
# bit for bit against the host; NAME names the run (and its directory),
# the options go to nnc --emit=deploy
onboard() {
    local name=$1 model=$2 trainer=$3 board=$4 n=$5 d=$tmp/$1 net
    shift 5
    emit "$name" "$model" "$trainer" "$@" && net=$(prefix "$name") && [ -n "$net" ] ||
        { fail "$name: trains and deploys" "$(cat "$tmp/err")"; return; }
    run "$cc" $c99 -O2 -ffp-contract=off -DNET="$net" -DMACRO="$(echo "$net" | tr a-z A-Z)" -DNET_H='"net.h"' -I"$d" \
        -o "$d/host" $fw/main.c $fw/hosted.c "$d/net.c" &&
        run "$d/host" "$tmp/images.u8" "$n" "$d/host.hex" ||
        { fail "$name: the host build" "$(cat "$tmp/out" "$tmp/err")"; return; }
    firmware "$name" "$board" && pass "$name: the firmware compiles under $c99 and links for $board" ||
        { fail "$name: firmware for $board" "$(cat "$tmp/err")"; return; }
    local start=$SECONDS status
    (cd "$d" && timeout 900 $qemu -M "$board" -kernel "$board.elf" \
        -semihosting-config "enable=on,target=native,arg=fw,arg=$tmp/images.u8,arg=$n,arg=$d/dev.hex,arg=$d/host.hex") \
        >"$d/report" 2>&1
    status=$?
    echo "# $name on $board: $(tail -n 1 "$d/report") ($((SECONDS - start)) s)"
    if [ $status -eq 0 ] && [ "$(field n "$d/report")" = "$n" ] && cmp -s "$d/dev.hex" "$d/host.hex"
    then pass "$name: on $board, $n outputs bit-identical to the host's (-ffp-contract=off)"
    else fail "$name: on $board, exit status $status, not bit-identical to the host" "$(cat "$d/report")" \
              "$(diff "$d/dev.hex" "$d/host.hex" | head -n 6)"; return; fi

    # Multiply-accumulates: the weights of each dense, times the output
    # pixels for each conv2d (nnc --summary: its parameters less the biases)
    local macs insns
    macs=$(build/nnc --summary "$model" | awk '
        /\((Conv2D|Dense)\)/ { match($0, /\(None, [0-9, ]*\)/); n = split(substr($0, RSTART + 7, RLENGTH - 8), s, ", ")
                               p = $NF; gsub(",", "", p); c = s[n]; m = p - c
                               for (i = 1; i < n; i++) m *= s[i]; total += m }
        END { print total }')
    insns=$(field instructions "$d/report")
    if [ -n "$insns" ] && [ "$insns" -gt "$macs" ]
    then pass "$name: $insns instructions per inference, $macs MACs: $(awk -v i="$insns" -v m="$macs" 'BEGIN { printf "%.2f", i / m }') per MAC"
    else fail "$name: instructions counted" "$(cat "$d/report")"; fi
    echo "# $name: RAM: arena $(field arena "$d/report") B, stack high-water mark $(field stack "$d/report") B (firmware frames included)"
}

# code NAME BUDGET: onboard NAME's deployed file's code at -Os, all its sections but
# the weight arrays (its static const objects, which must add up to
# NAME_WEIGHT_BYTES), the file's exp and tanh included
code() {
    local name=$1 budget=$2 d=$tmp/$1 macro bytes
    macro=$(sed -n 's/^#define \([A-Z0-9_]*\)_WEIGHT_BYTES .*/\1/p' "$d/net.h")
    run $m4 $c99 -Os -ffp-contract=off -ffunction-sections -fdata-sections -c -o "$d/net-Os.o" "$d/net.c" ||
        { fail "$name: compiles at -Os" "$(cat "$tmp/err")"; return; }
    sed -n 's/^static const [a-z0-9_]* \([A-Za-z0-9_]*\)\[.*/.rodata.\1/p' "$d/net.c" >"$d/weights"
    bytes=$(arm-none-eabi-size -A "$d/net-Os.o" | awk -v w="$(sed -n "s/^#define ${macro}_WEIGHT_BYTES //p" "$d/net.h")" '
        FILENAME != "-" { weight[$1] = 1; next }
        $1 ~ /^\.(text|rodata|data|bss)/ { if ($1 in weight) wsum += $2; else code += $2 }
        END { print (wsum == w ? code : "weights " wsum " != " w) }' "$d/weights" -)
    if [ "$bytes" -le "$budget" ] 2>/dev/null
    then pass "$name: $bytes bytes of code at -Os without the weights (budget $budget)"
    else fail "$name: code at -Os within $budget bytes" "$bytes" "$(arm-none-eabi-size -A "$d/net-Os.o")"; fi
    if arm-none-eabi-nm -u "$d/net-Os.o" | grep -q .
    then fail "$name: calls nothing outside the file" "$(arm-none-eabi-nm -u "$d/net-Os.o")"
    else pass "$name: calls nothing outside the file (no libm, no libc)"; fi
}

# The seed MLP's 3.2 MB of float weights are over the STM32F405's 1 MB of
# flash: it runs on mps2-an386, and its netduinoplus2 link must fail
onboard fashion_mlp models/fashion_mlp.model build/fashion_mlp mps2-an386 200
code fashion_mlp 2048
firmware fashion_mlp netduinoplus2
if [ $? -ne 0 ] && grep -q "region \`FLASH' overflowed" "$tmp/err"
then pass "fashion_mlp (float) does not link for netduinoplus2: over its 1 MB of flash"
else fail "netduinoplus2's flash budget" "$(cat "$tmp/err")"; fi

onboard keras_mnist_cnn models/keras_mnist_cnn.model build/keras_mnist_cnn mps2-an386 "${CORTEXM_CNN_IMAGES:-200}"
code keras_mnist_cnn 8192

# Within the STM32F405's budgets: conv2d, batchnorm, both poolings,
# softmax (exp); dense and tanh (exp)
onboard small_cnn tests/e2e/small_cnn.model build/e2e/small_cnn netduinoplus2 200
code small_cnn 8192
onboard tiny_mlp tests/e2e/tiny_mlp.model build/e2e/tiny_mlp netduinoplus2 200
code tiny_mlp 2048

# int8 (--int8, integer arithmetic between the input's quantisation and the
# output's dequantisation): the seed MLP's 0.8 MB of weights fit the
# STM32F405's budgets; the Keras CNN, whose final softmax runs in float
onboard fashion_mlp_int8 models/fashion_mlp.model build/fashion_mlp netduinoplus2 200 --int8
code fashion_mlp_int8 2048
onboard keras_mnist_cnn_int8 models/keras_mnist_cnn.model build/keras_mnist_cnn mps2-an386 "${CORTEXM_CNN_IMAGES:-200}" --int8
code keras_mnist_cnn_int8 8192

# 128 KB of RAM, not QEMU's 192: small_cnn's 42 KB arena and a 100 KB stack do not fit
firmware small_cnn netduinoplus2 -Wl,--defsym=STACK_SIZE=102400
if [ $? -ne 0 ] && grep -q "region \`SRAM' overflowed" "$tmp/err"
then pass "an arena and a stack over 128 KB do not link for netduinoplus2"
else fail "netduinoplus2's RAM budget" "$(cat "$tmp/err")"; fi

# The comparison can fail: one bit changed in the host's outputs of image 7
d=$tmp/tiny_mlp
perl -pi -e 's/^(.)/$1 eq "0" ? "1" : "0"/e if $. == 8' "$d/host.hex"
(cd "$d" && timeout 300 $qemu -M netduinoplus2 -kernel netduinoplus2.elf \
    -semihosting-config "enable=on,target=native,arg=fw,arg=$tmp/images.u8,arg=200,arg=$d/dev.hex,arg=$d/host.hex") \
    >"$d/report" 2>&1
status=$?
if [ $status -eq 3 ] && [ "$(field mismatches "$d/report")" = 1 ] && [ "$(field first_mismatch "$d/report")" = 7 ]
then pass "an output that differs from the host's: exit status 3, image 7 named"
else fail "a differing output detected" "status $status" "$(cat "$d/report")"; fi

done_testing
