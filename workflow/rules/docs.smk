# The README's and the documentation site's figures: small copies of the default study's figures, committed under docs/figures/.
# Not part of `all`; regenerate them with `snakemake --cores all docs` after the default study.


rule docs:
    input:
        [f"results/figures/{name}.png" for name in FIGURE_NAMES],
    output:
        [f"docs/figures/{name}.png" for name in FIGURE_NAMES],
    log:
        "results/logs/docs.log",
    script:
        "../scripts/docs.py"
