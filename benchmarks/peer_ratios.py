"""Whole runs of ``rnnbench train --backend auto`` against the plain PyTorch loop a user would write
instead, measured side by side in one run.

    python benchmarks/peer_ratios.py [--steps 1000] [--rounds 1] [--stack 6] [--threads 1] [--device cuda]

For each cell (tanh RNN, LSTM, GRU) on the adding problem at T = 100, at the default study's size
(H = 32, B = 32) and at H = 128, B = 20 (the paper-cpu study's):

* ``rnnbench``: ``rnnbench train --backend auto`` in this process (its ``main``), timed from the call
  to the JSON written: model set-up, ``steps`` training steps, the study's probes (at the first step and
  after the last, float64), its held-out evaluations (500 sequences every 100 steps) and the result file;
* ``plain``: torch.nn.RNN/LSTM/GRU + nn.Linear head, Adam, ``clip_grad_norm_``, a fresh batch drawn with
  torch.rand/randint every step, nothing else (no probes, no evaluation, no logging);
* ``stack`` (study size only, ``--stack M``): M runs of one sweep cell (seeds) as the pipeline trains
  them (``batched.train_runs`` with backend auto: a stack where auto stacks that cell, M single runs
  otherwise), in run-steps/s.

Same optimizer (Adam lr 0.01), clipping (norm at 1), steps and sizes for all. Each round times every
variant of a case one after the other, so load from elsewhere hits them alike; the ratio is the median
over rounds of the per-round steps/s ratio to ``plain``. The GRU is the notes' GRU in rnnbench (reset
before the product: no fused kernel has it) and torch.nn.GRU's reset-after GRU in the plain loop, so
that row compares two different models of the same size; ``--reset-after`` runs rnnbench's GRU in
torch's form instead. Targets (issue 12): >= 1.5x plain at the study's size, >= 1.0x at H = 128.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from rnnbench.bench.throughput import machine
from rnnbench.cli import main as rnnbench_main
from rnnbench.training.batched import train_runs
from rnnbench.training.config import RunConfig

CELLS = ("rnn", "lstm", "gru")
SIZES = ((32, 32), (128, 20))  # (hidden, batch): the default study's, the paper-cpu study's
LENGTH, LR, CLIP, EVAL_EVERY, EVAL_BATCH = 100, 0.01, 1.0, 100, 500


@dataclasses.dataclass(frozen=True)
class Row:
    cell: str
    hidden: int
    batch: int
    variant: str  # rnnbench | plain | stack
    steps_per_s: float  # median over rounds (run-steps/s for a stack)
    ratio: float  # median per-round ratio to plain
    low: float
    high: float


def plain_loop(cell: str, hidden: int, batch: int, steps: int, seed: int = 0, device: str = "cpu") -> float:
    """The loop a user would write: seconds for ``steps`` steps (model set-up included). On CUDA it
    draws its batches there and waits for the device once, at the end (``loss.item()``)."""
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](2, hidden, batch_first=True).to(device)
    head = nn.Linear(hidden, 1).to(device)
    params = [*rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=LR)
    half = LENGTH // 2
    rows = torch.arange(batch, device=device)
    for _ in range(steps):
        values = torch.rand(batch, LENGTH, device=device)  # (B, T) adding problem, Arjovsky 2016's variant
        markers = torch.zeros(batch, LENGTH, device=device)
        markers[rows, torch.randint(0, half, (batch,), device=device)] = 1.0
        markers[rows, torch.randint(half, LENGTH, (batch,), device=device)] = 1.0
        x = torch.stack((values, markers), -1)  # (B, T, 2)
        y = (values * markers).sum(1)  # (B,)
        opt.zero_grad()
        out = head(rnn(x)[0][:, -1]).squeeze(-1)  # (B,)
        loss = nn.functional.mse_loss(out, y)
        loss.backward()
        nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
    loss.item()
    return time.perf_counter() - t0


def rnnbench_run(
    cell: str, hidden: int, batch: int, steps: int, reset_after: bool, out: Path, device: str = "cpu"
) -> float:
    """``rnnbench train --backend auto`` as the study runs it: seconds from the call to the JSON."""
    argv = ["train", "--backend", "auto", "--task", "adding", "--cell", cell, "--length", str(LENGTH)]
    argv += ["--device", device]
    argv += ["--steps", str(steps), "--clip", str(CLIP), "--hidden", str(hidden), "--batch", str(batch)]
    argv += ["--lr", str(LR), "--optimizer", "adam", "--probe-at", "0", "-1", "--out", str(out)]
    argv += ["--eval-every", str(EVAL_EVERY), "--eval-batch", str(EVAL_BATCH)]
    argv += ["--reset-after"] if reset_after and cell == "gru" else []
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # its one-line summary
        rnnbench_main(argv)
    return time.perf_counter() - t0


def stack_run(
    cell: str, hidden: int, batch: int, steps: int, runs: int, reset_after: bool, device: str = "cpu"
) -> float:
    """Seconds for ``runs`` seeds of one sweep cell trained as the pipeline's job trains them."""
    cfg = RunConfig(
        task="adding", cell=cell, length=LENGTH, hidden=hidden, batch=batch, steps=steps, clip=CLIP, lr=LR,
        optimizer="adam", backend="auto", reset_after=reset_after and cell == "gru", eval_every=EVAL_EVERY,
        eval_batch=EVAL_BATCH, probe_at=(0, -1), device=device,
    )  # fmt: skip
    t0 = time.perf_counter()
    train_runs([dataclasses.replace(cfg, seed=s) for s in range(runs)], progress=False)
    return time.perf_counter() - t0


