"""The one TF32 policy (rnnbench.core.precision): which switches it sets, that it restores them, that
training and the benchmark run under it and record the mode, and that a throughput row's ceiling
is measured in the row's own mode (faked to tf32 here, where no GPU is; the real one is a CUDA test).

The switches are torch's own flags (``torch.backends.cuda.matmul.allow_tf32``, cuDNN's
``allow_tf32``); they can be read and set on a CPU build of torch, which is what lets the rule be
tested without a GPU."""

from __future__ import annotations

import pytest
import torch

from rnnbench.bench import throughput
from rnnbench.bench.throughput import ThroughputConfig, gemm_ceiling, measure
from rnnbench.core.precision import MATH_MODES, math_mode, math_mode_scope, tf32_policy
from rnnbench.training.config import ConfigError, RunConfig
from rnnbench.training.train import train

TINY = {"length": 8, "batch": 4, "hidden": 16, "repeats": 2, "warmup": 1}


def switches() -> tuple[bool, bool]:
    return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32


@pytest.fixture
def torch_defaults():
    """torch's own defaults, whatever an earlier test left: matmul fp32, cuDNN TF32 (its default)."""
    before = switches()
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = False, True
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


@pytest.mark.parametrize(
    "device, allow, mode",
    [
        ("cpu", False, "fp32"),
        ("cpu", True, "fp32"),
        ("cuda", False, "fp32"),
        ("cuda", True, "tf32"),
        ("cuda:1", True, "tf32"),
    ],
)
def test_math_mode_is_tf32_only_where_allowed_on_cuda(device, allow, mode):
    assert math_mode(device, allow) == mode


def test_the_policy_turns_cudnn_tf32_off_unless_allowed_and_restores(torch_defaults):
    assert switches() == (False, True)  # torch's defaults: the mixed state the H200 tables were measured in
    with tf32_policy("cuda", False) as mode:
        assert mode == "fp32" and switches() == (False, False)
    assert switches() == (False, True)
    with tf32_policy("cuda", True) as mode:
        assert mode == "tf32" and switches() == (True, True)
    with tf32_policy("cpu", True) as mode:  # no TF32 on a CPU: nothing to allow
        assert mode == "fp32" and switches() == (False, False)
    with pytest.raises(RuntimeError), tf32_policy("cuda", True):
        raise RuntimeError("a failing run")
    assert switches() == (False, True)


def test_math_mode_scope_refuses_an_unknown_mode():
    with pytest.raises(ConfigError, match="'bf16'.*fp32, tf32"), math_mode_scope("bf16"):
        pass
    assert MATH_MODES == ("fp32", "tf32")


def test_allow_tf32_is_a_later_field_and_checked():
    assert "allow_tf32" not in RunConfig().to_dict()  # every existing run keeps its config hash
    assert RunConfig().config_hash() == RunConfig(allow_tf32=False).config_hash()
    assert RunConfig(allow_tf32=True).to_dict()["allow_tf32"] is True
    assert RunConfig(allow_tf32=True).config_hash() != RunConfig().config_hash()
    with pytest.raises(ConfigError, match="allow_tf32 must be true or false, got 'yes'"):
        RunConfig(allow_tf32="yes")


def test_training_runs_under_the_policy_and_records_the_mode(monkeypatch, torch_defaults):
    """Inside the training loop cuDNN's TF32 is off (CPU: nothing allowed), and the record says fp32."""
    import rnnbench.training.train as train_module

    seen = []
    real = train_module.train_loop

    def spy(*args, **kwargs):
        seen.append(switches())
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_loop", spy)
    cfg = RunConfig(steps=2, hidden=8, batch=4, length=10, eval_every=1, eval_batch=8, probe_at=(), allow_tf32=True)
    record = train(cfg)
    assert seen == [(False, False)]
    assert record["env"]["math_mode"] == "fp32" and record["config"]["allow_tf32"] is True
    assert switches() == (False, True)  # restored


