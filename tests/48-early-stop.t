#!/usr/bin/env bash
# Validation, early stopping, --save-best and plateau end to end
# (docs/trainer.md, "Validation, early stopping and --save-best"), on
# tests/e2e/tiny_mlp with a rate high enough (--lr 0.3 on 200 examples) that
# the validation loss stops falling within a few epochs. The expected epochs
# are worked out from the printed validation numbers by Keras's rules, so
# the test pins the semantics, not the numbers:
#   - --early-stop 2 stops after the first 2 epochs in a row without an
#     improvement, restores the best epoch (the test line is that epoch's,
#     --save holds it, and eval of it prints the same line);
#   - --save-best writes at every improving epoch, and holds the best;
#   - --min-delta and --monitor val_accuracy change what improves;
#   - the CSV log's val columns are the epoch lines';
#   - a plateau run resumed halfway writes the same checkpoint;
#   - a --save-best run resumed halfway with --early-stop saves, stops and
#     restores at the epochs of the uninterrupted run.
# The validation set is a CSV of the first 1000 Fashion-MNIST test images
# in the Kaggle layout (a label, then 784 pixels 0..255), read by the data
# helper's --val FILE.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
m=build/e2e/tiny_mlp
data=/usr/share/datasets/fashion-mnist
perl -MIO::Uncompress::Gunzip=gunzip -e '
    gunzip "$ARGV[0]/t10k-images-idx3-ubyte.gz" => \my $img or die; gunzip "$ARGV[0]/t10k-labels-idx1-ubyte.gz" => \my $lab or die;
    print join(",", "label", map { "pixel$_" } 1..784), "\n";
    for my $i (0..999) { print join(",", ord(substr($lab, 8 + $i, 1)), unpack("C784", substr($img, 16 + 784 * $i, 784))), "\n" }
' $data >"$tmp/val.csv" || fail "writing val.csv"
run="$m train --limit 200 --lr 0.3 --epochs 12 --threads 1 --val $tmp/val.csv"

# expect OUT MODE MIN_DELTA PATIENCE: "STOP BEST" by Keras's rules from the
# val numbers of OUT's epoch lines (MODE loss: lower is better, accuracy: higher)
expect() {
    perl -e 'my ($mode, $d, $p) = @ARGV[1..3]; open my $f, "<", $ARGV[0] or die;
        my ($best, $be, $wait, $e) = (undef, 0, 0, 0);
        while (<$f>) { next unless /^epoch (\d+)\/\d+: .* \| val loss=(\S+) accuracy=(\S+) \|/; $e = $1;
            my $v = $mode eq "loss" ? $2 : $3;
            my $better = !defined $best || ($mode eq "loss" ? $v + $d < $best : $v - $d > $best);
            if ($better) { ($best, $be, $wait) = ($v, $e, 0) } else { $wait++ }
            if ($wait >= $p) { print "$e $be\n"; exit } }
        print "none $be\n"' "$@"
}
# part OUT EPOCH NAME: the "NAME loss=L accuracy=A" part of that epoch's line
part() { sed -n "s/^epoch $2\/[0-9]*: .*| \($3 loss=[0-9.]* accuracy=[0-9.]*\) |.*/\1/p" "$1"; }

$run --early-stop 2 --save "$tmp/es.ckpt" --save-best "$tmp/best.ckpt" --log "$tmp/es.csv" >"$tmp/out" 2>&1 ||
    fail "the early-stopping run" "$(cat "$tmp/out")"
read -r stop best < <(expect "$tmp/out" loss 0 2)
last=$(sed -n 's/^epoch \([0-9]*\)\/.*/\1/p' "$tmp/out" | tail -1)
if [ "$stop" != none ] && [ "$last" = "$stop" ] && [ "$stop" -lt 12 ] &&
   grep -qx "early stop: no val_loss improvement in 2 epochs" "$tmp/out"
then pass "--early-stop 2 stops at epoch $stop, the second in a row without a val_loss improvement"
else fail "where it stopped" "expected $stop (best $best), last epoch $last" "$(cat "$tmp/out")"; fi
vl=$(sed -n "s/^epoch $best\/.*| val loss=\([0-9.]*\) .*/\1/p" "$tmp/out")
want_test="test: $(part "$tmp/out" "$best" test | sed 's/^test //')"
if grep -qx "restore: the weights of epoch $best (val_loss=$vl)" "$tmp/out" &&
   [ "$(tail -2 "$tmp/out" | head -1)" = "checkpoint: $tmp/es.ckpt (epoch $best)" ] &&
   [ "$(tail -1 "$tmp/out")" = "$want_test" ]
then pass "the best epoch ($best) is restored: --save holds it and the test line is its"
else fail "restore" "want: $want_test (epoch $best, val_loss $vl)" "$(tail -4 "$tmp/out")"; fi
for ck in es best; do
    got=$($m eval --load "$tmp/$ck.ckpt" --threads 1 | tail -1)
    if [ "$got" = "$want_test" ]; then pass "eval of the $ck checkpoint prints the best epoch's test line"
    else fail "eval $ck.ckpt" "want: $want_test" "got:  $got"; fi
done
improving=$(perl -e 'my $best; while (<>) { if (/^epoch (\d+)\/\d+: .* \| val loss=(\S+) /) {
    print "$1 " if !defined $best || $2 < $best; $best = $2 if !defined $best || $2 < $best } }' "$tmp/out")
