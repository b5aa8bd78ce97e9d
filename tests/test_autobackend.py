"""``--backend auto``: the same model as the explicit backend, its probes, and the choice recorded.

Each cell form trains with ``auto`` and with ``explicit-premul`` from the same seed: the losses agree
to float rounding (a fused kernel sums in another order) and the probes report the same ‖∂L/∂h_t‖.
"""

import dataclasses
import math

import pytest
import torch
import yaml

from rnnbench.core.backends import TRAINING_BACKENDS
from rnnbench.study.pipeline.sweep import expand, train_jobs, variant_of
from rnnbench.training.autobackend import AUTO, CPU, CUDA, choose, concrete_backend
from rnnbench.training.batched import PER_RUN_FIELDS, STACKABLE_BACKENDS, train_runs
from rnnbench.training.config import ConfigError, RunConfig
from rnnbench.training.stacking import can_stack
from rnnbench.training.train import train

FORMS = [("rnn", False), ("lstm", False), ("gru", False), ("gru", True), ("orthogonal", False)]
# Glorot + forget bias 1 (the paper-cpu study's init) and RMSprop with value clipping, on both tasks
SMALL = dict(length=12, hidden=16, batch=8, steps=40, eval_every=20, eval_batch=50, clip=1.0, probe_at=(0, 20, -1))


@pytest.fixture(autouse=True)
def _float32():
    torch.set_default_dtype(torch.float32)


def _pair(**fields):
    auto = train(RunConfig(backend=AUTO, **fields))
    explicit = train(RunConfig(backend="explicit-premul", **fields))
    return auto, explicit


@pytest.mark.parametrize("task", ["adding", "copy"])
@pytest.mark.parametrize("cell,reset_after", FORMS)
def test_auto_trains_the_explicit_model(task, cell, reset_after):
    fields = dict(SMALL, task=task, cell=cell, reset_after=reset_after, optimizer="rmsprop", clip_mode="value")
    # xavier where it applies (the orthogonal RNN has its own init only)
    fields |= dict(init="default" if cell == "orthogonal" else "xavier", forget_bias=1.0 if cell == "lstm" else None)
    auto, explicit = _pair(**fields)
    assert auto["backend_used"] == choose(cell, reset_after, "cpu").single
    assert explicit["backend_used"] == "explicit-premul"
    # the same losses, step by step, within float32 rounding (40 RMSprop steps let it grow a little)
    la = torch.tensor([c["loss"] for c in auto["curve"]])
    le = torch.tensor([c["loss"] for c in explicit["curve"]])
    torch.testing.assert_close(la, le, rtol=1e-4, atol=1e-5)
    assert auto["final_loss"] == pytest.approx(explicit["final_loss"], rel=1e-4, abs=1e-6)
    # the probes: same records, the same norms (float64 probes on twins of nearly the same weights)
    keys = ("step", "layer", "direction", "state", "t")
    assert [tuple(r[k] for k in keys) for r in auto["gradflow"]] == [
        tuple(r[k] for k in keys) for r in explicit["gradflow"]
    ]
    ga = torch.tensor([r["grad_norm"] for r in auto["gradflow"]], dtype=torch.float64)
    ge = torch.tensor([r["grad_norm"] for r in explicit["gradflow"]], dtype=torch.float64)
    at_init = torch.tensor([r["step"] == 0 for r in auto["gradflow"]])
    torch.testing.assert_close(ga[at_init], ge[at_init], rtol=1e-12, atol=0)  # same weights: same float64 probe
    torch.testing.assert_close(ga, ge, rtol=1e-3, atol=0)  # later: weights apart by float32 rounding


def test_notes_gru_never_runs_on_a_fused_kernel():
    for device in ("cpu", "cuda"):
        assert choose("gru", False, device).single in ("explicit", "explicit-premul", "explicit-bptt")
        assert concrete_backend(AUTO, "gru", False, device) != "fused"
    # asked for explicitly, fused is refused for the notes' GRU; auto falls back instead
    with pytest.raises(ConfigError, match="reset_after"):
        RunConfig(cell="gru", backend="fused")
    r = train(RunConfig(cell="gru", backend=AUTO, length=6, hidden=8, steps=3, probe_at=()))
    assert r["backend_used"] == "explicit-premul" and r["status"] == "ok"


def test_every_choice_is_a_backend_that_builds_that_model():
    for table in (CPU, CUDA):
        assert set(table) == {"rnn", "lstm", "gru", "gru-reset-after", "orthogonal"}
        for choice in table.values():
            assert choice.single in TRAINING_BACKENDS and choice.measured


