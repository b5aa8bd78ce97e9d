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


def with_models(frame: pd.DataFrame, same: dict[str, str] | None = None) -> pd.DataFrame:
    """The sweep's and the variants' rows of a runs or curves table, with a ``model`` column: the sweep's
    cell, or the variant's name (``variants/variant~arjovsky-lstm/...`` -> ``arjovsky-lstm``); and a ``base``
    column: the model a variant repeats at another batch size (``same``: the config's ``same_model``s,
    ``lstm-b50`` -> ``lstm``), else the model itself."""
    f = frame[frame["study"].isin(("sweep", "variants"))].copy()
    f["model"] = [variant_of(r) or c for r, c in zip(f["run"], f["cell"], strict=True)]
    f["base"] = [(same or {}).get(m, m) for m in f["model"]]
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


@dataclass(frozen=True)
class BatchChoice:
    """The batch size a model's claim at one length is judged on (Arjovsky et al. trained the adding models
    at batch 20 and 50 and reported the best): the batch whose seeds' mean held-out loss / baseline is lower at
    ``step``, the last budget every batch reached; made once, then used at every budget."""

    batch: int
    step: int
    means: dict[int, float]  # batch -> its seeds' mean loss / baseline at ``step`` (a diverged seed: inf)
    apart: bool = True  # whether the batches' intervals at ``step`` are apart (else the choice is a near tie)

    def text(self) -> str:
        """'batch 50 (mean loss / baseline at 10,000 steps: batch 20 0.0262, batch 50 0.00412)', and where the
        batches' intervals overlap, that the choice is not separated at these seeds."""
        at = ", ".join(f"batch {b} {m:.3g}" for b, m in sorted(self.means.items()))
        tie = "" if self.apart else "; the intervals overlap: a near tie at these seeds, either could be the paper's"
        return f"batch {self.batch} (mean loss / baseline at {self.step:,} steps: {at}{tie})"


def choose_batch(ev: pd.DataFrame, runs: pd.DataFrame) -> BatchChoice:
    """The batch (``BatchChoice``) of one model at one task and length: ``ev``, its held-out evaluations (run,
    step, loss_ratio); ``runs``, its runs (run, batch, steps). The common budget is the smallest of the batches'
    training lengths; the batch whose seeds' mean there is lower wins, the smaller batch on a tie."""
    batches = sorted(int(b) for b in runs["batch"].unique())
    step = int(min(runs[runs["batch"] == b]["steps"].max() for b in batches))
    at = ev[ev["step"] == step].set_index("run")["loss_ratio"].astype(float)
    intervals = {}
    for b in batches:
        ratios = [float(at.get(rid, math.nan)) for rid in runs[runs["batch"] == b]["run"]]
        intervals[b] = mean_interval(ratios)  # a run that diverged before ``step``: the worst value
    means = {b: i.estimate for b, i in intervals.items()}
    best = min(batches, key=lambda b: (means[b], b))
    separated = all(apart(i, intervals[best]) in ("lower", "higher") for b, i in intervals.items() if b != best)
    return BatchChoice(best, step, means, separated)


def claim_rows(
    runs: pd.DataFrame, curves: pd.DataFrame, names: dict[str, str], same: dict[str, str] | None = None
) -> list[dict]:
    """One row per (claim, model that checks it, batch size, budget): the paper's reading, our seeds' loss
    ratios there with their mean and interval, the verdict. Where a model ran at several batch sizes (``same``:
    the variants that repeat a model at another batch), each is shown and the claim is judged on the one
    ``choose_batch`` picks, at every budget; the others' rows say which was judged."""
    runs, ev = with_models(runs, same), with_models(curves[curves["kind"] == "eval"], same)
    if "batch" not in runs:
        runs["batch"] = 0  # tables without a batch column: one batch size
    rows = []
    for claim in registry.TRAINED:
        for model in claim.models:
            mine = ev[(ev["task"] == claim.task) & (ev["length"] == claim.length) & (ev["base"] == model)]
            if mine.empty:
                continue
            its_runs = runs[runs["run"].isin(set(mine["run"]))]
            several = its_runs["batch"].nunique() > 1
            choice = choose_batch(mine, its_runs) if several else None
            chosen_last = int(its_runs[its_runs["batch"] == choice.batch]["steps"].max()) if several else None
            for batch, by_batch in its_runs.groupby("batch", sort=True):
                seeds = by_batch.sort_values("seed")["run"].tolist()
                at_batch = mine[mine["run"].isin(set(seeds))]
                last = int(by_batch["steps"].max())
                for b in budgets(claim, set(at_batch["step"].astype(int)), last):
                    # a run that diverged before this budget has no evaluation there: it counts as the worst value
                    at = at_batch[at_batch["step"] == b.step].set_index("run")["loss_ratio"].astype(float)
                    ratios = [float(at.get(rid, float("nan"))) for rid in seeds]
                    interval = mean_interval(ratios)
                    if choice is None or choice.batch == batch:
                        verdict = verdict_at(b.category, interval)
                    elif b.step > chosen_last:  # the rule's batch never got here: no verdict, not this batch's
                        verdict = f"not judged (batch {choice.batch}, the rule's choice, stopped at {chosen_last:,} steps)"
                    else:
                        verdict = f"shown: judged at batch {choice.batch}"
                    rows.append(
                        {"claim": claim, "model": model, "name": names.get(model, model), "batch": int(batch),
                         "choice": choice, "budget": b,
                         "per_seed": ", ".join("diverged" if math.isnan(x) else f"{x:.3g}" for x in ratios),
                         "interval": interval, "verdict": verdict}
                    )  # fmt: skip
    return rows


