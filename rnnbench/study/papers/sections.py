"""The paper studies' REPORT.md after its opening: the trained claims at each budget and the settings
(claims 1–3), what each difference from their LSTM changed, and the gradient claims (4, 5) with the curves."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from rnnbench.core.tasks import ADDING_TOLERANCE
from rnnbench.study.claims import registry
from rnnbench.study.claims.paper_claims import batch_choices, claim_rows, claim_table, settings_table, with_models
from rnnbench.study.claims.record import CONVINCING, PAPER_STEPS, rule_text
from rnnbench.study.claims.verdicts import judged
from rnnbench.study.papers.studies import CELL_NAMES, STUDIES, Study, sweep_budget
from rnnbench.study.tables.mdtable import md_table

HS_ACCURACY = 0.99  # H&S 1997 stand-in: held-out fraction with |error| < ADDING_TOLERANCE at or above this


def _fmt(x: float, digits: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}g}"


def hs_rows(runs: pd.DataFrame, curves: pd.DataFrame) -> list[dict]:
    """Hochreiter & Schmidhuber 1997: sequences seen until the held-out H&S accuracy first reaches
    ``HS_ACCURACY``, per seed, for each model's adding runs at T = 100."""
    runs, ev = with_models(runs), with_models(curves[curves["kind"] == "eval"])
    ev = ev[(ev["task"] == "adding") & (ev["length"] == 100)]
    diverged = set(runs[runs["status"] == "diverged"]["run"]) if "status" in runs else set()
    rows = []
    for model, g in ev.groupby("model", sort=False):
        batch = int(runs[runs["run"].isin(set(g["run"]))]["batch"].iloc[0])
        per_seed = []
        for _, s in g.sort_values("step").groupby("seed"):
            hit = s[s["accuracy"] >= HS_ACCURACY]
            seen = int(s["step"].max()) * batch  # a diverged run's last evaluation, not its budget
            per_seed.append(
                f"{int(hit['step'].iloc[0]) * batch:,}"
                if len(hit)
                else f"diverged after {seen:,}"
                if s["run"].iloc[0] in diverged
                else f"not within {seen:,}"
            )
        best = g.groupby("seed")["accuracy"].max()
        rows.append({"model": model, "seeds": "; ".join(per_seed), "best": ", ".join(_fmt(a, 3) for a in best)})
    return rows


def decay_at_init(gradflow: pd.DataFrame, study: str = "sweep", task: str = "adding") -> pd.DataFrame:
    """Per-step factor of ‖∂L/∂h_t‖ (top layer, direction 0, h) at step 0, mean over seeds, per cell and T."""
    g = gradflow[(gradflow["study"] == study) & (gradflow["task"] == task) & (gradflow["step"] == 0)]
    g = g[(g["state"] == "h") & (g["direction"] == 0)]
    per_run = g.groupby(["cell", "length", "init_gain", "seed"])["decay_factor"].first().reset_index()
    return per_run.groupby(["cell", "length", "init_gain"])["decay_factor"].agg(["mean", "min", "max"]).reset_index()


GAINS_HEADER = ["gain (= η = σ_max(W_hh))", "ours: per-step factor at init (mean, range over seeds)", "verdict"]


def _gains_rows(gains: pd.DataFrame) -> list[list[str]]:
    rows = []
    for r in gains.itertuples():
        eta = float(r.init_gain)
        expected = "vanishes (factor < 1)" if eta < 1 else "not bounded: may grow"
        ok = r.max < 1 if eta < 1 else True
        verdict = ("agrees" if ok else "disagrees") if eta < 1 else "no claim (η ≥ 1 is only necessary)"
        rows.append([f"{eta:g}", f"{r.mean:.3f} ({r.min:.3f}–{r.max:.3f}); Pascanu: {expected}", f"**{verdict}**"])
    return rows


EXPLODED = 10.0  # held-out loss / baseline at or above this (or a diverged run): the run exploded


def _first(runs: pd.DataFrame, study: str, field: str):
    return runs[runs["study"] == study][field].iloc[0]


def _study_settings(runs: pd.DataFrame, study: str) -> str:
    """'tanh RNN, H 128, adding T = 200, 300 steps' for the gains or clipping study, from its runs."""
    r = runs[runs["study"] == study]
    if r.empty:
        return f"(no {study} study in this run)"
    r = r.iloc[0]
    return f"{CELL_NAMES[r['cell']]}, H = {r['hidden']}, {r['task']} T = {r['length']}, batch {r['batch']}, {r['steps']} steps"


