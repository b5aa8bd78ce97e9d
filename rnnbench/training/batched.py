"""Many runs trained together as one stacked model, each with the result ``train`` would give it.

    per-run batches → zero_grad → stacked forward → Σ per-run losses → backward → (probe)
    → per-run norm & clip → per-run divergence check → step (diverged runs frozen)

Runs of one sweep cell differ only in a few per-run fields (``PER_RUN_FIELDS``: the seed, the
initialisation and the clipping threshold); everything else -- task, cell, sizes, optimizer, lr,
steps -- is shared. Per step the stack pays one set of kernel launches and one Python time loop
for all M runs, which is what small recurrent models are bound by.

Why each run's numbers equal its single run's -- bit for bit on CPU when the hidden size is a
multiple of the SIMD width (16 floats; the default study's 32 and 64 are), within float rounding
otherwise (vectorised elementwise kernels treat a tensor's tail apart):
* data: each run draws from its own ``torch.Generator(seed)``, the same draws in the same order;
* arithmetic: the recurrent products are ``baddbmm`` slices that round as the single run's
  ``addmm`` does; the input projection and the head are one ``F.linear`` per run on the run's own
  shapes (a batched product's backward sums ∂L/∂W_xh in another order); evaluation runs each run
  alone; the clipping scale is computed as the single run's is;
* gradients: the runs share no parameter, so ∂(Σ_m L_m)/∂θ_m = ∂L_m/∂θ_m, and likewise for the
  probed hidden states ∂L/∂h_t;
* optimizer: SGD, Adam and RMSprop are elementwise, so one torch optimizer over stacked tensors
  updates each slice as it would the run alone (the step count is shared; live runs step together);
* clipping and divergence are decided per run from per-run norms; a diverged run's slice is put
  back after every later optimizer step (Adam moves parameters even with a zero gradient).

Timing fields: the batch's training time is split evenly, step by step, among the runs still live
at that step (so per-run ``train_seconds`` add up to the batch's); ``wall_seconds`` is the batch's
wall time over M. ``env["batched"]`` keeps the batch's own totals.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from rnnbench.core.layers import StateRecorder
from rnnbench.core.models import build_model, save_model
from rnnbench.core.stacked import StackedModel
from rnnbench.core.storage import atomic_write, write_json
from rnnbench.core.tasks import TASKS, Task
from rnnbench.study.sweep import can_stack, group_stacks
from rnnbench.training.autobackend import AUTO
from rnnbench.training.checkpoint import load_checkpoint, save_checkpoint
from rnnbench.training.config import DTYPES, ConfigError, RunConfig, resolve_device
from rnnbench.training.memory import check_fits
from rnnbench.training.optimizers import OPTIMIZERS
from rnnbench.training.probes import pascanu_bounds, probe, state_norms, summarise
from rnnbench.training.train import evaluate, make_batch, result_record, show_progress, train

# fields that may differ between the runs of one stack; every other field must be equal
PER_RUN_FIELDS = ("seed", "init", "init_gain", "forget_bias", "chrono_tmax", "clip", "eval_seed")
# the stack runs our cells (premul time loop); the fused kernels have no model dimension. ``auto``
# stacks where its table says a stack wins (rnnbench.training.autobackend; see study.can_stack)
STACKABLE_BACKENDS = ("explicit", "explicit-premul")


def check_stackable(cfgs: list[RunConfig]) -> None:
    """Refuse, naming the field, runs that cannot share one stack."""
    if not cfgs:
        raise ConfigError("train_batched needs at least one run config")
    shared = [f.name for f in dataclasses.fields(RunConfig) if f.name not in PER_RUN_FIELDS]
    differ = [name for name in shared if len({getattr(c, name) for c in cfgs}) > 1]
    if differ:
        raise ConfigError(
            f"runs trained together must share every field but {', '.join(PER_RUN_FIELDS)}; "
            f"these differ: {', '.join(differ)}"
        )
    if not can_stack(cfgs[0].to_dict(), STACKABLE_BACKENDS):
        raise ConfigError(
            f"backend {cfgs[0].backend!r} cannot be trained batched for the {cfgs[0].cell} cell on this device; choose "
            f"one of: {', '.join(STACKABLE_BACKENDS)} (or auto where rnnbench.training.autobackend stacks that cell)"
        )


# ---- per-run gradient norms and clipping over stacked gradients (M, ...) ----


def run_norms(grads: list[Tensor]) -> Tensor:
    """‖g_m‖₂ over every parameter of each run: (M,) (inf/nan pass through)."""
    per_param = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads], 1)  # (M, P)
    return torch.linalg.vector_norm(per_param, dim=1)


def _scaled(t: Tensor, ndim: int) -> Tensor:
    return t.view(-1, *([1] * (ndim - 1)))  # (M,) -> (M, 1, ...) to broadcast over one parameter


def clip_norm_runs(grads: list[Tensor], threshold: Tensor, on: Tensor) -> tuple[Tensor, Tensor]:
    """Pascanu's Algorithm 1 per run: where ‖g_m‖ ≥ threshold_m, g_m ← threshold_m·g_m/‖g_m‖."""
    norm = run_norms(grads)
    clipped = on & (norm >= threshold)
    # 1/‖g‖ · threshold, not threshold / ‖g‖: the single run's `threshold / norm` (a Python float over a
    # tensor) is evaluated by torch as norm.reciprocal() * threshold, which rounds differently
    scale = torch.where(clipped & torch.isfinite(norm), norm.reciprocal() * threshold, torch.ones_like(norm))  # (M,)
    for g in grads:
        g.mul_(_scaled(scale, g.ndim))
    return norm, clipped


