"""Figures 1 and 2 of the default study, the gradient figures: ‖∂L/∂h_t‖ against distance to the loss
per cell at initialisation and after training (1), and the vanilla RNN across W_hh init gains (2).
Drawn from the tables in the visual language of :mod:`rnnbench.study.figures.style`; ``training.render``
draws them by name.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from rnnbench.study.figures import annotate, style  # noqa: E402
from rnnbench.study.figures.style import CELL_COLORS, cell_name, run_details  # noqa: E402


def phase_label(step: int, steps: int) -> str:
    return "at initialisation" if step == 0 else f"after training ({steps} steps)"


def _top_state(gf: pd.DataFrame) -> pd.DataFrame:
    # the top layer, forward direction: the one the loss reads
    top = gf["layer"].max()
    return gf[(gf["layer"] == top) & (gf["direction"] == 0)]


def _panel_legend_below(ax, ncol: int = 1, title: str | None = None) -> None:
    """A panel's own legend under its axes, off the data (constrained layout makes room)."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol, title=title, fontsize=7, title_fontsize=7)


def fig1_gradflow_cells(gradflow: pd.DataFrame, task: str, length: int, runs: pd.DataFrame | None = None) -> plt.Figure:
    """‖∂L/∂h_t‖ against distance to the loss, per cell, at initialisation and after training; the
    LSTM's cell state c is drawn as open markers over its h line, so neither hides the other."""
    gf = _top_state(gradflow[(gradflow["study"] == "sweep") & (gradflow["task"] == task)])
    gf = gf[(gf["length"] == length) & (gf["grad_norm"] > 0)]
    if gf.empty:
        raise ValueError(f"figure 1: no sweep probes for task {task!r} at length {length}")
    steps = int(gf["step"].max())
    phases = sorted(gf["step"].unique())
    fig, axes = style.figure(len(phases), 1, sharey=True, width=3.6, height=2.9)
    for ax, step in zip(axes[0], phases, strict=True):
        d = gf[gf["step"] == step]
        for cell in style.cells_in(d["cell"]):
            for state in ("h", "c"):
                s = d[(d["cell"] == cell) & (d["state"] == state)]
                if s.empty:
                    continue
                factor = s.groupby("run")["decay_factor"].first().mean()
                if state == "h":
                    sns.lineplot(
                        data=s, x="distance", y="grad_norm", ax=ax, color=CELL_COLORS[cell], errorbar=("pi", 100),
                        label=f"{cell_name(cell)}: ×{factor:.2f}/step", zorder=2,
                    )  # fmt: skip
                    continue
                # the LSTM's cell state often lies on its h line: open markers at intervals, drawn
                # over the line, so that neither hides the other
                mean = s.groupby("distance", as_index=False)["grad_norm"].mean()
                every = max(1, len(mean) // 12)
                ax.plot(mean["distance"], mean["grad_norm"], linestyle="", marker="o", markevery=(every // 2, every),
                        markersize=4.5, markerfacecolor="white", markeredgecolor=CELL_COLORS[cell],
                        markeredgewidth=1.2, zorder=4, label=f"{cell_name(cell)}, cell state $c_t$: ×{factor:.2f}/step")  # fmt: skip
        ax.set(yscale="log", xlabel=style.DISTANCE, ylabel=f"{style.GRAD_H} (mean over batch)")
        ax.set_title(phase_label(step, steps))
        ax.set_xlim(0, d["distance"].max())
        # h first in the legend, as the reader compares the h lines
        handles, labels = ax.get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda i: ("$c_t$" in labels[i], i))
        ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper center",
                  bbox_to_anchor=(0.5, -0.2), fontsize=7, title="fitted decay per step", title_fontsize=7)  # fmt: skip
    details = f"{task}, T = {length}"
    if runs is not None:
        details += "; " + run_details(runs[(runs["study"] == "sweep") & (runs["task"] == task)])
    annotate.suptitle(fig, "Gradient flow back through time (band: range over seeds)", details)
    return fig


def fig2_exploding_gains(gradflow: pd.DataFrame, runs: pd.DataFrame) -> plt.Figure:
    """The vanilla RNN across W_hh init gains, with Pascanu's bound η^distance where η < 1."""
    gf = _top_state(gradflow[(gradflow["study"] == "gains") & (gradflow["state"] == "h")])
    gr = runs[runs["study"] == "gains"]
    if gf.empty:
        raise ValueError("figure 2: no probes of the gains study")
    gf = gf[gf["grad_norm"] > 0]
    gains = sorted(gf["init_gain"].unique())
    colors = dict(zip(gains, sns.color_palette(style.SEQUENTIAL, len(gains)), strict=True))
    steps = int(gr["steps"].max())
    fig, axes = style.figure(2, 1, sharey=True, width=3.6, height=2.9)
    for ax, step in zip(axes[0], (0, steps), strict=True):
        d = gf[gf["step"] == step]
        for gain in gains:
            s = d[d["init_gain"] == gain]
            if s.empty:
                continue
            factor = s.groupby("run")["decay_factor"].first().mean()
            eta = s["pascanu_eta"].mean()
            sns.lineplot(
                data=s, x="distance", y="grad_norm", ax=ax, color=colors[gain], errorbar=("pi", 100),
                label=f"gain {gain:g} ($\\eta$ = {eta:.2f}): ×{factor:.2f}/step",
            )  # fmt: skip
            if eta < 1:  # η < 1 is sufficient for vanishing: ‖∂h_t/∂h_k‖ ≤ η^(t−k)
                start = s[s["distance"] == 0]["grad_norm"].mean()
                dist = np.arange(0, s["distance"].max() + 1)
                ax.plot(dist, start * eta**dist, color=colors[gain], linestyle=(0, (1.2, 1.6)), linewidth=1.4,
                        label=f"Pascanu bound $\\eta^d$, $\\eta$ = {eta:.2f}")  # fmt: skip
        ax.set(yscale="log", xlabel=style.DISTANCE, ylabel=f"{style.GRAD_H} (mean over batch)")
        title = phase_label(step, steps)
        if step:
            div = gr[gr["status"] == "diverged"]
            counts = [f"gain {g:g}: {len(x)}/{(gr['init_gain'] == g).sum()}" for g, x in div.groupby("init_gain")]
            if counts:
                title += "\ndiverged: " + ", ".join(counts)
        ax.set_title(title)
        ax.set_xlim(0, d["distance"].max())
        _panel_legend_below(ax)
    task, length = gr["task"].iloc[0], int(gr["length"].iloc[0])
    annotate.suptitle(
        fig,
        f"Vanilla RNN (tanh) across {gr['init'].iloc[0]} $W_{{hh}}$ init gains (band: range over seeds)",
        f"{task}, T = {length}; {run_details(gr)}",
    )
    return fig
