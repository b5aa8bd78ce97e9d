"""Resuming the pipeline after a kill, with the same command.

A Snakemake killed with SIGKILL (or by a lost node, the OOM killer, a power cut) leaves two things:

- its directory lock, plain files (``.snakemake/locks/N.{input,output}.lock``) that name no process,
  so the next ``snakemake`` stops with "Directory cannot be locked" until ``snakemake --unlock``;
- "incomplete" marks on the outputs of the jobs it was running. Snakemake sets the mark when a job
  starts and clears it only after it has seen the job end, so a run that wrote its JSON (whole: it
  is written atomically) in the last moment before the kill is still marked, and with
  ``rerun-incomplete`` it would be trained again.

Every top-level Snakemake of this workflow holds a shared ``flock`` on ``.snakemake/rnnbench-instances``
while it lives; the kernel drops a flock when its holder dies, however it dies. When a new instance
can take that lock *exclusively*, no other instance of this workflow is alive in the directory, so
the lock files are stale and are removed, and the incomplete mark of every run JSON that is whole
and made by this config is cleared. While another instance is alive nothing is touched, and
Snakemake's own lock refuses an overlapping run as before.

The marks are read in the layout of Snakemake's default file-based persistence (one file per output,
named by the urlsafe base64 of its path, split into folders at the name-length limit, ``@`` before
each part but the last). A mark that does not decode to a path is left alone: the worst a change of
that layout can do is to have such a run trained again.
"""

from __future__ import annotations

import fcntl
import os
from base64 import urlsafe_b64decode
from collections.abc import Callable
from pathlib import Path
from typing import IO

# Held open for the life of the process: closing it would drop the shared lock.
_HELD: list[IO] = []


def _marked_path(marker: Path, incomplete_dir: Path) -> str | None:
    """The output path an incomplete mark stands for, or None if it does not decode."""
    parts = marker.relative_to(incomplete_dir).parts
    if any(not p.startswith("@") for p in parts[:-1]) or parts[-1].startswith("@"):
        return None
    try:
        return urlsafe_b64decode("".join(p.lstrip("@") for p in parts)).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
        return None


def resume_after_kill(
    snakemake_dir: str | os.PathLike = ".snakemake", is_whole: Callable[[str], bool] = lambda path: False
) -> tuple[list[str], list[str]]:
    """Join the live instances of this workflow in ``snakemake_dir``; if there were none, first remove
    Snakemake's stale lock files and clear the incomplete mark of each output for which ``is_whole``
    says yes. Returns (lock files removed, outputs unmarked); both empty while another instance lives."""
    root = Path(snakemake_dir)
    root.mkdir(parents=True, exist_ok=True)
    f = open(root / "rnnbench-instances", "a")  # noqa: SIM115 (kept open on purpose, see _HELD)
    removed: list[str] = []
    unmarked: list[str] = []
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pass  # another instance is alive: its locks and marks are real
    else:
        for lock in sorted((root / "locks").glob("*.lock")):
            if lock.name.endswith((".input.lock", ".output.lock")):
                lock.unlink(missing_ok=True)
                removed.append(str(lock))
        incomplete = root / "incomplete"
        for marker in sorted(p for p in incomplete.rglob("*") if p.is_file()) if incomplete.is_dir() else []:
            path = _marked_path(marker, incomplete)
            if path is not None and is_whole(path):
                marker.unlink(missing_ok=True)
                unmarked.append(path)
    # from here on we are one of the live instances (this turns our exclusive lock, if we had it, shared)
    fcntl.flock(f, fcntl.LOCK_SH)
    _HELD.append(f)
    return removed, unmarked
