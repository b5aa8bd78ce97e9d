"""Per-run bookkeeping of the training loop (``rnnbench.training.loop``): what each run's result
reports, step by step, and the result record built from it at the end.

A ``RunBook`` holds, for each of the loop's R runs, its log (curves, probes, counts, timings: plain
data that a checkpoint can carry) and its outcome so far (status, diverged step, steps run).
``StepBlock`` holds the steps not yet in the books: their values stay on the device until the loop
reads them back, a block at a time, and logs them step by step as if they had been read at once.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rnnbench.core.cells import cell_spec
from rnnbench.core.models import SequenceModel
from rnnbench.core.precision import math_mode
from rnnbench.core.provenance import environment
from rnnbench.core.tasks import TASKS
from rnnbench.training.config import RunConfig
from rnnbench.training.probes import pascanu_bounds, summarise


def new_log() -> dict[str, Any]:
    """A run's empty log: everything its result reports, kept in one plain dict."""
    return {
        "curve": [], "eval_curve": [], "gradflow": [], "decay": [], "pascanu": [],
        "clip_count": 0, "last_finite_grad_norm": None, "train_seconds": 0.0, "work_seconds": 0.0,
    }  # fmt: skip


@dataclass
class RunBook:
    """Each run's log and outcome; run m is ``live`` while its status is ``ok``."""

    logs: list[dict[str, Any]]
    status: list[str]
    diverged_step: list[int | None]
    steps_run: list[int]

    @classmethod
    def fresh(cls, runs: int, start: int = 0) -> RunBook:
        """``runs`` runs with empty logs, every one live, ``start`` steps done."""
        return cls([new_log() for _ in range(runs)], ["ok"] * runs, [None] * runs, [start] * runs)

    def live(self) -> list[int]:
        return [m for m, s in enumerate(self.status) if s == "ok"]


def log_step(book: RunBook, m: int, step: int, loss: float, grad_norm: float, clipped: bool) -> bool:
    """Record run m's training step; False when its loss or gradient norm is not finite: the run
    stops there with status ``diverged`` (recorded, never raised), its ``step`` steps done."""
    log = book.logs[m]
    log["curve"].append({"step": step, "loss": loss, "grad_norm": grad_norm, "clipped": clipped})
    if not (math.isfinite(loss) and math.isfinite(grad_norm)):
        book.status[m], book.diverged_step[m], book.steps_run[m] = "diverged", step, step
        return False
    log["last_finite_grad_norm"] = grad_norm
    log["clip_count"] += clipped
    book.steps_run[m] = step + 1
    return True


class StepBlock:
    """The training steps since the last read-back, their per-run values as device tensors.

    ``add`` keeps a step's losses, norms before clipping and clip events ((R,) each) and its host
    time; ``flush`` reads them all back in one transfer per kind and logs them in step order, as the
    loop once did after every step: each step's records and time go to the runs live at it, so a run
    that diverged inside the block has its records up to that step and none after.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.steps: list[int] = []
        self.losses: list[Tensor] = []
        self.norms: list[Tensor] = []
        self.clipped: list[Tensor] = []
        self.seconds: list[float] = []

    def __len__(self) -> int:
        return len(self.steps)

    def add(self, step: int, losses: Tensor, norms: Tensor, clipped: Tensor, seconds: float) -> None:
        self.steps.append(step)
        self.losses.append(losses.detach().reshape(-1))  # (R,)
        self.norms.append(norms.reshape(-1))
        self.clipped.append(clipped.reshape(-1))
        self.seconds.append(seconds)

    def flush(self, book: RunBook) -> None:
        """Log the block's steps into ``book`` and empty it. The read-back waits for the device to
        finish the block: that wait is training time, shared evenly by the block's steps."""
        if not self.steps:
            return
        t0 = time.perf_counter()
        losses = torch.stack(self.losses).tolist()  # (K, R)
        norms = torch.stack(self.norms).tolist()
        clipped = torch.stack(self.clipped).tolist()
        wait = (time.perf_counter() - t0) / len(self.steps)
        for k, step in enumerate(self.steps):
            live = book.live()
            for m in live:
                log_step(book, m, step, losses[k][m], norms[k][m], clipped[k][m])
            share_time(book, self.seconds[k] + wait, "train_seconds", live)
        self.clear()


