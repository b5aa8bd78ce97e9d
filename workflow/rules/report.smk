# REPORT.md: the headline table, decay rates, literature comparison and provenance.


rule report_md:
    input:
        runs="results/tables/runs.csv",
        gradflow="results/tables/gradflow.csv",
        curves="results/tables/curves.csv",
        jobs="results/tables/jobs.csv",
        timings="results/tables/timings.csv",
        skipped="results/tables/skipped.csv",
        throughput=["results/tables/throughput.csv"] if THROUGHPUT else [],
        init_probes=["results/tables/init_probes.csv"] if INIT_PROBES else [],
        figures=[f for f in FIGURES if f.endswith(".png")],
    output:
        report("results/REPORT.md", caption="../report/report_md.rst", category="report"),
    log:
        "results/logs/report_md.log",
    params:
        config_hash=CONFIG_HASH,
        settings=REPORT_SETTINGS,
    script:
        "../scripts/report_md.py"
