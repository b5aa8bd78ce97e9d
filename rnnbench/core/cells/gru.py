"""The GRU, in both forms: their equations, the cell, and the reset-after form's hand-written BPTT."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from rnnbench.core.bptt import Linear, linear, sigmoid_backward, tanh_backward, tanh_inplace, weight_grad
from rnnbench.core.cells.base import Cell, CellSpec, Option, SequenceRunner, fold_biases


def notes_gru(cell: str, reset_after: bool) -> bool:
    """The notes' GRU (reset applied before the recurrent product): no torch.nn/fused kernel computes it."""
    return cell == "gru" and not reset_after


def gru_step(cell: nn.Module, gx: Tensor, h: Tensor) -> Tensor:
    """The GRU of ``cell.reset_after``'s form."""
    return reset_after_step(cell, gx, h) if cell.reset_after else notes_step(cell, gx, h)


def notes_step(cell: nn.Module, gx: Tensor, h: Tensor) -> Tensor:
    # gx: (…, B, 3H) = W_[r,z,h] x_t + b; h: (…, B, H); the notes' GRU, reset before the product
    H = cell.hidden_size
    gx_rz, gx_h = gx.split((2 * H, H), -1)
    rz = cell.addmm(gx_rz, h, cell.weight_hh[..., : 2 * H, :])  # rows of r and z
    r, z = torch.sigmoid(rz).chunk(2, -1)  # r_t, z_t = σ(W_[r,z][h_{t-1}, x_t] + b_[r,z])
    h_tilde = torch.tanh(cell.addmm(gx_h, r * h, cell.weight_hh[..., 2 * H :, :]))  # tanh(W_h[r⊙h_{t-1}, x_t] + b_h)
    h = (1 - z) * h + z * h_tilde  # h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t
    return h


def reset_after_step(cell: nn.Module, gx: Tensor, h: Tensor) -> Tensor:
    # gx: (…, B, 3H) = W_[r,z,n] x_t + b_ih, without b_hh, which sits inside r ⊙ (W_hn h + b_hn)
    gh = cell.linear(h, cell.weight_hh, cell.bias_hh)  # (…, B, 3H) = W_hh h_{t-1} + b_hh
    gx_r, gx_z, gx_n = gx.chunk(3, -1)
    gh_r, gh_z, gh_n = gh.chunk(3, -1)
    r = torch.sigmoid(gx_r + gh_r)
    z = torch.sigmoid(gx_z + gh_z)
    n = torch.tanh(gx_n + r * gh_n)  # reset applied after the product W_hn h_{t-1} + b_hn
    h = (1 - z) * n + z * h  # torch.nn.GRUCell: z keeps the old state
    return h


def gru_input_bias(cell: nn.Module) -> Tensor:
    if cell.reset_after:  # b_hn sits inside r ⊙ (...): it cannot be folded into the input part
        return cell.bias_ih
    return fold_biases(cell)