def log_probe(book: RunBook, m: int, step: int, records: list[dict], model: SequenceModel) -> None:
    """Run m's gradient-flow records at ``step``, their decay fit and (vanilla RNN) Pascanu bounds;
    ``model``: the run alone, for the bounds."""
    log = book.logs[m]
    log["gradflow"].extend(records)
    log["decay"].extend(summarise(records, model))
    log["pascanu"].extend({"step": step, **b} for b in pascanu_bounds(model))


def log_evaluation(book: RunBook, runs: list[int], step: int, results: list[tuple[float, float]]) -> None:
    """Held-out loss and accuracy after ``step`` steps of each of ``runs`` (``results`` indexed by run)."""
    for m in runs:
        loss, accuracy = results[m]
        book.logs[m]["eval_curve"].append({"step": step, "loss": loss, "accuracy": accuracy})


def share_time(book: RunBook, seconds: float, field: str, runs: list[int]) -> None:
    """Split a stretch of time evenly among ``runs``: the runs' times add up to the stretch (all of
    it to a run trained alone)."""
    for m in runs:
        book.logs[m][field] = book.logs[m].get(field, 0.0) + seconds / len(runs)


def batch_info(book: RunBook, wall: float) -> dict[str, Any]:
    """A stack's own totals, kept beside each of its runs' records as ``env["batched"]``."""
    return {
        "runs": len(book.logs),
        "train_seconds": sum(log["train_seconds"] for log in book.logs),
        "work_seconds": sum(log["work_seconds"] for log in book.logs),
        "wall_seconds": wall,
        "attribution": "train_seconds: each step's time split evenly among the runs live at it; "
        "work_seconds: the batch's loop, probes and evaluations split evenly; wall_seconds: batch wall / runs",
    }


def result_record(
    cfg: RunConfig,
    device: str,
    log: dict[str, Any],
    status: str,
    diverged_step: int | None,
    steps_run: int,
    final_loss: float,
    accuracy: float,
    wall_seconds: float,
    resumed_from_step: int | None = None,
    backend_used: str | None = None,
) -> dict[str, Any]:
    """A run's result record (JSON-ready), from its log and outcome.

    Timings: ``train_seconds`` is the time inside training steps (forward, backward, clipping,
    update; probes that ride on the step), ``work_seconds`` the whole training loop with data,
    probes and evaluations, ``wall_seconds`` everything from the call (model building included).
    ``backend_used``: the backend that trained the run (``auto`` resolved; ``stacked`` for a run of
    a stack), the configured one when not given.
    """
    task = TASKS[cfg.task]
    baseline = task.baseline(cfg.length)
    solved = status == "ok" and math.isfinite(final_loss) and task.solved(final_loss, baseline, accuracy)
    env = environment(device)
    env["math_mode"] = math_mode(device, cfg.allow_tf32)  # what its float32 products ran in (tf32_policy)
    if cfg.device == "auto":
        env["device_note"] = f"device 'auto' resolved to {device!r}" + ("" if device == "cuda" else " (no CUDA found)")
    train_seconds = log["train_seconds"]
    spec = cell_spec(cfg.cell)
    return {
        "config": cfg.to_dict(),
        "config_hash": cfg.config_hash(),
        **({"cell_path": spec.path} if spec.user else {}),  # the module:Class a user cell was loaded from
        "status": status,
        "diverged_step": diverged_step,
        "last_finite_grad_norm": log["last_finite_grad_norm"],
        "final_loss": final_loss,
        "baseline_loss": baseline,
        "loss_ratio": final_loss / baseline,
        "accuracy": accuracy,
        "solved": solved,
        "steps_run": steps_run,
        "backend_used": backend_used or cfg.backend,
        "clip_fraction": log["clip_count"] / max(steps_run, 1),
        "train_seconds": train_seconds,
        "work_seconds": log.get("work_seconds", math.nan),
        "wall_seconds": wall_seconds,
        "throughput_seq_per_s": steps_run * cfg.batch / train_seconds if train_seconds > 0 else math.nan,
        "resumed_from_step": resumed_from_step,
        **{k: log[k] for k in ("curve", "eval_curve", "gradflow", "decay", "pascanu")},
        "env": env,
    }
