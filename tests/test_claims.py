"""The one registry of claims (rnnbench.study.claims.registry), the verdicts' intervals (rnnbench.study.claims.verdicts),
and the paper studies' trained claims judged at the papers' budgets (rnnbench.study.claims.paper_claims)."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rnnbench.study.claims import record, registry
from rnnbench.study.claims.paper_claims import batch_choices, budgets, choose_batch, claim_rows, verdict_at
from rnnbench.study.claims.verdicts import fraction_interval, judged, mean_interval, side
from rnnbench.study.pipeline.sweep import expand, variant_of

REPO = Path(__file__).resolve().parents[1]
# a paper cited by its authors and year: what only the registry may hold
CITATION = re.compile(
    r"(et al\.?|Hochreiter|Pascanu|Arjovsky|Schmidhuber|Jaitly|Lezcano|Gers|Tallec|Mikolov|Bai)[^\n]{0,40}?(19|20)\d\d"
)


def cited_outside(source: str) -> list[str]:
    """String constants of a module (docstrings and comments left out) that cite a paper."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        if CITATION.search(node.value)
    ]


def test_no_claim_is_defined_outside_the_registry():
    study = REPO / "rnnbench" / "study"
    found = {
        str(p.relative_to(study)): hits
        for p in sorted(study.rglob("*.py"))
        if p != study / "claims" / "registry.py"
        for hits in [cited_outside(p.read_text())]
        if hits
    }
    assert not found, f"papers cited outside rnnbench/study/claims/registry.py: {found}"


def test_the_scan_finds_a_claim_written_in_a_report_module():
    planted = 'ROW = ["Pascanu et al. 2013", "clipping helps"]\n\ndef f():\n    """Cites Pascanu et al. 2013 (a docstring)."""\n'
    assert cited_outside(planted) == ["Pascanu et al. 2013"]
    assert cited_outside('X = f"{registry.ARJOVSKY} (adding)"') == []


def test_every_record_is_complete_and_in_the_rule():
    assert len(registry.BY_KEY) == len(registry.CLAIMS)
    for c in registry.CLAIMS:
        assert c.source and c.says and c.settings and c.rule and c.checked_in, c.key
        assert set(c.checked_in) <= {record.REPORT, *record.PAPERS}
        assert c.category in (None, *record.CATEGORIES)
        for r in c.readings:
            assert r.category in (None, *record.CATEGORIES) and r.step > 0
            if r.ratio is not None and r.category is not None:  # a drawn reading sits in its own category
                line = record.AT_BASELINE if r.category != "convincing" else record.CONVINCING
                assert (r.ratio >= line) == (r.category == "baseline"), (c.key, r)
    assert registry.trained("adding", 100, "lstm").readings[1].ratio == pytest.approx(0.06)


@pytest.mark.parametrize("name", ["paper-cpu", "paper-gpu"])
def test_every_run_of_each_paper_study_but_the_gru_has_its_claim(name):
    cfg = yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())
    for rid, run in expand(cfg).items():
        study = rid.split("/")[0]
        if "~" in study or study == "variants":  # the sweep's ids start with task~; variants have their own study
            model = variant_of(rid) or run["cell"]
            model = cfg.get("variants", {}).get(model, {}).get("same_model", model)  # a batch-50 twin: its model's
            claim = registry.trained(run["task"], run["length"], "lstm" if model == "arjovsky-lstm" else model)
            assert claim is not None or run["cell"] == "gru", rid
            if claim is not None:
                assert model in claim.models, (rid, claim.models)


def test_mean_interval_is_the_whole_range_for_three_seeds_and_narrows_with_more():
    three = mean_interval([0.2, 0.5, 0.9])
    assert (three.low, three.high, three.n) == (0.2, 0.9, 3) and three.estimate == pytest.approx(1.6 / 3)
    many = mean_interval([0.2, 0.5, 0.9] * 10)
    assert 0.2 < many.low < many.estimate < many.high < 0.9
    assert mean_interval([0.5, float("nan")]).high == math.inf  # a diverged seed is the worst value


def test_fraction_interval_is_clopper_pearsons():
    zero_of_six = fraction_interval(0, 6)
    assert zero_of_six.low == 0 and zero_of_six.high == pytest.approx(1 - 0.025 ** (1 / 6))
    assert fraction_interval(3, 3).low == pytest.approx(0.025 ** (1 / 3))
    with pytest.raises(ValueError, match="0 <= k <= n"):
        fraction_interval(4, 3)


