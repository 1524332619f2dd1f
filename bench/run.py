#!/usr/bin/python3
"""bench/run.py: nnc against PyTorch and the BLAS roofline, in one run.

`make bench` builds the compiler, the seed models' trainers and
build/bench/gemm, then runs this script, which measures on this machine:

  - training throughput of the seed MLP at batch 64 and 256, of the
    Keras CNN at batch 128 and of the residual CNN (fashion_resnet) at
    batch 64: `TRAINER bench` (runtime/bench.c), the median over timed
    windows of the trainer's own loop on real data;
  - the GEMM-only bound of the MLP's and the Keras CNN's steps
    (build/bench/gemm) and the fraction of it nnc reaches;
  - inference throughput at batches 1, 64 and 256 (the generated infer);
  - peak RSS of a training run (`TRAINER train --epochs 1`, ru_maxrss of
    the child from wait4);
  - nnc's compile time per model (median wall time of the whole process)
    and the time to build a generated trainer (cc, median of 3);
  - the same models, recipe and measurements in PyTorch (bench/torch_ref.py
    --bench under /usr/bin/python3), in its default thread setting, with
    torch.set_num_threads(1) and with one thread per core; its best is the
    fastest of them (the smallest, for memory);

and prints one table with the ratios, then writes the same rows to
build/bench/results.jsonl (one JSON object per row), the table to
build/bench/table.md and every record the tools printed (each product's
time, each PyTorch run) to build/bench/raw.jsonl. Comparisons are only
meaningful side by side, on an idle machine: the script warns when other
processes were using the CPU when it started.

Settings (environment): BENCH_BUILD, the build directory (build);
BENCH_CC, the compile command of a trainer without its output and inputs,
and BENCH_LIBS, its libraries (the Makefile passes all three); BENCH_QUICK=1
runs fewer and shorter windows (a smoke test, not for the README).
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("BENCH_BUILD", "build")
OUT = os.path.join(BUILD, "bench")
QUICK = os.environ.get("BENCH_QUICK") == "1"

# name, .model, trainer batch sizes, (torch_ref --model, its steps per epoch)
MODELS = [
    ("fashion_mlp", "models/fashion_mlp.model", [64, 256], "mlp"),
    ("keras_mnist_cnn", "models/keras_mnist_cnn.model", [128], "cnn"),
    ("fashion_resnet", "models/fashion_resnet.model", [64], "resnet"),
]
# Training steps per timed window (nnc) and per epoch (PyTorch): about a
# second of each
STEPS = {"mlp": 100, "cnn": 10, "resnet": 20}
INFER_BATCHES = [1, 64, 256]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    """stdout of cmd; exits with its stderr if it fails"""
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return p.stdout


RAW = []  # every JSON record the tools printed, for build/bench/raw.jsonl


def last_json(text):
    record = json.loads(text.strip().splitlines()[-1])
    RAW.append(record)
    return record


def busy_cores(seconds=1.0):
    """How many cores' worth of CPU time other processes used over a second
    (from /proc/stat): the load average lags by minutes"""
    def ticks():
        with open("/proc/stat") as f:
            v = [int(t) for t in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait
    t0, i0 = ticks()
    time.sleep(seconds)
    t1, i1 = ticks()
    return (os.cpu_count() or 1) * (1 - (i1 - i0) / max(t1 - t0, 1))


def machine():
    model = platform.processor()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    torch = run(["/usr/bin/python3", "-c", "import torch; print(torch.__version__)"]).strip()
    return {"cpu": model, "cores": os.cpu_count(), "kernel": platform.release(),
            "torch": torch, "busy_cores": round(busy_cores(), 2)}


def peak_rss_mib(cmd):
    """ru_maxrss of one run of cmd, in MiB (Linux reports KiB)"""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed: {p.stderr.read().decode()}")
    return usage.ru_maxrss / 1024


def median_seconds(cmd, times):
    spent = []
    for _ in range(times):
        t0 = time.perf_counter()
        run(cmd)
        spent.append(time.perf_counter() - t0)
    return statistics.median(spent)


def gemm_bounds():
    """{(model, batch): bound record} and the peak record, from build/bench/gemm"""
    out = run([os.path.join(OUT, "gemm"), "--reps", "20" if QUICK else "100"])
    bounds, peak = {}, None
    for line in out.splitlines():
        r = json.loads(line)
        RAW.append(r)
        if r["kind"] == "bound":
            bounds[(r["model"], r["batch"])] = r
        elif r["kind"] == "peak":
            peak = r
    return bounds, peak


def nnc_bench(name, kind, batch, threads=None):
    steps = STEPS[kind]
    cmd = [os.path.join(BUILD, name), "bench", "--batch", str(batch), "--steps",
           str(steps // 2 if QUICK else steps), "--windows", "3" if QUICK else "7"]
    if threads:
        cmd += ["--threads", str(threads)]
    return last_json(run(cmd))


def torch_configs(kind, batch):
    """PyTorch in its default thread setting, then with 1 thread and with one
    per core where those differ from the default: {threads: result}"""
    default = torch_bench(kind, batch, None)
    runs = {default["threads"]: default}
    for n in sorted({1, os.cpu_count() or 1}):
        if n not in runs:
            runs[n] = torch_bench(kind, batch, n)
    return default, runs


def torch_bench(kind, batch, threads):
    steps = STEPS[kind]
    cmd = ["/usr/bin/python3", "bench/torch_ref.py", "--model", kind, "--batch", str(batch),
           "--epochs", "3" if QUICK else "6", "--steps", str(steps), "--bench"]
    if threads:
        cmd += ["--threads", str(threads)]
    return last_json(run(cmd))


def ratio(a, b):
    return a / b if a and b else None


def main():
    os.makedirs(OUT, exist_ok=True)
    info = machine()
    if info["busy_cores"] > 0.2:
        log(f"bench: warning: other processes kept {info['busy_cores']:.1f} cores busy at the "
            "start: they share the cores, so the figures below are low and noisy")
    rows = []

    def row(what, nnc, unit, torch_default=None, torch_best=None, bound=None, note=""):
        rows.append({"measure": what, "unit": unit, "nnc": nnc, "torch_default": torch_default,
                     "torch_best": torch_best, "nnc_over_torch_best": ratio(nnc, torch_best),
                     "gemm_bound": bound, "nnc_over_bound": ratio(nnc, bound), "note": note})

    log("bench: compile times")
    cc = os.environ.get("BENCH_CC", "cc -O3 -std=c11 -Ibuild/include").split()
    libs = os.environ.get("BENCH_LIBS", "-lopenblas -lz -lm").split()
    with tempfile.TemporaryDirectory() as tmp:
        for name, src, _, _ in MODELS:
            c = os.path.join(tmp, name + ".c")
            nnc_s = median_seconds([os.path.join(BUILD, "nnc"), src, "-o", c], 5 if QUICK else 21)
            row(f"{name}: nnc compile time", nnc_s * 1e3, "ms")
            build_s = median_seconds(cc + ["-o", os.path.join(tmp, name), c,
                                           os.path.join(BUILD, "libnnrt.a")] + libs, 3)
            row(f"{name}: cc build of the trainer", build_s, "s")

    log("bench: GEMM bounds (build/bench/gemm)")
    bounds, peak = gemm_bounds()

    for name, _, batches, kind in MODELS:
        for batch in batches:
            log(f"bench: {name} batch {batch}: nnc")
            n = nnc_bench(name, kind, batch)
            log(f"bench: {name} batch {batch}: PyTorch, default threads, 1 and one per core")
            td, runs = torch_configs(kind, batch)
            best = max(runs.values(), key=lambda r: r["samples_per_s"])
            b = bounds.get((kind, batch), {}).get("samples_per_s")
            row(f"{name}: training, batch {batch}", n["train_samples_per_s"], "samples/s",
                td["samples_per_s"], best["samples_per_s"], b,
                f"nnc {n['threads']} threads; PyTorch default {td['threads']} thread(s), "
                f"best {best['threads']}")
            if batch != batches[0]:
                continue
            for ib in INFER_BATCHES:
                key = f"infer{ib}_samples_per_s"
                best_i = max(r[key] for r in runs.values())
                row(f"{name}: inference, batch {ib}", n[key], "samples/s", td[key], best_i)
            log(f"bench: {name}: peak RSS of one training epoch")
            rss = peak_rss_mib([os.path.join(BUILD, name), "train", "--epochs", "1"])
            row(f"{name}: peak RSS, training at batch {batch}", rss, "MiB",
                td["peak_rss_mib"], min(r["peak_rss_mib"] for r in runs.values()),
                note="lower is better: PyTorch best is its smallest")

    mpi_rows(row)

    with open(os.path.join(OUT, "results.jsonl"), "w") as f:
        f.write(json.dumps({"measure": "machine", **info, "blas_peak": peak}) + "\n")
        for r in rows:
            f.write(json.dumps(r) + "\n")
    table = render(rows, info, peak)
    with open(os.path.join(OUT, "table.md"), "w") as f:
        f.write(table)
    with open(os.path.join(OUT, "raw.jsonl"), "w") as f:
        for r in RAW:
            f.write(json.dumps(r) + "\n")
    print(table, end="")


MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
          "--mca", "pml", "ob1", "--mca", "btl", "self,vader",
          "--mca", "btl_vader_single_copy_mechanism", "none"]


def mpi_rows(row):
    """Data parallelism on this machine (docs/distributed.md): the training
    loop on 2 processes of 1 thread each (the MPI build, BENCH_MPI_BUILD),
    with the ordered combination and with MPI_Allreduce, against 1 process
    of 2 threads, alternated in one run"""
    mpi_build = os.environ.get("BENCH_MPI_BUILD")
    if not mpi_build:
        log("bench: no MPI build (BENCH_MPI_BUILD): the 2-process rows are left out")
        return
    for name, _, batches, kind in MODELS:
        if kind == "resnet":  # batchnorm: one shard a batch, which every process computes whole
            continue
        batch = batches[0]
        trainer = os.path.join(mpi_build, name)
        figures = {"one": [], "ordered": [], "plain": []}
        for _ in range(1 if QUICK else 3):
            log(f"bench: {name} batch {batch}: 1 process x 2 threads, 2 processes x 1 thread")
            one = run([trainer, "bench", "--batch", str(batch), "--threads", "2"])
            figures["one"].append(last_json(one)["train_samples_per_s"])
            for mode in ("ordered", "plain"):
                out = run(MPIRUN + ["-x", f"NNRT_REDUCE={mode}", "-np", "2", trainer, "bench",
                                    "--batch", str(batch), "--threads", "1"])
                figures[mode].append(last_json(out)["train_samples_per_s"])
        one = statistics.median(figures["one"])
        for mode, what in (("ordered", "summed in shard order (bit-identical)"),
                           ("plain", "MPI_Allreduce (NNRT_REDUCE=plain)")):
            v = statistics.median(figures[mode])
            row(f"{name}: training, batch {batch}, 2 processes x 1 thread, {what}", v,
                "samples/s", note=f"{v / one:.3f} of 1 process x 2 threads ({one:.0f} samples/s)")


def fmt(v, unit=""):
    if v is None:
        return ""
    if unit == "s":
        return f"{v:.2f}"
    if unit == "ms":
        return f"{v:.2f}"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}"


def render(rows, info, peak):
    lines = [
        f"Machine: {info['cpu']}, {info['cores']} cores, Linux {info['kernel']}; "
        f"PyTorch {info['torch']}; OpenBLAS sgemm peak {peak['gflops']:.0f} GFLOP/s "
        f"({peak['shape']}, {peak['threads']} threads); other processes' CPU at the start: "
        f"{info['busy_cores']:.2f} cores.",
        "",
        "| measure | unit | nnc | PyTorch default | PyTorch best | nnc / PyTorch best "
        "| GEMM bound | nnc / bound |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['measure']} | {r['unit']} | {fmt(r['nnc'], r['unit'])} | "
            f"{fmt(r['torch_default'], r['unit'])} | {fmt(r['torch_best'], r['unit'])} | "
            f"{fmt(r['nnc_over_torch_best'])} | {fmt(r['gemm_bound'])} | "
            f"{fmt(r['nnc_over_bound'])} |")
    notes = [f"- {r['measure']}: {r['note']}" for r in rows if r["note"]]
    return "\n".join(lines + [""] + notes) + "\n"


if __name__ == "__main__":
    main()
