"""The paper studies' trained claims, judged at the budgets the papers' curves were read at.

Every claim, setting, reading and rule comes from the registry (``rnnbench.study.claims.registry``); this module
finds the runs that check each claim (the study's sweep cell, and the variant that is the paper's own model
as its code trains it, ``registry.MODELS``), reads our held-out loss at each budget from the curves table,
and judges the seeds' mean with its interval (``rnnbench.study.claims.verdicts``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from rnnbench.study.claims import registry
from rnnbench.study.claims.record import AT_BASELINE, CONVINCING, PAPER_STEPS, Claim
from rnnbench.study.claims.verdicts import Interval, judged, mean_interval, side
from rnnbench.study.pipeline.sweep import variant_of
from rnnbench.study.tables.mdtable import md_table

# the line each category sits behind: "baseline" is at or above AT_BASELINE, the other two below their line
LINES = {"baseline": AT_BASELINE, "beats": AT_BASELINE, "convincing": CONVINCING}


def with_models(frame: pd.DataFrame) -> pd.DataFrame:
    """The sweep's and the variants' rows of a runs or curves table, with a ``model`` column: the sweep's
    cell, or the variant's name (``variants/variant~arjovsky-lstm/...`` -> ``arjovsky-lstm``)."""
    f = frame[frame["study"].isin(("sweep", "variants"))].copy()
    f["model"] = [variant_of(r) or c for r, c in zip(f["run"], f["cell"], strict=True)]
    return f


def category_holds(category: str, interval: Interval) -> bool | None:
    """Whether the seeds' mean loss ratio lies in ``category`` (None: its interval straddles the line)."""
    where = side(interval, LINES[category])
    if where == "straddles":
        return None
    return (where == "above") if category == "baseline" else (where == "below")


def verdict_at(category: str | None, interval: Interval) -> str:
    """``agrees`` / ``disagrees`` / ``inconclusive at n seeds``; ``not judged`` where the paper's curve has no
    category at this budget."""
    if category is None:
        return "not judged: the paper's curve is not in one category of the rule here"
    return judged(category_holds(category, interval), interval.n)


@dataclass(frozen=True)
class Budget:
    """One budget a claim is judged at: a step where the paper's curve was read, or our last step."""

    step: int
    paper: str  # what the paper's curve (or claim) says there
    category: str | None


def budgets(claim: Claim, evaluated: set[int], last: int) -> list[Budget]:
    """The readings of ``claim`` at steps our runs evaluated, then the claim itself at our last step when
    that is the paper's training length (their scripts' 20,000 steps) and no reading is there."""
    out = [Budget(r.step, r.says, r.category) for r in claim.readings if r.step in evaluated]
    if last not in {b.step for b in out}:
        at_length = last >= PAPER_STEPS
        out.append(
            Budget(
                last,
                claim.says + ("" if at_length else " (at their training length, not this budget)"),
                claim.category if at_length else None,
            )
        )
    return out


def claim_rows(runs: pd.DataFrame, curves: pd.DataFrame, names: dict[str, str]) -> list[dict]:
    """One row per (claim, model that checks it, budget): the paper's reading, our seeds' loss ratios
    there with their mean and interval, the verdict."""
    runs, ev = with_models(runs), with_models(curves[curves["kind"] == "eval"])
    rows = []
    for claim in registry.TRAINED:
        for model in claim.models:
            mine = ev[(ev["task"] == claim.task) & (ev["length"] == claim.length) & (ev["model"] == model)]
            if mine.empty:
                continue
            last = int(runs[runs["run"].isin(set(mine["run"]))]["steps"].max())
            seeds = runs[runs["run"].isin(set(mine["run"]))].sort_values("seed")["run"].tolist()
            for b in budgets(claim, set(mine["step"].astype(int)), last):
                # a run that diverged before this budget has no evaluation there: it counts as the worst value
                at = mine[mine["step"] == b.step].set_index("run")["loss_ratio"].astype(float)
                ratios = [float(at.get(rid, float("nan"))) for rid in seeds]
                interval = mean_interval(ratios)
                rows.append(
                    {"claim": claim, "model": model, "name": names.get(model, model), "budget": b,
                     "per_seed": ", ".join("diverged" if math.isnan(x) else f"{x:.3g}" for x in ratios),
                     "interval": interval, "verdict": verdict_at(b.category, interval)}
                )  # fmt: skip
    return rows


