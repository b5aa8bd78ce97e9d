"""Initialisation schemes against their definitions, exact tensors; refusals; old weights unchanged."""

import hashlib
import math

import pytest
import torch

from rnnbench.cli import main
from rnnbench.core.models import build_model
from rnnbench.core.stacked import StackedModel
from rnnbench.core.tasks import TASKS
from rnnbench.training.config import ConfigError, RunConfig

ADD, COPY = TASKS["adding"], TASKS["copy"]


def _u(g: torch.Generator, shape, low: float, high: float) -> torch.Tensor:
    return torch.empty(shape, dtype=torch.float64).uniform_(low, high, generator=g)


def _digest(model) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().double().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


# Digests of the weights these arguments gave before xavier, identity and chrono existed (computed with
# commit bbd77e9's rnnbench): the older schemes must keep drawing the same numbers in the same order,
# so that every result made before stays reproducible.
PINNED = [
    (("adding", "rnn", 8, 1, False, "explicit-premul", False, "default", 1.0, None, 0), "2b68afc2ad35b87c"),
    (("copy", "lstm", 8, 2, True, "explicit-premul", False, "default", 1.0, None, 3), "c8403778b0e29602"),
    (("copy", "lstm", 8, 2, True, "fused", False, "orthogonal", 0.8, 1.0, 3), "b99e7245b15abd01"),
    (("adding", "gru", 8, 1, False, "explicit", False, "gaussian", 1.5, None, 5), "1d728fa5b58b6ef3"),
    (("adding", "gru", 8, 2, False, "fused", True, "default", 1.0, None, 5), "bb785c06508ce898"),
]


@pytest.mark.parametrize("args,digest", PINNED)
def test_older_schemes_draw_the_weights_they_always_drew(args, digest):
    torch.set_default_dtype(torch.float32)  # as the pipeline builds them (conftest restores float64)
    assert _digest(build_model(TASKS[args[0]], *args[1:])) == digest


def test_older_configs_keep_their_hash():
    # hashes from commit bbd77e9: a field added since (chrono_tmax) is left out while at its default
    assert RunConfig().config_hash() == "c2450df67905"
    cfg = RunConfig(task="copy", cell="lstm", length=10, init="orthogonal", forget_bias=1.0)
    assert cfg.config_hash() == "ef833f3b5ddf"
    assert "chrono_tmax" not in cfg.to_dict()
    chrono = RunConfig(cell="lstm", init="chrono", chrono_tmax=40)
    assert chrono.to_dict()["chrono_tmax"] == 40
    assert RunConfig.from_dict(chrono.to_dict()) == chrono


# ---- xavier: Glorot uniform per gate block ----


@pytest.mark.parametrize("cell,G", [("rnn", 1), ("lstm", 4), ("gru", 3)])
@pytest.mark.parametrize("backend", ["explicit-premul", "fused"])
def test_xavier_is_glorot_uniform_per_gate_block(cell, G, backend):
    H, L, seed = 6, 2, 11
    m = build_model(COPY, cell, H, L, True, backend, reset_after=True, init="xavier", init_gain=1.0, seed=seed)
    # the definition, written out: U(±√(6/(fan_in + fan_out))) per (H, n) block, cells in torch.nn order
    # (layer 0 fwd, layer 0 rev, layer 1 ...), W_ih's blocks then W_hh's; biases 0; then the head
    g = torch.Generator().manual_seed(seed)
    for i, c in enumerate(m.rnn.cells()):
        n_in = COPY.input_size if i < 2 else 2 * H
        w_ih = torch.cat([_u(g, (H, n_in), -math.sqrt(6 / (n_in + H)), math.sqrt(6 / (n_in + H))) for _ in range(G)])
        w_hh = torch.cat([_u(g, (H, H), -math.sqrt(6 / (2 * H)), math.sqrt(6 / (2 * H))) for _ in range(G)])
        assert torch.equal(c.weight_ih.detach(), w_ih.to(c.weight_ih.dtype))
        assert torch.equal(c.weight_hh.detach(), w_hh.to(c.weight_hh.dtype))
        assert not c.bias_ih.any() and not c.bias_hh.any()
    out, n = m.head.weight.shape
    b = math.sqrt(6 / (n + out))
    assert torch.equal(m.head.weight.detach(), _u(g, (out, n), -b, b).to(m.head.weight.dtype))
    assert not m.head.bias.any()


