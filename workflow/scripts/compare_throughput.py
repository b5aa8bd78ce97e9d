"""Snakemake job: this run's throughput table beside other machines' (logic lives in rnnbench.bench.compare and rnnbench.study.figures.throughput)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from rnnbench.bench.compare import compare  # noqa: E402
from rnnbench.study.figures.throughput import write_comparison  # noqa: E402

cmp = compare(list(snakemake.input))  # noqa: F821
for note in cmp.notes:
    print(note, file=sys.stderr)
write_comparison(cmp, snakemake.output.png.rsplit("/", 1)[0])  # noqa: F821