@pytest.mark.parametrize("allow", [False, True])
def test_a_cpu_row_and_its_ceiling_are_fp32(allow):
    row = measure(ThroughputConfig(cell="rnn", backend="fused", allow_tf32=allow, **TINY))
    assert row.status == "ok", row.reason
    assert row.math_mode == row.ceiling_math_mode == "fp32"
    rec = row.to_record()
    assert rec["math_mode"] == rec["ceiling_math_mode"] == "fp32" and rec["allow_tf32"] is allow


@pytest.mark.parametrize("mode", ["fp32", "tf32"])
def test_the_rows_mode_decides_which_ceiling_is_measured(monkeypatch, mode, torch_defaults):
    """As on a GPU: the mode the case runs in (faked here) is the mode its ceiling GEMMs run in, with
    the switches set to it while they run, so fraction_of_ceiling compares like with like."""
    calls, flags_in_mm = [], []
    real_mm = torch.mm

    def mm(*args, **kwargs):
        flags_in_mm.append(switches())
        return real_mm(*args, **kwargs)

    def ceiling(*args):
        calls.append(args)
        return gemm_ceiling.__wrapped__(*args, repeats=1)

    monkeypatch.setattr(throughput, "math_mode", lambda device, allow: "tf32" if allow else "fp32")
    monkeypatch.setattr(throughput, "gemm_ceiling", ceiling)
    row = measure(ThroughputConfig(cell="lstm", backend="fused", allow_tf32=mode == "tf32", **TINY))
    assert row.status == "ok", row.reason
    assert row.math_mode == row.ceiling_math_mode == mode
    assert [c[-1] for c in calls] == [mode, mode]  # the step and the input GEMM shapes
    monkeypatch.setattr(torch, "mm", mm)
    gemm_ceiling.__wrapped__(8, 8, 8, "cpu", "float32", 1, mode, repeats=1)
    assert flags_in_mm and set(flags_in_mm) == {(mode == "tf32",) * 2}
    assert switches() == (False, True)  # restored after the ceiling


def test_ceiling_cache_keeps_the_modes_apart():
    gemm_ceiling.cache_clear()
    gemm_ceiling(8, 8, 8, "cpu", "float32", 1, "fp32", 1)
    gemm_ceiling(8, 8, 8, "cpu", "float32", 1, "tf32", 1)
    assert gemm_ceiling.cache_info().misses == 2


def test_cli_flags_reach_the_configs(tmp_path):
    import json

    from rnnbench.cli import build_parser, main

    p = build_parser()
    for command in (["train", "--steps", "1", "--clip", "none"], ["gradflow"]):
        base = [*command, "--cell", "rnn", "--length", "10", "--out", str(tmp_path / "x")]
        assert p.parse_args([*base, "--allow-tf32"]).allow_tf32 is True
        assert p.parse_args(base).allow_tf32 is False
    args = p.parse_args(["throughput", "--preset", "default", "--allow-tf32", "--out", str(tmp_path / "t.csv")])
    assert args.allow_tf32 is True
    out = tmp_path / "run.json"
    argv = ["train", "--cell", "rnn", "--length", "10", "--hidden", "8", "--batch", "4", "--steps", "2"]
    assert (
        main([*argv, "--clip", "none", "--eval-batch", "8", "--probe-at", "none", "--allow-tf32", "--out", str(out)])
        == 0
    )
    record = json.loads(out.read_text())
    assert record["config"]["allow_tf32"] is True and record["env"]["math_mode"] == "fp32"  # CPU: no TF32


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("allow", [False, True])
def test_cudnn_rows_stay_below_their_same_mode_ceiling_on_cuda(allow):
    """The H200 fault: cuDNN's LSTM ran TF32 against a strict-fp32 ceiling (fractions up to 4.2).
    DeepBench's LSTM 1024, B = 128, T = 25 read 1.77 there."""
    cfg = ThroughputConfig(cell="lstm", backend="fused", length=25, batch=128, hidden=1024, device="cuda",
                           allow_tf32=allow, repeats=5, warmup=2)  # fmt: skip
    row = measure(cfg)
    assert row.status == "ok", row.reason
    assert row.math_mode == row.ceiling_math_mode == ("tf32" if allow else "fp32")
    assert row.fraction_of_ceiling <= 1.0, row
