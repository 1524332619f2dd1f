#!/usr/bin/python3
"""The PyTorch reference for nnc's models: the same network and recipe.

Run with Debian's python3-torch (/usr/bin/python3; the python3 first on PATH
may have no torch). Prints one line per epoch and, last, a JSON line with
test accuracy, training throughput and peak RSS, which bench/ and the
parity notes read.

  /usr/bin/python3 bench/torch_ref.py --model mlp --epochs 10 --batch 64
  /usr/bin/python3 bench/torch_ref.py --model cnn --epochs 3 --batch 128 --threads 1

--bench is the mode bench/run.py (`make bench`) uses: no evaluation
between epochs (one, untimed, at the end: its accuracy and its memory are
part of a training run), then inference throughput at batches 1, 64 and
256 (eval mode, no_grad) on test images, each the median of timed windows.
"""
import argparse
import gzip
import json
import resource
import statistics
import struct
import time

import numpy as np
import torch
import torch.nn as nn

DATA = "/usr/share/datasets/fashion-mnist"


def load_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, count = struct.unpack(">II", raw[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", raw[8:16])
        return np.frombuffer(raw, np.uint8, offset=16).reshape(count, rows, cols)
    return np.frombuffer(raw, np.uint8, offset=8)


def load(split, limit=None):
    x = load_idx(f"{DATA}/{split}-images-idx3-ubyte.gz")
    y = load_idx(f"{DATA}/{split}-labels-idx1-ubyte.gz")
    if limit:
        x, y = x[:limit], y[:limit]
    x = torch.tensor(x, dtype=torch.float32).unsqueeze(1) / 255.0  # (N, 1, 28, 28)
    return x, torch.tensor(y, dtype=torch.int64)


def network(name):
    if name == "mlp":  # models/fashion_mlp.model
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 1024), nn.ReLU(), nn.Dropout(0.5),
                             nn.Linear(1024, 10))
    if name == "cnn":  # models/keras_mnist_cnn.model
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
                             nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    raise SystemExit(f"unknown model {name}")


def evaluate(net, x, y, batch=1000):
    net.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = net(x[i:i + batch])
            loss += nn.functional.cross_entropy(out, y[i:i + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + batch]).sum().item()
    return loss / len(x), correct / len(x)


def time_inference(net, x, windows=5, seconds=0.2):
    """Samples/s of net(x[:b]) for b in 1, 64, 256: medians over windows
    in which calls repeat until `seconds` have passed (one untimed first)."""
    net.eval()
    rates = {}
    with torch.no_grad():
        for b in (1, 64, 256):
            xb, window_rates = x[:b], []
            for w in range(windows + 1):
                t0, calls = time.perf_counter(), 0
                while True:
                    net(xb)
                    calls += 1
                    t = time.perf_counter() - t0
                    if t >= seconds:
                        break
                if w > 0:
                    window_rates.append(calls * b / t)
            rates[b] = statistics.median(window_rates)
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    ap.add_argument("--steps", type=int, default=None,
                    help="stop each epoch after this many steps (throughput runs)")
    ap.add_argument("--bench", action="store_true",
                    help="evaluate once at the end only, then time inference")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load("train", a.limit)
    xte, yte = load("t10k")
    net = network(a.model)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    rates, acc, test_loss = [], 0.0, 0.0
    for epoch in range(1, a.epochs + 1):
        net.train()
        perm = torch.randperm(len(xtr))
        t0, seen = time.perf_counter(), 0
        for step, i in enumerate(range(0, len(xtr), a.batch)):
            if a.steps and step >= a.steps:
                break
            idx = perm[i:i + a.batch]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            seen += len(idx)
        rates.append(seen / (time.perf_counter() - t0))
        if a.bench and epoch < a.epochs:
            print(f"epoch {epoch}/{a.epochs}: {rates[-1]:.0f} samples/s", flush=True)
            continue
        test_loss, acc = evaluate(net, xte, yte)
        print(f"epoch {epoch}/{a.epochs}: test loss={test_loss:.4f} accuracy={acc:.4f} "
              f"{rates[-1]:.0f} samples/s", flush=True)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"model": a.model, "batch": a.batch, "threads": torch.get_num_threads(),
              "test_loss": round(test_loss, 4), "test_accuracy": round(acc, 4),
              "samples_per_s": round(float(np.median(rates)), 1),
              "peak_rss_mib": round(rss_mib, 1)}
    if a.bench:
        for b, rate in time_inference(net, xte).items():
            result[f"infer{b}_samples_per_s"] = round(rate, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
