"""Hand-written backpropagation through time for whole sequences (the ``explicit-bptt`` backend):
the pieces every cell's ``*Sequence`` shares. The Sequences themselves sit beside their cells
(``cells/rnn.py``, ``cells/lstm.py``, ``cells/gru.py``).

Each ``*Sequence`` is a ``torch.autograd.Function`` that runs the cell's equations over all T
steps without recording an autograd graph, and whose backward walks the steps in reverse by
hand, as oneDNN's LSTM does:

* the reverse loop does a handful of ops per step instead of one autograd node per op:
  ∂L/∂h_t = ∂ℓ/∂h_t + (∂L/∂gates_{t+1}) W_hh (and ∂L/∂c_t), then that step's gate gradients
  from the values the forward saved (still in cache);
* ∂L/∂W_hh (and for the LSTM ∂L/∂W_ih with it: one GEMM against [x_t, h_{t-1}]) is a reduction
  over all T·B rows, done after the loop in a few cache-sized GEMMs, not T small ones (``weight_grad``);
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

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnbench.core.onednn import ONEDNN


def _use_onednn(x: Tensor) -> bool:
    return ONEDNN and x.device.type == "cpu" and x.dtype == torch.float32


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


def weight_grad(dy: Tensor, *xs: Tensor) -> Tensor:
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
        dw = weight_grad(dy2, x.flatten(0, -2)) if need_w else None  # (O, I)
        return dx, dw, dy2.sum(0) if ctx.has_bias and need_b else None


def tanh_inplace(x: Tensor) -> Tensor:
    """tanh in place as 2σ(2x) − 1: the same function, about twice as fast as torch.tanh on CPU
    here (float32, small tensors); the difference is rounding (absolute, ~1e-7 in float32)."""
    return x.mul_(2).sigmoid_().mul_(2).sub_(1)


def tanh_into(x: Tensor, out: Tensor) -> Tensor:
    """tanh(x) written into out, as 2σ(2x) − 1."""
    return torch.mul(x, 2, out=out).sigmoid_().mul_(2).sub_(1)


def sigmoid_backward(grad: Tensor, y: Tensor, out: Tensor | None = None) -> Tensor:
    """grad ⊙ y ⊙ (1 − y), y = σ(x): one fused kernel."""
    if out is None:
        return torch.ops.aten.sigmoid_backward(grad, y)
    return torch.ops.aten.sigmoid_backward.grad_input(grad, y, grad_input=out)


def tanh_backward(grad: Tensor, y: Tensor, out: Tensor | None = None) -> Tensor:
    """grad ⊙ (1 − y²), y = tanh(x): one fused kernel."""
    if out is None:
        return torch.ops.aten.tanh_backward(grad, y)
    return torch.ops.aten.tanh_backward.grad_input(grad, y, grad_input=out)


def previous_states(first: Tensor, states: Tensor) -> Tensor:
    """(B, H) state before step 0 and (T, B, H) states -> (T, B, H) states before each step."""
    return torch.cat([first.unsqueeze(0), states[:-1]])
