#!/usr/bin/env bash
# nnc --emit=deploy of a model trained with --standardize (docs/deploy.md,
# "Standardized inputs"): the deployed file takes the features as the
# trainer reads them and standardizes them itself, with the checkpoint's
# statistics, in the trainer's float operations. A tiny classifier of three
# features of very different scales (about 1000, 1 and 0.001), trained on a
# CSV with string class names: the float file's probabilities on the raw
# features are predict's within 1e-6 and its argmax is predict's on every
# row, under ASan with an arena of exactly NAME_ARENA_BYTES, which is the
# unstandardized model's plus the 3 floats of the standardized input; the
# same file with the standardization cut out is far off (so the check has
# teeth); net.h's NAME_CLASS_NAMES are the checkpoint's names. int8, on an
# IDX set of the same kind (the calibration reads IDX images): argmax within
# 97% of the trainer's, probabilities within 0.1, and no float arithmetic
# between quantising and dequantising. A corrupt meta is refused as eval
# refuses it.
. tests/deploy/setup.sh
define() { sed -n "s/^#define $1 //p" "$2"; }
model=tests/deploy/std.model
run build/nnc "$model" -o "$tmp/stdnet.c" &&
    run "$cc" ${CFLAGS:--O2} -Ibuild/include -o "$tmp/trainer" "$tmp/stdnet.c" $rt_libs ||
    { fail "the trainer builds" "$(cat "$tmp/err")"; done_testing; exit; }

# blobs PERL_FORMAT: 300 rows of three blobs (ant, moth, zebra) in z-units,
# each feature then scaled and shifted: a = 5000 + 1000 z, b = z, c = 0.001 z
blobs() {
    perl -e 'srand(7); my %c = (ant => [1, 0, -1], moth => [-1, 1, 0], zebra => [0, -1, 1]);
        my @k = sort keys %c; print "a,kind,b,c\n";
        for my $i (1..300) { my $k = $k[$i % 3]; my @z = map { $c{$k}[$_] + 0.6 * (rand() - 0.5) } 0..2;
            printf "%.3f,%s,%.6f,%.9f\n", 5000 + 1000 * $z[0], $k, $z[1], 0.001 * $z[2] }'
}
blobs >"$tmp/b.csv"
tail -n +2 "$tmp/b.csv" | cut -d, -f1,3,4 >"$tmp/x.csv"
data="--train $tmp/b.csv --test $tmp/b.csv --label kind --threads 1"
run "$tmp/trainer" train $data --standardize --save "$tmp/std.ckpt" &&
    run "$tmp/trainer" train $data --save "$tmp/raw.ckpt" &&
    run "$tmp/trainer" predict --load "$tmp/std.ckpt" --data "$tmp/b.csv" --threads 1 &&
    cp "$tmp/out" "$tmp/predict.csv" ||
    { fail "trains and predicts" "$(cat "$tmp/err")"; done_testing; exit; }

mkdir -p "$tmp/f" "$tmp/r"
if run build/nnc --emit=deploy --weights "$tmp/std.ckpt" "$model" -o "$tmp/f/net.c" &&
   run build/nnc --emit=deploy --weights "$tmp/raw.ckpt" "$model" -o "$tmp/r/net.c" &&
   grep -q '^static const float stdnet_mean\[3\]' "$tmp/f/net.c" &&
   grep -q '^static const float stdnet_std\[3\]' "$tmp/f/net.c" &&
   ! grep -q '_mean\|_std\b' "$tmp/r/net.c"
then pass "--emit=deploy: the statistics as static const stdnet_mean, stdnet_std; none without --standardize"
else fail "--emit=deploy of a standardized checkpoint" "$(cat "$tmp/err")"; fi
if run "$cc" $c99 -O2 -c -o "$tmp/f/net.o" "$tmp/f/net.c"
then pass "compiles alone under $c99"
else fail "compiles under -std=c99 -pedantic" "$(cat "$tmp/err")"; fi
a_std=$(define STDNET_ARENA_BYTES "$tmp/f/net.h") a_raw=$(define STDNET_ARENA_BYTES "$tmp/r/net.h")
if [ -n "$a_std" ] && [ "$a_std" = $((a_raw + 3 * 4)) ]
then pass "NAME_ARENA_BYTES: $a_std, the unstandardized file's $a_raw and 3 floats"
else fail "arena bytes" "standardized '$a_std', raw '$a_raw'"; fi
if [ "$(define STDNET_CLASS_NAMES "$tmp/f/net.h")" = '{ "ant", "moth", "zebra" }' ]
then pass "net.h: STDNET_CLASS_NAMES, the checkpoint's names in class order"
else fail "class names" "$(grep CLASS_NAMES "$tmp/f/net.h")"; fi

