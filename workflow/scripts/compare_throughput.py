"""Snakemake job: this run's throughput table beside other machines' (logic lives in rnnbench.study.compare)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from rnnbench.study.compare import compare, write  # noqa: E402

cmp = compare(list(snakemake.input))  # noqa: F821
for note in cmp.notes:
    print(note, file=sys.stderr)
write(cmp, snakemake.output.png.rsplit("/", 1)[0])  # noqa: F821
