"""Snakemake job: figure 6, throughput per cell and backend (logic lives in rnnbench.throughput)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

import pandas as pd  # noqa: E402

from rnnbench.figures import save, setup  # noqa: E402
from rnnbench.throughput import figure  # noqa: E402

setup()
df = pd.read_csv(snakemake.input[0])  # noqa: F821
prov = f"config {snakemake.params.config_hash}; commit {df['git_commit'].iloc[0] if 'git_commit' in df else 'unknown'}"  # noqa: F821
save(figure(df), snakemake.output.png, snakemake.output.pdf, "rnnbench fig6_throughput", prov)  # noqa: F821
