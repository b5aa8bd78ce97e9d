"""Gradient-flow probes: ‖∂L/∂h_t‖ for every time step t, layer and direction (and ‖∂L/∂c_t‖ for
the LSTM), where ∂L/∂h_t is the total gradient, through every later step.

The layer's time loop keeps each state with ``retain_grad`` (see ``layers.StateRecorder``); after
one backward pass each state's ``.grad`` is exactly that total gradient. A probe can run in
float64 on a copy of the model, so deep vanishing shows as tiny numbers rather than zeros; an
exact zero is still flagged as ``underflow``.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import Tensor

from rnnbench.core.backends import BACKENDS
from rnnbench.core.layers import PARAMETER_NAMES, StateRecorder
from rnnbench.core.models import SequenceModel, build_model

# below this a norm is recomputed on scaled entries: a plain 2-norm squares its entries, and squares
# of entries under ~1.5e-154 fall into float64's subnormal range (lost precision, then 0)
TINY_NORM = 1e-140


def state_norms(grads: Tensor) -> Tensor:
    """‖g‖₂ over the last dimension in float64, exact down to float64's smallest numbers.

    Norms of at least ``TINY_NORM`` are the plain ``vector_norm`` (bit for bit); smaller ones are
    recomputed as p·‖g/p‖ with p the largest |entry|, so that a gradient of 1e-200 reads 1e-200, not 0.
    A complex state's gradient (a user cell's, e.g. the LRU's x) is normed as complex: √Σ|g|².
    """
    g = grads.to(torch.complex128) if grads.is_complex() else grads.double()
    norm = torch.linalg.vector_norm(g, dim=-1)
    tiny = norm < TINY_NORM
    if tiny.any():
        peak = g.abs().amax(dim=-1).clamp_min(torch.finfo(torch.float64).tiny)
        rescaled = torch.linalg.vector_norm(g / peak.unsqueeze(-1), dim=-1) * peak
        norm = torch.where(tiny, rescaled, norm)
    return norm


def run_state_gradient_records(recorder: StateRecorder, step: int, runs: int) -> list[list[dict]]:
    """Mean over the batch of the per-example ‖∂L/∂state_t‖, one record per (layer, direction, state, t),
    for each of ``runs`` runs: 1 for a single model (states (B, H)), M for a stack (states (M, B, H)).

    ``distance`` counts the steps from t to the last time step (where the adding loss sits).
    """
    per_run: list[list[dict]] = [[] for _ in range(runs)]
    for kind, states in (("h", recorder.h), ("c", recorder.c)):
        for (layer, direction), seq in states.items():
            grads = torch.stack([s.grad if s.grad is not None else torch.zeros_like(s) for s in seq])  # (T, [M,] B, H)
            T = len(seq)
            norms = state_norms(grads).mean(dim=-1).reshape(T, runs).t().tolist()  # (runs, T): batch mean
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
    return per_run


def state_gradient_records(recorder: StateRecorder, step: int) -> list[dict]:
    """``run_state_gradient_records`` of a single model's recorder: its one run's records."""
    return run_state_gradient_records(recorder, step, 1)[0]


def explicit_twin(model: SequenceModel, dtype: torch.dtype) -> SequenceModel:
    """A probeable copy of ``model`` in ``dtype``: a deep copy for explicit backends, or an
    explicit model with the fused model's weights copied across."""
    if BACKENDS[model.backend].probeable:
        return copy.deepcopy(model).to(dtype)
    reset_after = model.cell == "gru"  # a fused GRU is always reset-after
    twin = build_model(
        model.task,
        model.cell,
        model.rnn.hidden_size,
        model.rnn.num_layers,
        model.rnn.num_directions == 2,
        "explicit-premul",
        reset_after,
        cell_options=model.cell_options,
    )
    with torch.no_grad():
        for ours, theirs in zip(twin.rnn.cells(), model.rnn.cells(), strict=True):
            for name in PARAMETER_NAMES:
                getattr(ours, name).copy_(getattr(theirs, name))
        twin.head.load_state_dict(model.head.state_dict())
    return twin.to(device=next(model.parameters()).device, dtype=dtype)


def probe(
    model: SequenceModel, x: Tensor, y: Tensor, step: int = 0, dtype: torch.dtype | None = None
) -> tuple[float, list[dict]]:
    """One forward and backward pass of ``model`` (or of a copy in ``dtype``) on (x, y).

    Returns the loss and the per-time-step gradient records. The model's own gradients are
    left untouched when a copy is probed.
    """
    target = model if dtype is None and BACKENDS[model.backend].probeable else explicit_twin(model, dtype or x.dtype)
    p_dtype = next(target.parameters()).dtype
    recorder = StateRecorder()
    out = target(x.to(p_dtype), recorder=recorder)
    loss = model.task.loss(out, y.to(p_dtype) if y.is_floating_point() else y)
    loss.backward()
    records = state_gradient_records(recorder, step)
    if target is not model:
        del target
    return loss.item(), records


