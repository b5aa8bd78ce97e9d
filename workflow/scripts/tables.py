"""Snakemake job: aggregate run results into tables (logic lives in rnnbench.aggregate)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from rnnbench.aggregate import write_tables  # noqa: E402

write_tables(list(snakemake.input), dict(snakemake.output))  # noqa: F821
