"""Atomic writes: whole files only, with the permissions an ordinary new file gets; output paths checked up front."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import torch

from rnnbench.core.storage import atomic_write, current_umask, output_problem, write_json
from rnnbench.training.checkpoint import save_checkpoint
from rnnbench.training.config import RunConfig


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Set the umask for one test, and put the old one back."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_results_get_the_mode_an_ordinary_new_file_gets(tmp_path, umask, mask, expected):
    umask(mask)
    assert current_umask() == mask
    ordinary = tmp_path / "ordinary.txt"
    ordinary.write_text("x")  # what open() gives under this umask: the reference
    assert _mode(ordinary) == expected
    write_json(tmp_path / "sub" / "r.json", {"a": 1})
    atomic_write(tmp_path / "t.csv", lambda f: f.write("a\n"))
    assert _mode(tmp_path / "sub" / "r.json") == expected
    assert _mode(tmp_path / "t.csv") == expected


def test_an_overwritten_result_gets_the_umask_mode_too(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "r.json"
    target.write_text("old")
    target.chmod(0o600)
    write_json(target, {"new": True})
    assert _mode(target) == 0o644 and "new" in target.read_text()


def test_checkpoints_are_written_with_the_umask_mode(tmp_path, umask):
    umask(0o022)
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "run.ckpt"
    save_checkpoint(path, RunConfig(), 1, model, opt, torch.Generator(), {})
    assert _mode(path) == 0o644
    assert not list(tmp_path.glob("*.part"))


def test_a_failed_write_leaves_nothing(tmp_path):
    def fail(f):
        f.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "r.json", fail)
    assert not any(tmp_path.iterdir())


def test_output_problem(tmp_path):
    (tmp_path / "afile").write_text("")
    assert output_problem(tmp_path / "r.json") is None
    assert output_problem(tmp_path / "new" / "deeper" / "r.json") is None  # folders are created
    assert "is a directory" in output_problem(tmp_path)
    assert "not a directory" in output_problem(tmp_path / "afile" / "r.json")
    assert output_problem(tmp_path / "afile") is None  # an existing file is replaced


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_output_problem_unwritable_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert "not writable" in output_problem(locked / "r.json")
    finally:
        locked.chmod(0o700)
