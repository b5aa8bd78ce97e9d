"""Gradient-flow probes against closed forms, finite differences and Pascanu's bound."""

import numpy as np
import pytest
import torch

from rnnbench.core.cells import RNNCell
from rnnbench.core.layers import RecurrentLayer, StateRecorder
from rnnbench.core.models import build_model
from rnnbench.core.tasks import TASKS
from rnnbench.training.probes import decay_rate, pascanu_bounds, probe, state_gradient_records, summarise


class LinearRNNCell(RNNCell):
    """h_t = W_hh h_{t-1} + W_xh x_t + b: the identity activation, for closed forms."""

    def step(self, gx, h=None):
        if h is None:
            h = self.zero_state(gx)
        return torch.addmm(gx, h, self.weight_hh.t())


def test_linear_rnn_gradient_is_a_matrix_power():
    """L = v·h_{T−1} (one example): ∂L/∂h_t = (W_hhᵀ)^{T−1−t} v."""
    T, H = 12, 5
    cell = LinearRNNCell(3, H)
    layer = RecurrentLayer(cell)
    x = torch.randn(1, T, 3)
    v = torch.randn(H)
    recorder = StateRecorder()
    out, _ = layer(x, recorder=recorder)  # (1, T, H)
    (out[0, -1] @ v).backward()
    W = cell.weight_hh.detach()
    for t, h in enumerate(recorder.h[(0, 0)]):
        want = torch.linalg.matrix_power(W.T, T - 1 - t) @ v
        torch.testing.assert_close(h.grad[0], want, atol=1e-12, rtol=1e-10)
    recs = state_gradient_records(recorder, step=0)
    assert [r["t"] for r in recs] == list(range(T))
    assert recs[0]["distance"] == T - 1 and recs[-1]["distance"] == 0
    np.testing.assert_allclose(
        [r["grad_norm"] for r in recs],
        [torch.linalg.matrix_power(W.T, T - 1 - t).matmul(v).norm().item() for t in range(T)],
    )


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("task", ["adding", "copy"])
def test_probe_matches_finite_differences(cell, task):
    """⟨∂L/∂h_t, u⟩ = (L(h_t + εu) − L(h_t − εu)) / 2ε, the perturbation injected into the loop."""
    t_task = TASKS[task]
    model = build_model(t_task, cell, 4, seed=1, backend="explicit-premul")
    x, y = t_task.generate(3, 6, torch.Generator().manual_seed(2))
    x, y = x.double(), (y.double() if y.is_floating_point() else y)
    loss, records = probe(model, x, y)
    recorder = StateRecorder()
    t_task.loss(model(x, recorder=recorder), y).backward()
    layer = model.rnn.layers[0][0]
    T = x.shape[1]

    def loss_with(t_perturbed, delta):
        gx = layer.cell.project_input(x).unbind(1)
        state, outs = None, []
        for t, g in enumerate(gx):
            state = layer.cell.step(g, state)
            if t == t_perturbed:
                state = (state[0] + delta, state[1]) if isinstance(state, tuple) else state + delta
            outs.append(state[0] if isinstance(state, tuple) else state)
        h = torch.stack(outs, 1)
        out = model.head(h) if t_task.per_step_output else model.head(h[:, -1]).squeeze(-1)
        return t_task.loss(out, y).item()

    eps = 1e-6
    for t in (0, T // 2, T - 1):
        u = torch.randn(3, 4, generator=torch.Generator().manual_seed(t))
        fd = (loss_with(t, eps * u) - loss_with(t, -eps * u)) / (2 * eps)
        analytic = (recorder.h[(0, 0)][t].grad * u).sum().item()
        assert fd == pytest.approx(analytic, rel=1e-6, abs=1e-10)
    # the records are per-example norms of those gradients, averaged over the batch
    norms = [r["grad_norm"] for r in records if r["state"] == "h"]
    want = [recorder.h[(0, 0)][t].grad.norm(dim=1).mean().item() for t in range(T)]
    np.testing.assert_allclose(norms, want, rtol=1e-12)
    assert loss == pytest.approx(t_task.loss(model(x), y).item())


def test_lstm_probe_records_cell_state_gradients():
    model = build_model(TASKS["adding"], "lstm", 4, 2, True, seed=0)
    x, y = TASKS["adding"].generate(2, 7, torch.Generator().manual_seed(0))
    _, records = probe(model, x.double(), y.double())
    keys = {(r["layer"], r["direction"], r["state"]) for r in records}
    assert keys == {(l, d, s) for l in (0, 1) for d in (0, 1) for s in ("h", "c")}
    assert len(records) == 8 * 7


def test_vanilla_rnn_decay_stays_under_pascanu_bound():
    """σ_max(W_hh) < 1 with tanh (γ = 1): ‖∂L/∂h_t‖ ≤ η^{distance}·‖∂L/∂h_{T−1}‖ on the adding task."""
    model = build_model(TASKS["adding"], "rnn", 32, init="orthogonal", init_gain=0.9, seed=0)
    (bound,) = pascanu_bounds(model)
    assert bound["eta"] == pytest.approx(0.9)
    x, y = TASKS["adding"].generate(16, 60, torch.Generator().manual_seed(0))
    _, records = probe(model, x.double(), y.double())
    last = records[-1]["grad_norm"]
    for r in records:
        assert r["grad_norm"] <= bound["eta"] ** r["distance"] * last * (1 + 1e-9)
    (summary,) = summarise(records, model)
    assert summary["factor"] < bound["eta"] and summary["pascanu_eta"] == pytest.approx(0.9)


def test_float64_probe_shows_what_float32_underflows():
    """A strongly contracting RNN over a long sequence: float32 gradients underflow to exact 0
    (flagged); the float64 probe of the same model still sees tiny, non-zero numbers."""
    torch.set_default_dtype(torch.float32)
    model = build_model(TASKS["adding"], "rnn", 16, init="orthogonal", init_gain=0.05, seed=0)
    x, y = TASKS["adding"].generate(4, 120, torch.Generator().manual_seed(0))
    _, rec32 = probe(model, x, y)
    _, rec64 = probe(model, x, y, dtype=torch.float64)
    assert any(r["underflow"] for r in rec32)
    assert not any(r["underflow"] for r in rec64)
    assert min(r["grad_norm"] for r in rec64) < 1e-60


def test_fused_model_is_probed_through_an_explicit_twin():
    t = TASKS["adding"]
    x, y = t.generate(3, 9, torch.Generator().manual_seed(0))
    fused = build_model(t, "lstm", 5, 2, backend="fused", seed=4)
    ours = build_model(t, "lstm", 5, 2, backend="explicit-premul", seed=4)
    _, rf = probe(fused, x.double(), y.double(), dtype=torch.float64)
    _, ro = probe(ours, x.double(), y.double())
    np.testing.assert_allclose([r["grad_norm"] for r in rf], [r["grad_norm"] for r in ro], rtol=1e-10)
    assert all(p.grad is None for p in fused.parameters())  # the twin took the backward, not the model


def test_decay_rate_fits_a_geometric_sequence():
    d = np.arange(50)
    fit = decay_rate(d, 3.0 * 0.8**d)
    assert fit["factor"] == pytest.approx(0.8) and fit["points"] == 50
    with_zero = decay_rate(d, np.where(d > 40, 0.0, 0.8**d))
    assert with_zero["excluded"] == 9 and with_zero["factor"] == pytest.approx(0.8)
