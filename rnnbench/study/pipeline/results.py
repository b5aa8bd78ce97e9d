"""A run's result file: where it lives (``results/runs/<run id>.json``) and what it must hold.

The training job writes one JSON per run (``rnnbench.training.train.train``'s record); the tables read
them (``tables.aggregate``) and the plan checks one before a kill's incomplete mark is cleared
(``plan.Plan.whole_result``). ``load_result`` refuses any file that is not such a record, naming it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATUSES = ("ok", "diverged")


# What a result record must hold, and the type each value must have (None allowed where non-finite).
RESULT_FIELDS: dict[str, tuple[type, ...]] = {
    "config": (dict,),
    "config_hash": (str,),
    "status": (str,),
    "final_loss": (int, float, type(None)),
    "baseline_loss": (int, float),
    "loss_ratio": (int, float, type(None)),
    "accuracy": (int, float, type(None)),
    "solved": (bool,),
    "steps_run": (int,),
    "curve": (list,),
    "eval_curve": (list,),
    "gradflow": (list,),
    "decay": (list,),
    "env": (dict,),
}


class ResultError(ValueError):
    """A result file that is not a valid run record; the message starts with its path."""


def load_result(path: str | os.PathLike) -> dict[str, Any]:
    """Read one run's JSON and check its shape; any problem is a ResultError naming ``path``."""
    try:
        with open(path) as f:
            text = f.read()
        if not text.strip():
            raise ResultError(f"{path}: empty file, not a result (a copy or a job that stopped before writing)")
        record = json.loads(text)
    except (OSError, json.JSONDecodeError) as e:
        raise ResultError(f"{path}: not a readable JSON result ({e})") from None
    if not isinstance(record, dict):
        raise ResultError(f"{path}: a result must be a JSON object, got {type(record).__name__}")
    for key, types in RESULT_FIELDS.items():
        if key not in record:
            raise ResultError(f"{path}: missing field {key!r}")
        if not isinstance(record[key], types) or (bool in types) != isinstance(record[key], bool):
            raise ResultError(f"{path}: field {key!r} has the wrong type ({type(record[key]).__name__})")
    if record["status"] not in STATUSES:
        raise ResultError(f"{path}: status {record['status']!r} is not one of {STATUSES}")
    for key in ("task", "cell", "length", "seed"):
        if key not in record["config"]:
            raise ResultError(f"{path}: config lacks {key!r}")
    return record


def run_id_of(path: str | os.PathLike) -> str:
    """``results/runs/task~adding/.../seed~0.json`` -> ``task~adding/.../seed~0``: the part of the
    path below its last ``runs`` directory (no run id has a segment named ``runs``)."""
    parts = Path(path).with_suffix("").parts
    if "runs" not in parts[:-1]:
        raise ValueError(f"not under a 'runs' directory: {path}")
    below = len(parts) - 1 - parts[::-1].index("runs")
    return "/".join(parts[below + 1 :])
