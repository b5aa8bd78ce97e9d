"""Throughput tables from several machines or devices side by side (``rnnbench compare``).

Each input is a ``throughput.csv`` written by ``rnnbench throughput`` or the pipeline, on one
machine. Cases are matched by shape (cell, backend, T, B, H, I, layers, dtype, FLOP convention); only
shapes measured in every table are compared, and the others are named as left out. Each machine is
named from the provenance its table records (GPU or CPU model, device, torch threads, torch version),
and its GEMM ceiling is its own: the fraction of the ceiling compares how well each machine's kernels
use that machine, tokens/s compares the machines.

A fraction is a bound only where the case and its ceiling ran in the same math mode (fp32 or tf32,
``rnnbench.core.precision``). Tables written before the TF32 policy do not record the mode: there,
on CUDA, cuDNN's kernels ran TF32 (torch's default) against a ceiling of torch.mm in strict fp32, so
those rows' fractions are flagged (``like_for_like`` false, a note, hollow markers), not corrected:
no TF32 ceiling was measured at their shapes. Rows that record both modes are like for like.

Here the tables are read, checked and matched (``compare``); the comparison's CSVs and figure are written
by ``rnnbench.study.figures.throughput.write_comparison``, in the study layer because it draws.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rnnbench.core.checks import ConfigError

# A shape: the cases two machines ran alike. device is not in it: CPU against GPU is a comparison.
SHAPE = ("length", "batch", "hidden", "input_size", "layers", "dtype", "flop_convention")
CASE = ("cell", "backend", *SHAPE)
# What a table must have to be compared (rnnbench.bench.throughput.ThroughputRow's fields)
REQUIRED = (*CASE, "status", "device", "tokens_per_s", "gflops", "ceiling_gflops", "fraction_of_ceiling")
OUT_COLUMNS = (
    "machine", "device", *CASE, "kernel", "tokens_per_s", "tokens_per_s_vs_first", "gflops", "ceiling_gflops",
    "fraction_of_ceiling", "math_mode", "ceiling_math_mode", "like_for_like", "fwd_bwd_s", "busy", "source",
)  # fmt: skip


class CompareError(ConfigError):
    """Input that cannot be compared; the message names the file or says what is missing (the
    command line turns it into one line and exit status 2, as for any bad input)."""


@dataclass
class Comparison:
    table: pd.DataFrame  # one row per machine and case measured everywhere (OUT_COLUMNS)
    machines: list[str]  # in the order given
    left_out: pd.DataFrame  # cases not measured on every machine (cell and backend empty: the whole shape)
    notes: list[str]  # one line each, for the terminal and the figure
    sources: list[str]  # the file each machine's table came from, in the order of ``machines``


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """One throughput table, or ``CompareError`` naming the file and what is wrong with it."""
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise CompareError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise CompareError(f"{path}: not a throughput table (not a readable CSV: {str(e).splitlines()[0]})") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise CompareError(
            f"{path}: not a throughput table (no column {', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''}); "
            "give CSVs written by `rnnbench throughput` or the pipeline's results/tables/throughput.csv"
        )
    ok = df[df["status"] == "ok"]
    if ok.empty:
        raise CompareError(f"{path}: a throughput table with no measured case (every row's status is not 'ok')")
    return ok


def machine_name(df: pd.DataFrame) -> str:
    """'NVIDIA H200 (cuda, torch 2.5.1)' or 'AMD EPYC 7B13 (cpu, 1 thread, torch 2.13.0)', from the
    provenance columns the table recorded."""

    def uniq(col: str) -> str:
        if col not in df:
            return ""
        return "/".join(sorted({str(v) for v in df[col].dropna() if str(v) not in ("", "nan")}))

    device = uniq("device") or "unknown device"
    hw = uniq("gpu") if "cuda" in device else uniq("cpu")
    details = [device, uniq("math_mode")] if "cuda" in device and uniq("math_mode") else [device]
    threads = uniq("torch_threads")
    if "cuda" not in device and threads:
        details.append(f"{threads} thread{'s' if threads != '1' else ''}")
    if uniq("torch"):
        details.append(f"torch {uniq('torch')}")
    return f"{hw or 'unknown machine'} ({', '.join(details)})"


def compare(paths: Sequence[str | os.PathLike]) -> Comparison:
    """Read every table, name its machine, and keep the cases measured on all of them."""
    if len(paths) < 2:
        raise CompareError(f"give at least two throughput tables to compare, got {len(paths)}")
    tables, names = [], []
    for path in paths:
        df = read_table(path).copy()
        name = machine_name(df)
        if name in names:  # the same machine twice (two runs): tell them apart by file
            name = f"{name} [{Path(path).parent.name}/{Path(path).name}]"
            if name in names:
                raise CompareError(f"{path}: given twice")
        df["machine"], df["source"] = name, str(path)
        tables.append(math_modes(df))
        names.append(name)
    # a case measured twice on one machine (repeated rows): its median
    per_machine = [_median_per_case(t) for t in tables]
    shapes = [set(map(tuple, t[list(SHAPE)].astype(str).itertuples(index=False))) for t in per_machine]
    common = set.intersection(*shapes)
    if not common:
        listed = "; ".join(f"{p}: {_shapes_text(s)}" for p, s in zip(paths, shapes, strict=True))
        raise CompareError(f"the tables have no shape in common ({listed})")
    left_rows, notes = [], []
    for name, s in zip(names, shapes, strict=True):
        for shape in sorted(s - common):
            left_rows.append({"cell": "", "backend": "", **dict(zip(SHAPE, shape, strict=True)), "only_on": name})
            notes.append(f"left out: {shape_text(shape)} measured on {name} only, not on every machine")
    rows = []
    for t in per_machine:
        key = t[list(SHAPE)].astype(str).apply(tuple, axis=1)
        rows.append(t[key.isin(common)])
    table = pd.concat(rows, ignore_index=True)
    # the cell/backend pairs of a shape that every machine ran (a backend may be missing on one)
    counts = table.groupby(list(CASE))["machine"].transform("nunique")
    dropped = table[counts < len(names)]
    for case, g in dropped.groupby(list(CASE)):
        left_rows.append({**dict(zip(CASE, map(str, case), strict=True)), "only_on": ", ".join(g["machine"])})
        notes.append(
            f"left out: {case[0]} {case[1]} at {shape_text(tuple(map(str, case[2:])))}: measured on "
            f"{', '.join(g['machine'])} only"
        )
    table = table[counts == len(names)].copy()
    if table.empty:
        raise CompareError("the tables share shapes but no cell and backend measured on every machine")
    for name in names:
        notes += mode_notes(table, name)
    first = table[table["machine"] == names[0]].set_index(list(CASE))["tokens_per_s"]
    table["tokens_per_s_vs_first"] = [
        r.tokens_per_s / first[tuple(getattr(r, c) for c in CASE)] for r in table.itertuples()
    ]
    table["machine"] = pd.Categorical(table["machine"], categories=names, ordered=True)
    table = table.sort_values([*SHAPE, "cell", "backend", "machine"]).reset_index(drop=True)
    table["machine"] = table["machine"].astype(str)
    for col in OUT_COLUMNS:
        if col not in table:
            table[col] = pd.NA
    return Comparison(table[list(OUT_COLUMNS)], names, pd.DataFrame(left_rows), notes, [str(p) for p in paths])


def math_modes(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with each row's ``math_mode``, ``ceiling_math_mode`` and ``like_for_like``: as recorded, or
    for a table from before the TF32 policy, what torch's defaults made them (CPU: fp32; CUDA: cuDNN
    kernels TF32, cuBLAS matmuls, so the torch.mm ceiling, strict fp32)."""
    df = df.copy()
    kernel = df["kernel"].astype(str) if "kernel" in df else pd.Series("", index=df.index)
    cudnn_tf32 = df["device"].astype(str).str.startswith("cuda") & kernel.str.contains("cuDNN")
    before_policy = {"math_mode": cudnn_tf32.map({True: "tf32", False: "fp32"}), "ceiling_math_mode": "fp32"}
    for col, default in before_policy.items():
        recorded = df[col].astype(str) if col in df else pd.Series("nan", index=df.index)
        df[col] = recorded.where(~recorded.isin(("", "nan", "None")), default)
    df["like_for_like"] = df["math_mode"] == df["ceiling_math_mode"]
    return df


