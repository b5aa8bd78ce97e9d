"""Snakemake job: small copies of the figures for the README (logic lives in rnnbench.study.figures.training)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from rnnbench.study.figures.training import docs_png  # noqa: E402

for src, dst in zip(snakemake.input, snakemake.output, strict=True):  # noqa: F821
    docs_png(src, dst)
