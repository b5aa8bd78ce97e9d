"""Training: one flat loop where the order is visible.

    batch → zero_grad → forward → backward → (probe) → norm & clip → divergence check → step

A NaN or inf loss or gradient ends the run with status ``diverged``: recorded, never raised.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from rnnbench.core.layers import StateRecorder
from rnnbench.core.models import PROBEABLE_BACKENDS, SequenceModel, build_model
from rnnbench.core.models import save_model as write_model
from rnnbench.core.provenance import environment
from rnnbench.core.tasks import TASKS, Task
from rnnbench.training.autobackend import concrete_backend
from rnnbench.training.checkpoint import load_checkpoint, save_checkpoint
from rnnbench.training.clipping import clipper
from rnnbench.training.config import DTYPES, RunConfig, resolve_device
from rnnbench.training.memory import check_fits
from rnnbench.training.optimizers import OPTIMIZERS
from rnnbench.training.probes import pascanu_bounds, probe, state_gradient_records, summarise


def make_batch(task: Task, batch: int, length: int, generator: torch.Generator, device: str, dtype: torch.dtype):
    x, y = task.generate(batch, length, generator, device)
    return x.to(dtype), (y.to(dtype) if y.is_floating_point() else y)


@torch.no_grad()
def evaluate(model: SequenceModel, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Loss and accuracy on a held-out batch."""
    out = model(x)
    return model.task.loss(out, y).item(), model.task.accuracy(out, y)


def show_progress(requested: bool | None) -> bool:
    """Progress bars on a terminal; quiet in CI logs and pipes."""
    if requested is not None:
        return requested
    return sys.stderr.isatty() and not os.environ.get("CI")


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
    device = resolve_device(cfg.device)
    check_fits(cfg, device)
    dtype = DTYPES[cfg.dtype]
    task = TASKS[cfg.task]
    backend = concrete_backend(cfg.backend, cfg.cell, cfg.reset_after, device)  # auto -> the one that runs
    model = build_model(
        task,
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
    ).to(device=device, dtype=dtype)
    params = list(model.parameters())
    optimizer = OPTIMIZERS[cfg.optimizer](params, cfg.lr, cfg.momentum)
    clip = clipper(cfg.clip_mode, cfg.clip)

    train_gen = torch.Generator().manual_seed(cfg.seed)
    x_eval, y_eval = make_batch(
        task, cfg.eval_batch, cfg.length, torch.Generator().manual_seed(cfg.eval_seed), device, dtype
    )
    probe_steps = set(cfg.probe_steps())
    # probes ride on the training step's own backward when they can; otherwise a separate pass on a copy
    probe_dtype = torch.float64 if cfg.probe_dtype == "float64" else dtype
    probe_in_step = probe_dtype == dtype and backend in PROBEABLE_BACKENDS
    probe_batch = cfg.probe_batch or cfg.batch

    # everything the result reports, kept in one plain dict so that a checkpoint can carry it
    log: dict[str, Any] = {
        "curve": [], "eval_curve": [], "gradflow": [], "decay": [], "pascanu": [],
        "clip_count": 0, "last_finite_grad_norm": None, "train_seconds": 0.0, "work_seconds": 0.0,
    }  # fmt: skip
    status, diverged_step, start = "ok", None, 0
    resumed = load_checkpoint(checkpoint, cfg) if checkpoint and checkpoint_every > 0 else None
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        train_gen.set_state(resumed["generator"])
        log, start = resumed["log"], resumed["next_step"]

    def take_probe(step: int, x, y, records: list[dict] | None = None) -> None:
        if records is None:
            _, records = probe(model, x[:probe_batch], y[:probe_batch], step, dtype=probe_dtype)
        log["gradflow"].extend(records)
        log["decay"].extend(summarise(records, model))
        log["pascanu"].extend({"step": step, **b} for b in pascanu_bounds(model))

    work_start = time.perf_counter()  # the training loop, evaluations and probes: the run's work
    steps = range(start, cfg.steps)
    if show_progress(progress):
        from tqdm import tqdm

        steps = tqdm(steps, desc=f"{cfg.task}/{cfg.cell}/T={cfg.length}/seed={cfg.seed}", leave=False)
    step = start - 1
    for step in steps:
        x, y = make_batch(task, cfg.batch, cfg.length, train_gen, device, dtype)
        if step in probe_steps and not probe_in_step:
            take_probe(step, x, y)
        t0 = time.perf_counter()
        recorder = StateRecorder() if step in probe_steps and probe_in_step else None
        optimizer.zero_grad(set_to_none=False)
        loss = task.loss(model(x, recorder=recorder), y)
        loss.backward()
        if recorder is not None:
            take_probe(step, x, y, state_gradient_records(recorder, step))
        norm, clipped = clip([p.grad for p in params])
        loss_value, norm_value = loss.item(), norm.item()
        log["curve"].append({"step": step, "loss": loss_value, "grad_norm": norm_value, "clipped": clipped})
        if not (math.isfinite(loss_value) and math.isfinite(norm_value)):
            status, diverged_step = "diverged", step
            log["train_seconds"] += time.perf_counter() - t0
            break
        log["last_finite_grad_norm"] = norm_value
        log["clip_count"] += clipped
        optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()
        log["train_seconds"] += time.perf_counter() - t0
        if (step + 1) % cfg.eval_every == 0 and step + 1 < cfg.steps:
            loss_e, acc_e = evaluate(model, x_eval, y_eval)
            log["eval_curve"].append({"step": step + 1, "loss": loss_e, "accuracy": acc_e})
        if checkpoint and checkpoint_every > 0 and (step + 1) % checkpoint_every == 0 and step + 1 < cfg.steps:
            now = time.perf_counter()
            log["work_seconds"], work_start = log.get("work_seconds", 0.0) + now - work_start, now
            save_checkpoint(checkpoint, cfg, step + 1, model, optimizer, train_gen, log)
    steps_run = step + 1 if status == "ok" else step

    if status == "ok" and cfg.steps in probe_steps:
        x, y = make_batch(task, probe_batch, cfg.length, train_gen, device, dtype)
        if probe_in_step:
            recorder = StateRecorder()
            model.zero_grad(set_to_none=False)
            task.loss(model(x, recorder=recorder), y).backward()
            take_probe(cfg.steps, x, y, state_gradient_records(recorder, cfg.steps))
        else:
            take_probe(cfg.steps, x, y)

    final_loss, accuracy = evaluate(model, x_eval, y_eval)
    log["eval_curve"].append({"step": steps_run, "loss": final_loss, "accuracy": accuracy})
    log["work_seconds"] = log.get("work_seconds", 0.0) + time.perf_counter() - work_start
    if save_model is not None:
        write_model(save_model, model)
    resumed_from = start if resumed is not None else None
    wall = time.perf_counter() - wall_start
    return result_record(
        cfg, device, log, status, diverged_step, steps_run, final_loss, accuracy, wall, resumed_from, backend
    )


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
    """A run's result record (JSON-ready), from its log and outcome; ``train_batched`` builds the
    same record for each run of a stack.

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
    if cfg.device == "auto":
        env["device_note"] = f"device 'auto' resolved to {device!r}" + ("" if device == "cuda" else " (no CUDA found)")
    train_seconds = log["train_seconds"]
    return {
        "config": cfg.to_dict(),
        "config_hash": cfg.config_hash(),
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
