"""Aggregation: per-run JSON results -> long-form tables (runs, gradflow, curves, timings).

A diverged run stays in every table with ``status = diverged`` and its non-finite values empty
(NaN): it is never dropped and never turned into a zero. A result file that does not look like
``rnnbench.training.train.train``'s record, or that was made by another configuration than the one expected
for its run id, is refused with an error naming the file; with ``skip_bad`` it is left out instead
and listed, with the reason, in the ``skipped`` table.

Timings (and the CPU, the GPU and the math mode they were measured on) live in their own ``timings``
table: they differ from one run of the same study to the next, so keeping them out of
``runs``/``gradflow``/``curves`` lets those tables be compared byte for byte between two runs of a study.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnnbench.core.provenance import rnnbench_version
from rnnbench.core.storage import atomic_write
from rnnbench.study.pipeline.results import ResultError, load_result, run_id_of
from rnnbench.study.pipeline.sweep import parse_run_id

SUMMARY_FIELDS = (
    "config_hash",
    "status",
    "diverged_step",
    "final_loss",
    "baseline_loss",
    "loss_ratio",
    "accuracy",
    "solved",
    "steps_run",
    "clip_fraction",
    "last_finite_grad_norm",
)
# Measured times: they vary from run to run of the same config, so they go to the timings table only.
TIMING_FIELDS = ("train_seconds", "work_seconds", "wall_seconds", "throughput_seq_per_s")
# Columns that identify a run in the long tables.
KEY_FIELDS = ("task", "cell", "length", "clip", "optimizer", "init", "init_gain", "seed")
GRADFLOW_COLUMNS = ("step", "layer", "direction", "state", "t", "distance", "grad_norm", "underflow")
CURVE_COLUMNS = ("kind", "step", "loss", "loss_ratio", "grad_norm", "clipped", "accuracy")


PROVENANCE_COLUMNS = ("config_hash", "rnnbench_version")
TIMINGS_COLUMNS = (
    "run", "study", *PROVENANCE_COLUMNS, *TIMING_FIELDS, "cpu", "torch_threads", "resumed_from_step", "job", "stacked_runs",
    "gpu", "cuda", "cudnn", "math_mode",
)  # fmt: skip
SKIPPED_COLUMNS = ("path", "reason")
TABLE_NAMES = ("runs", "gradflow", "curves", "timings", "skipped")


def _version(record: dict) -> str:
    """The rnnbench version that made the run (recorded by the trainer), else the one aggregating."""
    recorded = record["env"].get("rnnbench")
    return recorded if recorded and recorded != "not installed" else rnnbench_version()


def _keys(rid: str, study: str, record: dict) -> dict[str, Any]:
    cfg = record["config"]
    return {
        "run": rid,
        "study": study,
        **{k: cfg.get(k) for k in KEY_FIELDS},
        "status": record["status"],
        "config_hash": record["config_hash"],
        "rnnbench_version": _version(record),
    }


def run_row(rid: str, study: str, record: dict) -> dict[str, Any]:
    cfg = dict(record["config"])
    cfg["probe_at"] = " ".join(map(str, cfg.get("probe_at", [])))
    env = record["env"]
    return {
        "run": rid,
        "study": study,
        **cfg,
        "cell_path": record.get("cell_path"),  # a user cell's module:Class (its config may name an entry point)
        **{k: record.get(k) for k in SUMMARY_FIELDS},
        "rnnbench_version": _version(record),
        "device_used": env.get("device"),
        # the backend that ran (auto resolved); older records: the configured one
        "backend_used": record.get("backend_used", cfg["backend"]),
        "torch_threads": env.get("torch_threads"),
        "git_commit": env.get("git_commit"),
        "torch": env.get("torch"),
    }


def timing_row(rid: str, study: str, record: dict) -> dict[str, Any]:
    """The run's measured times and the CPU they were measured on (host-dependent, run to run)."""
    env = record["env"]
    return {
        "run": rid,
        "study": study,
        "config_hash": record["config_hash"],
        "rnnbench_version": _version(record),
        **{k: record.get(k) for k in TIMING_FIELDS},
        "cpu": env.get("cpu"),
        "torch_threads": env.get("torch_threads"),
        "resumed_from_step": record.get("resumed_from_step"),
        "job": env.get("job", {}).get("id"),  # the pipeline job that trained it (jobs.csv), if any
        "stacked_runs": env.get("batched", {}).get("runs", 1),  # runs in the stack it trained in
        **gpu_facts(env),
        # fp32 or tf32 (rnnbench.core.precision); empty for a record made before it was recorded
        "math_mode": env.get("math_mode"),
    }


