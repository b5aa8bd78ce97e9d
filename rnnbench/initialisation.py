"""Weight initialisation as data: a scheme name, a gain on W_hh and the LSTM forget-gate bias.

Every scheme draws from one ``torch.Generator`` in the same order for the explicit and the
fused backend, so the same seed gives the same weights in both.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn


def _default(w_hh: Tensor, hidden: int, gain: float, g: torch.Generator) -> None:
    # PyTorch's default U(-1/sqrt(H), 1/sqrt(H)), scaled by the gain
    bound = 1.0 / math.sqrt(hidden)
    nn.init.uniform_(w_hh, -bound, bound, generator=g)
    w_hh.mul_(gain)


def _orthogonal(w_hh: Tensor, hidden: int, gain: float, g: torch.Generator) -> None:
    # each gate's (H, H) block orthogonal: all singular values equal to the gain
    for block in w_hh.split(hidden, 0):
        nn.init.orthogonal_(block, gain=gain, generator=g)


def _gaussian(w_hh: Tensor, hidden: int, gain: float, g: torch.Generator) -> None:
    # entries N(0, g²/H): spectral radius ≈ g for large H (circular law), σ_max ≈ 2g
    nn.init.normal_(w_hh, 0.0, gain / math.sqrt(hidden), generator=g)


INITS: dict[str, Callable[[Tensor, int, float, torch.Generator], None]] = {
    "default": _default,
    "orthogonal": _orthogonal,
    "gaussian": _gaussian,
}


@torch.no_grad()
def initialise(
    cells: list[nn.Module],
    head: nn.Linear,
    scheme: str,
    gain: float,
    forget_bias: float | None,
    seed: int,
    is_lstm: bool,
) -> None:
    """Initialise the cells (torch.nn parameter order), then the head, from ``seed``.

    Input weights and biases always take PyTorch's default; ``scheme`` and ``gain`` set W_hh.
    ``forget_bias`` (LSTM only) sets b_ih[H:2H] to it and b_hh[H:2H] to 0, so their sum -- the
    bias the forget gate sees -- equals it.
    """
    g = torch.Generator().manual_seed(seed)

    def uniform_(p: Tensor, bound: float) -> None:
        # drawn on the CPU in float64 then copied, so that device and dtype do not change the draws
        p.copy_(torch.empty(p.shape, dtype=torch.float64).uniform_(-bound, bound, generator=g))

    for cell in cells:
        H = cell.hidden_size
        for name in ("weight_ih", "bias_ih", "bias_hh"):
            uniform_(getattr(cell, name), 1.0 / math.sqrt(H))
        w_hh = torch.empty(cell.weight_hh.shape, dtype=torch.float64)
        INITS[scheme](w_hh, H, gain, g)
        cell.weight_hh.copy_(w_hh)
        if forget_bias is not None and is_lstm:
            cell.bias_ih[H : 2 * H] = forget_bias
            cell.bias_hh[H : 2 * H] = 0.0
    # nn.Linear's default bound, 1/sqrt(fan_in), for weight and bias alike
    uniform_(head.weight, 1.0 / math.sqrt(head.in_features))
    uniform_(head.bias, 1.0 / math.sqrt(head.in_features))
