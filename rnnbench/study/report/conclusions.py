"""What a study concludes, read back from its report, so that two studies' conclusions can be compared
(``benchmarks/compare_studies.py --conclusions A B``; issue 22): a change that only moves float rounding
(two torch threads instead of one, runs trained alone instead of stacked) must not flip a verdict.

A conclusion is a cell of a column whose header says "verdict" or "longest" (the headline's "longest T
solved", the literature and claim tables' verdicts) in any Markdown table of the report. Its key names
the headings the table sits under (two tables with equal rows stay apart), the row's identifying cells
and the column: ``headline | copy | gru | clip 1 | longest T solved``. Measured numbers are never in a
key: they move with the rounding, and the key must not.

Verdicts may carry their evidence, "agrees (ratio 0.01–0.02, 2 seeds)": the conclusion compared is the
text before the first " (" (``verdict_word``); the differences show the whole text.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from rnnbench.study.tables.mdtable import MdTable, md_tables

# columns that name what a row is about; the others (settings, measurements) change with the study
IDENTIFYING = ("source", "claim", "t", "cell", "task", "gain", "optimizer", "clipping")
CONCLUDING = ("verdict", "longest")  # a column whose header holds one of these states a conclusion


class ReportError(ValueError):
    """A report that cannot be read for conclusions; the message names the file and what is wrong."""


def short(text: str) -> str:
    """A heading or column header without its parenthesis or its explanation after a colon:
    'copy (solved: accuracy ≥ 0.9)' -> 'copy', 'Headline: the longest length' -> 'Headline'."""
    return re.split(r" \(|: ", text, maxsplit=1)[0].strip()


def _lower_first(word: str) -> str:
    """'Headline' -> 'headline' (a heading's capital is typography), 'LSTM' and 'T = 100' kept."""
    return word[:1].lower() + word[1:] if word[1:2].islower() else word


def verdict_word(text: str) -> str:
    """The conclusion a verdict states, without its evidence: 'agrees (ratio 0.01, 2 seeds)' -> 'agrees'."""
    return text.split(" (", 1)[0].strip()


def _key_columns(header: list[str], concluding: list[int]) -> list[int]:
    """The identifying columns, or the first two that state no conclusion when none is named so."""
    named = [i for i, h in enumerate(header) if short(h).lower() in IDENTIFYING]
    return named or [i for i in range(len(header)) if i not in concluding][:2]


def table_conclusions(
    table: MdTable, where: str = "report", unreadable: list[str] | None = None
) -> list[tuple[str, str]]:
    """The conclusions one table states as (key, text), keyed as in the module's docstring. A row whose
    cells do not match its header (an unescaped pipe, as in reports written before ``mdtable`` escaped
    them: which cell holds it cannot be known, so no cell of the row can be trusted) raises
    ``ReportError``, or with ``unreadable`` given, is left out and described there."""
    concluding = [i for i, h in enumerate(table.header) if any(w in h.lower() for w in CONCLUDING)]
    if not concluding:
        return []
    ids = _key_columns(table.header, concluding)
    prefix = [_lower_first(short(h)) for h in table.headings]
    out = []
    for n, row in enumerate(table.rows, start=table.line + 2):
        if len(row) != len(table.header):
            problem = (
                f"{where}, line {n}: a row of {len(row)} cells under a header of {len(table.header)} "
                f"({' | '.join(table.header)}): an unescaped '|' in a cell?"
            )
            if unreadable is None:
                raise ReportError(problem)
            unreadable.append(problem)
            continue
        for c in concluding:
            key = " | ".join([*prefix, *(row[i] for i in ids), table.header[c]])
            out.append((key, row[c].replace("**", "").strip()))
    return out


def conclusions(report_md: str, where: str = "report", unreadable: list[str] | None = None) -> dict[str, str]:
    """Every conclusion ``report_md`` states: key -> the cell's whole text (``**`` removed). Rows that
    cannot be read: as in ``table_conclusions``."""
    out: dict[str, str] = {}
    for table in md_tables(report_md):
        for key, value in table_conclusions(table, where, unreadable):
            base, k = key, 2
            # rows alike in every identifying cell (or two such tables under one heading): numbered in order
            while key in out:
                key, k = f"{base} #{k}", k + 1
            out[key] = value
    return out


def compare_conclusions(a: dict[str, str], b: dict[str, str]) -> list[str]:
    """One line per conclusion that differs between A and B, in A's order then B's: only in A, only in
    B, or a different ``verdict_word`` (shown with both whole texts). Empty: they conclude alike."""
    lines = [f"only in A: {k}: {v}" for k, v in a.items() if k not in b]
    lines += [f"only in B: {k}: {v}" for k, v in b.items() if k not in a]
    lines += [f"differs: {k}: {a[k]!r} -> {b[k]!r}" for k in a if k in b and verdict_word(a[k]) != verdict_word(b[k])]
    return lines


def find_report(path: str | os.PathLike) -> Path:
    """The report a path names: a Markdown file itself, or a study directory's ``results/REPORT.md``, or a
    directory's ``REPORT.md``; ``ReportError`` saying what was looked for otherwise."""
    p = Path(path)
    if p.is_file():
        return p
    for candidate in (p / "results" / "REPORT.md", p / "REPORT.md"):
        if candidate.is_file():
            return candidate
    raise ReportError(
        f"{str(p)!r}: no report there; give a study directory (with results/REPORT.md), a directory with "
        "REPORT.md, or a Markdown file"
    )


def read_conclusions(path: str | os.PathLike, unreadable: list[str] | None = None) -> tuple[Path, dict[str, str]]:
    """The report ``path`` names and its conclusions; ``ReportError`` for a report that states none (not a
    study's report: comparing it would print "same" about nothing). Rows that cannot be read: as in
    ``table_conclusions``."""
    report = find_report(path)
    try:
        text = report.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ReportError(f"{report}: not a Markdown report (not UTF-8 text: {e.reason})") from None
    found = conclusions(text, str(report), unreadable)
    if not found:
        raise ReportError(
            f"{report}: no conclusions found (no Markdown table with a column whose header says "
            f"{' or '.join(repr(w) for w in CONCLUDING)})"
        )
    return report, found
