"""Snakemake job: figure 6, throughput per cell and backend (logic lives in rnnbench.study.figures)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

import pandas as pd  # noqa: E402

from rnnbench.study.figures import fig6_throughput, save, setup  # noqa: E402

setup()
df = pd.read_csv(snakemake.input[0])  # noqa: F821
commits = ", ".join(sorted({str(c) for c in df["git_commit"].dropna()})) if "git_commit" in df else "unknown"
prov = f"rnnbench throughput; config hash {snakemake.params.config_hash}; git commit {commits}"  # noqa: F821
save(fig6_throughput(df), snakemake.output.png, snakemake.output.pdf, "rnnbench fig6_throughput", prov)  # noqa: F821
