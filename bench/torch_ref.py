#!/usr/bin/python3
"""The PyTorch reference for nnc's models: the same network and recipe.

Run with Debian's python3-torch (/usr/bin/python3; the python3 first on PATH
may have no torch). Prints one line per epoch and, last, a JSON line with
test accuracy, training throughput and peak RSS, which bench/ and the
parity notes read.

  /usr/bin/python3 bench/torch_ref.py --model mlp --epochs 10 --batch 64
  /usr/bin/python3 bench/torch_ref.py --model cnn --epochs 3 --batch 128 --threads 1
  /usr/bin/python3 bench/torch_ref.py --model resnet --epochs 3 --schedule cosine

mlp and cnn keep torch's default initialisation (the README's parity
numbers); resnet and densenet, the skip-connection models of issue 9,
start as nnc does: Glorot-uniform kernels with Keras' fans, zero biases,
batchnorm gamma 1 and beta 0, momentum 0.99 and eps 1e-3 in Keras' sense.
Images are NCHW here and NHWC in nnc; with one input channel the data are
the same bytes, and the math does not depend on the layout (concat joins
channels in the same order, gap averages each channel, no flatten).

--bench is the mode bench/run.py (`make bench`) uses: no evaluation
between epochs (one, untimed, at the end: its accuracy and its memory are
part of a training run), then inference throughput at batches 1, 64 and
256 (eval mode, no_grad) on test images, each the median of timed windows.
"""
import argparse
import gzip
import json
import math
import resource
import statistics
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

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


class SameConv(nn.Conv2d):
    """Conv2d with Keras' padding=same: ceil(H / S) outputs, the smaller
    half of the padding on top and left (torch's padding=1 at stride 2
    would pad both sides and shift every window)."""

    def forward(self, x):
        pads = []
        for size, k, s in zip(reversed(x.shape[2:]), reversed(self.kernel_size),
                              reversed(self.stride)):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


def conv(c, oc, k, stride=1, bias=True):
    return SameConv(c, oc, k, stride=stride, bias=bias)


def batchnorm(c):
    """Keras' momentum 0.99 is torch's 0.01 (torch weighs the new batch)"""
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class Residual(nn.Module):
    """Two 3x3 convs with batchnorm, relu between, the block input (or its
    1x1 projection when the stride or the width changes) added, then relu:
    a block of models/fashion_resnet.model"""

    def __init__(self, c, oc, stride=1):
        super().__init__()
        self.main = nn.Sequential(conv(c, oc, 3, stride, bias=False), batchnorm(oc), nn.ReLU(),
                                  conv(oc, oc, 3, bias=False), batchnorm(oc))
        self.shortcut = (nn.Sequential(conv(c, oc, 1, stride, bias=False), batchnorm(oc))
                         if stride != 1 or c != oc else nn.Identity())

    def forward(self, x):
        return F.relu(self.shortcut(x) + self.main(x))


class Gap(nn.Module):
    def forward(self, x):
        return x.mean((2, 3))


class DenseConcat(nn.Module):
    """tests/e2e/dense_concat.model: each 3x3 conv sees the concatenation of
    every value before it, the newest first, as `concat ID...` orders them"""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(conv(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2))
        self.c1 = nn.Sequential(conv(16, 16, 3), nn.ReLU())
        self.c2 = nn.Sequential(conv(32, 16, 3), nn.ReLU())
        self.head = nn.Sequential(Gap(), nn.Linear(48, 10))

    def forward(self, x):
        s = self.stem(x)
        c1 = self.c1(s)
        c2 = self.c2(torch.cat([c1, s], 1))
        return self.head(torch.cat([c2, c1, s], 1))


def nnc_init(net):
    """nnc's initialisation: xavier_uniform_ takes Keras' fans (fan_in
    C*K*K, fan_out OC*K*K for a conv), biases start at zero; batchnorm's
    gamma 1 and beta 0 are torch's defaults already."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def network(name):
    if name == "mlp":  # models/fashion_mlp.model
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 1024), nn.ReLU(), nn.Dropout(0.5),
                             nn.Linear(1024, 10))
    if name == "cnn":  # models/keras_mnist_cnn.model
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
                             nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    if name == "resnet":  # models/fashion_resnet.model
        return nnc_init(nn.Sequential(conv(1, 32, 3, bias=False), batchnorm(32), nn.ReLU(),
                                      Residual(32, 32), Residual(32, 32), Residual(32, 64, 2),
                                      Gap(), nn.Linear(64, 10)))
    if name == "densenet":  # tests/e2e/dense_concat.model
        return nnc_init(DenseConcat())
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
    ap.add_argument("--model", default="mlp", choices=["mlp", "cnn", "resnet", "densenet"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    ap.add_argument("--schedule", default="none", choices=["none", "cosine"],
                    help="cosine: nnc's `schedule cosine` (docs/trainer.md), per step from lr to 0")
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
    steps_per_epoch = -(-len(xtr) // a.batch)
    k = 0  # steps taken, Keras' step count from 0
    for epoch in range(1, a.epochs + 1):
        net.train()
        perm = torch.randperm(len(xtr))
        t0, seen = time.perf_counter(), 0
        for step, i in enumerate(range(0, len(xtr), a.batch)):
            if a.steps and step >= a.steps:
                break
            idx = perm[i:i + a.batch]
            if a.schedule == "cosine":  # CosineDecay over the run, as runtime/schedule.c
                frac = min(k / (a.epochs * steps_per_epoch), 1.0)
                for group in opt.param_groups:
                    group["lr"] = a.lr * 0.5 * (1 + math.cos(math.pi * frac))
            k += 1
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
