"""Arjovsky et al. 2016's training as their code (amarshah/complex_RNN) has it: the LSTM with the
peephole V_o and learned initial states, their RMSprop, and a fixed training set cycled in order.

The references are written here from their code, not from ours: ``complex_rnn_lstm`` transcribes
``models.LSTM``'s ``recurrence`` (their matrices act on the right, x_t W, one matrix per gate),
``complex_rnn_rmsprop`` transcribes ``optimizations.rms_prop``.
"""

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from rnnbench.core.backends import Unsupported
from rnnbench.core.cells import CELLS, SPECS, LSTMCell
from rnnbench.core.layers import FusedStack
from rnnbench.core.models import build_model
from rnnbench.core.stacked import StackedModel
from rnnbench.core.tasks import TASKS
from rnnbench.training.config import ConfigError, RunConfig
from rnnbench.training.dataset import FixedSet, their_step
from rnnbench.training.optimizers import OPTIMIZERS
from rnnbench.training.train import train

I, H, B, T = 2, 6, 3, 9
EXPLICIT = ("explicit", "explicit-premul", "explicit-bptt")
THEIRS = {"peephole": True, "learn_initial_state": True}


def complex_rnn_lstm(x, W, U, V_o, b, h_0, state_0, out_mat, out_bias):
    """complex_RNN's LSTM with a real input and one output from the last step (loss 'MSE', out_every_t
    False). x: (T, B, I) as their scan takes it; W, U, b: dicts over the gates i, f, c, o of (I, H),
    (H, H), (H,); h_0, state_0: (1, H), tiled over the batch."""
    h_prev = h_0.expand(x.shape[1], -1)
    state_prev = state_0.expand(x.shape[1], -1)
    for x_t in x:
        input_t = torch.sigmoid(x_t @ W["i"] + h_prev @ U["i"] + b["i"])
        candidate_t = torch.tanh(x_t @ W["c"] + h_prev @ U["c"] + b["c"])
        forget_t = torch.sigmoid(x_t @ W["f"] + h_prev @ U["f"] + b["f"])
        state_t = input_t * candidate_t + forget_t * state_prev
        output_t = torch.sigmoid(x_t @ W["o"] + h_prev @ U["o"] + state_t @ V_o + b["o"])
        h_t = output_t * torch.tanh(state_t)
        h_prev, state_prev = h_t, state_t
    return h_prev @ out_mat + out_bias  # (B, 1)


def their_parameters(model) -> dict:
    """Our model's weights in complex_RNN's layout: torch.nn's gate rows i, f, g(= their c), o,
    transposed to act on the right; the two biases summed (their one bias per gate)."""
    cell = model.rnn.cells()[0]
    gates = "ifco"
    W = dict(zip(gates, cell.weight_ih.split(H, 0), strict=True))
    U = dict(zip(gates, cell.weight_hh.split(H, 0), strict=True))
    b = dict(zip(gates, (cell.bias_ih + cell.bias_hh).split(H, 0), strict=True))
    return {
        "W": {k: w.t() for k, w in W.items()},
        "U": {k: u.t() for k, u in U.items()},
        "V_o": cell.weight_co.t(),
        "b": b,
        "h_0": cell.initial_h.unsqueeze(0),
        "state_0": cell.initial_c.unsqueeze(0),
        "out_mat": model.head.weight.t(),
        "out_bias": model.head.bias,
    }


def _their_lstm(backend: str, seed: int = 3):
    model = build_model(
        TASKS["adding"], "lstm", H, backend=backend, init="xavier", forget_bias=1.0, seed=seed, cell_options=THEIRS
    )
    with torch.no_grad():  # learned states start at 0 (as theirs); move them so the test sees them used
        for p in (model.rnn.cells()[0].initial_h, model.rnn.cells()[0].initial_c):
            p.normal_(0, 0.5)
    return model


