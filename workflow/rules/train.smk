# Training: the runs of one sweep cell (its seeds and clipping thresholds, which only change per-run
# fields) train together as one stacked model, and a job trains a few such stacks one after another,
# so that a job's start-up -- interpreter, torch import, Snakemake's own -- is paid once per job, not
# once per run (rnnbench.training.batched.train_runs). Each run still gets its own JSON result, the unit
# everything downstream is built from; a job's outputs are its runs' files, so a missing or changed
# run re-runs exactly its job.
#
# One rule per job, defined in a loop (Snakemake's procedural rule definition): a job's outputs are
# a list of run files that no single wildcard pattern could name. `runs_per_job: 1` gives one run
# per job.

# Profiles and the command line address the training rule as `train` (--set-threads train=2,
# --set-resources train:runtime=240, --groups train=runs; see profiles/slurm): each train_<i> gets
# what they say for `train`. Snakemake keys these settings by rule name; this copies them across.
TRAIN_RULES = [f"train_{index}" for index in range(len(JOBS))]
share_rule_settings("train", TRAIN_RULES)

for index, (job, members) in enumerate(JOBS.items()):

    rule:
        name:
            TRAIN_RULES[index]
        output:
            runs=run_files(members),
            models=model_files(members),  # empty unless save_models: true
        log:
            f"results/logs/jobs/{job}.log",
        params:
            job=job,
            # the runs' full RunConfigs: changing any field re-runs exactly the jobs it touches
            configs=[RUNS[rid] for rid in members],
            checkpoint=f"results/checkpoints/{job}.ckpt",
            checkpoint_every=config.get("checkpoint_every", 0),
            runs_per_stack=RUNS_PER_STACK,
            models=model_files(members),
        threads: config.get("threads_per_run", 1)
        group: workflow.group_settings.overwrite_groups.get("train")
        # costliest jobs first (longest processing time first), so the last to finish is a short one
        # and no core idles long at the end of the training phase
        priority: job_priority(members)
        resources:
            gpu_slots=gpu_slots(members[0]),
        script:
            "../scripts/train.py"