def test_xavier_blocks_have_glorot_variance():
    """Each block's entries have variance 2/(fan_in + fan_out), the property Glorot chose the bound for:
    W_hh (H, H) blocks 1/H, W_ih (H, I) blocks 2/(I + H)."""
    H = 128
    c = build_model(ADD, "lstm", H, init="xavier", seed=0).rnn.cells()[0]
    for block in c.weight_hh.detach().split(H):
        assert block.var().item() == pytest.approx(1 / H, rel=0.03)
    for block in c.weight_ih.detach().split(H):
        assert block.abs().max().item() <= math.sqrt(6 / (2 + H))
        assert block.abs().max().item() > 0.9 * math.sqrt(6 / (2 + H))


def test_xavier_lstm_with_forget_bias_one_is_arjovskys_lstm():
    H = 5
    m = build_model(ADD, "lstm", H, 2, init="xavier", forget_bias=1.0, seed=0)
    for c in m.rnn.cells():
        total = (c.bias_ih + c.bias_hh).detach()
        expected = torch.zeros(4 * H)
        expected[H : 2 * H] = 1.0  # gate order i, f, g, o
        assert torch.equal(total, expected)


def test_xavier_gain_scales_w_hh_only():
    a = build_model(ADD, "gru", 8, init="xavier", init_gain=1.0, seed=2).rnn.cells()[0]
    b = build_model(ADD, "gru", 8, init="xavier", init_gain=0.5, seed=2).rnn.cells()[0]
    assert torch.equal(b.weight_hh, a.weight_hh * 0.5) and torch.equal(b.weight_ih, a.weight_ih)


# ---- identity: the IRNN ----


@pytest.mark.parametrize("backend", ["explicit", "explicit-premul", "fused"])
def test_identity_is_gain_times_eye_with_zero_biases(backend):
    H = 7
    m = build_model(ADD, "rnn", H, 2, True, backend, init="identity", init_gain=0.9, seed=4)
    d = build_model(ADD, "rnn", H, 2, True, backend, init="default", seed=4)
    for c in m.rnn.cells():
        assert torch.equal(c.weight_hh.detach(), 0.9 * torch.eye(H))
        assert not c.bias_ih.any() and not c.bias_hh.any()
    # W_ih is drawn as the default's, first in the same order: the first cell's are the same numbers
    # (later ones differ: identity draws nothing for W_hh, where the default draws H² numbers)
    assert torch.equal(m.rnn.cells()[0].weight_ih, d.rnn.cells()[0].weight_ih)
    assert m.head.weight.abs().max() <= 1 / math.sqrt(2 * H)


def test_identity_rnn_carries_the_gradient_unchanged_where_tanh_is_linear():
    """W_hh = I and zero input weights: h stays 0, tanh'(0) = 1, so ∂h_T/∂h_t = I and every step's
    gradient norm equals the last one's (the IRNN's point, here with tanh at the origin)."""
    from rnnbench.training.probes import probe

    m = build_model(ADD, "rnn", 8, init="identity", seed=0).double()
    with torch.no_grad():
        m.rnn.cells()[0].weight_ih.zero_()
    x, y = ADD.generate(4, 30, torch.Generator().manual_seed(0))
    _, rec = probe(m, x.double(), y.double())
    norms = torch.tensor([r["grad_norm"] for r in rec if r["state"] == "h"])
    torch.testing.assert_close(norms, norms[-1].expand_as(norms), rtol=1e-12, atol=0)


# ---- chrono ----