def clip_value_runs(grads: list[Tensor], threshold: Tensor, on: Tensor) -> tuple[Tensor, Tensor]:
    """Elementwise clamp to [−threshold_m, threshold_m] per run (no-op where nothing exceeds it)."""
    norm = run_norms(grads)
    largest = torch.stack([g.abs().flatten(1).amax(1) for g in grads], 1).amax(1)  # (M,), nan propagates
    clipped = on & (largest > threshold)
    for g in grads:
        t = _scaled(torch.where(on, threshold, torch.full_like(threshold, math.inf)), g.ndim)
        g.clamp_(min=-t, max=t)
    return norm, clipped


RUN_CLIPPERS = {"norm": clip_norm_runs, "value": clip_value_runs}


# ---- probes: per-run records from one stacked backward ----


def stacked_state_gradient_records(recorder: StateRecorder, step: int) -> list[list[dict]]:
    """``probes.state_gradient_records`` for each run of a stack: one list of records per run."""
    per_run: list[list[dict]] | None = None
    for kind, states in (("h", recorder.h), ("c", recorder.c)):
        for (layer, direction), seq in states.items():
            grads = torch.stack([s.grad if s.grad is not None else torch.zeros_like(s) for s in seq])  # (T, M, B, H)
            norms = state_norms(grads).mean(dim=2).t().tolist()  # (M, T)
            per_run = per_run or [[] for _ in norms]
            T = len(norms[0])
            for records, run in zip(per_run, norms, strict=True):
                records.extend(
                    {
                        "step": step,
                        "layer": layer,
                        "direction": direction,
                        "state": kind,
                        "t": t,
                        "distance": T - 1 - t,
                        "grad_norm": g,
                        "underflow": g == 0.0,
                    }
                    for t, g in enumerate(run)
                )
    return per_run or []


def probe_alone(stack: StackedModel, runs: list[int], x: Tensor, y: Tensor, step: int, dtype) -> list[list[dict]]:
    """Each run of ``runs`` probed alone, on a copy of its weights in ``dtype`` (a float64 probe):
    the very computation ``train`` does, and on CPU faster than a stacked float64 copy (float64
    batched products run slower than M plain ones). ``x``, ``y``: (len(runs), B, ...)."""
    return [probe(stack.unstack(m), x[i], y[i], step, dtype=dtype)[1] for i, m in enumerate(runs)]


def probe_copy(stack: StackedModel, runs: list[int], x: Tensor, y: Tensor, step: int, dtype) -> list[list[dict]]:
    """One forward and backward of a copy of ``runs`` (in ``dtype``) on (x, y) of those runs."""
    twin = stack.select(runs, dtype)
    recorder = StateRecorder()
    out = twin(x.to(dtype), recorder=recorder)
    y = y.to(dtype) if y.is_floating_point() else y
    run_losses(twin.task, out, y).sum().backward()
    return stacked_state_gradient_records(recorder, step)


# ---- data, loss, evaluation ----


def stacked_batch(task: Task, batch: int, length: int, gens: list[torch.Generator], device, dtype):
    """Each run's own batch from its own generator, stacked: x (M, B, T, I), y (M, B[, T])."""
    xs, ys = zip(*(make_batch(task, batch, length, g, device, dtype) for g in gens), strict=True)
    return torch.stack(xs), torch.stack(ys)


