"""Layers, stacks and backends: explicit against torch.nn's fused modules; initialisation schemes."""

import math

import pytest
import torch

from rnnbench.config import ConfigError, RunConfig
from rnnbench.models import build_model
from rnnbench.tasks import TASKS


def _grads(model, x):
    out = model(x)
    w = torch.randn_like(out, generator=torch.Generator().manual_seed(1))
    (out * w).sum().backward()
    return out.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True), (3, False)])
@pytest.mark.parametrize("task", ["copy", "adding"])
def test_explicit_matches_fused_in_float64(cell, layers, bidirectional, task):
    t = TASKS[task]
    x, _ = t.generate(3, 6, torch.Generator().manual_seed(0))
    x = x.double()
    kw = dict(hidden_size=5, num_layers=layers, bidirectional=bidirectional, reset_after=True, seed=3)
    fused = build_model(t, cell, backend="fused", **kw)
    for backend in ("explicit", "explicit-premul", "explicit-bptt"):
        ours = build_model(t, cell, backend=backend, **kw)
        out_a, g_a = _grads(ours, x)
        out_b, g_b = _grads(fused, x)
        torch.testing.assert_close(out_a, out_b, atol=1e-12, rtol=0)
        # parameter names differ (cells vs nn.RNN's _l0_reverse); compare in torch.nn's order
        ga = [c.weight_ih.grad for c in ours.rnn.cells()] + [ours.head.weight.grad]
        gb = [c.weight_ih.grad for c in fused.rnn.cells()] + [fused.head.weight.grad]
        for a, b in zip(ga, gb, strict=True):
            torch.testing.assert_close(a, b, atol=1e-11, rtol=0)
        for name in ("weight_hh", "bias_ih", "bias_hh"):
            for ca, cb in zip(ours.rnn.cells(), fused.rnn.cells(), strict=True):
                torch.testing.assert_close(getattr(ca, name).grad, getattr(cb, name).grad, atol=1e-11, rtol=0)
        fused.zero_grad()


def test_same_seed_same_weights_across_backends_and_dtype():
    t = TASKS["adding"]
    a = build_model(t, "lstm", 8, 2, True, "explicit-premul", seed=7, init="orthogonal", forget_bias=1.0)
    b = build_model(t, "lstm", 8, 2, True, "fused", seed=7, init="orthogonal", forget_bias=1.0)
    for ca, cb in zip(a.rnn.cells(), b.rnn.cells(), strict=True):
        assert torch.equal(ca.weight_hh, cb.weight_hh) and torch.equal(ca.bias_ih, cb.bias_ih)
    c = build_model(t, "lstm", 8, 2, True, "explicit-premul", seed=8)
    assert not torch.equal(a.rnn.cells()[0].weight_ih, c.rnn.cells()[0].weight_ih)


def test_fused_refuses_the_notes_gru():
    with pytest.raises(ValueError, match="reset"):
        build_model(TASKS["adding"], "gru", 4, backend="fused", reset_after=False)
    with pytest.raises(ConfigError, match="fused"):
        RunConfig(cell="gru", backend="fused", reset_after=False)


def test_gaussian_init_spectral_radius_is_the_gain():
    H = 400
    m = build_model(TASKS["adding"], "rnn", H, init="gaussian", init_gain=1.5, seed=0)
    w = m.rnn.cells()[0].weight_hh.detach()
    assert w.std().item() == pytest.approx(1.5 / math.sqrt(H), rel=0.02)
    radius = torch.linalg.eigvals(w).abs().max().item()
    assert radius == pytest.approx(1.5, rel=0.05)  # circular law


def test_orthogonal_init_singular_values_are_the_gain():
    m = build_model(TASKS["adding"], "lstm", 16, init="orthogonal", init_gain=0.8, seed=0)
    for block in m.rnn.cells()[0].weight_hh.detach().split(16):
        s = torch.linalg.svdvals(block)
        torch.testing.assert_close(s, torch.full_like(s, 0.8))


def test_default_init_gain_scales_w_hh():
    a = build_model(TASKS["adding"], "rnn", 8, init_gain=1.0, seed=0).rnn.cells()[0].weight_hh
    b = build_model(TASKS["adding"], "rnn", 8, init_gain=2.0, seed=0).rnn.cells()[0].weight_hh
    torch.testing.assert_close(b, 2 * a)
    assert a.abs().max() <= 1 / math.sqrt(8)


def test_forget_bias_sets_the_forget_gate_bias():
    H = 6
    for backend in ("explicit-premul", "fused"):
        m = build_model(TASKS["adding"], "lstm", H, 2, backend=backend, forget_bias=2.0, seed=0)
        for c in m.rnn.cells():
            total = (c.bias_ih + c.bias_hh).detach()
            torch.testing.assert_close(total[H : 2 * H], torch.full((H,), 2.0))  # gate order i, f, g, o
            assert not torch.allclose(total[:H], torch.full((H,), 2.0))


@pytest.mark.parametrize("backend", ["explicit", "explicit-premul"])
def test_time_loop_iterates_over_unbind_not_indexing(backend):
    """Indexing x[:, t] in the loop makes each backward step allocate a full-size zero gradient
    (O(T²)); the graph must hold one UnbindBackward and no per-step SelectBackward."""
    m = build_model(TASKS["adding"], "lstm", 4, backend=backend, seed=0)
    x, _ = TASKS["adding"].generate(2, 30, torch.Generator().manual_seed(0))
    out = m(x.double().requires_grad_())
    kinds, seen, stack = [], set(), [out.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        kinds.append(type(fn).__name__)
        stack.extend(f for f, _ in fn.next_functions)
    assert kinds.count("UnbindBackward0") == 1
    assert sum("Select" in k for k in kinds) <= 1  # the head reads h[:, -1] once