def _clipping_settings(runs: pd.DataFrame) -> str:
    """'tanh RNN, ..., Gaussian W_hh of gain 3; SGD lr 0.01' for the clipping study, from its runs."""
    sgd = runs[(runs["study"] == "clipping") & (runs["optimizer"] == "sgd")]
    if sgd.empty:  # a study in parts looked at before its clipping runs finished
        return "no clipping study in this run"
    return (f"{_study_settings(runs, 'clipping')}, Gaussian W_hh of gain {_first(runs, 'clipping', 'init_gain'):g}; "
            f"SGD lr {_first(sgd, 'clipping', 'lr'):g}")  # fmt: skip


CLIPPING_HEADER = ["optimizer", "clipping", "diverged seeds", "held-out MSE per seed", "the paper's claim", "verdict"]


def _clipping_rows(runs: pd.DataFrame) -> list[list[str]]:
    """Pascanu's claim for plain SGD: it explodes without clipping, stays finite and trains with it."""
    c = runs[runs["study"] == "clipping"]
    rows = []
    for (opt, clip), g in c.groupby(["optimizer", c["clip"].fillna(-1)], sort=True):
        label = "none" if clip == -1 else f"norm at {clip:g}"
        div = int((g["status"] == "diverged").sum())
        mse = ", ".join(_fmt(x) for x in g.sort_values("seed")["final_loss"])
        exploded = [s == "diverged" or not r < EXPLODED for s, r in zip(g["status"], g["loss_ratio"], strict=True)]
        if opt != "sgd":
            claim, verdict = "no claim (they use SGD)", "–"
        elif clip == -1:
            claim = "explodes"
            verdict = judged(True if all(exploded) else False if not any(exploded) else None, len(g))
        else:
            claim = "stays finite (no explosion)"
            verdict = judged(True if not any(exploded) else False if all(exploded) else None, len(g))
        if verdict.startswith("inconclusive"):
            verdict += f" ({sum(exploded)} of {len(g)} exploded)"
        rows.append([opt, label, f"{div} of {len(g)}", mse, claim, f"**{verdict}**"])
    return rows


def pascanu_findings(runs: pd.DataFrame, gradflow: pd.DataFrame) -> list[str]:
    """Claim 6's sentences for the findings: the gains study's verdicts and plain SGD with and without clipping."""
    out = []
    gains = _gains_rows(decay_at_init(gradflow, "gains"))
    if gains:
        per = "; ".join(f"gain {g}: ×{f.split(' ')[0]} per step, {v}" for g, f, v in gains)
        out.append(f"**{registry.PASCANU_BOUND.source}**, {registry.PASCANU_BOUND.says}: {per} ([table](#claim-6)).")
    sgd = [r for r in _clipping_rows(runs) if r[0] == "sgd"]
    if sgd:
        per = "; ".join(f"clipping {r[1]}: {r[2]} diverged, the paper: {r[4]}: {r[5]}" for r in sgd)
        out.append(f"**{registry.PASCANU_CLIPPING.source}**, plain SGD: {per} ([table](#claim-6)).")
    return out


def hs_finding(runs: pd.DataFrame, curves: pd.DataFrame, names: dict[str, str]) -> list[str]:
    """Claim 3's sentence for the findings: shown for scale (another variant of the task), never judged."""
    hs, rows = registry.HOCHREITER_ADDING, hs_rows(runs, curves)
    if not rows:
        return []
    per = ", ".join(f"{names.get(h['model'], h['model'])} ({h['seeds']})" for h in rows)
    return [
        f"**{hs.source}**, {hs.says}: not judged, another variant of the task (shown for scale). Sequences until "
        f"our held-out accuracy under their criterion reaches {HS_ACCURACY}, per seed: {per} ([table](#claim-3))."
    ]


def _irnn_runs(runs: pd.DataFrame) -> tuple[pd.DataFrame, int | None]:
    """The IRNN variant's runs and the most steps one ran (None: no IRNN here), for claim 4's table and sentence."""
    irnn = with_models(runs)
    irnn = irnn[irnn["model"] == "irnn"]
    return irnn, (int(irnn["steps"].max()) if len(irnn) else None)


def irnn_finding(runs: pd.DataFrame) -> list[str]:
    """Claim 4's sentence for the findings: the verdict irnn_part gives, with the steps the IRNN ran."""
    claim, (_, steps) = registry.IRNN_ADDING, _irnn_runs(runs)
    return [f"**{claim.source}**, {claim.says}: **{registry.not_at_budget(claim, steps)}** ([table](#claim-4))."]


