# Aggregation: every run's JSON into the long-form tables.


rule tables:
    input:
        run_files(),
    output:
        runs="results/tables/runs.csv",
        gradflow="results/tables/gradflow.csv",
        curves="results/tables/curves.csv",
        timings="results/tables/timings.csv",
        skipped="results/tables/skipped.csv",
    log:
        "results/logs/tables.log",
    params:
        # each run's config hash under this config: a result file made by another config (copied in,
        # or kept by --rerun-triggers mtime) is refused by name instead of being mixed in
        expected=EXPECTED_HASHES,
        skip_bad=SKIP_BAD,
    script:
        "../scripts/tables.py"
