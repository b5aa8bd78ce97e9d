"""REPORT.md: the findings, the headline table, decay rates, the literature claims checked against this run, and
provenance. Every number is computed from the tables; every verdict states the scale it was run at.

The document is four parts, each in its own module: the findings that open it, a sentence per phenomenon with
figure 1 (``findings``), the study and its headline (``headline``), the gradient sections with the literature
table (``gradients``), and the closing sections (``closing``).
"""

from __future__ import annotations

import os

import pandas as pd

from rnnbench.core.storage import atomic_write
from rnnbench.study.report.closing import closing_part, figure_link, figure_links, figure_name
from rnnbench.study.report.findings import FIGURE_1, findings_section
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
    first = next((f for f in figures if figure_name(f) == FIGURE_1), None)
    names = {figure_name(f) for f in figures}
    text = (
        "# rnnbench study report\n\n"
        + findings_section(data, task, majority, names, first and figure_link(first, out))
        + study_part(data["runs"], config_hash, majority)
        + gradient_part(data, task, majority)
        + closing_part(data, tables, figure_links(figures, out, FIGURE_1 if first else ""), config_hash)
    )
    atomic_write(out, lambda f: f.write(text))
