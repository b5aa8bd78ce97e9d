"""REPORT.md's Findings (rnnbench.study.report.findings) are computed from the tables: fed the smoke study's tables they
say what those tables hold, and fed altered tables they say something else; a phenomenon the tables lack gets
no sentence. (The paper reports' findings: tests/test_claims.py.)

tests/data/findings holds the smoke study's runs, gradflow and init_probes tables (`snakemake --cores 2
--configfile config/smoke.yaml`, one seed per configuration)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from rnnbench.study.claims import registry
from rnnbench.study.report.findings import FIGURE_1, findings_section

DATA = Path(__file__).resolve().parent / "data" / "findings"
FIGURES = {FIGURE_1, "fig2_exploding_gains", "fig3_clipping", "fig4_length_sweep_loss", "fig7_depth"}


@pytest.fixture
def data() -> dict:
    return {
        "runs": pd.read_csv(DATA / "runs.csv"),
        "gradflow": pd.read_csv(DATA / "gradflow.csv.gz"),
        "init_probes": pd.read_csv(DATA / "init_probes.csv"),
    }


def findings(data: dict) -> dict[str, str]:
    """The Findings section's sentences by their bold label ('Vanishing', 'Depth', ...)."""
    text = findings_section(data, "adding", 0.5, FIGURES, "figures/fig1_gradflow_cells.png")
    return {m.group(1): m.group(0) for m in re.finditer(r"^- \*\*([^*]+?)\.?\*\*.*$", text, re.M)}


def test_the_smoke_tables_give_a_sentence_per_phenomenon_with_numbers_seeds_verdict_and_links(data):
    found = findings(data)
    assert list(found) == [
        "Vanishing", "Gates", "Exploding", "Clipping", "Lengths each cell learns", "Depth", "The literature",
    ]  # fmt: skip
    assert "Copy contrast" not in found  # no orthogonal RNN on the copy task in the smoke study
    # the decay table's tanh RNN at initialisation: T = 5 0.724, T = 10 0.666
    assert "shrinks ×0.666–0.724 per step" in found["Vanishing"] and "(adding T ∈ {5, 10}, 1 seed)" in found["Vanishing"]
    assert "**agrees** with " + registry.VANISHING.source in found["Vanishing"]
    assert (
        "[table](#measured-gradient-decay-per-step)" in found["Vanishing"]
        and "[figure 1](#findings)" in found["Vanishing"]
    )
    assert "at gain 3 it grows ×1.14 per step; at gain 0.5 it shrinks ×0.483 per step" in found["Exploding"]
    assert "sgd lr 0.05: 1/1 unclipped (step 30), 0/1 clipped at 1" in found["Clipping"]
    assert "**agrees**" in found["Clipping"] and "[figure 3](#fig3_clipping)" in found["Clipping"]
    assert "adding: tanh RNN none, LSTM none, GRU none" in found["Lengths each cell learns"]
    assert (
        "tanh RNN 0.911×, LSTM 0.773×, GRU 0.735×" in found["Depth"]
        and "**shrinks going down the stack**" in found["Depth"]
    )
    assert (
        "Of 13 published claims: 5 agree, 5 not comparable at this scale, 2 not run, 1 not at the paper's budget"
        in found["The literature"]
    )


def _sweep_rnn_init(gf: pd.DataFrame) -> pd.Series:
    return (gf["study"] == "sweep") & (gf["task"] == "adding") & (gf["cell"] == "rnn") & (gf["step"] == 0)


def test_altered_decay_factors_change_the_vanishing_and_gates_sentences(data):
    gf = data["gradflow"]
    gf.loc[_sweep_rnn_init(gf), "decay_factor"] = 0.3
    assert "shrinks ×0.3 per step" in findings(data)["Vanishing"]
    gf.loc[_sweep_rnn_init(gf), "decay_factor"] = 1.2
    assert "**disagrees** with" in findings(data)["Vanishing"]
    trained_lstm = (gf["study"] == "sweep") & (gf["task"] == "adding") & (gf["cell"] == "lstm") & (gf["step"] > 0)
    assert "the LSTM's at 0 of 2" in findings(data)["Gates"]
    gf.loc[trained_lstm & (gf["state"] == "h"), "decay_factor"] = 0.99
    assert "the LSTM's at 2 of 2" in findings(data)["Gates"] and "LSTM ×0.99" in findings(data)["Gates"]


def test_a_phenomenon_the_tables_lack_gets_no_sentence(data):
    for study in ("gains", "depth", "clipping"):
        data["runs"] = data["runs"][data["runs"]["study"] != study]
        data["gradflow"] = data["gradflow"][data["gradflow"]["study"] != study]
    found = findings(data)
    assert not {"Exploding", "Depth", "Clipping"} & set(found), list(found)
    # the literature table loses the gains and clipping claims with them
    assert (
        "Of 10 published claims: 5 not comparable at this scale, 2 agree, 2 not run, 1 not at the paper's budget"
        in found["The literature"]
    )


def test_clipping_that_does_not_save_the_run_reads_disagrees(data):
    runs = data["runs"]
    clipped_sgd = (runs["study"] == "clipping") & (runs["optimizer"] == "sgd") & runs["clip"].notna()
    runs.loc[clipped_sgd, ["status", "diverged_step"]] = ["diverged", 12]
    said = findings(data)["Clipping"]
    assert "1/1 clipped at 1 (step 12)" in said and "**disagrees**" in said


def test_solved_seeds_move_the_lengths(data):
    runs = data["runs"]
    lstm = (runs["study"] == "sweep") & (runs["task"] == "adding") & (runs["cell"] == "lstm")
    runs.loc[lstm, "solved"] = True
    assert "adding: tanh RNN none, LSTM 10, GRU none" in findings(data)["Lengths each cell learns"]


def test_the_copy_contrast_appears_with_the_orthogonal_rnns_copy_runs_and_reads_their_outcome(data):
    runs = data["runs"]
    copy = runs[(runs["study"] == "sweep") & (runs["task"] == "copy") & (runs["cell"] == "lstm")].copy()
    copy["cell"], copy["solved"], copy["loss_ratio"] = "orthogonal", True, 0.05
    copy["run"] = copy["run"].str.replace("cell~lstm", "cell~orthogonal")
    data["runs"] = pd.concat([runs, copy], ignore_index=True)
    said = findings(data)["Copy contrast"]
    assert "copy delay T = 3" in said and "orthogonal RNN (modReLU) 2/2 (loss 0.05× baseline)" in said
    assert "LSTM 0/2" in said and "**a norm-preserving recurrence carries the memory" in said
    gated = (data["runs"]["task"] == "copy") & (data["runs"]["cell"] == "gru")
    data["runs"].loc[gated, "solved"] = True
    assert "**no contrast**" in findings(data)["Copy contrast"]
