"""The training loop, written once for one run and for a stack of runs:

    batch → zero_grad → forward → backward → (probe) → norm & clip → divergence check → step

``train_loop`` drives a ``Runs`` object: R runs that train in one forward and backward per step.
``train.SingleRun`` is one ``SequenceModel`` (R = 1) on its own backend, loss and clipping
(``training.clipping``); ``batched.RunStack`` is a ``StackedModel`` of R = M runs with per-run
losses, norms and clipping. Each keeps its own arithmetic; the loop only orders the steps and keeps
the books (``training.runlog``): a run whose loss or gradient norm is not finite stops with status
``diverged`` (recorded, never raised) and the others train on; the loop ends when none is left.

Why a stack of one is not the single run: the stack runs our explicit cells with a model dimension
(``baddbmm`` products, per-run norms over stacked gradients, its clipping scale as a tensor), the
single run any backend (fused cuDNN/oneDNN kernels included) with ``addmm`` products and
``torch._foreach`` clipping; the two agree bit for bit only in the cases ``batched`` names, so
``train`` keeps its own path and ``train_runs`` trains a lone run with it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from rnnbench.core.layers import StateRecorder
from rnnbench.core.models import SequenceModel, save_model
from rnnbench.training.checkpoint import load_checkpoint, save_checkpoint
from rnnbench.training.config import RunConfig
from rnnbench.training.probes import run_state_gradient_records
from rnnbench.training.runlog import (
    RunBook,
    batch_info,
    log_evaluation,
    log_probe,
    log_step,
    result_record,
    share_time,
)


@runtime_checkable
class Runs(Protocol):
    """R runs trained together; lists indexed by run, batches with the runs' layout."""

    cfgs: list[RunConfig]  # one per run; every field the loop reads is shared
    device: str
    count: int  # R
    label: str  # the progress bar's
    backend_used: str
    reports_batch: bool  # whether each record carries the batch's totals (env["batched"])
    probe_in_step: bool  # probes ride on the training step's own backward
    probe_batch: int
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    key: Any  # what the checkpoint is keyed by: the config, or the configs in order
    generators: Any  # the training data's generator(s), as the checkpoint stores them

    def batch(self, size: int) -> tuple[Tensor, Tensor]: ...
    def forward(self, x: Tensor, recorder: StateRecorder | None) -> Tensor: ...
    def losses(self, out: Tensor, y: Tensor) -> Tensor: ...  # one per run: () or (M,)
    def objective(self, losses: Tensor) -> Tensor: ...  # the scalar to differentiate
    def clip(self) -> tuple[list[float], list[bool]]: ...  # each run's norm before, and whether clipped
    def stop(self, m: int) -> None: ...  # run m diverged
    def step(self, any_live: bool) -> None: ...
    def evaluate(self) -> list[tuple[float, float]]: ...
    def probe_apart(self, runs: list[int], x: Tensor, y: Tensor, step: int) -> list[list[dict]]: ...
    def probe_in_place(self, runs: list[int], x: Tensor, y: Tensor, step: int) -> list[list[dict]]: ...
    def run_model(self, m: int) -> SequenceModel: ...
    def pack(self, book: RunBook) -> Any: ...
    def unpack(self, saved: Any, start: int) -> RunBook: ...
    def load_generators(self, saved: Any) -> None: ...


def show_progress(requested: bool | None) -> bool:
    """Progress bars on a terminal; quiet in CI logs and pipes."""
    if requested is not None:
        return requested
    return sys.stderr.isatty() and not os.environ.get("CI")


def checkpoint_due(step: int, cfg: RunConfig, checkpoint: str | Path | None, every: int) -> bool:
    """Whether to save a checkpoint after ``step``: every ``every`` steps, never after the last."""
    return bool(checkpoint) and every > 0 and (step + 1) % every == 0 and step + 1 < cfg.steps


def eval_due(step: int, cfg: RunConfig) -> bool:
    """Whether to evaluate after ``step``: every ``eval_every`` steps; the final evaluation is apart."""
    return (step + 1) % cfg.eval_every == 0 and step + 1 < cfg.steps


def resume(runs: Runs, checkpoint: str | Path | None, every: int) -> tuple[RunBook, int] | None:
    """The books and next step of a valid checkpoint of these runs, their state loaded; else None."""
    state = load_checkpoint(checkpoint, runs.key) if checkpoint and every > 0 else None
    if state is None:
        return None
    runs.model.load_state_dict(state["model"])
    runs.optimizer.load_state_dict(state["optimizer"])
    runs.load_generators(state["generator"])
    return runs.unpack(state["log"], state["next_step"]), state["next_step"]


