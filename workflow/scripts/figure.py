"""Snakemake job: draw one figure from the tables (logic lives in rnnbench.figures)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from rnnbench.figures import render  # noqa: E402

render(
    snakemake.params.name,  # noqa: F821
    dict(snakemake.input),  # noqa: F821
    snakemake.output.png,  # noqa: F821
    snakemake.output.pdf,  # noqa: F821
    snakemake.params.config_hash,  # noqa: F821
    snakemake.params.settings,  # noqa: F821
)
