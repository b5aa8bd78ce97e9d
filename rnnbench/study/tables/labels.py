"""The names every table and figure of the study gives cells and clipping settings, without matplotlib:
REPORT.md (:mod:`rnnbench.study.report.document`) uses them as the figures do (:mod:`rnnbench.study.figures.style`
re-exports them), and writing Markdown should not import a plotting library.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

from rnnbench.core.cells import SPECS, CellError, cell_spec, is_user

CELL_ORDER = list(SPECS)  # the order the built-in cells are listed and drawn in: rnn, lstm, gru, orthogonal
CELL_NAMES = {name: s.display for name, s in SPECS.items()}


def cell_name(cell: str) -> str:
    """The name tables and figures give ``cell``: a built-in's, a user cell's ``display`` (else its name)."""
    if not is_user(cell):
        return CELL_NAMES[cell]
    try:
        return cell_spec(cell).display
    except CellError:  # the report of a study whose cell no longer imports here: its name as given
        return cell


def cell_rank(cell: str) -> tuple[int, int, str]:
    """Where ``cell`` is listed and drawn: the built-in cells in ``CELL_ORDER``, then user cells by name."""
    return (0, CELL_ORDER.index(cell), "") if not is_user(cell) else (1, 0, cell)


def cells_in(values: Iterable[str]) -> list[str]:
    """The distinct cells among ``values``, in ``cell_rank`` order (user cells included)."""
    return sorted(set(values), key=cell_rank)


def clip_label(clip: float | None) -> str:
    """'no clipping' or 'clip 1': the name of a clipping setting in every figure and table."""
    return "no clipping" if clip is None or (isinstance(clip, float) and math.isnan(clip)) else f"clip {clip:g}"


# --- the hardware a study ran on, beyond runs.csv ------------------------------------------------------
# timings.csv's columns (rnnbench.study.tables.aggregate) for the GPU a run trained on and its math mode: they
# differ from one machine to the next, so runs.csv leaves them out and stays comparable across machines
HARDWARE_COLUMNS = ("gpu", "cuda", "cudnn", "math_mode")
TIMINGS_DTYPES = {"cuda": str, "cudnn": str}  # read as text: CUDA "12.10" is not the number 12.1


def with_hardware(runs: pd.DataFrame, timings: pd.DataFrame | None) -> pd.DataFrame:
    """``runs`` with the GPU, CUDA, cuDNN and math mode that ``timings`` recorded for each run (by run
    and study), for a figure's title; ``runs`` itself when there is no timings table."""
    if timings is None:
        return runs
    cols = [c for c in HARDWARE_COLUMNS if c in timings and c not in runs]
    keys = [k for k in ("run", "study") if k in runs and k in timings]
    if not cols or not keys:
        return runs
    return runs.merge(timings[[*keys, *cols]].drop_duplicates(keys), on=keys, how="left")


def cudnn_text(version: object) -> str:
    """``torch.backends.cudnn.version()``'s integer as a version: 91900 -> 9.19.0, 8902 -> 8.9.2."""
    try:
        n = int(float(str(version)))
    except ValueError:
        return str(version)
    if n >= 90000:  # cuDNN 9 counts major·10000 + minor·100 + patch, cuDNN 8 major·1000 + minor·100 + patch
        return f"{n // 10000}.{n // 100 % 100}.{n % 100}"
    return f"{n // 1000}.{n // 100 % 10}.{n % 100}"


def distinct(df: pd.DataFrame | None, col: str) -> list[str]:
    """The distinct recorded values of ``col`` as text, sorted; empty cells and a missing column left out."""
    if df is None or col not in df:
        return []
    return sorted({str(v) for v in df[col].dropna() if str(v) not in ("", "nan", "None")})


def gpu_text(df: pd.DataFrame) -> str:
    """'NVIDIA H200, CUDA 13.0, cuDNN 9.19.0, fp32': the GPU, its libraries and the math mode of the rows
    of ``df`` (runs with ``with_hardware``'s columns) that ran on CUDA; '' when none did."""
    if "device_used" not in df or not df["device_used"].astype(str).str.startswith("cuda").any():
        return ""
    on = df[df["device_used"].astype(str).str.startswith("cuda")]
    parts = [", ".join(distinct(on, "gpu")) or "GPU not recorded"]
    if distinct(on, "cuda"):
        parts.append("CUDA " + ", ".join(distinct(on, "cuda")))
    if distinct(on, "cudnn"):
        parts.append("cuDNN " + ", ".join(cudnn_text(v) for v in distinct(on, "cudnn")))
    parts.append(", ".join(distinct(on, "math_mode")) or "math mode not recorded")
    return ", ".join(parts)
