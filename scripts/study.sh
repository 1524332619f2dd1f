#!/usr/bin/env bash
# study.sh: the dropout study of the README ("Does dropout go before or
# after the dense layer?"). Trains every variant of the seed MLP (and, with
# STUDY_CNN=1, the Keras CNN with and without its dropouts) with several
# seeds, then writes under build/study/:
#   runs/VARIANT-sSEED.csv   each run's --log (and .out, its stdout)
#   curves.csv               every run's epochs in one file
#   table.md                 mean and sd over the seeds of the last epoch (also printed)
#   test_accuracy.png        test accuracy per epoch, mean over the seeds (+- sd)
#   test_loss.png            the same for the test loss
# `make study` builds the trainers and runs this. Settings (environment):
#   STUDY_SEEDS=3     seeds 1..N per variant (at least 2, for a spread)
#   STUDY_EPOCHS=     epochs per run; empty: each model's own (10 MLP, 3 CNN)
#   STUDY_CNN=0       1 adds the two CNN variants (~5 minutes per run, the MLP ~35 s)
#   STUDY_THREADS=1   threads per run (--threads, OPENBLAS_NUM_THREADS); the
#                     results do not depend on it (docs/trainer.md), only the
#                     seconds do
#   STUDY_DATA=       the data set directory; empty: the trainers' default
# Spread over processes or hosts (README, "Sweeps"): under `mpirun -np N`
# (or `make study STUDY_PROCS=N`) or srun, process r of N trains the runs
# r, r + N, ... and process 0 then waits for every log (a shared
# directory) and writes the table. A Slurm job array sets STUDY_RANK and
# STUDY_RANKS itself: each task trains its share and leaves, and a last
# `make study` finds every run done and writes the table.
# A run whose log is complete, newer than its trainer and made with the same
# epochs, seed and threads is not run again (so STUDY_CNN=1 after a plain
# study runs only the CNN): `rm -r build/study` starts over, as it must
# after a change of STUDY_DATA.
set -euo pipefail

seeds=${STUDY_SEEDS:-3}
epochs=${STUDY_EPOCHS:-}
cnn=${STUDY_CNN:-0}
threads=${STUDY_THREADS:-1}
data=${STUDY_DATA:-}
out=build/study

