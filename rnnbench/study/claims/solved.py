"""Which lengths a cell solves: the length sweep's seeds at each T, judged with an interval.

A run is solved by its task's own criterion (``rnnbench.core.tasks``, recorded per run and put in
``runs.csv`` by ``tables.aggregate``); here each length's seeds are judged together
(``verdicts.mean_interval``), and the headline's "longest T solved" is read off the lengths judged solved.
"""

from __future__ import annotations

import pandas as pd

from rnnbench.study.claims.verdicts import judged, mean_interval
from rnnbench.study.tables.labels import clip_label


def sweep(runs: pd.DataFrame) -> pd.DataFrame:
    r = runs[runs["study"] == "sweep"].copy()
    r["clipping"] = [clip_label(c) for c in r["clip"]]
    return r


def length_solved(group: pd.DataFrame, majority: float) -> bool | None:
    """Whether one length is solved: the seeds' solved fraction with its interval (``verdicts.mean_interval``,
    with 3 seeds or fewer their range) wholly above ``majority`` (True) or at or below it (False); None when
    the interval straddles it (inconclusive at that many seeds)."""
    interval = mean_interval(group["solved"].astype(float).tolist())
    if interval.low > majority:
        return True
    return False if interval.high <= majority else None


def longest_solved(group: pd.DataFrame, majority: float) -> int | None:
    """The longest length solved decisively (``length_solved``; None if none)."""
    solved = [int(T) for T, g in group.groupby("length") if length_solved(g, majority)]
    return max(solved) if solved else None


def longest_text(group: pd.DataFrame, majority: float) -> str:
    """The headline's "longest T solved": the longest length solved decisively, then any longer length
    whose seeds split (inconclusive at n seeds), e.g. '20 (50: inconclusive at 3 seeds)'."""
    best = longest_solved(group, majority)
    open_ = [
        f"{int(T)}: {judged(None, len(g))}"
        for T, g in group.groupby("length")
        if (best is None or T > best) and length_solved(g, majority) is None
    ]
    return ("none" if best is None else str(best)) + (f" ({'; '.join(open_)})" if open_ else "")
