"""rnnbench.study.pipeline.resume: what a killed Snakemake left behind is cleared only when no instance is alive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from base64 import urlsafe_b64encode
from pathlib import Path

from rnnbench.study.pipeline.resume import resume_after_kill

HOLD = (
    "import sys, time; from rnnbench.study.pipeline.resume import resume_after_kill; "
    "resume_after_kill(sys.argv[1]); print('held', flush=True); time.sleep(120)"
)
PROBE = "import sys; from rnnbench.study.pipeline.resume import resume_after_kill; print(resume_after_kill(sys.argv[1], bool))"


def leftovers(root: Path) -> tuple[list[Path], list[Path]]:
    """Lock files and incomplete marks as a killed Snakemake leaves them (file persistence layout)."""
    (root / "locks").mkdir(parents=True, exist_ok=True)
    locks = [root / "locks" / "0.input.lock", root / "locks" / "0.output.lock"]
    for f in locks:
        f.write_text("results/runs/x.json\n")
    marks = []
    for path in ("results/runs/task~adding/seed~0.json", "results/tables/runs.csv"):
        mark = root / "incomplete" / urlsafe_b64encode(path.encode()).decode()
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.write_text('{"external_jobid": null}')
        marks.append(mark)
    return locks, marks


def test_a_killed_instances_leftovers_are_cleared_a_live_ones_kept(tmp_path):
    root = tmp_path / ".snakemake"
    live = subprocess.Popen([sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline().strip() == "held"
        locks, marks = leftovers(root)  # the live instance's
        # another instance while it lives touches nothing (Snakemake's own lock then decides)
        out = subprocess.run([sys.executable, "-c", PROBE, str(root)], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "([], [])" and all(f.exists() for f in locks + marks)
    finally:
        os.kill(live.pid, signal.SIGKILL)  # as the pipeline would be killed: no clean-up runs
        live.wait()
    assert all(f.exists() for f in locks + marks)  # the kill left them behind
    whole = {"results/runs/task~adding/seed~0.json"}  # the tables were not: their mark must stay
    removed, unmarked = resume_after_kill(root, lambda path: path in whole)
    assert removed == [str(f) for f in locks] and not any(f.exists() for f in locks)
    assert unmarked == sorted(whole) and not marks[0].exists() and marks[1].exists()
    assert resume_after_kill(root, lambda path: path in whole) == ([], [])  # nothing stale is left


def test_a_mark_that_does_not_decode_is_left_alone(tmp_path):
    root = tmp_path / ".snakemake"
    odd = root / "incomplete" / "not base64!"
    odd.parent.mkdir(parents=True)
    odd.write_text("")
    assert resume_after_kill(root, lambda path: True) == ([], [])
    assert odd.exists()
