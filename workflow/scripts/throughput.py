"""Snakemake job: the throughput sweep (logic lives in rnnbench.bench.throughput)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from rnnbench.bench.throughput import write_sweep  # noqa: E402

write_sweep(snakemake.params.grid, snakemake.output[0])  # noqa: F821
