"""Which runs may train together as one stacked model (``batched.train_batched``), and how a job's
runs are split into such stacks.

Runs stack when their configs are equal in every field but ``PER_RUN_FIELDS`` and their backend
runs our cells' equations (``STACKABLE_BACKENDS``, or ``auto`` where its table stacks the cell).
The study's job packing (``rnnbench.study.pipeline.sweep.train_jobs``) groups runs with the same
``group_stacks`` that ``batched.train_runs`` trains them by, so a job's stacks are the planned ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from rnnbench.core import backends
from rnnbench.core.cells import their_options
from rnnbench.training.autobackend import AUTO, choose
from rnnbench.training.config import ConfigError, resolve_device

# the fields that may differ between the runs of one stack, each with the run-id segment that names
# it where a study sweeps it within one job (None: no study does, and its segment -- the gains
# study's ``init`` -- stays in the job's id); every other field must be equal
PER_RUN = {
    "seed": "seed",
    "init": None,
    "init_gain": "gain",
    "forget_bias": None,
    "chrono_tmax": None,
    "clip": "clip",
    "eval_seed": None,
}
PER_RUN_FIELDS = tuple(PER_RUN)
# run-id segments that may differ between the runs of one training job (``sweep.job_id`` drops them)
PER_RUN_SEGMENTS = tuple(sorted(segment for segment in PER_RUN.values() if segment is not None))
# the stack runs our cells (premul time loop); the fused kernels have no model dimension (the registry,
# rnnbench.core.backends, says which). ``auto`` stacks where its table says a stack wins
# (rnnbench.training.autobackend; see ``can_stack``)
STACKABLE_BACKENDS = backends.STACKABLE_BACKENDS


def can_stack(cfg: dict, stackable_backends: tuple[str, ...] = STACKABLE_BACKENDS) -> bool:
    """Whether a run (a RunConfig dict) may train in a stack: its backend is one of
    ``stackable_backends``, or ``auto`` and the autobackend table stacks its cell on its device."""
    if cfg["backend"] == AUTO:
        # 'cuda' is looked up as asked: a cluster's login node plans CUDA jobs it cannot run itself
        device = resolve_device("auto") if cfg["device"] == "auto" else cfg["device"]
        return choose(cfg["cell"], cfg["reset_after"], device, their_options(cfg)).stack
    return cfg["backend"] in stackable_backends and backends.BACKENDS[cfg["backend"]].stacks(cfg["cell"])


def group_stacks(
    runs: dict[str, dict],
    runs_per_stack: int,
    per_run_fields: tuple[str, ...] = PER_RUN_FIELDS,
    stackable_backends: tuple[str, ...] = STACKABLE_BACKENDS,
    apart: Callable[[str], str] = lambda rid: "",
) -> list[list[str]]:
    """Runs that can train as one stacked model, in the runs' order: those whose configs are equal in
    every field but ``per_run_fields`` (and whose ``apart(run id)`` is equal), at most
    ``runs_per_stack`` each; a run whose backend cannot be stacked stands alone."""
    if isinstance(runs_per_stack, bool) or not isinstance(runs_per_stack, int) or runs_per_stack < 1:
        raise ConfigError(f"runs_per_stack must be an integer >= 1, got {runs_per_stack!r}")
    groups: dict[str, list[str]] = {}
    for rid, cfg in runs.items():
        if not can_stack(cfg, stackable_backends):
            groups[f"alone:{rid}"] = [rid]
            continue
        shared = json.dumps({k: v for k, v in cfg.items() if k not in per_run_fields}, sort_keys=True)
        groups.setdefault(f"{apart(rid)}:{shared}", []).append(rid)
    return [
        members[i : i + runs_per_stack] for members in groups.values() for i in range(0, len(members), runs_per_stack)
    ]
