"""Speed of our explicit backends against torch.nn, measured side by side in one run.

    python benchmarks/perf_ratios.py [--threads 1] [--rounds 15] [--length 100] [--batch 64] [--hidden 128]

Forward+backward of one layer (I = H) on CPU. Every round times each variant once, in turn, so
load from elsewhere hits all of them alike; the ratio is the median over rounds of the
per-round ratio to the torch.nn module, printed with its range. Goals (issue 4): the best explicit
LSTM within 1.25× of nn.LSTM, the explicit reset-after GRU at least as fast as nn.GRU.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import statistics
import time

import torch

from rnnbench.bench.throughput import ThroughputConfig, build, machine

VARIANTS = ("fused", "explicit", "explicit-premul", "explicit-bptt")


def _run(model, x, grad) -> float:
    t0 = time.perf_counter()
    model(x)[0].backward(grad)
    return time.perf_counter() - t0


def ratios(
    cell: str, length: int, batch: int, hidden: int, rounds: int
) -> dict[str, tuple[float, float, float, float]]:
    """variant -> (median seconds, median ratio to fused, lowest ratio, highest ratio)."""
    torch.manual_seed(0)
    cfg = ThroughputConfig(cell=cell, length=length, batch=batch, hidden=hidden)
    models = {v: build(dataclasses.replace(cfg, backend=v)) for v in VARIANTS}
    x = torch.randn(batch, length, hidden, requires_grad=True)
    grad = torch.randn(batch, length, hidden)
    for m in models.values():
        for _ in range(3):
            _run(m, x, grad)
    gc.collect()
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for v, m in models.items():
            times[v].append(_run(m, x, grad))
    out = {}
    for v in VARIANTS:
        per_round = [a / b for a, b in zip(times[v], times["fused"], strict=True)]
        out[v] = (statistics.median(times[v]), statistics.median(per_round), min(per_round), max(per_round))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: stable on a shared machine)")
    p.add_argument("--rounds", type=int, default=15, help="interleaved rounds")
    p.add_argument("--length", type=int, default=100)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--cells", nargs="+", default=["lstm", "gru", "rnn"], choices=["lstm", "gru", "rnn"])
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    m = machine("cpu")
    print(
        f"# {m['cpu']}, {torch.get_num_threads()} thread(s), torch {m['torch']}, MKL {m['mkl']}, oneDNN {m['onednn']}"
    )
    print(f"# I = H = {args.hidden}, B = {args.batch}, T = {args.length}, forward+backward, {args.rounds} rounds")
    print(f"{'cell':5} {'variant':16} {'median ms':>10} {'× torch.nn':>11} {'range':>13}")
    for cell in args.cells:
        for v, (t, r, lo, hi) in ratios(cell, args.length, args.batch, args.hidden, args.rounds).items():
            print(f"{cell:5} {v:16} {t * 1e3:10.2f} {r:11.3f} {lo:6.2f}–{hi:<6.2f}")


if __name__ == "__main__":
    main()
