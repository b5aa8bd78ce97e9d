"""Issue 7's ratio: runs per second of batched training (M runs as one stacked model) against the
same M runs trained one after another with ``train``, measured side by side in one process.

Same total work on both sides: the same M configs (LSTM, adding, H=64, B=64, T=100, seeds 0..M-1),
with their evaluations and probes. Interleaved repeats and medians, so that a busy machine slows
both sides alike. Also printed: the ratio of time inside training steps only (the records'
``train_seconds``), and the largest difference between the two sides' final losses (a check that
the same work was done).

Run: python benchmarks/batched_speedup.py [--device cpu|cuda] [--runs 8] [--steps 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

from rnnbench.batched import train_batched
from rnnbench.config import RunConfig
from rnnbench.train import train


@dataclasses.dataclass
class Measurement:
    side: str  # "sequential" or "batched"
    seconds: float  # wall time of all M runs
    train_seconds: float  # time inside training steps, summed over the runs
    final_losses: list[float]


def sequential(cfgs: list[RunConfig]) -> Measurement:
    t0 = time.perf_counter()
    results = [train(c, progress=False) for c in cfgs]
    seconds = time.perf_counter() - t0
    return Measurement(
        "sequential", seconds, sum(r["train_seconds"] for r in results), [r["final_loss"] for r in results]
    )


def batched(cfgs: list[RunConfig]) -> Measurement:
    t0 = time.perf_counter()
    results = train_batched(cfgs, progress=False)
    seconds = time.perf_counter() - t0
    return Measurement("batched", seconds, sum(r["train_seconds"] for r in results), [r["final_loss"] for r in results])


def configs(runs: int, steps: int, device: str) -> list[RunConfig]:
    shared = dict(task="adding", cell="lstm", length=100, hidden=64, batch=64, steps=steps, device=device)
    return [RunConfig(**shared, eval_every=max(steps // 2, 1), seed=s) for s in range(runs)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where both sides train")
    p.add_argument("--runs", type=int, default=8, help="M: runs per batch (and sequential runs)")
    p.add_argument("--steps", type=int, default=20, help="training steps per run")
    p.add_argument("--repeats", type=int, default=3, help="interleaved repeats; medians are reported")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device_name}")

    warm = configs(2, 2, args.device)  # first calls pay for imports, allocator and kernel selection
    sequential(warm), batched(warm)
    cfgs = configs(args.runs, args.steps, args.device)
    rows: list[Measurement] = []
    for _ in range(args.repeats):
        rows += [sequential(cfgs), batched(cfgs)]
    med = {
        side: {
            f: statistics.median(getattr(r, f) for r in rows if r.side == side) for f in ("seconds", "train_seconds")
        }
        for side in ("sequential", "batched")
    }
    for side, m in med.items():
        print(
            f"{side:10s} {args.runs} runs x {args.steps} steps (LSTM H=64 B=64 T=100): {m['seconds']:7.2f} s wall, "
            f"{args.runs / m['seconds']:6.3f} runs/s, {m['train_seconds']:7.2f} s in training steps"
        )
    seq, bat = rows[-2], rows[-1]
    diff = max(abs(a - b) for a, b in zip(seq.final_losses, bat.final_losses, strict=True))
    print(f"runs/s ratio batched/sequential:   {med['sequential']['seconds'] / med['batched']['seconds']:.2f}x")
    print(
        f"training-steps-only ratio:         {med['sequential']['train_seconds'] / med['batched']['train_seconds']:.2f}x"
    )
    print(f"largest final-loss difference:     {diff:.2e}")
    print("repeats (s):", ", ".join(f"{r.side[0]}={r.seconds:.2f}" for r in rows))


if __name__ == "__main__":
    main()
