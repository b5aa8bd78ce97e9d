"""REPORT.md: the headline table, decay rates, the literature claims checked against this run, and
provenance. Every number is computed from the tables; every verdict states the scale it was run at.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from rnnbench.core.storage import atomic_write
from rnnbench.core.tasks import ADDING_SOLVED_RATIO, COPY_RECALL, COPY_SOLVED_ACCURACY
from rnnbench.study import claims as registry
from rnnbench.study.aggregate import depth_profiles
from rnnbench.study.claims import Claim
from rnnbench.study.harness import harness_section
from rnnbench.study.labels import CELL_ORDER, TIMINGS_DTYPES, clip_label, cudnn_text, distinct, with_hardware
from rnnbench.study.mdtable import md_table
from rnnbench.study.verdicts import fraction_interval, judged, mean_interval

# the tasks' own criteria (rnnbench.core.tasks), in words
SOLVED_RULES = {
    "adding": f"held-out MSE < {ADDING_SOLVED_RATIO:g} × the 1/6 baseline",
    "copy": f"recall accuracy ≥ {COPY_SOLVED_ACCURACY:g} on the {COPY_RECALL} recalled symbols",
}


def g3(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


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


def headline(runs: pd.DataFrame, majority: float) -> str:
    """Per task: one row per cell × clipping; the longest length solved in most seeds, and per
    length the median loss/baseline over finished seeds with the number of seeds that solved it."""
    r = sweep(runs)
    out = []
    for task, t in r.groupby("task", sort=False):
        lengths = sorted(t["length"].unique())
        rows = []
        for (cell, clipping), g in sorted(
            t.groupby(["cell", "clipping"]), key=lambda kv: (CELL_ORDER.index(kv[0][0]), kv[0][1])
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


def decay_table(gradflow: pd.DataFrame, runs: pd.DataFrame, task: str) -> pd.DataFrame:
    """Mean fitted per-step decay factor of ‖∂L/∂state_t‖ per cell, state, phase and length."""
    gf = gradflow[(gradflow["study"] == "sweep") & (gradflow["task"] == task) & (gradflow["direction"] == 0)]
    gf = gf[gf["layer"] == gf["layer"].max()]
    per_probe = gf.groupby(["run", "cell", "state", "length", "step"], as_index=False)["decay_factor"].first()
    per_probe["phase"] = ["init" if s == 0 else "trained" for s in per_probe["step"]]
    return per_probe.groupby(["cell", "state", "phase", "length"], as_index=False)["decay_factor"].mean()


def decay_section(gradflow: pd.DataFrame, runs: pd.DataFrame, task: str) -> str:
    d = decay_table(gradflow, runs, task)
    lengths = sorted(d["length"].unique())
    rows = []
    for (cell, state, phase), g in sorted(
        d.groupby(["cell", "state", "phase"]), key=lambda kv: (CELL_ORDER.index(kv[0][0]), kv[0][1] == "c", kv[0][2])
    ):
        by_len = dict(zip(g["length"], g["decay_factor"], strict=True))
        rows.append([cell, state, phase, *[g3(by_len.get(T, math.nan)) for T in lengths]])
    return md_table(["cell", "state", "phase", *[f"T={T}" for T in lengths]], rows)


def gains_section(gradflow: pd.DataFrame, runs: pd.DataFrame) -> str:
    gr = runs[runs["study"] == "gains"]
    if gr.empty:
        return "_No gains study in this config._"
    gf = gradflow[(gradflow["study"] == "gains") & (gradflow["state"] == "h") & (gradflow["direction"] == 0)]
    per = gf.groupby(["run", "init_gain", "step"], as_index=False)[["decay_factor", "pascanu_eta"]].first()
    rows = []
    for gain, g in gr.groupby("init_gain"):
        p = per[per["init_gain"] == gain]
        init = p[p["step"] == 0]
        trained = p[p["step"] > 0]
        n_div = int((g["status"] == "diverged").sum())
        rows.append(
            [
                f"{gain:g}",
                g3(init["pascanu_eta"].mean()),
                g3(init["decay_factor"].mean()),
                g3(trained["decay_factor"].mean()),
                f"{n_div}/{len(g)}",
                g3(g["loss_ratio"].median()),
            ]  # fmt: skip
        )
    return md_table(
        ["gain", "Pascanu η = σ_max(W_hh)", "decay/step at init", "decay/step trained", "diverged", "loss/baseline"],
        rows,
    )


def clipping_section(runs: pd.DataFrame, curves: pd.DataFrame) -> str:
    cr = runs[runs["study"] == "clipping"]
    if cr.empty:
        return "_No clipping study in this config._"
    cc = curves[(curves["study"] == "clipping") & (curves["kind"] == "train")]
    rows = []
    for (opt, clip), g in cr.groupby(["optimizer", cr["clip"].fillna(-1)], sort=False):
        div = g[g["status"] == "diverged"]
        peak = cc[cc["run"].isin(g["run"])].groupby("run")["grad_norm"].max()
        steps = ", ".join(str(int(s)) for s in div["diverged_step"]) or "–"
        rows.append(
            [
                opt,
                f"{g['lr'].iloc[0]:g}",
                clip_label(None if clip == -1 else clip),
                f"{len(div)}/{len(g)}",
                steps,
                g3(peak.median()),
                g3(g["clip_fraction"].median()),
                g3(g["loss_ratio"].median()),
            ]  # fmt: skip
        )
    return md_table(
        [
            "optimizer",
            "lr",
            "clipping",
            "diverged",
            "at step",
            "max finite ‖g‖ (median)",
            "clip fraction",
            "loss/baseline",
        ],
        rows,
    )


VERDICTS = (
    "Verdicts: `agrees`; `disagrees`, given only where our settings match the paper's; `not comparable at this "
    "scale` where they differ and the paper's cannot be afforded here; `not comparable` with the reason where "
    "the model itself differs; `inconclusive at n seeds` where the seeds split across the rule's line. A verdict "
    "is never drawn across unmatched settings. Every claim, its settings and its rule come from one registry "
    "(`rnnbench/study/claims.py`), which the paper studies' reports (`docs/paper-cpu/REPORT.md`) share; the "
    "trained claims at the papers' own settings and budgets are judged there."
)
NOT_AT_SCALE = "not comparable at this scale"


def claims(
    runs: pd.DataFrame, gradflow: pd.DataFrame, task: str, majority: float, init_probes: pd.DataFrame | None = None
) -> list[list[str]]:
    """Each published claim we can test: source, claim, the paper's settings, ours, what we measured, verdict."""
    r = sweep(runs)
    d = decay_table(gradflow, runs, task)
    Ts = ", ".join(map(str, sorted(r[r["task"] == task]["length"].unique())))
    scale = f"{task}, T ∈ {{{Ts}}}, H = {int(r['hidden'].iloc[0])}" if len(r) else ""
    return [
        *vanishing_claim(decay_at(d, "rnn", "h", "init"), scale),
        *paper_scale_claims(init_probes),
        *forget_gate_claim(decay_at(d, "lstm", "c", "init"), scale),
        *gains_claims(runs, gradflow),
        *clipping_claim(runs),
        *training_claims(r, majority),
        *orthogonal_claims(r, majority),
        irnn_claim(runs),
    ]