# compare PREDICT_CSV OURS: max |difference| and argmax agreement, predict's
# rows "class,p0,p1,p2" against ours "p0,p1,p2" (our first line: names)
compare() {
    awk -F, 'NR == FNR { if (FNR > 1) { n++; for (i = 2; i <= NF; i++) p[n, i - 1] = $i; c[n] = $1 } next }
        FNR == 1 { for (i = 1; i <= NF; i++) name[i] = $i; next }
        { m++; best = 1; for (i = 1; i <= NF; i++) { d = $i - p[m, i]; d = d < 0 ? -d : d; if (d > mx) mx = d; if ($i > $best) best = i }
          agree += name[best] == c[m] }
        END { printf "rows=%d agreement=%.4f max_diff=%.3g\n", m, m == n ? agree / m : 0, mx }' "$1" "$2"
}
flags="-DNET=stdnet -DMACRO=STDNET -DNAMES -DNET_H=\"net.h\""
if run "$cc" -std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all $flags -I"$tmp/f" \
       -o "$tmp/f/rows" tests/deploy/rows.c "$tmp/f/net.c" &&
   "$tmp/f/rows" <"$tmp/x.csv" >"$tmp/f/out" 2>"$tmp/err" &&
   compare "$tmp/predict.csv" "$tmp/f/out" >"$tmp/result" &&
   [ "$(field rows "$tmp/result")" = 300 ] && [ "$(field agreement "$tmp/result")" = 1.0000 ] &&
   awk -v d="$(field max_diff "$tmp/result")" 'BEGIN { exit !(d <= 1e-6) }'
then pass "float, raw features: predict's argmax on every row, probabilities within 1e-6 ($(cat "$tmp/result")), under ASan"
else fail "float against predict" "$(cat "$tmp/result" "$tmp/err" | head)"; fi

# the same file with the standardization cut out: far off
sed 's/^        std_input\[i\] = .*/        std_input[i] = input[i];/' "$tmp/f/net.c" >"$tmp/f/cut.c"
if ! cmp -s "$tmp/f/net.c" "$tmp/f/cut.c" &&
   run "$cc" -std=c99 -O2 $flags -I"$tmp/f" -o "$tmp/f/cut" tests/deploy/rows.c "$tmp/f/cut.c" &&
   "$tmp/f/cut" <"$tmp/x.csv" >"$tmp/f/cut.out" &&
   compare "$tmp/predict.csv" "$tmp/f/cut.out" >"$tmp/result" &&
   awk -v d="$(field max_diff "$tmp/result")" 'BEGIN { exit !(d >= 0.5) }'
then pass "without the standardization the outputs are far off ($(cat "$tmp/result"))"
else fail "standardization cut out" "$(cat "$tmp/result")"; fi

# --- int8 on IDX bytes: a in 0..255, b in 100..110, c in 0..2 (the
# calibration reads IDX images, as the trainer p / 255)
mkdir -p "$tmp/idx" "$tmp/i"
perl -MCompress::Zlib -e 'srand(9); my @c = ([1, 0, -1], [-1, 1, 0], [0, -1, 1]); my (@x, @y);
    for my $i (1..600) { my $k = $i % 3; my @z = map { $c[$k][$_] + 0.6 * (rand() - 0.5) } 0..2;
        push @y, $k; push @x, int(128 + 70 * $z[0]), int(105 + 3 * $z[1]), int(1.5 + $z[2]) }
    for my $s (["train", 0], ["t10k", 300]) { my $o = $s->[1];
        my $img = pack("NNNN", 0x803, 300, 1, 3) . pack("C*", @x[3 * $o .. 3 * $o + 899]);
        my $lab = pack("NN", 0x801, 300) . pack("C*", @y[$o .. $o + 299]);
        for (["images-idx3", $img], ["labels-idx1", $lab]) {
            my $gz = gzopen("$ARGV[0]/$s->[0]-$_->[0]-ubyte.gz", "wb") or die; $gz->gzwrite($_->[1]); $gz->gzclose } }' "$tmp/idx"
