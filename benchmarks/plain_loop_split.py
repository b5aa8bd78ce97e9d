"""Where a plain torch.nn training step spends its time, and so how much faster any single run on the
same kernels can be (issue 12's bound).

The loop a user would write: torch.nn.RNN/LSTM/GRU + a linear head on the adding problem (T = 100),
Adam, ``clip_grad_norm_``, a fresh batch each step, 1 thread. Each part of a step is timed with
``time.perf_counter``: the batch, the forward pass and loss, ``backward``, the clipping, Adam. A run on
the same forward and backward kernels can be at most 1 / (forward + backward share) faster than this
loop, even with the rest free: the last column.

Run: python benchmarks/plain_loop_split.py [--hidden 32 --batch 32] [--steps 300]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

PARTS = ("data", "forward", "backward", "clip", "adam")


def adding_batch(batch: int, length: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem as a user would write it: values U[0, 1), two marked positions, their sum."""
    values = torch.rand(batch, length, generator=g)  # (B, T)
    marks = torch.zeros(batch, length).scatter_(1, torch.randint(0, length, (batch, 2), generator=g), 1.0)
    return torch.stack([values, marks], -1), (values * marks).sum(1, keepdim=True)  # (B, T, 2), (B, 1)


def split(cls: type[nn.RNNBase], hidden: int, batch: int, steps: int, warmup: int = 100) -> dict[str, float]:
    """Seconds per part of a training step, summed over ``steps`` steps after ``warmup``."""
    g = torch.Generator().manual_seed(0)
    rnn, head = cls(2, hidden, batch_first=True), nn.Linear(hidden, 1)
    params = [*rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=0.01)
    seconds = dict.fromkeys(PARTS, 0.0)
    for step in range(warmup + steps):
        t = [time.perf_counter()]
        x, y = adding_batch(batch, 100, g)
        t.append(time.perf_counter())
        out, _ = rnn(x)  # (B, T, H)
        loss = ((head(out[:, -1]) - y) ** 2).mean()
        t.append(time.perf_counter())
        opt.zero_grad()
        loss.backward()
        t.append(time.perf_counter())
        nn.utils.clip_grad_norm_(params, 1.0)
        t.append(time.perf_counter())
        opt.step()
        t.append(time.perf_counter())
        if step >= warmup:
            for part, a, b in zip(PARTS, t[:-1], t[1:], strict=True):
                seconds[part] += b - a
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=300)
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"H = {args.hidden}, B = {args.batch}, T = 100, 1 thread, {args.steps} steps after 100 warm-up")
    print("cell | steps/s | " + " | ".join(PARTS) + " | bound: 1 / (forward + backward)")
    for cls in (nn.RNN, nn.LSTM, nn.GRU):
        s = split(cls, args.hidden, args.batch, args.steps)
        total = sum(s.values())
        kernels = (s["forward"] + s["backward"]) / total
        shares = " | ".join(f"{100 * s[k] / total:.0f} %" for k in PARTS)
        print(f"{cls.__name__} | {args.steps / total:.0f} | {shares} | {1 / kernels:.2f}x")


if __name__ == "__main__":
    main()