def irnn_claim(runs: pd.DataFrame) -> list[str]:
    """Le et al.'s IRNN: never judged below their budget; the verdict names the steps this study's IRNN runs
    (a ReLU RNN from W_hh = I, in any of its studies) ran, if it has any."""
    claim = registry.IRNN_ADDING
    nonlinearity = runs["nonlinearity"] if "nonlinearity" in runs else pd.Series("tanh", index=runs.index)
    irnn = runs[(runs["cell"] == "rnn") & (nonlinearity == "relu") & (runs["init"] == "identity")]
    steps = int(irnn["steps"].max()) if len(irnn) else None
    ours = (
        "—"
        if steps is None
        else f"IRNN, adding T = {', '.join(str(int(x)) for x in sorted(irnn['length'].unique()))}, "
        f"{irnn['optimizer'].iloc[0]} lr {irnn['lr'].iloc[0]:g}, batch {int(irnn['batch'].iloc[0])}"
    )
    measured = "not run" if steps is None else f"{steps:,} steps per run"
    return claim_row(claim, ours, measured, registry.not_at_budget(claim, steps))


def claim_row(claim: Claim, ours: str, measured: str, verdict: str) -> list[str]:
    """A row of the literature table: the registry's source, claim and settings, then this run's."""
    return [claim.source, claim.says, claim.settings, ours, measured, verdict]


def _fraction(k: int, n: int) -> str:
    """'3/3 seeds (95% interval of the fraction 0.29–1)': a solved count with its exact binomial interval."""
    f = fraction_interval(k, n)
    return f"{k}/{n} seeds (95% interval of the fraction {f.low:.2g}–{f.high:.2g})"


def orthogonal_claims(r: pd.DataFrame, majority: float) -> list[list[str]]:
    """The norm-preserving recurrences' claims: what the sweep's copy runs of the orthogonal RNN and the gated
    cells at the paper's delay show, with each cell's solved fraction and its exact interval. No verdict: our
    orthogonal RNN is expRNN's real cell, not the uRNN, and the budgets are the default study's."""
    out = []
    copy = r[r["task"] == "copy"]
    for claim in (registry.URNN_COPY, registry.EXPRNN_COPY):
        at = copy[copy["length"] == claim.length]
        if at.empty or "orthogonal" not in set(at["cell"]):
            reason = f"T = {claim.length} is not in this study (GPU config)"
            out.append(claim_row(claim, "—", "not run", f"not run: {reason}"))
            continue
        o = at[at["cell"] == "orthogonal"]
        ours = (
            f"orthogonal RNN (expRNN's cell, not the uRNN), copy T = {claim.length}, H = {int(o['hidden'].iloc[0])}, "
            f"{o['optimizer'].iloc[0]} lr {o['lr'].iloc[0]:g}, batch {int(o['batch'].iloc[0])}, "
            f"{int(o['steps'].iloc[0])} steps"
        )
        text = "; ".join(
            f"{c}: solved {_fraction(int(g['solved'].sum()), len(g))}, median loss/baseline "
            f"{g3(g[g['status'] == 'ok']['loss_ratio'].median())}"
            for c in CELL_ORDER
            for g in [at[at["cell"] == c]]
            if len(g)
        )
        out.append(claim_row(claim, ours, text, NOT_AT_SCALE + " (another cell, other settings)"))
    return out


