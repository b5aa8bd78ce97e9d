"""Snakemake job: draw one figure from the tables (logic lives in rnnbench.study.figures.training)."""

import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)

from rnnbench.study.figures import literature, training  # noqa: E402

# figures 1b and 7 (the literature studies) live in their own module
module = literature if snakemake.params.name in literature.BUILDERS else training  # noqa: F821
module.render(
    snakemake.params.name,  # noqa: F821
    dict(snakemake.input),  # noqa: F821
    snakemake.output.png,  # noqa: F821
    snakemake.output.pdf,  # noqa: F821
    snakemake.params.config_hash,  # noqa: F821
    snakemake.params.settings,  # noqa: F821
)
