"""A run's model and data, built from its config: what the training driver (``train``, ``batched``)
and the measuring instruments (``probes.gradflow_at_init``) share, kept below both so that the probes
need not import the driver."""

from __future__ import annotations

import torch

from rnnbench.core.models import SequenceModel, build_model
from rnnbench.core.tasks import TASKS, Task
from rnnbench.training.config import RunConfig
from rnnbench.training.dataset import FixedSet


def make_batch(
    task: Task, batch: int, length: int, generator: torch.Generator | FixedSet, device: str, dtype: torch.dtype
):
    """A batch of ``task`` drawn from ``generator`` (on the CPU), on ``device`` in ``dtype``; from a
    fixed training set (``RunConfig.train_set``), its next ``batch`` sequences, already there in ``dtype``.

    On CUDA the batch is drawn on the CPU and copied from pinned memory without blocking: a plain
    copy from pageable memory waits for the device to finish every queued kernel, once per step,
    which is what the training loop's block read-back avoids. The values are the same (the task's
    construction is exact on either device, and the draws come from the CPU generator either way).
    """
    if isinstance(generator, FixedSet):
        return generator.take(batch)
    if torch.device(device).type == "cuda" and generator.device.type == "cpu":
        x, y = (t.pin_memory().to(device, non_blocking=True) for t in task.generate(batch, length, generator, "cpu"))
    else:
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
        cfg.cell_options(),
    )
