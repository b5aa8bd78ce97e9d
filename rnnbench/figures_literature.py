"""Figures of the literature studies: 1b (gradient at initialisation at a paper's own settings) and
7 (gradient through depth and time). Same conventions as ``rnnbench.figures`` (log-scale gradient
norms, PNG + byte-stable PDF with provenance), kept in their own module so that the figures there
can change style without touching these.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rnnbench.figures import CELL_NAMES, CELL_ORDER, provenance, save, setup
from rnnbench.initprobes import summarise_probes

INIT_COLORS = ["#1f4e99", "#d9730d", "#2a9d3a", "#9b2fae"]  # one per init label, in the config's order
# Arjovsky et al. 2016's gradient figure, read as literature.md states it: the tanh RNN at Glorot init
# loses about 13 decades over T = 1000 steps (adding problem, H = 128)
ARJOVSKY_RNN_DECADES, ARJOVSKY_T = 13.0, 1000


def _positive(d: pd.DataFrame) -> pd.DataFrame:
    return d[d["grad_norm"] > 0]  # an exact zero (float64 underflow) has no place on a log axis


def fig1b_gradflow_paper_scale(probes: pd.DataFrame) -> plt.Figure:
    """‖∂L/∂h_t‖ at initialisation against the distance to the loss, at a paper's T and H: one panel per
    cell, one colour per initialisation, one thin line per seed; a seed whose norm underflowed to an
    exact 0 in float64 is cut there (and counted in the legend)."""
    summary = summarise_probes(probes)
    labels = list(dict.fromkeys(probes["init_label"]))
    cells = [c for c in CELL_ORDER if c in set(probes["cell"])]
    T, H = int(probes["length"].iloc[0]), int(probes["hidden"].iloc[0])
    fig, axes = plt.subplots(1, len(cells), figsize=(4.4 * len(cells), 4.6), squeeze=False, sharey=True)
    positive = _positive(probes)["grad_norm"]
    for ax, cell in zip(axes[0], cells, strict=True):
        for color, label in zip(INIT_COLORS, labels, strict=False):
            d = probes[(probes["cell"] == cell) & (probes["init_label"] == label)]
            s = summary[(summary["cell"] == cell) & (summary["init_label"] == label)]
            for i, (_, g) in enumerate(d.groupby("seed")):
                g = _positive(g.sort_values("distance"))
                ax.plot(g["distance"], g["grad_norm"], color=color, linewidth=0.9, alpha=0.8,
                        label=None if i else _legend(label, d, s))  # fmt: skip
        if cell == "rnn" and T == ARJOVSKY_T and "paper" in labels:
            g0 = probes[(probes["cell"] == "rnn") & (probes["init_label"] == "paper") & (probes["distance"] == 0)]
            start = float(np.exp(np.log(g0["grad_norm"]).mean()))
            ax.plot([0, T - 1], [start, start * 10 ** -ARJOVSKY_RNN_DECADES], color="black", linestyle=":",
                    linewidth=1.5, label="Arjovsky 2016: ≈13 decades / 1000 steps")  # fmt: skip
        ax.set(yscale="log", xlabel="distance to the loss (steps)", title=f"{CELL_NAMES[cell]}")
        ax.set_ylim(positive.min() / 10, positive.max() * 10)  # down to the smallest nonzero norm of any cell
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    axes[0][0].set_ylabel("‖∂L/∂h_t‖ at initialisation")
    init0 = probes.drop_duplicates("init_label").set_index("init_label")
    desc = "; ".join(f"{lab}: {init0.loc[lab, 'init']}" for lab in labels)
    fig.suptitle(
        f"Gradient at initialisation at the paper's scale: {probes['task'].iloc[0]}, T = {T}, H = {H}, "
        f"batch {int(probes['batch'].iloc[0])}, float64, {probes['seed'].nunique()} seeds ({desc})",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def _legend(label: str, d: pd.DataFrame, s: pd.DataFrame) -> str:
    fb = d["forget_bias"].dropna()
    name = f"{label} ({d['init'].iloc[0]}{', forget bias ' + format(fb.iloc[0], 'g') if len(fb) else ''})"
    text = f"{name}: ×{np.median(s['factor']):.3g}/step"
    lost = s["decades_lost"].replace(math.inf, np.nan).dropna()
    if len(lost) == len(s):
        text += f", {lost.min():.0f}–{lost.max():.0f} decades"
    under = s["first_underflow"].dropna()
    if len(under):
        text += f"; exact 0 from d ≈ {int(under.min())} ({len(under)}/{len(s)} seeds)"
    return text


def depth_profiles(gradflow: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The depth study's probes of h with each run's layers and bidirectional joined on, and the phase."""
    cols = ["run", "layers", "bidirectional", "steps"]
    g = gradflow[(gradflow["study"] == "depth") & (gradflow["state"] == "h")]
    g = g.merge(runs[cols], on="run", how="left")
    g["phase"] = np.where(g["step"] == 0, "init", "trained")
    return g


