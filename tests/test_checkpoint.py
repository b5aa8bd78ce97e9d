"""Checkpointed training: a killed run restarted from its checkpoint gives the uninterrupted result."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import rnnbench.training.loop as loop_module
from rnnbench.training.checkpoint import load_checkpoint
from rnnbench.training.config import RunConfig
from rnnbench.training.train import train

TIMING = {"train_seconds", "work_seconds", "wall_seconds", "throughput_seq_per_s", "resumed_from_step", "env"}
CFG = RunConfig(
    task="copy", cell="lstm", length=6, hidden=12, steps=30, eval_every=7, probe_at=(0, 12, -1), optimizer="adam"
)


@pytest.fixture(autouse=True)
def _float32():
    torch.set_default_dtype(torch.float32)


def same_results(a: dict, b: dict) -> None:
    for key in set(a) - TIMING:
        assert a[key] == b[key], key


class Crash(Exception):
    pass


def test_crash_after_a_checkpoint_then_resume_is_identical(tmp_path, monkeypatch):
    reference = train(CFG)
    ckpt = tmp_path / "run.ckpt"
    real_save = loop_module.save_checkpoint
    saves = []

    def save_then_crash(*args, **kwargs):
        real_save(*args, **kwargs)
        saves.append(args[2])
        if len(saves) == 2:
            raise Crash  # as if killed right after the second checkpoint

    monkeypatch.setattr(loop_module, "save_checkpoint", save_then_crash)
    with pytest.raises(Crash):
        train(CFG, checkpoint=ckpt, checkpoint_every=10)
    monkeypatch.setattr(loop_module, "save_checkpoint", real_save)
    assert saves == [10, 20] and ckpt.exists()
    resumed = train(CFG, checkpoint=ckpt, checkpoint_every=10)
    assert resumed["resumed_from_step"] == 20
    same_results(reference, resumed)


def test_checkpoint_holds_only_plain_data_and_tensors(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    train(RunConfig(**{**CFG.to_dict(), "steps": 12, "probe_at": (0,)}), checkpoint=ckpt, checkpoint_every=5)
    state = torch.load(ckpt, weights_only=True)  # no arbitrary pickle needed
    assert (
        state["next_step"] == 10
        and state["config_hash"] == RunConfig(**{**CFG.to_dict(), "steps": 12, "probe_at": (0,)}).config_hash()
    )


def test_corrupt_checkpoint_is_refused_and_the_run_starts_over(tmp_path, capsys):
    ckpt = tmp_path / "run.ckpt"
    ckpt.write_bytes(b"\x80\x04 not a checkpoint")
    assert load_checkpoint(ckpt, CFG) is None
    assert "unreadable" in capsys.readouterr().err
    result = train(CFG, checkpoint=ckpt, checkpoint_every=10)
    assert result["resumed_from_step"] is None
    same_results(train(CFG), result)


def test_checkpoint_of_another_config_is_refused(tmp_path, capsys):
    ckpt = tmp_path / "run.ckpt"
    other = RunConfig(**{**CFG.to_dict(), "lr": 0.01})
    train(other, checkpoint=ckpt, checkpoint_every=10)
    assert ckpt.exists()
    assert load_checkpoint(ckpt, CFG) is None
    err = capsys.readouterr().err
    assert "another configuration" in err and "lr" in err
    result = train(CFG, checkpoint=ckpt, checkpoint_every=10)
    assert result["resumed_from_step"] is None


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_gives_the_uninterrupted_result(tmp_path):
    """The real thing: kill -9 the CLI once a checkpoint exists, run the same command again."""
    args = ["--task", "adding", "--cell", "gru", "--length", "40", "--hidden", "32", "--steps", "200",
            "--clip", "1", "--eval-every", "100", "--threads", "1"]  # fmt: skip
    cli = [sys.executable, "-m", "rnnbench.cli", "train"]
    ref = tmp_path / "ref.json"
    subprocess.run([*cli, *args, "--out", str(ref)], check=True, timeout=300, capture_output=True)
    out = tmp_path / "run.json"
    ckpt = Path(str(out) + ".ckpt")
    proc = subprocess.Popen([*cli, *args, "--checkpoint-every", "20", "--out", str(out)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    if not ckpt.exists():
        pytest.fail("no checkpoint appeared before the run ended")
    assert not out.exists()  # killed: no half-written result
    subprocess.run(
        [*cli, *args, "--checkpoint-every", "20", "--out", str(out)], check=True, timeout=300, capture_output=True
    )
    a, b = json.loads(ref.read_text()), json.loads(out.read_text())
    assert b["resumed_from_step"] is not None and b["resumed_from_step"] > 0
    same_results(a, b)
    assert not ckpt.exists() and not list(tmp_path.glob("*.part"))
