"""The paper-cpu report's verdicts follow its stated rule, from the tables, seed by seed."""

import pandas as pd
import pytest

from rnnbench.paper_cpu import CLAIMS, category, claim_rows, verdict


@pytest.mark.parametrize(
    "ratio,expected",
    [
        (1.3, "baseline"),
        (0.9, "baseline"),
        (0.89, "beats"),
        (0.1, "beats"),
        (0.099, "convincing"),
        (float("nan"), "baseline"),
    ],
)
def test_category_of_one_seed(ratio, expected):
    assert category(ratio) == expected


def test_verdict_needs_every_seed():
    assert verdict("convincing", [0.01, 0.05]) == "agrees"
    assert verdict("convincing", [0.01, 0.5]) == "mixed (1 of 2 seeds)"
    assert verdict("convincing", [0.5, 1.2]) == "disagrees"
    assert verdict("beats", [0.01, 0.5]) == "agrees"  # convincingly is still beating it
    assert verdict("baseline", [0.95, 3.0]) == "agrees"
    assert verdict("baseline", [0.5, 0.95]) == "mixed (1 of 2 seeds)"
    assert verdict(None, [0.5]) == "no paper number"


def test_claim_rows_read_each_seed_from_the_runs_table():
    rows = []
    for c in CLAIMS:
        for seed, ratio in ((0, 0.05), (1, 0.95)):
            rows.append(
                dict(study="sweep", task=c.task, length=c.length, cell=c.cell, seed=seed, loss_ratio=ratio,
                     final_loss=ratio / 6, accuracy=0.5, hidden=128, batch=20, optimizer="rmsprop", lr=1e-3,
                     init="xavier", clip=1.0, clip_mode="value", steps=3000, backend_used="fused")
            )  # fmt: skip
    out = claim_rows(pd.DataFrame(rows))
    assert len(out) == len(CLAIMS)
    for r in out:
        expected = "no paper number" if r["claim"].category is None else "mixed (1 of 2 seeds)"
        assert r["verdict"] == expected
        assert "(0.05×)" in r["ours"] and "(0.95×)" in r["ours"]
