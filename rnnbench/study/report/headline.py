"""REPORT.md's study section: what the length sweep trained, how to read the headline, and the
headline itself: per task, cell and clipping, the longest length solved and each length's losses."""

from __future__ import annotations

import pandas as pd

from rnnbench.core.tasks import ADDING_SOLVED_RATIO, COPY_RECALL, COPY_SOLVED_ACCURACY
from rnnbench.study.claims.solved import longest_text, sweep
from rnnbench.study.tables.labels import cell_rank
from rnnbench.study.tables.mdtable import g3, md_table

# the tasks' own criteria (rnnbench.core.tasks), in words
SOLVED_RULES = {
    "adding": f"held-out MSE < {ADDING_SOLVED_RATIO:g} × the 1/6 baseline",
    "copy": f"recall accuracy ≥ {COPY_SOLVED_ACCURACY:g} on the {COPY_RECALL} recalled symbols",
}


def headline(runs: pd.DataFrame, majority: float) -> str:
    """Per task: one row per cell × clipping; the longest length solved in most seeds, and per
    length the median loss/baseline over finished seeds with the number of seeds that solved it."""
    r = sweep(runs)
    out = []
    for task, t in r.groupby("task", sort=False):
        lengths = sorted(t["length"].unique())
        rows = []
        for (cell, clipping), g in sorted(
            t.groupby(["cell", "clipping"]), key=lambda kv: (cell_rank(kv[0][0]), kv[0][1])
        ):
            cells = []
            for T in lengths:
                s = g[g["length"] == T]
                if s.empty:  # a block of the task (the copy contrast) trains this length for other cells only
                    cells.append("—")
                    continue
                ok = s[s["status"] == "ok"]
                cell_text = f"{g3(ok['loss_ratio'].median())} ({int(s['solved'].sum())}/{len(s)})"
                n_div = int((s["status"] == "diverged").sum())
                if n_div:
                    cell_text += f", {n_div} diverged"
                cells.append(cell_text)
            rows.append([cell, clipping, longest_text(g, majority), *cells])
        out.append(
            f"### {task} (solved: {SOLVED_RULES.get(task, 'see README')})\n\n"
            + md_table(["cell", "clipping", "longest T solved", *[f"T={T}" for T in lengths]], rows)
        )
    return "\n\n".join(out)


def study_part(runs: pd.DataFrame, config_hash: str, majority: float) -> str:
    """What the length sweep trained, and how to read the headline; then the headline (the title and the
    findings come before it: ``document``)."""
    s = sweep(runs)
    trainer = s.iloc[0]
    return f"""## The study

Config hash `{config_hash}`. Length sweep: {len(s)} runs, {trainer["optimizer"]} lr {trainer["lr"]:g},
hidden {int(trainer["hidden"])}, batch {int(trainer["batch"])}, {int(trainer["steps"])} steps per run (per task
settings may differ: see `results/tables/runs.csv`). "Solved at T": the fraction of its seeds that solved it,
with its 95% interval (a percentile bootstrap over seeds; with 3 seeds or fewer, their whole range), lies
wholly above {majority:.0%}; "not solved": wholly at or below it; otherwise the length is **inconclusive at n
seeds**, listed after the longest length solved. Cells read: median held-out loss / memoryless baseline over the
seeds that finished (seeds solved / seeds), and diverged seeds, which are never dropped.

## Headline: the longest length each cell solves

{headline(runs, majority)}

"""
