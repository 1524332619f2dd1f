#!/bin/sh
# nnc against PyTorch on the three tabular data sets of docs/tabular.md
# (issue 11): writes the data (scripts/tabular-data.sh), builds the three
# trainers, trains each for every seed on the fixed train/test split, runs
# the PyTorch reference (bench/torch_tabular.py) with the same network,
# recipe and rows, and prints the two side by side, with a Markdown table
# for the README in build/tabular/results/table.md.
#
#   scripts/tabular-compare.sh            (or: make tabular)
#   SEEDS=1,2,3 TORCH=live|recorded|none scripts/tabular-compare.sh
#
# TORCH=live (the default when /usr/bin/python3 has torch) runs the
# reference, a few seconds a seed; TORCH=recorded takes the numbers in
# bench/tabular-reference.json (from PyTorch 1.13.1, Debian 12, on the data
# whose checksums bench/tabular-data.sha256 holds) instead;
# TORCH=none leaves them out. When a trainer does not take the tabular
# options yet, its column says so and the rest still runs.
#
# Each nnc run is
#   build/NAME train --train build/tabular/NAME-train.csv --test build/tabular/NAME-test.csv \
#       --label COL | --target COL --standardize --seed S
# and its last line, `test: loss=L accuracy=A` or `test: loss=L mae=M r2=R`,
# is what the table shows; the whole output is kept in
# build/tabular/results/NAME-nnc-seedS.log.
set -eu
cd "$(dirname "$0")/.."
B=build
data=$B/tabular
res=$data/results
seeds=${SEEDS:-1,2,3}
py=/usr/bin/python3
if [ -z "${TORCH:-}" ]; then
    if $py -c 'import torch' 2>/dev/null; then TORCH=live; else TORCH=recorded; fi
fi

# NAME and its label or target option; every set is standardized
SETS="penguins:--label=species breast_cancer:--label=diagnosis diabetes:--target=progression"

scripts/tabular-data.sh "$data" >/dev/null
# bench/tabular-reference.json was computed on these bytes (Debian 12's
# packages); other bytes need TORCH=live
if ! cmp -s bench/tabular-data.sha256 "$data/SHA256SUMS"; then
    echo "tabular-compare: the data differ from bench/tabular-data.sha256 (other package versions?):" >&2
    cat "$data/SOURCES" >&2
    if [ "$TORCH" = recorded ]; then
        echo "tabular-compare: the recorded PyTorch numbers are for other data; use TORCH=live" >&2
        exit 1
    fi
fi
names=""
for s in $SETS; do names="$names $B/${s%%:*}"; done
# shellcheck disable=SC2086
${MAKE:-make} --no-print-directory -s $B/nnc $names
mkdir -p "$res"

for s in $SETS; do
    name=${s%%:*} opt=${s#*:}
    col=${opt#*=} opt=${opt%%=*}
    rm -f "$res/$name-nnc.txt"
    for seed in $(echo "$seeds" | tr , ' '); do
        log=$res/$name-nnc-seed$seed.log
        echo "nnc: $B/$name train --train $data/$name-train.csv --test $data/$name-test.csv $opt $col --standardize --seed $seed"
        if "$B/$name" train --train "$data/$name-train.csv" --test "$data/$name-test.csv" \
            "$opt" "$col" --standardize --seed "$seed" >"$log" 2>&1; then
            echo "$seed $(tail -n 1 "$log")" >>"$res/$name-nnc.txt"
        elif grep -q "unknown option '--train'" "$log"; then
            echo "$seed unsupported" >>"$res/$name-nnc.txt"
            echo "  $B/$name does not take --train yet: the trainer's tabular options are not merged"
            break
        else
            echo "$seed failed" >>"$res/$name-nnc.txt"
            sed 's/^/  /' "$log" >&2
        fi
    done
    case $TORCH in
    live)
        echo "torch: $py bench/torch_tabular.py --model models/$name.model --train $data/$name-train.csv --test $data/$name-test.csv $opt $col --standardize --seeds $seeds"
        rm -f "$res/$name-torch.json"
        if $py bench/torch_tabular.py --model "models/$name.model" --train "$data/$name-train.csv" \
            --test "$data/$name-test.csv" "$opt" "$col" --standardize --seeds "$seeds" \
            --json "$res/$name-torch.json" >"$res/$name-torch.log" 2>&1; then
            grep -v '^{' "$res/$name-torch.log" | sed 's/^/  /'
        else
            sed 's/^/  /' "$res/$name-torch.log" >&2
            echo "tabular-compare: the PyTorch reference failed on $name" >&2
            exit 1
        fi
        ;;
    recorded)
        grep "\"model\": \"$name\"" bench/tabular-reference.json >"$res/$name-torch.json" ;;
    none)
        rm -f "$res/$name-torch.json" ;;
    *)
        echo "tabular-compare: TORCH must be live, recorded or none" >&2; exit 2 ;;
    esac