def gpu_facts(env: dict[str, Any]) -> dict[str, Any]:
    """The GPU a run trained on, with its CUDA and cuDNN versions; empty for a run on the CPU (a CUDA
    build of torch records its versions even there, and they say nothing about that run)."""
    on_gpu = str(env.get("device", "")).startswith("cuda")
    return {
        k: env.get(source) if on_gpu else None
        for k, source in (("gpu", "device_name"), ("cuda", "cuda"), ("cudnn", "cudnn"))
    }


def gradflow_rows(rid: str, study: str, record: dict) -> list[dict[str, Any]]:
    """One row per probed (step, layer, direction, state, t), with that probe's fitted decay."""
    keys = _keys(rid, study, record)
    fits = {(d["step"], d["layer"], d["direction"], d["state"]): d for d in record["decay"]}
    rows = []
    for r in record["gradflow"]:
        fit = fits.get((r["step"], r["layer"], r["direction"], r["state"]), {})
        rows.append(
            {
                **keys,
                **{c: r.get(c) for c in GRADFLOW_COLUMNS},
                "decay_slope": fit.get("slope"),
                "decay_factor": fit.get("factor"),
                "pascanu_eta": fit.get("pascanu_eta"),
            }
        )
    return rows


def curve_rows(rid: str, study: str, record: dict) -> list[dict[str, Any]]:
    """Training curve (loss, gradient norm before clipping, clip events) and held-out evaluations."""
    keys = _keys(rid, study, record)
    baseline = record["baseline_loss"]

    def ratio(loss):
        return None if loss is None else loss / baseline

    rows = [
        {
            **keys,
            "kind": "train",
            "step": c["step"],
            "loss": c["loss"],
            "loss_ratio": ratio(c["loss"]),
            "grad_norm": c["grad_norm"],
            "clipped": c["clipped"],
            "accuracy": None,
        }  # fmt: skip
        for c in record["curve"]
    ]
    rows += [
        {
            **keys,
            "kind": "eval",
            "step": e["step"],
            "loss": e["loss"],
            "loss_ratio": ratio(e["loss"]),
            "grad_norm": None,
            "clipped": None,
            "accuracy": e["accuracy"],
        }  # fmt: skip
        for e in record["eval_curve"]
    ]
    return rows


def check_config_hash(path: str | os.PathLike, rid: str, record: dict, expected: dict[str, str] | None) -> None:
    """Refuse a result made by another config than the one expected for its run id: Snakemake's
    params trigger would normally re-run it, but not under ``--rerun-triggers mtime`` or for a file
    copied in from another results folder, and mixing it in silently would corrupt the tables."""
    if expected is None or rid not in expected or record["config_hash"] == expected[rid]:
        return
    raise ResultError(
        f"{path}: made by another configuration (config_hash {record['config_hash']}, but this config expects "
        f"{expected[rid]} for run {rid}); delete the file and run the pipeline again to retrain it"
    )


def _run_id(path: str, root: str | os.PathLike | None) -> tuple[str, str]:
    try:
        rid = Path(os.path.relpath(path, root)).with_suffix("").as_posix() if root is not None else run_id_of(path)
        study, _ = parse_run_id(rid)
    except ValueError as e:
        raise ResultError(f"{path}: {e}") from None
    return rid, study