def mode_notes(table: pd.DataFrame, name: str) -> list[str]:
    """A line for a machine whose compared cases hold fractions against a ceiling of another math mode."""
    bad = table[(table["machine"] == name) & ~table["like_for_like"].astype(bool)]
    if bad.empty:
        return []
    return [
        f"flagged: {len(bad)} case(s) on {name} ran in {'/'.join(sorted(set(bad['math_mode'])))} against a GEMM "
        f"ceiling in {'/'.join(sorted(set(bad['ceiling_math_mode'])))} (a table from before rnnbench's TF32 policy: "
        "cuDNN's TF32 on by torch's default); their fraction_of_ceiling is not a bound (like_for_like false)"
    ]


def _median_per_case(df: pd.DataFrame) -> pd.DataFrame:
    numeric = ["tokens_per_s", "gflops", "ceiling_gflops", "fraction_of_ceiling"]
    numeric += [c for c in ("fwd_bwd_s",) if c in df]
    first = [c for c in df.columns if c not in numeric and c not in CASE]
    agg = {**{c: "median" for c in numeric}, **{c: "first" for c in first}}
    return df.groupby(list(CASE), as_index=False, dropna=False).agg(agg)


def shape_text(shape: tuple) -> str:
    s = dict(zip(SHAPE, shape, strict=True))
    return f"T={s['length']} B={s['batch']} H={s['hidden']} I={s['input_size']} layers={s['layers']} {s['dtype']}"


def _shapes_text(shapes: set) -> str:
    return ", ".join(shape_text(s) for s in sorted(shapes)) or "none"


# --- the command line: `rnnbench compare` (rnnbench.cli runs it; the figure is drawn in the study layer) ---
def add_subcommand(sub) -> None:
    """Register ``compare`` on the ``rnnbench`` subparsers ``sub``."""
    p = sub.add_parser(
        "compare",
        help="put throughput tables from several machines or devices side by side: one table, one figure",
        description="Compare throughput.csv files from several machines or devices (rnnbench throughput, or the "
        "pipeline's results/tables/throughput.csv). Cases are matched by cell, backend and shape; shapes not "
        "measured on every machine are left out and listed. Writes compare.csv, left_out.csv, compare.png and "
        "compare.pdf to --out.",
    )
    p.add_argument("tables", nargs="+", type=Path, metavar="THROUGHPUT.csv", help="two or more throughput tables")
    p.add_argument("--out", type=Path, required=True, help="directory for compare.csv, left_out.csv and the figure")