def fig7_depth(gradflow: pd.DataFrame, runs: pd.DataFrame) -> plt.Figure:
    """The deepest configuration of the depth study: ‖∂L/∂h_t‖ against distance to the loss, one line per
    layer (solid: forward direction, dashed: reverse), geometric mean over seeds; rows: cells; columns:
    unidirectional / bidirectional, at initialisation and after training."""
    g = depth_profiles(gradflow, runs)
    L = int(g["layers"].max())
    g = g[g["layers"] == L]
    cells = [c for c in CELL_ORDER if c in set(g["cell"])]
    dirs = sorted(g["bidirectional"].unique())
    panels = [(b, ph) for b in dirs for ph in ("init", "trained")]
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, L))
    fig, axes = plt.subplots(len(cells), len(panels), figsize=(3.3 * len(panels), 2.7 * len(cells)), squeeze=False)
    steps = int(g["steps"].max())
    for row, cell in zip(axes, cells, strict=True):
        for ax, (bi, phase) in zip(row, panels, strict=True):
            d = _positive(g[(g["cell"] == cell) & (g["bidirectional"] == bi) & (g["phase"] == phase)])
            mean = d.groupby(["layer", "direction", "distance"], as_index=False)["grad_norm"].agg(
                lambda v: float(np.exp(np.log(v).mean()))
            )
            for (layer, direction), m in mean.groupby(["layer", "direction"]):
                ax.plot(m["distance"], m["grad_norm"], color=colors[int(layer)], linestyle="--" if direction else "-",
                        linewidth=1.3, label=f"layer {int(layer)}" if direction == 0 else None)  # fmt: skip
            ax.set(yscale="log", xlabel="distance to the loss (steps)")
            when = "at initialisation" if phase == "init" else f"after {steps} steps"
            ax.set_title(f"{CELL_NAMES[cell]}, {'bidirectional' if bi else 'unidirectional'}, {when}", fontsize=8)
        row[0].set_ylabel("‖∂L/∂h_t‖")
    axes[0][0].legend(fontsize=7, loc="lower left", title="solid: forward, dashed: reverse", title_fontsize=6)
    r = runs[runs["study"] == "depth"].iloc[0]
    fig.suptitle(
        f"Gradient through depth and time: {L} layers, {r['task']} T = {int(r['length'])}, H = {int(r['hidden'])}, "
        f"layer 0 reads the input; geometric mean over {runs[runs['study'] == 'depth']['seed'].nunique()} seeds",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


# figure name -> how to draw it from the tables (by table name)
BUILDERS = {
    "fig1b_gradflow_paper_scale": lambda data: fig1b_gradflow_paper_scale(data["init_probes"]),
    "fig7_depth": lambda data: fig7_depth(data["gradflow"], data["runs"]),
}


def render(name: str, tables: dict[str, str], png: str, pdf: str, config_hash: str, settings: dict) -> None:
    """Draw figure ``name`` from the CSV ``tables`` (paths by table name) and save it; ``settings`` (the
    report block) is taken for ``figures.render``'s signature and not needed here."""
    setup()
    data = {k: pd.read_csv(v) for k, v in tables.items()}
    save(BUILDERS[name](data), png, pdf, f"rnnbench {name}", provenance(config_hash, data["runs"]))
