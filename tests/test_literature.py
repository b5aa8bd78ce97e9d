"""The literature studies: paper-scale probes, the depth study, and verdicts only at matched settings."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from rnnbench.core.models import build_model
from rnnbench.core.tasks import TASKS
from rnnbench.study.claims.literature import NOT_AT_SCALE, paper_scale_claims, training_claims
from rnnbench.study.pipeline.initprobes import probe_configs, run_init_probes, summarise_probes
from rnnbench.study.pipeline.sweep import depth_runs, parse_run_id
from rnnbench.study.report.gradients import depth_table
from rnnbench.training.config import ConfigError
from rnnbench.training.probes import probe

REPO = Path(__file__).resolve().parents[1]
SPEC = dict(
    task="adding", length=12, hidden=6, batch=3, cells=["rnn", "lstm", "gru"], seeds=[0, 1],
    inits={"paper": {"init": "xavier", "forget_bias": 1.0}, "pytorch": {"init": "default"}},
)  # fmt: skip


def test_probe_configs_apply_the_forget_bias_to_the_lstm_only_and_refuse_by_name():
    cfgs = probe_configs(SPEC)
    assert len(cfgs) == 2 * 3 * 2
    for label, cfg in cfgs:
        assert cfg.dtype == "float64"
        assert cfg.forget_bias == (1.0 if label == "paper" and cfg.cell == "lstm" else None)
    with pytest.raises(ConfigError, match="init_probes bad lstm seed 0: init 'identity' does not apply"):
        probe_configs({**SPEC, "inits": {"bad": {"init": "identity"}}})
    with pytest.raises(ConfigError, match="unknown key"):
        probe_configs({**SPEC, "inits": {"bad": {"init": "xavier", "gain": 2}}})


def test_init_probes_are_the_probe_of_the_model_the_seed_builds():
    """Each row is ‖∂L/∂h_t‖ of the model build_model gives for that init and seed, on the batch the seed
    draws: recomputed here with the probe directly."""
    table = run_init_probes(SPEC)
    assert len(table) == 2 * 3 * 2 * SPEC["length"]
    t = TASKS["adding"]
    m = build_model(t, "lstm", 6, init="xavier", forget_bias=1.0, seed=1).double()
    x, y = t.generate(3, 12, torch.Generator().manual_seed(1))
    _, rec = probe(m, x.double(), y.double())
    ref = [r["grad_norm"] for r in rec if r["state"] == "h"]
    got = table[(table["init_label"] == "paper") & (table["cell"] == "lstm") & (table["seed"] == 1)]
    np.testing.assert_array_equal(got.sort_values("t")["grad_norm"].to_numpy(), ref)


def _profile(label, cell, seed, norms, T=None, H=128, init="xavier"):
    T = T or len(norms)
    return pd.DataFrame({
        "init_label": label, "cell": cell, "seed": seed, "task": "adding", "length": T, "hidden": H, "batch": 20,
        "init": init, "init_gain": 1.0, "forget_bias": 1.0 if cell == "lstm" else np.nan,
        "t": np.arange(T), "distance": np.arange(T)[::-1], "grad_norm": norms, "underflow": np.asarray(norms) == 0,
    })  # fmt: skip


def test_summary_decades_and_underflow_from_the_definition():
    T = 50
    d = np.arange(T)[::-1]
    geometric = 0.1 * 0.8**d  # loses 49·log10(1/0.8) decades, ×0.8 per step
    cut = np.where(d > 40, 0.0, geometric)
    s = summarise_probes(pd.concat([_profile("a", "rnn", 0, geometric), _profile("a", "rnn", 1, cut)]))
    s = s.set_index("seed")
    assert s.loc[0, "decades_lost"] == pytest.approx(49 * math.log10(1 / 0.8), rel=1e-12)
    assert s.loc[0, "factor"] == pytest.approx(0.8, rel=1e-12) and pd.isna(s.loc[0, "first_underflow"])
    assert s.loc[1, "decades_lost"] == math.inf and s.loc[1, "first_underflow"] == 41


def _rnn_probes(decades: list[float], T=1000, H=128, init="xavier") -> pd.DataFrame:
    d = np.arange(T)[::-1]
    return pd.concat(
        [_profile("paper", "rnn", s, 0.1 * 10 ** (-k * d / (T - 1)), T, H, init) for s, k in enumerate(decades)]
    )


def test_the_arjovsky_verdict_is_drawn_only_at_their_settings():
    verdict = lambda probes: paper_scale_claims(probes)[0][-1]  # noqa: E731
    assert verdict(_rnn_probes([8, 20, 11])) == "agrees"  # 13 decades inside the seeds' range
    assert verdict(_rnn_probes([15, 20, 30])) == "disagrees"
    assert verdict(_rnn_probes([8, 20], T=30)) == NOT_AT_SCALE  # another length
    assert verdict(_rnn_probes([8, 20], H=32)) == NOT_AT_SCALE  # another width
    assert verdict(_rnn_probes([8, 20], init="default")) == NOT_AT_SCALE  # another initialisation
    lstm = _profile("paper", "lstm", 0, 0.1 * 0.9 ** np.arange(1000)[::-1])
    rows = paper_scale_claims(pd.concat([_rnn_probes([8, 20]), lstm]))
    assert rows[1][-1].startswith("not comparable (the model differs")


def _sweep_runs(task, lengths, **fields):
    rows = []
    for cell in ("rnn", "lstm", "gru"):
        for T in lengths:
            solved = cell != "rnn"
            rows.append({
                "study": "sweep", "task": task, "cell": cell, "length": T, "clip": np.nan, "seed": 0,
                "status": "ok", "solved": solved, "loss_ratio": 0.01 if solved else 1.0, "hidden": 32,
                "optimizer": "adam", "lr": 0.01, "batch": 32, "steps": 1000, "init": "default", **fields,
            })  # fmt: skip
    runs = pd.DataFrame(rows)
    runs["clipping"] = "no clipping"
    return runs


def test_trained_claims_get_a_verdict_only_at_the_papers_settings():
    ours = training_claims(_sweep_runs("adding", [10, 50]), 0.5)
    assert [row[-1] for row in ours] == [NOT_AT_SCALE, NOT_AT_SCALE]
    theirs = _sweep_runs("adding", [100, 200], optimizer="rmsprop", init="xavier", hidden=128)
    assert training_claims(theirs, 0.5)[0][-1] == "agrees"


def test_depth_study_expands_layers_directions_cells_and_seeds():
    cfg = yaml.safe_load(open(REPO / "config" / "config.yaml"))
    runs = depth_runs(cfg)
    d = cfg["depth"]
    assert len(runs) == len(d["cells"]) * len(d["layers"]) * len(d["bidirectional"]) * len(d["seeds"])
    rid = "depth/task~adding/length~20/cell~lstm/layers~4/bidirectional~true/seed~1"
    assert runs[rid]["layers"] == 4 and runs[rid]["bidirectional"] is True and runs[rid]["steps"] == 300
    assert parse_run_id(rid)[0] == "depth"


def test_smoke_config_covers_every_new_study():
    smoke = yaml.safe_load(open(REPO / "config" / "smoke.yaml"))
    assert smoke["depth"] and smoke["init_probes"]
    assert len(smoke["depth"]["layers"]) > 1 and True in smoke["depth"]["bidirectional"]


def test_depth_table_ratio_and_decay_from_exact_profiles():
    """Two layers with exact geometric profiles a_l·r_l^distance: the table's input/top is a_0/a_1 and
    its decay per layer is the fit recorded for that layer."""
    T, rows = 20, []
    for layer, (a, r) in enumerate([(0.01, 0.7), (0.1, 0.9)]):
        for t in range(T):
            rows.append({
                "run": "depth/x", "study": "depth", "cell": "rnn", "state": "h", "step": 0, "layer": layer,
                "direction": 0, "t": t, "distance": T - 1 - t, "grad_norm": a * r ** (T - 1 - t), "decay_factor": r,
            })  # fmt: skip
    gradflow = pd.DataFrame(rows)
    runs = pd.DataFrame([{"run": "depth/x", "study": "depth", "layers": 2, "bidirectional": False, "steps": 5}])
    d = depth_table(gradflow, runs).set_index("layer")
    assert d.loc[0, "decay_factor"] == 0.7 and d.loc[1, "decay_factor"] == 0.9
    # median over t of log10(a_0 r_0^k / (a_1 r_1^k)), k = 0..19: the median of a linear sequence in k
    k = np.arange(T)
    expected = np.median(np.log10(0.01 / 0.1) + k * np.log10(0.7 / 0.9))
    assert d.loc[0, "rel"] == pytest.approx(expected, rel=1e-12)


def test_state_norms_read_tiny_gradients_instead_of_zero():
    """A plain 2-norm squares its entries: at 1e-170 the squares leave float64's range and the norm reads
    0, which the paper-scale probes would report as an underflow ~450 orders too early."""
    from rnnbench.training.probes import state_norms

    tiny = torch.full((2, 3, 8), 1e-170, dtype=torch.float64)
    assert torch.linalg.vector_norm(tiny, dim=-1).max() == 0  # the failure this guards against
    torch.testing.assert_close(state_norms(tiny), torch.full((2, 3), 1e-170 * math.sqrt(8)), rtol=1e-14, atol=0)
    assert (state_norms(torch.zeros(2, 3, 8)) == 0).all()
    usual = torch.randn(4, 5, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.equal(state_norms(usual), torch.linalg.vector_norm(usual, dim=-1))  # bit for bit above 1e-140
