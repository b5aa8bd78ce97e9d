"""REPORT.md: the headline table, decay rates, the literature claims checked against this run, and
provenance. Every number is computed from the tables; every verdict states the scale it was run at.

The document is three parts, each in its own module: the opening and headline (``headline``), the
gradient sections with the literature table (``gradients``), and the closing sections (``closing``).
"""

from __future__ import annotations

import os

import pandas as pd

from rnnbench.core.storage import atomic_write
from rnnbench.study.report.closing import closing_part, figure_links
from rnnbench.study.report.gradients import gradient_part
from rnnbench.study.report.headline import study_part
from rnnbench.study.tables.labels import TIMINGS_DTYPES


def read_tables(tables: dict[str, str]) -> dict[str, pd.DataFrame | None]:
    """The report's tables by name (paths in ``tables``); an optional one not given is None."""
    data = {name: pd.read_csv(tables[name]) for name in ("runs", "gradflow", "curves")}
    for name in ("timings", "skipped", "init_probes"):
        dtype = TIMINGS_DTYPES if name == "timings" else None
        data[name] = pd.read_csv(tables[name], dtype=dtype) if name in tables else None
    return data


def write_report(
    tables: dict[str, str], figures: list[str], out: str | os.PathLike, config_hash: str, settings: dict
) -> None:
    """REPORT.md at ``out`` from the CSV ``tables`` (paths by name) and the ``figures`` (PNG paths)."""
    data = read_tables(tables)
    task, majority = settings["gradflow_task"], float(settings.get("majority", 0.5))
    text = (
        study_part(data["runs"], config_hash, majority)
        + gradient_part(data, task, majority)
        + closing_part(data, tables, figure_links(figures, out), config_hash)
    )
    atomic_write(out, lambda f: f.write(text))
