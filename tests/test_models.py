"""Layers, stacks and backends: explicit against torch.nn's fused modules; initialisation schemes."""

import math

import pytest
import torch

from rnnbench.core.models import build_model
from rnnbench.core.tasks import TASKS
from rnnbench.training.config import ConfigError, RunConfig


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


TORCH_NN = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def _initial_state(cell, n, batch, hidden):
    g = torch.Generator().manual_seed(5)
    h0 = torch.randn(n, batch, hidden, generator=g)
    return (h0, torch.randn(n, batch, hidden, generator=g)) if cell == "lstm" else h0


def _assert_same(a, b):
    flat = lambda o: [o[0], *(o[1] if isinstance(o[1], tuple) else (o[1],))]  # noqa: E731
    for x, y in zip(flat(a), flat(b), strict=True):
        assert x.shape == y.shape
        torch.testing.assert_close(x, y, atol=1e-12, rtol=0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (1, True), (2, False), (3, True)])
@pytest.mark.parametrize("backend", ["explicit", "explicit-premul", "explicit-bptt", "fused"])
def test_weights_round_trip_with_torch_nn_in_float64(cell, layers, bidirectional, backend):
    """Our stack's weights load into torch.nn.RNN/LSTM/GRU and torch.nn's into ours; both then return the
    same (output, h_n) / (output, (h_n, c_n)), from zeros and from a given initial state."""
    from rnnbench.core.backends import BACKENDS

    I, H, B, T = 3, 4, 2, 6
    D = 2 if bidirectional else 1
    ours = BACKENDS[backend].build(cell, I, H, layers, bidirectional, True)  # reset_after=True: torch.nn's GRU
    theirs = TORCH_NN[cell](I, H, layers, batch_first=True, bidirectional=bidirectional)
    x = torch.randn(B, T, I, generator=torch.Generator().manual_seed(2))
    hx = _initial_state(cell, layers * D, B, H)

    theirs.load_state_dict(ours.torch_state_dict())  # rnnbench -> torch.nn (strict: every key, no extra)
    _assert_same(ours(x), theirs(x))
    _assert_same(ours(x, hx), theirs(x, hx))

    other = TORCH_NN[cell](I, H, layers, batch_first=True, bidirectional=bidirectional)  # fresh weights
    ours.load_torch_state_dict(other.state_dict())  # torch.nn -> rnnbench
    _assert_same(ours(x, hx), other(x, hx))
    assert not torch.equal(ours(x)[0], theirs(x)[0])  # the load did replace the weights


def test_state_dict_names_are_torch_nn_names():
    from rnnbench.core.layers import ExplicitStack

    names = set(ExplicitStack("lstm", 3, 4, 2, bidirectional=True).torch_state_dict())
    assert names == set(torch.nn.LSTM(3, 4, 2, bidirectional=True).state_dict())
    assert "weight_ih_l1_reverse" in names


def test_the_notes_gru_refuses_torch_nn_gru_weights():
    from rnnbench.core.layers import ExplicitStack

    notes = ExplicitStack("gru", 3, 4)  # reset_after=False: the notes' GRU
    with pytest.raises(ValueError, match="notes' GRU .* another model"):
        notes.load_torch_state_dict(torch.nn.GRU(3, 4, batch_first=True).state_dict())
    with pytest.raises(ValueError, match="notes' GRU .* another model"):
        notes.torch_state_dict()


def test_a_state_dict_of_another_shape_is_refused():
    from rnnbench.core.layers import ExplicitStack

    with pytest.raises(ValueError, match="missing .*weight_ih_l1"):
        ExplicitStack("rnn", 3, 4, 2).load_torch_state_dict(torch.nn.RNN(3, 4, 1).state_dict())
    with pytest.raises(RuntimeError, match="size mismatch"):
        ExplicitStack("rnn", 3, 4).load_torch_state_dict(torch.nn.RNN(3, 5).state_dict())


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_saved_model_loads_into_torch_nn_modules(tmp_path, cell):
    """The file --save-model writes: torch.nn module weights under rnn.* and head.*, read with weights_only."""
    from rnnbench.core.models import save_model

    task = TASKS["copy"]
    model = build_model(task, cell, 5, 2, True, "explicit-premul", reset_after=True, seed=4)
    save_model(tmp_path / "m.pt", model)
    sd = torch.load(tmp_path / "m.pt", weights_only=True)
    rnn = TORCH_NN[cell](task.input_size, 5, 2, batch_first=True, bidirectional=True)
    rnn.load_state_dict({k.removeprefix("rnn."): v for k, v in sd.items() if k.startswith("rnn.")})
    head = torch.nn.Linear(10, task.output_size)
    head.load_state_dict({k.removeprefix("head."): v for k, v in sd.items() if k.startswith("head.")})
    x, _ = task.generate(3, 4, torch.Generator().manual_seed(0))
    x = x.double()
    torch.testing.assert_close(head(rnn(x)[0]), model(x), atol=1e-12, rtol=0)
    again = build_model(task, cell, 5, 2, True, "fused", reset_after=True, seed=9)
    again.load_torch_state_dict(sd)
    torch.testing.assert_close(again(x), model(x), atol=1e-12, rtol=0)