def claim_table(rows: list[dict]) -> str:
    header = [
        "T", "model", "step", "paper's curve (or claim) there", "its category",
        "ours: loss / baseline per seed", "ours: mean (95% interval, seeds)", "verdict",
    ]  # fmt: skip
    return md_table(
        header,
        (
            [
                r["claim"].length,
                r["name"],
                f"{r['budget'].step:,}",
                r["budget"].paper,
                r["budget"].category or "–",
                r["per_seed"],
                r["interval"].text(),
                f"**{r['verdict']}**",
            ]
            for r in rows
        ),  # fmt: skip
    )


def settings_table(runs: pd.DataFrame, names: dict[str, str], differs: dict[str, str]) -> str:
    """Per task and model: the paper's settings (from the registry's claim), ours, and how ours differ."""
    runs = with_models(runs)
    rows = []
    for (task, model), g in runs.groupby(["task", "model"], sort=True):
        claim = next((c for c in registry.TRAINED if c.task == task and model in c.models), None)
        r = g.iloc[0]
        mode = "elementwise" if r["clip_mode"] == "value" else "norm"
        clip = f"{mode} clip {r['clip']:g}" if pd.notna(r["clip"]) else "no clip"
        fixed = int(r["train_set"]) if "train_set" in r and pd.notna(r["train_set"]) else 0
        data = f"a fixed set of {fixed:,} cycled" if fixed else "fresh batches"
        ours = (
            f"H {r['hidden']}, {r['optimizer']} {r['lr']:g}, batch {r['batch']}, {r['init']}, {clip}, "
            f"{int(r['steps']):,} steps, {data}; backend {', '.join(sorted(set(g['backend_used'])))}"
        )
        rows.append([task, names.get(model, model), claim.settings if claim else "not in the paper", ours,
                     differs.get(model, "–")])  # fmt: skip
    return md_table(["task", "model", "paper's settings", "ours", "what differs from the paper's model"], rows)


def apart(a: Interval, b: Interval) -> str:
    """'lower' / 'higher' when ``a``'s interval lies wholly below / above ``b``'s, else inconclusive."""
    if a.high < b.low:
        return "lower"
    if a.low > b.high:
        return "higher"
    return f"intervals overlap: {judged(None, min(a.n, b.n))}"


DIFFERENCE_NAMES = {
    "ours": "none (ours)",
    "peephole": "the peephole V_o",
    "initial_state": "learned h_0 and c_0",
    "rmsprop_complexrnn": "their RMSprop",
    "fixed_set": "a fixed set of 100,000",
    "all": "all four (their LSTM)",
}


def differences_rows(d: pd.DataFrame) -> list[list[str]]:
    """benchmarks/arjovsky_differences.py's table (variant, seed, step, eval_mse) at its last step: each
    difference's loss / baseline with its interval, against ours."""
    last = d[d["step"] == d["step"].max()]
    at = {v: mean_interval((g.sort_values("seed")["eval_mse"] * 6).tolist()) for v, g in last.groupby("variant")}
    rows = []
    for v in [v for v in DIFFERENCE_NAMES if v in at] + sorted(set(at) - set(DIFFERENCE_NAMES)):
        per_seed = ", ".join(f"{x * 6:.3g}" for x in last[last["variant"] == v].sort_values("seed")["eval_mse"])
        rows.append(
            [DIFFERENCE_NAMES.get(v, v), per_seed, at[v].text(), "–" if v == "ours" else apart(at[v], at["ours"])]
        )
    return rows


def four_together_rows(runs: pd.DataFrame, curves: pd.DataFrame) -> list[list[str]]:
    """Their LSTM (the ``arjovsky-lstm`` variant) against ours on the adding task, at the paper's budgets
    (3,000, 10,000, 20,000 steps) and our last step, where both were evaluated."""
    ev = with_models(curves[curves["kind"] == "eval"])
    ev = ev[(ev["task"] == "adding") & ev["model"].isin(("arjovsky-lstm", "lstm"))]
    rows = []
    for length, g in ev.groupby("length"):
        both = set(g[g["model"] == "lstm"]["step"]) & set(g[g["model"] == "arjovsky-lstm"]["step"])
        for step in sorted(both & {3_000, 10_000, PAPER_STEPS, int(max(both, default=0))}):
            at = g[g["step"] == step]
            theirs, ours = (
                mean_interval(at[at["model"] == m]["loss_ratio"].tolist()) for m in ("arjovsky-lstm", "lstm")
            )
            rows.append([int(length), f"{step:,}", theirs.text(), ours.text(), apart(theirs, ours)])
    return rows