def claims_part(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    names: dict[str, str],
    differs: dict[str, str],
    same: dict[str, str] | None = None,
) -> str:
    """The rule for the verdicts, the batch size each model is judged at, the trained claims per task at each
    budget, the settings, and Hochreiter & Schmidhuber's claim for scale."""
    rows = claim_rows(runs, curves, names, same)
    choices = batch_choices(rows)
    batch_text = (
        "\n\nThe batch size: the paper trained the adding models at batch 20 and 50 and reported the better "
        '(literature.md, "Each paper\'s own settings"), so where a model ran at both, each claim is judged on the '
        "batch whose seeds end lower: the lower mean held-out loss / baseline at the last budget both batch sizes "
        "reached (the shorter one's training length), chosen once per model and length and then used at every "
        "budget, never the better one per budget. The other batch's rows are shown, not judged, and at a budget only "
        "the other batch reached the claim is not judged at all. Chosen:\n\n"
        + "\n".join(f"- {c}" for c in choices)
        if choices
        else ""
    )
    sweep, steps, _ = sweep_budget(runs)
    hs = registry.HOCHREITER_ADDING
    hs_table = md_table(
        [
            "model", f"ours: sequences until H&S accuracy ≥ {HS_ACCURACY}, per seed",
            "ours: best held-out H&S accuracy per seed",
        ],
        ([names.get(h["model"], h["model"]), h["seeds"], h["best"]] for h in hs_rows(runs, curves)),
    )  # fmt: skip
    parts = []
    for n, task in enumerate(("adding", "copy"), start=1):
        mine = [r for r in rows if r["claim"].task == task]
        if mine:
            claim = mine[0]["claim"]
            parts.append(f'<a id="claim-{n}"></a>\n\n## Claim {n} — {claim.source}\n\n{claim_table(mine)}\n')
    claims_text = "\n".join(parts)
    return f"""## Rule for the verdicts

{rule_text()} The budgets: each step at which the paper's figure was read (literature.md, "The
papers' curves"; a reading between two of its points is in a category only when both are), and our last
step, {steps:,}, where the paper's claim itself is judged when that is their scripts' training length
({PAPER_STEPS:,}). Each claim is checked on the paper's own model as complex_RNN trains it (a variant of this
study) and on the notes' cell at the paper's settings; the settings table says how each differs.{batch_text}

{claims_text}
## Settings: the paper's and ours

{settings_table(runs, names, differs, same)}

<a id="claim-3"></a>

## Claim 3 — {hs.source}: {hs.says}

Their setting: {hs.settings}. Rule: {hs.rule}; here on Arjovsky's variant of the task, evaluated every
{int(sweep["eval_every"].iloc[0])} steps (|error| < {ADDING_TOLERANCE:g}).

{hs_table}

"""


def irnn_part(runs: pd.DataFrame) -> str:
    """Le et al.'s IRNN claim: judged only at its budget (over 10^6 steps); the steps this study's IRNN ran."""
    claim, (irnn, steps) = registry.IRNN_ADDING, _irnn_runs(runs)
    lengths = ", ".join(str(int(x)) for x in sorted(irnn["length"].unique())) or "–"
    reading = claim.readings[0]
    table = md_table(
        ["the paper's setting", "its reading", "ours", "verdict"],
        [[claim.settings, f"{reading.says} ({reading.step:,} steps)",
          f"the IRNN variant at Arjovsky et al.'s settings, adding T = {lengths}" if steps else "no IRNN run",
          f"**{registry.not_at_budget(claim, steps)}**"]],
    )  # fmt: skip
    return f"""<a id="claim-4"></a>

## Claim 4 — {claim.source}: {claim.says}

Rule: {claim.rule}. The IRNN's runs above check Arjovsky et al.'s claim about it (their settings and budget), not
this one; a run at this one's budget does not fit this study (README.md says what it would cost).

{table}

"""


