"""The names every table and figure of the study gives cells and clipping settings, without matplotlib:
REPORT.md (:mod:`rnnbench.study.report`) uses them as the figures do (:mod:`rnnbench.study.style`
re-exports them), and writing Markdown should not import a plotting library.
"""

from __future__ import annotations

import math

from rnnbench.core.cells import SPECS

CELL_ORDER = list(SPECS)  # the order cells are listed and drawn in: rnn, lstm, gru
CELL_NAMES = {name: s.display for name, s in SPECS.items()}


def cell_name(cell: str) -> str:
    return CELL_NAMES.get(cell, cell)


def clip_label(clip: float | None) -> str:
    """'no clipping' or 'clip 1': the name of a clipping setting in every figure and table."""
    return "no clipping" if clip is None or (isinstance(clip, float) and math.isnan(clip)) else f"clip {clip:g}"
