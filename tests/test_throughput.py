"""The throughput harness: FLOP formula and units, the ceiling, rows that explain instead of
crashing, agreement with a plain hand-written timing loop, and the CLI's input checks.

Timing tests run on a shared, noisy machine: one thread (a loaded 2-core machine makes OpenMP
barriers stall), medians of interleaved runs, and tolerances of 2×, not percent."""

from __future__ import annotations

import statistics
import time

import pandas as pd
import pytest
import torch
from torch import nn

from rnnbench.bench import flops
from rnnbench.bench.throughput import (
    PRESETS,
    ThroughputConfig,
    expand,
    fastest,
    measure,
    preset,
    sweep,
    write_sweep,
)
from rnnbench.cli import main
from rnnbench.study.figures.throughput import figure, write_figure
from rnnbench.training.config import ConfigError

TINY = {"length": 8, "batch": 4, "hidden": 16, "repeats": 3, "warmup": 1}


def test_flops_known_shapes():
    # fastrnns-like: I = H = 128, B = 64, T = 100
    assert flops.forward_flops("lstm", 128, 128, 64, 100) == 2 * 4 * 128 * 256 * 64 * 100 == 1_677_721_600
    assert flops.forward_flops("lstm", 128, 128, 64, 100, convention="recurrent") == 838_860_800
    assert flops.forward_flops("rnn", 10, 20, 1, 1) == 2 * 20 * 30
    assert flops.forward_flops("gru", 10, 20, 1, 1) == 3 * 2 * 20 * 30
    # layer 2 reads the hidden state of layer 1 (both directions)
    assert flops.forward_flops("rnn", 10, 20, 1, 1, layers=2) == 2 * 20 * 30 + 2 * 20 * 40
    assert flops.forward_flops("rnn", 10, 20, 1, 1, layers=2, directions=2) == 2 * (2 * 20 * 30) + 2 * (2 * 20 * 60)
    assert flops.training_flops("lstm", 128, 128, 64, 100) == 3 * 1_677_721_600
    # DeepBench LSTM 1024/128/25, recurrent only: 2·4·1024²·128·25 FLOPs per forward pass
    assert flops.forward_flops("lstm", 1024, 1024, 128, 25, convention="recurrent") == 26_843_545_600


def test_row_units_are_consistent(one_thread):
    row = measure(ThroughputConfig(cell="lstm", backend="fused", **TINY))
    assert row.status == "ok", row.reason
    c = row.config
    assert row.tokens_per_s == pytest.approx(c.batch * c.length / row.fwd_bwd_s)
    work = flops.training_flops("lstm", c.input_size, c.hidden, c.batch, c.length)
    assert row.gflops == pytest.approx(work / row.fwd_bwd_s / 1e9)
    assert row.fraction_of_ceiling == pytest.approx(row.gflops / row.ceiling_gflops)
    assert row.ceiling_gflops == max(row.ceiling_step_gflops, row.ceiling_input_gflops)
    assert 0 < row.fwd_s and 0 < row.train_fwd_s and 0 < row.bwd_s
    assert row.fwd_bwd_min_s <= row.fwd_bwd_s
    assert row.peak_mem_mb > 0 and row.peak_mem_kind == "cpu_peak_rss_process"
    rec = row.to_record()
    for key in ("cell", "backend", "length", "batch", "hidden", "input_size", "layers", "dtype", "device"):
        assert key in rec
    for key in ("cpu", "torch_threads", "torch", "mkl", "onednn", "cuda", "cudnn", "gpu", "loadavg_1m", "busy"):
        assert key in rec
    assert rec["torch_threads"] == 1


def test_threads_field_sets_and_restores_torch_threads():
    before = torch.get_num_threads()
    row = measure(ThroughputConfig(cell="rnn", backend="fused", threads=1, **TINY))
    assert row.machine["torch_threads"] == 1 and torch.get_num_threads() == before


@pytest.mark.parametrize("backend", ["fused", "explicit-bptt"])
def test_gflops_stay_below_the_measured_ceiling(backend, one_thread):
    """Achieved training GFLOP/s must not beat the machine's best GEMM rate by more than noise."""
    cfg = ThroughputConfig(cell="lstm", backend=backend, length=20, batch=32, hidden=64, repeats=5, warmup=2)
    row = measure(cfg)
    assert row.status == "ok", row.reason
    assert row.fraction_of_ceiling < 1.5, row


