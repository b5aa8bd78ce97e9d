"""The faked-CUDA mode (tests/fakecuda, RNNBENCH_FAKE_CUDA=1): torch reports a CUDA device while every
tensor stays on the CPU, so that a test assuming CUDA's absence -- `auto` meaning CPU, `cuda` refused,
a GPU result equal to the CPU's -- fails here, on a machine without a GPU, as it would on one with a GPU.
This runs the tests that depend on the device under the fake, so that the assumption cannot creep back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAKECUDA = REPO / "tests" / "fakecuda"
# The tests whose outcome depends on CUDA being there: the CLI's and the throughput benchmark's device
# handling, backend auto, the CUDA tests (skipped, saying why) and the plan's GPU slots. Not the whole
# suite: under two minutes of CPU, where the suite takes several on 2 cores. (tests/test_paper_gpu.py
# plans the paper-gpu study under the fake itself.)
SUBSET = [
    "tests/test_cli.py",
    "tests/test_throughput.py",
    "tests/test_autobackend.py",
    "tests/test_cuda_throughput.py",
    "tests/test_plan.py",
]
KEYWORDS = "cuda or auto or bad_input or gpu or slots or plan"


def faked_env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(FAKECUDA), str(REPO), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "RNNBENCH_FAKE_CUDA": "1", "PYTHONPATH": path}


def test_the_fake_reaches_python_subprocesses():
    """Through PYTHONPATH (sitecustomize), a subprocess -- an rnnbench command, Snakemake, its jobs --
    sees CUDA as the pytest process does; without the variable, the fake is off."""
    code = "import torch; print(torch.cuda.is_available(), torch.cuda.device_count())"
    on = subprocess.run([sys.executable, "-c", code], env=faked_env(), capture_output=True, text=True, check=True)
    assert on.stdout.split() == ["True", "1"]
    off = subprocess.run(
        [sys.executable, "-c", code], env={**faked_env(), "RNNBENCH_FAKE_CUDA": "0"}, capture_output=True, text=True
    )
    assert off.stdout.split()[0] == str(__import__("torch").cuda.is_available())


def test_a_test_that_assumes_no_cuda_fails_under_the_fake(tmp_path):
    """The point of the fake: an assumption of CUDA's absence fails visibly."""
    (tmp_path / "test_assumes.py").write_text(
        "import torch\n\ndef test_no_cuda():\n    assert not torch.cuda.is_available()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        env=faked_env(), capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1 and "1 failed" in proc.stdout, proc.stdout[-2000:]


def test_the_device_dependent_tests_hold_under_faked_cuda():
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", "-k", KEYWORDS, *SUBSET],
        env=faked_env(), capture_output=True, text=True, cwd=REPO, timeout=900,
    )  # fmt: skip
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    # the fake was on: the tests that run CUDA kernels were skipped for it, not run or failed
    assert "faked CUDA (RNNBENCH_FAKE_CUDA) runs no CUDA kernel" in proc.stdout, tail
