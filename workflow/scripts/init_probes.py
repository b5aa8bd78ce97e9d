"""Snakemake job: the gradient-at-initialisation probes at a paper's settings (logic in rnnbench.study.pipeline.initprobes)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

import torch  # noqa: E402

from rnnbench.core.storage import atomic_write  # noqa: E402
from rnnbench.study.pipeline.initprobes import run_init_probes  # noqa: E402

torch.set_num_threads(snakemake.threads)  # noqa: F821
table = run_init_probes(snakemake.params.spec, snakemake.params.device)  # noqa: F821
atomic_write(snakemake.output[0], lambda f: table.to_csv(f, index=False))  # noqa: F821
