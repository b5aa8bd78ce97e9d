"""FLOP counts of recurrent layers, by a stated convention.

One forward pass of one layer and direction costs ``2·G·H·(I+H)·B·T`` multiply-adds counted as
two FLOPs (G = 1 vanilla, 4 LSTM, 3 GRU), elementwise work ignored; the input GEMM is included
(NVIDIA's cuDNN RNN sample). Baidu DeepBench counts the recurrent part only, ``2·G·H²·B·T``.
A training step (forward + backward) is counted as 3× the forward pass.
"""

from __future__ import annotations

from rnnbench.core.cells import cell_spec


def gates(cell: str) -> int | None:
    """G of ``cell`` (1 vanilla, 4 LSTM, 3 GRU); None for a user cell, whose FLOPs are unknown."""
    return cell_spec(cell).gates


def _total(G: int, input_size: int, hidden: int) -> int:
    return 2 * G * hidden * (input_size + hidden)


def _recurrent(G: int, input_size: int, hidden: int) -> int:
    return 2 * G * hidden * hidden


CONVENTIONS = {"total": _total, "recurrent": _recurrent}
"""Convention name -> FLOPs of one step of one layer and direction for one sequence."""


def forward_flops(
    cell: str,
    input_size: int,
    hidden: int,
    batch: int,
    length: int,
    layers: int = 1,
    directions: int = 1,
    convention: str = "total",
) -> int | None:
    """FLOPs of one forward pass of a ``layers``-deep stack over a (batch, length, input_size) input;
    None for a user cell (unknown: no guess is made)."""
    per_step = CONVENTIONS[convention]
    G = gates(cell)
    if G is None:
        return None
    flops = 0
    for layer in range(layers):
        in_size = input_size if layer == 0 else hidden * directions
        flops += directions * per_step(G, in_size, hidden) * batch * length
    return flops


def training_flops(*args, **kwargs) -> int | None:
    """FLOPs of one forward + backward pass: 3× forward (backward ≈ 2× forward); None: unknown."""
    forward = forward_flops(*args, **kwargs)
    return None if forward is None else 3 * forward


def step_gemm_flops(cell: str, hidden: int, batch: int) -> int | None:
    """FLOPs of the recurrent step's GEMM, (B, H) @ (H, G·H): the shape the ceiling is measured at."""
    G = gates(cell)
    return None if G is None else 2 * batch * hidden * G * hidden
