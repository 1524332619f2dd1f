#!/usr/bin/env bash
# --plot FILE.png (docs/trainer.md, "The CSV log"): gnuplot draws a PNG
# after training, said by a 'plot: FILE' line before the test line; without
# gnuplot on PATH, the run stops before training with the message.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
m=build/e2e/sched_mlp
$m train --limit 256 --epochs 2 --threads 1 --plot "$tmp/curves.png" >"$tmp/out" 2>&1
if [ $? = 0 ] && [ "$(head -c 8 "$tmp/curves.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] &&
   [ "$(tail -2 "$tmp/out" | head -1)" = "plot: $tmp/curves.png" ] && grep -q '^test: ' <(tail -1 "$tmp/out")
then pass "--plot writes a PNG and says so before the test line"
else fail "--plot" "$(cat "$tmp/out")"; fi

PATH=/nonexistent $m train --limit 256 --epochs 2 --plot "$tmp/none.png" >"$tmp/out" 2>&1
if [ $? = 1 ] && [ "$(cat "$tmp/out")" = "sched_mlp: error: --plot $tmp/none.png: gnuplot is not installed (apt-get install gnuplot-nox), or not on PATH" ]
then pass "no gnuplot: an error before training, naming the package"
else fail "no gnuplot" "$(cat "$tmp/out")"; fi

$m train --limit 256 --epochs 1 --threads 1 --plot "$tmp/no/such/dir/c.png" >"$tmp/out" 2>&1
if [ $? = 1 ] && [ "$(cat "$tmp/out")" = "sched_mlp: error: --plot $tmp/no/such/dir/c.png: cannot write to directory $tmp/no/such/dir: No such file or directory" ]
then pass "--plot into a missing directory: an error before training"
else fail "--plot into a missing directory" "$(cat "$tmp/out")"; fi
# A gnuplot that fails: its status is the run's error, and FILE is not made
mkdir "$tmp/bin"; printf '#!/bin/sh\ncat >/dev/null\nexit 3\n' >"$tmp/bin/gnuplot"; chmod +x "$tmp/bin/gnuplot"
PATH="$tmp/bin:$PATH" $m train --limit 256 --epochs 1 --threads 1 --plot "$tmp/bad.png" >"$tmp/out" 2>&1
if [ $? = 1 ] && [ "$(tail -1 "$tmp/out")" = "sched_mlp: error: --plot $tmp/bad.png: gnuplot failed (exit status 3)" ] &&
   [ -z "$(ls "$tmp" | grep bad)" ]
then pass "gnuplot's failure is the run's error, and leaves no file"
else fail "gnuplot failing" "$(cat "$tmp/out")" "$(ls "$tmp")"; fi
done_testing
