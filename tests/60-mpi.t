#!/usr/bin/env bash
# Data-parallel training over MPI (docs/distributed.md): the trainers of
# `make MPI=1` write, at 1, 2 and 3 processes, the checkpoint the default
# build writes, byte for byte: for the seed MLP, for the Keras CNN, for a
# batch that does not divide into the processes, a short last batch, a
# model with batchnorm, and a run resumed at another process count. A
# failure on one process (a bad data path, a bad option, a NaN, a kill -9)
# ends every process within 10 seconds with a non-zero status.
. tests/tap.sh
. tests/subset.sh
if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; then
    echo "1..0 # SKIP OpenMPI is not installed (scripts/deps.sh installs it)"
    exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mpi=build/mpi
# 1000 training and 500 test images: each run evaluates the test set
# (every process does), and under `make sanitize` that is most of the time
small=$tmp/small
fashion_subset "$small" 1000 500
# As root, in a container, on a machine with fewer cores than processes;
# no binding, so a process's threads are not all on one core. Under `make
# sanitize` OpenMPI's own allocations at exit would count as leaks: leak
# checking is off in the MPI builds' processes (ASan and UBSan stay on).
run=(timeout 120 mpirun --allow-run-as-root --oversubscribe --bind-to none
     --mca pml ob1 --mca btl self,vader --mca btl_vader_single_copy_mechanism none
     -x ASAN_OPTIONS=detect_leaks=0)
make --no-print-directory MPI=1 B=$mpi $mpi/fashion_mlp $mpi/keras_mnist_cnn \
    $mpi/e2e/bn_sgd >"$tmp/build" 2>&1 || { fail "make MPI=1" "$(tail -n 20 "$tmp/build")"; done_testing; exit; }
pass "make MPI=1 builds the trainers with mpicc"

# same NAME A B: the two checkpoints are identical
same() {
    if cmp "$2" "$3" >"$tmp/cmp" 2>&1; then pass "$1"
    else fail "$1" "$(cat "$tmp/cmp")"; fi
}
# train OUT TRAINER ARGS...: the run's stdout in OUT.log, its checkpoint in OUT.ckpt
train() {
    local out=$1; shift
    "$@" --save "$out.ckpt" >"$out.log" 2>"$out.err" ||
        fail "the run $*" "$(tail -n 5 "$out.err")"
}

# --- the seed MLP, with a short last batch (1000 = 15 x 64 + 40)
args=(train --data "$small" --epochs 2)
train "$tmp/ref" build/fashion_mlp "${args[@]}" --threads 2
train "$tmp/alone" env ASAN_OPTIONS=detect_leaks=0 $mpi/fashion_mlp "${args[@]}" --threads 2
same "fashion_mlp: the MPI build alone, without mpirun, writes the default build's checkpoint" \
    "$tmp/ref.ckpt" "$tmp/alone.ckpt"
for np in 2 3; do
    train "$tmp/np$np" "${run[@]}" -np $np $mpi/fashion_mlp "${args[@]}" --threads 1
    same "fashion_mlp: $np processes write the one process's checkpoint" "$tmp/ref.ckpt" "$tmp/np$np.ckpt"
done
if [ "$(grep '^test:' "$tmp/np2.log")" = "$(grep '^test:' "$tmp/ref.log")" ] &&
   grep -q '^processes: 2 | 2 shards of 32 examples' "$tmp/np2.log"; then
    pass "fashion_mlp: the same test line, printed once, with the processes and shards"
else
    fail "fashion_mlp: the test lines" "$(cat "$tmp/np2.log")" "$(cat "$tmp/ref.log")"
fi

# --- a batch of 100: 4 shards (32, 32, 32, 4) over 3 processes
train "$tmp/b100" build/fashion_mlp "${args[@]}" --batch 100
train "$tmp/b100np3" "${run[@]}" -np 3 $mpi/fashion_mlp "${args[@]}" --batch 100 --threads 1
same "fashion_mlp --batch 100: 3 processes, unequal shares, the same checkpoint" \
    "$tmp/b100.ckpt" "$tmp/b100np3.ckpt"

# --- resumed at another process count
train "$tmp/half" "${run[@]}" -np 2 $mpi/fashion_mlp train --data "$small" --epochs 1 --threads 1
"${run[@]}" -np 3 $mpi/fashion_mlp train --resume "$tmp/half.ckpt" --epochs 2 --threads 1 \
    --save "$tmp/resumed.ckpt" >/dev/null 2>"$tmp/err" || fail "the resumed run" "$(cat "$tmp/err")"
