"""minGRU (Feng, Tung, Ahmed, Bengio & Hajimirsadeghi 2024, "Were RNNs All We Needed?"), one step at a time.

    z_t = σ(W_z x_t),   h̃_t = g(W_h x_t),   h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t,

g(v) = v + ½ for v ≥ 0 and σ(v) below. The gates read the input only, so ∂h_t/∂h_{t−1} = diag(1 − z_t)
exactly: the gradient through the state shrinks by (1 − z_t) per step and nothing else.

What is taken from where (lucidrains/minGRU-pytorch, ``minGRU_pytorch/minGRU.py``, the PyTorch code the
paper's equations were checked against):
- one joint projection without bias, ``Linear(dim, 2·dim_inner, bias=False)``, split into the candidate's
  pre-activation first and the gate's second (``hidden, gate = ...chunk(2, dim=-1)``); PyTorch's default
  initialisation of that Linear (none of its own);
- g exactly as there (``torch.where(x >= 0, x + 0.5, x.sigmoid())``), the paper's B.3 choice that keeps
  states positive for the log-space scan;
- the sequential step ``lerp(h_{t−1}, g(hidden), σ(gate))``, and ``h̃ · z`` when there is no previous state
  (h_0 = 0), written here as the equation above;
- the expansion factor is left out (``to_out`` is the identity at factor 1, its default).
Not taken: the parallel (log-space Heinsen) scan. rnnbench's contract is one step, ``forward(x_t, state)``,
and its layer calls it T times; a scan needs the whole sequence at once, which the contract does not give.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def g(v: Tensor) -> Tensor:
    """v + ½ for v ≥ 0, σ(v) below: continuous at 0 (both ½), positive everywhere."""
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


class MinGRUCell(nn.Module):
    """minGRU: a GRU whose update gate and candidate read x_t only (no reset gate, no W_hh)."""

    display = "minGRU"

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.to_hidden_and_gate = nn.Linear(input_size, 2 * hidden_size, bias=False)  # rows: [W_h; W_z]

    def forward(self, x: Tensor, state: Tensor | None = None) -> Tensor:
        # x: (B, I); state: h_{t−1} (B, H), or None before the first step (h_0 = 0)
        hidden, gate = self.to_hidden_and_gate(x).chunk(2, dim=-1)  # W_h x_t, W_z x_t: (B, H) each
        z = torch.sigmoid(gate)  # z_t = σ(W_z x_t)
        h_tilde = g(hidden)  # h̃_t = g(W_h x_t)
        if state is None:
            return z * h_tilde  # h_1 = (1 − z_1) ⊙ 0 + z_1 ⊙ h̃_1
        return (1 - z) * state + z * h_tilde  # h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t