saved=$(sed -n "s|^checkpoint: $tmp/best.ckpt (epoch \([0-9]*\))$|\1|p" "$tmp/out" | tr '\n' ' ')
if [ -n "$saved" ] && [ "$saved" = "$improving" ]; then pass "--save-best writes at each improving epoch ($saved)"
else fail "--save-best" "improving: $improving" "saved: $saved"; fi
rows=$(tail -n +2 "$tmp/es.csv" | awk -F, '{ printf "%d %.4f %.4f\n", $1, $10, $11 }')
lines=$(sed -n 's/^epoch \([0-9]*\)\/.*| val loss=\([0-9.]*\) accuracy=\([0-9.]*\) |.*/\1 \2 \3/p' "$tmp/out")
if [ -n "$rows" ] && [ "$rows" = "$lines" ]; then pass "the CSV log's val_loss and val_accuracy are the epoch lines'"
else fail "CSV val columns" "csv:   $rows" "lines: $lines"; fi

$run --early-stop 2 --min-delta 0.3 >"$tmp/out" 2>&1 || fail "--min-delta run" "$(cat "$tmp/out")"
read -r stop best < <(expect "$tmp/out" loss 0.3 2)
last=$(sed -n 's/^epoch \([0-9]*\)\/.*/\1/p' "$tmp/out" | tail -1)
if [ "$stop" != none ] && [ "$last" = "$stop" ] && grep -q "^restore: the weights of epoch $best " "$tmp/out"
then pass "--min-delta 0.3: only a fall of more than 0.3 improves (stop $stop, best $best)"
else fail "--min-delta" "expected stop $stop best $best, last $last" "$(cat "$tmp/out")"; fi

$run --early-stop 1 --monitor val_accuracy >"$tmp/out" 2>&1 || fail "val_accuracy run" "$(cat "$tmp/out")"
read -r stop best < <(expect "$tmp/out" accuracy 0 1)
last=$(sed -n 's/^epoch \([0-9]*\)\/.*/\1/p' "$tmp/out" | tail -1)
if [ "$stop" != none ] && [ "$last" = "$stop" ] && grep -qx "early stop: no val_accuracy improvement in 1 epochs" "$tmp/out" &&
   grep -q "^restore: the weights of epoch $best (val_accuracy=" "$tmp/out"
then pass "--monitor val_accuracy: higher is better (stop $stop, best $best)"
else fail "--monitor val_accuracy" "expected stop $stop best $best, last $last" "$(cat "$tmp/out")"; fi

# plateau: the rate halves after each epoch without an improvement; a run
# of 4 epochs resumed to 8 (another thread count) gives the same checkpoint
sched="plateau patience=1 factor=0.5 min_lr=0.05"
$run --epochs 8 --schedule "$sched" --save "$tmp/p8.ckpt" >"$tmp/p8" 2>&1 &&
$run --epochs 4 --schedule "$sched" --save "$tmp/p4.ckpt" >/dev/null 2>&1 &&
$m train --resume "$tmp/p4.ckpt" --epochs 8 --threads 2 --val "$tmp/val.csv" >/dev/null 2>&1 || fail "the plateau runs"
if cmp -s "$tmp/p8.ckpt" "$tmp/p4.ckpt"; then pass "plateau: 4 epochs resumed to 8 give the 8-epoch checkpoint"
else fail "plateau resume" "$(cmp "$tmp/p8.ckpt" "$tmp/p4.ckpt" 2>&1)"; fi
want=$(perl -e 'my ($best, $wait, $lr) = (undef, 0, 0.3); while (<>) {
    next unless /^epoch \d+\/\d+: .* \| val loss=(\S+) .* \| lr=(\S+) \|/; print "$2=", 0 + sprintf("%.4g", $lr), " ";
    if (!defined $best || $1 < $best - 1e-4) { ($best, $wait) = ($1, 0) } elsif (++$wait >= 1) { $wait = 0; $lr = $lr * 0.5 < 0.05 ? 0.05 : $lr * 0.5 } }' "$tmp/p8")
if [ -n "$want" ] && perl -e 'for (split " ", $ARGV[0]) { my ($a, $b) = split /=/; exit 1 if $a != $b }' "$want"
then pass "plateau: each epoch's rate follows ReduceLROnPlateau on the printed val_loss"
else fail "plateau rates (printed=expected)" "$want" "$(cat "$tmp/p8")"; fi
# the monitor's best and count survive --resume
$run --epochs 5 --save-best "$tmp/b1.ckpt" --save "$tmp/r.ckpt" >"$tmp/r1" 2>&1 &&
$m train --resume "$tmp/r.ckpt" --epochs 12 --threads 1 --val "$tmp/val.csv" --save-best "$tmp/b1.ckpt" \
    --early-stop 2 >"$tmp/r2" 2>&1 &&
$run --save-best "$tmp/b2.ckpt" --early-stop 2 >"$tmp/u" 2>&1 || fail "the --save-best resume runs"
events() { grep -h "checkpoint: .*/b[12].ckpt\|^early stop\|^restore\|^test:" "$@" | sed 's|/b[12].ckpt|/best|'; }
resumed=$({ events "$tmp/r1" | grep -v '^test:'; events "$tmp/r2"; }) # the first part's test line aside
if [ "$resumed" = "$(events "$tmp/u")" ] && cmp -s "$tmp/b1.ckpt" "$tmp/b2.ckpt"
then pass "--save-best then --early-stop across a resume: the same saves, stop and restore as one run"
else fail "monitor across resume" "resumed:" "$resumed" "one run:" "$(events "$tmp/u")"; fi
done_testing
