#!/usr/bin/python3
"""The PyTorch reference for nnc's tabular models (docs/tabular.md).

Reads the network and the recipe from the .model file itself (the flat
subset: `input N`, `dense N [ACT] [init=..] [bias=..]`, activation
statements, `dropout P`, `loss`, `optimizer`, `weight_decay`, `batch`,
`epochs`, `seed`), so that the two cannot drift apart, and the data from
explicit train and test CSV files with a header, read as nnc's trainer
reads them:

- `--label COL` (a name or a 1-based index): the class column; its values
  are class names mapped to indices in sorted order, or integer indices
  when every value is an integer. `--target COL[,COL...]`: regression
  targets instead (`loss mse`). Every other column is a feature, in file
  order.
- `--standardize`: z-score each feature with the TRAINING set's mean and
  standard deviation (population, ddof 0, as sklearn's StandardScaler and
  Keras' Normalization), computed in float64; a constant column (std 0) is
  centred and left unscaled. Targets are never scaled.

nnc's initialisation and optimizer: Glorot-uniform weights with Keras'
fans (a dense layer: fan_in = inputs, fan_out = units, which is what
xavier_uniform_ takes from a Linear's (out, in) weight), zero biases;
`init=he` is he_uniform, U(-sqrt(6 / fan_in), +sqrt(6 / fan_in)), as
runtime/rng.c draws it; torch.optim.Adam or SGD with the .model's
settings (nnc's adam defaults are torch's: eps 1e-8). Each epoch visits the
training rows in a fresh random order (torch.randperm), in batches of
`batch`, the last one short; cross-entropy on logits (a final softmax is
fused with the loss in training, as nnc does), mse averaged over every
output. After the last epoch the test set is evaluated in inference mode.

Metrics: classification test loss (mean cross-entropy) and accuracy;
regression test loss (MSE over all outputs), MAE, and R^2 = 1 - SS_res /
SS_tot with the test set's own mean (sklearn's r2_score; with several
targets, the mean of their R^2). nnc's trainer prints these on its last
line: `test: loss=L accuracy=A` or `test: loss=L mae=M r2=R`.

  /usr/bin/python3 bench/torch_tabular.py --model models/penguins.model \\
      --train build/tabular/penguins-train.csv --test build/tabular/penguins-test.csv \\
      --label species --standardize --seeds 1,2,3 [--json FILE]

One line per seed, `seed S: test: ...` in nnc's format, then a summary
line with the mean and the sample standard deviation (n - 1) over the
seeds, then one JSON line (also written to --json FILE).
"""
import argparse
import csv
import json
import math
import re
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ACTS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "linear": None,
        "softmax": None, "leaky_relu": None}


def die(msg):
    sys.exit(f"torch_tabular: {msg}")


def parse_model(path):
    """The flat-MLP subset of docs/language.md: a list of layers and the recipe"""
    layers, recipe = [], {"loss": "cross_entropy", "optimizer": "adam", "opt": {},
                          "weight_decay": 0.0, "batch": 32, "epochs": 10, "seed": 1}
    n_in, name = None, None
    text = open(path).read()
    for lineno, line in enumerate(text.replace("\r", "").split("\n"), 1):
        for stmt in line.split("#", 1)[0].split(";"):
            words = re.sub(r"\s*=\s*", "=", stmt).split()
            if not words:
                continue
            kw, args = words[0], words[1:]
            pos = [a for a in args if "=" not in a]
            opt = dict(a.split("=", 1) for a in args if "=" in a)
            where = f"{path}:{lineno}"
            if kw == "model":
                name = pos[0]
            elif kw == "input":
                if not re.fullmatch(r"\d+", pos[0]):
                    die(f"{where}: only a flat 'input N' is supported here")
                n_in = int(pos[0])
            elif kw == "dense":
                act = pos[1] if len(pos) > 1 else "linear"
                layers.append(("dense", int(pos[0]), act, opt.get("init", "glorot"),
                               opt.get("bias", "true") != "false"))
            elif kw in ACTS:
                layers.append(("act", kw, pos[0] if pos else None))
            elif kw == "dropout":
                layers.append(("dropout", float(pos[0])))
            elif kw == "loss":
                recipe["loss"] = pos[0]
            elif kw == "optimizer":
                recipe["optimizer"], recipe["opt"] = pos[0], {k: v for k, v in opt.items()}
            elif kw in ("weight_decay",):
                recipe[kw] = float(pos[0])
            elif kw in ("batch", "epochs", "seed"):
                recipe[kw] = int(pos[0])
            else:
                die(f"{where}: '{kw}' is not in the flat subset this script reads")
    if n_in is None:
        die(f"{path}: no 'input N'")
    return name, n_in, layers, recipe