def decay_at(d: pd.DataFrame, cell: str, state: str, phase: str) -> float:
    """The mean decay factor per step of ``decay_table`` rows of one cell, state and phase (NaN: none)."""
    s = d[(d["cell"] == cell) & (d["state"] == state) & (d["phase"] == phase)]
    return s["decay_factor"].mean() if len(s) else math.nan


def vanishing_claim(rnn0: float, scale: str) -> list[list[str]]:
    """Hochreiter; Pascanu: the tanh RNN's gradient vanishes, from its decay per step at initialisation."""
    if math.isnan(rnn0):
        return []
    measured = f"‖∂L/∂h_t‖ shrinks ×{rnn0:.3g} per step at initialisation"
    return [
        claim_row(registry.VANISHING, scale + ", PyTorch default init", measured, "agrees" if rnn0 < 1 else "disagrees")
    ]


def forget_gate_claim(lstm_c0: float, scale: str) -> list[list[str]]:
    """The LSTM cell path at PyTorch's default init decays like ≈ 0.5 per step."""
    if math.isnan(lstm_c0):
        return []
    ours = scale + ", PyTorch default init (agreement: within ±0.15 of 0.5)"
    verdict = "agrees" if abs(lstm_c0 - 0.5) < 0.15 else "disagrees"
    return [claim_row(registry.FORGET_GATE, ours, f"cell state c: ×{lstm_c0:.3g}/step", verdict)]


def gains_claims(runs: pd.DataFrame, gradflow: pd.DataFrame) -> list[list[str]]:
    """Pascanu's bound (η < 1: vanishing) and condition (η > 1: necessary for exploding), from the gains
    study's probes at initialisation."""
    gr = runs[runs["study"] == "gains"]
    if not len(gr):
        return []
    out = []
    gf = gradflow[(gradflow["study"] == "gains") & (gradflow["state"] == "h") & (gradflow["step"] == 0)]
    per = gf.groupby("run")[["decay_factor", "pascanu_eta"]].first()
    small = per[per["pascanu_eta"] < 1]
    big = per[per["pascanu_eta"] > 1]
    ours = f"vanilla RNN, {gr['task'].iloc[0]} T = {int(gr['length'].iloc[0])}, {gr['init'].iloc[0]} init"
    if len(small):
        ok = bool((small["decay_factor"] <= small["pascanu_eta"] * 1.05).all())
        measured = (
            f"{len(small)} probes with η < 1: decay/step {g3(small['decay_factor'].max())} at most, η "
            f"{g3(small['pascanu_eta'].min())}–{g3(small['pascanu_eta'].max())}"
        )
        out.append(claim_row(registry.PASCANU_BOUND, ours, measured, "agrees" if ok else "disagrees"))
    if len(big):
        grew = int((big["decay_factor"] > 1).sum())
        measured = f"{grew} of {len(big)} probes with η > 1 grew going back in time"
        # any count is consistent with "necessary, not sufficient"
        out.append(claim_row(registry.PASCANU_NECESSARY, ours, measured, "agrees"))
    return out


def clipping_claim(runs: pd.DataFrame) -> list[list[str]]:
    """Pascanu's Algorithm 1: norm clipping keeps an exploding SGD run finite (the clipping study)."""
    cr = runs[(runs["study"] == "clipping") & (runs["optimizer"] == "sgd")]
    if not len(cr):
        return []
    unclipped, clipped = cr[cr["clip"].isna()], cr[cr["clip"].notna()]
    du, dc = int((unclipped["status"] == "diverged").sum()), int((clipped["status"] == "diverged").sum())
    verdict = "agrees" if du > 0 and dc == 0 else ("not shown: nothing exploded" if du == 0 else "disagrees")
    ours = (
        f"vanilla RNN, {cr['init'].iloc[0]} init gain {cr['init_gain'].iloc[0]:g}, "
        f"{cr['task'].iloc[0]} T = {int(cr['length'].iloc[0])}, SGD lr {cr['lr'].iloc[0]:g}, clip "
        f"{', '.join(f'{c:g}' for c in sorted(clipped['clip'].unique()))}"
    )
    measured = f"diverged without clipping {du}/{len(unclipped)}, with clipping {dc}/{len(clipped)}"
    return [claim_row(registry.PASCANU_CLIPPING, ours, measured, verdict)]


