"""Markdown tables of the reports: a cell built from free text never splits its row."""

from __future__ import annotations

import re
from pathlib import Path

import markdown
import pandas as pd

from rnnbench.study.claims import registry
from rnnbench.study.claims.paper_claims import claim_rows, claim_table
from rnnbench.study.tables.mdtable import md_cell, md_table, table_shapes


def assert_tables_keep_their_columns(text: str) -> None:
    """Every row of every Markdown table has the header's cell count, in the Markdown and in the HTML
    that Python-Markdown (REPORT.html's converter) makes of it."""
    shapes = table_shapes(text)
    assert shapes, "no Markdown table found"
    for header, rows in shapes:
        assert all(n == header for n in rows), (header, rows)
    assert_html_tables_keep_their_columns(markdown.markdown(text, extensions=["tables"]))


def assert_html_tables_keep_their_columns(html: str) -> None:
    for table in re.findall(r"<table>.*?</table>", html, re.S):
        head = len(re.findall(r"<th[ >]", table))
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
            assert len(re.findall(r"<td[ >]", row)) == head, row


def test_a_pipe_in_free_text_stays_in_its_cell():
    claim = "the tanh RNN's gradient vanishes exponentially with the time lag when |f′·w| < 1"
    text = md_table(["source", "claim", "verdict"], [["Bengio 1994", claim, "agrees"], ["x", "a\nb | `c|d`", "y"]])
    assert_tables_keep_their_columns(text)
    assert "\\|f′·w\\| < 1 | agrees |" in text
    html = markdown.markdown(text, extensions=["tables"])
    assert "<td>agrees</td>" in html and "|f′·w| &lt; 1" in html  # shown as a pipe, not a column break
    assert md_cell("x \\| y") == "x \\| y"  # already escaped: not escaped twice


def test_the_checker_sees_a_split_row():
    broken = "| a | b |\n|---|---|\n| 1 | |x| |\n"
    assert table_shapes(broken) == [(2, [2, 4])]


def test_paper_cpu_claim_tables_escape_free_text():
    claim = registry.trained("adding", 100, "lstm")
    runs, curves = [], []
    for seed in (0, 1):
        rid = f"task~adding/cell~lstm/length~100/clip~1.0/seed~{seed}"
        runs.append(dict(run=rid, study="sweep", task="adding", length=100, cell="lstm", seed=seed, steps=3000))
        curves += [
            dict(run=rid, study="sweep", kind="eval", task="adding", length=100, cell="lstm", seed=seed, step=step,
                 loss_ratio=0.5) for step in (1500, 3000)
        ]  # fmt: skip
    out = claim_rows(pd.DataFrame(runs), pd.DataFrame(curves), {"lstm": "LSTM | ours"})
    assert len(out) == 2 and out[0]["claim"] is claim
    assert_tables_keep_their_columns(claim_table(out))


def test_the_committed_paper_cpu_report_keeps_its_columns():
    report = Path(__file__).resolve().parents[1] / "docs" / "paper-cpu" / "REPORT.md"
    assert_tables_keep_their_columns(report.read_text())
