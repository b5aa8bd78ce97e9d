# Aggregation: every run's JSON into three long-form tables.


rule tables:
    input:
        run_files(),
    output:
        runs="results/tables/runs.csv",
        gradflow="results/tables/gradflow.csv",
        curves="results/tables/curves.csv",
    log:
        "results/logs/tables.log",
    script:
        "../scripts/tables.py"
