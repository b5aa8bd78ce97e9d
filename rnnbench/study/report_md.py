"""REPORT.md, whole: the title, the findings that open it (``rnnbench.study.findings``), then the sections of
``rnnbench.study.report`` (the headline, decay, the literature, depth, the figures, provenance)."""

from __future__ import annotations

import os

from rnnbench.core.storage import atomic_write
from rnnbench.study.findings import FIGURE_1, findings_section
from rnnbench.study.report import (
    closing_part,
    figure_link,
    figure_links,
    figure_name,
    gradient_part,
    read_tables,
    study_part,
)


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