def differences_part(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    names: dict[str, str],
    differences: Path | None,
    same: dict[str, str] | None = None,
) -> str:
    """What each difference between their LSTM's training and ours changed: alone, at 3,000 steps
    (``differences``), and all four together against none at every budget of this study."""
    from rnnbench.study.claims.paper_claims import differences_rows, four_together_rows

    lines = ["## What each difference changed (adding T = 100, their LSTM's settings)", ""]
    if differences is not None and Path(differences).exists():
        d = pd.read_csv(differences)
        lines += [
            "Each difference alone, on our LSTM (`python benchmarks/arjovsky_differences.py`, table "
            f"`{differences}`; {d['seed'].nunique()} seeds, held-out MSE / (1/6) at step {int(d['step'].max()):,}):",
            "",
            md_table(
                ["difference", "loss / baseline per seed", "mean (95% interval, seeds)", "against ours"],
                differences_rows(d),
            ),  # fmt: skip
            "",
        ]
    lines += [
        "All four together (their LSTM, this study's variant) against none (ours), at each batch size and budget:",
        "",
        md_table(
            ["T", "batch", "step", "theirs: mean (95% interval)", "ours: mean (95% interval)", "apart?"],
            four_together_rows(runs, curves, same),
        ),  # fmt: skip
        "",
        "",
    ]
    return "\n".join(lines)


def gradients_part(
    runs: pd.DataFrame, gradflow: pd.DataFrame, names: dict[str, str] = CELL_NAMES, study: Study = STUDIES["paper-cpu"]
) -> str:
    """Claims 5 and 6 (gradient at initialisation, Pascanu), the learning curves, what is not checked."""
    decay = decay_at_init(gradflow)
    gains = decay_at_init(gradflow, "gains")
    lengths = sorted(int(x) for x in decay["length"].unique())

    def factor(cell: str, length: int) -> str:
        d = decay[(decay["cell"] == cell) & (decay["length"] == length)]
        return "–" if d.empty else f"{d['mean'].iloc[0]:.3f} ({d['min'].iloc[0]:.3f}–{d['max'].iloc[0]:.3f})"

    def row(cell: str, paper: str, verdict: str) -> str:
        return f"| {names[cell]} | {paper} | {' | '.join(factor(cell, L) for L in lengths)} | {verdict} |"

    at = ", ".join(map(str, lengths))
    not_comparable = "**not comparable at this length** (T = 1000: default study)"

    rnn_claim, lstm_claim = registry.GRADIENT_FIGURE_RNN, registry.GRADIENT_FIGURE_LSTM
    bound, clipping = registry.PASCANU_BOUND, registry.PASCANU_CLIPPING
    return f"""## Claim 5 — {rnn_claim.source}: the gradient at initialisation, adding T = 1000

The paper's figure: {rnn_claim.says}; {lstm_claim.says} (≤ ×0.908 per step). Both at {lstm_claim.settings}.
Ours: the fitted per-step factor of ‖∂L/∂h_t‖ at step 0 (mean over seeds, range), Glorot + forget bias 1, at
T = {at} -- not the paper's T = 1000, so no verdict here: a per-step factor fitted over fewer steps is not the
one fitted over 1000 (the RNN's gradient need not decay geometrically). The default study checks this claim at
the paper's own T = 1000, H = 128 and initialisation, and the LSTM's at their model with its peephole
(`results/REPORT.md`, literature table, and figure 1b); this table shows the same quantity at this study's
lengths, for scale.

| cell | paper (per step) | {" | ".join(f"ours T = {L}" for L in lengths)} | verdict |
|---|---|{"---|" * len(lengths)}---|
{row("rnn", "≈ 0.970", not_comparable)}
{row("lstm", "≤ 0.908", not_comparable)}
{row("gru", "not in the paper", "no paper number")}

![gradient norms against distance](gradients.png)

<a id="claim-6"></a>

## Claim 6 — {bound.source}: {bound.says}; {clipping.source}: {clipping.says}

{_study_settings(runs, "gains")}, orthogonal W_hh of the given gain (every singular value equals it); the
claim is about the gradient at initialisation ({bound.rule}):

{md_table(GAINS_HEADER, _gains_rows(gains)) if not gains.empty else "(no gains study in this run)"}

An exploding configuration ({_clipping_settings(runs)}), with and without norm clipping at 1. The
paper shows (qualitatively, at its own tasks and sizes) that plain SGD explodes without clipping and does not
with it; "exploded" here = diverged (NaN/inf) or a held-out MSE ≥ {EXPLODED:g} × baseline, and a row whose seeds
split is inconclusive at its number of seeds:

{md_table(CLIPPING_HEADER, _clipping_rows(runs))}

## Learning curves

Held-out loss / baseline against training steps, each seed a line (lines at the baseline lie on top of each
other); dashed: the baseline, dotted: {CONVINCING} × baseline; black stars: the paper's LSTM curve and crosses
its tanh RNN curve, where its figure was read (literature.md, "The papers' curves").

![learning curves](learning_curves.png)

## Not checked here

{study.not_checked_text()}
"""