same "fashion_mlp: 1 epoch on 2 processes resumed to 2 on 3, the same checkpoint" \
    "$tmp/ref.ckpt" "$tmp/resumed.ckpt"

# --- the Keras CNN on 3 processes, 700 examples (5 x 128 + 60)
cnn=(train --data "$small" --limit 700 --epochs 1)
train "$tmp/cnn" build/keras_mnist_cnn "${cnn[@]}" --threads 2
train "$tmp/cnn3" "${run[@]}" -np 3 $mpi/keras_mnist_cnn "${cnn[@]}" --threads 1
same "keras_mnist_cnn: 3 processes write the one process's checkpoint" "$tmp/cnn.ckpt" "$tmp/cnn3.ckpt"

# --- batchnorm: one shard a batch (its statistics are the batch's), every process computes it
train "$tmp/bn" build/e2e/bn_sgd train --data "$small" --limit 500 --epochs 1
train "$tmp/bn2" "${run[@]}" -np 2 $mpi/e2e/bn_sgd train --data "$small" --limit 500 --epochs 1 --threads 1
same "bn_sgd (batchnorm): 2 processes, the same checkpoint" "$tmp/bn.ckpt" "$tmp/bn2.ckpt"

# --- MPI's own sum, NNRT_REDUCE=plain: it trains, to the same accuracy within noise
train "$tmp/plain" "${run[@]}" -x NNRT_REDUCE=plain -np 3 $mpi/fashion_mlp "${args[@]}" --batch 100 --threads 1
acc() { sed -n 's/^test: .*accuracy=\([0-9.]*\).*/\1/p' "$1"; }
if awk -v a="$(acc "$tmp/plain.log")" -v b="$(acc "$tmp/b100.log")" \
       'BEGIN { d = a - b; exit !(a != "" && d < 0.05 && d > -0.05) }'; then
    pass "NNRT_REDUCE=plain trains to the ordered run's accuracy within 0.05 (500 test images)"
else
    fail "NNRT_REDUCE=plain" "$(cat "$tmp/plain.log")"
fi

# --- failures end every process, promptly, with a non-zero status
# ends NAME SECONDS STATUS: the run ended non-zero within 10 seconds
ends() {
    if [ "$3" -ne 0 ] && [ "$2" -le 10 ]; then pass "$1: every process ends, status $3, in ${2}s"
    else fail "$1" "status $3 after ${2}s" "$(tail -n 5 "$tmp/fail.err")"; fi
}
# fails NAME GREP MPIRUN-ARGS...: run, then check the time, the status and the message
fails() {
    local what=$1 want=$2 t0 rc; shift 2
    t0=$(date +%s)
    "${run[@]}" "$@" >/dev/null 2>"$tmp/fail.err"; rc=$?
    ends "$what" $(($(date +%s) - t0)) $rc
    if grep -q -- "$want" "$tmp/fail.err"; then pass "$what: the message says so"
    else fail "$what: the message" "$(tail -n 5 "$tmp/fail.err")"; fi
}
cat >"$tmp/rank1-bad-data.sh" <<SH
#!/bin/sh
# process 1 alone is given a directory that does not exist
[ "\$OMPI_COMM_WORLD_RANK" = 1 ] && set -- "\$@" --data "$tmp/nowhere"
exec $mpi/fashion_mlp "\$@"
SH
chmod +x "$tmp/rank1-bad-data.sh"
fails "a bad data path on process 1 only" "$tmp/nowhere" -np 2 "$tmp/rank1-bad-data.sh" train --data "$small" --threads 1
fails "a bad option" "unknown option '--bogus'" -np 2 $mpi/fashion_mlp train --bogus
fails "a NaN" "the loss became nan" -np 2 $mpi/e2e/bn_sgd train --data "$small" --lr 100000 --threads 1

# kill -9 one process mid-run: mpirun notices and ends the other
"${run[@]}" -np 2 $mpi/fashion_mlp train --data "$small" --epochs 1000 --threads 1 >"$tmp/kill.log" 2>"$tmp/fail.err" &
job=$!
for _ in $(seq 100); do grep -q '^processes:' "$tmp/kill.log" && break; sleep 0.2; done
sleep 1
victim=$(pgrep -f "^$mpi/fashion_mlp train --data $small --epochs 1000" | tail -n 1)
t0=$(date +%s)
if [ -n "$victim" ] && kill -9 "$victim"; then
    wait $job; rc=$?
    ends "kill -9 of one process mid-run" $(($(date +%s) - t0)) $rc
else
    fail "kill -9: no process to kill" "$(cat "$tmp/kill.log")"
    kill $job 2>/dev/null; wait $job
fi
done_testing
