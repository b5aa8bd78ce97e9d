"""The vanilla RNN: its equations, its cell, and its hand-written backward through time."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from rnnbench.core.bptt import Linear, addmm_t, linear, previous_states, tanh_inplace, weight_grad
from rnnbench.core.cells.base import Cell, CellSpec, Option, SequenceRunner

NONLINEARITIES = ("tanh", "relu")  # torch.nn.RNN's; relu with init identity is the IRNN (Le et al. 2015)


def rnn_step(cell: nn.Module, gx: Tensor, h: Tensor) -> Tensor:
    # gx: (…, B, H) = W_xh x_t + b_h; h: (…, B, H)
    a = cell.addmm(gx, h, cell.weight_hh)  # W_hh h_{t-1} + W_xh x_t + b_h
    return torch.relu(a) if cell.nonlinearity == "relu" else torch.tanh(a)


class RNNSequence(torch.autograd.Function):
    """h_t = tanh(W_hh h_{t-1} + gx_t), gx_t = W_xh x_t + b_h, over a whole sequence (see ``bptt``).

    The forward does not call ``rnn_step``: it writes every h_t into one buffer in place, with
    tanh as 2σ(2x) − 1 and ``bptt``'s GEMMs, and saves them for the backward; the cell's own
    ops would be other arithmetic (and the slow path this one replaces)."""

    @staticmethod
    def forward(ctx, gx: Tensor, h0: Tensor, w_hh: Tensor) -> Tensor:
        T = gx.shape[0]
        hs = torch.empty_like(gx)  # (T, B, H)
        h = h0
        for t in range(T):
            h = tanh_inplace(addmm_t(gx[t], h, w_hh, out=hs[t]))
        ctx.save_for_backward(hs, h0, w_hh)
        return hs

    @staticmethod
    @once_differentiable
    def backward(ctx, dhs: Tensor):
        hs, h0, w_hh = ctx.saved_tensors
        T = hs.shape[0]
        w_t = w_hh.t().contiguous()
        tanh_grad = 1 - hs * hs  # ∂h_t/∂a_t for all steps, (T, B, H)
        da = torch.empty_like(hs)  # ∂L/∂a_t, a_t the pre-activation
        dh = dhs[T - 1]
        for t in range(T - 1, -1, -1):
            torch.mul(dh, tanh_grad[t], out=da[t])
            if t > 0:
                dh = addmm_t(dhs[t - 1], da[t], w_t)  # ∂L/∂h_{t-1}: direct + through step t
        dh0 = linear(da[0], w_t)
        dw_hh = weight_grad(da.flatten(0, 1), previous_states(h0, hs).flatten(0, 1))  # (H, H), over all steps
        return da, dh0, dw_hh


def rnn_sequence(cell: RNNCell, x: Tensor, state: Tensor | None) -> tuple[Tensor, Tensor]:
    # x: (T, B, I) -> hs (T, B, H), h_T
    gx = cell.project_input(x, linear=Linear.apply)  # (T, B, H), one GEMM for all steps
    h0 = cell.initial_state(x[0]) if state is None else state  # (B, H)
    hs = RNNSequence.apply(gx, h0, cell.weight_hh)
    return hs, hs[-1]


class RNNCell(Cell):
    """Vanilla RNN: h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h), or relu(...) (``nonlinearity``, as torch.nn.RNN)."""

    gates = 1
    equations = staticmethod(rnn_step)
    sequence = staticmethod(rnn_sequence)

    def __init__(
        self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", learn_initial_state: bool = False
    ) -> None:
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity {nonlinearity!r} is not allowed; choose one of: {NONLINEARITIES}")
        super().__init__(input_size, hidden_size, learn_initial_state)
        self.nonlinearity = nonlinearity

    def sequence_runner(self) -> SequenceRunner | None:
        # the hand-written BPTT is tanh's; the ReLU RNN keeps the autograd path
        return self.sequence if self.nonlinearity == "tanh" else None

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, nonlinearity={self.nonlinearity}"


SPEC = CellSpec(
    "rnn", "vanilla RNN (tanh)", RNNCell, nn.RNN, saved_per_unit=4, cost=1,
    options={"nonlinearity": Option("tanh", "chooses the vanilla RNN's nonlinearity", builds=True)},
)  # fmt: skip
