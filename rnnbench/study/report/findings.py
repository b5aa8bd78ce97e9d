"""REPORT.md's opening: one sentence per phenomenon the study measured, computed from the tables.

Each sentence carries its numbers, its seeds and its verdict, and links to the table and the figure it
comes from (anchors of REPORT.md's own headings, which GitHub, MkDocs and REPORT.html make alike). Nothing
here is written in advance: a phenomenon the tables do not hold gives no sentence, and other tables give
other sentences (``tests/test_findings.py`` feeds altered tables). The verdicts are the report's own: the
literature table's rows (``claims.literature.claims`` and its parts) and the headline's rule
(``claims.solved.longest_text``).
"""

from __future__ import annotations

import math

import pandas as pd

from rnnbench.study.claims import registry
from rnnbench.study.claims.literature import (
    claims,
    clipping_claim,
    decay_at,
    forget_gate_claim,
    gains_claims,
    orthogonal_claims,
    per_length,
    vanishing_claim,
)
from rnnbench.study.claims.solved import length_solved, longest_text, sweep
from rnnbench.study.report.gradients import depth_table
from rnnbench.study.tables.aggregate import decay_table
from rnnbench.study.tables.labels import CELL_ORDER, cell_name
from rnnbench.study.tables.mdtable import g3, joined

FIGURE_1 = "fig1_gradflow_cells"
# the report's sections, as anchors (a heading's slug: lower case, punctuation dropped, spaces to hyphens)
DECAY = "#measured-gradient-decay-per-step"
GAINS = "#vanilla-rnn-across-init-gains"
CLIPPING = "#clipping-an-exploding-configuration"
HEADLINE = "#headline-the-longest-length-each-cell-solves"
LITERATURE = "#comparison-with-the-literature"
DEPTH = "#depth-and-direction"


def name(cell: str) -> str:
    """A cell's name in a sentence: the tanh RNN is the one the literature's claims are about."""
    return "tanh RNN" if cell == "rnn" else cell_name(cell)


def seeds(runs: pd.DataFrame) -> str:
    n = runs["seed"].nunique()
    return f"{n} seed{'s' if n != 1 else ''}"


def links(table: str, figures: set[str], *figure_names: str) -> str:
    """'([table](#…), [figure 1](#…))': the table's section and each figure the report holds."""
    parts = [f"[table]({table})"] + [
        f"[figure {f.split('_')[0][3:]}]({'#findings' if f == FIGURE_1 else '#' + f})"
        for f in figure_names
        if f in figures
    ]
    return "(" + ", ".join(parts) + ")"


def span(values) -> str:
    """'×0.55' or '×0.54–0.56': the range of per-step factors (three significant digits, as the tables print them)."""
    values = [v for v in values if not math.isnan(v)]
    lo, hi = g3(min(values)), g3(max(values))
    return f"×{lo}" if lo == hi else f"×{lo}–{hi}"


def factors(d: pd.DataFrame, cell: str, phase: str, state: str = "h") -> list[float]:
    """The per-step factors of one cell and phase, one per length (mean over seeds)."""
    return per_length(d, cell, state, phase)


def vanishing(runs, gradflow, task: str, figures: set[str]) -> list[str]:
    """The tanh RNN's per-step factor at initialisation, and the vanishing claim's verdict."""
    d = decay_table(gradflow, runs, task)
    rnn0 = factors(d, "rnn", "init")
    if not rnn0:
        return []
    lengths = ", ".join(str(int(T)) for T in sorted(d[d["cell"] == "rnn"]["length"].unique()))
    s = sweep(runs)
    verdict = vanishing_claim(rnn0, "")[0][5]
    return [
        f"**Vanishing.** At initialisation the tanh RNN's ‖∂L/∂h_t‖ {'shrinks' if verdict == 'agrees' else 'changes'} "
        f"{span(rnn0)} per step back in time "
        f"({task} T ∈ {{{lengths}}}, {seeds(s[(s['cell'] == 'rnn') & (s['task'] == task)])}): **{verdict}** with "
        f"{registry.VANISHING.source} {links(DECAY, figures, FIGURE_1)}."
    ]


def gates(runs, gradflow, task: str, figures: set[str]) -> list[str]:
    """The other cells against the tanh RNN after training, length by length; the LSTM's cell path."""
    d = decay_table(gradflow, runs, task)
    trained = d[(d["state"] == "h") & (d["phase"] == "trained")].set_index(["cell", "length"])["decay_factor"]
    rnn = trained.get("rnn")
    others = [c for c in CELL_ORDER if c != "rnn" and c in trained.index.get_level_values("cell")]
    if rnn is None or not others:
        return []
    flatter = []
    for c in others:
        common = [T for T in trained[c].index if T in rnn.index]
        if common:
            k = sum(bool(trained[c][T] > rnn[T]) for T in common)
            flatter.append(f"the {name(c)}'s at {k} of {len(common)}")
    per_step = ", ".join(f"{name(c)} {span(factors(d, c, 'trained'))}" for c in ["rnn", *others])
    c0 = forget_gate_claim(decay_at(d, "lstm", "c", "init"), "")
    cell_path = (
        f"; the LSTM's cell state ×{g3(decay_at(d, 'lstm', 'c', 'init'))} at initialisation: **{c0[0][5]}** with "
        f"{registry.FORGET_GATE.source}"
        if c0
        else ""
    )
    s = sweep(runs)
    return [
        f"**Gates.** After training, per step: {per_step} ({seeds(s[s['task'] == task])}); flatter than the tanh "
        f"RNN's at the same length: **{joined(flatter)} lengths**{cell_path} {links(DECAY, figures, FIGURE_1)}."
    ]


