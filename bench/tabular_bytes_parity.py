#!/usr/bin/python3
"""nnc against PyTorch on the tabular classification sets, with TODAY's trainer.

Before the trainer reads float CSVs (issue 11), its only CSV is the Kaggle
Fashion-MNIST layout: an integer label first, then integer values 0..255,
which it uses as x / 255. This script writes penguins and breast_cancer
in that layout (the fixed split of scripts/tabular-data.sh; each feature
min-max scaled with the training rows' minimum and maximum to 0..255 and
rounded, test values clipped; classes by their sorted index), trains
build/NAME on it for 3 seeds with

    build/NAME train --data DIR/NAME --seed S

and runs the PyTorch reference (bench/torch_tabular.py's network, init,
optimizer and loop) on the same rows as x / 255. It checks the part of
the comparison that does not depend on the new data options: the network,
the initialisation, Adam, the batches and the loss. Needs build/penguins,
build/breast_cancer (make) and build/tabular (scripts/tabular-data.sh).

    /usr/bin/python3 bench/tabular_bytes_parity.py [DIR]   (default build/tabular/bytes)
"""
import os
import statistics
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_tabular as tt  # noqa: E402

SETS = (("penguins", "species"), ("breast_cancer", "diagnosis"))


def write(name, label, out):
    xtr, ytr, classes, _ = tt.load(f"build/tabular/{name}-train.csv", label, None)
    xte, yte, _, _ = tt.load(f"build/tabular/{name}-test.csv", label, None, classes)
    lo, hi = xtr.min(0), xtr.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    os.makedirs(f"{out}/{name}", exist_ok=True)
    sets = {}
    for split, x, y in (("train", xtr, ytr), ("test", xte, yte)):
        q = np.clip(np.rint(255 * (x - lo) / span), 0, 255).astype(int)
        with open(f"{out}/{name}/{split}.csv", "w") as f:
            f.write("label," + ",".join(f"f{i}" for i in range(x.shape[1])) + "\n")
            for qi, yi in zip(q, y.tolist()):
                f.write(f"{yi}," + ",".join(map(str, qi)) + "\n")
        sets[split] = (torch.tensor(q / 255.0, dtype=torch.float32), y)
    return sets


def summary(values):
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build/tabular/bytes"
    torch.set_num_threads(1)
    seeds = (1, 2, 3)
    print(f"{'set':14} {'side':8} {'accuracy per seed':24} {'accuracy':16} loss")
    for name, label in SETS:
        sets = write(name, label, out)
        _, n_in, layers, recipe = tt.parse_model(f"models/{name}.model")
        results = {"nnc": [], "PyTorch": []}
        for s in seeds:
            run = subprocess.run([f"build/{name}", "train", "--data", f"{out}/{name}", "--seed",
                                  str(s), "--threads", "1"], capture_output=True, text=True,
                                 check=True)
            last = run.stdout.strip().split("\n")[-1]  # test: loss=L accuracy=A
            m = dict(kv.split("=") for kv in last.split()[1:])
            results["nnc"].append((float(m["loss"]), float(m["accuracy"])))
            r = tt.run(s, n_in, layers, recipe, *sets["train"], *sets["test"], False)
            results["PyTorch"].append((r["test_loss"], r["test_accuracy"]))
        for side, rs in results.items():
            accs = " ".join(f"{a:.4f}" for _, a in rs)
            print(f"{name:14} {side:8} {accs:24} {summary([a for _, a in rs]):16} "
                  f"{summary([l for l, _ in rs])}")


if __name__ == "__main__":
    main()
