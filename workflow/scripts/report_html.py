"""Snakemake job: REPORT.md as one self-contained HTML page, and the main tables as browsable HTML
tables (logic lives in rnnbench.study.report.html_report)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from pathlib import Path  # noqa: E402

from rnnbench.study.report.html_report import markdown_page, table_page  # noqa: E402

markdown_page(snakemake.input.md, snakemake.output.report)  # noqa: F821
for csv, html, note in zip(snakemake.input.tables, snakemake.output.tables, snakemake.params.notes, strict=True):  # noqa: F821
    table_page(csv, html, Path(csv).name, note)
