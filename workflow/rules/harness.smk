# Where the training phase's time went: one row per training job (rnnbench.study.pipeline.harness).


rule jobs_table:
    input:
        run_files(),
    output:
        "results/tables/jobs.csv",
    log:
        "results/logs/jobs_table.log",
    script:
        "../scripts/jobs_table.py"