@pytest.mark.parametrize("backend", ["explicit-premul", "fused"])
def test_chrono_lstm_biases_are_log_uniform_and_opposite(backend):
    H, tmax, seed = 6, 50, 3
    m = build_model(ADD, "lstm", H, 2, False, backend, init="chrono", chrono_tmax=tmax, seed=seed)
    d = build_model(ADD, "lstm", H, 2, False, backend, init="default", seed=seed)
    # the definition: default draws for each cell (W_ih, b_ih, b_hh, W_hh), then H draws u ~ U[1, T_max − 1];
    # b_f = log u, b_i = −log u (bias_hh's rows 0, so the gate sees exactly these)
    g = torch.Generator().manual_seed(seed)
    for c in m.rnn.cells():
        bound = 1 / math.sqrt(H)
        _u(g, c.weight_ih.shape, -bound, bound)
        b_ih = _u(g, (4 * H,), -bound, bound)
        b_hh = _u(g, (4 * H,), -bound, bound)
        _u(g, c.weight_hh.shape, -bound, bound)
        log_u = _u(g, (H,), 1.0, tmax - 1.0).log()
        expected = b_ih + b_hh
        expected[:H] = -log_u
        expected[H : 2 * H] = log_u
        torch.testing.assert_close((c.bias_ih + c.bias_hh).detach(), expected, rtol=0, atol=1e-15)
        assert torch.equal(c.bias_ih[H : 2 * H].detach(), log_u)
        assert torch.equal(c.bias_ih[:H].detach(), -log_u)
        assert not c.bias_hh[: 2 * H].any()
        assert (log_u >= 0).all() and (log_u <= math.log(tmax - 1)).all()
    # each cell's own draws come first; the first cell's weights are the default's
    assert torch.equal(m.rnn.cells()[0].weight_hh, d.rnn.cells()[0].weight_hh)


@pytest.mark.parametrize("reset_after", [False, True])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_chrono_keep_fraction_is_u_over_one_plus_u_in_either_form(cell, reset_after):
    """Behaviour, not layout: with every weight and the candidate's bias zeroed, one step from the state
    1 with zero input keeps exactly σ(log u) = u/(1+u) of it (LSTM: c, through f; GRU: h, through z in
    torch's form and 1 − z in the notes'); so the sign convention of each GRU form is right."""
    H, tmax = 64, 30
    m = build_model(ADD, cell, H, init="chrono", chrono_tmax=tmax, seed=0, reset_after=reset_after).double()
    c = m.rnn.cells()[0]
    cand = 2  # the candidate's row block: LSTM i, f, g, o -> g; GRU r, z, n -> n
    keep_rows = slice(H, 2 * H)
    log_u = c.bias_ih[keep_rows].detach().clone()
    if cell == "gru" and not reset_after:
        log_u = -log_u
    with torch.no_grad():
        c.weight_ih.zero_()
        c.weight_hh.zero_()
        c.bias_ih[cand * H : (cand + 1) * H] = 0.0
        c.bias_hh[cand * H : (cand + 1) * H] = 0.0
    x = torch.zeros(1, 2, dtype=torch.float64)
    ones = torch.ones(1, H, dtype=torch.float64)
    u = log_u.exp()
    assert ((u >= 1) & (u <= tmax - 1)).all() and u.std() > 1  # spread over [1, T_max − 1]
    if cell == "lstm":
        _, c1 = c(x, (ones, ones))
        torch.testing.assert_close(c1[0], u / (1 + u), rtol=1e-12, atol=0)
    else:
        h1 = c(x, ones)
        torch.testing.assert_close(h1[0], u / (1 + u), rtol=1e-12, atol=0)


def test_chrono_tmax_defaults_to_the_steps_the_network_sees():
    assert RunConfig(task="copy", cell="lstm", length=10, init="chrono").chrono_range() == 30
    assert RunConfig(task="adding", cell="gru", length=100, init="chrono").chrono_range() == 100
    assert RunConfig(task="adding", cell="gru", length=100, init="chrono", chrono_tmax=7).chrono_range() == 7
    assert RunConfig(task="adding", cell="gru", length=100).chrono_range() is None


# ---- the same seed, the same weights: every backend and the stacked (batched) training ----


