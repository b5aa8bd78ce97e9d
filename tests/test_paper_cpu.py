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