@pytest.mark.parametrize("backend", EXPLICIT)
def test_their_lstm_equals_a_transcription_of_complex_rnn(backend):
    model = _their_lstm(backend)
    x = torch.rand(B, T, I)
    ours = model(x)  # (B,)
    params = their_parameters(model)
    theirs = complex_rnn_lstm(x.transpose(0, 1), **params).squeeze(-1)
    torch.testing.assert_close(ours, theirs, atol=1e-13, rtol=0)
    w = torch.randn(B)
    leaves = [p for p in model.parameters()]
    g_ours = torch.autograd.grad((ours * w).sum(), leaves)
    g_theirs = torch.autograd.grad((theirs * w).sum(), leaves)
    for name, a, b in zip([n for n, _ in model.named_parameters()], g_ours, g_theirs, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0, msg=name)


def test_stacked_their_lstms_equal_each_run_alone():
    models = [_their_lstm("explicit-premul", seed) for seed in (0, 1)]
    stack = StackedModel(models)
    x = torch.rand(2, B, T, I)
    out = stack(x)  # (M, B)
    for m, model in enumerate(models):
        torch.testing.assert_close(out[m], model(x[m]), atol=1e-13, rtol=0)
        unstacked = stack.unstack(m)
        torch.testing.assert_close(unstacked(x[m]), model(x[m]), atol=0, rtol=0)


@pytest.mark.parametrize("options", [THEIRS, {"peephole": True}, {"learn_initial_state": True}])
def test_their_lstm_cell_passes_gradcheck(options):
    cell = LSTMCell(I, H, **options)
    with torch.no_grad():
        for p in cell.parameters():
            p.normal_(0, 0.5)
    x = torch.randn(B, I, requires_grad=True)
    params = tuple(cell.parameters())

    def f(x, *ps):
        out = torch.func.functional_call(
            cell, dict(zip([n for n, _ in cell.named_parameters()], ps, strict=True)), (x,)
        )
        return torch.cat([out[0], out[1]], -1)  # h_t, c_t from the initial state (learned or zeros)

    assert torch.autograd.gradcheck(f, (x, *params))


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_learned_initial_state_is_used_and_trained_for_every_cell(cell):
    model = build_model(TASKS["adding"], cell, H, seed=0, cell_options={"learn_initial_state": True})
    plain = build_model(TASKS["adding"], cell, H, seed=0)
    c = model.rnn.cells()[0]
    assert torch.count_nonzero(c.initial_h) == 0  # zeros, as complex_RNN's h_0
    x = torch.rand(B, T, I)
    torch.testing.assert_close(model(x), plain(x), atol=0, rtol=0)  # zeros: the plain model exactly
    model(x).sum().backward()
    assert c.initial_h.grad is not None and c.initial_h.grad.abs().sum() > 0
    with torch.no_grad():
        c.initial_h.fill_(0.3)
    assert not torch.equal(model(x), plain(x))


@pytest.mark.parametrize("backend", ["explicit-premul", "explicit-bptt"])
def test_options_draw_after_every_other_weight(backend):
    plain = build_model(TASKS["adding"], "lstm", H, backend=backend, init="xavier", seed=5)
    theirs = build_model(TASKS["adding"], "lstm", H, backend=backend, init="xavier", seed=5, cell_options=THEIRS)
    mine = dict(theirs.named_parameters())
    for name, p in plain.named_parameters():
        assert torch.equal(p, mine[name]), name
    bound = (6.0 / (2 * H)) ** 0.5  # Glorot for an (H, H) matrix, as complex_RNN's V_o
    v = theirs.rnn.cells()[0].weight_co
    assert v.abs().max() <= bound and v.abs().max() > 0.8 * bound


def test_same_seed_same_weights_on_every_explicit_backend():
    states = [
        build_model(TASKS["adding"], "lstm", H, backend=b, seed=2, cell_options=THEIRS).state_dict() for b in EXPLICIT
    ]
    for other in states[1:]:
        assert other.keys() == states[0].keys()
        for k in states[0]:
            assert torch.equal(other[k], states[0][k]), k


