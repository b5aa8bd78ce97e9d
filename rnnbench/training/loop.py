"""The training loop, written once for one run and for a stack of runs:

    batch → zero_grad → forward → backward → (probe) → norm & clip → divergence check → step
    ... every READBACK_EVERY steps, and before probes, evaluations, checkpoints and the end:
    read the block's values back → the books

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

Why nothing is read back per step: on a GPU every read of a device value (``.item()``, ``.tolist()``,
``bool(tensor)``, a synchronize for timing) makes Python wait for the device, which then idles while
the next step is queued. So the step's losses, norms, clip events and divergence check stay on the
device: clipping decides there (``torch.where``), each run's ``alive`` flag is a device mask that the
update respects (a run whose loss or norm is not finite keeps the parameters it had before that
step, and every later one), and the books (``runlog.StepBlock``) take a block of steps at a time,
logging each step as if read at once: the records are those of a per-step read-back, bit for bit.
The price is that the loop learns of a divergence at the block's end, so a stopped single run (or
stack) computes up to READBACK_EVERY - 1 steps that are then dropped.
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
    StepBlock,
    batch_info,
    log_evaluation,
    log_probe,
    result_record,
    share_time,
)

# Steps between read-backs when no probe, evaluation or checkpoint comes sooner. One wait per 50 steps
# costs a GPU under 2 % of its time even for steps of ~1 ms (a wait drains the queue: ~10-20 µs plus the
# next step's launch latency), while a diverged run's wasted steps (at most 49) and the progress of the
# books stay small; the default study evaluates every 100 steps, so its blocks are 50 steps long.
READBACK_EVERY = 50


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
    def clip(self) -> tuple[Tensor, Tensor]: ...  # (R,) each: the norm before, and whether clipped
    def step(self, alive: Tensor) -> None: ...  # the update of the runs still alive ((R,) bool); others kept
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


def readback_due(step: int, cfg: RunConfig, probe_steps: set[int], block: StepBlock, every: int) -> bool:
    """Whether to read the block back after ``step``: before the books are needed (a probe at the next
    step, an evaluation, the end; ``train_loop`` adds its checkpoints) and after ``every`` steps."""
    return step + 1 in probe_steps or eval_due(step, cfg) or len(block) >= every or step + 1 == cfg.steps


def train_step(
    runs: Runs, book: RunBook, step: int, x: Tensor, y: Tensor, probe: bool, alive: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One training step of ``runs`` on (x, y), nothing read back but a probe's records: the runs'
    losses, norms before clipping, clip events, and which runs are alive after it ((R,) each, on the
    device; ``alive``: before it)."""
    recorder = StateRecorder() if probe and runs.probe_in_step else None
    runs.optimizer.zero_grad(set_to_none=False)
    losses = runs.losses(runs.forward(x, recorder), y)  # () or (M,)
    runs.objective(losses).backward()
    if recorder is not None:
        records = run_state_gradient_records(recorder, step, runs.count)
        live = book.live()  # exact: the block was read back before a probe step
        log_probes(runs, book, live, step, [records[m] for m in live])
    norms, clipped = runs.clip()  # (R,) each
    alive = alive & torch.isfinite(losses.detach().reshape(-1)) & torch.isfinite(norms)
    runs.step(alive)
    return losses, norms, clipped, alive


def train_loop(
    runs: Runs,
    wall_start: float,
    progress: bool | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 0,
    save_models: list[str | Path] | None = None,
    readback_every: int | None = None,
) -> list[dict[str, Any]]:
    """Train ``runs`` for their shared number of steps; each run's result record, in order.

    ``wall_start``: when the caller started (model building is part of each run's wall time).
    ``readback_every``: steps between read-backs of the books (``READBACK_EVERY`` when not given).
    """
    cfg = runs.cfgs[0]
    every = readback_every or READBACK_EVERY
    probe_steps = set(cfg.probe_steps())
    resumed = resume(runs, checkpoint, checkpoint_every)
    book, start = resumed if resumed is not None else (RunBook.fresh(runs.count), 0)
    everyone = list(range(runs.count))
    alive = torch.tensor([s == "ok" for s in book.status], device=runs.device)  # (R,)
    block = StepBlock()

    work_start = time.perf_counter()  # the training loop, evaluations and probes: the runs' work
    steps = range(start, cfg.steps)
    if show_progress(progress):
        from tqdm import tqdm

        steps = tqdm(steps, desc=runs.label, leave=False)
    for step in steps:
        x, y = runs.batch(cfg.batch)  # (B, T, I), (B[, T]); a stack: (M, B, T, I), (M, B[, T])
        if step in probe_steps and not runs.probe_in_step:  # on a copy, before the step
            live = book.live()  # exact: the block was read back before a probe step
            log_probes(runs, book, live, step, runs.probe_apart(live, x, y, step))
        t0 = time.perf_counter()
        losses, norms, clipped, alive = train_step(runs, book, step, x, y, step in probe_steps, alive)
        block.add(step, losses, norms, clipped, time.perf_counter() - t0)
        save = checkpoint_due(step, cfg, checkpoint, checkpoint_every)  # the books go into the checkpoint
        if not (save or readback_due(step, cfg, probe_steps, block, every)):
            continue
        block.flush(book)
        if not book.live():
            break
        if eval_due(step, cfg):
            log_evaluation(book, book.live(), step + 1, runs.evaluate())
        if save:
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
