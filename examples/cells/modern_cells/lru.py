"""The Linear Recurrent Unit (Orvieto, Smith, Gu, Fernando, Gulcehre, Pascanu & De 2023, "Resurrecting
Recurrent Neural Networks for Long Sequences"), one step at a time:

    x_t = λ ⊙ x_{t−1} + γ ⊙ (B u_t),   y_t = Re(C x_t) + D u_t,

a diagonal complex recurrence with λ = exp(−exp(ν) + i·exp(θ)) and the normalisation γ. The state is the
pair (y_t, x_t): y_t (B, H) is the output the task's head reads, x_t (B, N) complex the recurrent state.
∂x_t/∂x_{t−1} = diag(λ) exactly, so the gradient through x shrinks by |λ_i| per step in each unit i; nothing
reads y_{t−1}, so rnnbench's probe of h (here y) sees only the head's gradient, and its probe of the second
state tensor (here x) sees the decay.

What is taken from where (NicolasZucchet/minimal-LRU, ``lru/model.py``, the JAX code by a co-author):
- parameters ``nu_log``, ``theta_log``, ``gamma_log``, ``B_re``, ``B_im``, ``C_re``, ``C_im``, ``D``, all real
  (the complex B and C are built from their parts, so ``.to(float64)`` keeps them whole);
- ν_log = log(−½·log(u·(r_max² − r_min²) + r_min²)), u ~ U[0, 1): |λ|² uniform on [r_min², r_max²] (the
  ring's area); θ_log = log(max_phase · u′); γ_log = log √(1 − |λ|²), itself trained; γ multiplies B's rows;
- B_re, B_im ~ N(0, 1/(2·d_in)), C_re, C_im ~ N(0, 1/N), as its ``matrix_init`` normalisations;
- the defaults of its ``LRU`` module: r_min = 0, r_max = 1, max_phase = 6.28 (the paper's long-range
  settings put r_min at 0.9 and r_max at 0.999 or so: pass them as options, or subclass);
- x_0 = 0 (its scan starts from B u_1).
Changed: its D is a vector (d_model = d_in = d_out, y = Re(C x) + D ⊙ u); rnnbench's cells map I inputs to
H outputs, so D here is an (H, I) matrix, entries N(0, 1/I) (its N(0, 1) per input, scaled so that y's
variance does not grow with I). The state size N defaults to the hidden size H.
Not taken: the parallel (associative) scan; rnnbench's contract is one step, ``forward(u_t, state)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class LRUCell(nn.Module):
    """LRU: y_t = Re(C x_t) + D u_t with x_t = λ ⊙ x_{t−1} + γ ⊙ (B u_t), λ diagonal and complex."""

    display = "LRU"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        state_size: int | None = None,
        r_min: float = 0.0,
        r_max: float = 1.0,
        max_phase: float = 6.28,
    ) -> None:
        super().__init__()
        N = state_size or hidden_size
        self.input_size, self.hidden_size, self.state_size = input_size, hidden_size, N
        u = torch.rand(N)
        self.nu_log = nn.Parameter(torch.log(-0.5 * torch.log(u * (r_max**2 - r_min**2) + r_min**2)))  # (N,)
        self.theta_log = nn.Parameter(torch.log(max_phase * torch.rand(N)))  # (N,)
        modulus = torch.exp(-torch.exp(self.nu_log.detach()))  # |λ|
        self.gamma_log = nn.Parameter(torch.log(torch.sqrt(1 - modulus**2)))  # (N,) γ = √(1 − |λ|²)
        self.B_re = nn.Parameter(torch.randn(N, input_size) / math.sqrt(2 * input_size))
        self.B_im = nn.Parameter(torch.randn(N, input_size) / math.sqrt(2 * input_size))
        self.C_re = nn.Parameter(torch.randn(hidden_size, N) / math.sqrt(N))
        self.C_im = nn.Parameter(torch.randn(hidden_size, N) / math.sqrt(N))
        self.D = nn.Parameter(torch.randn(hidden_size, input_size) / math.sqrt(input_size))

    def eigenvalues(self) -> Tensor:
        """λ = exp(−exp(ν_log) + i·exp(θ_log)): (N,) complex, |λ| < 1."""
        return torch.exp(torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log)))

    def forward(self, u: Tensor, state: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        # u: (B, I); state: (y_{t−1} (B, H), x_{t−1} (B, N) complex), or None before the first step (x_0 = 0)
        lam = self.eigenvalues()  # (N,)
        B = torch.complex(self.B_re, self.B_im) * torch.exp(self.gamma_log).unsqueeze(-1)  # γ ⊙ B: (N, I)
        C = torch.complex(self.C_re, self.C_im)  # (H, N)
        Bu = u.to(B.dtype) @ B.T  # γ ⊙ (B u_t): (B, N)
        x = Bu if state is None else lam * state[1] + Bu  # x_t = λ ⊙ x_{t−1} + γ ⊙ (B u_t)
        y = (x @ C.T).real + u @ self.D.T  # y_t = Re(C x_t) + D u_t: (B, H)
        return y, x
