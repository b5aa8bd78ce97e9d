"""config/paper-gpu.yaml: its plan (every CUDA job one of jobs_per_gpu GPU slots), planned on this CPU
machine as on a GPU; the paper report's claims and curve readings shared with paper-cpu; and
scripts/gpu-check.sh end to end on the CPU at tiny sizes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import torch
import yaml

from rnnbench.study.pipeline import plan as study_plan

REPO = Path(__file__).resolve().parents[1]
FAKECUDA = REPO / "tests" / "fakecuda"


def config(name: str = "paper-gpu") -> dict:
    return yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())


def test_paper_gpu_is_arjovskys_settings_at_their_lengths():
    cfg = config()
    assert cfg["device"] == "cuda" and cfg["train"]["steps"] == 20_000 and cfg["sweep"]["seeds"] == [0, 1]
    assert cfg["sweep"]["tasks"]["adding"]["lengths"] == [100, 200, 400, 750]
    assert cfg["sweep"]["tasks"]["copy"]["lengths"] == [100, 200, 300, 500]
    # the copy task's cells of about equal size, as Arjovsky 2016 (torch.nn counts, input 10)
    sizes = {c: s["hidden"] for c, s in cfg["sweep"]["tasks"]["copy"]["cell_train"].items()}
    count = {
        c: sum(p.numel() for p in m(10, sizes[c]).parameters())
        for c, m in (("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU))
    }
    assert abs(count["lstm"] - count["gru"]) <= 1
    assert cfg["train"]["reset_after"] is True and cfg["checkpoint_every"] > 0


def test_the_plan_gives_every_cuda_job_one_gpu_slot_without_cuda_here():
    """Plan-time code needs no CUDA for `device: cuda` (a login node plans a cluster's study)."""
    p = study_plan.make_plan({**config(), "local_cuda_check": False}, lambda _: None)
    assert len(p.runs) == 62 and len(p.jobs) == 62 and p.jobs_per_gpu == 16
    assert {p.gpu_slots(members[0]) for members in p.jobs.values()} == {1}
    smoke = study_plan.make_plan(config("smoke"), lambda _: None)
    assert smoke.jobs_per_gpu == study_plan.DEFAULT_JOBS_PER_GPU == 8
    assert {smoke.gpu_slots(members[0]) for members in smoke.jobs.values()} == {0}


@pytest.mark.parametrize("bad", [0, -1, 1.5, "8"])
def test_jobs_per_gpu_is_checked_by_the_schema(bad):
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    jsonschema.validate(config(), schema)
    with pytest.raises(jsonschema.ValidationError, match="jobs_per_gpu"):
        jsonschema.validate({**config(), "jobs_per_gpu": bad}, schema)


def _snakemake(wd: Path, *args: str, fake: bool) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if fake:
        path = (str(FAKECUDA), str(REPO), env.get("PYTHONPATH"))
        env.update(RNNBENCH_FAKE_CUDA="1", PYTHONPATH=os.pathsep.join(p for p in path if p))
    cmd = [sys.executable, "-m", "snakemake", "-n", "--configfile", "config/paper-gpu.yaml", *args]
    return subprocess.run(cmd, cwd=wd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory) -> Path:
    wd = tmp_path_factory.mktemp("paper_gpu")
    (wd / "Snakefile").write_bytes((REPO / "Snakefile").read_bytes())
    for d in ("workflow", "config", "profiles"):
        subprocess.run(["cp", "-r", str(REPO / d), str(wd / d)], check=True)
    return wd


def test_paper_gpu_plans_with_its_gpu_slots_as_on_a_gpu(workflow_copy):
    """`snakemake -n --configfile config/paper-gpu.yaml` where torch reports CUDA (faked here): 62 jobs,
    each declaring one gpu_slots, 16 at a time; jobs_per_gpu and --resources change the number."""
    planned = _snakemake(workflow_copy, fake=True)
    assert planned.returncode == 0, planned.stderr[-3000:]
    assert "this study has 62 training runs (max_runs 62)" in planned.stderr
    assert "CUDA jobs share the GPU 16 at a time (jobs_per_gpu)" in planned.stderr
    assert planned.stdout.count("gpu_slots=1") == 62
    fewer = _snakemake(workflow_copy, "--config", "jobs_per_gpu=4", fake=True)
    assert "CUDA jobs share the GPU 4 at a time" in fewer.stderr, fewer.stderr[-3000:]
    given = _snakemake(workflow_copy, "--resources", "gpu_slots=2", fake=True)
    assert given.returncode == 0 and "share the GPU" not in given.stderr  # the command line's own limit
    assert not (workflow_copy / "results").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_paper_gpu_without_cuda_is_refused_before_any_job(workflow_copy):
    refused = _snakemake(workflow_copy, fake=False)
    assert refused.returncode != 0
    assert "device 'cuda' was asked for, but torch finds no CUDA device" in refused.stdout + refused.stderr


@pytest.mark.slow
def test_gpu_check_script_runs_end_to_end_on_the_cpu(tmp_path):
    """scripts/gpu-check.sh --device cpu --tiny: every part runs (the TF32 part is skipped where the CLI
    has no --allow-tf32), the summary says so, and the paper report is written."""
    out = tmp_path / "check"
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu-check.sh"), "--device", "cpu", "--tiny", "--out", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    summary = (out / "summary.md").read_text()
    assert proc.returncode == 0, summary + proc.stderr[-2000:]
    for part in ("env", "cuda_tests", "peer_ratios", "deepbench", "paper_gpu"):
        assert f"| {part} | ok |" in summary, summary
    assert "| tf32 | ok |" in summary or "| tf32 | skipped |" in summary
    assert "0 above 1" in summary
    report = (out / "paper-gpu" / "REPORT.md").read_text()
    assert "# The papers' full lengths on one GPU" in report and "GRU (torch's form)" in report
    assert (out / "paper-gpu" / "learning_curves.png").stat().st_size > 0
