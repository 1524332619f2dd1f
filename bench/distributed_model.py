#!/usr/bin/python3
"""bench/distributed_model.py: the cost model of docs/distributed.md.

A data-parallel step on N processes is the compute of each process's
shards, then the combination of the gradient (nothing overlaps them: the
sum is taken after the backward pass). With P gradient bytes, links of
bandwidth b and a per-message latency a:

  plain (MPI_Allreduce, a ring):   2 (N-1)/N P / b  +  2 (N-1) a
  ordered (nnc's default):         (k+1) (N-1)/N P / b  +  2 (N-1) a

where k is the shards a process holds: an MPI_Alltoallv sends each of its
k shards' gradients, cut into N chunks, to the chunks' owners ((N-1)/N of
k P), and an MPI_Allgatherv returns the folded chunks ((N-1)/N of P).
With one shard a process (k = 1) the two move the same bytes; with k
shards the ordered one moves (k+1)/2 times the ring's. The efficiency is
compute / (compute + combination).

Usage: distributed_model.py NAME COMPUTE_MS GRADIENT_BYTES SHARDS_PER_PROCESS
prints a markdown table for N = 2 .. 64 over 10, 25 and 100 Gb/s links.
"""
import sys

LATENCY_S = 10e-6  # one message on Ethernet with a kernel TCP stack; RDMA is ~2 us
LINKS_GBPS = [10, 25, 100]
PROCS = [2, 4, 8, 16, 32, 64]


def combine_s(n, p_bytes, gbps, k, ordered):
    volume = ((k + 1) if ordered else 2) * (n - 1) / n * p_bytes
    return volume * 8 / (gbps * 1e9) + 2 * (n - 1) * LATENCY_S


def main():
    name, compute_ms, p_bytes, k = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    compute = compute_ms / 1e3
    print(f"{name}: {compute_ms:.1f} ms of compute a step per process ({k} shard(s) of 32), "
          f"{p_bytes / 2**20:.2f} MiB of gradient; latency {LATENCY_S * 1e6:.0f} us a message.\n")
    head = " | ".join(f"{g} Gb/s: ordered ms, eff. / plain ms, eff." for g in LINKS_GBPS)
    print(f"| N | {head} |")
    print("|---|" + "---|" * len(LINKS_GBPS))
    crossover = {}
    for n in PROCS:
        cells = []
        for g in LINKS_GBPS:
            o = combine_s(n, p_bytes, g, k, True)
            p = combine_s(n, p_bytes, g, k, False)
            eo, ep = compute / (compute + o), compute / (compute + p)
            if ep - eo > 0.05 and g not in crossover:
                crossover[g] = n
            cells.append(f"{o * 1e3:.2f}, {eo:.2f} / {p * 1e3:.2f}, {ep:.2f}")
        print(f"| {n} | " + " | ".join(cells) + " |")
    print()
    for g in LINKS_GBPS:
        where = f"from N = {crossover[g]}" if g in crossover else "at no N up to 64"
        print(f"- {g} Gb/s: the plain reduction is worth 5 points of efficiency {where}.")


if __name__ == "__main__":
    main()
