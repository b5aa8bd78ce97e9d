"""Issue 22 item 2: does each of the four differences between complex_RNN's LSTM training and ours
move the adding T = 100 LSTM curve at 3,000 steps?

Every run: adding T = 100, LSTM H = 128, batch 20, xavier (Glorot per gate), forget bias 1,
elementwise clipping at 1, lr 1e-3 (Arjovsky et al. 2016's settings, literature.md), held-out
MSE every 250 steps. Variants: ``ours`` (torch.optim.RMSprop, decay 0.9), each difference alone
(``peephole``, ``initial_state``, ``rmsprop_complexrnn``, ``fixed_set`` of 100,000 on their schedule: a
fresh random batch of it each step), and ``all`` four. One run per process, one torch thread.

    python benchmarks/arjovsky_differences.py run VARIANT SEED OUT_DIR    # OUT_DIR/VARIANT-seedSEED.json
    python benchmarks/arjovsky_differences.py collect OUT_DIR CSV         # one row per (variant, seed, step)
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import torch

from rnnbench.training.config import RunConfig
from rnnbench.training.train import train

THEIRS = dict(
    task="adding", cell="lstm", length=100, hidden=128, batch=20, init="xavier", forget_bias=1.0,
    clip=1.0, clip_mode="value", optimizer="rmsprop", lr=1e-3, steps=3000, eval_every=250,
    eval_batch=1000, probe_at=(),
)  # fmt: skip
# the fastest backend that computes each variant (the same model and weights on each; the CPU is shared):
# torch.nn's fused LSTM for torch's LSTM, the hand-written BPTT for learned initial states, autograd
# through our cells for the peephole
BACKEND = {"peephole": "explicit-premul", "initial_state": "explicit-bptt", "all": "explicit-premul"}
DIFFERENCES = {
    "peephole": {"peephole": True},
    "initial_state": {"learn_initial_state": True},
    "rmsprop_complexrnn": {"optimizer": "rmsprop-complexrnn"},
    # their schedule: every step a fresh random batch of the fixed set (complex_RNN's loop, literature.md)
    "fixed_set": {"train_set": 100_000, "train_order": "their-shuffle"},
}
VARIANTS = {"ours": {}, **DIFFERENCES, "all": {k: v for d in DIFFERENCES.values() for k, v in d.items()}}


def run(variant: str, seed: int, out: Path, steps: int) -> None:
    torch.set_num_threads(1)
    backend = BACKEND.get(variant, "fused")
    cfg = RunConfig(**{**THEIRS, "steps": steps, "seed": seed, "backend": backend, **VARIANTS[variant]})
    record = train(cfg, progress=False)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{variant}-seed{seed}.json").write_text(json.dumps(record))


def collect(out: Path, csv_path: Path) -> None:
    rows = []
    for path in sorted(out.glob("*-seed*.json")):
        record = json.loads(path.read_text())
        variant, seed = path.stem.rsplit("-seed", 1)
        wall = record.get("wall_seconds")
        for point in record["eval_curve"]:
            rows.append({"variant": variant, "seed": int(seed), "step": point["step"], "eval_mse": point["loss"],
                         "wall_seconds": wall})  # fmt: skip
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["variant", "seed", "step", "eval_mse", "wall_seconds"])
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("variant", choices=sorted(VARIANTS))
    r.add_argument("seed", type=int)
    r.add_argument("out", type=Path)
    r.add_argument("--steps", type=int, default=3000)
    c = sub.add_parser("collect")
    c.add_argument("out", type=Path)
    c.add_argument("csv", type=Path)
    args = parser.parse_args()
    if args.command == "run":
        run(args.variant, args.seed, args.out, args.steps)
    else:
        collect(args.out, args.csv)


if __name__ == "__main__":
    main()
