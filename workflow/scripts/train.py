"""Snakemake job: train one run and write its JSON result (logic lives in rnnbench.train)."""

import sys
from pathlib import Path

import torch

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)
torch.set_num_threads(snakemake.threads)  # noqa: F821

from rnnbench.config import RunConfig  # noqa: E402
from rnnbench.storage import write_json  # noqa: E402
from rnnbench.train import train  # noqa: E402

cfg = RunConfig.from_dict(snakemake.params.config)  # noqa: F821
# The checkpoint is not a declared output, so Snakemake keeps it when a job is killed or requeued;
# the same job started again continues from it (identical results), and removes it when done.
checkpoint = Path(snakemake.params.checkpoint)  # noqa: F821
result = train(cfg, progress=False, checkpoint=checkpoint, checkpoint_every=snakemake.params.checkpoint_every)  # noqa: F821
write_json(snakemake.output[0], result)  # noqa: F821
checkpoint.unlink(missing_ok=True)
print(f"{result['status']}: loss/baseline {result['loss_ratio']}, solved {result['solved']}", file=sys.stderr)