@pytest.mark.parametrize("option", sorted(THEIRS))
def test_fused_kernels_refuse_complex_rnn_options_by_name(option):
    with pytest.raises(Unsupported, match=f"'fused' with {option}=True"):
        build_model(TASKS["adding"], "lstm", H, backend="fused", cell_options={option: True})
    with pytest.raises(ConfigError, match=f"{option}=True is not allowed"):
        RunConfig(backend="fused", **{option: True})
    cfg = RunConfig(backend="auto", **{option: True})  # auto never picks the fused kernel for them
    assert (
        train(dataclasses.replace(cfg, steps=2, length=5, hidden=4, batch=2, eval_batch=4))["backend_used"] != "fused"
    )


@pytest.mark.parametrize("option", sorted(THEIRS))
def test_fused_stack_itself_refuses_their_options_and_keeps_the_relu(option):
    """FusedStack takes cell_options for the IRNN's ReLU (torch.nn.RNN's own argument), not theirs."""
    with pytest.raises(ValueError, match=f"{option}=True is not allowed on torch.nn's fused LSTM"):
        FusedStack("lstm", I, H, cell_options={option: True})
    rnn = FusedStack("rnn", I, H, cell_options={"nonlinearity": "relu", option: False}).rnn
    assert isinstance(rnn, nn.RNN) and rnn.nonlinearity == "relu"


def test_peephole_is_refused_for_other_cells():
    with pytest.raises(ConfigError, match="peephole True does not apply to cell 'gru'"):
        RunConfig(cell="gru", peephole=True)
    with pytest.raises(ConfigError, match="train_set must be"):
        RunConfig(train_set=-1)


def test_options_off_keep_the_config_hash():
    assert RunConfig().config_hash() == "c2450df67905"  # as test_initialisation pins it
    cfg = RunConfig(peephole=True)
    assert cfg.to_dict()["peephole"] is True and RunConfig.from_dict(cfg.to_dict()) == cfg


def test_torch_nn_export_refuses_their_parameters():
    model = build_model(TASKS["adding"], "lstm", H, cell_options=THEIRS)
    with pytest.raises(ValueError, match="no peephole and no learned initial state"):
        model.torch_state_dict()


# ---- their RMSprop ----


def complex_rnn_rmsprop(p, grads, lr):
    """optimizations.rms_prop: ms from 1e-3; ms = 0.9 ms + 0.1 g²; p = p − lr g / √ms (the new ms)."""
    ms = torch.full_like(p, 1e-3)
    for g in grads:
        ms = 0.9 * ms + 0.1 * g**2
        p = p - lr * g / torch.sqrt(ms)
    return p


def test_their_rmsprop_equals_its_formula():
    p0 = torch.randn(4, 5)
    grads = [torch.randn(4, 5) * s for s in (1.0, 0.01, 3.0, 0.1, 1e-4)]
    p = nn.Parameter(p0.clone())
    opt = OPTIMIZERS["rmsprop-complexrnn"]([p], 1e-3, 0)
    for g in grads:
        p.grad = g.clone()
        opt.step()
    torch.testing.assert_close(p.detach(), complex_rnn_rmsprop(p0, grads, 1e-3), atol=1e-15, rtol=0)
    torch_p = nn.Parameter(p0.clone())  # and torch's RMSprop is another rule (ms from 0, ε outside)
    torch_opt = OPTIMIZERS["rmsprop"]([torch_p], 1e-3, 0)
    for g in grads:
        torch_p.grad = g.clone()
        torch_opt.step()
    assert (torch_p - p).abs().max() > 1e-4


# ---- a fixed training set, cycled in order ----


