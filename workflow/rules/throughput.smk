# Hardware throughput of RNN/LSTM/GRU training per backend (rnnbench.bench.throughput): present only when
# the config has a `throughput` grid. It takes every core, so that nothing else runs beside the
# timings (a busy machine makes them noise; each row records how busy the machine was anyway).


rule throughput:
    output:
        report("results/tables/throughput.csv", caption="../report/throughput.rst", category="throughput"),
    log:
        "results/logs/throughput.log",
    params:
        grid=THROUGHPUT,
    # more than any machine here has: Snakemake scales it down to --cores, so the rule runs alone
    # (workflow.cores would break `snakemake --report`, which runs without --cores)
    threads: 64
    script:
        "../scripts/throughput.py"


rule fig6_throughput:
    input:
        "results/tables/throughput.csv",
    output:
        png=report(
            "results/figures/fig6_throughput.png", caption="../report/fig6_throughput.rst", category="throughput"
        ),
        pdf="results/figures/fig6_throughput.pdf",
    log:
        "results/logs/figures/fig6_throughput.log",
    params:
        config_hash=CONFIG_HASH,
    script:
        "../scripts/throughput_figure.py"


# This machine's throughput beside other machines' (config `compare_throughput`: their throughput.csv
# files): one table and one figure, shapes matched (rnnbench.bench.compare; the same as `rnnbench compare`).
rule compare_throughput:
    input:
        ["results/tables/throughput.csv", *COMPARE_WITH],
    output:
        table="results/compare/compare.csv",
        left_out="results/compare/left_out.csv",
        png=report(
            "results/compare/compare.png", caption="../report/compare_throughput.rst", category="throughput"
        ),
        pdf="results/compare/compare.pdf",
    log:
        "results/logs/compare_throughput.log",
    script:
        "../scripts/compare_throughput.py"