class GRUSequence(torch.autograd.Function):
    """The reset-after GRU (torch.nn.GRU's form) of ``reset_after_step`` over a sequence (see
    ``bptt``); gx_t = W_ih x_t + b_ih, rows r, z, n.

    The forward writes each step's r, z, n and W_hh h + b_hh into buffers the backward reads, with
    ``bptt``'s GEMMs, tanh as 2σ(2x) − 1 and h_t as one ``lerp``: other arithmetic than the cell's,
    so it is written out here rather than calling ``reset_after_step``. The reverse loop computes
    each step's gate gradients from that step's (cache-resident) saved values; precomputing them
    for all steps at once moved several (T, B, H) tensors through memory and was slower on a busy
    machine."""

    @staticmethod
    def forward(ctx, gx: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor) -> Tensor:
        T, B, G = gx.shape
        H = G // 3
        gh = torch.empty_like(gx)  # (T, B, 3H): W_hh h_{t-1} + b_hh
        rz = gx.new_empty(T, B, 2 * H)  # r_t, z_t
        ns = gx.new_empty(T, B, H)  # n_t
        hs = gx.new_empty(T + 1, B, H)  # h_{-1} = h0, h_0 .. h_{T-1}
        hs[0] = h0
        for t in range(T):
            torch.add(linear(hs[t], w_hh), b_hh, out=gh[t])
            torch.add(gx[t, :, : 2 * H], gh[t, :, : 2 * H], out=rz[t]).sigmoid_()  # r_t, z_t
            r, z = rz[t].split(H, 1)
            n = tanh_inplace(torch.addcmul(gx[t, :, 2 * H :], r, gh[t, :, 2 * H :], out=ns[t]))  # n_t
            torch.lerp(n, hs[t], z, out=hs[t + 1])  # h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}
        ctx.save_for_backward(gh, rz, ns, hs, w_hh)
        return hs[1:]

    @staticmethod
    @once_differentiable
    def backward(ctx, dhs: Tensor):
        gh, rz, ns, hs, w_hh = ctx.saved_tensors
        T, B, G = gh.shape
        H = G // 3
        w_t = w_hh.t().contiguous()
        dgx = torch.empty_like(gh)  # ∂L/∂gx_t: pre-activations of r, z and the input part of n
        dgh = torch.empty_like(gh)  # ∂L/∂gh_t: the recurrent part (r_t ⊙ … for n)
        dh = dhs[T - 1]
        for t in range(T - 1, -1, -1):
            if t < T - 1:  # ∂L/∂h_t: direct + through z_{t+1} + through W_hh
                dh = torch.addcmul(dhs[t], dh, rz[t + 1, :, H:]).add_(linear(dgh[t + 1], w_t))
            r, z = rz[t].split(H, 1)
            dn = tanh_backward(torch.addcmul(dh, dh, z, value=-1), ns[t])  # through (1 − z_t) ⊙ n_t
            dr = sigmoid_backward(dn * gh[t, :, 2 * H :], r)
            dz = sigmoid_backward(dh * (hs[t] - ns[t]), z)
            torch.cat([dr, dz, dn], 1, out=dgx[t])
            torch.cat([dr, dz, dn * r], 1, out=dgh[t])
        dh0 = torch.addcmul(linear(dgh[0], w_t), dh, rz[0, :, H:])
        dw_hh = weight_grad(dgh.flatten(0, 1), hs[:T].flatten(0, 1))  # (3H, H), over all steps
        return dgx, dh0, dw_hh, dgh.sum((0, 1))


def gru_sequence(cell: GRUCell, x: Tensor, state: Tensor | None) -> tuple[Tensor, Tensor]:
    # x: (T, B, I) -> hs (T, B, H), h_T; the reset-after form only
    gx = cell.project_input(x, linear=Linear.apply)  # (T, B, 3H)
    h0 = cell.initial_state(x[0]) if state is None else state  # (B, H)
    hs = GRUSequence.apply(gx, h0, cell.weight_hh, cell.bias_hh)
    return hs, hs[-1]


class GRUCell(Cell):
    """GRU with reset and update gates (gate rows r, z, n).

    ``reset_after=False`` (default) is the notes' GRU (Cho et al. 2014): the reset gate acts
    before the matrix product and z weights the new content,
        h̃_t = tanh(W_h[r_t ⊙ h_{t-1}, x_t] + b_h),   h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t.
    ``reset_after=True`` is torch.nn.GRUCell's (and cuDNN's) form:
        n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn)),   h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}.
    The two are different models; only the second has fused kernels and a hand-written BPTT.
    """

    gates = 3
    equations = staticmethod(gru_step)
    input_bias = staticmethod(gru_input_bias)
    sequence = staticmethod(gru_sequence)

    def __init__(
        self, input_size: int, hidden_size: int, reset_after: bool = False, learn_initial_state: bool = False
    ) -> None:
        super().__init__(input_size, hidden_size, learn_initial_state)
        self.reset_after = reset_after

    def sequence_runner(self) -> SequenceRunner | None:
        # the notes' GRU, whose reset gate acts before the product, keeps the autograd path
        return self.sequence if self.reset_after else None

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, reset_after={self.reset_after}"


SPEC = CellSpec(
    "gru", "GRU", GRUCell, nn.GRU, saved_per_unit=12, cost=3,
    options={"reset_after": Option(False, "chooses the GRU's form")},
)  # fmt: skip