def run_losses(task: Task, out: Tensor, y: Tensor) -> Tensor:
    """The task's loss of each run: (M,). Summed, they give every run its own gradient."""
    return torch.stack([task.loss(o, t) for o, t in zip(out.unbind(0), y.unbind(0), strict=True)])


@torch.no_grad()
def evaluate_runs(stack: StackedModel, x: Tensor, y: Tensor) -> list[tuple[float, float]]:
    """Loss and accuracy of each run on its held-out batch, each run evaluated alone (a copy of its
    weights, ``train.evaluate``): the held-out forward is compute-bound here, so stacking gains
    nothing, and alone it is bit for bit the single run's (a stacked or chunked forward rounds in
    other places)."""
    return [evaluate(stack.unstack(m), x[m], y[m]) for m in range(stack.num_models)]


def train_batched(
    cfgs: list[RunConfig],
    progress: bool | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 0,
    save_models: list[str | Path] | None = None,
) -> list[dict[str, Any]]:
    """Train every run of ``cfgs`` together; return each run's result record, as ``train`` would.

    With ``checkpoint`` and ``checkpoint_every`` > 0 the batch saves its whole state (the stack,
    the optimizer, every run's generator, logs and status) every that many steps and, started
    again, continues from a checkpoint of the same runs with identical results. ``save_models``
    (one path per run) writes each run's trained weights as ``train(save_model=...)`` does.
    """
    wall_start = time.perf_counter()
    check_stackable(cfgs)
    cfg, M = cfgs[0], len(cfgs)  # cfg: the shared fields
    device = resolve_device(cfg.device)
    # the stack holds M runs' activations at once: check M times the batch (and held-out batch)
    check_fits(dataclasses.replace(cfg, batch=cfg.batch * M, eval_batch=cfg.eval_batch * M), device)
    dtype = DTYPES[cfg.dtype]
    task = TASKS[cfg.task]
    models = [
        build_model(
            task,
            c.cell,
            c.hidden,
            c.layers,
            c.bidirectional,
            "explicit-premul" if c.backend == AUTO else c.backend,  # the stack copies the cells' weights
            c.reset_after,
            c.init,
            c.init_gain,
            c.forget_bias,
            c.seed,
            c.chrono_range(),
        )
        for c in cfgs
    ]
    stack = StackedModel(models).to(device=device, dtype=dtype)
    del models
    params = list(stack.parameters())
    optimizer = OPTIMIZERS[cfg.optimizer](params, cfg.lr, cfg.momentum)
    clip_on = torch.tensor([c.clip is not None for c in cfgs], device=device)  # (M,)
    threshold = torch.tensor([math.inf if c.clip is None else c.clip for c in cfgs], device=device, dtype=dtype)
    clip = RUN_CLIPPERS[cfg.clip_mode] if clip_on.any() else None

    gens = [torch.Generator().manual_seed(c.seed) for c in cfgs]
    eval_gens = [torch.Generator().manual_seed(c.eval_seed) for c in cfgs]
    x_eval, y_eval = stacked_batch(task, cfg.eval_batch, cfg.length, eval_gens, device, dtype)
    probe_steps = set(cfg.probe_steps())
    probe_dtype = torch.float64 if cfg.probe_dtype == "float64" else dtype
    probe_in_step = probe_dtype == dtype  # as in train; the stack is always an explicit backend
    probe_batch = cfg.probe_batch or cfg.batch

    logs = [
        {"curve": [], "eval_curve": [], "gradflow": [], "decay": [], "pascanu": [],
         "clip_count": 0, "last_finite_grad_norm": None, "train_seconds": 0.0, "work_seconds": 0.0}
        for _ in cfgs
    ]  # fmt: skip
    status: list[str] = ["ok"] * M
    diverged_step: list[int | None] = [None] * M
    steps_run = [0] * M
    frozen: dict[int, list[Tensor]] = {}  # diverged run -> its parameter slices when it stopped
    start = 0
    resumed = load_checkpoint(checkpoint, cfgs) if checkpoint and checkpoint_every > 0 else None
    if resumed is not None:
        stack.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        for g, state in zip(gens, resumed["generator"], strict=True):
            g.set_state(state)
        saved = resumed["log"]
        logs, status, diverged_step, steps_run = (
            saved["logs"],
            saved["status"],
            saved["diverged_step"],
            saved["steps_run"],
        )
        frozen = {m: [t.to(device) for t in slices] for m, slices in saved["frozen"]}
        start = resumed["next_step"]

    def live() -> list[int]:
        return [m for m in range(M) if status[m] == "ok"]

    def take_probe(m: int, step: int, records: list[dict]) -> None:
        model = stack.unstack(m)  # the run alone, for the decay fit's Pascanu bound
        logs[m]["gradflow"].extend(records)
        logs[m]["decay"].extend(summarise(records, model))
        logs[m]["pascanu"].extend({"step": step, **b} for b in pascanu_bounds(model))

    def share_time(seconds: float, field: str, runs: list[int]) -> None:
        """Split a stretch of batch time evenly among ``runs``: the runs' times add up to the batch's."""
        for m in runs:
            logs[m][field] += seconds / len(runs)

    work_start = time.perf_counter()  # the training loop, evaluations and probes: the batch's work
    steps = range(start, cfg.steps)
    if show_progress(progress):
        from tqdm import tqdm

        steps = tqdm(steps, desc=f"{cfg.task}/{cfg.cell}/T={cfg.length}/{M} runs", leave=False)
    for step in steps:
        runs = live()
        if not runs:
            break
        x, y = stacked_batch(task, cfg.batch, cfg.length, gens, device, dtype)  # (M, B, T, I), (M, B[, T])
        if step in probe_steps and not probe_in_step:
            idx = torch.tensor(runs, device=device)
            records = probe_alone(stack, runs, x[idx, :probe_batch], y[idx, :probe_batch], step, probe_dtype)
            for m, r in zip(runs, records, strict=True):
                take_probe(m, step, r)
        t0 = time.perf_counter()
        recorder = StateRecorder() if step in probe_steps and probe_in_step else None
        optimizer.zero_grad(set_to_none=False)
        losses = run_losses(task, stack(x, recorder=recorder), y)  # (M,)
        losses.sum().backward()
        if recorder is not None:
            for m, r in enumerate(stacked_state_gradient_records(recorder, step)):
                if m in runs:
                    take_probe(m, step, r)
        grads = [p.grad for p in params]
        norms, clipped = clip(grads, threshold, clip_on) if clip else (run_norms(grads), torch.zeros_like(clip_on))
        loss_values, norm_values, clipped = losses.tolist(), norms.tolist(), clipped.tolist()
        for m in runs:
            log = logs[m]
            log["curve"].append(
                {"step": step, "loss": loss_values[m], "grad_norm": norm_values[m], "clipped": clipped[m]}
            )
            if not (math.isfinite(loss_values[m]) and math.isfinite(norm_values[m])):
                status[m], diverged_step[m], steps_run[m] = "diverged", step, step
                frozen[m] = [p.detach()[m].clone() for p in params]
                continue
            log["last_finite_grad_norm"] = norm_values[m]
            log["clip_count"] += clipped[m]
            steps_run[m] = step + 1
        if frozen:
            with torch.no_grad():
                for g in grads:  # keep non-finite gradients of stopped runs out of the optimizer state
                    g[list(frozen)] = 0.0
        if live():
            optimizer.step()
        if frozen:
            with torch.no_grad():
                for m, saved in frozen.items():
                    for p, s in zip(params, saved, strict=True):
                        p[m] = s
        if device == "cuda":
            torch.cuda.synchronize()
        share_time(time.perf_counter() - t0, "train_seconds", runs)
        if (step + 1) % cfg.eval_every == 0 and step + 1 < cfg.steps and live():
            results = evaluate_runs(stack, x_eval, y_eval)
            for m in live():
                loss_e, acc_e = results[m]
                logs[m]["eval_curve"].append({"step": step + 1, "loss": loss_e, "accuracy": acc_e})
        if checkpoint and checkpoint_every > 0 and (step + 1) % checkpoint_every == 0 and step + 1 < cfg.steps:
            now = time.perf_counter()
            share_time(now - work_start, "work_seconds", list(range(M)))
            work_start = now
            saved = {
                "logs": logs, "status": status, "diverged_step": diverged_step, "steps_run": steps_run,
                "frozen": [[m, slices] for m, slices in frozen.items()],
            }  # fmt: skip
            save_checkpoint(checkpoint, cfgs, step + 1, stack, optimizer, gens, saved)

    ok = live()
    if ok and cfg.steps in probe_steps:
        x, y = stacked_batch(task, probe_batch, cfg.length, [gens[m] for m in ok], device, dtype)
        if probe_in_step:
            records = probe_copy(stack, ok, x, y, cfg.steps, dtype)
        else:
            records = probe_alone(stack, ok, x, y, cfg.steps, probe_dtype)
        for m, r in zip(ok, records, strict=True):
            take_probe(m, cfg.steps, r)

    final = evaluate_runs(stack, x_eval, y_eval)  # stopped runs hold their frozen parameters
    for m, path in enumerate(save_models or []):
        save_model(path, stack.unstack(m))
    share_time(time.perf_counter() - work_start, "work_seconds", list(range(M)))
    wall = time.perf_counter() - wall_start
    batch_info = {
        "runs": M,
        "train_seconds": sum(log["train_seconds"] for log in logs),
        "work_seconds": sum(log["work_seconds"] for log in logs),
        "wall_seconds": wall,
        "attribution": "train_seconds: each step's time split evenly among the runs live at it; "
        "work_seconds: the batch's loop, probes and evaluations split evenly; wall_seconds: batch wall / runs",
    }
    results = []
    for m, c in enumerate(cfgs):
        final_loss, accuracy = final[m]
        logs[m]["eval_curve"].append({"step": steps_run[m], "loss": final_loss, "accuracy": accuracy})
        record = result_record(
            c, device, logs[m], status[m], diverged_step[m], steps_run[m], final_loss, accuracy, wall / M,
            start if resumed is not None else None, "stacked",
        )  # fmt: skip
        record["env"]["batched"] = batch_info
        results.append(record)
    return results