# the registry's claims about training, with what a sweep must share with the paper's settings to be judged
# against them: the same optimizer, initialisation and width, and at least one of the paper's lengths
PAPER_TRAINING = {
    "adding": (registry.ARJOVSKY_ADDING, dict(optimizer="rmsprop", init="xavier", hidden=128), {100, 200, 400, 750}),
    "copy": (registry.ARJOVSKY_COPY, dict(optimizer="rmsprop", init="xavier"), {100, 200, 300, 500}),
}


def _matches(tr: pd.DataFrame, fields: dict, lengths: set[int]) -> bool:
    same = all((tr[k] == v).all() for k, v in fields.items() if k in tr)
    return same and bool(lengths & set(tr["length"]))


def training_claims(r: pd.DataFrame, majority: float) -> list[list[str]]:
    """The trained claims (adding, copy; the GRU's at T = 600): what the sweep shows, and a verdict only where
    its settings are the paper's."""
    out = []
    for t, (claim, fields, paper_lengths) in PAPER_TRAINING.items():
        tr = r[r["task"] == t]
        if tr.empty:
            continue
        # the longest length solved under each clipping setting, as the headline counts it (decisively, over
        # that setting's seeds): pooling clipped and unclipped seeds would hide a length only one solves
        solved_by = {
            c: {clip: longest_solved(gg, majority) for clip, gg in g.groupby("clipping")} for c, g in tr.groupby("cell")
        }
        best = {c: max((T for T in by.values() if T), default=None) for c, by in solved_by.items()}
        med = tr[tr["status"] == "ok"].groupby(["cell", "length"])["loss_ratio"].median()
        beats = {c: [int(T) for (cc, T), v in med.items() if cc == c and v < 0.9] for c in best}

        def solves(c: str) -> str:
            if not best[c]:
                return "solves no length"
            how = ", ".join(str(clip) for clip, T in solved_by[c].items() if T == best[c])
            return f"solves T ≤ {best[c]} ({how})"

        text = "; ".join(
            f"{c}: {solves(c)}, beats baseline (median < 0.9) at T = {', '.join(map(str, beats[c])) or 'none'}"
            for c in CELL_ORDER
            if c in best
        )
        ours = (
            f"{t}, T ∈ {{{', '.join(map(str, sorted(tr['length'].unique())))}}}, H = {int(tr['hidden'].iloc[0])}, "
            f"{tr['optimizer'].iloc[0]} lr {tr['lr'].iloc[0]:g}, batch {int(tr['batch'].iloc[0])}, "
            f"{int(tr['steps'].iloc[0])} steps, {tr['init'].iloc[0]} init"
        )
        verdict = NOT_AT_SCALE
        if _matches(tr, fields, paper_lengths) and "lstm" in best and "rnn" in best:
            lstm_reach = (best["lstm"] or 0, len(beats["lstm"]))
            rnn_reach = (best["rnn"] or 0, len(beats["rnn"]))
            verdict = "agrees" if lstm_reach > rnn_reach else "disagrees"
        out.append(claim_row(claim, ours, text, verdict))
        if t == "adding" and "gru" in best and "lstm" in best:
            measured = f"longest solved: GRU T = {best['gru'] or 'none'}, LSTM T = {best['lstm'] or 'none'}"
            bai = NOT_AT_SCALE if 600 not in set(tr["length"]) else "not comparable (sizes differ: ~70k parameters)"
            out.append(claim_row(registry.BAI_GRU, ours, measured, bai))
    return out


# how far within the paper's "about 550 steps" our LSTM's gradient must fall below 1e−23 to agree
ABOUT = 1.25


def _gradient_rnn_row(init_probes: pd.DataFrame, s: pd.DataFrame, ours: str, matched: bool) -> list[str]:
    from rnnbench.study.initprobes import decades_range

    pr = init_probes[(init_probes["init_label"] == "paper") & (init_probes["cell"] == "rnn")]
    lo, med, hi = decades_range(s, "paper", "rnn")
    f = s[(s["init_label"] == "paper") & (s["cell"] == "rnn")]["factor"]
    agrees = lo <= 13 <= hi  # the paper's single curve against our seeds' spread
    measured = (
        f"tanh RNN loses {lo:.1f}–{hi:.1f} decades over {int(pr['length'].iloc[0])} steps (median {med:.1f}); "
        f"×{f.min():.3g}–{f.max():.3g} per step"
    )
    verdict = ("agrees" if agrees else "disagrees") if matched and pr["init"].iloc[0] == "xavier" else NOT_AT_SCALE
    return claim_row(registry.GRADIENT_FIGURE_RNN, ours + " (agreement: 13 decades within the range over seeds)",
                     measured, verdict)  # fmt: skip