def exploding(runs, gradflow, figures: set[str]) -> list[str]:
    """The gains study: at which gains the gradient grows going back in time; Pascanu's bound and condition."""
    gr = runs[runs["study"] == "gains"]
    if gr.empty:
        return []
    gf = gradflow[(gradflow["study"] == "gains") & (gradflow["state"] == "h") & (gradflow["step"] == 0)]
    per = gf.groupby(["run", "init_gain"], as_index=False)["decay_factor"].first()
    by_gain = per.groupby("init_gain")["decay_factor"].mean()
    said = []
    for how, chosen in (("grows", by_gain[by_gain > 1]), ("shrinks", by_gain[by_gain <= 1])):
        if len(chosen):
            said.append(
                f"at gain {joined([f'{g:g}' for g in chosen.index])} it {how} "
                + joined([f"×{g3(f)}" for f in chosen])
                + " per step"
            )
    what = {registry.PASCANU_BOUND.says: "bound", registry.PASCANU_NECESSARY.says: "condition η > 1"}
    verdicts = "; ".join(f"its {what.get(row[1], row[1])}: **{row[5]}**" for row in gains_claims(runs, gradflow))
    return [
        f"**Exploding.** The tanh RNN with orthogonal W_hh of gain g (σ_max = g) at initialisation: {'; '.join(said)} "
        f"({gr['task'].iloc[0]} T = {int(gr['length'].iloc[0])}, {seeds(gr)}); against "
        f"{registry.PASCANU_BOUND.source}, {verdicts} {links(GAINS, figures, 'fig2_exploding_gains')}."
    ]


def clipping(runs, figures: set[str]) -> list[str]:
    """The clipping study: diverged seeds with and without clipping, under each optimizer."""
    cr = runs[runs["study"] == "clipping"]
    rows = clipping_claim(runs)
    if cr.empty or not rows:
        return []
    said = []
    for opt, g in sorted(cr.groupby("optimizer"), key=lambda kv: kv[0] != "sgd"):
        parts = []
        for clipped, gg in ((False, g[g["clip"].isna()]), (True, g[g["clip"].notna()])):
            if gg.empty:
                continue
            div = gg[gg["status"] == "diverged"]
            at = f" (step {', '.join(str(int(s)) for s in div['diverged_step'])})" if len(div) else ""
            how = f"clipped at {gg['clip'].iloc[0]:g}" if clipped else "unclipped"
            parts.append(f"{len(div)}/{len(gg)} {how}{at}")
        said.append(f"{opt} lr {g['lr'].iloc[0]:g}: {', '.join(parts)}")
    s0 = cr.iloc[0]
    return [
        f"**Clipping.** Seeds diverged, tanh RNN at {s0['init']} init gain {s0['init_gain']:g} "
        f"({s0['task']} T = {int(s0['length'])}, {seeds(cr)}): {'; '.join(said)}; {registry.PASCANU_CLIPPING.source}: "
        f"**{rows[0][5]}** {links(CLIPPING, figures, 'fig3_clipping')}."
    ]


def lengths(runs, majority: float, figures: set[str]) -> list[str]:
    """The longest length each cell solves per task and clipping setting, as the headline states it."""
    per_task = []
    s = sweep(runs)
    for task, t in s.groupby("task", sort=False):
        per_cell = []
        for cell in [c for c in CELL_ORDER if c in set(t["cell"])]:
            texts = {clip: longest_text(g, majority) for clip, g in t[t["cell"] == cell].groupby("clipping")}
            if len(set(texts.values())) == 1:
                per_cell.append(f"{name(cell)} {next(iter(texts.values()))}")
            else:
                per_cell.append(f"{name(cell)} " + ", ".join(f"{v} ({k})" for k, v in texts.items()))
        per_task.append(f"{task}: {', '.join(per_cell)}")
    if not per_task:
        return []
    return [
        f"**Lengths each cell learns.** Longest T solved decisively over {seeds(s)}: {'; '.join(per_task)} "
        f"{links(HEADLINE, figures, 'fig4_length_sweep_loss')}."
    ]


