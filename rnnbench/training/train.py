"""Training one run: a ``SequenceModel`` on its own backend, loss and clipping, driven by the
training loop (``training.loop.train_loop``) as its runs with R = 1.

A NaN or inf loss or gradient ends the run with status ``diverged``: recorded, never raised.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from rnnbench.core.backends import PROBEABLE_BACKENDS
from rnnbench.core.layers import StateRecorder
from rnnbench.core.models import SequenceModel, build_model
from rnnbench.core.tasks import TASKS, Task
from rnnbench.training.autobackend import concrete_backend
from rnnbench.training.clipping import clipper
from rnnbench.training.config import DTYPES, RunConfig, resolve_device
from rnnbench.training.dataset import FixedSet, training_data
from rnnbench.training.loop import train_loop
from rnnbench.training.memory import check_fits
from rnnbench.training.optimizers import OPTIMIZERS
from rnnbench.training.probes import probe, state_gradient_records
from rnnbench.training.runlog import RunBook


def make_batch(
    task: Task, batch: int, length: int, generator: torch.Generator | FixedSet, device: str, dtype: torch.dtype
):
    if isinstance(generator, FixedSet):  # a fixed training set (RunConfig.train_set), already in dtype
        return generator.take(batch)
    x, y = task.generate(batch, length, generator, device)
    return x.to(dtype), (y.to(dtype) if y.is_floating_point() else y)


@torch.no_grad()
def evaluate(model: SequenceModel, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Loss and accuracy on a held-out batch."""
    out = model(x)
    return model.task.loss(out, y).item(), model.task.accuracy(out, y)


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
        **cfg.their_options(),
    )


class SingleRun:
    """One run for ``train_loop`` (R = 1): the model as ``cfg`` says, on the backend it resolves to."""

    count = 1
    reports_batch = False

    def __init__(self, cfg: RunConfig) -> None:
        self.cfgs, self.key = [cfg], cfg
        self.device = device = resolve_device(cfg.device)
        check_fits(cfg, device)
        self.dtype = dtype = DTYPES[cfg.dtype]
        self.task = task = TASKS[cfg.task]
        self.backend_used = concrete_backend(
            cfg.backend, cfg.cell, cfg.reset_after, device, **cfg.their_options()
        )  # auto -> what runs
        self.model = build_run(cfg, self.backend_used).to(device=device, dtype=dtype)
        self.params = list(self.model.parameters())
        self.optimizer = OPTIMIZERS[cfg.optimizer](self.params, cfg.lr, cfg.momentum)
        self.clipper = clipper(cfg.clip_mode, cfg.clip)
        self.generators = training_data(task, cfg.train_set, cfg.length, cfg.seed, device, dtype)
        eval_gen = torch.Generator().manual_seed(cfg.eval_seed)
        self.x_eval, self.y_eval = make_batch(task, cfg.eval_batch, cfg.length, eval_gen, device, dtype)
        # probes ride on the training step's own backward when they can; otherwise a separate pass on a copy
        self.probe_dtype = cfg.probe_torch_dtype()
        self.probe_in_step = self.probe_dtype == dtype and self.backend_used in PROBEABLE_BACKENDS
        self.probe_batch = cfg.probe_batch or cfg.batch
        self.label = f"{cfg.task}/{cfg.cell}/T={cfg.length}/seed={cfg.seed}"

    def batch(self, size: int) -> tuple[Tensor, Tensor]:
        return make_batch(self.task, size, self.cfgs[0].length, self.generators, self.device, self.dtype)

    def forward(self, x: Tensor, recorder: StateRecorder | None) -> Tensor:
        return self.model(x, recorder=recorder)

    def losses(self, out: Tensor, y: Tensor) -> Tensor:
        return self.task.loss(out, y)

    def objective(self, losses: Tensor) -> Tensor:
        return losses

    def clip(self) -> tuple[list[float], list[bool]]:
        norm, clipped = self.clipper([p.grad for p in self.params])
        return [norm.item()], [clipped]

    def stop(self, m: int) -> None:
        pass  # the loop ends with its one run

    def step(self, any_live: bool) -> None:
        if any_live:
            self.optimizer.step()

    def evaluate(self) -> list[tuple[float, float]]:
        return [evaluate(self.model, self.x_eval, self.y_eval)]

    def probe_apart(self, runs: list[int], x: Tensor, y: Tensor, step: int) -> list[list[dict]]:
        """A separate forward and backward (on a copy in the probe's dtype, or of a fused model)."""
        b = self.probe_batch
        return [probe(self.model, x[:b], y[:b], step, dtype=self.probe_dtype)[1]]

    def probe_in_place(self, runs: list[int], x: Tensor, y: Tensor, step: int) -> list[list[dict]]:
        """A forward and backward of the model itself on (x, y), after training (its gradients are spent)."""
        recorder = StateRecorder()
        self.model.zero_grad(set_to_none=False)
        self.task.loss(self.model(x, recorder=recorder), y).backward()
        return [state_gradient_records(recorder, step)]

    def run_model(self, m: int) -> SequenceModel:
        return self.model

    def pack(self, book: RunBook) -> dict[str, Any]:
        return book.logs[0]  # a run checkpoints only while it is live

    def unpack(self, saved: dict[str, Any], start: int) -> RunBook:
        book = RunBook.fresh(1, start)
        book.logs[0] = saved
        return book

    def load_generators(self, saved: Tensor) -> None:
        self.generators.set_state(saved)


def train(
    cfg: RunConfig,
    progress: bool | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 0,
    save_model: str | Path | None = None,
) -> dict[str, Any]:
    """Train one model as ``cfg`` says and return the result record (JSON-ready).

    With ``checkpoint`` and ``checkpoint_every`` > 0 the run saves its whole state every that many
    steps and, when started again, continues from a valid checkpoint with identical results.
    With ``save_model`` the trained weights are written there as torch.nn state dicts
    (``models.save_model``; a diverged run's are those of its last finite step).
    """
    wall_start = time.perf_counter()
    runs = SingleRun(cfg)
    paths = None if save_model is None else [save_model]
    return train_loop(runs, wall_start, progress, checkpoint, checkpoint_every, paths)[0]