def batch_choices(rows: list[dict]) -> list[str]:
    """'their LSTM, adding T = 100: batch 50 (...)', once per model and length the rule chose a batch for."""
    seen: dict[tuple, str] = {}
    for r in rows:
        if r["choice"] is not None:
            key = (r["claim"].task, r["claim"].length, r["model"])
            seen.setdefault(key, f"{r['name']}, {r['claim'].task} T = {r['claim'].length}: {r['choice'].text()}")
    return list(seen.values())


def claim_table(rows: list[dict]) -> str:
    header = [
        "T", "model", "batch", "step", "paper's curve (or claim) there", "its category",
        "ours: loss / baseline per seed", "ours: mean (95% interval, seeds)", "verdict",
    ]  # fmt: skip
    return md_table(
        header,
        (
            [
                r["claim"].length,
                r["name"],
                r["batch"] or "–",
                f"{r['budget'].step:,}",
                r["budget"].paper,
                r["budget"].category or "–",
                r["per_seed"],
                r["interval"].text(),
                r["verdict"] if r["verdict"].startswith("shown") else f"**{r['verdict']}**",
            ]
            for r in rows
        ),  # fmt: skip
    )


def fixed_set_text(r: pd.Series) -> str:
    """How a run (a runs.csv row) drew its batches: fresh ones, or its fixed set on which schedule."""
    fixed = int(r["train_set"]) if "train_set" in r and pd.notna(r["train_set"]) else 0
    if not fixed:
        return "fresh batches"
    order = r["train_order"] if "train_order" in r and pd.notna(r["train_order"]) else "cycled"
    how = "reshuffled before every step (their schedule)" if order == "their-shuffle" else "cycled in order"
    return f"a fixed set of {fixed:,}, {how}"


def settings_table(
    runs: pd.DataFrame, names: dict[str, str], differs: dict[str, str], same: dict[str, str] | None = None
) -> str:
    """Per task and model: the paper's settings (from the registry's claim), ours, and how ours differ."""
    runs = with_models(runs, same)
    rows = []
    for (task, model), g in runs.groupby(["task", "model"], sort=True):
        base = g["base"].iloc[0]
        claim = next((c for c in registry.TRAINED if c.task == task and base in c.models), None)
        r = g.iloc[0]
        mode = "elementwise" if r["clip_mode"] == "value" else "norm"
        clip = f"{mode} clip {r['clip']:g}" if pd.notna(r["clip"]) else "no clip"
        data = fixed_set_text(r)
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
    "fixed_set": "a fixed set of 100,000 on their schedule (a fresh random batch of it each step)",
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


def four_together_rows(runs: pd.DataFrame, curves: pd.DataFrame, same: dict[str, str] | None = None) -> list[list[str]]:
    """Their LSTM (the ``arjovsky-lstm`` variant) against ours on the adding task at each batch size they both
    ran (``same``: the variants at batch 50), at the paper's budgets (3,000, 10,000, 20,000 steps) and their
    last common step, where both were evaluated."""
    batch_of = with_models(runs, same).set_index("run")["batch"]
    ev = with_models(curves[curves["kind"] == "eval"], same)
    ev = ev[(ev["task"] == "adding") & ev["base"].isin(("arjovsky-lstm", "lstm"))]
    ev = ev.assign(batch=[int(batch_of.get(r, 0)) for r in ev["run"]])
    rows = []
    for (length, batch), g in ev.groupby(["length", "batch"]):
        both = set(g[g["base"] == "lstm"]["step"]) & set(g[g["base"] == "arjovsky-lstm"]["step"])
        for step in sorted(both & {3_000, 10_000, PAPER_STEPS, int(max(both, default=0))}):
            at = g[g["step"] == step]
            theirs, ours = (
                mean_interval(at[at["base"] == m]["loss_ratio"].tolist()) for m in ("arjovsky-lstm", "lstm")
            )
            rows.append([int(length), batch or "–", f"{step:,}", theirs.text(), ours.text(), apart(theirs, ours)])
    return rows