def _gradient_lstm_row(init_probes: pd.DataFrame, s: pd.DataFrame, ours: str, matched: bool) -> list[str]:
    """Their LSTM (the ``paper`` probes with the peephole) against 'below 1e−23 within about 550 steps'."""
    from rnnbench.study.initprobes import decades_range, first_below

    n = init_probes[(init_probes["init_label"] == "paper") & (init_probes["cell"] == "lstm")]
    theirs = "peephole" in n and bool(n["peephole"].astype(str).eq("True").all())
    crossing = first_below(init_probes, "paper", "lstm")
    lo, med, hi = decades_range(s, "paper", "lstm")
    factors = s[(s["init_label"] == "paper") & (s["cell"] == "lstm")]["factor"]
    within = [d is not None and d <= ABOUT * 550 for d in crossing.values()]
    crossed = [d for d in crossing.values() if d is not None]
    measured = (
        f"{'their' if theirs else 'our'} LSTM loses {lo:.1f}–{hi:.1f} decades over {int(n['length'].iloc[0])} steps "
        f"(median {med:.1f}), ×{factors.min():.3g}–{factors.max():.3g} per step; below 1e−23 in {len(crossed)} of "
        f"{len(crossing)} seeds" + (f" (first at distance {min(crossed)})" if crossed else "")
    )
    if not matched:
        verdict = NOT_AT_SCALE
    elif not theirs:
        verdict = "not comparable (the model differs: their LSTM has a peephole)"
    else:
        verdict = judged(True if all(within) else False if not any(within) else None, len(within))
    model = "their LSTM (peephole V_o, learned h_0 and c_0)" if theirs else "our LSTM (no peephole)"
    return claim_row(registry.GRADIENT_FIGURE_LSTM, f"{ours}; {model}; agreement: below 1e−23 within {ABOUT:g} × 550 "
                     "steps in every seed", measured, verdict)  # fmt: skip


def paper_scale_claims(init_probes: pd.DataFrame | None) -> list[list[str]]:
    """The registry's gradient-figure claims, checked by the probes at the paper's own T, H and
    initialisation (their LSTM: the ``paper`` probes carry its peephole)."""
    from rnnbench.study.initprobes import summarise_probes

    if init_probes is None or init_probes.empty:
        return []
    s = summarise_probes(init_probes)
    if "paper" not in set(s["init_label"]):
        return []
    p0 = init_probes.iloc[0]
    T, H, B = int(p0["length"]), int(p0["hidden"]), int(p0["batch"])
    pr = init_probes[init_probes["init_label"] == "paper"].drop_duplicates("cell").set_index("cell")
    matched = T == 1000 and H == 128 and p0["task"] == "adding"
    ours = (
        f"{p0['task']}, T = {T}, H = {H}, batch {B}, {s['seed'].nunique()} seeds, float64; "
        f"init {pr['init'].iloc[0]}" + (", LSTM forget bias 1" if (pr["forget_bias"] == 1).any() else "")
    )
    out = []
    if "rnn" in pr.index:
        out.append(_gradient_rnn_row(init_probes, s, ours, matched))
    if "lstm" in pr.index:
        out.append(_gradient_lstm_row(init_probes, s, ours, matched))
    return out


def paper_scale_section(init_probes: pd.DataFrame | None) -> str:
    """Per init and cell: the per-step factor and the decades lost over the sequence, over seeds."""
    from rnnbench.study.initprobes import summarise_probes

    if init_probes is None or init_probes.empty:
        return "_No paper-scale probes in this config._"
    s = summarise_probes(init_probes)
    p0 = init_probes.iloc[0]
    rows = []
    for (label, cell), g in sorted(
        s.groupby(["init_label", "cell"]), key=lambda kv: (kv[0][0], CELL_ORDER.index(kv[0][1]))
    ):
        lost = g["decades_lost"]
        under = g["first_underflow"].dropna()
        rows.append([
            label, cell, g["init"].iloc[0], g3(g["forget_bias"].iloc[0]) if cell == "lstm" else "–",
            f"{g3(g['factor'].median())} ({g3(g['factor'].min())}–{g3(g['factor'].max())})",
            f"{g3(lost.median())} ({g3(lost.min())}–{g3(lost.max())})",
            f"{len(under)}/{len(g)}" + (f", from d = {int(under.min())}" if len(under) else ""),
        ])  # fmt: skip
    return (
        f"One float64 probe per seed at initialisation (no training): {p0['task']}, T = {int(p0['length'])}, "
        f"H = {int(p0['hidden'])}, batch {int(p0['batch'])}, seeds {', '.join(map(str, sorted(s['seed'].unique())))}. "
        "Decades lost: log10 of ‖∂L/∂h_t‖ at the loss over its value T − 1 steps back (inf: an exact 0 in float64).\n\n"
        + md_table(
            [
                "init",
                "cell",
                "scheme",
                "forget bias",
                "factor/step, median (range)",
                "decades lost, median (range)",
                "underflow (seeds)",
            ],
            rows,
        )  # fmt: skip
    )


