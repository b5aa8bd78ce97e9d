"""Optimizers as a registry: name -> builder(params, lr, momentum)."""

from __future__ import annotations

from collections.abc import Callable

import torch

OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    # plain SGD shows the explosion (Pascanu 2013); momentum optional
    "sgd": lambda params, lr, momentum: torch.optim.SGD(params, lr=lr, momentum=momentum),
    # Adam and RMSprop normalise each update, so an exploding gradient rarely derails them
    "adam": lambda params, lr, momentum: torch.optim.Adam(params, lr=lr),
    # decay 0.9 as in Arjovsky et al. 2016 (PyTorch's default alpha is 0.99)
    "rmsprop": lambda params, lr, momentum: torch.optim.RMSprop(params, lr=lr, alpha=0.9),
}