def _hand_loop(lstm: nn.LSTM, x, grad, repeats: int) -> float:
    """What anyone would write: time forward+backward of nn.LSTM with perf_counter."""
    for _ in range(2):
        lstm(x)[0].backward(grad)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        lstm(x)[0].backward(grad)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def test_fused_lstm_timing_agrees_with_a_hand_written_loop(one_thread):
    cfg = ThroughputConfig(cell="lstm", backend="fused", length=50, batch=32, hidden=64, repeats=7, warmup=2)
    torch.manual_seed(0)
    # float32 like the harness (tests/conftest.py makes float64 the default elsewhere)
    lstm = nn.LSTM(64, 64, batch_first=True, dtype=torch.float32)
    x = torch.randn(32, 50, 64, dtype=torch.float32, requires_grad=True)
    grad = torch.randn(32, 50, 64, dtype=torch.float32)
    harness, hand = [], []
    for _ in range(3):  # interleaved, so a burst of load from elsewhere hits both
        harness.append(measure(cfg).fwd_bwd_s)
        hand.append(_hand_loop(lstm, x, grad, 7))
    ratio = statistics.median(harness) / statistics.median(hand)
    assert 0.5 < ratio < 2.0, (harness, hand)


def test_unsupported_cases_give_rows_not_crashes(one_thread):
    notes_gru = measure(ThroughputConfig(cell="gru", backend="fused", reset_after=False, **TINY))
    assert notes_gru.status == "unsupported" and "reset-after" in notes_gru.reason
    long = measure(ThroughputConfig(cell="lstm", backend="compiled", compile_max_steps=4, **TINY))
    assert long.status == "unsupported" and "compile_max_steps" in long.reason
    assert long.to_record()["status"] == "unsupported"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.compile internals
def test_compiled_backend_runs_a_short_case(one_thread):
    row = measure(ThroughputConfig(cell="gru", backend="compiled", length=3, batch=2, hidden=8, repeats=2, warmup=1))
    assert row.status == "ok", row.reason
    assert "torch.compile" in row.kernel


def test_kernels_are_named_honestly_on_cpu(one_thread):
    rows = {c: measure(ThroughputConfig(cell=c, backend="fused", **TINY)) for c in ("rnn", "lstm", "gru")}
    assert "oneDNN fused LSTM" in rows["lstm"].kernel
    for c in ("rnn", "gru"):  # nn.RNN/nn.GRU on CPU: a C++ loop of ordinary ops
        assert "not fused" in rows[c].kernel


def test_expand_grid_and_checks():
    cfgs = expand({"cell": ["lstm", "gru"], "backend": "fused", "length": [5, 10], "hidden": 8})
    assert len(cfgs) == 4 and {c.cell for c in cfgs} == {"lstm", "gru"}
    with pytest.raises(ConfigError, match="unknown throughput key"):
        expand({"cel": "lstm"})
    with pytest.raises(ConfigError, match="hidden"):
        expand({"hidden": 0})
    with pytest.raises(ConfigError, match="backend"):
        expand({"backend": "cudnn"})


def test_expand_a_preset_key_with_other_keys():
    cfgs = expand({"preset": "default", "backend": ["fused", "explicit-bptt"], "threads": 1})
    assert len(cfgs) == 2 * len(PRESETS["default"]()) and all(c.threads == 1 for c in cfgs)


def test_write_sweep_and_figure(tmp_path, one_thread):
    write_sweep({"cell": "lstm", "backend": ["fused", "explicit-bptt"], **TINY}, tmp_path / "tp.csv")
    assert len(pd.read_csv(tmp_path / "tp.csv")) == 2
    write_figure(tmp_path / "tp.csv", tmp_path / "tp.png")
    assert (tmp_path / "tp.png").stat().st_size > 0


def test_deepbench_preset_shapes():
    cases = preset("deepbench", backend="fused")
    assert len(cases) == 52
    assert {"cell": "lstm", "hidden": 1024, "batch": 128, "length": 25, "backend": "fused"} in cases
    assert {c["cell"] for c in cases} == {"rnn", "lstm", "gru"}
    assert set(PRESETS) >= {"deepbench", "default"}


