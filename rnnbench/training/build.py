"""A run's model and data, built from its config: what the training driver (``train``, ``batched``)
and the measuring instruments (``probes.gradflow_at_init``) share, kept below both so that the probes
need not import the driver."""

from __future__ import annotations

import torch

from rnnbench.core.models import SequenceModel, build_model
from rnnbench.core.tasks import TASKS, Task
from rnnbench.training.config import RunConfig


def make_batch(task: Task, batch: int, length: int, generator: torch.Generator, device: str, dtype: torch.dtype):
    x, y = task.generate(batch, length, generator, device)
    return x.to(dtype), (y.to(dtype) if y.is_floating_point() else y)


def build_run(cfg: RunConfig, backend: str) -> SequenceModel:
    """Run ``cfg``'s model on ``backend`` (a concrete one, not ``auto``), on the CPU in float32."""
    return build_model(
        TASKS[cfg.task],
        cfg.cell,
        cfg.hidden,
        cfg.layers,
        cfg.bidirectional,
        backend,
        cfg.reset_after,
        cfg.init,
        cfg.init_gain,
        cfg.forget_bias,
        cfg.seed,
        cfg.chrono_range(),
    )
