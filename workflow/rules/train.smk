# One training run per job; its JSON result is the unit everything downstream is built from.


rule train:
    output:
        "results/runs/{run}.json",
    log:
        "results/logs/runs/{run}.log",
    params:
        # the run's full RunConfig: changing any field re-runs exactly the runs it touches
        config=lambda wc: RUNS[wc.run],
        checkpoint=lambda wc: f"results/checkpoints/{wc.run}.ckpt",
        checkpoint_every=config.get("checkpoint_every", 0),
    threads: config.get("threads_per_run", 1)
    resources:
        gpu=lambda wc: uses_gpu(wc.run),
    script:
        "../scripts/train.py"
