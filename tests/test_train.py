"""The training loop: explosion and clipping as in Pascanu 2013, divergence as data, determinism."""

import json
import math

import pytest
import torch

from rnnbench.training.config import ConfigError, RunConfig
from rnnbench.training.train import train

# The measured configuration: vanilla RNN, gaussian init gain 1.5, H=64, adding T=50, SGD lr 0.05.
EXPLODING = dict(
    task="adding", cell="rnn", length=50, hidden=64, init="gaussian", init_gain=1.5, optimizer="sgd", lr=0.05, batch=32
)


@pytest.fixture(autouse=True)
def _float32():
    torch.set_default_dtype(torch.float32)


def test_sgd_without_clipping_diverges_and_keeps_its_curve():
    r = train(RunConfig(**EXPLODING, steps=300, clip=None, eval_every=1000))
    assert r["status"] == "diverged"
    assert r["diverged_step"] is not None and r["diverged_step"] <= 60
    assert len(r["curve"]) == r["diverged_step"] + 1  # the curve up to and including the bad step
    bad = r["curve"][-1]
    assert not (math.isfinite(bad["loss"]) and math.isfinite(bad["grad_norm"]))
    assert math.isfinite(r["last_finite_grad_norm"]) and r["last_finite_grad_norm"] > 10
    assert not r["solved"]
    json.dumps(r, allow_nan=True)  # serialisable


def test_norm_clipping_keeps_the_same_run_finite():
    r = train(RunConfig(**EXPLODING, steps=300, clip=1.0, eval_every=1000))
    assert r["status"] == "ok" and r["steps_run"] == 300
    assert all(math.isfinite(c["loss"]) for c in r["curve"])
    assert r["clip_fraction"] > 0.5  # the explosion is there; clipping catches it
    assert math.isfinite(r["final_loss"]) and r["final_loss"] < 0.5


def test_adam_hides_the_explosion():
    r = train(RunConfig(**{**EXPLODING, "optimizer": "adam", "lr": 1e-3}, steps=300, clip=None, eval_every=1000))
    assert r["status"] == "ok"


def test_same_seed_same_result_bit_for_bit():
    cfg = RunConfig(task="copy", cell="gru", length=5, hidden=16, steps=20, eval_every=10, eval_batch=50)
    a, b = train(cfg), train(cfg)
    for key in ("curve", "eval_curve", "gradflow", "decay", "final_loss", "accuracy"):
        assert a[key] == b[key]
    c = train(RunConfig(**{**cfg.to_dict(), "seed": 1, "probe_at": (0, -1)}))
    assert c["curve"] != a["curve"]


def test_result_record_holds_curve_probes_and_provenance():
    cfg = RunConfig(task="adding", cell="lstm", length=20, hidden=8, steps=30, eval_every=10, probe_at=(0, 10, -1))
    r = train(cfg)
    assert r["config"] == cfg.to_dict() and r["config_hash"] == cfg.config_hash()
    assert [e["step"] for e in r["eval_curve"]] == [10, 20, 30]
    assert {g["step"] for g in r["gradflow"]} == {0, 10, 30}
    assert {g["state"] for g in r["gradflow"]} == {"h", "c"}
    assert {"step", "loss", "grad_norm", "clipped"} <= set(r["curve"][0])
    assert r["baseline_loss"] == pytest.approx(1 / 6) and r["loss_ratio"] == pytest.approx(r["final_loss"] * 6)
    assert r["throughput_seq_per_s"] > 0 and r["train_seconds"] <= r["wall_seconds"]
    for key in ("torch", "python", "device_name", "git_commit", "torch_threads"):
        assert r["env"][key]


def test_probe_in_training_dtype_matches_the_float64_probe_in_a_float64_run():
    base = dict(task="adding", cell="gru", length=15, hidden=6, steps=3, dtype="float64", probe_at=(0, 2, -1))
    in_step = train(RunConfig(**base, probe_dtype="same"))
    separate = train(RunConfig(**base, probe_dtype="float64", backend="explicit"))
    a = [g["grad_norm"] for g in in_step["gradflow"]]
    b = [g["grad_norm"] for g in separate["gradflow"]]
    assert a == pytest.approx(b, rel=1e-9)


def test_fused_backend_trains_and_is_probed():
    r = train(RunConfig(task="adding", cell="lstm", length=10, hidden=8, steps=20, backend="fused"))
    assert r["status"] == "ok" and r["gradflow"]


def test_lstm_learns_adding_at_a_short_length():
    """A sanity check that training works at all: T=10 is learned well below the baseline."""
    r = train(RunConfig(task="adding", cell="lstm", length=10, hidden=32, batch=64, steps=400, lr=1e-2, eval_every=100))
    assert r["status"] == "ok" and r["loss_ratio"] < 0.2, r["loss_ratio"]


@pytest.mark.parametrize(
    "bad,match",
    [
        ({"cell": "tcn"}, "cell 'tcn'"),
        ({"task": "parity"}, "task 'parity'"),
        ({"length": 0}, "length"),
        ({"steps": 0}, "steps"),
        ({"clip": 0.0}, "clip"),
        ({"clip": -1.0}, "clip"),
        ({"lr": 0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"hidden": 2.5}, "hidden"),
        ({"optimizer": "lbfgs"}, "optimizer 'lbfgs'"),
        ({"backend": "cudnn"}, "backend 'cudnn'"),
        ({"probe_at": (5000,)}, "probe_at"),
    ],
)
def test_bad_config_is_refused_by_name(bad, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig(**bad)


def test_unknown_key_is_refused():
    with pytest.raises(ConfigError, match="'hiden'"):
        RunConfig.from_dict({"hiden": 3})