class Net(nn.Module):
    def __init__(self, n_in, layers):
        super().__init__()
        mods, width, self.final_softmax = [], n_in, False
        for i, l in enumerate(layers):
            last = i == len(layers) - 1
            if l[0] == "dense":
                _, units, act, init, bias = l
                lin = nn.Linear(width, units, bias=bias)
                if init == "glorot":
                    nn.init.xavier_uniform_(lin.weight)
                elif init == "he":
                    bound = math.sqrt(6.0 / width)
                    nn.init.uniform_(lin.weight, -bound, bound)
                elif init == "zeros":
                    nn.init.zeros_(lin.weight)
                if bias:
                    nn.init.zeros_(lin.bias)
                mods.append(lin)
                width = units
                mods += self.activation(act, None, last)
            elif l[0] == "act":
                mods += self.activation(l[1], l[2], last)
            elif l[0] == "dropout":
                mods.append(nn.Dropout(l[1]))
        self.body = nn.Sequential(*mods)
        self.n_out = width

    def activation(self, act, arg, last):
        if act == "softmax":
            if not last:
                die("softmax is supported as the last layer only")
            self.final_softmax = True  # fused with the loss: the body outputs logits
            return []
        if act == "leaky_relu":
            return [nn.LeakyReLU(float(arg) if arg else 0.01)]
        return [ACTS[act]()] if ACTS[act] else []

    def forward(self, x):
        return self.body(x)


def column(header, spec, what):
    if re.fullmatch(r"\d+", spec):
        i = int(spec)
        if not 1 <= i <= len(header):
            die(f"{what} {spec}: the file has {len(header)} columns")
        return i - 1
    if spec not in header:
        die(f"{what} '{spec}': no such column in {header}")
    return header.index(spec)


def read_csv(path):
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    return rows[0], rows[1:]


def load(path, label, targets, classes=None):
    """(x float64 (n, f), y) with y int64 class indices or float32 targets;
    classes: the training set's class names (None: derive them here)"""
    header, rows = read_csv(path)
    ycols = ([column(header, t, "--target") for t in targets.split(",")] if targets
             else [column(header, label, "--label")])
    xcols = [i for i in range(len(header)) if i not in ycols]
    x = np.array([[float(r[i]) for i in xcols] for r in rows], dtype=np.float64)
    if targets:
        y = torch.tensor([[float(r[i]) for i in ycols] for r in rows], dtype=torch.float32)
        return x, y, None, [header[i] for i in xcols]
    names = [r[ycols[0]].strip() for r in rows]
    if classes is None:
        if all(re.fullmatch(r"-?\d+", n) for n in names):
            classes = None
        else:
            classes = sorted(set(names))
    if classes is None:
        y = [int(n) for n in names]
    else:
        unknown = set(names) - set(classes)
        if unknown:
            die(f"{path}: classes {sorted(unknown)} are not in the training set's {classes}")
        y = [classes.index(n) for n in names]
    return x, torch.tensor(y, dtype=torch.int64), classes, [header[i] for i in xcols]


def standardize(xtr, xte):
    mean = xtr.mean(0)
    std = xtr.std(0)  # ddof 0
    std[std == 0] = 1.0
    return (xtr - mean) / std, (xte - mean) / std


