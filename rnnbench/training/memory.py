"""Refuse, before any work, a run whose activations would not fit in memory.

Backprop through time keeps every step's activations: for each layer and direction, each of the
T steps saves about ``k·B·H`` numbers (gates before and after their nonlinearity, states and their
tanh), so memory grows like T·B·H·layers·directions. The estimate errs on the generous side.
"""

from __future__ import annotations

import psutil
import torch

from rnnbench.core.cells import cell_spec
from rnnbench.core.tasks import TASKS
from rnnbench.training.config import DTYPES, ConfigError, RunConfig


def estimate_bytes(cfg: RunConfig) -> int | None:
    """Estimated peak bytes of one training step: BPTT activations (with probe copies), inputs, parameters;
    None for a user cell, whose saved activations per step are unknown (no guess is made)."""
    saved_per_unit = cell_spec(cfg.cell).saved_per_unit  # gates (pre and post activation) plus states
    if saved_per_unit is None:
        return None
    task = TASKS[cfg.task]
    T = task.sequence_length(cfg.length)
    D = 2 if cfg.bidirectional else 1
    itemsize = torch.empty(0, dtype=DTYPES[cfg.dtype]).element_size()
    activations = saved_per_unit * T * cfg.batch * cfg.hidden * cfg.layers * D
    gradients = 2 * T * cfg.batch * cfg.hidden * cfg.layers * D  # retained ∂L/∂h_t (and c_t) for the probes
    inputs = T * (cfg.batch + cfg.eval_batch) * (task.input_size + task.output_size)  # evaluation keeps no graph
    probe64 = (activations + gradients) * 8 if cfg.probe_dtype == "float64" else 0  # the float64 probe's own pass
    return int((activations + gradients + inputs) * itemsize + probe64)


def available_bytes(device: str) -> int:
    """Free memory on the device: CUDA's free memory, or the memory the OS can give a process
    without swapping (psutil: MemAvailable on Linux, free + inactive on macOS, the free physical
    memory on Windows), so the check runs wherever torch does."""
    if device.startswith("cuda"):
        return torch.cuda.mem_get_info(torch.device(device))[0]
    return psutil.virtual_memory().available


def check_fits(cfg: RunConfig, device: str, fraction: float = 0.8) -> int | None:
    """Raise ConfigError when the estimate exceeds ``fraction`` of the free memory; return the estimate
    (None, and no check, for a user cell: its memory is unknown)."""
    need = estimate_bytes(cfg)
    if need is None:
        return None
    free = available_bytes(device)
    if need > fraction * free:
        raise ConfigError(
            f"length {cfg.length} x batch {cfg.batch} x hidden {cfg.hidden} x layers {cfg.layers} would need about "
            f"{need / 2**30:.1f} GiB for backprop through time, but {device} has {free / 2**30:.1f} GiB free; "
            "use a shorter length, smaller batch or hidden size"
        )
    return need
