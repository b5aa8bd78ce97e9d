"""REPORT.md's gradient part: the decay per step, the gains and clipping studies, the literature table
(its rows judged in ``claims.literature``), the probes at the paper's scale, and depth and direction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from rnnbench.study.claims.literature import claims
from rnnbench.study.tables.aggregate import decay_table, depth_profiles
from rnnbench.study.tables.labels import cell_rank, cells_in, clip_label
from rnnbench.study.tables.mdtable import g3, md_table


def decay_section(gradflow: pd.DataFrame, runs: pd.DataFrame, task: str) -> str:
    d = decay_table(gradflow, runs, task)
    lengths = sorted(d["length"].unique())
    rows = []
    for (cell, state, phase), g in sorted(
        d.groupby(["cell", "state", "phase"]), key=lambda kv: (cell_rank(kv[0][0]), kv[0][1] == "c", kv[0][2])
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
    "(`rnnbench/study/claims/registry.py`), which the paper studies' reports (`docs/paper-cpu/REPORT.md`) share; the "
    "trained claims at the papers' own settings and budgets are judged there."
)


def paper_scale_section(init_probes: pd.DataFrame | None) -> str:
    """Per init and cell: the per-step factor and the decades lost over the sequence, over seeds."""
    from rnnbench.study.pipeline.initprobes import summarise_probes

    if init_probes is None or init_probes.empty:
        return "_No paper-scale probes in this config._"
    s = summarise_probes(init_probes)
    p0 = init_probes.iloc[0]
    rows = []
    for (label, cell), g in sorted(s.groupby(["init_label", "cell"]), key=lambda kv: (kv[0][0], cell_rank(kv[0][1]))):
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
        key=lambda kv: (cell_rank(kv[0][0]), kv[0][1], kv[0][2], kv[0][3]),
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
        both = [c for c in cells_in(top1.index) if c in topL.index]
        if both and L > 1:
            lines.append(
                f"- {phase}: the top layer's decay per step, 1 layer → {L} layers: "
                + ", ".join(f"{c} {g3(top1[c])} → {g3(topL[c])}" for c in both)
                + "."
            )
    return "\n".join(lines)


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
