"""The paper-cpu report's verdicts follow its stated rule, from the tables, seed by seed."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rnnbench.study.paper_cpu import CLAIMS, category, claim_rows, verdict

REPO = Path(__file__).resolve().parents[1]


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
    assert verdict("convincing", [0.01, 0.5]) == "mixed (1 of 2 seeds); not at the paper's training length"
    assert verdict("convincing", [0.5, 1.2]) == "disagrees; not at the paper's training length"
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
        if r["claim"].category is None:
            assert r["verdict"] == "no paper number"
        else:
            assert r["verdict"].startswith("mixed (1 of 2 seeds)")
        assert "(0.05×)" in r["ours"] and "(0.95×)" in r["ours"]


def _snakemake(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def _workflow(dest: Path) -> Path:
    shutil.copy(REPO / "Snakefile", dest / "Snakefile")
    for d in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / d, dest / d)
    return dest


def test_paper_cpu_plans_and_an_edit_past_max_runs_is_refused(tmp_path):
    wd = _workflow(tmp_path)
    planned = _snakemake(wd, "-n", "--configfile", "config/paper-cpu.yaml")
    assert planned.returncode == 0, planned.stderr
    assert "this study has 42 training runs (max_runs 42)" in planned.stderr
    cfg = yaml.safe_load((wd / "config/paper-cpu.yaml").read_text())
    cfg["sweep"]["seeds"] = [0, 1, 2]  # one more seed: 56 runs (the variants take the sweep's seeds)
    (wd / "more.yaml").write_text(yaml.safe_dump(cfg))
    refused = _snakemake(wd, "-n", "--configfile", "more.yaml")
    assert refused.returncode != 0 and "would train 56 runs, more than max_runs = 42" in refused.stdout + refused.stderr
    assert not (wd / "results").exists()
