"""Issue 7's ratio: runs per second of batched training (M runs as one stacked model) against the
same M runs trained one after another with ``train``, measured side by side in one process.

Same total work on both sides: the same M configs (LSTM, adding, H=64, B=64, T=100, seeds 0..M-1),
with their evaluations and probes. Interleaved repeats and medians, so that a busy machine slows
both sides alike. Also printed: the ratio of time inside training steps only (the records'
``train_seconds``), and the largest difference between the two sides' final losses (a check that
the same work was done).

Also printed: the ceiling that batching can reach here. One model trained on M·B sequences does the
stack's arithmetic in one set of kernels, with no per-run overhead at all; the time of M forward +
backward passes at batch B over one pass at batch M·B bounds what stacking can gain on the training
steps. On a CPU where that is near 1 the kernels are compute-bound and no batching gives 2x.

Run: python benchmarks/batched_speedup.py [--device cpu|cuda] [--runs 8] [--steps 20] [--repeats 3]
     python benchmarks/batched_speedup.py --hidden 32 --batch 32 --steps 200 --eval-every 100 --eval-batch 500
       (the default study's sizes: a sweep cell's runs as its pipeline job trains them)
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

from rnnbench.core.models import build_model
from rnnbench.core.tasks import TASKS
from rnnbench.training.batched import train_batched
from rnnbench.training.config import RunConfig
from rnnbench.training.train import train


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


def configs(args: argparse.Namespace, runs: int | None = None, steps: int | None = None) -> list[RunConfig]:
    steps = steps or args.steps
    shared = dict(task="adding", cell=args.cell, length=args.length, hidden=args.hidden, batch=args.batch,
                  steps=steps, device=args.device, eval_batch=args.eval_batch)  # fmt: skip
    eval_every = min(args.eval_every or max(steps // 2, 1), steps)
    return [RunConfig(**shared, eval_every=eval_every, seed=s) for s in range(runs or args.runs)]


def fwd_bwd_seconds(cfg: RunConfig, batch: int, repeats: int = 7) -> float:
    """Median forward + backward time of one model of ``cfg`` on ``batch`` sequences."""
    task = TASKS[cfg.task]
    model = build_model(task, cfg.cell, cfg.hidden, backend=cfg.backend, seed=0).to(cfg.device)
    x, y = task.generate(batch, cfg.length, torch.Generator().manual_seed(0), cfg.device)
    times = []
    for i in range(repeats + 2):
        if cfg.device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        model.zero_grad()
        task.loss(model(x.to(cfg.device)), y.to(cfg.device)).backward()
        if cfg.device == "cuda":
            torch.cuda.synchronize()
        if i >= 2:  # two warm-up passes
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where both sides train")
    p.add_argument("--runs", type=int, default=8, help="M: runs per batch (and sequential runs)")
    p.add_argument("--steps", type=int, default=20, help="training steps per run")
    p.add_argument("--cell", default="lstm", choices=("rnn", "lstm", "gru"))
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--length", type=int, default=100)
    p.add_argument("--eval-every", type=int, default=0, help="steps between evaluations (0: steps // 2)")
    p.add_argument("--eval-batch", type=int, default=500, help="held-out sequences per evaluation")
    p.add_argument("--repeats", type=int, default=3, help="interleaved repeats; medians are reported")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device_name}")

    warm = configs(args, 2, 2)  # first calls pay for imports, allocator and kernel selection
    sequential(warm), batched(warm)
    cfgs = configs(args)
    shape = f"{args.cell.upper()} H={args.hidden} B={args.batch} T={args.length}"
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
            f"{side:10s} {args.runs} runs x {args.steps} steps ({shape}): {m['seconds']:7.2f} s wall, "
            f"{args.runs / m['seconds']:6.3f} runs/s, {m['train_seconds']:7.2f} s in training steps"
        )
    seq, bat = rows[-2], rows[-1]
    diff = max(abs(a - b) for a, b in zip(seq.final_losses, bat.final_losses, strict=True))
    print(f"runs/s ratio batched/sequential:   {med['sequential']['seconds'] / med['batched']['seconds']:.2f}x")
    print(
        f"training-steps-only ratio:         {med['sequential']['train_seconds'] / med['batched']['train_seconds']:.2f}x"
    )
    print(f"largest final-loss difference:     {diff:.2e}")
    one, wide = fwd_bwd_seconds(cfgs[0], args.batch), fwd_bwd_seconds(cfgs[0], args.batch * args.runs)
    print(
        f"batching ceiling on the steps:     {args.runs * one / wide:.2f}x "
        f"({args.runs} x fwd+bwd at B={args.batch} = {args.runs * one * 1e3:.1f} ms, "
        f"one at B={args.batch * args.runs} = {wide * 1e3:.1f} ms)"
    )
    print("repeats (s):", ", ".join(f"{r.side[0]}={r.seconds:.2f}" for r in rows))


if __name__ == "__main__":
    main()
