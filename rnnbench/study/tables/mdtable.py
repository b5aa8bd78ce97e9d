"""Markdown tables for every report of the study: one writer, and one escape for what goes in a cell.

A cell is free text (a claim such as "|f′·w| < 1", a reason, settings): an unescaped ``|`` ends the
cell and a newline ends the row, so the row gets more cells than its header and every column after
it shifts (in GitHub's renderer and in Python-Markdown's, which REPORT.html uses)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass


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


@dataclass(frozen=True)
class MdTable:
    """One Markdown table as read back: the headings it sits under (outermost first, the document's
    ``#`` title left out), its header and its rows, each cell unescaped and stripped."""

    headings: tuple[str, ...]
    header: list[str]
    rows: list[list[str]]
    line: int  # of its header row, 1-based: for messages that point at a row


_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")  # |---|:--:|


def md_row(line: str) -> list[str]:
    """The cells of one table row, the inverse of ``md_cell``: split at unescaped pipes, ``\\|`` read back as ``|``."""
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(inner)]


def md_tables(text: str) -> list[MdTable]:
    """Every Markdown table in ``text`` (a header row, a ``|---|`` row, then rows that start with ``|``)
    with the ``##``... headings above it. Lines inside ``` fences are neither tables nor headings (a
    shell comment is not a heading)."""
    tables: list[MdTable] = []
    headings: dict[int, str] = {}  # level -> text of the latest heading at that level
    lines, fenced, i = text.splitlines(), False, 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"^(#{2,6})\s+(.*?)\s*#*\s*$", line)):
            level = len(m.group(1))
            headings = {k: v for k, v in headings.items() if k < level} | {level: m.group(2)}
        elif not fenced and line.startswith("|") and i + 1 < len(lines) and _SEPARATOR.match(lines[i + 1]):
            start, i = i, i + 2
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(md_row(lines[i]))
                i += 1
            tables.append(MdTable(tuple(headings[k] for k in sorted(headings)), md_row(line), rows, start + 1))
            continue
        i += 1
    return tables


def g3(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def joined(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
