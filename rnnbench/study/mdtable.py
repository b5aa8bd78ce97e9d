"""Markdown tables for every report of the study: one writer, and one escape for what goes in a cell.

A cell is free text (a claim such as "|f′·w| < 1", a reason, settings): an unescaped ``|`` ends the
cell and a newline ends the row, so the row gets more cells than its header and every column after
it shifts (in GitHub's renderer and in Python-Markdown's, which REPORT.html uses)."""

from __future__ import annotations

import re
from collections.abc import Iterable


def md_cell(value: object) -> str:
    """``value`` as one Markdown table cell: pipes escaped (also inside backticks, as GFM wants), newlines spaces."""
    return " ".join(str(value).splitlines()).replace("\\|", "|").replace("|", "\\|")


def md_table(header: list[str], rows: Iterable[list]) -> str:
    """A Markdown table; every header and body cell goes through ``md_cell``."""
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


_CELL_SPLIT = re.compile(r"(?<!\\)\|")  # a pipe that is not escaped ends a cell


def table_shapes(text: str) -> list[tuple[int, list[int]]]:
    """Each Markdown table in ``text`` (a run of lines that start with ``|``): the cells in its header
    row, and in each row after it (the ``|---|`` line counts as a row)."""
    tables: list[tuple[int, list[int]]] = []
    current = None
    for line in text.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = len(_CELL_SPLIT.split(line.strip())) - 2  # the outer pipes open and close the row
        if current is None:
            current = (cells, [])
            tables.append(current)
        else:
            current[1].append(cells)
    return tables
