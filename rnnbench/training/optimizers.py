"""Optimizers as a registry: name -> builder(params, lr, momentum); and the guarded step that leaves
runs which stopped where they stopped."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor


class ComplexRNNRMSprop(torch.optim.Optimizer):
    """RMSprop as Arjovsky et al. 2016's code has it (amarshah/complex_RNN, optimizations.py ``rms_prop``):

        ms ← decay·ms + (1 − decay)·g²      (ms starts at ``initial`` = 1e-3, not 0)
        p  ← p − lr·g / √ms                 (the new ms; no ε)

    ``g`` is the gradient as the training loop leaves it (complex_RNN clips it elementwise first).
    torch.optim.RMSprop starts ms at 0 and adds ε outside the root: its first steps are about
    lr/√(1 − decay) per entry whatever the gradient; here a gradient well below √(1e-3) takes a
    step about lr·g/√(0.9e-3)."""

    def __init__(self, params: Iterable[Tensor], lr: float, decay: float = 0.9, initial: float = 1e-3) -> None:
        super().__init__(params, {"lr": lr, "decay": decay, "initial": initial})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["square_avg"] = torch.full_like(p, group["initial"])
                ms = state["square_avg"]
                ms.mul_(group["decay"]).addcmul_(p.grad, p.grad, value=1 - group["decay"])
                p.addcdiv_(p.grad, ms.sqrt(), value=-group["lr"])


OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    # plain SGD shows the explosion (Pascanu 2013); momentum optional
    "sgd": lambda params, lr, momentum: torch.optim.SGD(params, lr=lr, momentum=momentum),
    # Adam and RMSprop normalise each update, so an exploding gradient rarely derails them
    "adam": lambda params, lr, momentum: torch.optim.Adam(params, lr=lr),
    # decay 0.9 as in Arjovsky et al. 2016 (PyTorch's default alpha is 0.99)
    "rmsprop": lambda params, lr, momentum: torch.optim.RMSprop(params, lr=lr, alpha=0.9),
    # Arjovsky et al. 2016's own RMSprop: mean square from 1e-3, no ε (see ComplexRNNRMSprop)
    "rmsprop-complexrnn": lambda params, lr, momentum: ComplexRNNRMSprop(params, lr=lr),
}


# devices on which reading a value back waits for no queue of kernels (the CPU's ops run as they are
# called), so ``guard_step`` may look at the mask first; tests empty it to check the device path
FREE_READS: tuple[str, ...] = ("cpu",)


@torch.no_grad()
def guard_step(
    optimizer: torch.optim.Optimizer, params: list[Tensor], before: list[Tensor], alive: Tensor, zero_dead: bool
) -> None:
    """``optimizer.step()``, after which every run not ``alive`` has its parameters put back as they
    were before it, decided on the device (no read-back). ``alive``: () for one model, (M,) along
    dimension 0 of each parameter for a stack of M runs; ``before``: buffers shaped as ``params``.
    ``zero_dead``: also zero the gradients of those runs first, so that their (possibly non-finite)
    gradients stay out of the optimizer's state (a stack's runs share one optimizer).

    ``torch.where`` picks each element of one side unchanged, so a live run's update is bit for bit
    the optimizer's; a run that is not alive keeps its parameters however the optimizer moves them
    (Adam and momentum move parameters even with a zero gradient).
    """
    if alive.device.type in FREE_READS and bool(alive.all()):
        # on the CPU reading the mask waits for no queue: while every run is alive the plain step is the
        # same update (nothing to zero, ``where`` would pick every element of ``p``) without the copies
        optimizer.step()
        return
    masks = [alive.view(-1, *[1] * (p.ndim - 1)) if alive.ndim else alive for p in params]  # broadcast over p
    if zero_dead:
        for p, m in zip(params, masks, strict=True):
            p.grad.masked_fill_(~m, 0.0)
    torch._foreach_copy_(before, params)
    optimizer.step()
    for p, b, m in zip(params, before, masks, strict=True):
        torch.where(m, p, b, out=p)
