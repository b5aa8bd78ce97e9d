"""The three recurrent cells of the course notes, one time step each.

Parameters are named and laid out exactly as in ``torch.nn.RNNCell``, ``LSTMCell`` and
``GRUCell`` (``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``; gate rows in the order
i, f, g, o for the LSTM and r, z, n for the GRU), so a torch.nn state dict loads unchanged.

Every cell splits a step in two:

* ``project_input(x)`` -- the part that depends on the input only (``W_xh x_t + b``).
  It is linear in ``x``, so a layer may apply it to a whole sequence in one GEMM.
* ``step(gx, state)`` -- the recurrence, written as the notes write it.

``forward(x, state)`` is simply ``step(project_input(x), state)``; like torch.nn's cells it also
takes one unbatched example, ``x`` of shape (I,) with a state of shape (H,).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LSTMState = tuple[Tensor, Tensor]


def _tensors(state) -> tuple[Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def _apply(state, fn):
    """``fn`` on a state: one tensor, or the LSTM's (h, c) pair."""
    return tuple(fn(t) for t in state) if isinstance(state, tuple) else fn(state)


class _Cell(nn.Module):
    """Shared parameter layout: ``gates`` stacked blocks of ``hidden_size`` rows."""

    gates: int = 1

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        G = self.gates
        self.weight_ih = nn.Parameter(torch.empty(G * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(G * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(G * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(G * hidden_size))
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """PyTorch's default: every entry U(-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound, generator=generator)

    def zero_state(self, x: Tensor) -> Tensor:
        return x.new_zeros(x.shape[0], self.hidden_size)

    def project_input(self, x: Tensor, linear=F.linear) -> Tensor:
        """W_xh x + b_ih (+ the recurrent biases that sit outside any gate product).

        ``linear`` computes x Wᵀ + b; the hand-written BPTT path passes its own GEMM (see ``bptt``)."""
        return linear(x, self.weight_ih, self.bias_ih + self.bias_hh)

    def forward(self, x: Tensor, state=None):
        # x: (B, I) with state (B, H) [LSTM: a pair], or unbatched (I,) with state (H,), as torch.nn's cells
        if x.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {x.dim()}D instead")
        expected = (*x.shape[:-1], self.hidden_size)  # (B, H) or (H,)
        for t in () if state is None else _tensors(state):
            if tuple(t.shape) != expected:  # the product would broadcast a state of another batch size
                raise ValueError(
                    f"{type(self).__name__}: the state has shape {tuple(t.shape)}; an input of shape "
                    f"{tuple(x.shape)} needs a state of shape {expected}"
                )
        if x.dim() == 2:
            return self.step(self.project_input(x), state)
        state = None if state is None else _apply(state, lambda t: t.unsqueeze(0))  # (1, H)
        return _apply(self.step(self.project_input(x.unsqueeze(0)), state), lambda t: t.squeeze(0))  # (H,)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class RNNCell(_Cell):
    """Vanilla RNN: h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)."""

    gates = 1

    def step(self, gx: Tensor, h: Tensor | None = None) -> Tensor:
        # gx: (B, H) = W_xh x_t + b_h
        if h is None:
            h = self.zero_state(gx)
        h = torch.tanh(torch.addmm(gx, h, self.weight_hh.t()))  # tanh(W_hh h_{t-1} + W_xh x_t + b_h)
        return h


class LSTMCell(_Cell):
    """LSTM with forget, input and output gates and a candidate cell state (gate rows i, f, g, o)."""

    gates = 4

    def zero_state(self, x: Tensor) -> LSTMState:
        h = x.new_zeros(x.shape[0], self.hidden_size)
        return h, h

    def step(self, gx: Tensor, state: LSTMState | None = None) -> LSTMState:
        # gx: (B, 4H) = W_[i,f,c,o] x_t + b
        h, c = self.zero_state(gx) if state is None else state
        gates = torch.addmm(gx, h, self.weight_hh.t())  # W[h_{t-1}, x_t] + b, all four gates at once
        i, f, g, o = gates.chunk(4, 1)
        f = torch.sigmoid(f)  # forget gate     f_t = σ(W_f[h_{t-1}, x_t] + b_f)
        i = torch.sigmoid(i)  # input gate      i_t = σ(W_i[h_{t-1}, x_t] + b_i)
        c_tilde = torch.tanh(g)  # candidate     c̃_t = tanh(W_c[h_{t-1}, x_t] + b_c)
        c = f * c + i * c_tilde  # cell state    c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t
        o = torch.sigmoid(o)  # output gate     o_t = σ(W_o[h_{t-1}, x_t] + b_o)
        h = o * torch.tanh(c)  # output          h_t = o_t ⊙ tanh(c_t)
        return h, c


class GRUCell(_Cell):
    """GRU with reset and update gates (gate rows r, z, n).

    ``reset_after=False`` (default) is the notes' GRU (Cho et al. 2014): the reset gate acts
    before the matrix product and z weights the new content,
        h̃_t = tanh(W_h[r_t ⊙ h_{t-1}, x_t] + b_h),   h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t.
    ``reset_after=True`` is torch.nn.GRUCell's (and cuDNN's) form:
        n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn)),   h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}.
    The two are different models; only the second has fused kernels.
    """

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, reset_after: bool = False) -> None:
        super().__init__(input_size, hidden_size)
        self.reset_after = reset_after

    def project_input(self, x: Tensor, linear=F.linear) -> Tensor:
        if self.reset_after:  # b_hn sits inside r ⊙ (...): it cannot be folded into the input part
            return linear(x, self.weight_ih, self.bias_ih)
        return super().project_input(x, linear)

    def step(self, gx: Tensor, h: Tensor | None = None) -> Tensor:
        # gx: (B, 3H) = W_[r,z,h] x_t + b
        if h is None:
            h = self.zero_state(gx)
        return self._step_reset_after(gx, h) if self.reset_after else self._step_seed(gx, h)

    def _step_seed(self, gx: Tensor, h: Tensor) -> Tensor:
        H = self.hidden_size
        gx_rz, gx_h = gx.split((2 * H, H), 1)
        rz = torch.addmm(gx_rz, h, self.weight_hh[: 2 * H].t())
        r, z = torch.sigmoid(rz).chunk(2, 1)  # r_t, z_t = σ(W_[r,z][h_{t-1}, x_t] + b_[r,z])
        h_tilde = torch.tanh(torch.addmm(gx_h, r * h, self.weight_hh[2 * H :].t()))  # tanh(W_h[r⊙h_{t-1}, x_t] + b_h)
        h = (1 - z) * h + z * h_tilde  # h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t
        return h

    def _step_reset_after(self, gx: Tensor, h: Tensor) -> Tensor:
        gh = F.linear(h, self.weight_hh, self.bias_hh)  # (B, 3H)
        gx_r, gx_z, gx_n = gx.chunk(3, 1)
        gh_r, gh_z, gh_n = gh.chunk(3, 1)
        r = torch.sigmoid(gx_r + gh_r)
        z = torch.sigmoid(gx_z + gh_z)
        n = torch.tanh(gx_n + r * gh_n)  # reset applied after the product W_hn h_{t-1} + b_hn
        h = (1 - z) * n + z * h  # torch.nn.GRUCell: z keeps the old state
        return h

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, reset_after={self.reset_after}"


@dataclass(frozen=True)
class CellSpec:
    """Everything the package knows about one cell, in one place: every per-cell table derives
    from ``SPECS`` (the FLOP count, the memory estimate, the job cost, the figures' names)."""

    name: str  # config value: rnn | lstm | gru
    display: str  # the name figures and reports print
    cls: type[_Cell]  # our step-by-step cell, the seed's equations
    fused: type[nn.RNNBase]  # torch.nn's fused twin (for the GRU: the reset-after form only)
    saved_per_unit: int  # numbers autograd keeps per hidden unit and step: gates (pre and post activation), states
    cost: int  # relative cost of one time step (its gates' products and nonlinearities); orders jobs only

    @property
    def gates(self) -> int:
        """Stacked gate blocks in ``weight_ih``/``weight_hh``: 1, 4 (i, f, g, o), 3 (r, z, n)."""
        return self.cls.gates


SPECS: dict[str, CellSpec] = {
    s.name: s
    for s in (
        CellSpec("rnn", "vanilla RNN (tanh)", RNNCell, nn.RNN, saved_per_unit=4, cost=1),
        CellSpec("lstm", "LSTM", LSTMCell, nn.LSTM, saved_per_unit=14, cost=3),
        CellSpec("gru", "GRU", GRUCell, nn.GRU, saved_per_unit=12, cost=3),
    )
}
CELLS: dict[str, type[_Cell]] = {name: s.cls for name, s in SPECS.items()}