def run(seed, n_in, layers, recipe, xtr, ytr, xte, yte, regression):
    torch.manual_seed(seed)
    net = Net(n_in, layers)
    o = recipe["opt"]
    wd = recipe["weight_decay"]
    if recipe["optimizer"] == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=float(o.get("lr", 0.001)),
                               betas=(float(o.get("beta1", 0.9)), float(o.get("beta2", 0.999))),
                               eps=float(o.get("eps", 1e-8)), weight_decay=wd)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=float(o.get("lr", 0.01)),
                              momentum=float(o.get("momentum", 0)),
                              nesterov=o.get("nesterov", "false") == "true", weight_decay=wd)
    lossf = F.mse_loss if regression else F.cross_entropy
    batch, n = recipe["batch"], len(xtr)
    for _ in range(recipe["epochs"]):
        net.train()
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = lossf(net(xtr[idx]), ytr[idx])
            if not torch.isfinite(loss):
                die(f"seed {seed}: the loss became {loss.item()}")
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        out = net(xte)
        if regression:
            err = out - yte
            ss_tot = ((yte - yte.mean(0)) ** 2).sum(0)
            r2 = (1 - (err ** 2).sum(0) / ss_tot).mean()
            return {"test_loss": (err ** 2).mean().item(), "test_mae": err.abs().mean().item(),
                    "test_r2": r2.item()}
        return {"test_loss": F.cross_entropy(out, yte).item(),
                "test_accuracy": (out.argmax(1) == yte).float().mean().item()}


def line(m):
    if "test_accuracy" in m:
        return f"test: loss={m['test_loss']:.4f} accuracy={m['test_accuracy']:.4f}"
    return f"test: loss={m['test_loss']:.4f} mae={m['test_mae']:.4f} r2={m['test_r2']:.4f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="the .model file (network and recipe)")
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--label", help="the class column: a name or a 1-based index")
    g.add_argument("--target", help="regression target column(s): COL[,COL...]")
    ap.add_argument("--standardize", action="store_true")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--epochs", type=int, help="override the .model's epochs")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--json", help="also write the JSON result to this file")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    name, n_in, layers, recipe = parse_model(a.model)
    if a.epochs:
        recipe["epochs"] = a.epochs
    regression = a.target is not None
    if regression != (recipe["loss"] == "mse"):
        die(f"{a.model}: loss {recipe['loss']} with {'--target' if regression else '--label'}")
    xtr, ytr, classes, features = load(a.train, a.label, a.target)
    xte, yte, _, features_te = load(a.test, a.label, a.target, classes)
    if features != features_te:
        die(f"{a.test}: its features {features_te} are not the training file's {features}")
    if xtr.shape[1] != n_in:
        die(f"{a.train}: {xtr.shape[1]} features, the model's input is {n_in}")
    if a.standardize:
        xtr, xte = standardize(xtr, xte)
    xtr, xte = torch.tensor(xtr, dtype=torch.float32), torch.tensor(xte, dtype=torch.float32)
    seeds = [int(s) for s in a.seeds.split(",")]
    per_seed = []
    for s in seeds:
        t0 = time.perf_counter()
        m = run(s, n_in, layers, recipe, xtr, ytr, xte, yte, regression)
        m = {"seed": s, **{k: round(v, 6) for k, v in m.items()}}
        per_seed.append(m)
        print(f"seed {s}: {line(m)} | {time.perf_counter() - t0:.1f}s", flush=True)
    keys = [k for k in per_seed[0] if k != "seed"]
    mean = {k: round(statistics.mean(m[k] for m in per_seed), 6) for k in keys}
    std = {k: round(statistics.stdev(m[k] for m in per_seed), 6) if len(seeds) > 1 else 0.0
           for k in keys}
    print("mean ± std over seeds " + a.seeds + ": "
          + " ".join(f"{k[5:]}={mean[k]:.4f}±{std[k]:.4f}" for k in keys))
    o = recipe["opt"]
    result = {"model": name, "task": "regression" if regression else "classification",
              "train": a.train, "test": a.test, "n_train": len(xtr), "n_test": len(xte),
              "features": n_in, "classes": classes, "standardize": a.standardize,
              "recipe": {"optimizer": recipe["optimizer"],
                         **{k: v if k == "nesterov" else float(v) for k, v in o.items()},
                         "weight_decay": recipe["weight_decay"], "batch": recipe["batch"],
                         "epochs": recipe["epochs"]},
              "torch": torch.__version__, "seeds": seeds, "per_seed": per_seed,
              "mean": mean, "std": std}
    text = json.dumps(result)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
