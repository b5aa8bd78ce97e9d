"""The hand-written BPTT path (rnnbench.core.bptt, the cells' ``*Sequence``) against autograd through our cells and against
torch.nn, in float64: outputs, every parameter gradient, input and initial-state gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnbench.core.cells import GRUCell, GRUSequence, LSTMCell, LSTMSequence, RNNSequence
from rnnbench.core.layers import ExplicitStack, RecurrentLayer, StateRecorder

F64 = torch.float64


def _pair(cell: str, layers: int = 2, bidirectional: bool = False, dtype=F64):
    """An autograd-path stack and a BPTT-path stack with the same weights."""
    torch.manual_seed(0)
    ref = ExplicitStack(cell, 5, 7, layers, bidirectional, reset_after=True).to(F64)
    fast = ExplicitStack(cell, 5, 7, layers, bidirectional, reset_after=True, bptt=True).to(dtype)
    fast.load_state_dict(ref.state_dict())
    return ref, fast


def _grads(model, x, weight):
    x = x.detach().to(next(model.parameters()).dtype).requires_grad_(True)
    out, _ = model(x)  # (B, T, D·H); h_n unused
    grads = torch.autograd.grad((out * weight.to(out.dtype)).sum(), [x, *model.parameters()])
    return out, grads


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_bptt_matches_autograd_float64(cell, bidirectional):
    ref, fast = _pair(cell, bidirectional=bidirectional)
    x = torch.randn(3, 11, 5, dtype=F64)
    w = torch.randn(3, 11, 7 * (2 if bidirectional else 1), dtype=F64)
    out_ref, g_ref = _grads(ref, x, w)
    out_fast, g_fast = _grads(fast, x, w)
    torch.testing.assert_close(out_fast, out_ref, rtol=1e-12, atol=1e-12)
    for a, b in zip(g_fast, g_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_bptt_matches_torch_nn_float64(cell):
    torch.manual_seed(1)
    fused = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](5, 7, 2, batch_first=True).to(F64)
    fast = ExplicitStack(cell, 5, 7, 2, reset_after=True, bptt=True).to(F64)
    with torch.no_grad():
        for l, c in enumerate(fast.cells()):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(c, name).copy_(getattr(fused, f"{name}_l{l}"))
    x = torch.randn(4, 9, 5, dtype=F64)
    w = torch.randn(4, 9, 7, dtype=F64)
    xf = x.clone().requires_grad_(True)
    out_nn = fused(xf)[0]
    g_nn = torch.autograd.grad((out_nn * w).sum(), [xf, *fused.parameters()])
    out_fast, g_fast = _grads(fast, x, w)
    torch.testing.assert_close(out_fast, out_nn, rtol=1e-10, atol=1e-12)
    # torch.nn orders parameters w_ih, w_hh, b_ih, b_hh per layer, as our cells do
    for a, b in zip(g_fast, g_nn, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_gradcheck_each_sequence_function():
    T, B, H = 4, 2, 3

    def r(*shape):
        return torch.randn(*shape, dtype=F64, requires_grad=True)

    assert torch.autograd.gradcheck(RNNSequence.apply, (r(T, B, H), r(B, H), r(H, H)))
    assert torch.autograd.gradcheck(
        LSTMSequence.apply, (r(T, B, 2), r(4 * H, 2), r(4 * H), r(B, H), r(B, H), r(4 * H, H))
    )
    assert torch.autograd.gradcheck(GRUSequence.apply, (r(T, B, 3 * H), r(B, H), r(3 * H, H), r(3 * H)))


@pytest.mark.parametrize("cell_cls", [LSTMCell, lambda i, h: GRUCell(i, h, reset_after=True)])
def test_initial_state_and_final_state(cell_cls):
    torch.manual_seed(2)
    cell = cell_cls(4, 6).to(F64)
    ref, fast = RecurrentLayer(cell), RecurrentLayer(cell, bptt=True)
    x = torch.randn(2, 5, 4, dtype=F64)
    state = (torch.randn(2, 6, dtype=F64), torch.randn(2, 6, dtype=F64)) if isinstance(cell, LSTMCell) else None
    state = state if state is not None else torch.randn(2, 6, dtype=F64)
    leaves = [s.requires_grad_() for s in (state if isinstance(state, tuple) else (state,))]
    results = []
    for layer in (ref, fast):
        out, final = layer(x, state)
        final = final if isinstance(final, tuple) else (final,)
        loss = out.pow(2).sum() + sum(f.sin().sum() for f in final)
        results.append((out, final, torch.autograd.grad(loss, leaves + list(cell.parameters()))))
    (o1, f1, g1), (o2, f2, g2) = results
    torch.testing.assert_close(o2, o1, rtol=1e-12, atol=1e-12)
    for a, b in zip(f2 + g2, f1 + g1, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_recorder_takes_the_autograd_path_and_probes_still_work():
    ref, fast = _pair("lstm", layers=1)
    x = torch.randn(2, 6, 5, dtype=F64)
    rec = StateRecorder()
    fast(x, recorder=rec)[0].sum().backward()
    assert len(rec.h[(0, 0)]) == 6 and len(rec.c[(0, 0)]) == 6
    assert all(h.grad is not None for h in rec.h[(0, 0)])
    ref_rec = StateRecorder()
    ref(x, recorder=ref_rec)[0].sum().backward()
    for a, b in zip(rec.h[(0, 0)], ref_rec.h[(0, 0)], strict=True):
        torch.testing.assert_close(a.grad, b.grad)


def test_notes_gru_has_no_fast_path():
    assert GRUCell(3, 4, reset_after=False).sequence_runner() is None
    assert GRUCell(3, 4, reset_after=True).sequence_runner() is not None


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_float32_fast_path_close_to_float64_reference(cell):
    """The float32 path (oneDNN GEMMs on CPU, tanh as 2σ(2x)−1) agrees with float64 to float32 rounding."""
    ref, fast = _pair(cell, dtype=torch.float32)
    x = torch.randn(8, 30, 5, dtype=F64)
    w = torch.randn(8, 30, 7, dtype=F64)
    out_ref, g_ref = _grads(ref, x, w)
    out_fast, g_fast = _grads(fast, x, w)
    torch.testing.assert_close(out_fast.double(), out_ref, rtol=1e-5, atol=1e-5)
    for a, b in zip(g_fast, g_ref, strict=True):
        assert ((a.double() - b).abs().max() / b.abs().max()).item() < 1e-4