def test_side_and_judged():
    assert side(mean_interval([0.01, 0.05]), 0.1) == "below"
    assert side(mean_interval([0.9, 1.2]), 0.9) == "above"
    assert side(mean_interval([0.05, 0.5]), 0.1) == "straddles"
    assert judged(None, 2) == "inconclusive at 2 seeds" and judged(True, 2) == "agrees"


@pytest.mark.parametrize(
    "category,ratios,expected",
    [
        ("convincing", [0.01, 0.05], "agrees"),
        ("convincing", [0.01, 0.5], "inconclusive at 2 seeds"),
        ("convincing", [0.5, 1.2], "disagrees"),
        ("beats", [0.01, 0.5], "agrees"),
        ("baseline", [0.95, 3.0], "agrees"),
        ("baseline", [0.5, 0.95], "inconclusive at 2 seeds"),
        ("baseline", [0.5, 0.6], "disagrees"),
        ("baseline", [0.95, float("nan")], "agrees"),  # a diverged run is at (above) the baseline
    ],
)
def test_verdict_at_a_budget_uses_every_seed(category, ratios, expected):
    assert verdict_at(category, mean_interval(ratios)) == expected
    assert verdict_at(None, mean_interval(ratios)).startswith("not judged")


def test_budgets_are_the_readings_evaluated_then_the_claim_at_the_papers_length():
    claim = registry.trained("adding", 100, "lstm")
    at_3000 = budgets(claim, {500, 1500, 3000}, 3000)
    assert [(b.step, b.category) for b in at_3000] == [(1500, "beats"), (3000, "convincing")]
    at_20k = budgets(claim, set(range(500, 20_001, 500)), 20_000)
    assert [b.step for b in at_20k] == [1500, 3000, 10_000, 20_000]
    short = budgets(registry.trained("adding", 750, "lstm"), {3000}, 3000)
    assert short[0].category is None and "not this budget" in short[0].paper
    # T = 200 has the readings of the paper's adding_200 figure (literature.md), so a batch stopped at 10,000 is judged
    at_10k = budgets(registry.trained("adding", 200, "lstm"), set(range(500, 10_001, 500)), 10_000)
    assert [(b.step, b.category) for b in at_10k] == [(1500, "baseline"), (3000, "baseline"), (10_000, "beats")]


