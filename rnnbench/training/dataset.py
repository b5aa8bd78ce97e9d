"""Where a run's training batches come from: a fresh batch per step from the run's generator
(ours), or a fixed training set drawn once and cycled in order (Arjovsky et al. 2016's code:
100,000 sequences, batch i = sequences 20·i .. 20·i + 19, wrapping around)."""

from __future__ import annotations

import torch
from torch import Tensor

from rnnbench.core.tasks import Task


class FixedSet:
    """N sequences drawn once (one ``task.generate`` call on ``generator``), served in order,
    wrapping around. Its cursor is its state, read and set as a torch.Generator's
    (``get_state``/``set_state``), so a checkpoint resumes at the right place in the cycle."""

    def __init__(
        self, task: Task, size: int, length: int, generator: torch.Generator, device: str, dtype: torch.dtype
    ) -> None:
        x, y = task.generate(size, length, generator, device)  # (N, T, I), (N[, T])
        self.x, self.y = x.to(dtype), (y.to(dtype) if y.is_floating_point() else y)
        self.size = size
        self.cursor = 0  # the next sequence to serve

    def take(self, batch: int) -> tuple[Tensor, Tensor]:
        """The next ``batch`` sequences of the cycle."""
        rows = (torch.arange(batch, device=self.x.device) + self.cursor) % self.size  # wraps past N
        self.cursor = (self.cursor + batch) % self.size
        return self.x[rows], self.y[rows]

    def get_state(self) -> Tensor:
        return torch.tensor([self.cursor], dtype=torch.int64)

    def set_state(self, state: Tensor) -> None:
        self.cursor = int(state[0])


def training_data(
    task: Task, train_set: int, length: int, seed: int, device: str, dtype: torch.dtype
) -> torch.Generator | FixedSet:
    """A run's source of training batches (``RunConfig.train_set``): 0, the generator that draws a
    fresh batch per step; N > 0, N sequences drawn once from the same seed, cycled in order."""
    generator = torch.Generator().manual_seed(seed)
    return generator if train_set == 0 else FixedSet(task, train_set, length, generator, device, dtype)
