"""`rnnbench compare`: throughput tables of two machines side by side, shapes matched, bad input refused."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest

from rnnbench.bench.compare import CompareError, compare
from rnnbench.cli import main


def table(cpu: str, device: str, scale: float, lengths=(25, 100), gpu: str = "", threads: int = 1) -> pd.DataFrame:
    """A throughput table as `rnnbench throughput` writes it, for a machine ``scale`` × as fast."""
    rows = []
    for length in lengths:
        for cell, gates in (("lstm", 4), ("gru", 3)):
            for backend, speed in (("fused", 1.0), ("explicit-bptt", 0.6)):
                tokens = 1000.0 * scale * speed * (1 + length / 100)
                gflops = tokens * 1e-3 * gates
                ceiling = 40.0 * scale
                rows.append(
                    {
                        "cell": cell, "backend": backend, "length": length, "batch": 64, "hidden": 128,
                        "input_size": 128, "layers": 1, "dtype": "float32", "flop_convention": "total",
                        "status": "ok", "reason": "", "device": device, "kernel": f"{backend} kernel",
                        "fwd_bwd_s": 64 * length / tokens, "tokens_per_s": tokens, "gflops": gflops,
                        "ceiling_gflops": ceiling, "fraction_of_ceiling": gflops / ceiling, "busy": False,
                        "cpu": cpu, "gpu": gpu, "torch": "2.13.0+cpu", "torch_threads": threads,
                    }
                )  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def two_machines(tmp_path):
    a, b = tmp_path / "laptop" / "throughput.csv", tmp_path / "server" / "throughput.csv"
    a.parent.mkdir()
    b.parent.mkdir()
    table("Intel Core i7-1185G7", "cpu", 1.0).to_csv(a, index=False)
    # the server also measured T = 400, which the laptop did not: compared nowhere, and said so
    table("AMD EPYC 7B13", "cuda", 3.0, lengths=(25, 100, 400), gpu="NVIDIA H200").to_csv(b, index=False)
    return a, b


def test_two_machines_side_by_side(two_machines, tmp_path, capsys):
    a, b = two_machines
    out = tmp_path / "cmp"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    df = pd.read_csv(out / "compare.csv")
    # machines named from their recorded provenance, in the order given
    assert list(dict.fromkeys(df["machine"])) == [
        "Intel Core i7-1185G7 (cpu, 1 thread, torch 2.13.0+cpu)",
        "NVIDIA H200 (cuda, torch 2.13.0+cpu)",  # a GPU is named by its GPU, not the host's CPU
    ]
    # only the shapes both measured: 2 lengths x 2 cells x 2 backends, on each machine
    assert sorted(df["length"].unique()) == [25, 100] and len(df) == 2 * 2 * 2 * 2
    server = df[df["machine"].str.startswith("NVIDIA H200")]
    assert server["tokens_per_s_vs_first"].round(9).eq(3.0).all()
    laptop = df[df["machine"].str.startswith("Intel")]
    assert laptop["tokens_per_s_vs_first"].eq(1.0).all()
    # each machine against its own ceiling: the same fraction, since both scale together here
    merged = laptop.merge(server, on=["cell", "backend", "length"], suffixes=("_a", "_b"))
    assert (merged["fraction_of_ceiling_a"] - merged["fraction_of_ceiling_b"]).abs().max() < 1e-12
    left = pd.read_csv(out / "left_out.csv")
    assert list(left["length"]) == [400] and left["only_on"].iloc[0].startswith("NVIDIA H200")
    err = capsys.readouterr().err
    assert "left out: T=400 B=64 H=128" in err and "not on every machine" in err
    img = matplotlib.image.imread(out / "compare.png")
    assert img.shape[1] > 1000 and img[..., :3].std() > 0.01
    assert b"CreationDate" not in (out / "compare.pdf").read_bytes()


def test_a_backend_missing_on_one_machine_is_left_out_and_said(two_machines, tmp_path):
    a, b = two_machines
    df = pd.read_csv(b)
    df = df[~((df["cell"] == "gru") & (df["backend"] == "explicit-bptt"))]
    df.to_csv(b, index=False)
    cmp = compare([a, b])
    assert not ((cmp.table["cell"] == "gru") & (cmp.table["backend"] == "explicit-bptt")).any()
    assert any("gru explicit-bptt" in n and "only" in n for n in cmp.notes)
    listed = cmp.left_out[(cmp.left_out["cell"] == "gru") & (cmp.left_out["backend"] == "explicit-bptt")]
    assert sorted(listed["length"].astype(int)) == [25, 100]  # the backend, at every shared shape


def test_same_machine_twice_is_told_apart_by_file(tmp_path):
    a, b = tmp_path / "run1.csv", tmp_path / "run2.csv"
    table("AMD EPYC", "cpu", 1.0).to_csv(a, index=False)
    table("AMD EPYC", "cpu", 1.1).to_csv(b, index=False)
    cmp = compare([a, b])
    assert len(set(cmp.machines)) == 2 and "run2.csv" in cmp.machines[1]


def test_no_shape_in_common_is_refused(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    table("A", "cpu", 1.0, lengths=(25,)).to_csv(a, index=False)
    table("B", "cpu", 1.0, lengths=(50,)).to_csv(b, index=False)
    with pytest.raises(SystemExit) as e:
        main(["compare", str(a), str(b), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "no shape in common" in err and "T=25" in err and "T=50" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "content, why",
    [
        ("run,task,cell\nx,adding,lstm\n", "not a throughput table (no column backend"),  # runs.csv, say
        ("", "not a throughput table (not a readable CSV"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a throughput table"),
    ],
)
def test_a_file_that_is_not_a_throughput_table_is_refused_by_name(two_machines, tmp_path, capsys, content, why):
    a, _ = two_machines
    bad = tmp_path / "runs.csv"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(SystemExit) as e:
        main(["compare", str(a), str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert str(bad) in err and why in err
    assert not (tmp_path / "out").exists()


def test_one_table_or_a_missing_file_is_refused(two_machines, tmp_path):
    a, _ = two_machines
    with pytest.raises(CompareError, match="at least two"):
        compare([a])
    with pytest.raises(CompareError, match="nope.csv: no such file"):
        compare([a, tmp_path / "nope.csv"])


def test_a_table_with_only_failed_cases_is_refused(two_machines, tmp_path):
    a, b = two_machines
    df = pd.read_csv(b)
    df["status"] = "unsupported"
    df.to_csv(b, index=False)
    with pytest.raises(CompareError, match="no measured case"):
        compare([a, b])


H200 = Path(__file__).resolve().parents[1] / "docs" / "measurements" / "h200-2026-12-04"


def cpu_twin(gpu_table: Path, out: Path) -> Path:
    """The H200 table's cases as if measured on a CPU by today's tool (modes recorded, fp32)."""
    df = pd.read_csv(gpu_table)
    df["device"], df["gpu"], df["kernel"] = "cpu", "", df["backend"] + " on the CPU"
    df["math_mode"] = df["ceiling_math_mode"] = "fp32"
    df["tokens_per_s"] /= 10
    df.to_csv(out, index=False)
    return out


@pytest.mark.parametrize("name", ["throughput-study-sizes.csv", "throughput-deepbench.csv"])
def test_the_h200_tables_ceiling_fault_is_flagged(name, tmp_path):
    """Those tables hold no math mode: their cuDNN rows ran TF32 (torch's default) against a strict-fp32
    torch.mm ceiling. compare flags exactly those, and every fraction above 1 is one of them."""
    gpu = H200 / name
    cmp = compare([cpu_twin(gpu, tmp_path / "cpu.csv"), gpu])
    t = cmp.table
    on_gpu = t[t["device"] == "cuda"]
    cudnn = on_gpu["kernel"].str.contains("cuDNN")
    assert cudnn.any() and (on_gpu.loc[cudnn, "math_mode"] == "tf32").all()
    assert (on_gpu["ceiling_math_mode"] == "fp32").all()
    assert (~on_gpu.loc[cudnn, "like_for_like"]).all() and on_gpu.loc[~cudnn, "like_for_like"].all()
    assert t[t["device"] == "cpu"]["like_for_like"].all()
    assert not on_gpu[on_gpu["fraction_of_ceiling"] > 1]["like_for_like"].any()
    flagged = [n for n in cmp.notes if n.startswith("flagged")]
    assert len(flagged) == 1 and f"{int(cudnn.sum())} case(s) on NVIDIA H200" in flagged[0]


def test_recorded_same_mode_rows_are_like_for_like(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    table("Intel Core i7-1185G7", "cpu", 1.0).to_csv(a, index=False)
    gpu = table("AMD EPYC 7B13", "cuda", 30.0, gpu="NVIDIA H200")
    gpu["kernel"], gpu["math_mode"], gpu["ceiling_math_mode"] = "cuDNN fused LSTM", "tf32", "tf32"
    gpu.to_csv(b, index=False)
    cmp = compare([a, b])
    assert cmp.table["like_for_like"].all() and not [n for n in cmp.notes if n.startswith("flagged")]
    assert "NVIDIA H200 (cuda, tf32, torch 2.13.0+cpu)" in cmp.machines
