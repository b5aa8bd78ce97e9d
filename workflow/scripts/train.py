"""Snakemake job: train the runs of one job together and write each run's JSON result (logic lives
in rnnbench.training.batched.train_runs)."""

import sys
import time
from pathlib import Path

import psutil
import torch

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)
torch.set_num_threads(snakemake.threads)  # noqa: F821

from rnnbench.core.storage import write_json  # noqa: E402
from rnnbench.training.batched import train_runs  # noqa: E402
from rnnbench.training.config import RunConfig  # noqa: E402

cfgs = [RunConfig.from_dict(c) for c in snakemake.params.configs]  # noqa: F821
# The checkpoint is not a declared output, so Snakemake keeps it when a job is killed or requeued;
# the same job started again continues from it (identical results), and removes it when done.
checkpoint = Path(snakemake.params.checkpoint)  # noqa: F821
results = train_runs(
    cfgs,
    progress=False,
    checkpoint=checkpoint,
    checkpoint_every=snakemake.params.checkpoint_every,  # noqa: F821
    runs_per_stack=snakemake.params.runs_per_stack,  # noqa: F821
    save_models=snakemake.params.models or None,  # noqa: F821
)
# The job as a whole, for the report's harness-overhead figure: from the process's start (interpreter
# and imports included) to now, against the time its runs spent in training, probes and evaluation.
job = {
    "id": snakemake.params.job,  # noqa: F821
    "runs": len(results),
    "process_start": psutil.Process().create_time(),
    "finished": time.time(),
    "work_seconds": sum(r["work_seconds"] for r in results),
}
for path, result in zip(snakemake.output.runs, results, strict=True):  # noqa: F821
    result["env"]["job"] = job
    write_json(path, result)
checkpoint.unlink(missing_ok=True)
for cfg, result in zip(cfgs, results, strict=True):
    print(f"seed {cfg.seed} clip {cfg.clip}: {result['status']}, loss/baseline {result['loss_ratio']}", file=sys.stderr)
