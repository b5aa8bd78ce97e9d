"""Hand-written backpropagation through time for whole sequences: the fast explicit path.

Each ``*Sequence`` below is a ``torch.autograd.Function`` that runs the same equations as the
cell's ``step`` (see ``cells.py``) over all T steps without recording an autograd graph, and
whose backward walks the steps in reverse by hand, as oneDNN's LSTM does:

* the reverse loop does a handful of ops per step instead of one autograd node per op:
  ∂L/∂h_t = ∂ℓ/∂h_t + (∂L/∂gates_{t+1}) W_hh (and ∂L/∂c_t), then that step's gate gradients
  from the values the forward saved (still in cache);
* ∂L/∂W_hh (and for the LSTM ∂L/∂W_ih with it: one GEMM against [x_t, h_{t-1}]) is a reduction
  over all T·B rows, done after the loop in a few cache-sized GEMMs, not T small ones;
* on CPU in float32 the GEMMs go through oneDNN (see ``linear``); tanh is computed as
  2σ(2x) − 1 (same function, faster here; float32 rounding differs by ~1e-7).

Gradients are first order only (``once_differentiable``); the cell-by-cell path supports more.
All tensors are time-major: inputs (T, B, I), states (B, H), outputs (T, B, H). The cells stay
the readable reference; ``tests/test_throughput_bptt.py`` checks these against them and torch.nn
in float64 (outputs and every gradient) and with gradcheck. The gradient probes need every h_t
(and c_t) in the autograd graph, so a layer given a ``StateRecorder`` takes the cell-by-cell
path instead (see ``layers.RecurrentLayer``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable


def _onednn_works() -> bool:
    """``torch.ops.mkldnn._linear_pointwise`` is a private op (torch.compile's CPU backend uses it):
    use it only if it is there and gives x @ wᵀ on a tiny case; otherwise torch's own GEMMs."""
    if not torch.backends.mkldnn.is_available() or not hasattr(torch.ops.mkldnn, "_linear_pointwise"):
        return False
    try:
        x, w = torch.arange(6.0).view(2, 3), torch.arange(12.0).view(4, 3)
        return torch.equal(torch.ops.mkldnn._linear_pointwise(x, w, None, "none", [], ""), x @ w.t())
    except (RuntimeError, TypeError):
        return False


_ONEDNN = _onednn_works()


def _use_onednn(x: Tensor) -> bool:
    return _ONEDNN and x.device.type == "cpu" and x.dtype == torch.float32


def linear(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """x @ wᵀ (+ b), no autograd. On CPU in float32 it runs oneDNN's matmul: torch's dense
    ``mm`` calls MKL's sgemm, which on some CPUs (this project's AMD EPYC) runs about half as fast
    at these shapes; nn.LSTM's oneDNN kernel gets the fast one, so we do too. Elsewhere F.linear."""
    if _use_onednn(x):
        return torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "")
    return F.linear(x, w, b)


def addmm_t(add: Tensor, x: Tensor, w: Tensor, out: Tensor | None = None) -> Tensor:
    """add + x @ wᵀ (written into ``out`` when given), through ``linear``'s GEMM choice."""
    if _use_onednn(x):
        return torch.add(linear(x, w), add, out=out)
    return torch.addmm(add, x, w.t(), out=out)


def _weight_grad(dy: Tensor, *xs: Tensor) -> Tensor:
    """dyᵀ @ [x₁, x₂, …] for dy (N, O) and each x (N, I_k) -> (O, ΣI_k): the weight gradient, a
    reduction over all N = T·B rows. Done in chunks of rows that stay in cache (about 2 MB of dy),
    each transposed for oneDNN and accumulated: one transposed copy of the whole of dy runs at
    memory speed and was the slowest part of the LSTM's backward on a busy machine."""
    rows = max(1, (1 << 19) // dy.shape[1])
    out = None
    for i in range(0, dy.shape[0], rows):
        x = torch.cat([x[i : i + rows] for x in xs], 1) if len(xs) > 1 else xs[0][i : i + rows]
        part = linear(dy[i : i + rows].t().contiguous(), x.t().contiguous())
        out = part if out is None else out.add_(part)
    return out


class Linear(torch.autograd.Function):
    """Differentiable ``linear`` (the input projection of all steps): x (..., I), w (O, I), b (O,)."""

    @staticmethod
    def forward(ctx, x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        return linear(x.flatten(0, -2), w, b).view(*x.shape[:-1], w.shape[0])

    @staticmethod
    @once_differentiable
    def backward(ctx, dy: Tensor):
        x, w = ctx.saved_tensors
        dy2 = dy.flatten(0, -2)  # (N, O)
        need_x, need_w, need_b = ctx.needs_input_grad
        dx = linear(dy2, w.t()).view(x.shape) if need_x else None
        dw = _weight_grad(dy2, x.flatten(0, -2)) if need_w else None  # (O, I)
        return dx, dw, dy2.sum(0) if ctx.has_bias and need_b else None


LinearFn = Callable[..., Tensor]


def _tanh_(x: Tensor) -> Tensor:
    """tanh in place as 2σ(2x) − 1: the same function, about twice as fast as torch.tanh on CPU
    here (float32, small tensors); the difference is rounding (absolute, ~1e-7 in float32)."""
    return x.mul_(2).sigmoid_().mul_(2).sub_(1)


def _tanh(x: Tensor, out: Tensor) -> Tensor:
    """tanh(x) written into out, as 2σ(2x) − 1."""
    return torch.mul(x, 2, out=out).sigmoid_().mul_(2).sub_(1)


def _sigmoid_backward(grad: Tensor, y: Tensor, out: Tensor | None = None) -> Tensor:
    """grad ⊙ y ⊙ (1 − y), y = σ(x): one fused kernel."""
    if out is None:
        return torch.ops.aten.sigmoid_backward(grad, y)
    return torch.ops.aten.sigmoid_backward.grad_input(grad, y, grad_input=out)


def _tanh_backward(grad: Tensor, y: Tensor, out: Tensor | None = None) -> Tensor:
    """grad ⊙ (1 − y²), y = tanh(x): one fused kernel."""
    if out is None:
        return torch.ops.aten.tanh_backward(grad, y)
    return torch.ops.aten.tanh_backward.grad_input(grad, y, grad_input=out)


def _previous(first: Tensor, states: Tensor) -> Tensor:
    """(B, H) state before step 0 and (T, B, H) states -> (T, B, H) states before each step."""
    return torch.cat([first.unsqueeze(0), states[:-1]])


class RNNSequence(torch.autograd.Function):
    """h_t = tanh(W_hh h_{t-1} + gx_t), gx_t = W_xh x_t + b_h."""

    @staticmethod
    def forward(ctx, gx: Tensor, h0: Tensor, w_hh: Tensor) -> Tensor:
        T = gx.shape[0]
        hs = torch.empty_like(gx)  # (T, B, H)
        h = h0
        for t in range(T):
            h = _tanh_(addmm_t(gx[t], h, w_hh, out=hs[t]))
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
        dw_hh = _weight_grad(da.flatten(0, 1), _previous(h0, hs).flatten(0, 1))  # (H, H), over all steps
        return da, dh0, dw_hh


class LSTMSequence(torch.autograd.Function):
    """The LSTM of ``cells.LSTMCell.step`` over a sequence, input projection included, so that
    backward gets ∂L/∂W_ih and ∂L/∂W_hh from one GEMM: ∂L/∂gates (4H × T·B) @ [x_t, h_{t-1}].

    Gate rows i, f, g, o. Every gate is computed as a sigmoid, the candidate as
    c̃ = tanh(a) = 2σ(2a) − 1, so one sigmoid covers all 4H pre-activations of a step and one
    ``sigmoid_backward`` all of their gradients (with the c̃ slot's chain factor 4 folded in).
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
            torch.mul(o, _tanh(c, out=tanh_cs[t]), out=hs[t + 1])  # h_t = o_t ⊙ tanh(c_t)
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
                dc = torch.addcmul(_tanh_backward(dh * o, tanh_cs[t]), dc, sig[t + 1, :, H : 2 * H])  # ∂L/∂c_t
            else:
                dc = _tanh_backward(dh * o, tanh_cs[t]).add_(dc)
            torch.mul(dc, cand[t], out=da[:, :H])  # → i_t
            torch.mul(dc, cs[t], out=da[:, H : 2 * H])  # → f_t
            torch.mul(dc, i, out=da[:, 2 * H : 3 * H]).mul_(4)  # → σ(2·a_c): c̃ = 2σ(2a) − 1
            torch.mul(dh, tanh_cs[t], out=da[:, 3 * H :])  # → o_t
            _sigmoid_backward(da, sig[t], out=dgates[t])
        need = ctx.needs_input_grad
        dg = dgates.flatten(0, 1)  # (T·B, 4H)
        dx = linear(dg, w_ih.t()).view(x.shape) if need[0] else None
        dw = _weight_grad(dg, x.flatten(0, 1), hs[:T].flatten(0, 1))  # (4H, I+H): dg_tᵀ [x_t, h_{t-1}] over all t
        dw_ih, dw_hh = dw.split([x.shape[2], H], 1)
        dh0 = linear(dgates[0], w_t)
        dc0 = dc * sig[0, :, H : 2 * H]
        return dx, dw_ih, dg.sum(0), dh0, dc0, dw_hh


class GRUSequence(torch.autograd.Function):
    """The reset-after GRU (torch.nn.GRU's form) of ``cells.GRUCell``; gx_t = W_ih x_t + b_ih, rows r, z, n.

    The reverse loop computes each step's gate gradients from that step's (cache-resident) saved
    values; precomputing them for all steps at once moved several (T, B, H) tensors through memory
    and was slower on a busy machine."""

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
            n = _tanh_(torch.addcmul(gx[t, :, 2 * H :], r, gh[t, :, 2 * H :], out=ns[t]))  # n_t
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
            dn = _tanh_backward(torch.addcmul(dh, dh, z, value=-1), ns[t])  # through (1 − z_t) ⊙ n_t
            dr = _sigmoid_backward(dn * gh[t, :, 2 * H :], r)
            dz = _sigmoid_backward(dh * (hs[t] - ns[t]), z)
            torch.cat([dr, dz, dn], 1, out=dgx[t])
            torch.cat([dr, dz, dn * r], 1, out=dgh[t])
        dh0 = torch.addcmul(linear(dgh[0], w_t), dh, rz[0, :, H:])
        dw_hh = _weight_grad(dgh.flatten(0, 1), hs[:T].flatten(0, 1))  # (3H, H), over all steps
        return dgx, dh0, dw_hh, dgh.sum((0, 1))


def _rnn(cell, x: Tensor, state: Tensor | None):
    gx = cell.project_input(x, linear=Linear.apply)  # (T, B, H), one GEMM for all steps
    h0 = x.new_zeros(x.shape[1], cell.hidden_size) if state is None else state
    hs = RNNSequence.apply(gx, h0, cell.weight_hh)
    return hs, hs[-1]


def _lstm(cell, x: Tensor, state: tuple[Tensor, Tensor] | None):
    h0, c0 = (x.new_zeros(x.shape[1], cell.hidden_size),) * 2 if state is None else state
    hs, c = LSTMSequence.apply(x, cell.weight_ih, cell.bias_ih + cell.bias_hh, h0, c0, cell.weight_hh)
    return hs, (hs[-1], c)


def _gru(cell, x: Tensor, state: Tensor | None):
    gx = cell.project_input(x, linear=Linear.apply)  # (T, B, 3H)
    h0 = x.new_zeros(x.shape[1], cell.hidden_size) if state is None else state
    hs = GRUSequence.apply(gx, h0, cell.weight_hh, cell.bias_hh)
    return hs, hs[-1]


SEQUENCES = {"RNNCell": _rnn, "LSTMCell": _lstm, "GRUCell": _gru}
"""Cell class name -> runner ``(cell, x (T, B, I), state) -> (hs (T, B, H), final state)``."""


def sequence_runner(cell):
    """The hand-written BPTT runner for ``cell``, or None where there is none (the notes' GRU,
    whose reset gate acts before the product, keeps the autograd path)."""
    if getattr(cell, "reset_after", True) is False:
        return None
    return SEQUENCES.get(type(cell).__name__)
