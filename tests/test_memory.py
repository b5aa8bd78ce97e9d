"""The up-front memory check: free memory read through psutil (portable), the same refusal everywhere."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from rnnbench.cli import main
from rnnbench.training import memory
from rnnbench.training.config import ConfigError, RunConfig


@pytest.mark.skipif(not Path("/proc/meminfo").exists(), reason="Linux only: /proc/meminfo is the reference")
def test_free_memory_agrees_with_proc_meminfo():
    line = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemAvailable:"))
    reference = int(line.split()[1]) * 1024
    assert memory.available_bytes("cpu") == pytest.approx(reference, rel=0.1)  # other jobs move it a little


def test_free_memory_does_not_read_linux_only_sources(monkeypatch):
    """A macOS laptop has no /proc/meminfo and no SC_AVPHYS_PAGES: the check must not need them."""
    monkeypatch.setattr(memory.psutil, "virtual_memory", lambda: SimpleNamespace(available=3 * 2**30))
    monkeypatch.setattr("builtins.open", lambda *a, **k: (_ for _ in ()).throw(OSError("no /proc here")))
    assert memory.available_bytes("cpu") == 3 * 2**30


def test_a_run_too_big_for_free_memory_is_refused_with_the_same_message(monkeypatch):
    monkeypatch.setattr(memory.psutil, "virtual_memory", lambda: SimpleNamespace(available=2**30))
    cfg = RunConfig(length=1000, batch=512, hidden=512)
    with pytest.raises(
        ConfigError,
        match=r"length 1000 x batch 512 x hidden 512 x layers 1 would need about .* GiB "
        r"for backprop through time, but cpu has 1.0 GiB free; use a shorter length",
    ):
        memory.check_fits(cfg, "cpu")
    assert memory.check_fits(RunConfig(length=10, batch=2, hidden=4), "cpu") < 2**30 * 0.8


def test_the_cli_refuses_it_before_any_work(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(memory.psutil, "virtual_memory", lambda: SimpleNamespace(available=2**20))
    argv = [
        "train",
        "--cell",
        "lstm",
        "--length",
        "500",
        "--steps",
        "1",
        "--clip",
        "none",
        "--out",
        str(tmp_path / "r.json"),
    ]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and err.count("\n") == 0 and "GiB free" in err, err
    assert not any(tmp_path.iterdir())