perl -e 'open my $f, "-|", "gunzip -c $ARGV[0]" or die; local $/; my $b = <$f>; my @p = unpack "C*", substr($b, 16);
    while (my @r = splice @p, 0, 3) { print join(",", map { sprintf "%.9g", $_ / 255 } @r), "\n" }' \
    "$tmp/idx/t10k-images-idx3-ubyte.gz" >"$tmp/idx.x"
if run "$tmp/trainer" train --data "$tmp/idx" --standardize --threads 1 --save "$tmp/idx.ckpt" &&
   run "$tmp/trainer" predict --load "$tmp/idx.ckpt" --data "$tmp/idx" --threads 1 &&
   { echo class,0,1,2; tail -n +2 "$tmp/out"; } >"$tmp/idx.predict" &&
   run build/nnc --emit=deploy --int8 --weights "$tmp/idx.ckpt" --data "$tmp/idx" "$model" -o "$tmp/i/net.c" &&
   grep -q 'const float t = ((input\[i\] - stdnet_mean\[i\]) / stdnet_std\[i\]) / ' "$tmp/i/net.c"
then pass "--int8: the standardization is part of the input's quantisation"
else fail "--int8 of a standardized checkpoint" "$(cat "$tmp/err")"; fi
# tests/45-int8.t's check, whose whitelist takes this quantisation line
floats=$(awk '/^[a-z].*\(/ { fn = $0; next }
              /^ *\/?\*/ { next }
              /float/ && fn !~ /(pow2i|exp_|softmax|_predict|^static const int8_t \*run)\(/ { print NR": "$0 }
              /float/ && fn ~ /\*run\(/ && !/const float \*input|t = input\[i\] \/|t = \(\(input\[i\] - [a-z0-9_]+_mean\[i\]\) \/ [a-z0-9_]+_std\[i\]\) \/|t < -128.0f|t < 0.0f/ { print NR": "$0 }' "$tmp/i/net.c")
if [ -z "$floats" ] && grep -q 'requant8\|conv8' "$tmp/i/net.c"
then pass "--int8: no float arithmetic between the input's quantisation and the output's dequantisation"
else fail "float arithmetic in the int8 path" "$floats"; fi
flags="-DNET=stdnet -DMACRO=STDNET -DNET_H=\"net.h\""
if run "$cc" $c99 -O2 -c -o "$tmp/i/net.o" "$tmp/i/net.c" &&
   run "$cc" -std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all $flags -I"$tmp/i" \
       -o "$tmp/i/rows" tests/deploy/rows.c "$tmp/i/net.c" &&
   { echo 0,1,2; "$tmp/i/rows" <"$tmp/idx.x"; } >"$tmp/i/out" 2>"$tmp/err" &&
   compare "$tmp/idx.predict" "$tmp/i/out" >"$tmp/result" &&
   [ "$(field rows "$tmp/result")" = 300 ] &&
   awk -v a="$(field agreement "$tmp/result")" -v d="$(field max_diff "$tmp/result")" \
       'BEGIN { exit !(a >= 0.97 && d <= 0.1) }'
then pass "int8, raw features: argmax within 97% of predict's, probabilities within 0.1 ($(cat "$tmp/result")), under ASan"
else fail "int8 against predict" "$(cat "$tmp/result" "$tmp/err" | head)"; fi
# a corrupt meta (its version made 9, the CRC made good): the trainer's words, nothing written
perl -MCompress::Zlib -e 'open my $f, "<:raw", $ARGV[0] or die; local $/; my $b = <$f>;
    my $i = index($b, "NNDM"); die "no meta" if $i < 0; substr($b, $i + 4, 4) = pack("V", 9);
    my $body = substr($b, 0, length($b) - 4); print $body, pack("V", crc32($body))' \
    "$tmp/std.ckpt" >"$tmp/bad.ckpt"
run "$tmp/trainer" eval --load "$tmp/bad.ckpt" --test "$tmp/b.csv" --threads 1
want=$(sed 's/^stdnet: error: //' "$tmp/err")
run build/nnc --emit=deploy --weights "$tmp/bad.ckpt" "$model" -o "$tmp/bad.c"
if [ $? -eq 1 ] && [ ! -e "$tmp/bad.c" ] && [ "$(cat "$tmp/err")" = "nnc: error: $want" ] &&
   [ "$want" = "$tmp/bad.ckpt: data meta: unsupported version 9 (this runtime reads 1)" ]
then pass "a corrupt data meta is refused with the trainer's message, nothing written"
else fail "corrupt meta" "want: nnc: error: $want" "got: $(cat "$tmp/err")"; fi
done_testing