def test_fixed_set_is_drawn_once_from_the_seed_and_cycled_in_order():
    task, N, L = TASKS["adding"], 10, 6
    data = FixedSet(task, N, L, torch.Generator().manual_seed(4), "cpu", torch.float64)
    x_all, y_all = task.generate(N, L, torch.Generator().manual_seed(4), "cpu")
    xs, ys = zip(*(data.take(4) for _ in range(5)), strict=True)  # 20 sequences: twice round, in order
    rows = torch.arange(20) % N
    torch.testing.assert_close(torch.cat(xs), x_all[rows].double(), atol=0, rtol=0)
    torch.testing.assert_close(torch.cat(ys), y_all[rows].double(), atol=0, rtol=0)
    assert data.cursor == 0


@pytest.mark.parametrize("order, other", [("cycled", "their-shuffle"), ("their-shuffle", "cycled")])
def test_fixed_set_run_resumes_at_its_place_in_the_schedule(tmp_path, monkeypatch, order, other):
    import rnnbench.training.loop as loop_module

    torch.set_default_dtype(torch.float32)
    cfg = RunConfig(length=5, hidden=4, batch=3, steps=12, eval_every=4, train_set=7, train_order=order, probe_at=())
    reference = train(cfg)
    real_save = loop_module.save_checkpoint

    class Crash(Exception):
        pass

    def save_then_crash(*args, **kwargs):
        real_save(*args, **kwargs)
        raise Crash  # killed right after the first checkpoint (step 5: cursor 15 mod 7 = 1)

    monkeypatch.setattr(loop_module, "save_checkpoint", save_then_crash)
    ckpt = tmp_path / "run.ckpt"
    with pytest.raises(Crash):
        train(cfg, checkpoint=ckpt, checkpoint_every=5)
    monkeypatch.setattr(loop_module, "save_checkpoint", real_save)
    resumed = train(cfg, checkpoint=ckpt, checkpoint_every=5)
    assert resumed["resumed_from_step"] == 5
    assert resumed["curve"] == reference["curve"] and resumed["eval_curve"] == reference["eval_curve"]
    fresh = train(dataclasses.replace(cfg, train_set=0, train_order="cycled"))
    assert fresh["curve"] != reference["curve"]  # the fixed set is not the fresh batches
    assert train(dataclasses.replace(cfg, train_order=other))["curve"] != reference["curve"]  # nor the other order


def complex_rnn_batches(data_x, data_y, n_iter, n_batch, permutations):
    """complex_RNN's training loop, adding_problem.py lines 114-123 (memory_problem.py 106-114 is the
    same), transcribed with its data held sample-first (theirs is time-major, ``data_x[:, inds, :]``)
    and ``np.random.permutation`` replaced by the given draws; ``train(i % num_batches)`` reads rows
    ``n_batch * index : n_batch * (index + 1)`` of the shuffled shared variables (their ``givens``,
    lines 95-96). Returns the batches it would train on, in order."""
    n_train = len(data_x)
    num_batches = n_train / n_batch
    batches = []
    draws = iter(permutations)
    for i in range(n_iter):
        if n_iter % int(num_batches) == 0:
            inds = next(draws)
            data_x = data_x[inds]  # s_train_x.set_value(data_x[:,inds,:])
            data_y = data_y[inds]  # s_train_y.set_value(data_y[inds,:])
        index = i % int(num_batches)
        batches.append(
            (data_x[n_batch * index : n_batch * (index + 1)], data_y[n_batch * index : n_batch * (index + 1)])
        )
    return batches


@pytest.mark.parametrize("task_name", ["adding", "copy"])
def test_their_shuffle_takes_the_batches_of_their_loop(task_name):
    """Same permutation draws -> the same batches as complex_RNN's loop (their bug included: the set is
    reshuffled before every step, cumulatively), from the fixed set drawn from the run's generator."""
    task, N, L, B, n_iter = TASKS[task_name], 60, 6, 12, 15  # num_batches 5: n_iter % 5 == 0, as their defaults
    data = FixedSet(task, N, L, torch.Generator().manual_seed(3), "cpu", torch.float64, order="their-shuffle")
    twin = torch.Generator().manual_seed(3)  # the same draws: the set, then one permutation per step
    x_all, y_all = task.generate(N, L, twin, "cpu")
    permutations = [torch.randperm(N, generator=twin).numpy() for _ in range(n_iter)]
    theirs = complex_rnn_batches(x_all.double().numpy(), y_all.numpy(), n_iter, B, permutations)
    for x_theirs, y_theirs in theirs:
        x, y = data.take(B)
        np.testing.assert_array_equal(x.numpy(), x_theirs)
        np.testing.assert_array_equal(y.numpy(), y_theirs)
    # row indices too: their loop's rows of an index column, against the schedule's own
    ids = complex_rnn_batches(np.arange(N), np.arange(N), n_iter, B, permutations)
    order = torch.arange(N)
    for i, (rows_theirs, _) in enumerate(ids):
        order, rows = their_step(order, torch.from_numpy(permutations[i]), i, B)
        np.testing.assert_array_equal(rows.numpy(), rows_theirs)