def log_probes(runs: Runs, book: RunBook, members: list[int], step: int, records: list[list[dict]]) -> None:
    """Log each of ``members``' records (``records`` in ``members``' order)."""
    for m, r in zip(members, records, strict=True):
        log_probe(book, m, step, r, runs.run_model(m))


def train_loop(
    runs: Runs,
    wall_start: float,
    progress: bool | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 0,
    save_models: list[str | Path] | None = None,
) -> list[dict[str, Any]]:
    """Train ``runs`` for their shared number of steps; each run's result record, in order.

    ``wall_start``: when the caller started (model building is part of each run's wall time).
    """
    cfg = runs.cfgs[0]
    probe_steps = set(cfg.probe_steps())
    resumed = resume(runs, checkpoint, checkpoint_every)
    book, start = resumed if resumed is not None else (RunBook.fresh(runs.count), 0)
    everyone = list(range(runs.count))

    work_start = time.perf_counter()  # the training loop, evaluations and probes: the runs' work
    steps = range(start, cfg.steps)
    if show_progress(progress):
        from tqdm import tqdm

        steps = tqdm(steps, desc=runs.label, leave=False)
    for step in steps:
        live = book.live()
        x, y = runs.batch(cfg.batch)  # (B, T, I), (B[, T]); a stack: (M, B, T, I), (M, B[, T])
        if step in probe_steps and not runs.probe_in_step:  # on a copy, before the step
            log_probes(runs, book, live, step, runs.probe_apart(live, x, y, step))
        t0 = time.perf_counter()
        recorder = StateRecorder() if step in probe_steps and runs.probe_in_step else None
        runs.optimizer.zero_grad(set_to_none=False)
        losses = runs.losses(runs.forward(x, recorder), y)  # () or (M,)
        runs.objective(losses).backward()
        if recorder is not None:
            records = run_state_gradient_records(recorder, step, runs.count)
            log_probes(runs, book, live, step, [records[m] for m in live])
        norms, clipped = runs.clip()
        loss_values = losses.reshape(-1).tolist()
        for m in live:
            if not log_step(book, m, step, loss_values[m], norms[m], clipped[m]):
                runs.stop(m)
        runs.step(bool(book.live()))
        if runs.device == "cuda":
            torch.cuda.synchronize()
        share_time(book, time.perf_counter() - t0, "train_seconds", live)
        if not book.live():
            break
        if eval_due(step, cfg):
            log_evaluation(book, book.live(), step + 1, runs.evaluate())
        if checkpoint_due(step, cfg, checkpoint, checkpoint_every):
            now = time.perf_counter()
            share_time(book, now - work_start, "work_seconds", everyone)
            work_start = now
            save_checkpoint(
                checkpoint, runs.key, step + 1, runs.model, runs.optimizer, runs.generators, runs.pack(book)
            )

    ok = book.live()
    if ok and cfg.steps in probe_steps:
        x, y = runs.batch(runs.probe_batch)
        by = runs.probe_in_place if runs.probe_in_step else runs.probe_apart
        log_probes(runs, book, ok, cfg.steps, by(ok, x, y, cfg.steps))
    final = runs.evaluate()  # a stopped run holds the parameters of its last finite step
    for m, path in enumerate(save_models or []):
        save_model(path, runs.run_model(m))
    share_time(book, time.perf_counter() - work_start, "work_seconds", everyone)
    return results(runs, book, final, time.perf_counter() - wall_start, start if resumed is not None else None)


def results(
    runs: Runs, book: RunBook, final: list[tuple[float, float]], wall: float, resumed_from: int | None
) -> list[dict[str, Any]]:
    """Each run's result record, its final evaluation (``final``, by run) closing its eval curve; a
    stack's wall time is shared evenly by its runs."""
    info = batch_info(book, wall) if runs.reports_batch else None
    records = []
    for m, c in enumerate(runs.cfgs):
        final_loss, accuracy = final[m]
        book.logs[m]["eval_curve"].append({"step": book.steps_run[m], "loss": final_loss, "accuracy": accuracy})
        record = result_record(
            c, runs.device, book.logs[m], book.status[m], book.diverged_step[m], book.steps_run[m],
            final_loss, accuracy, wall / runs.count, resumed_from, runs.backend_used,
        )  # fmt: skip
        if info is not None:
            record["env"]["batched"] = info
        records.append(record)
    return records