done

echo
# The table: per metric, nnc's value per seed, its mean ± std, PyTorch's
# mean ± std, and whether the difference of the means is within seed
# noise: |diff| <= 2 sqrt(s_nnc^2 + s_torch^2) (the sample standard
# deviations over the seeds), plus one test example's worth (1 / n_test)
# for accuracy, whose steps are that coarse.
NAMES="$names" SEEDS="$seeds" TORCH="$TORCH" python3 - "$res" <<'EOF'
import json, math, os, re, statistics, sys
res = sys.argv[1]
seeds = os.environ["SEEDS"].split(",")
def ms(v):
    return (statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0)
def fmt(x, key):
    return f"{x:.1f}" if key == "MSE" else f"{x:.2f}" if key == "mae" else f"{x:.4f}"
rows, md = [], []
md.append("| data set | metric | nnc (seeds " + ", ".join(seeds) + ") | nnc mean ± std | PyTorch mean ± std | within seed noise |")
md.append("|---|---|---|---|---|---|")
for path in os.environ["NAMES"].split():
    name = os.path.basename(path)
    nnc = {}
    status = None
    with open(f"{res}/{name}-nnc.txt") as f:
        for line in f:
            seed, rest = line.rstrip("\n").split(" ", 1)
            m = dict(re.findall(r"(\w+)=(-?[0-9.]+(?:e[-+]?\d+)?|nan|inf)", rest))
            if not rest.startswith("test:") or not m:
                status = rest
                continue
            for k, v in m.items():
                nnc.setdefault(k, []).append(float(v))
    torch = None
    if os.path.exists(f"{res}/{name}-torch.json") and os.path.getsize(f"{res}/{name}-torch.json"):
        torch = json.load(open(f"{res}/{name}-torch.json"))
    keys = ["loss", "accuracy"] if (torch or {}).get("task", "classification") == "classification" else ["loss", "mae", "r2"]
    if not torch and "mae" in nnc:
        keys = ["loss", "mae", "r2"]
    n_test = torch["n_test"] if torch else None
    for k in keys:
        label = "MSE" if k == "loss" and "mae" in keys else k
        v = nnc.get(k, [])
        if v and status is None:
            nm, ns = ms(v)
            per = " ".join(fmt(x, label) for x in v)
            nms = f"{fmt(nm, label)} ± {fmt(ns, label)}"
        else:
            per, nms = (status or "n/a"), "n/a"
        if torch:
            tm, ts = torch["mean"]["test_" + k], torch["std"]["test_" + k]
            tms = f"{fmt(tm, label)} ± {fmt(ts, label)}"
        else:
            tms = "n/a"
        verdict = "n/a"
        if torch and v and status is None:
            tol = 2 * math.sqrt(ns ** 2 + ts ** 2) + (1 / n_test if k == "accuracy" else 0)
            diff = nm - tm
            verdict = f"{'yes' if abs(diff) <= tol else 'NO'} (diff {diff:+.4g}, tolerance {tol:.4g})"
        rows.append((name, label, per, nms, tms, verdict))
        md.append(f"| {name} | {label} | {per} | {nms} | {tms} | {verdict} |")
w = [max(len(r[i]) for r in rows + [("data set", "metric", "nnc per seed", "nnc mean ± std", "PyTorch mean ± std", "within seed noise")]) for i in range(6)]
head = ("data set", "metric", "nnc per seed", "nnc mean ± std", "PyTorch mean ± std", "within seed noise")
print("  ".join(h.ljust(w[i]) for i, h in enumerate(head)).rstrip())
for r in rows:
    print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
with open(f"{res}/table.md", "w") as f:
    f.write("\n".join(md) + "\n")
print(f"(the Markdown table: {res}/table.md; PyTorch: {os.environ['TORCH']})")
EOF
