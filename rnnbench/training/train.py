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
from rnnbench.core.models import SequenceModel
from rnnbench.core.precision import tf32_policy
from rnnbench.core.tasks import TASKS
from rnnbench.training.autobackend import concrete_backend
from rnnbench.training.build import build_run, make_batch
from rnnbench.training.clipping import clipper
from rnnbench.training.config import DTYPES, RunConfig, resolve_device
from rnnbench.training.dataset import training_data
from rnnbench.training.loop import train_loop
from rnnbench.training.memory import check_fits
from rnnbench.training.optimizers import OPTIMIZERS, guard_step
from rnnbench.training.probes import probe, state_gradient_records
from rnnbench.training.runlog import RunBook


@torch.no_grad()
def evaluate(model: SequenceModel, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Loss and accuracy on a held-out batch."""
    out = model(x)
    return model.task.loss(out, y).item(), model.task.accuracy(out, y)


def param_groups(model: SequenceModel, cfg: RunConfig) -> list[dict[str, Any]]:
    """The optimizer's groups: every parameter at ``lr``, the orthogonal RNN's B on its own rate."""
    orth = [p for c in model.rnn.cells() if hasattr(c, "orthogonal_parameters") for p in c.orthogonal_parameters()]
    if not orth:
        return [{"params": list(model.parameters())}]
    rest = [p for p in model.parameters() if all(p is not q for q in orth)]
    return [{"params": rest}, {"params": orth, "lr": cfg.orthogonal_rate()}]


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
            cfg.backend, cfg.cell, cfg.reset_after, device, cfg.cell_options()
        )  # auto -> what runs
        self.model = build_run(cfg, self.backend_used).to(device=device, dtype=dtype)
        self.params = list(self.model.parameters())
        self.optimizer = OPTIMIZERS[cfg.optimizer](param_groups(self.model, cfg), cfg.lr, cfg.momentum)
        self.before = [torch.empty_like(p) for p in self.params]  # the parameters before each step
        self.clipper = clipper(cfg.clip_mode, cfg.clip)
        self.generators = training_data(task, cfg.train_set, cfg.length, cfg.seed, device, dtype, cfg.train_order)
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

    def clip(self) -> tuple[Tensor, Tensor]:
        norm, clipped = self.clipper([p.grad for p in self.params])
        return norm.reshape(1), clipped.reshape(1)

    def step(self, alive: Tensor) -> None:
        """The optimizer's step, undone unless the run is still ``alive`` ((1,) bool): the loop learns
        of a divergence only at its next read-back, and the run must stop with the parameters it had.
        Its gradients are not zeroed first: a stopped single run's optimizer state is never used again
        (the loop ends with it and writes no checkpoint after it)."""
        guard_step(self.optimizer, self.params, self.before, alive.reshape(()), zero_dead=False)

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
    paths = None if save_model is None else [save_model]
    with tf32_policy(resolve_device(cfg.device), cfg.allow_tf32):  # true fp32 unless the config allows TF32
        runs = SingleRun(cfg)
        return train_loop(runs, wall_start, progress, checkpoint, checkpoint_every, paths)[0]
