"""Snakemake job: aggregate run results into tables (logic lives in rnnbench.study.tables.aggregate)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from rnnbench.study.tables.aggregate import write_tables  # noqa: E402

tables = write_tables(
    list(snakemake.input),  # noqa: F821
    dict(snakemake.output),  # noqa: F821
    expected=dict(snakemake.params.expected),  # noqa: F821
    skip_bad=snakemake.params.skip_bad,  # noqa: F821
)
for row in tables["skipped"].itertuples():
    print(f"skipped {row.path}: {row.reason}", file=sys.stderr)
