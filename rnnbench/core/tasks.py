"""Long-term-dependency tasks, generated in code: the copy memory task and the adding problem.

Both follow Arjovsky, Shah & Bengio (2016). A generator is a pure function
``(batch, length, generator, device) -> (x, y)``: the random draws come from ``generator``
(on its own device), so the same generator state gives the same batch on CPU and CUDA.
Each task carries its memoryless baseline, its accuracy and its ``solved`` criterion.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

# Copy memory task alphabet: a0..a7 are data, a8 the blank, a9 the delimiter (Arjovsky 2016).
N_SYMBOLS = 8
BLANK = 8
DELIMITER = 9
COPY_CLASSES = 10
COPY_RECALL = 10  # symbols to remember

# Solved criteria (documented in docs/guide/models.md, "Tasks").
COPY_SOLVED_ACCURACY = 0.9  # per-symbol recall accuracy; the memoryless baseline gets 1/8
ADDING_SOLVED_RATIO = 0.1  # held-out MSE below 10% of the 1/6 baseline
ADDING_TOLERANCE = 0.04  # Hochreiter & Schmidhuber 1997: a sequence is correct when |error| < 0.04


def copy_memory(
    batch: int, length: int, generator: torch.Generator, device: torch.device | str = "cpu"
) -> tuple[Tensor, Tensor]:
    """Copy memory task with delay ``length`` (T): sequences of T+20 steps.

    input  01234567-----------------:---------   (10 symbols, T−1 blanks, delimiter, 10 blanks)
    target ------------------------------01234567
    Returns ``x`` one-hot (B, T+20, 10) and ``y`` class indices (B, T+20).
    """
    T = length
    symbols = torch.randint(0, N_SYMBOLS, (batch, COPY_RECALL), generator=generator, device=generator.device)
    symbols = symbols.to(device)
    x = torch.full((batch, T + 2 * COPY_RECALL), BLANK, dtype=torch.long, device=device)  # (B, T+20)
    x[:, :COPY_RECALL] = symbols
    x[:, T + COPY_RECALL - 1] = DELIMITER
    y = torch.full_like(x, BLANK)
    y[:, -COPY_RECALL:] = symbols
    return F.one_hot(x, COPY_CLASSES).float(), y


def adding(
    batch: int, length: int, generator: torch.Generator, device: torch.device | str = "cpu"
) -> tuple[Tensor, Tensor]:
    """Adding problem of ``length`` T: two channels, values U[0,1] and a 0/1 marker channel.

    values  .31 .72 .05 .88 .41 .66   markers: exactly two 1s, the first uniform in
    markers  0   1   0   0   1   0    [0, T/2), the second uniform in [T/2, T)
    target  .72 + .41 = 1.13
    Returns ``x`` (B, T, 2) and ``y`` (B,).
    """
    T = length
    half = T // 2
    g = generator
    values = torch.rand(batch, T, generator=g, device=g.device)  # (B, T)
    first = torch.randint(0, half, (batch,), generator=g, device=g.device)
    second = torch.randint(half, T, (batch,), generator=g, device=g.device)
    markers = torch.zeros_like(values)
    rows = torch.arange(batch, device=g.device)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack((values, markers), dim=-1)  # (B, T, 2)
    y = (values * markers).sum(dim=1)  # (B,)
    return x.to(device), y.to(device)


def copy_baseline(length: int) -> float:
    """Cross-entropy of predicting blanks, then uniform over the 8 symbols: 10·log 8 / (T+20)."""
    return COPY_RECALL * math.log(N_SYMBOLS) / (length + 2 * COPY_RECALL)


def adding_baseline(length: int) -> float:
    """MSE of always predicting 1: Var(U1 + U2) = 2/12 = 1/6, whatever T."""
    return 1.0 / 6.0


def copy_loss(out: Tensor, y: Tensor) -> Tensor:
    # out: (B, T+20, C) logits; cross-entropy averaged over every step
    return F.cross_entropy(out.flatten(0, 1), y.flatten(0, 1))


def adding_loss(out: Tensor, y: Tensor) -> Tensor:
    # out: (B,) prediction
    return F.mse_loss(out, y)


def copy_accuracy(out: Tensor, y: Tensor) -> float:
    """Per-symbol accuracy on the 10 recall steps."""
    pred = out[:, -COPY_RECALL:].argmax(-1)
    return (pred == y[:, -COPY_RECALL:]).float().mean().item()


def adding_accuracy(out: Tensor, y: Tensor) -> float:
    """Fraction of sequences with |error| < 0.04 (Hochreiter & Schmidhuber's criterion)."""
    return ((out - y).abs() < ADDING_TOLERANCE).float().mean().item()


def copy_solved(loss: float, baseline: float, accuracy: float) -> bool:
    return accuracy >= COPY_SOLVED_ACCURACY


def adding_solved(loss: float, baseline: float, accuracy: float) -> bool:
    return loss < ADDING_SOLVED_RATIO * baseline


@dataclass(frozen=True)
class Task:
    """A task: its generator and everything needed to score a model on it."""

    name: str
    generate: Callable[..., tuple[Tensor, Tensor]]
    input_size: int
    output_size: int
    per_step_output: bool  # copy predicts at every step; adding once, at the end
    baseline: Callable[[int], float]
    loss: Callable[[Tensor, Tensor], Tensor]
    accuracy: Callable[[Tensor, Tensor], float]
    solved: Callable[[float, float, float], bool]
    min_length: int
    description: str

    def sequence_length(self, length: int) -> int:
        """Number of time steps the network sees for a task of ``length``."""
        return length + 2 * COPY_RECALL if self.name == "copy" else length


TASKS: dict[str, Task] = {
    "copy": Task(
        "copy",
        copy_memory,
        COPY_CLASSES,
        COPY_CLASSES,
        True,
        copy_baseline,
        copy_loss,
        copy_accuracy,
        copy_solved,
        1,
        f"copy memory (Arjovsky 2016); solved: recall accuracy >= {COPY_SOLVED_ACCURACY}",
    ),
    "adding": Task(
        "adding",
        adding,
        2,
        1,
        False,
        adding_baseline,
        adding_loss,
        adding_accuracy,
        adding_solved,
        2,
        f"adding problem (Arjovsky 2016 variant); solved: MSE < {ADDING_SOLVED_RATIO} x baseline 1/6",
    ),
}