def copy_contrast(runs, majority: float, figures: set[str]) -> list[str]:
    """The orthogonal RNN against the gated cells at the copy delay where they all trained."""
    s = sweep(runs)
    orth = s[(s["task"] == "copy") & (s["cell"] == "orthogonal")]
    if orth.empty:
        return []
    T = int(orth["length"].max())
    at = s[(s["task"] == "copy") & (s["length"] == T)]
    o = at[at["cell"] == "orthogonal"].iloc[0]

    def result(c: str) -> str:
        g = at[at["cell"] == c]
        ok = g[g["status"] == "ok"]
        return f"{name(c)} {int(g['solved'].sum())}/{len(g)} (loss {g3(ok['loss_ratio'].median())}× baseline)"

    others = [c for c in CELL_ORDER if c != "orthogonal" and c in set(at["cell"])]
    solved = {c: length_solved(at[at["cell"] == c], majority) for c in ["orthogonal", *others]}
    if solved["orthogonal"] and not any(solved[c] for c in others):
        verdict = "**a norm-preserving recurrence carries the memory where the gates, at this budget, do not**"
    else:
        verdict = f"**no contrast**: the orthogonal RNN {'solves' if solved['orthogonal'] else 'does not solve'} it"
    rows = [r for r in orthogonal_claims(s, majority) if r[0] == registry.URNN_COPY.source and r[4] != "not run"]
    paper = f"; {rows[0][0]}: **{rows[0][5]}**" if rows else ""
    return [
        f"**Copy contrast.** Seeds solved at copy delay T = {T} ({o['optimizer']} lr {o['lr']:g}, "
        f"{int(o['steps'])} steps): {', '.join(result(c) for c in ['orthogonal', *others])}: {verdict}{paper} "
        f"{links(HEADLINE, figures, 'fig4_length_sweep_accuracy')}."
    ]


def depth(runs, gradflow, figures: set[str]) -> list[str]:
    """The deepest unidirectional stack at initialisation: the input layer's gradient against the top layer's."""
    d = depth_table(gradflow, runs)
    if d.empty or int(d["layers"].max()) < 2:
        return []
    L = int(d["layers"].max())
    deep = d[(d["layers"] == L) & (~d["bidirectional"]) & (d["phase"] == "init") & (d["layer"] == 0)]
    ratio = {c: 10 ** deep[deep["cell"] == c]["rel"].iloc[0] for c in CELL_ORDER if c in set(deep["cell"])}
    down = [name(c) for c, r in ratio.items() if r < 1]
    keep = [name(c) for c, r in ratio.items() if r >= 1]
    verdict = "; ".join(
        f"**{text}** for the {joined(group)}"
        for text, group in (("shrinks going down the stack", down), ("does not shrink going down", keep))
        if group
    )
    r = runs[runs["study"] == "depth"]
    return [
        f"**Depth.** At initialisation in {L}-layer stacks ({r['task'].iloc[0]} T = {int(r['length'].iloc[0])}, "
        f"{seeds(r)}), the input layer's ‖∂L/∂h_t‖ over the top layer's: "
        + ", ".join(f"{name(c)} {g3(v)}×" for c, v in ratio.items())
        + f" (median over t): it {verdict} {links(DEPTH, figures, 'fig7_depth')}."
    ]


PLURAL = {"agrees": "agree", "disagrees": "disagree"}


def literature(claim_rows: list[list[str]]) -> list[str]:
    """How the literature table's verdicts fall, counted; the claims that disagree or split named."""
    if not claim_rows:
        return []
    kinds: dict[str, list[str]] = {}
    for row in claim_rows:
        kinds.setdefault(row[5].split(":")[0].split(" (")[0].strip(), []).append(row[0])
    counts = ", ".join(
        f"{len(v)} {PLURAL.get(k, k) if len(v) > 1 else k}"
        for k, v in sorted(kinds.items(), key=lambda kv: -len(kv[1]))
    )
    named = "".join(
        f"; {k}: {'; '.join(sorted(set(v)))}"
        for k, v in kinds.items()
        if k == "disagrees" or k.startswith("inconclusive")
    )
    return [f"**The literature.** Of {len(claim_rows)} published claims: {counts}{named} ([table]({LITERATURE}))."]


def findings_section(data: dict, task: str, majority: float, figures: set[str], figure_1: str | None) -> str:
    """The "Findings" section: a sentence per phenomenon measured, then figure 1 (``figure_1``: its link);
    ``figures``: the names of the figures the report holds (a sentence links only those)."""
    runs, gradflow = data["runs"], data["gradflow"]
    claim_rows = claims(runs, gradflow, task, majority, data.get("init_probes"))
    sentences = [
        *vanishing(runs, gradflow, task, figures),
        *gates(runs, gradflow, task, figures),
        *exploding(runs, gradflow, figures),
        *clipping(runs, figures),
        *lengths(runs, majority, figures),
        *copy_contrast(runs, majority, figures),
        *depth(runs, gradflow, figures),
        *literature(claim_rows),
    ]
    body = "\n".join(f"- {s}" for s in sentences) or "_This study's tables hold none of the measured phenomena._"
    image = f"\n\n![{FIGURE_1}]({figure_1})" if figure_1 else ""
    return f"## Findings\n\n{body}{image}\n\n"
