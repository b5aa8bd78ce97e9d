"""The LSTM: its equations, its cell, and its hand-written backward through time."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from rnnbench.core.bptt import addmm_t, linear, sigmoid_backward, tanh_backward, tanh_into, weight_grad
from rnnbench.core.cells.base import Cell, CellSpec, LSTMState, Option, SequenceRunner


def lstm_step(cell: nn.Module, gx: Tensor, state: LSTMState) -> LSTMState:
    # gx: (…, B, 4H) = W_[i,f,c,o] x_t + b; h, c: (…, B, H)
    h, c = state
    gates = cell.addmm(gx, h, cell.weight_hh)  # W[h_{t-1}, x_t] + b, all four gates at once
    i, f, g, o = gates.chunk(4, -1)
    f = torch.sigmoid(f)  # forget gate     f_t = σ(W_f[h_{t-1}, x_t] + b_f)
    i = torch.sigmoid(i)  # input gate      i_t = σ(W_i[h_{t-1}, x_t] + b_i)
    c_tilde = torch.tanh(g)  # candidate     c̃_t = tanh(W_c[h_{t-1}, x_t] + b_c)
    c = f * c + i * c_tilde  # cell state    c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t
    if cell.peephole:  # complex_RNN's LSTM: the output gate also sees the new cell state, V_o c_t
        o = cell.addmm(o, c, cell.weight_co)
    o = torch.sigmoid(o)  # output gate     o_t = σ(W_o[h_{t-1}, x_t] (+ V_o c_t) + b_o)
    h = o * torch.tanh(c)  # output          h_t = o_t ⊙ tanh(c_t)
    return h, c


class LSTMSequence(torch.autograd.Function):
    """The LSTM of ``lstm_step`` over a sequence, input projection included, so that backward gets
    ∂L/∂W_ih and ∂L/∂W_hh from one GEMM: ∂L/∂gates (4H × T·B) @ [x_t, h_{t-1}] (see ``bptt``).

    Gate rows i, f, g, o. Every gate is computed as a sigmoid, the candidate as
    c̃ = tanh(a) = 2σ(2a) − 1, so one sigmoid covers all 4H pre-activations of a step and one
    ``sigmoid_backward`` all of their gradients (with the c̃ slot's chain factor 4 folded in).
    That, the in-place writes into the buffers the backward reads, and ``bptt``'s GEMMs are why
    the forward is written out here rather than calling ``lstm_step``: the arithmetic differs.
    """

    @staticmethod
    def forward(ctx, x: Tensor, w_ih: Tensor, b: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor):
        # x: (T, B, I); b = b_ih + b_hh: (4H,); h0, c0: (B, H); w_hh: (4H, H)
        T, B, _ = x.shape
        H = w_hh.shape[1]
        sig = linear(x.flatten(0, 1), w_ih, b).view(T, B, 4 * H)  # W_ih x_t + b, all steps; then σ of gates
        cand = x.new_empty(T, B, H)  # c̃_t
        cs = x.new_empty(T + 1, B, H)  # c_{-1} = c0, c_0 .. c_{T-1}
        hs = x.new_empty(T + 1, B, H)  # h_{-1} = h0, h_0 .. h_{T-1}
        tanh_cs = x.new_empty(T, B, H)
        cs[0], hs[0] = c0, h0
        for t in range(T):
            a = addmm_t(sig[t], hs[t], w_hh, out=sig[t])  # W[h_{t-1}, x_t] + b, all four gates
            a[:, 2 * H : 3 * H].mul_(2)
            i, f, s_g, o = a.sigmoid_().split(H, 1)  # i_t, f_t, σ(2·a_c), o_t
            g = torch.mul(s_g, 2, out=cand[t]).sub_(1)  # c̃_t = tanh(a_c)
            c = torch.mul(f, cs[t], out=cs[t + 1]).addcmul_(i, g)  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t
            torch.mul(o, tanh_into(c, out=tanh_cs[t]), out=hs[t + 1])  # h_t = o_t ⊙ tanh(c_t)
        ctx.save_for_backward(x, w_ih, sig, cand, cs, tanh_cs, hs, w_hh)
        return hs[1:], cs[T].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, dhs: Tensor, dc_last: Tensor):
        x, w_ih, sig, cand, cs, tanh_cs, hs, w_hh = ctx.saved_tensors
        T, B, G = sig.shape
        H = G // 4
        w_t = w_hh.t().contiguous()
        dgates = torch.empty_like(sig)  # (T, B, 4H) ∂L/∂(pre-activation gates)
        da = sig.new_empty(B, G)  # ∂L/∂(each gate's sigmoid output), one step
        dh, dc = dhs[T - 1], dc_last
        for t in range(T - 1, -1, -1):
            i, _, _, o = sig[t].split(H, 1)
            if t < T - 1:
                dh = addmm_t(dhs[t], dgates[t + 1], w_t)  # ∂L/∂h_t: direct + through step t+1
                dc = torch.addcmul(tanh_backward(dh * o, tanh_cs[t]), dc, sig[t + 1, :, H : 2 * H])  # ∂L/∂c_t
            else:
                dc = tanh_backward(dh * o, tanh_cs[t]).add_(dc)
            torch.mul(dc, cand[t], out=da[:, :H])  # → i_t
            torch.mul(dc, cs[t], out=da[:, H : 2 * H])  # → f_t
            torch.mul(dc, i, out=da[:, 2 * H : 3 * H]).mul_(4)  # → σ(2·a_c): c̃ = 2σ(2a) − 1
            torch.mul(dh, tanh_cs[t], out=da[:, 3 * H :])  # → o_t
            sigmoid_backward(da, sig[t], out=dgates[t])
        need = ctx.needs_input_grad
        dg = dgates.flatten(0, 1)  # (T·B, 4H)
        dx = linear(dg, w_ih.t()).view(x.shape) if need[0] else None
        dw = weight_grad(dg, x.flatten(0, 1), hs[:T].flatten(0, 1))  # (4H, I+H): dg_tᵀ [x_t, h_{t-1}] over all t
        dw_ih, dw_hh = dw.split([x.shape[2], H], 1)
        dh0 = linear(dgates[0], w_t)
        dc0 = dc * sig[0, :, H : 2 * H]
        return dx, dw_ih, dg.sum(0), dh0, dc0, dw_hh


def lstm_sequence(cell: LSTMCell, x: Tensor, state: LSTMState | None) -> tuple[Tensor, LSTMState]:
    # x: (T, B, I) -> hs (T, B, H), (h_T, c_T)
    h0, c0 = cell.initial_state(x[0]) if state is None else state  # (B, H) each
    hs, c = LSTMSequence.apply(x, cell.weight_ih, cell.input_bias(cell), h0, c0, cell.weight_hh)
    return hs, (hs[-1], c)


class LSTMCell(Cell):
    """LSTM with forget, input and output gates and a candidate cell state (gate rows i, f, g, o)."""

    gates = 4
    paired_state = True  # (h, c)
    equations = staticmethod(lstm_step)
    sequence = staticmethod(lstm_sequence)

    def __init__(
        self, input_size: int, hidden_size: int, peephole: bool = False, learn_initial_state: bool = False
    ) -> None:
        super().__init__(input_size, hidden_size, learn_initial_state)
        self.peephole = peephole
        if peephole:  # V_o (H, H), stored as torch stores W_hh: o_t gets c_t V_oᵀ (rows: output units)
            self.weight_co = nn.Parameter(torch.empty(hidden_size, hidden_size))
            bound = 1.0 / math.sqrt(hidden_size)  # the default draw of the other weights; initialise() redraws
            nn.init.uniform_(self.weight_co, -bound, bound)

    def sequence_runner(self) -> SequenceRunner | None:
        # the hand-written BPTT has no peephole: a peephole LSTM keeps the autograd path
        return None if self.peephole else self.sequence

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}{', peephole=True' if self.peephole else ''}"


SPEC = CellSpec(
    "lstm", "LSTM", LSTMCell, nn.LSTM, saved_per_unit=14, cost=3,
    options={
        "forget_bias": Option(None, "sets the LSTM forget-gate bias"),
        "peephole": Option(False, "adds complex_RNN's peephole V_o c_t to the LSTM's output gate"),
    },
)  # fmt: skip
