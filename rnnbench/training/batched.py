"""Many runs trained together as one stacked model, each with the result ``train`` would give it.

``RunStack`` is the training loop's runs (``training.loop.train_loop``) with R = M:

    per-run batches → zero_grad → stacked forward → Σ per-run losses → backward → (probe)
    → per-run norm & clip → per-run divergence check → step (diverged runs frozen)

``train_batched`` trains one stack, ``train_runs`` the stacks of a job (``stacking.group_stacks``).

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
* clipping and divergence are decided per run from per-run norms, on the device; a diverged run's
  slice is put back after every later optimizer step (Adam moves parameters even with a zero
  gradient) by a per-run mask (``optimizers.guard_step``), so no step waits to learn who diverged.

The loop ends at the step where the last live run diverges, as a single run's does (no checkpoint
of a stack with no live run is written), and the probe after training draws a batch from every
run's generator, the stopped runs' too: each run's draws are its own, so the live runs' data are
those they would get alone, and no generator is read after it.

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
from rnnbench.core.models import SequenceModel
from rnnbench.core.precision import tf32_policy
from rnnbench.core.stacked import StackedModel
from rnnbench.core.storage import atomic_write, write_json
from rnnbench.core.tasks import TASKS, Task
from rnnbench.training.autobackend import AUTO
from rnnbench.training.build import build_run, make_batch
from rnnbench.training.config import DTYPES, ConfigError, RunConfig, resolve_device
from rnnbench.training.dataset import training_data
from rnnbench.training.loop import train_loop
from rnnbench.training.memory import check_fits
from rnnbench.training.optimizers import OPTIMIZERS, guard_step
from rnnbench.training.probes import probe, run_state_gradient_records
from rnnbench.training.runlog import RunBook
from rnnbench.training.stacking import PER_RUN_FIELDS, STACKABLE_BACKENDS, can_stack, group_stacks
from rnnbench.training.train import evaluate, train


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


# ---- probes: each run alone, or a copy of the stack ----


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
    return run_state_gradient_records(recorder, step, len(runs))


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


class RunStack:
    """The runs of ``cfgs`` for ``train_loop`` (R = M): one ``StackedModel``, per-run losses, norms,
    clipping and divergence; a diverged run's parameters are frozen while the others train on."""

    backend_used = "stacked"
    reports_batch = True

    def __init__(self, cfgs: list[RunConfig]) -> None:
        check_stackable(cfgs)
        cfg, M = cfgs[0], len(cfgs)  # cfg: the shared fields
        self.cfgs, self.key, self.count = cfgs, cfgs, M
        self.device = device = resolve_device(cfg.device)
        # the stack holds M runs' activations at once: check M times the batch (and held-out batch), and
        # M fixed sets (so that the stand-in config is still a valid one: a set holds whole batches)
        stand_in = dataclasses.replace(
            cfg, batch=cfg.batch * M, eval_batch=cfg.eval_batch * M, train_set=cfg.train_set * M
        )
        check_fits(stand_in, device)
        self.dtype = dtype = DTYPES[cfg.dtype]
        self.task = task = TASKS[cfg.task]
        # the stack copies each run's weights from our cells' model of it (auto: the premul time loop)
        models = [build_run(c, "explicit-premul" if c.backend == AUTO else c.backend) for c in cfgs]
        self.model = StackedModel(models).to(device=device, dtype=dtype)
        self.params = list(self.model.parameters())
        self.optimizer = OPTIMIZERS[cfg.optimizer](self.params, cfg.lr, cfg.momentum)
        self.before = [torch.empty_like(p) for p in self.params]  # the parameters before each step
        self.clip_on = torch.tensor([c.clip is not None for c in cfgs], device=device)  # (M,)
        self.threshold = torch.tensor(
            [math.inf if c.clip is None else c.clip for c in cfgs], device=device, dtype=dtype
        )  # (M,)
        self.clipper = RUN_CLIPPERS[cfg.clip_mode] if self.clip_on.any() else None
        self.generators = [
            training_data(task, c.train_set, c.length, c.seed, device, dtype, c.train_order) for c in cfgs
        ]
        eval_gens = [torch.Generator().manual_seed(c.eval_seed) for c in cfgs]
        self.x_eval, self.y_eval = stacked_batch(task, cfg.eval_batch, cfg.length, eval_gens, device, dtype)
        self.probe_dtype = cfg.probe_torch_dtype()
        self.probe_in_step = self.probe_dtype == dtype  # as in train; the stack is always an explicit backend
        self.probe_batch = cfg.probe_batch or cfg.batch
        self.label = f"{cfg.task}/{cfg.cell}/T={cfg.length}/{M} runs"

    def batch(self, size: int) -> tuple[Tensor, Tensor]:
        cfg = self.cfgs[0]
        return stacked_batch(self.task, size, cfg.length, self.generators, self.device, self.dtype)

    def forward(self, x: Tensor, recorder: StateRecorder | None) -> Tensor:
        return self.model(x, recorder=recorder)

    def losses(self, out: Tensor, y: Tensor) -> Tensor:
        return run_losses(self.task, out, y)

    def objective(self, losses: Tensor) -> Tensor:
        return losses.sum()  # the runs share no parameter: each gets its own loss's gradient

    def clip(self) -> tuple[Tensor, Tensor]:
        grads = [p.grad for p in self.params]
        if self.clipper is None:
            return run_norms(grads), torch.zeros_like(self.clip_on)
        return self.clipper(grads, self.threshold, self.clip_on)

    def step(self, alive: Tensor) -> None:
        """The optimizer's step for the runs still ``alive`` ((M,) bool); the others' gradients are zeroed
        first (their non-finite ones kept out of the optimizer state) and their slices put back after
        it (Adam moves parameters even with a zero gradient), all on the device."""
        guard_step(self.optimizer, self.params, self.before, alive, zero_dead=True)

    def evaluate(self) -> list[tuple[float, float]]:
        return evaluate_runs(self.model, self.x_eval, self.y_eval)

    def probe_apart(self, runs: list[int], x: Tensor, y: Tensor, step: int) -> list[list[dict]]:
        idx = torch.tensor(runs, device=self.device)
        b = self.probe_batch
        return probe_alone(self.model, runs, x[idx, :b], y[idx, :b], step, self.probe_dtype)

    def probe_in_place(self, runs: list[int], x: Tensor, y: Tensor, step: int) -> list[list[dict]]:
        idx = torch.tensor(runs, device=self.device)
        return probe_copy(self.model, runs, x[idx], y[idx], step, self.dtype)

    def run_model(self, m: int) -> SequenceModel:
        return self.model.unstack(m)  # the run alone: a copy of its weights

    def pack(self, book: RunBook) -> dict[str, Any]:
        return {
            "logs": book.logs, "status": book.status, "diverged_step": book.diverged_step,
            "steps_run": book.steps_run,
        }  # fmt: skip

    def unpack(self, saved: dict[str, Any], start: int) -> RunBook:
        return RunBook(saved["logs"], saved["status"], saved["diverged_step"], saved["steps_run"])

    def load_generators(self, saved: list[Tensor]) -> None:
        for g, state in zip(self.generators, saved, strict=True):
            g.set_state(state)


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
    check_stackable(cfgs)  # before cfgs[0] is read: an empty list is refused by name, not an IndexError
    with tf32_policy(resolve_device(cfgs[0].device), cfgs[0].allow_tf32):  # shared by the stack (check_stackable)
        return train_loop(RunStack(cfgs), wall_start, progress, checkpoint, checkpoint_every, save_models)


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

    The runs are split into stacks (``stacking.group_stacks``: equal but for ``PER_RUN_FIELDS``, at most
    ``runs_per_stack`` each) trained one after another: a stack of one with ``train`` (any backend),
    a larger one with ``train_batched``. With ``checkpoint`` and ``checkpoint_every`` > 0 each stack
    checkpoints to ``<checkpoint>.<k>``, and a finished stack's records are kept in
    ``<checkpoint>.<k>.done.json`` until the job ends, so a job killed in its third stack starts
    again there; the files are removed once every stack is done. The weights of a finished stack
    wait beside its records (``<checkpoint>.<k>.model<j>.pt``) and are moved to ``save_models``
    when the job ends, since a killed job's outputs are removed before it runs again.
    """
    ids = {str(i): c.to_dict() for i, c in enumerate(cfgs)}
    stacks = [[int(i) for i in s] for s in group_stacks(ids, runs_per_stack)]
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
