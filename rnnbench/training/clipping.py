"""Gradient clipping, as a registry: ``none``, ``norm`` (Pascanu 2013) and ``value`` (elementwise).

Every clipper returns ``(total_norm_before, clipped)``: the total L2 norm of all gradients
before clipping (recorded at every step), and whether clipping changed anything, both as 0-d
tensors on the gradients' device. The decision is taken there too (``torch.where``, never
``bool(tensor)``), so that a training step never waits for the device; the training loop reads
the values back in blocks (``training.loop``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def total_norm(grads: list[Tensor]) -> Tensor:
    """‖g‖₂ over every parameter's gradient, as one 0-d tensor (inf/nan pass through)."""
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def clip_none(grads: list[Tensor], threshold: float | None) -> tuple[Tensor, Tensor]:
    norm = total_norm(grads)
    return norm, torch.zeros_like(norm, dtype=torch.bool)


def clip_norm(grads: list[Tensor], threshold: float) -> tuple[Tensor, Tensor]:
    """Pascanu, Mikolov & Bengio 2013, Algorithm 1: if ‖g‖ ≥ threshold, g ← threshold·g/‖g‖.

    The scale is 1 where the rule does not apply (x·1 = x exactly) or the norm is not finite (left
    for the divergence check, not scaled into NaN); otherwise ``norm.reciprocal() * threshold``,
    which is how torch evaluates ``threshold / norm`` (a float over a tensor), bit for bit.
    """
    norm = total_norm(grads)
    clipped = norm >= threshold
    scale = torch.where(clipped & torch.isfinite(norm), norm.reciprocal() * threshold, torch.ones_like(norm))
    torch._foreach_mul_(grads, scale)
    return norm, clipped


def clip_value(grads: list[Tensor], threshold: float) -> tuple[Tensor, Tensor]:
    """Each entry clamped to [−threshold, threshold], as Arjovsky et al.'s code does at 1 (a no-op
    where nothing exceeds it, so the clamp runs every step rather than wait for the decision)."""
    norm = total_norm(grads)
    clipped = torch.stack(torch._foreach_norm(grads, float("inf"))).max() > threshold
    torch._foreach_clamp_min_(grads, -threshold)
    torch._foreach_clamp_max_(grads, threshold)
    return norm, clipped


CLIPPERS: dict[str, Callable[[list[Tensor], float], tuple[Tensor, Tensor]]] = {"norm": clip_norm, "value": clip_value}


def clipper(mode: str, threshold: float | None) -> Callable[[list[Tensor]], tuple[Tensor, Tensor]]:
    """The clipping function for a run: ``threshold=None`` means no clipping, whatever the mode."""
    if threshold is None:
        return lambda grads: clip_none(grads, None)
    clip = CLIPPERS[mode]
    return lambda grads: clip(grads, threshold)