def adding_100_tables(theirs: float, ours: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Their LSTM and ours at adding T = 100, two seeds (loss ratios ``theirs``/``ours`` + 0.01 · seed),
    evaluated at the paper's readings 1,500 and 3,000."""
    runs, curves = [], []
    for model, ratio in (("arjovsky-lstm", theirs), ("lstm", ours)):
        for seed in (0, 1):
            rid = (
                f"variants/variant~{model}/task~adding/length~100/clip~1.0/seed~{seed}"
                if model != "lstm"
                else f"task~adding/cell~lstm/length~100/clip~1.0/seed~{seed}"
            )
            study = "variants" if model != "lstm" else "sweep"
            runs.append(dict(run=rid, study=study, task="adding", length=100, cell="lstm", seed=seed, steps=3000))
            for step in (1500, 3000):
                curves.append(dict(run=rid, study=study, kind="eval", task="adding", length=100, cell="lstm",
                                   seed=seed, step=step, loss_ratio=ratio + 0.01 * seed))  # fmt: skip
    return pd.DataFrame(runs), pd.DataFrame(curves)


def test_claim_rows_judge_their_lstm_and_ours_at_each_reading():
    rows = claim_rows(*adding_100_tables(0.05, 0.95), {"arjovsky-lstm": "their LSTM"})
    got = {(r["model"], r["budget"].step): r["verdict"] for r in rows}
    assert got == {
        ("arjovsky-lstm", 1500): "agrees",
        ("arjovsky-lstm", 3000): "agrees",
        ("lstm", 1500): "disagrees",
        ("lstm", 3000): "disagrees",
    }
    assert rows[0]["name"] == "their LSTM" and rows[0]["per_seed"] == "0.05, 0.06"


def batch_tables(ratios: dict[tuple[str, int], dict[int, list[float]]], steps: dict[int, int]):
    """runs and curves tables of the adding T = 100 LSTMs: ``ratios[(model, batch)][step]`` per seed;
    ``steps``: each batch's training length. A batch-50 run is the variant ``<model>-b50``."""
    runs, curves = [], []
    for (model, batch), at in ratios.items():
        variant = model if batch == 20 else f"{model}-b50"
        for seed in range(len(next(iter(at.values())))):
            rid = (
                f"task~adding/cell~lstm/length~100/clip~1.0/seed~{seed}"
                if variant == "lstm"
                else f"variants/variant~{variant}/task~adding/length~100/clip~1.0/seed~{seed}"
            )
            study = "sweep" if variant == "lstm" else "variants"
            runs.append(dict(run=rid, study=study, task="adding", length=100, cell="lstm", seed=seed, batch=batch,
                             steps=steps[batch]))  # fmt: skip
            for step, per_seed in at.items():
                curves.append(dict(run=rid, study=study, kind="eval", task="adding", length=100, cell="lstm",
                                   seed=seed, step=step, loss_ratio=per_seed[seed]))  # fmt: skip
    return pd.DataFrame(runs), pd.DataFrame(curves)


SAME = {"lstm-b50": "lstm", "arjovsky-lstm-b50": "arjovsky-lstm"}


def test_the_batch_is_chosen_once_per_model_and_length_on_the_final_loss_at_the_common_budget():
    """Batch 20 is lower at 1,500 and 3,000, batch 50 at 10,000 (the last budget both reached): the rule
    judges batch 50 at every budget, 1,500 and 3,000 included, where the per-budget best would be batch 20;
    batch 20's rows are shown, not judged, and at 20,000 (batch 20 only) nothing is judged."""
    ratios = {
        ("lstm", 20): {1500: [0.5, 0.6, 0.55], 3000: [0.05, 0.06, 0.07], 10_000: [0.2, 0.3, 0.25],
                       20_000: [0.01, 0.01, 0.01]},
        ("lstm", 50): {1500: [0.95, 0.97, 0.99], 3000: [0.5, 0.6, 0.7], 10_000: [0.01, 0.02, 0.03]},
    }  # fmt: skip
    runs, curves = batch_tables(ratios, {20: 20_000, 50: 10_000})
    rows = claim_rows(runs, curves, {"lstm": "LSTM (ours)"}, SAME)
    judged_rows = {(r["batch"], r["budget"].step): r["verdict"] for r in rows}
    assert judged_rows == {
        (20, 1500): "shown: judged at batch 50",
        (20, 3000): "shown: judged at batch 50",
        (20, 10_000): "shown: judged at batch 50",
        (20, 20_000): "not judged (batch 50, the rule's choice, stopped at 10,000 steps)",  # never batch 20's verdict
        (50, 1500): "disagrees",  # batch 20 would agree here: never the better per budget
        (50, 3000): "disagrees",  # and here
        (50, 10_000): "agrees",
    }
    choice = rows[0]["choice"]
    assert (choice.batch, choice.step) == (50, 10_000) and choice.means[20] == pytest.approx(0.25)
    assert {id(r["choice"]) for r in rows} == {id(choice)}  # one choice for every row of the model and length
    assert batch_choices(rows) == [
        "LSTM (ours), adding T = 100: batch 50 (mean loss / baseline at 10,000 steps: batch 20 0.25, batch 50 0.02)"
    ]
    assert all(r["name"] == "LSTM (ours)" for r in rows)


def test_the_choice_is_per_model_a_diverged_seed_counts_worst_and_a_tie_keeps_the_smaller_batch():
    ratios = {
        ("arjovsky-lstm", 20): {3000: [0.5, 0.5], 10_000: [0.1, 0.1]},
        ("arjovsky-lstm", 50): {3000: [0.01, 0.01, 0.01], 10_000: [0.001, math.nan, 0.001]},  # seed 1 diverged
        ("lstm", 20): {3000: [0.9, 0.9], 10_000: [0.3, 0.3]},
        ("lstm", 50): {3000: [0.1, 0.1, 0.1], 10_000: [0.3, 0.3, 0.3]},
    }
    runs, curves = batch_tables(ratios, {20: 20_000, 50: 10_000})
    rows = claim_rows(runs, curves, {}, SAME)
    chosen = {r["model"]: r["choice"].batch for r in rows}
    assert chosen == {"arjovsky-lstm": 20, "lstm": 20}  # theirs: batch 50's mean is inf; ours: a tie
    their = runs[runs["run"].str.contains("arjovsky")]
    assert choose_batch(curves[curves["run"].isin(their["run"])], their).means[50] == math.inf
    texts = batch_choices(rows)  # neither is separated (theirs: 0.001-inf against 0.1; ours: a tie), and says so
    assert [("near tie" in t) for t in texts] == [True, True], texts


def test_a_choice_between_overlapping_intervals_is_called_a_near_tie():
    ratios = {("lstm", 20): {10_000: [0.51, 0.524]}, ("lstm", 50): {10_000: [0.526, 0.0586, 0.935]}}
    runs, curves = batch_tables(ratios, {20: 20_000, 50: 10_000})
    choice = choose_batch(curves, runs)
    assert choice.batch == 50 and not choice.apart and "near tie" in choice.text()
    ratios[("lstm", 50)] = {10_000: [0.01, 0.02, 0.03]}
    runs, curves = batch_tables(ratios, {20: 20_000, 50: 10_000})
    assert choose_batch(curves, runs).apart and "near tie" not in choose_batch(curves, runs).text()


def test_every_claim_names_the_config_that_checks_it():
    assert all(c.checked_by for c in registry.CLAIMS), [c.key for c in registry.CLAIMS if not c.checked_by]


def test_the_paper_reports_findings_follow_their_claim_rows():
    """The paper reports open with a sentence per claim built from the claim rows: other tables, other verdicts."""
    from rnnbench.study.papers.findings import paper_findings

    names = {"arjovsky-lstm": "their LSTM", "lstm": "LSTM (ours)"}
    text = paper_findings(claim_rows(*adding_100_tables(0.05, 0.95), names), {"adding": "#claim-1"})
    assert text.startswith("## Findings\n\n- **adding T = 100**, paper: ")
    assert "their LSTM (2 seeds): **agrees** at 1,500 and 3,000 steps (0.055, 0.055)" in text
    assert "LSTM (ours) (2 seeds): **disagrees** at 1,500 and 3,000 steps (0.955, 0.955)" in text
    assert "([table](#claim-1))" in text
    swapped = paper_findings(claim_rows(*adding_100_tables(0.95, 0.05), names), {"adding": "#claim-1"})
    assert "their LSTM (2 seeds): **disagrees**" in swapped and "LSTM (ours) (2 seeds): **agrees**" in swapped
    assert paper_findings([], {}).endswith("_This study's tables hold none of the registry's claims._\n\n")


def test_the_paper_findings_name_hochreiters_claim_for_scale_and_le_irnn_at_its_budget():
    """Claims 3 and 4 have no trained verdict row, yet the findings say what each table says of them."""
    from rnnbench.study.papers.sections import hs_finding, irnn_finding

    runs, curves = adding_100_tables(0.05, 0.95)
    runs["batch"], curves["accuracy"] = 20, [0.5, 0.995, 0.5, 0.5] + [0.2, 0.3, 0.2, 0.3]
    (hs,) = hs_finding(runs, curves, {"arjovsky-lstm": "their LSTM", "lstm": "LSTM (ours)"})
    assert "not judged, another variant of the task" in hs and hs.endswith("([table](#claim-3)).")
    assert "their LSTM (60,000; not within 60,000), LSTM (ours) (not within 60,000; not within 60,000)" in hs
    assert hs_finding(runs.iloc[:0], curves.iloc[:0], {}) == []
    ours_1 = runs["run"].str.startswith("task~") & (runs["seed"] == 1)
    runs["status"] = ["diverged" if o else "ok" for o in ours_1]  # a diverged run never "had its chance"
    (hs,) = hs_finding(runs, curves, {"arjovsky-lstm": "their LSTM", "lstm": "LSTM (ours)"})
    assert "LSTM (ours) (not within 60,000; diverged after 60,000)" in hs, hs
    (none,) = irnn_finding(runs)
    assert "**not at the paper's budget (over 10^6 steps): no run of this model here**" in none
    irnn = runs.iloc[:1].assign(run="variants/variant~irnn/task~adding/length~100/clip~1.0/seed~0", steps=20_000)
    assert "ours ran 20,000 steps**" in irnn_finding(pd.concat([runs, irnn]))[0]


def test_vanishing_is_inconclusive_where_some_lengths_shrink_and_others_do_not():
    """The paper-cpu study's tanh RNN at Glorot, H 128: ×1.005 at T = 100 and ×0.985 at T = 200 average to
    0.995 < 1, which alone would read 'agrees'; the lengths disagree, so no finding."""
    from rnnbench.study.claims.literature import vanishing_claim

    assert vanishing_claim([1.005, 0.985], "")[0][5] == "inconclusive: shrinks at some lengths, not at others"
    assert "×0.985–1 by length" in vanishing_claim([1.005, 0.985], "")[0][4]
    assert vanishing_claim([0.724, 0.666], "")[0][5] == "agrees"
    assert vanishing_claim([1.01, 1.03], "")[0][5] == "disagrees"
    assert vanishing_claim([0.9], "")[0][5] == "agrees"  # one length: its side of 1
