"""Where a run's training batches come from: a fresh batch per step from the run's generator
(ours), or a fixed training set drawn once (Arjovsky et al. 2016's code: 100,000 sequences) and
served in one of two orders (``RunConfig.train_order``):

- ``their-shuffle``, complex_RNN's schedule (adding_problem.py lines 114-123, memory_problem.py lines
  106-114): before every step the whole set is permuted (a permutation drawn from the run's
  generator) and step i takes batch ``i % (N // B)`` of the new order. Their test
  ``if (n_iter % num_batches == 0)`` reads the constant number of iterations, not ``i``; for their
  defaults (and every config of this project) it holds, so the set is reshuffled at every iteration:
  each step sees a fresh random batch, without replacement within the batch.
- ``cycled``, ours: the set served in order, wrapping around (batch i = sequences B·i .. B·i + B − 1).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnbench.core.tasks import Task

THEIR_SHUFFLE, CYCLED = "their-shuffle", "cycled"
TRAIN_ORDERS = (THEIR_SHUFFLE, CYCLED)


def their_step(order: Tensor, permutation: Tensor, step: int, batch: int) -> tuple[Tensor, Tensor]:
    """One iteration of complex_RNN's loop on the row order of its set: the set re-ordered by
    ``permutation`` (``data[inds]``: row k of the new set is row ``permutation[k]`` of the old), then
    batch ``step % num_batches`` of it. ``order``, ``permutation``: (N,) int64; returns the new order
    (N,) and the batch's rows of the original set (B,)."""
    order = order[permutation]  # (N,) the set's rows now, as indices into the set as drawn
    k = step % (order.numel() // batch)  # num_batches = int(n_train / n_batch)
    return order, order[batch * k : batch * (k + 1)]


class FixedSet:
    """N sequences drawn once (one ``task.generate`` call on ``generator``), served in ``order``
    (``TRAIN_ORDERS``). Its place in the schedule is its state, read and set as a torch.Generator's
    (``get_state``/``set_state``), so a checkpoint resumes where it was: for ``cycled`` the cursor;
    for ``their-shuffle`` the step, the set's current order and the generator the permutations come
    from."""

    def __init__(
        self,
        task: Task,
        size: int,
        length: int,
        generator: torch.Generator,
        device: str,
        dtype: torch.dtype,
        order: str = CYCLED,
    ) -> None:
        if order not in TRAIN_ORDERS:
            raise ValueError(f"train order {order!r} is not one of {', '.join(TRAIN_ORDERS)}")
        x, y = task.generate(size, length, generator, device)  # (N, T, I), (N[, T])
        self.x, self.y = x.to(dtype), (y.to(dtype) if y.is_floating_point() else y)
        self.size, self.order_name, self.generator = size, order, generator
        self.cursor = 0  # cycled: the next sequence to serve; their-shuffle: the next step
        self.order = torch.arange(size)  # (N,) their-shuffle: the set's rows now, as drawn

    def rows(self, batch: int) -> Tensor:
        """The rows (B,) of the next batch, advancing the schedule by one step."""
        if self.order_name == CYCLED:
            rows = (torch.arange(batch) + self.cursor) % self.size  # wraps past N
            self.cursor = (self.cursor + batch) % self.size
            return rows
        permutation = torch.randperm(self.size, generator=self.generator)  # (N,) np.random.permutation's place
        self.order, rows = their_step(self.order, permutation, self.cursor, batch)
        self.cursor += 1
        return rows

    def take(self, batch: int) -> tuple[Tensor, Tensor]:
        """The next batch of the schedule: x (B, T, I), y (B[, T])."""
        rows = self.rows(batch).to(self.x.device)
        return self.x[rows], self.y[rows]

    def get_state(self) -> Tensor:
        """cycled: [cursor]; their-shuffle: [step, order (N), the generator's state bytes]."""
        if self.order_name == CYCLED:
            return torch.tensor([self.cursor], dtype=torch.int64)
        gen = self.generator.get_state().to(torch.int64)
        return torch.cat([torch.tensor([self.cursor], dtype=torch.int64), self.order, gen])

    def set_state(self, state: Tensor) -> None:
        self.cursor = int(state[0])
        if self.order_name == THEIR_SHUFFLE:
            self.order = state[1 : 1 + self.size].clone()
            self.generator.set_state(state[1 + self.size :].to(torch.uint8))


def training_data(
    task: Task, train_set: int, length: int, seed: int, device: str, dtype: torch.dtype, order: str = CYCLED
) -> torch.Generator | FixedSet:
    """A run's source of training batches (``RunConfig.train_set``): 0, the generator that draws a
    fresh batch per step; N > 0, N sequences drawn once from the same seed, served in ``order``
    (``RunConfig.train_order``), their permutations drawn from the same generator."""
    generator = torch.Generator().manual_seed(seed)
    return generator if train_set == 0 else FixedSet(task, train_set, length, generator, device, dtype, order)
