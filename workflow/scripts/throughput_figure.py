"""Snakemake job: figure 6, throughput per cell and backend (logic lives in rnnbench.study.figures.throughput)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from rnnbench.study.figures.throughput import save_figure  # noqa: E402

save_figure(snakemake.input[0], snakemake.output.png, snakemake.output.pdf, snakemake.params.config_hash)  # noqa: F821
