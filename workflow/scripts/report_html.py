"""Snakemake job: REPORT.md as one self-contained HTML page (logic lives in rnnbench.html_report)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from rnnbench.html_report import markdown_page  # noqa: E402

markdown_page(snakemake.input.md, snakemake.output[0])  # noqa: F821