@pytest.mark.parametrize(
    "cell,kw",
    [
        ("rnn", dict(init="identity", init_gain=1.0)),
        ("lstm", dict(init="xavier", forget_bias=1.0)),
        ("lstm", dict(init="chrono", chrono_tmax=20)),
        ("gru", dict(init="chrono", chrono_tmax=20)),
        ("gru", dict(init="xavier")),
    ],
)
def test_same_seed_same_weights_on_every_backend(cell, kw):
    models = [
        build_model(ADD, cell, 8, 2, True, backend, reset_after=True, seed=9, **kw)
        for backend in ("explicit", "explicit-premul", "explicit-bptt", "fused")
    ]
    for other in models[1:]:
        for ca, cb in zip(models[0].rnn.cells(), other.rnn.cells(), strict=True):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                assert torch.equal(getattr(ca, name), getattr(cb, name)), name
        assert torch.equal(models[0].head.weight, other.head.weight)


def test_stacked_training_holds_each_runs_own_initialisation():
    """batched.train_batched builds each run with build_model and stacks them: run m of the stack has
    the weights its single run gets (here runs of one stack differing in init and seed)."""
    kws = [dict(init="xavier", seed=0), dict(init="chrono", chrono_tmax=12, seed=1), dict(init="default", seed=2)]
    singles = [build_model(ADD, "lstm", 16, **kw) for kw in kws]
    stack = StackedModel([build_model(ADD, "lstm", 16, **kw) for kw in kws])
    for m, single in enumerate(singles):
        for k, v in single.state_dict().items():
            assert torch.equal(stack.unstack(m).state_dict()[k], v), k


def test_batched_run_with_new_inits_equals_its_single_run():
    from rnnbench.training.batched import train_batched
    from rnnbench.training.train import train

    base = dict(task="adding", cell="lstm", length=8, hidden=16, batch=6, steps=4, eval_every=2, eval_batch=20)
    cfgs = [
        RunConfig(**base, init="xavier", forget_bias=1.0, seed=0),
        RunConfig(**base, init="chrono", seed=1),
        RunConfig(**base, init="chrono", chrono_tmax=5, seed=2),
    ]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        batched = train_batched(cfgs)
        singles = [train(c) for c in cfgs]
    finally:
        torch.set_num_threads(threads)
    for s, b in zip(singles, batched, strict=True):
        assert s["final_loss"] == b["final_loss"] and s["gradflow"] == b["gradflow"]
        assert s["config"] == b["config"]


# ---- refusals ----

REFUSED = [
    (dict(cell="lstm", init="identity"), "identity"),
    (dict(cell="gru", init="identity"), "identity"),
    (dict(cell="rnn", init="chrono"), "chrono"),
    (dict(cell="lstm", init="xavier", chrono_tmax=10), "chrono_tmax"),
    (dict(cell="lstm", init="chrono", chrono_tmax=2), "chrono_tmax"),
    (dict(cell="lstm", init="chrono", chrono_tmax=10.5), "chrono_tmax"),
    (dict(cell="lstm", init="chrono", forget_bias=1.0), "forget_bias"),
    (dict(cell="rnn", init="glorot"), "glorot"),
]


@pytest.mark.parametrize("kw,named", REFUSED, ids=[str(k) for k, _ in REFUSED])
def test_an_init_that_does_not_apply_is_refused(kw, named):
    with pytest.raises(ConfigError, match=named):
        RunConfig(**kw)


CLI_REFUSED = [
    (["--cell", "lstm", "--init", "identity"], "identity"),
    (["--cell", "rnn", "--init", "chrono"], "chrono"),
    (["--cell", "gru", "--init", "xavier", "--chrono-tmax", "9"], "chrono_tmax"),
    (["--cell", "gru", "--init", "chrono", "--chrono-tmax", "1"], "chrono_tmax"),
]


@pytest.mark.parametrize("args,named", CLI_REFUSED, ids=[" ".join(a) for a, _ in CLI_REFUSED])
@pytest.mark.parametrize("command", ["train", "gradflow"])
def test_cli_refuses_an_init_that_does_not_apply(tmp_path, capsys, command, args, named):
    out = tmp_path / "out"
    required = ["--steps", "5", "--clip", "none"] if command == "train" else []
    with pytest.raises(SystemExit) as exit_:
        main([command, "--length", "8", *required, *args, "--out", str(out)])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], lines
    assert not any(tmp_path.iterdir())
