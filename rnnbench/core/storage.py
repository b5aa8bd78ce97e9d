"""Atomic result files: write to a temporary file beside the target, fsync, then rename.

A reader (or a resumed sweep) therefore sees either the whole file or none of it. The file ends up
with the permissions an ordinary new file gets under the process's umask (0644 under umask 022),
not the 0600 of the temporary file, so that others on a shared machine can read the results.
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
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it 0600 whatever the umask
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask: from /proc on Linux; elsewhere POSIX can only read it by setting it,
    so it is set back at once (a file another thread creates in between gets umask 022)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def output_problem(path: str | os.PathLike) -> str | None:
    """Why ``atomic_write(path, ...)`` would fail, checked before any work; None when it would not.

    The file must not be a directory, and its nearest existing ancestor must be a directory this
    process may create files in (``atomic_write`` creates the missing folders below it)."""
    path = Path(path)
    if path.is_dir():
        return "is a directory; give a file name"
    if path.exists() and not os.access(path, os.W_OK):
        return "is not writable"
    parent = path.parent
    while not parent.exists():  # atomic_write will create it, if its first existing ancestor allows
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {str(parent)!r} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: directory {str(parent)!r} is not writable"
    return None


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