die() { echo "study: error: $*" >&2; exit 1; }
[ $# -eq 0 ] || die "no arguments expected, got '$*': settings are environment variables, e.g. STUDY_SEEDS=5 $0"
is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
if ! is_count "$seeds" || [ "$seeds" -lt 2 ]; then
    die "STUDY_SEEDS must be an integer >= 2, got '$seeds'"
fi
[ -z "$epochs" ] || is_count "$epochs" || die "STUDY_EPOCHS must be a positive integer, got '$epochs'"
[[ $cnn =~ ^[01]$ ]] || die "STUDY_CNN must be 0 or 1, got '$cnn'"
is_count "$threads" || die "STUDY_THREADS must be a positive integer, got '$threads'"
command -v gnuplot >/dev/null || die "gnuplot is not installed (scripts/deps.sh installs gnuplot-nox)"

# name|group|its dropout: the first variant of a group is the baseline its
# paired differences are taken against (same seed: same initial weights
# and the same order of examples; only the dropout differs)
variants=(
    "fashion_mlp_no_dropout|mlp|none"
    "fashion_mlp|mlp|0.5 after the hidden dense (the seed)"
    "fashion_mlp_dropout_before|mlp|0.5 before it, on the inputs"
    "fashion_mlp_dropout_both|mlp|0.5 before and 0.5 after"
)
if [ "$cnn" = 1 ]; then
    variants+=(
        "keras_mnist_cnn_no_dropout|cnn|none"
        "keras_mnist_cnn|cnn|0.25 after the pooling, 0.5 after dense 128 (the seed)"
    )
fi

mkdir -p "$out/runs"
export OPENBLAS_NUM_THREADS=$threads

rank=${STUDY_RANK:-${OMPI_COMM_WORLD_RANK:-${SLURM_PROCID:-0}}}
ranks=${STUDY_RANKS:-${OMPI_COMM_WORLD_SIZE:-${SLURM_NTASKS:-1}}}
is_count "$ranks" && [[ $rank =~ ^[0-9]+$ ]] && [ "$rank" -lt "$ranks" ] ||
    die "process $rank of $ranks: STUDY_RANK must be in 0 .. STUDY_RANKS-1"

# epochs_of TRAINER: the run length, STUDY_EPOCHS or the model's own
epochs_of() {
    if [ -n "$epochs" ]; then echo "$epochs"
    else "$1" help | sed -n 's/.*--epochs N .*(default: \([0-9]*\)).*/\1/p'; fi
}
# complete NAME SEED: a header and one row per epoch, from this trainer, with these settings
complete() {
    local log=$out/runs/$1-s$2.csv want
    want=$(epochs_of "build/$1")
    [ -f "$log" ] && [ "$log" -nt "build/$1" ] && [ "$(wc -l <"$log")" -eq $((want + 1)) ] &&
        grep -q "epochs=$want seed=$2 threads=$threads\$" "$out/runs/$1-s$2.out" 2>/dev/null
}

# --- the runs: this process's share of them
n_runs=$((${#variants[@]} * seeds))
i=0
start=$SECONDS
for v in "${variants[@]}"; do
    name=${v%%|*}
    trainer=build/$name
    [ -x "$trainer" ] || die "$trainer is missing: run 'make study' (it builds the trainers)"
    want=$(epochs_of "$trainer")
    for seed in $(seq 1 "$seeds"); do
        i=$((i + 1))
        log=$out/runs/$name-s$seed.csv
        [ $(((i - 1) % ranks)) -eq "$rank" ] || continue
        if complete "$name" "$seed"; then
            echo "[$i/$n_runs] $name seed $seed: done already ($log)"
            continue
        fi
        echo "[$i/$n_runs] $name seed $seed, $want epochs, $threads thread(s) ($((SECONDS - start))s so far)"
        args=(train --seed "$seed" --epochs "$want" --threads "$threads" --eval-train --log "$log")
        [ -z "$data" ] || args+=(--data "$data")
        if ! "$trainer" "${args[@]}" >"$out/runs/$name-s$seed.out"; then
            die "$name seed $seed failed: see $out/runs/$name-s$seed.out"
        fi
        tail -n 1 "$out/runs/$name-s$seed.out"
    done
done

# --- the other processes' shares: process 0 writes the table once all are done
[ "$rank" -eq 0 ] || exit 0
missing() {
    for v in "${variants[@]}"; do
        for seed in $(seq 1 "$seeds"); do complete "${v%%|*}" "$seed" || return 0; done
    done
    return 1
}
if [ "$ranks" -gt 1 ] && missing; then
    if [ -n "${STUDY_RANK:-}" ]; then
        echo "study: this task's runs are done; the table waits for the other tasks' (then: make study)"
        exit 0
    fi
    echo "study: waiting for the other processes' runs"
    while missing; do sleep 5; done
fi

# --- every epoch of every run in one CSV
{
    echo "variant,seed,epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,train_eval_loss,train_eval_accuracy"
    for v in "${variants[@]}"; do
        name=${v%%|*}
        for seed in $(seq 1 "$seeds"); do
            awk -F, -v name="$name" -v seed="$seed" \
                'NR > 1 { print name "," seed "," $1 "," $2 "," $3 "," $4 "," $5 "," $6 "," $8 "," $9 }' \
                "$out/runs/$name-s$seed.csv"
        done
    done
} >"$out/curves.csv"

# --- the table: the last epoch of each run, mean and sd over the seeds
printf '%s\n' "${variants[@]}" >"$out/variants.txt"
awk -F, -v seeds="$seeds" -v threads="$threads" '
    function mean(k,   s, j) { s = 0; for (j = 1; j <= seeds; j++) s += x[k, j]; return s / seeds }
    # the sample standard deviation (n - 1) over the seeds
    function sd(k,   m, s, j) {
        m = mean(k); s = 0
        for (j = 1; j <= seeds; j++) s += (x[k, j] - m) ^ 2
        return sqrt(s / (seeds - 1))
    }
    function pm(k, digits) { return sprintf("%." digits "f ± %." digits "f", mean(k), sd(k)) }
    FNR == NR { split($0, f, "|"); n++; name[n] = f[1]; group[n] = f[2]; what[n] = f[3]; next }
    FNR == 1 { next }
    {
        v = $1; s = $2
        if ($3 > last[v]) last[v] = $3
        secs[v] += $8; epochs_seen[v]++
        # overwritten by each later epoch: what remains is the last one
        x[v "|acc", s] = $7; x[v "|loss", s] = $6
        x[v "|tr_loss", s] = $9; x[v "|tr_acc", s] = $10
        x[v "|gap", s] = $10 - $7; x[v "|run_gap", s] = $5 - $7
    }
    END {
        printf "Fashion-MNIST (60000 train, 10000 test); mean ± sd over seeds 1..%d; ", seeds
        printf "%d thread(s) per run (--threads %d, OPENBLAS_NUM_THREADS=%d).\n\n", threads, threads, threads
        print "| variant | dropout | epochs | test accuracy | Δ test acc. vs no dropout (paired) | test loss | train loss | train accuracy | gap | gap, dropout on | s/epoch |"
        print "|---|---|---|---|---|---|---|---|---|---|---|"
        for (i = 1; i <= n; i++) {
            v = name[i]
            if (!(group[i] in base)) base[group[i]] = v
            b = base[group[i]]
            for (j = 1; j <= seeds; j++) x[v "|delta", j] = x[v "|acc", j] - x[b "|acc", j]
            delta = v == b ? "—" : sprintf("%+.4f ± %.4f", mean(v "|delta"), sd(v "|delta"))
            printf "| `%s` | %s | %d | %s | %s | %s | %s | %s | %s | %s | %.1f |\n", v, what[i],
                   last[v], pm(v "|acc", 4), delta, pm(v "|loss", 4), pm(v "|tr_loss", 4),
                   pm(v "|tr_acc", 4), pm(v "|gap", 4), pm(v "|run_gap", 4), secs[v] / epochs_seen[v]
        }
        print ""
        print "Every number is from the last epoch. Train loss and accuracy are the whole training"
        print "set evaluated after the epoch without dropout (`--eval-train`); gap = that train"
        print "accuracy - test accuracy. \"gap, dropout on\" uses the running train accuracy of the"
        print "epoch, with dropout active, instead (what Keras prints): it understates the"
        print "overfitting of the dropout variants. Δ is the mean ± sd of the per-seed differences"
        print "from the group'\''s no-dropout variant, trained from the same seed. s/epoch is the"
        print "mean time of the training pass alone; it varies with the load of the machine, the"
        print "accuracies do not."
        print ""
        printf "Test accuracy of each run (last epoch):\n\n| variant |"
        for (j = 1; j <= seeds; j++) printf " seed %d |", j
        printf "\n|---|"
        for (j = 1; j <= seeds; j++) printf "---|"
        print ""
        for (i = 1; i <= n; i++) {
            printf "| `%s` |", name[i]
            for (j = 1; j <= seeds; j++) printf " %.4f |", x[name[i] "|acc", j]
            print ""
        }
    }' "$out/variants.txt" "$out/curves.csv" >"$out/table.md"
rm "$out/variants.txt"

# --- the plots: per variant and epoch, the mean and sd over the seeds,
# one gnuplot data block (index) per variant
plot() { # plot COLUMN_OF_curves.csv YLABEL FILE KEY_POSITION
    local col=$1 label=$2 png=$3 key=$4 titles=""
    : >"$out/plot.dat"
    for v in "${variants[@]}"; do
        name=${v%%|*}
        titles="$titles $name"
        awk -F, -v name="$name" -v col="$col" '
            NR > 1 && $1 == name { s[$3] += $col; ss[$3] += $col * $col; n[$3]++; if ($3 > e) e = $3 }
            END {
                print "# epoch mean sd"
                for (k = 1; k <= e; k++) {
                    m = s[k] / n[k]; var = (ss[k] - n[k] * m * m) / (n[k] - 1)
                    printf "%d %.6f %.6f\n", k, m, sqrt(var > 0 ? var : 0)
                }
                printf "\n\n"
            }' "$out/curves.csv" >>"$out/plot.dat"
    done
    gnuplot <<EOF
set terminal pngcairo size 900,600 font ",10" noenhanced
set output "$png"
set title "$label per epoch on Fashion-MNIST: mean ± sd over $seeds seeds, $threads thread(s)"
set xlabel "epoch"
set ylabel "$label"
set key $key box opaque
set grid
set xtics 1
set autoscale xfix
set offsets 0.3, 0.3, 0, 0
titles = "$titles"
plot for [i=1:words(titles)] "$out/plot.dat" index (i-1) using 1:2:3 with yerrorlines lw 2 title word(titles, i)
EOF
    rm "$out/plot.dat"
}
plot 7 "test accuracy" "$out/test_accuracy.png" "bottom right"
plot 6 "test loss" "$out/test_loss.png" "top right"

cat "$out/table.md"
echo
echo "study: $n_runs runs ($((SECONDS - start))s); wrote $out/table.md, $out/curves.csv, $out/runs/," \
     "$out/test_accuracy.png and $out/test_loss.png"
