"""Checks of configuration values, shared by every layer that takes configuration (a training run's
``RunConfig``, the throughput benchmark's ``ThroughputConfig``, the command line).

Each check raises ``ConfigError`` with a message that names the bad value and what is allowed. The
devices and dtypes every configuration chooses from live here too, with ``resolve_device``.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import torch

DEVICES = ("cpu", "cuda", "auto")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


class ConfigError(ValueError):
    """A configuration value that is not allowed; the message names it and what is allowed."""


def one_of(name: str, value: Any, allowed: Collection) -> None:
    """``value`` must be a string among ``allowed`` (a tuple, or a dict's keys)."""
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{name} {value!r} is not allowed; choose one of: {', '.join(map(str, allowed))}")


def int_at_least(name: str, value: Any, low: int) -> None:
    """``value`` must be an int (not a bool) >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise ConfigError(f"{name} must be an integer >= {low}, got {value}")


def positive_number(name: str, value: Any) -> None:
    """``value`` must be a finite int or float (not a bool) > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")


def resolve_device(device: str) -> str:
    """``auto`` is CUDA when present, else CPU; ``cuda`` without CUDA is refused."""
    one_of("device", device, DEVICES)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device 'cuda' was asked for, but torch finds no CUDA device here; use device 'cpu' or 'auto'"
        )
    return device
