"""The cluster path, tested on a real SLURM: a one-node cluster on localhost (scripts/slurm-localhost.sh).

These tests run only when selected, ``pytest -m slurm``: they need root, may install Debian packages
and start daemons, and take a few minutes. A plain ``pytest`` skips them. When selected, they use a
cluster that is already up (and leave it running), or bring one up with the script and stop what
they started at the end. A machine that cannot host one (not root, no apt) skips them with the
reason; a cluster that fails to come up fails them.

Every snakemake run has a wall-clock limit: a broken cluster (the executor polls forever when its
status queries fail) fails the test instead of hanging CI, and the jobs it left are cancelled.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "slurm-localhost.sh"
PROFILE = REPO / "profiles" / "slurm-localhost"
TOY = Path(__file__).resolve().parent / "data" / "slurm_toy"
SMOKE_CONFIG = REPO / "config" / "smoke.yaml"

# Columns that legitimately differ between two runs of the same study: clocks, rates, hosts, jobs.
TIMING_WORDS = ("second", "time", "throughput", "per_s", "duration", "elapsed", "date", "host", "slurm", "where")


def _env() -> dict[str, str]:
    """This interpreter's bin first on PATH: snakemake, and the rnnbench the jobs call, are this venv's
    (sbatch exports the environment to the jobs)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("SNAKEMAKE_PROFILE", None)  # a user's global profile must not change what is tested
    return env


def _script(action: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), action], capture_output=True, text=True, timeout=timeout, env=_env())


def _selected(config: pytest.Config) -> bool:
    markexpr = config.getoption("markexpr") or ""
    return "slurm" in markexpr and "not slurm" not in markexpr


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest):
    """A usable one-node cluster with partition ``debug``; stopped afterwards only if started here."""
    if not _selected(request.config):
        pytest.skip("SLURM tests run with `pytest -m slurm` (they start a local cluster: scripts/slurm-localhost.sh)")
    started = False
    if shutil.which("sinfo") is None or _script("status", timeout=60).returncode != 0:
        if os.geteuid() != 0:
            pytest.skip("no SLURM cluster is up and bringing one up needs root (scripts/slurm-localhost.sh start)")
        if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
            pytest.skip("no SLURM cluster is up, and neither SLURM nor apt-get is installed to bring one up")
        # Up to 10 minutes: the first start may install packages.
        res = _script("start", timeout=600)
        assert res.returncode == 0, f"scripts/slurm-localhost.sh start failed:\n{res.stderr}"
        started = True
    partitions = subprocess.run(["sinfo", "-h", "-o", "%R"], capture_output=True, text=True, timeout=30)
    if "debug" not in partitions.stdout.split():
        pytest.skip(f"the running SLURM cluster has no partition 'debug' (has: {partitions.stdout.split()})")
    yield
    if started:
        res = _script("stop", timeout=120)
        assert res.returncode == 0, f"scripts/slurm-localhost.sh stop failed:\n{res.stderr}"


def _cancel_jobs_from(workdir: Path) -> None:
    """Cancel the SLURM jobs submitted from ``workdir`` (and only those) after a timed-out run."""
    out = subprocess.run(["squeue", "-h", "-o", "%i %Z"], capture_output=True, text=True, timeout=30).stdout
    ids = [job for job, _, wd in (line.partition(" ") for line in out.splitlines()) if Path(wd) == workdir]
    if ids:
        subprocess.run(["scancel", *ids], capture_output=True, timeout=30)