def decay_rate(distance: np.ndarray, grad_norm: np.ndarray) -> dict:
    """Least-squares slope of log10 ‖∂L/∂h_t‖ against distance to the loss.

    ``slope`` is in decades per step (negative: the gradient vanishes going back in time);
    ``factor`` = 10**slope is the mean per-step multiplier. Zeros (underflow) and non-finite
    norms are left out of the fit and counted.
    """
    distance = np.asarray(distance, dtype=float)
    grad_norm = np.asarray(grad_norm, dtype=float)
    ok = np.isfinite(grad_norm) & (grad_norm > 0)
    n = int(ok.sum())
    if n < 2:
        return {"slope": math.nan, "factor": math.nan, "points": n, "excluded": int((~ok).sum())}
    slope = float(np.polyfit(distance[ok], np.log10(grad_norm[ok]), 1)[0])
    return {"slope": slope, "factor": 10.0**slope, "points": n, "excluded": int((~ok).sum())}


def pascanu_bounds(model: SequenceModel) -> list[dict]:
    """Pascanu et al. 2013: ‖∂h_t/∂h_k‖ ≤ η^{t−k} with η = γ·σ_max(W_hh), γ = 1 for tanh.

    Meaningful for the vanilla RNN only (η < 1 is sufficient for vanishing); one record per
    layer and direction.
    """
    if model.cell != "rnn":
        return []
    D = model.rnn.num_directions
    records = []
    for i, cell in enumerate(model.rnn.cells()):
        sigma = torch.linalg.matrix_norm(cell.weight_hh.detach().double(), ord=2).item()
        records.append({"layer": i // D, "direction": i % D, "gamma": 1.0, "sigma_max": sigma, "eta": sigma})
    return records


def summarise(records: list[dict], model: SequenceModel) -> list[dict]:
    """Decay rate per (step, layer, direction, state), with Pascanu's η beside the vanilla RNN's."""
    import pandas as pd

    if not records:
        return []
    bounds = {(b["layer"], b["direction"]): b["eta"] for b in pascanu_bounds(model)}
    df = pd.DataFrame.from_records(records)
    out = []
    for (step, layer, direction, state), g in df.groupby(["step", "layer", "direction", "state"], sort=True):
        fit = decay_rate(g["distance"].to_numpy(), g["grad_norm"].to_numpy())
        out.append(
            {
                "step": int(step),
                "layer": int(layer),
                "direction": int(direction),
                "state": state,
                **fit,
                "underflow": int(g["underflow"].sum()),
                "pascanu_eta": bounds.get((layer, direction)),  # None: no bound for gated cells
            }
        )
    return out


def gradflow_at_init(cfg, dtype: torch.dtype) -> tuple[list[dict], dict]:
    """``rnnbench gradflow``: one backward pass at initialisation on a batch drawn from ``cfg.seed``.

    Returns one row per (direction, t) of the top layer -- ``grad_norm`` = mean over the batch of
    ‖∂L/∂h_t‖, plus ``c_grad_norm`` for the LSTM -- and the decay fit of direction 0.
    """
    from rnnbench.core.tasks import TASKS
    from rnnbench.training.autobackend import concrete_backend
    from rnnbench.training.build import build_run, make_batch
    from rnnbench.training.config import resolve_device

    task = TASKS[cfg.task]
    device = resolve_device(cfg.device)
    backend = concrete_backend(cfg.backend, cfg.cell, cfg.reset_after, device, cfg.cell_options())
    model = build_run(cfg, backend).to(device=device, dtype=dtype)
    x, y = make_batch(task, cfg.batch, cfg.length, torch.Generator().manual_seed(cfg.seed), device, dtype)
    _, records = probe(model, x, y, step=0, dtype=dtype)
    top = cfg.layers - 1
    c_norms = {(r["direction"], r["t"]): r["grad_norm"] for r in records if r["layer"] == top and r["state"] == "c"}
    rows = []
    for r in records:
        if r["layer"] == top and r["state"] == "h":
            row = {k: r[k] for k in ("direction", "t", "distance", "grad_norm", "underflow")}
            if c_norms:
                row["c_grad_norm"] = c_norms[(r["direction"], r["t"])]
            rows.append(row)
    summary = next(
        s for s in summarise(records, model) if s["layer"] == top and s["direction"] == 0 and s["state"] == "h"
    )
    return rows, summary
