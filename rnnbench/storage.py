"""Atomic result files: write to a temporary file beside the target, fsync, then rename.

A reader (or a resumed sweep) therefore sees either the whole file or none of it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "w") -> None:
    """Call ``write(fileobj)`` on a temporary file, then move it over ``path`` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def finite_or_none(value: Any) -> Any:
    """Strict JSON has no NaN or inf: non-finite floats become null (status says why)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def write_json(path: str | os.PathLike, data: Any) -> None:
    text = json.dumps(finite_or_none(data), indent=1, allow_nan=False)
    atomic_write(path, lambda f: f.write(text + "\n"))
