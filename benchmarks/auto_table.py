"""The measurements behind ``rnnbench.training.autobackend``'s table: every backend that trains each cell form,
alone and as a stack of runs, measured one after the other in one run.

    python benchmarks/auto_table.py [--steps 150] [--stack 2] [--threads 1]

Adding T = 100, Adam, norm clipping at 1, no probes or evaluations: steps/s inside training steps
(``train_seconds``), at the default study's size (H = 32, B = 32) and the paper-cpu study's (H = 128,
B = 20); a stack's figure is run-steps/s (M runs' steps per second of the stack). The table in
``rnnbench/training/autobackend.py`` keeps the figures this printed on the project's machine; run it again
on another machine and update the table if the order changes there.
"""

from __future__ import annotations

import argparse
import dataclasses

import torch

from rnnbench.bench.throughput import machine
from rnnbench.core.backends import BACKENDS
from rnnbench.training.autobackend import FORMS, cell_form
from rnnbench.training.batched import train_batched
from rnnbench.training.config import RunConfig
from rnnbench.training.train import train

SIZES = ((32, 32), (128, 20))
SINGLE = ("explicit-premul", "explicit-bptt", "fused")


def stack_rate(base: RunConfig, runs: int) -> float:
    """Run-steps/s of ``runs`` seeds of ``base`` trained as one stacked model (our explicit equations)."""
    cfgs = [dataclasses.replace(base, backend="explicit-premul", seed=s) for s in range(runs)]
    return runs * base.steps / train_batched(cfgs)[0]["env"]["batched"]["train_seconds"]


def cases(steps: int, stack: int):
    """(cell form, H, B, variant, steps/s) for every case, measured one after the other."""
    for hidden, batch in SIZES:
        for cell, reset_after in FORMS.values():
            base = RunConfig(
                task="adding", cell=cell, reset_after=reset_after, length=100, hidden=hidden, batch=batch,
                steps=steps, clip=1.0, optimizer="adam", probe_at=(), eval_every=10**6,
            )  # fmt: skip
            form = cell_form(cell, reset_after)
            for backend in SINGLE:
                if not BACKENDS[backend].trains(cell, reset_after):
                    continue  # no fused kernel implements the notes' GRU
                r = train(dataclasses.replace(base, backend=backend))
                yield form, hidden, batch, backend, steps / r["train_seconds"]
            yield form, hidden, batch, f"stack of {stack}", stack_rate(base, stack)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--stack", type=int, default=2, help="runs in the stacked case")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    m = machine("cpu")
    print(f"# {m['cpu']}, {torch.get_num_threads()} thread(s), torch {m['torch']}; adding T=100, Adam, clip 1")
    print(f"{'form':16} {'H':>4} {'B':>3} {'variant':16} {'steps/s':>9}")
    for form, hidden, batch, variant, rate in cases(args.steps, args.stack):
        print(f"{form:16} {hidden:4} {batch:3} {variant:16} {rate:9.1f}", flush=True)


if __name__ == "__main__":
    main()
