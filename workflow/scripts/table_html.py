"""Snakemake job: one CSV table as a browsable HTML table (logic lives in rnnbench.html_report)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from rnnbench.html_report import table_page  # noqa: E402

table = snakemake.wildcards.table  # noqa: F821
table_page(snakemake.input[0], snakemake.output[0], f"{table}.csv", snakemake.params.notes[table])  # noqa: F821