def test_their_shuffle_is_a_fresh_batch_each_step_and_deterministic_per_seed():
    task, N, L, B = TASKS["adding"], 50, 4, 10

    def make(seed: int) -> FixedSet:
        return FixedSet(task, N, L, torch.Generator().manual_seed(seed), "cpu", torch.float32, order="their-shuffle")

    a, b, c = make(0), make(0), make(1)
    rows_a = [a.rows(B) for _ in range(20)]
    assert all(torch.equal(r, b.rows(B)) for r in rows_a)  # the same seed: the same schedule
    assert not all(torch.equal(r, c.rows(B)) for r in rows_a)
    assert all(len(set(r.tolist())) == B for r in rows_a)  # without replacement within a batch
    cycled = [torch.arange(B * i, B * (i + 1)) % N for i in range(20)]
    assert sum(torch.equal(r, q) for r, q in zip(rows_a, cycled, strict=True)) == 0  # not in order
    assert len({x for r in rows_a[:5] for x in r.tolist()}) < N  # five batches need not cover the set


def test_train_order_is_refused_where_it_cannot_apply():
    with pytest.raises(ConfigError, match="train_order 'their-shuffle' applies only to a fixed training set"):
        RunConfig(train_order="their-shuffle")
    with pytest.raises(ConfigError, match="train_order 'sorted' is not allowed"):
        RunConfig(train_set=100, train_order="sorted")
    with pytest.raises(ConfigError, match="train_set 7 is smaller than a batch \\(8\\)"):
        RunConfig(train_set=7, batch=8, train_order="their-shuffle")
    cfg = RunConfig(train_set=100, train_order="their-shuffle")
    assert cfg.to_dict()["train_order"] == "their-shuffle" and "train_order" not in RunConfig(train_set=100).to_dict()


# ---- their options through training: stacks, probes, every cell ----


@pytest.mark.parametrize("cell", sorted(c for c, s in SPECS.items() if s.stackable))  # the orthogonal RNN: no stack
def test_batched_runs_with_their_options_equal_their_single_runs(cell):
    """Runs of a stack (rnnbench.core.stacked) with learned initial states, the peephole (LSTM) and a
    fixed training set train as each run alone; probes (in the step and on a float64 copy) see them."""
    from rnnbench.training.batched import train_batched

    peephole = {"peephole": True} if cell == "lstm" else {}
    base = dict(task="adding", cell=cell, length=8, hidden=5, batch=6, steps=4, eval_every=2, eval_batch=20,
                learn_initial_state=True, train_set=10, train_order="their-shuffle", probe_at=(0, -1),
                **peephole)  # fmt: skip
    cfgs = [RunConfig(**base, seed=s, optimizer="rmsprop-complexrnn") for s in (0, 1)]
    batched = train_batched(cfgs)  # the stack rounds otherwise than the single run: close, not equal
    for s, b in zip([train(c) for c in cfgs], batched, strict=True):
        assert s["config"] == b["config"] and s["status"] == b["status"] == "ok"
        assert s["final_loss"] == pytest.approx(b["final_loss"], rel=1e-6)
        assert len(s["gradflow"]) == len(b["gradflow"]) > 0