def build_tables(
    paths: list[str],
    expected: dict[str, str] | None = None,
    skip_bad: bool = False,
    root: str | os.PathLike | None = None,
) -> dict[str, pd.DataFrame]:
    """Read every result and return the ``runs``, ``gradflow``, ``curves``, ``timings`` and ``skipped``
    tables. ``expected`` maps run ids to the config hash this config gives them; a result with another
    is refused. A bad file raises a ResultError naming it, or with ``skip_bad`` is left out and listed in
    ``skipped``. Run ids are the paths below the last ``runs`` directory, or below ``root`` if given."""
    runs, gradflow, curves, timings, skipped = [], [], [], [], []
    for path in sorted(map(str, paths)):
        try:
            record = load_result(path)
            rid, study = _run_id(path, root)
            check_config_hash(path, rid, record, expected)
        except ResultError as e:
            if not skip_bad:
                raise
            # the message starts with the path; the table holds it once, in its own column
            skipped.append({"path": path, "reason": str(e).removeprefix(f"{path}: ")})
            continue
        runs.append(run_row(rid, study, record))
        gradflow += gradflow_rows(rid, study, record)
        curves += curve_rows(rid, study, record)
        timings.append(timing_row(rid, study, record))
    keys = ["run", "study", *KEY_FIELDS, "status", *PROVENANCE_COLUMNS]
    return {
        "runs": pd.DataFrame.from_records(runs),
        "gradflow": pd.DataFrame.from_records(
            gradflow,
            columns=[*keys, *GRADFLOW_COLUMNS, "decay_slope", "decay_factor", "pascanu_eta"],
        ),
        "curves": pd.DataFrame.from_records(curves, columns=[*keys, *CURVE_COLUMNS]),
        "timings": pd.DataFrame.from_records(timings, columns=list(TIMINGS_COLUMNS)),
        "skipped": pd.DataFrame.from_records(skipped, columns=list(SKIPPED_COLUMNS)),
    }


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    atomic_write(path, lambda f: df.to_csv(f, index=False))


def write_tables(
    paths: list[str],
    outputs: dict[str, str],
    expected: dict[str, str] | None = None,
    skip_bad: bool = False,
    root: str | os.PathLike | None = None,
) -> dict[str, pd.DataFrame]:
    """Build the tables and write each one named in ``outputs`` (a key of :data:`TABLE_NAMES`).
    Every result is read and checked before the first table is written, so a refused one leaves
    no table behind."""
    tables = build_tables(paths, expected, skip_bad, root)
    for name, path in outputs.items():
        write_csv(tables[name], path)
    return tables


# --- views of the tables shared by REPORT.md and the figures (no plotting here) -------------------
def depth_profiles(gradflow: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The depth study's probes of h with each run's layers and bidirectional joined on, and the phase."""
    cols = ["run", "layers", "bidirectional", "steps"]
    g = gradflow[(gradflow["study"] == "depth") & (gradflow["state"] == "h")]
    g = g.merge(runs[cols], on="run", how="left")
    g["phase"] = np.where(g["step"] == 0, "init", "trained")
    return g


def decay_table(gradflow: pd.DataFrame, runs: pd.DataFrame, task: str) -> pd.DataFrame:
    """Mean fitted per-step decay factor of ‖∂L/∂state_t‖ per cell, state, phase and length."""
    gf = gradflow[(gradflow["study"] == "sweep") & (gradflow["task"] == task) & (gradflow["direction"] == 0)]
    gf = gf[gf["layer"] == gf["layer"].max()]
    per_probe = gf.groupby(["run", "cell", "state", "length", "step"], as_index=False)["decay_factor"].first()
    per_probe["phase"] = ["init" if s == 0 else "trained" for s in per_probe["step"]]
    return per_probe.groupby(["cell", "state", "phase", "length"], as_index=False)["decay_factor"].mean()
