"""Snakemake job: one row per training job with its timings (logic lives in rnnbench.study.pipeline.harness)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from rnnbench.study.pipeline.harness import write_job_table  # noqa: E402

write_job_table(list(snakemake.input), snakemake.output[0])  # noqa: F821
