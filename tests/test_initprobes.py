"""The paper-scale probes with complex_RNN's LSTM (peephole, learned initial states) and ``first_below``,
the first distance at which ‖∂L/∂h_t‖ falls below a level (Arjovsky et al. 2016: 1e−23 within ~550 steps)."""

import math
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from rnnbench.core.models import build_model
from rnnbench.core.tasks import TASKS
from rnnbench.study.pipeline.initprobes import first_below, probe_configs, run_init_probes, summarise_probes
from rnnbench.training.config import ConfigError

REPO = Path(__file__).resolve().parents[1]
THEIRS = {"init": "xavier", "forget_bias": 1.0, "peephole": True, "learn_initial_state": True}
SPEC = dict(
    task="adding", length=40, hidden=6, batch=3, cells=["rnn", "lstm", "gru"], seeds=[0, 1],
    inits={"theirs": THEIRS, "ours": {"init": "xavier", "forget_bias": 1.0}},
)  # fmt: skip


def test_their_lstm_options_apply_to_the_lstm_only_and_are_checked():
    for label, cfg in probe_configs(SPEC):
        theirs = label == "theirs" and cfg.cell == "lstm"
        assert (cfg.peephole, cfg.learn_initial_state) == (theirs, theirs), (label, cfg.cell)
    with pytest.raises(ConfigError, match="init_probes bad lstm seed 0: peephole must be true or false, got 'yes'"):
        probe_configs({**SPEC, "inits": {"bad": {"init": "xavier", "peephole": "yes"}}})


def test_a_user_cell_is_probed_under_the_labels_that_leave_it_its_own_initialisation():
    spec = {**SPEC, "cells": ["lstm", "torch.nn:GRUCell"], "seeds": [0],
            "inits": {"theirs": THEIRS, "pytorch": {"init": "default"}, "gain": {"init": "default", "init_gain": 2.0}}}  # fmt: skip
    probed = [(label, cfg.cell) for label, cfg in probe_configs(spec)]
    assert probed == [("theirs", "lstm"), ("pytorch", "lstm"), ("pytorch", "torch.nn:GRUCell"), ("gain", "lstm")]
    table = run_init_probes({**spec, "inits": {"pytorch": {"init": "default"}}})
    assert set(table["cell"]) == {"lstm", "torch.nn:GRUCell"} and (table["grad_norm"] > 0).all()


def test_the_schema_takes_the_options_and_the_default_study_probes_their_lstm():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    for name in ("config", "smoke"):
        config = yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())
        jsonschema.validate(config, schema)
        paper = {cfg.cell: cfg for label, cfg in probe_configs(config["init_probes"]) if label == "paper"}
        assert paper["lstm"].peephole and paper["lstm"].learn_initial_state, name
        assert not paper["rnn"].peephole and not paper["gru"].learn_initial_state, name
    bad = {**config, "init_probes": {**config["init_probes"], "inits": {"paper": {"init": "xavier", "peephole": 1}}}}
    with pytest.raises(jsonschema.ValidationError, match="peephole|1 is not of type 'boolean'"):
        jsonschema.validate(bad, schema)


def _their_lstm_norms(seed: int, T: int, H: int, B: int) -> np.ndarray:
    """‖∂L/∂h_t‖ (batch mean, t = 0..T-1) of complex_RNN's LSTM at initialisation, written out here from its
    equations (Arjovsky et al. 2016's models.py) on the weights the seed builds: the probe's reference."""
    task = TASKS["adding"]
    model = build_model(task, "lstm", H, init="xavier", forget_bias=1.0, seed=seed,
                        cell_options={"peephole": True, "learn_initial_state": True}).double()  # fmt: skip
    (cell,) = model.rnn.cells()
    x, y = task.generate(B, T, torch.Generator().manual_seed(seed))
    x, y = x.double(), y.double()
    h, c = cell.initial_h.expand(B, H), cell.initial_c.expand(B, H)
    hs = []
    for t in range(T):
        a = x[:, t] @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
        i, f, g, o = a.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o + c @ cell.weight_co.T) * torch.tanh(c)  # the peephole: V_o c_t
        h.retain_grad()
        hs.append(h)
    task.loss(model.head(h).squeeze(-1), y).backward()
    return np.array([s.grad.norm(dim=1).mean().item() for s in hs])