def measure(
    steps: int, rounds: int, stack: int, reset_after: bool, cells=CELLS, sizes=SIZES, device: str = "cpu"
) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for cell in cells:
            for hidden, batch in sizes:
                variants = {
                    "plain": lambda: steps / plain_loop(cell, hidden, batch, steps, device=device),
                    "rnnbench": lambda: steps / rnnbench_run(cell, hidden, batch, steps, reset_after, Path(tmp, "r.json"), device),
                }  # fmt: skip
                if stack > 1 and (hidden, batch) == sizes[0]:
                    variants["stack"] = lambda: (
                        stack * steps / stack_run(cell, hidden, batch, steps, stack, reset_after, device)
                    )
                # warm-up: the first call of each path pays one-off costs (torch's lazy imports -- the
                # optimizers import torch._dynamo on their first step --, oneDNN's primitive caches)
                plain_loop(cell, hidden, batch, 5, device=device)
                rnnbench_run(cell, hidden, batch, 5, reset_after, Path(tmp, "r.json"), device)
                rates: dict[str, list[float]] = {v: [] for v in variants}
                for _ in range(rounds):
                    for v, run in variants.items():
                        rates[v].append(run())
                for v, r in rates.items():
                    per_round = [a / b for a, b in zip(r, rates["plain"], strict=True)]
                    rows.append(
                        Row(cell, hidden, batch, v, statistics.median(r), statistics.median(per_round), min(per_round), max(per_round))
                    )  # fmt: skip
                    print(_line(rows[-1], steps), flush=True)
    return rows


def _line(r: Row, steps: int) -> str:
    unit = "run-steps/s" if r.variant == "stack" else "steps/s"
    return f"{r.cell:5} H={r.hidden:<4} B={r.batch:<3} {r.variant:9} {r.steps_per_s:8.1f} {unit:11} {r.ratio:6.2f}x plain  ({r.low:.2f}-{r.high:.2f})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000, help="training steps per whole run")
    p.add_argument("--rounds", type=int, default=1, help="interleaved rounds (the ratio is their median)")
    p.add_argument("--stack", type=int, default=6, help="runs per pipeline job at the study's size (0: skip)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: as the pipeline's jobs)")
    p.add_argument("--reset-after", action="store_true", help="rnnbench's GRU in torch.nn.GRU's form")
    p.add_argument("--cells", nargs="+", default=list(CELLS), choices=CELLS)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where both loops train")
    p.add_argument("--hidden", type=int, help="one size, H (with --batch) instead of the two study sizes")
    p.add_argument("--batch", type=int, default=20, help="B of --hidden")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    m = machine(args.device)
    gpu = f", {m['gpu']}" if args.device == "cuda" else ""
    print(f"# {args.device}{gpu}, {m['cpu']}, {torch.get_num_threads()} thread(s), torch {m['torch']}")
    print(f"# adding T={LENGTH}, Adam lr {LR}, norm clip {CLIP}, {args.steps} steps, {args.rounds} round(s);")
    print("# rnnbench = whole `rnnbench train --backend auto` run (probes at 0 and -1, eval every 100, JSON)")
    sizes = ((args.hidden, args.batch),) if args.hidden else SIZES
    measure(args.steps, args.rounds, args.stack, args.reset_after, tuple(args.cells), sizes, args.device)


if __name__ == "__main__":
    main()
