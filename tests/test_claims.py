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
from rnnbench.study.claims.paper_claims import budgets, claim_rows, verdict_at
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
    short = budgets(registry.trained("adding", 200, "lstm"), {3000}, 3000)
    assert short[0].category is None and "not this budget" in short[0].paper


def test_claim_rows_judge_their_lstm_and_ours_at_each_reading():
    runs, curves = [], []
    for model, ratio in (("arjovsky-lstm", 0.05), ("lstm", 0.95)):
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
    rows = claim_rows(pd.DataFrame(runs), pd.DataFrame(curves), {"arjovsky-lstm": "their LSTM"})
    got = {(r["model"], r["budget"].step): r["verdict"] for r in rows}
    assert got == {
        ("arjovsky-lstm", 1500): "agrees",
        ("arjovsky-lstm", 3000): "agrees",
        ("lstm", 1500): "disagrees",
        ("lstm", 3000): "disagrees",
    }
    assert rows[0]["name"] == "their LSTM" and rows[0]["per_seed"] == "0.05, 0.06"


def test_every_claim_names_the_config_that_checks_it():
    assert all(c.checked_by for c in registry.CLAIMS), [c.key for c in registry.CLAIMS if not c.checked_by]