def test_their_lstm_probe_is_their_equations_and_not_ours():
    table = run_init_probes(SPEC)
    assert set(table.groupby(["init_label", "cell"])["peephole"].first().items()) == {
        (("theirs", "lstm"), True), (("theirs", "rnn"), False), (("theirs", "gru"), False),
        (("ours", "lstm"), False), (("ours", "rnn"), False), (("ours", "gru"), False),
    }  # fmt: skip
    assert (table["learn_initial_state"] == table["peephole"]).all()
    for seed in SPEC["seeds"]:
        ref = _their_lstm_norms(seed, SPEC["length"], SPEC["hidden"], SPEC["batch"])
        pick = lambda label: table[(table["init_label"] == label) & (table["cell"] == "lstm") & (table["seed"] == seed)]  # noqa: E731
        np.testing.assert_allclose(pick("theirs").sort_values("t")["grad_norm"], ref, rtol=1e-10)
        assert not np.allclose(pick("ours").sort_values("t")["grad_norm"], ref, rtol=1e-3)  # the peephole matters
    s = summarise_probes(table)
    assert set(s[s["cell"] == "lstm"].groupby("init_label")["peephole"].first().items()) == {
        ("theirs", True),
        ("ours", False),
    }


def _frame(seed: int, norms, label="paper", cell="lstm") -> pd.DataFrame:
    T = len(norms)
    return pd.DataFrame({"init_label": label, "cell": cell, "seed": seed, "t": np.arange(T),
                         "distance": np.arange(T)[::-1], "grad_norm": norms})  # fmt: skip


def test_first_below_from_the_definition():
    d = np.arange(100)[::-1]  # row t holds distance T-1-t, as the probe table does
    geometric = 0.1 * 0.8**d  # below 1e-5 once 0.8^d < 1e-4: d > 4 / log10(1.25) = 41.3
    dip = np.where(d == 7, 1e-30, 1.0)  # the smallest distance below the level, not the last
    never = np.full(100, 1e-3)
    zeros = np.where(d >= 60, 0.0, 1.0)  # an exact 0 (float64 underflow) is below any level
    table = pd.concat([_frame(3, geometric), _frame(0, dip), _frame(1, never), _frame(2, zeros),
                       _frame(0, never, cell="rnn"), _frame(0, dip, label="other")])  # fmt: skip
    got = first_below(table, "paper", "lstm", level=1e-5)
    assert got == {0: 7, 1: None, 2: 60, 3: 42} and list(got) == [0, 1, 2, 3]
    assert first_below(table, "paper", "rnn", level=1e-5) == {0: None}
    assert first_below(table, "paper", "lstm")[0] == 7  # the default level is the paper's 1e-23
    with pytest.raises(ValueError, match=r"no probes of init label 'paper' and cell 'gru'; the table has"):
        first_below(table, "paper", "gru")
    for bad in (0, -1e-23, math.inf, math.nan, True, "1e-23"):
        with pytest.raises(ValueError, match="level must be a positive finite number"):
            first_below(table, "paper", "lstm", level=bad)


def test_first_below_on_a_real_probe_of_their_lstm():
    """``first_below`` on the probe table is the first crossing of the reference written out from their
    equations: at a level between its norms near and far from the loss, and (None) below its smallest."""
    spec = {**SPEC, "cells": ["lstm"], "inits": {"paper": THEIRS}}
    table = run_init_probes(spec)
    for seed in spec["seeds"]:
        by_distance = _their_lstm_norms(seed, spec["length"], spec["hidden"], spec["batch"])[::-1]
        level = math.sqrt(by_distance[0] * by_distance[-1])
        crossing = int(np.argmax(by_distance < level))
        assert 0 < crossing < spec["length"] - 1  # inside the sequence, not at an end
        assert first_below(table, "paper", "lstm", level)[seed] == crossing
        assert first_below(table, "paper", "lstm", by_distance.min() / 2)[seed] is None


def test_figure_1b_names_the_peephole_in_the_lstm_legend_only():
    from rnnbench.study.figures.literature import fig1b_gradflow_paper_scale

    fig = fig1b_gradflow_paper_scale(run_init_probes({**SPEC, "length": 12, "seeds": [0]}))
    legends = {
        ax.get_title(): [t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes if ax.get_legend()
    }
    assert [("peephole" in text) for text in legends["LSTM"]] == [True, False]  # theirs, ours
    assert not any("peephole" in text for title, texts in legends.items() if title != "LSTM" for text in texts)
