"""Snakemake job: write results/REPORT.md (logic lives in rnnbench.study.report.document)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from rnnbench.study.report.document import write_report  # noqa: E402

tables = {k: snakemake.input[k] for k in ("runs", "gradflow", "curves", "jobs", "timings", "skipped")}  # noqa: F821
if snakemake.input.throughput:  # noqa: F821
    tables["throughput"] = snakemake.input.throughput[0]  # noqa: F821
if snakemake.input.init_probes:  # noqa: F821
    tables["init_probes"] = snakemake.input.init_probes[0]  # noqa: F821
write_report(
    tables,
    list(snakemake.input.figures),  # noqa: F821
    snakemake.output[0],  # noqa: F821
    snakemake.params.config_hash,  # noqa: F821
    snakemake.params.settings,  # noqa: F821
)
