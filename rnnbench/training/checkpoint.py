"""Checkpoints of a training run: model, optimizer, the data generator's state and the log so far.

Saved atomically and loaded with ``torch.load(weights_only=True)`` (tensors and plain data only,
no arbitrary pickle). A checkpoint that is corrupt, or that belongs to another configuration,
is refused with a message, and the run starts over rather than continuing from wrong state.
"""

from __future__ import annotations

import hashlib
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from rnnbench.core.storage import atomic_write
from rnnbench.training.config import RunConfig

FORMAT = 1


Configs = RunConfig | Sequence[RunConfig]  # one run, or the runs of a batched job (train_batched)


def identity(cfg: Configs) -> tuple[str, dict | list[dict]]:
    """The hash a checkpoint is keyed by, and the config(s) it records: a run's own hash, or for a
    batch of runs a hash of their hashes in order."""
    if isinstance(cfg, RunConfig):
        return cfg.config_hash(), cfg.to_dict()
    hashes = "/".join(c.config_hash() for c in cfg)
    return hashlib.sha256(hashes.encode()).hexdigest()[:16], [c.to_dict() for c in cfg]


def save_checkpoint(path: str | Path, cfg: Configs, next_step: int, model, optimizer, generator, log: Any) -> None:
    """``generator``: one torch.Generator or a list (one per run of a batch); ``log``: plain data."""
    key, config = identity(cfg)
    gens = generator if isinstance(generator, list) else [generator]
    state = {
        "format": FORMAT,
        "config_hash": key,
        "config": config,
        "next_step": next_step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": [g.get_state() for g in gens] if isinstance(generator, list) else generator.get_state(),
        "log": log,
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)  # serialise fully before touching the file
    atomic_write(path, lambda f: f.write(buffer.getvalue()), mode="wb")


def load_checkpoint(path: str | Path, cfg: Configs) -> dict[str, Any] | None:
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
    key, config = identity(cfg)
    if state["config_hash"] != key:
        saved, now = state["config"], config
        if isinstance(saved, dict) != isinstance(now, dict) or (isinstance(now, list) and len(saved) != len(now)):
            changed = ["the runs it holds"]
        else:
            pairs = [(saved, now)] if isinstance(now, dict) else list(zip(saved, now, strict=True))
            changed = sorted({k for old, new in pairs for k, v in new.items() if old.get(k) != v})
        print(
            f"rnnbench: checkpoint {path} belongs to another configuration (differs in: {', '.join(changed)}); starting over",
            file=sys.stderr,
        )
        return None
    return state