def train_runs(
    cfgs: list[RunConfig],
    progress: bool | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 0,
    runs_per_stack: int = 8,
    save_models: list[str | Path] | None = None,
) -> list[dict[str, Any]]:
    """The runs of one training job, one result record per run in ``cfgs``' order; with
    ``save_models`` (one path per run) each run's trained weights are written there too.

    The runs are split into stacks (``study.group_stacks``: equal but for ``PER_RUN_FIELDS``, at most
    ``runs_per_stack`` each) trained one after another: a stack of one with ``train`` (any backend),
    a larger one with ``train_batched``. With ``checkpoint`` and ``checkpoint_every`` > 0 each stack
    checkpoints to ``<checkpoint>.<k>``, and a finished stack's records are kept in
    ``<checkpoint>.<k>.done.json`` until the job ends, so a job killed in its third stack starts
    again there; the files are removed once every stack is done. The weights of a finished stack
    wait beside its records (``<checkpoint>.<k>.model<j>.pt``) and are moved to ``save_models``
    when the job ends, since a killed job's outputs are removed before it runs again.
    """
    ids = {str(i): c.to_dict() for i, c in enumerate(cfgs)}
    stacks = [[int(i) for i in s] for s in group_stacks(ids, runs_per_stack, PER_RUN_FIELDS, STACKABLE_BACKENDS)]
    keep = checkpoint is not None and checkpoint_every > 0
    records: list[dict[str, Any] | None] = [None] * len(cfgs)
    files: list[Path] = []
    staged: list[tuple[Path, Path]] = []  # (weights beside the checkpoint, where they go)
    for k, stack in enumerate(stacks):
        group = [cfgs[i] for i in stack]
        ckpt = Path(f"{checkpoint}.{k}") if keep else None
        done = Path(f"{checkpoint}.{k}.done.json") if keep else None
        files += [p for p in (ckpt, done) if p is not None]
        models = None
        if save_models is not None:  # staged beside the checkpoint when the job may be resumed
            models = [
                Path(f"{checkpoint}.{k}.model{j}.pt") if keep else Path(save_models[i]) for j, i in enumerate(stack)
            ]
            if keep:
                staged += [(m, Path(save_models[i])) for m, i in zip(models, stack, strict=True)]
        results = _finished_stack(done, group) if done and all(m.exists() for m in models or []) else None
        if results is None:
            if len(group) == 1:
                results = [train(group[0], progress, ckpt, checkpoint_every, models[0] if models else None)]
            else:
                results = train_batched(group, progress, ckpt, checkpoint_every, models)
            if done:
                write_json(done, results)
        for i, r in zip(stack, results, strict=True):
            records[i] = r
    for source, target in staged:  # copied, atomically, in case the two are on different file systems
        atomic_write(target, lambda f, source=source: f.write(source.read_bytes()), mode="wb")
        source.unlink()
    for f in files:
        f.unlink(missing_ok=True)
    return records  # type: ignore[return-value]


def _finished_stack(done: Path, group: list[RunConfig]) -> list[dict[str, Any]] | None:
    """The records a killed job left for this stack, if they are whole and of these very runs."""
    if not done.exists():
        return None
    try:
        results = json.loads(done.read_text())
        if [r["config_hash"] for r in results] == [c.config_hash() for c in group]:
            return results
    except (OSError, ValueError, KeyError, TypeError):
        pass
    print(f"rnnbench: {done} is unreadable or of other runs; training the stack again", file=sys.stderr)
    return None
