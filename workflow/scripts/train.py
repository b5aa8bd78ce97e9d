"""Snakemake job: train one run and write its JSON result (logic lives in rnnbench.train)."""

import sys

import torch

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821 (snakemake is injected)
torch.set_num_threads(snakemake.threads)  # noqa: F821

from rnnbench.config import RunConfig  # noqa: E402
from rnnbench.storage import write_json  # noqa: E402
from rnnbench.train import train  # noqa: E402

cfg = RunConfig.from_dict(snakemake.params.config)  # noqa: F821
result = train(cfg, progress=False)
write_json(snakemake.output[0], result)  # noqa: F821
print(f"{result['status']}: loss/baseline {result['loss_ratio']}, solved {result['solved']}", file=sys.stderr)
