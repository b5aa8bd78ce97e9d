"""Checkpoints of a training run: model, optimizer, the data generator's state and the log so far.

Saved atomically and loaded with ``torch.load(weights_only=True)`` (tensors and plain data only,
no arbitrary pickle). A checkpoint that is corrupt, or that belongs to another configuration,
is refused with a message, and the run starts over rather than continuing from wrong state.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import torch

from rnnbench.config import RunConfig
from rnnbench.storage import atomic_write

FORMAT = 1


def save_checkpoint(path: str | Path, cfg: RunConfig, next_step: int, model, optimizer, generator, log: dict) -> None:
    state = {
        "format": FORMAT,
        "config_hash": cfg.config_hash(),
        "config": cfg.to_dict(),
        "next_step": next_step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "log": log,
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)  # serialise fully before touching the file
    atomic_write(path, lambda f: f.write(buffer.getvalue()), mode="wb")


def load_checkpoint(path: str | Path, cfg: RunConfig) -> dict[str, Any] | None:
    """The checkpoint's state if it exists and belongs to ``cfg``; otherwise None, saying why."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"not an rnnbench checkpoint of format {FORMAT}")
    except Exception as e:  # noqa: BLE001 -- any unreadable file is refused the same way
        print(f"rnnbench: checkpoint {path} is unreadable ({type(e).__name__}: {e}); starting over", file=sys.stderr)
        return None
    if state["config_hash"] != cfg.config_hash():
        changed = sorted(k for k, v in cfg.to_dict().items() if state["config"].get(k) != v)
        print(
            f"rnnbench: checkpoint {path} belongs to another configuration (differs in: {', '.join(changed)}); starting over",
            file=sys.stderr,
        )
        return None
    return state