def depth_table(gradflow: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per depth-study configuration, phase and layer (forward direction): the fitted decay per step and
    the median over t of ‖∂L/∂h_t‖ at that layer over the top layer's, geometric mean over seeds."""
    g = depth_profiles(gradflow, runs)
    if g.empty:
        return g
    keys = ["cell", "layers", "bidirectional", "phase"]
    fits = g.groupby([*keys, "run", "layer", "direction"], as_index=False)["decay_factor"].first()
    # log-norms per (run, t) for each layer against the top layer, forward direction
    fwd = g[(g["direction"] == 0) & (g["grad_norm"] > 0)].copy()
    fwd["log"] = np.log10(fwd["grad_norm"])
    top = fwd[fwd["layer"] == fwd["layers"] - 1][["run", "phase", "t", "log"]].rename(columns={"log": "top"})
    fwd = fwd.merge(top, on=["run", "phase", "t"])
    fwd["rel"] = fwd["log"] - fwd["top"]
    rel = fwd.groupby([*keys, "run", "layer"], as_index=False)["rel"].median()
    rel = rel.groupby([*keys, "layer"], as_index=False)["rel"].mean()
    dec = fits[fits["direction"] == 0].groupby([*keys, "layer"], as_index=False)["decay_factor"].mean()
    rev = fits[fits["direction"] == 1].groupby([*keys, "layer"], as_index=False)["decay_factor"].mean()
    out = dec.merge(rel, on=[*keys, "layer"], how="left")
    return out.merge(rev.rename(columns={"decay_factor": "reverse_decay"}), on=[*keys, "layer"], how="left")


def depth_section(gradflow: pd.DataFrame, runs: pd.DataFrame) -> str:
    d = depth_table(gradflow, runs)
    if d.empty:
        return "_No depth study in this config._"
    r = runs[runs["study"] == "depth"]
    rows = []
    for (cell, layers, bi, phase), g in sorted(
        d.groupby(["cell", "layers", "bidirectional", "phase"]),
        key=lambda kv: (CELL_ORDER.index(kv[0][0]), kv[0][1], kv[0][2], kv[0][3]),
    ):
        g = g.sort_values("layer")
        per_layer = ", ".join(f"{g3(f)}" for f in g["decay_factor"])
        reverse = ", ".join(f"{g3(f)}" for f in g["reverse_decay"]) if bi else "–"
        ratio = g[g["layer"] == 0]["rel"]
        rows.append([
            cell, int(layers), "bi" if bi else "uni", phase, per_layer, reverse,
            "–" if layers == 1 or ratio.empty else f"{10 ** ratio.iloc[0]:.3g}",
        ])  # fmt: skip
    s0 = r.iloc[0]
    return (
        f"{r['task'].iloc[0]}, T = {int(s0['length'])}, H = {int(s0['hidden'])}, {int(s0['steps'])} steps "
        f"({s0['optimizer']} lr {s0['lr']:g}), seeds {', '.join(map(str, sorted(r['seed'].unique())))}. Decay: the "
        "fitted per-step factor of ‖∂L/∂h_t‖ at each layer (layer 0 first, the input layer; 1 = no decay), mean "
        "over seeds. Input/top: the median over t of ‖∂L/∂h_t‖ at layer 0 over the top layer's (forward "
        "direction), geometric mean over seeds: below 1 the gradient also shrinks going down through the layers.\n\n"
        + md_table(
            [
                "cell",
                "layers",
                "directions",
                "phase",
                "decay/step per layer (forward)",
                "decay/step per layer (reverse)",
                "input/top",
            ],
            rows,
        )  # fmt: skip
        + "\n\n"
        + depth_findings(d)
        + reverse_finding(gradflow, runs)
    )


def reverse_finding(gradflow: pd.DataFrame, runs: pd.DataFrame) -> str:
    """How many time steps of the top layer's reverse direction get any gradient (counted, not assumed)."""
    g = depth_profiles(gradflow, runs)
    top_rev = g[g["bidirectional"] & (g["direction"] == 1) & (g["layer"] == g["layers"] - 1)]
    if top_rev.empty:
        return ""
    per = top_rev.groupby(["run", "step"])["grad_norm"].agg(lambda v: int((v > 0).sum()))
    T = int(top_rev["t"].max()) + 1
    counts = ", ".join(str(c) for c in sorted(set(per)))
    return (
        f"\n- bidirectional: the top layer's reverse direction gets a nonzero gradient at {counts} of {T} steps in "
        f"each of its {len(per)} probes: the head reads the last step only, where that direction has read one input."
    )


def depth_findings(d: pd.DataFrame) -> str:
    """What the depth table shows, computed from it: the input/top ratio at the deepest stack, and how the
    top layer's decay changes from one layer to the deepest, at initialisation and after training."""
    L = int(d["layers"].max())
    lines = []
    for phase in ("init", "trained"):
        deep = d[(d["layers"] == L) & (d["layer"] == 0) & (d["phase"] == phase) & (~d["bidirectional"])]
        if L > 1 and len(deep):
            ratios = ", ".join(f"{c} {10**v:.3g}" for c, v in zip(deep["cell"], deep["rel"], strict=True))
            lines.append(f"- {phase}: with {L} layers (unidirectional), input/top = {ratios}.")
        top1 = d[(d["layers"] == 1) & (d["phase"] == phase) & (~d["bidirectional"])].set_index("cell")["decay_factor"]
        topL = d[(d["layers"] == L) & (d["layer"] == L - 1) & (d["phase"] == phase) & (~d["bidirectional"])]
        topL = topL.set_index("cell")["decay_factor"]
        both = [c for c in CELL_ORDER if c in top1.index and c in topL.index]
        if both and L > 1:
            lines.append(
                f"- {phase}: the top layer's decay per step, 1 layer → {L} layers: "
                + ", ".join(f"{c} {g3(top1[c])} → {g3(topL[c])}" for c in both)
                + "."
            )
    return "\n".join(lines)


def provenance_section(runs: pd.DataFrame, config_hash: str, timings: pd.DataFrame | None = None) -> str:
    """Where the runs came from; the CPU, a GPU's name and versions, the math mode and the times come
    from the timings table (kept out of runs.csv because they differ from one run of the study to the next)."""

    def uniq(df, col):
        return ", ".join(sorted({str(v) for v in df[col].dropna()})) if df is not None and col in df else "unknown"

    seconds = f"{timings['train_seconds'].sum():.0f} s" if timings is not None else "unknown"
    rows = [
        ["config hash", config_hash],
        ["rnnbench version (of the runs)", uniq(runs, "rnnbench_version")],
        ["git commit (of the runs)", uniq(runs, "git_commit")],
        ["torch", uniq(runs, "torch")],
        ["device", uniq(runs, "device_used")],
        ["CPU", uniq(timings, "cpu")],
        *gpu_rows(runs, timings),
        ["torch threads per run", uniq(runs, "torch_threads")],
        ["runs", f"{len(runs)} ({int((runs['status'] == 'diverged').sum())} diverged)"],
        ["training time, summed over runs", seconds],
    ]
    return md_table(["", ""], rows)


def gpu_rows(runs: pd.DataFrame, timings: pd.DataFrame | None) -> list[list[str]]:
    """The provenance rows of the GPU (its name, CUDA, cuDNN) where runs trained on one, and every
    study's math mode: what float32 products ran in (rnnbench.core.precision)."""
    on_gpu = with_hardware(runs, timings)
    on_gpu = on_gpu[on_gpu["device_used"].astype(str).str.startswith("cuda")] if "device_used" in runs else runs[:0]
    rows = []
    if len(on_gpu):
        cudnn = ", ".join(cudnn_text(v) for v in distinct(on_gpu, "cudnn"))
        rows += [["GPU", ", ".join(distinct(on_gpu, "gpu")) or "not recorded"],
                 ["CUDA", ", ".join(distinct(on_gpu, "cuda")) or "not recorded"], ["cuDNN", cudnn or "not recorded"]]  # fmt: skip
    modes = ", ".join(distinct(timings, "math_mode"))
    if not modes:
        modes = "not recorded" + (
            " (runs made before it was: torch's defaults, cuDNN TF32 and matmuls fp32)" if len(on_gpu) else ""
        )
    elif not len(on_gpu) and modes == "fp32":
        modes += " (on a CPU always: TF32 exists on CUDA GPUs only)"
    elif len(on_gpu):
        modes += " (tf32: TF32 allowed by `allow_tf32`; fp32: true fp32, cuDNN's TF32 default off)"
    return [*rows, ["math mode (float32 products)", modes]]


def skipped_section(skipped: pd.DataFrame | None) -> str:
    """Every result file left out of the tables (``skip_bad``), with why; a reader must see them."""
    if skipped is None:
        return "_Not recorded (no skipped table given)._"
    if skipped.empty:
        return "None: every result file was read and belongs to this config."
    rows = [[f"`{r.path}`", r.reason] for r in skipped.itertuples()]
    return (
        f"{len(skipped)} result file(s) were left out of every table and figure (`skip_bad: true`); "
        "delete them and run the pipeline again to retrain those runs.\n\n" + md_table(["file", "reason"], rows)
    )


def throughput_section(table: str | None) -> str:
    """The fastest backend per cell and shape on this hardware, with every backend's time ratio to it."""
    if table is None:
        return ""
    from rnnbench.bench.throughput import fastest

    df = pd.read_csv(table)
    ranked = fastest(df)
    rows = []
    for _, g in ranked.groupby(["device", "cell", "length", "batch", "hidden"], sort=True):
        best = g.iloc[0]
        others = ", ".join(f"{r.backend} {r.ratio_to_fastest:.2f}x" for r in g.iloc[1:].itertuples())
        rows.append([best["device"], best["cell"], int(best["length"]), int(best["batch"]), int(best["hidden"]),
                     f"{best['backend']} ({best['kernel']})", f"{best['fwd_bwd_s'] * 1e3:.2f}", others or "-"])  # fmt: skip
    busy = int(df["busy"].sum()) if "busy" in df else 0
    skipped = df[df["status"] != "ok"]
    notes = "".join(f"- {r.cell} {r.backend} T={r.length}: {r.status} ({r.reason})\n" for r in skipped.itertuples())
    return f"""## Training throughput on this hardware

Fastest backend per cell and shape (forward + backward of one layer, median), and the others' time
relative to it (`results/tables/throughput.csv`, figure 6). {busy} of {len(df)} cases ran while other
processes used the CPU (column `busy`): compare ratios within one run, not absolute times across runs.

{md_table(["device", "cell", "T", "B", "H", "fastest (kernel)", "fwd+bwd ms", "others"], rows)}

{notes}
"""


def figure_links(figures: list[str], out: str | os.PathLike) -> str:
    """One image per figure, linked relative to the report itself (``figures/x.png`` beside
    ``results/REPORT.md``), as POSIX paths, so the links work wherever the results folder is copied
    (and REPORT.html embeds them); never relative to the directory the pipeline ran in."""
    here = os.path.dirname(os.path.abspath(out))
    blocks = []
    for f in figures:
        link = Path(os.path.relpath(os.path.abspath(f), here)).as_posix()
        name = os.path.splitext(os.path.basename(f))[0]
        blocks.append(f"### {name}\n\n![{name}]({link})")
    return "\n\n".join(blocks)


def read_tables(tables: dict[str, str]) -> dict[str, pd.DataFrame | None]:
    """The report's tables by name (paths in ``tables``); an optional one not given is None."""
    data = {name: pd.read_csv(tables[name]) for name in ("runs", "gradflow", "curves")}
    for name in ("timings", "skipped", "init_probes"):
        dtype = TIMINGS_DTYPES if name == "timings" else None
        data[name] = pd.read_csv(tables[name], dtype=dtype) if name in tables else None
    return data


def study_part(runs: pd.DataFrame, config_hash: str, majority: float) -> str:
    """The title, what the length sweep trained, and how to read the headline; then the headline."""
    s = sweep(runs)
    trainer = s.iloc[0]
    return f"""# rnnbench study report

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


def gradient_part(data: dict[str, pd.DataFrame | None], task: str, majority: float) -> str:
    """Decay per step, the gains and clipping studies, the literature claims, depth and direction."""
    runs, gradflow, init_probes = data["runs"], data["gradflow"], data["init_probes"]
    claim_rows = claims(runs, gradflow, task, majority, init_probes)
    return f"""## Measured gradient decay per step

Fitted per-step factor of ‖∂L/∂state_t‖ against distance to the loss (1 = no decay), top layer, {task}
sweep, mean over seeds; `init` is before the first update, `trained` after the last.

{decay_section(gradflow, runs, task)}

### Vanilla RNN across init gains

{gains_section(gradflow, runs)}

### Clipping an exploding configuration

{clipping_section(runs, data["curves"])}

## Comparison with the literature

Claims from `shared/reference/literature.md`, each beside the paper's settings and ours.

{VERDICTS}

{md_table(["source", "claim", "paper's settings", "our settings", "this run", "verdict"], claim_rows)}

### Gradient at initialisation at the paper's scale

{paper_scale_section(init_probes)}

## Depth and direction

{depth_section(gradflow, runs)}

"""


def closing_part(data: dict[str, pd.DataFrame | None], tables: dict[str, str], figs: str, config_hash: str) -> str:
    """Throughput and harness (when measured), the figures, skipped files and provenance."""
    return f"""{throughput_section(tables.get("throughput"))}

{harness_section(tables.get("jobs"))}
## Figures

Linked relative to this file (`figures/` beside it, PNG and PDF); `REPORT.html` beside it is this report
with every figure embedded, and the Snakemake report (`snakemake --report`) shows it inline.

{figs}

## Skipped result files

{skipped_section(data["skipped"])}

## Provenance

{provenance_section(data["runs"], config_hash, data["timings"])}
"""


def write_report(
    tables: dict[str, str], figures: list[str], out: str | os.PathLike, config_hash: str, settings: dict
) -> None:
    """REPORT.md at ``out`` from the CSV ``tables`` (paths by name) and the ``figures`` (PNG paths)."""
    data = read_tables(tables)
    task, majority = settings["gradflow_task"], float(settings.get("majority", 0.5))
    text = (
        study_part(data["runs"], config_hash, majority)
        + gradient_part(data, task, majority)
        + closing_part(data, tables, figure_links(figures, out), config_hash)
    )
    atomic_write(out, lambda f: f.write(text))
