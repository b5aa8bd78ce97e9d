"""A study on a GPU names the GPU, CUDA, cuDNN and the math mode wherever it names the CPU: REPORT.md's
provenance table and the figures' titles. Tested with a real (CPU) run record whose provenance is
rewritten to say what the H200 wrote (tests/../shared/measurements: NVIDIA H200, CUDA 13.0, cuDNN
91900), since no GPU is here; the CPU study's own record is the control."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rnnbench.core.storage import write_json
from rnnbench.study.figures import annotate, style, training
from rnnbench.study.report.closing import provenance_section
from rnnbench.study.report.document import read_tables
from rnnbench.study.tables.aggregate import build_tables, write_tables
from rnnbench.study.tables.labels import cudnn_text, gpu_text, with_hardware
from rnnbench.training.config import RunConfig
from rnnbench.training.train import train

RUN = "task~adding/cell~rnn/length~5/clip~none/seed~0"
H200 = {"device": "cuda", "device_name": "NVIDIA H200", "cuda": "13.0", "cudnn": 91900, "math_mode": "tf32"}


@pytest.fixture(scope="module")
def record() -> dict:
    cfg = RunConfig(task="adding", cell="rnn", length=5, steps=3, hidden=4, batch=4, eval_every=2, eval_batch=8)
    return train(cfg, progress=False)


def tables_of(record: dict, root: Path) -> dict[str, pd.DataFrame | None]:
    """The study's CSV tables written from one record, read back as the report reads them."""
    path = root / "runs" / f"{RUN}.json"
    write_json(path, record)
    outputs = {name: str(root / f"{name}.csv") for name in ("runs", "gradflow", "curves", "timings", "skipped")}
    write_tables([str(path)], outputs)
    return read_tables(outputs) | {"paths": outputs}


def on_gpu(record: dict, **env) -> dict:
    gpu = json.loads(json.dumps(record))
    gpu["env"].update(H200, **env)
    return gpu


@pytest.mark.parametrize("version, text", [(91900, "9.19.0"), ("91900", "9.19.0"), (8902, "8.9.2"), ("x", "x")])
def test_cudnn_versions_read_as_versions(version, text):
    assert cudnn_text(version) == text


def test_a_cpu_study_names_its_cpu_and_fp32_only(record, tmp_path):
    assert record["env"]["math_mode"] == "fp32"
    data = tables_of(record, tmp_path)
    t = data["timings"]
    assert t["math_mode"].tolist() == ["fp32"] and t["gpu"].isna().all() and t["cudnn"].isna().all()
    text = provenance_section(data["runs"], "abc", t)
    assert "| math mode (float32 products) | fp32 (on a CPU always: TF32 exists on CUDA GPUs only) |" in text
    assert "GPU" not in text.replace("CUDA GPUs", "") and "cuDNN" not in text
    runs = with_hardware(data["runs"], t)
    assert gpu_text(runs) == "" and "(" not in style.run_details(runs)


def test_a_gpu_study_names_gpu_cuda_cudnn_and_math_mode(record, tmp_path):
    data = tables_of(on_gpu(record), tmp_path)
    t = data["timings"]
    assert t[["gpu", "cuda", "cudnn", "math_mode"]].iloc[0].tolist() == ["NVIDIA H200", "13.0", "91900", "tf32"]
    assert "gpu" not in data["runs"] and "math_mode" not in data["runs"]  # runs.csv stays comparable
    text = provenance_section(data["runs"], "abc", t)
    for row in ("| device | cuda |", "| GPU | NVIDIA H200 |", "| CUDA | 13.0 |", "| cuDNN | 9.19.0 |"):
        assert row in text, row
    assert "| math mode (float32 products) | tf32 (tf32: TF32 allowed" in text
    runs = with_hardware(data["runs"], t)
    assert "cuda (NVIDIA H200, CUDA 13.0, cuDNN 9.19.0, tf32)" in style.run_details(runs)


def test_a_record_from_before_the_math_mode_says_not_recorded(record, tmp_path):
    old = on_gpu(record)
    del old["env"]["math_mode"]
    data = tables_of(old, tmp_path)
    text = provenance_section(data["runs"], "h", data["timings"])
    assert "| math mode (float32 products) | not recorded (runs made before it was: torch's defaults" in text
    assert "cuDNN 9.19.0, math mode not recorded)" in style.run_details(with_hardware(data["runs"], data["timings"]))


def test_figure_titles_name_the_gpu(record, tmp_path, monkeypatch):
    """The pipeline's figure rules give the timings table to ``training.render``: its title says the GPU."""
    titles = []
    real = annotate.suptitle
    monkeypatch.setattr(
        annotate, "suptitle", lambda fig, what, details="": titles.append(details) or real(fig, what, details)
    )
    paths = tables_of(on_gpu(record, math_mode="fp32"), tmp_path)["paths"]
    tables = {k: paths[k] for k in ("runs", "curves", "timings")}
    training.render("fig5_learning_curves", tables, str(tmp_path / "f.png"), str(tmp_path / "f.pdf"), "h", {})
    assert titles and "cuda (NVIDIA H200, CUDA 13.0, cuDNN 9.19.0, fp32)" in titles[0]
    assert build_tables([str(tmp_path / "runs" / f"{RUN}.json")])["runs"]["device_used"].tolist() == ["cuda"]