def test_auto_picks_cudnn_on_cuda():
    # the choice needs no GPU to check; training on CUDA does (skipped below without one)
    assert [concrete_backend(AUTO, c, r, "cuda") for c, r in FORMS] == [
        "fused",
        "fused",
        "explicit-premul",
        "fused",
        "explicit-premul",
    ]


@pytest.mark.cuda
def test_auto_on_cuda_records_cudnn():
    r = train(RunConfig(cell="lstm", backend=AUTO, device="cuda", length=10, hidden=16, steps=5, probe_at=(0, -1)))
    assert r["backend_used"] == "fused" and r["env"]["device"] == "cuda"


def test_stacks_only_where_the_table_says_a_stack_wins():
    base = RunConfig(backend=AUTO, length=8, hidden=16, batch=4, steps=6, eval_every=3, probe_at=(0, -1))
    for cell, reset_after in FORMS:
        cfg = dataclasses.replace(base, cell=cell, reset_after=reset_after)
        assert can_stack(cfg.to_dict(), STACKABLE_BACKENDS) == choose(cell, reset_after, "cpu").stack
        records = train_runs([dataclasses.replace(cfg, seed=s) for s in range(2)], progress=False)
        expected = "stacked" if choose(cell, reset_after, "cpu").stack else choose(cell, reset_after, "cpu").single
        assert [r["backend_used"] for r in records] == [expected] * 2
        # a stacked run gets the result it gets alone with auto (float rounding aside)
        alone = train(dataclasses.replace(cfg, seed=1))
        assert records[1]["final_loss"] == pytest.approx(alone["final_loss"], rel=1e-5, abs=1e-7)
        assert all(math.isfinite(r["final_loss"]) for r in records)


def test_paper_cpu_config_plans_40_runs_with_per_cell_sizes():
    config = yaml.safe_load(open("config/paper-cpu.yaml"))
    runs = expand(config)
    assert len(runs) == config["max_runs"] == 40
    copy = {(rid.split("/")[0], r["cell"]): r["hidden"] for rid, r in runs.items() if r["task"] == "copy"}
    assert copy == {
        ("task~copy", "rnn"): 80,
        ("task~copy", "lstm"): 40,
        ("task~copy", "gru"): 47,
        ("variants", "lstm"): 40,
    }
    theirs = [r for rid, r in runs.items() if variant_of(rid) == "arjovsky-lstm"]
    assert len(theirs) == 6 and all(r["peephole"] and r["train_set"] == 100_000 for r in theirs)
    assert all(r["optimizer"] == "rmsprop-complexrnn" and r["steps"] == 20_000 for r in theirs)
    irnn = [r for rid, r in runs.items() if variant_of(rid) == "irnn"]
    assert len(irnn) == 4 and all(r["nonlinearity"] == "relu" and r["init"] == "identity" for r in irnn)
    assert {r["hidden"] for r in runs.values() if r["task"] == "adding" and r["init"] == "xavier"} == {128}
    jobs = train_jobs(runs, config["runs_per_job"], config["runs_per_stack"], PER_RUN_FIELDS, STACKABLE_BACKENDS)
    assert sorted(rid for members in jobs.values() for rid in members) == sorted(runs)


def test_their_lstm_under_auto_trains_explicit_and_stacks_its_seeds():
    """complex_RNN's LSTM has no fused kernel: auto trains it on our cells, its seeds stacked (2.5x one alone)."""
    cfg = RunConfig(
        cell="lstm", backend=AUTO, length=8, hidden=16, batch=4, steps=6, eval_every=3, probe_at=(0, -1),
        peephole=True, learn_initial_state=True, optimizer="rmsprop-complexrnn", train_set=40,
    )  # fmt: skip
    assert can_stack(cfg.to_dict(), STACKABLE_BACKENDS) and not can_stack(
        RunConfig(cell="lstm", backend=AUTO).to_dict()
    )
    records = train_runs([dataclasses.replace(cfg, seed=s) for s in range(2)], progress=False)
    assert [r["backend_used"] for r in records] == ["stacked"] * 2
    alone = train(dataclasses.replace(cfg, seed=1))
    assert alone["backend_used"] == "explicit-premul"
    assert records[1]["final_loss"] == pytest.approx(alone["final_loss"], rel=1e-5, abs=1e-7)
