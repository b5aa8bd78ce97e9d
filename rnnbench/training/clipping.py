"""Gradient clipping, as a registry: ``none``, ``norm`` (Pascanu 2013) and ``value`` (elementwise).

Every clipper returns ``(total_norm_before, clipped)``: the total L2 norm of all gradients
before clipping (recorded at every step), and whether clipping changed anything.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def total_norm(grads: list[Tensor]) -> Tensor:
    """‖g‖₂ over every parameter's gradient, as one 0-d tensor (inf/nan pass through)."""
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def clip_none(grads: list[Tensor], threshold: float | None) -> tuple[Tensor, bool]:
    return total_norm(grads), False


def clip_norm(grads: list[Tensor], threshold: float) -> tuple[Tensor, bool]:
    """Pascanu, Mikolov & Bengio 2013, Algorithm 1: if ‖g‖ ≥ threshold, g ← threshold·g/‖g‖."""
    norm = total_norm(grads)
    clipped = bool(norm >= threshold)
    if clipped and torch.isfinite(norm):
        torch._foreach_mul_(grads, threshold / norm)
    return norm, clipped


def clip_value(grads: list[Tensor], threshold: float) -> tuple[Tensor, bool]:
    """Each entry clamped to [−threshold, threshold], as Arjovsky et al.'s code does at 1."""
    norm = total_norm(grads)
    clipped = bool(torch.stack(torch._foreach_norm(grads, float("inf"))).max() > threshold)
    if clipped:
        torch._foreach_clamp_min_(grads, -threshold)
        torch._foreach_clamp_max_(grads, threshold)
    return norm, clipped


CLIPPERS: dict[str, Callable[[list[Tensor], float], tuple[Tensor, bool]]] = {"norm": clip_norm, "value": clip_value}


def clipper(mode: str, threshold: float | None) -> Callable[[list[Tensor]], tuple[Tensor, bool]]:
    """The clipping function for a run: ``threshold=None`` means no clipping, whatever the mode."""
    if threshold is None:
        return lambda grads: clip_none(grads, None)
    clip = CLIPPERS[mode]
    return lambda grads: clip(grads, threshold)