def snakemake(workdir: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir``; on timeout end it (and its SLURM jobs) and fail the test."""
    cmd = [sys.executable, "-m", "snakemake", *args]
    start = time.monotonic()
    with subprocess.Popen(
        cmd,
        cwd=workdir,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so that a timeout ends all of it
    ) as proc:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)  # snakemake cancels its SLURM jobs on SIGTERM ...
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, _ = proc.communicate()
            _cancel_jobs_from(workdir)  # ... when it gets to; these are cancelled in any case
            pytest.fail(f"`{' '.join(args)}` did not finish within {timeout:.0f} s; its output ended:\n{out[-4000:]}")
    # Wall times for the record (shown with `pytest -rP` or `-s`).
    print(f"snakemake {' '.join(args)}: {time.monotonic() - start:.1f} s, exit {proc.returncode}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, None)


def _copy_toy(dest: Path) -> Path:
    shutil.copytree(TOY, dest)
    return dest


# tables whose every measurement is a timing (wall clock, process start): only their cases compare
TIMED_TABLES = {
    "throughput.csv": ["cell", "backend", "length", "batch", "hidden", "status"],
    "jobs.csv": ["job", "runs"],
}


def _without_timing(df: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in df.columns if not any(w in c.lower() for w in TIMING_WORDS)]
    return df[keep].sort_values(keep, kind="stable").reset_index(drop=True)


def _slurm_ids(workdir: Path, pattern: str) -> dict[str, str]:
    return {p.stem: p.read_text().strip() for p in sorted((workdir / "results" / "where").glob(pattern))}


def test_toy_workflow_runs_through_slurm_and_matches_local_run(cluster, tmp_path):
    on_slurm = _copy_toy(tmp_path / "slurm")
    local = _copy_toy(tmp_path / "local")

    res = snakemake(on_slurm, "--workflow-profile", str(PROFILE), timeout=360)
    assert res.returncode == 0, res.stdout[-4000:]
    assert "has been submitted with SLURM jobid" in res.stdout

    # Every job really ran inside SLURM, and as the profile groups them: the three training runs in
    # one SLURM job, the three probes in another.
    train = _slurm_ids(on_slurm, "train_*.txt")
    probes = _slurm_ids(on_slurm, "gradflow_*.txt")
    assert len(train) == 3 and len(probes) == 3, (train, probes)
    assert all(i.isdigit() for i in [*train.values(), *probes.values()]), (train, probes)
    assert len(set(train.values())) == 1, f"the grouped training runs share one SLURM job: {train}"
    assert len(set(probes.values())) == 1, f"the grouped probes share one SLURM job: {probes}"
    assert set(probes.values()) != set(train.values())

    res = snakemake(local, "--cores", "2", timeout=360)
    assert res.returncode == 0, res.stdout[-4000:]
    assert set(_slurm_ids(local, "*.txt").values()) == {"local"}

    # Same results wherever they ran, to the last bit (same seeds, same threads, same machine).
    table_slurm = pd.read_csv(on_slurm / "results" / "tables" / "runs.csv")
    table_local = pd.read_csv(local / "results" / "tables" / "runs.csv")
    assert sorted(table_slurm["cell"]) == ["gru", "lstm", "rnn"]
    assert (table_slurm["status"] == "ok").all()
    pd.testing.assert_frame_equal(_without_timing(table_slurm), _without_timing(table_local), check_exact=True)
    for cell in ("rnn", "lstm", "gru"):
        pd.testing.assert_frame_equal(
            pd.read_csv(on_slurm / "results" / "gradflow" / f"{cell}.csv"),
            pd.read_csv(local / "results" / "gradflow" / f"{cell}.csv"),
            check_exact=True,
        )


def test_failing_job_fails_the_run(cluster, tmp_path):
    workdir = _copy_toy(tmp_path / "toy")
    res = snakemake(workdir, "--workflow-profile", str(PROFILE), "fail", timeout=180)
    assert res.returncode != 0, res.stdout[-4000:]
    assert "SLURM status is: 'FAILED'" in res.stdout, res.stdout[-4000:]
    assert not (workdir / "results" / "fail.txt").exists()
    # The job's SLURM log is kept (the executor deletes only the logs of successful jobs).
    logs = list((workdir / ".snakemake" / "slurm_logs" / "rule_fail").glob("*.log"))
    assert logs and "failing on purpose" in logs[0].read_text()


def _copy_study(dest: Path) -> Path:
    """The pipeline's documented interface: Snakefile, workflow/ and config/ at the repository root."""
    dest.mkdir()
    for name in ("Snakefile", "workflow", "config"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns(".snakemake", "results", "__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


@pytest.mark.skipif(
    not SMOKE_CONFIG.exists(), reason="config/smoke.yaml is absent: the study pipeline has not landed in this tree"
)
def test_smoke_study_through_slurm_equals_local_run(cluster, tmp_path):
    on_slurm = _copy_study(tmp_path / "slurm")
    local = _copy_study(tmp_path / "local")
    config = ["--configfile", "config/smoke.yaml"]

    res = snakemake(on_slurm, "--workflow-profile", str(PROFILE), *config, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:]
    assert "has been submitted with SLURM jobid" in res.stdout

    res = snakemake(local, "--cores", "2", *config, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:]

    tables = sorted(p.relative_to(local) for p in (local / "results" / "tables").glob("*.csv"))
    assert Path("results/tables/runs.csv") in tables
    for rel in tables:
        assert (on_slurm / rel).exists(), f"{rel} was written locally but not through SLURM"
        if rel.name in TIMED_TABLES:  # every measurement in it is a timing: compare the cases alone
            cases = TIMED_TABLES[rel.name]
            pd.testing.assert_frame_equal(
                pd.read_csv(on_slurm / rel)[cases].sort_values(cases, ignore_index=True),
                pd.read_csv(local / rel)[cases].sort_values(cases, ignore_index=True),
            )
            continue
        dropped = sorted(set(pd.read_csv(local / rel).columns) - set(_without_timing(pd.read_csv(local / rel)).columns))
        print(f"{rel}: compared without {dropped}")
        pd.testing.assert_frame_equal(
            _without_timing(pd.read_csv(on_slurm / rel)),
            _without_timing(pd.read_csv(local / rel)),
            check_exact=True,
            obj=str(rel),
        )
