"""config/paper-cpu.yaml plans as stated and refuses an edit past max_runs (its verdicts: tests/test_claims.py)."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


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
    assert "this study has 52 training runs (max_runs 52)" in planned.stderr
    cfg = yaml.safe_load((wd / "config/paper-cpu.yaml").read_text())
    cfg["sweep"]["seeds"] = [0, 1, 2]  # one more seed: 65 runs (the variants without seeds take the sweep's)
    (wd / "more.yaml").write_text(yaml.safe_dump(cfg))
    refused = _snakemake(wd, "-n", "--configfile", "more.yaml")
    assert refused.returncode != 0 and "would train 65 runs, more than max_runs = 52" in refused.stdout + refused.stderr
    assert not (wd / "results").exists()


def test_a_study_in_parts_reports_the_sum_of_their_wall_times(tmp_path):
    from rnnbench.study.papers.report import main, wall_text

    assert wall_text(6849.0) == "114.2 min (6849 s)"
    assert wall_text([1200.0, 8100.0, 3000.0]) == "205.0 min (12300 s, in 3 parts: 1200 + 8100 + 3000 s)"
    assert wall_text([6849.0]) == wall_text(6849.0) and wall_text(None) == "not measured"
    import pytest

    with pytest.raises(SystemExit):  # a part that is not a number is refused before any table is read
        main([str(tmp_path), "--out", str(tmp_path), "--wall-seconds", "12", "soon"])


def test_le_irnn_is_never_judged_below_its_budget():
    from rnnbench.study.claims import registry

    claim = registry.IRNN_ADDING
    assert max(r.step for r in claim.readings) == registry.LE_BUDGET == 1_000_000
    assert set(registry.PAPERS) <= set(claim.checked_in) and registry.REPORT in claim.checked_in
    assert registry.not_at_budget(claim, 20_000) == "not at the paper's budget (over 10^6 steps): ours ran 20,000 steps"
    assert registry.not_at_budget(claim, None).endswith("no run of this model here")


def test_the_default_report_judges_le_irnn_by_the_steps_its_irnn_ran():
    import pandas as pd

    from rnnbench.study.claims.literature import irnn_claim

    irnn = dict(cell="rnn", nonlinearity="relu", init="identity", length=100, steps=20_000, optimizer="sgd", lr=0.01,
                batch=20)  # fmt: skip
    tanh = {**irnn, "nonlinearity": "tanh", "init": "xavier", "steps": 50}
    assert irnn_claim(pd.DataFrame([irnn, tanh]))[-1] == (
        "not at the paper's budget (over 10^6 steps): ours ran 20,000 steps"
    )
    assert irnn_claim(pd.DataFrame([tanh]).drop(columns="nonlinearity"))[-2:] == [
        "not run",
        "not at the paper's budget (over 10^6 steps): no run of this model here",
    ]


def test_a_study_stopped_before_any_sweep_adding_run_still_draws_its_gradient_figure(tmp_path):
    """A paper report of a study in parts, looked at between parts, may have no sweep adding run yet:
    the gradient figure says so instead of failing on an empty table (it did: int(NaN))."""
    import matplotlib.image
    import pandas as pd

    from rnnbench.study.figures.literature import figure_gradients

    cols = ["study", "task", "state", "length", "direction", "cell", "step", "distance", "grad_norm", "seed"]
    copy_only = pd.DataFrame([["sweep", "copy", "h", 100, 0, "lstm", 0, 1, 0.5, 0]], columns=cols)
    figure_gradients(copy_only, tmp_path / "gradients.png", {"lstm": "LSTM"})
    assert matplotlib.image.imread(tmp_path / "gradients.png").shape[0] > 50