def test_sweep_returns_one_row_per_case(one_thread):
    df = sweep({"cell": ["rnn", "lstm"], "backend": ["fused", "explicit-bptt"], **TINY})
    assert isinstance(df, pd.DataFrame) and len(df) == 4
    assert (df["status"] == "ok").all()
    assert {"fwd_s", "fwd_bwd_s", "tokens_per_s", "gflops", "ceiling_gflops", "fraction_of_ceiling"} <= set(df)


def test_cli_writes_csv(tmp_path, capsys):
    out = tmp_path / "tp.csv"
    args = ["throughput", "--cell", "gru", "--backend", "fused", "explicit-bptt", "--length", "6", "--batch", "3"]
    args += ["--hidden", "8", "--repeats", "2", "--warmup", "1", "--threads", "1", "--out", str(out)]
    assert main(args) == 0
    df = pd.read_csv(out)
    assert list(df["backend"]) == ["fused", "explicit-bptt"] and (df["status"] == "ok").all()
    assert not [p for p in tmp_path.iterdir() if p.name != "tp.csv"]  # no temporary files left


@pytest.mark.parametrize(
    "bad",
    [
        ["--cell", "lstm", "--length", "0", "--batch", "2", "--hidden", "4"],
        ["--cell", "lstm", "--length", "5", "--batch", "2", "--hidden", "4", "--backend", "cudnn"],
        ["--cell", "lstm", "--length", "5", "--batch", "2"],  # --hidden missing
        ["--cell", "lstm", "--length", "x", "--batch", "2", "--hidden", "4"],
        ["--cell", "lstm", "--length", "5", "--batch", "2", "--hidden", "4", "--repeats", "0"],
    ],
)
def test_cli_bad_input_one_line_exit_2_no_files(bad, tmp_path, capsys):
    out = tmp_path / "tp.csv"
    with pytest.raises(SystemExit) as e:
        main(["throughput", *bad, "--out", str(out)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_cli_refuses_cuda_without_a_gpu(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(
            [
                "throughput",
                "--cell",
                "lstm",
                "--length",
                "5",
                "--batch",
                "2",
                "--hidden",
                "4",
                "--device",
                "cuda",
                "--out",
                str(tmp_path / "tp.csv"),
            ]
        )
    assert e.value.code == 2 and "cuda" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_fastest_table_and_figure(tmp_path):
    df = pd.DataFrame(
        {
            "status": ["ok", "ok", "unsupported"],
            "device": ["cpu"] * 3,
            "cell": ["lstm"] * 3,
            "length": [10] * 3,
            "batch": [4] * 3,
            "hidden": [8] * 3,
            "backend": ["fused", "explicit-bptt", "compiled"],
            "kernel": ["a", "b", "c"],
            "fwd_bwd_s": [1.0, 1.5, float("nan")],
            "tokens_per_s": [40.0, 26.7, float("nan")],
            "gflops": [2.0, 1.3, float("nan")],
            "ceiling_gflops": [10.0, 10.0, float("nan")],
        }
    )
    table = fastest(df)
    assert list(table["backend"]) == ["fused", "explicit-bptt"]
    assert list(table["ratio_to_fastest"]) == [1.0, 1.5]
    figure(df).savefig(tmp_path / "tp.png")


def test_cli_preset_cases_are_picked_by_shape_flags(tmp_path):
    out = tmp_path / "db.csv"
    args = ["throughput", "--preset", "deepbench", "--cell", "gru", "--hidden", "512", "--backend", "fused"]
    args += ["explicit-bptt", "--repeats", "1", "--warmup", "0", "--threads", "1", "--flops", "recurrent"]
    assert main([*args, "--out", str(out)]) == 0
    df = pd.read_csv(out)  # DeepBench's (512, 32, 1, gru) case, on two backends
    assert len(df) == 2 and set(df["length"]) == {1} and set(df["batch"]) == {32}
    assert (df["flop_convention"] == "recurrent").all()
    with pytest.raises(SystemExit) as e:
        main(
            ["throughput", "--preset", "deepbench", "--cell", "gru", "--hidden", "7", "--out", str(tmp_path / "x.csv")]
        )
    assert e.value.code == 2 and not (tmp_path / "x.csv").exists()
