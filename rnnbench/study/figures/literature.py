"""Figures of the literature studies: 1b (gradient at initialisation at a paper's own settings) and
7 (gradient through depth and time), in the visual language of :mod:`rnnbench.study.figures.style` (colour is the
cell, line style or shade the second factor, reference lines grey and labelled on the axes), kept in
their own module next to ``rnnbench.study.figures.training`` and, like it, built on ``style`` alone.

The paper studies' two figures (``rnnbench.study.papers``) follow: their learning curves with the papers'
readings drawn (``figure_curves``) and the gradient against distance (``figure_gradients``), drawn in
plain matplotlib as those reports have always been.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D

from rnnbench.study.claims import registry
from rnnbench.study.claims.paper_claims import with_models
from rnnbench.study.claims.record import CONVINCING
from rnnbench.study.figures import annotate, style
from rnnbench.study.figures.style import CELL_COLORS, provenance, run_details, save, setup
from rnnbench.study.pipeline.initprobes import summarise_probes
from rnnbench.study.tables.aggregate import depth_profiles
from rnnbench.study.tables.labels import TIMINGS_DTYPES, with_hardware

# The initialisation (the paper's, PyTorch's default, ...) by line style, in the config's order, in
# the cell's own colour: solid, dashed, dotted. Not a light/dark pair of the cell's colour: one thin
# line per seed in a light tint all but vanishes on white (the LSTM's orange turns pale yellow),
# while a dash keeps full contrast, survives greyscale, and is what "second factor" means in every
# other rnnbench figure.
INIT_STYLES = ["-", (0, (5, 2)), (0, (1.2, 1.6)), (0, (5, 1.5, 1, 1.5))]
# the registry's reading of Arjovsky et al.'s gradient figure: the tanh RNN at Glorot init loses about 13
# decades over T = 1000 steps (adding problem, H = 128); their LSTM falls below 1e−23 within about 550 steps
ARJOVSKY_RNN_DECADES, ARJOVSKY_T = registry.GRADIENT_RNN_DECADES, registry.GRADIENT_T


def _positive(d: pd.DataFrame) -> pd.DataFrame:
    return d[d["grad_norm"] > 0]  # an exact zero (float64 underflow) has no place on a log axis


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def fig1b_gradflow_paper_scale(probes: pd.DataFrame, runs: pd.DataFrame | None = None) -> plt.Figure:
    """‖∂L/∂h_t‖ at initialisation against the distance to the loss, at a paper's T and H: one panel per
    cell (its colour), one line style per initialisation, one thin line per seed; a seed whose norm
    underflowed to an exact 0 in float64 is cut there (and counted in the legend). ``runs`` (optional)
    gives the torch threads of the study's jobs for the title."""
    summary = summarise_probes(probes)
    labels = list(dict.fromkeys(probes["init_label"]))
    styles = dict(zip(labels, INIT_STYLES, strict=False))
    cells = style.cells_in(probes["cell"])
    p0 = probes.iloc[0]
    T, H = int(p0["length"]), int(p0["hidden"])
    fig, axes = style.figure(len(cells), 1, sharey=True, width=3.4, height=2.9)
    positive = _positive(probes)["grad_norm"]
    for ax, cell in zip(axes[0], cells, strict=True):
        handles = []
        for label in labels:
            d = probes[(probes["cell"] == cell) & (probes["init_label"] == label)]
            s = summary[(summary["cell"] == cell) & (summary["init_label"] == label)]
            for _, g in d.groupby("seed"):
                g = _positive(g.sort_values("distance"))
                ax.plot(g["distance"], g["grad_norm"], color=CELL_COLORS[cell], linestyle=styles[label],
                        linewidth=0.9, alpha=0.85)  # fmt: skip
            handles.append(Line2D([], [], color=CELL_COLORS[cell], linestyle=styles[label], label=_legend(label, d, s)))
        if cell == "rnn" and T == ARJOVSKY_T and "paper" in labels:
            g0 = probes[(probes["cell"] == "rnn") & (probes["init_label"] == "paper") & (probes["distance"] == 0)]
            start = float(np.exp(np.log(g0["grad_norm"]).mean()))
            annotate.reference_curve(ax, [0, T - 1], [start, start * 10**-ARJOVSKY_RNN_DECADES],
                                  f"{registry.ARJOVSKY}: ≈{ARJOVSKY_RNN_DECADES:g} decades in {T} steps", va="top")  # fmt: skip
        if cell == "lstm" and T == ARJOVSKY_T and "paper" in labels:
            ax.plot([registry.GRADIENT_LSTM_DISTANCE], [registry.GRADIENT_LSTM_LEVEL], "k*", ms=9, zorder=5)
            ax.annotate(f"{registry.ARJOVSKY}: below 1e−23 by ≈{registry.GRADIENT_LSTM_DISTANCE}",
                        (registry.GRADIENT_LSTM_DISTANCE, registry.GRADIENT_LSTM_LEVEL), fontsize=6,
                        xytext=(4, 4), textcoords="offset points")  # fmt: skip
        ax.set(yscale="log", xlabel=style.DISTANCE, title=style.cell_name(cell))
        ax.set_xlim(0, T - 1)
        ax.set_ylim(positive.min() / 10, positive.max() * 10)  # down to the smallest nonzero norm of any cell
        if cell == "lstm" and T == ARJOVSKY_T and "paper" in labels:  # keep the paper's LSTM reading in view
            ax.set_ylim(bottom=min(ax.get_ylim()[0], registry.GRADIENT_LSTM_LEVEL / 10))
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=7,
                  title="median factor per step; decades lost over T", title_fontsize=7)  # fmt: skip
    annotate.decade_ticks(axes[0][0])
    axes[0][0].set_ylabel(f"{style.GRAD_H} at initialisation")
    init0 = probes.drop_duplicates("init_label").set_index("init_label")
    desc = "; ".join(f"{lab}: {init0.loc[lab, 'init']}" for lab in labels)
    where = ", ".join(sorted({str(v) for v in probes.get("device", pd.Series(dtype=str)).dropna()}))
    threads = set(runs["torch_threads"].dropna()) if runs is not None and "torch_threads" in runs else set()
    if where and len(threads) == 1:  # the probe job runs on the study's threads_per_run, as every job does
        where += ", " + _plural(int(threads.pop()), "torch thread")
    annotate.suptitle(
        fig,
        "Gradient at initialisation at the paper's scale (one line per seed; a line that stops underflowed to 0)",
        f"{p0['task']}, T = {T}, H = {H}, batch {int(p0['batch'])}, float64, {_plural(probes['seed'].nunique(), 'seed')}"
        f" ({desc}){'; ' + where if where else ''}",
    )
    return fig


def _legend(label: str, d: pd.DataFrame, s: pd.DataFrame) -> str:
    fb = d["forget_bias"].dropna()
    peephole = ", peephole" if "peephole" in d and d["peephole"].any() else ""  # their LSTM (complex_RNN)
    name = f"{label} ({d['init'].iloc[0]}{', forget bias ' + format(fb.iloc[0], 'g') if len(fb) else ''}{peephole})"
    text = f"{name}: ×{np.median(s['factor']):.3g}/step"
    lost = s["decades_lost"].replace(math.inf, np.nan).dropna()
    if len(lost) == len(s):
        lo, hi = (f"{v:.0f}".replace("-", "−") for v in (lost.min(), lost.max()))
        text += f", {lo} decades" if lo == hi else f", {lo} to {hi} decades"
    under = s["first_underflow"].dropna()
    if len(under):
        text += f"; exact 0 from d ≈ {int(under.min())} ({len(under)}/{len(s)} seeds)"
    return text


REVERSE = (0, (4, 1.6))  # the reverse direction of a bidirectional layer


def fig7_depth(gradflow: pd.DataFrame, runs: pd.DataFrame) -> plt.Figure:
    """The deepest configuration of the depth study: ‖∂L/∂h_t‖ against distance to the loss, one line per
    layer (a ramp of the cell's colour, light: layer 0, which reads the input; dark: the top layer, which
    the loss reads; solid: forward direction, dashed: reverse), geometric mean over seeds; rows: cells;
    columns: unidirectional / bidirectional, at initialisation and after training; y shared per row."""
    g = depth_profiles(gradflow, runs)
    L = int(g["layers"].max())
    g = g[g["layers"] == L]
    cells = style.cells_in(g["cell"])
    shades = {cell: style.ramp(CELL_COLORS[cell], L) for cell in cells}
    dirs = sorted(g["bidirectional"].unique())
    panels = [(b, ph) for b in dirs for ph in ("init", "trained")]
    steps = int(g["steps"].max())
    fig, axes = style.figure(len(panels), len(cells), sharex=True, sharey="row", width=2.7, height=2.1)
    for row, cell in zip(axes, cells, strict=True):
        for ax, (bi, phase) in zip(row, panels, strict=True):
            d = _positive(g[(g["cell"] == cell) & (g["bidirectional"] == bi) & (g["phase"] == phase)])
            mean = d.groupby(["layer", "direction", "distance"], as_index=False)["grad_norm"].agg(
                lambda v: float(np.exp(np.log(v).mean()))
            )
            for (layer, direction), m in mean.groupby(["layer", "direction"]):
                ax.plot(m["distance"], m["grad_norm"], color=shades[cell][int(layer)],
                        linestyle=REVERSE if direction else "-", linewidth=1.4)  # fmt: skip
            ax.set_yscale("log")
            ax.set_xlim(0, g["distance"].max())
        row[0].set_ylabel(f"{style.cell_name(cell)}\n{style.GRAD_H}")
        positive = _positive(g[g["cell"] == cell])["grad_norm"]
        row[0].set_ylim(positive.min() / 2, positive.max() * 2)
        annotate.decade_ticks(row[0])
    for ax, (bi, phase) in zip(axes[0], panels, strict=True):
        when = "at initialisation" if phase == "init" else f"after {steps} steps"
        ax.set_title(f"{'bidirectional' if bi else 'unidirectional'}, {when}")
    for ax in axes[-1]:
        ax.set_xlabel(style.DISTANCE)
    # one legend entry per layer, its shade in every cell side by side; then the two directions
    names = {0: "layer 0 (reads the input)", L - 1: f"layer {L - 1} (read by the loss)"}
    handles = [tuple(Line2D([], [], color=shades[c][i], linewidth=2) for c in cells) for i in range(L)]
    labels = [names.get(i, f"layer {i}") for i in range(L)]
    handles += [Line2D([], [], color="0.3", linestyle="-"), Line2D([], [], color="0.3", linestyle=REVERSE)]
    labels += ["forward direction", "reverse direction (bidirectional)"]
    annotate.legend_below(fig, handles, ncol=min(len(handles), 3), labels=labels,
                       handler_map={tuple: HandlerTuple(ndivide=None, pad=0)}, handlelength=4)  # fmt: skip
    r = runs[runs["study"] == "depth"]
    annotate.suptitle(
        fig,
        f"Gradient through depth and time: {L} layers (geometric mean over seeds)",
        f"{r['task'].iloc[0]}, T = {int(r['length'].iloc[0])}; {run_details(r)}",
    )
    return fig


# figure name -> how to draw it from the tables (by table name)
BUILDERS = {
    "fig1b_gradflow_paper_scale": lambda data: fig1b_gradflow_paper_scale(data["init_probes"], data.get("runs")),
    "fig7_depth": lambda data: fig7_depth(data["gradflow"], data["runs"]),
}


def render(name: str, tables: dict[str, str], png: str, pdf: str, config_hash: str, settings: dict) -> None:
    """Draw figure ``name`` from the CSV ``tables`` (paths by table name) and save it; ``settings`` (the
    report block) is taken for ``training.render``'s signature and not needed here."""
    setup()
    data = {k: pd.read_csv(v, dtype=TIMINGS_DTYPES if k == "timings" else None) for k, v in tables.items()}
    if "runs" in data:  # the GPU and math mode, for the titles
        data["runs"] = with_hardware(data["runs"], data.get("timings"))
    save(BUILDERS[name](data), png, pdf, f"rnnbench {name}", provenance(config_hash, data["runs"]))


# --- the paper studies' figures (rnnbench.study.papers) ----------------------------------------------
def figure_gradients(gradflow: pd.DataFrame, out: Path, names: dict[str, str]) -> None:
    """‖∂L/∂h_t‖ against distance to the loss at initialisation and after training (adding, longest T)."""
    g = gradflow[(gradflow["study"] == "sweep") & (gradflow["task"] == "adding") & (gradflow["state"] == "h")]
    if g.empty:  # a study stopped before any sweep adding run finished: say so where the figure would be
        fig, ax = plt.subplots(figsize=(6.6, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no sweep adding run in these tables yet (a partial study)", ha="center", va="center")
        fig.savefig(out, dpi=90)
        plt.close(fig)
        return
    length = int(g["length"].max())
    g = g[(g["length"] == length) & (g["direction"] == 0)]
    colors = {"rnn": "#d62728", "lstm": "#1f77b4", "gru": "#2ca02c"}
    fig, axes = plt.subplots(1, 2, figsize=(6.6, 2.8), sharey=True)
    for ax, (phase, step_of) in zip(axes, (("at initialisation", min), ("after training", max)), strict=True):
        for cell, c in g.groupby("cell", sort=False):
            c = c[c["step"] == step_of(c["step"])]
            mean = c.groupby("distance")["grad_norm"].mean()
            ax.plot(mean.index, mean.to_numpy(), color=colors[cell], lw=1.2, label=names[cell])
        ax.set_yscale("log")
        ax.set_title(f"adding T = {length}, {phase}", fontsize=9)
        ax.set_xlabel("distance to the loss (steps)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("‖∂L/∂h_t‖ (mean over seeds)", fontsize=8)
    axes[1].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


TOP = 10.0  # the learning curves' y axis stops at 10× the baseline


COLORS = {"rnn": "#d62728", "lstm": "#1f77b4", "gru": "#2ca02c", "arjovsky-lstm": "#9467bd", "irnn": "#ff7f0e"}


def figure_curves(curves: pd.DataFrame, out: Path, names: dict[str, str], same: dict[str, str] | None = None) -> None:
    """Held-out loss / baseline against training steps, per task and T, one line per run (a model at its
    other batch size, ``same``, in its colour, dashed); the paper's curve readings drawn at the steps they
    were read (black: a reading with a number)."""
    ev = with_models(curves[curves["kind"] == "eval"], same)
    panels = sorted({(t, int(L)) for t, L in zip(ev["task"], ev["length"], strict=True)})
    cols = min(4, len(panels))
    nrows = -(-len(panels) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.6 * cols, 3.0 * nrows), sharey=True, squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (task, length) in zip(axes.flat, panels, strict=False):
        labelled: set[str] = set()
        for (model, base, _), s in ev[(ev["task"] == task) & (ev["length"] == length)].groupby(
            ["model", "base", "seed"]
        ):
            label = None if model in labelled else names.get(model, model)
            labelled.add(model)
            ax.plot(s["step"], s["loss_ratio"], color=COLORS.get(base, "0.3"), lw=1.0, alpha=0.8, label=label,
                    ls="--" if model != base else "-")  # fmt: skip
        for claim in registry.TRAINED:
            if (claim.task, claim.length) != (task, length):
                continue
            last = ev[(ev["task"] == task) & (ev["length"] == length)]["step"].max()
            for r in claim.readings:
                if r.ratio is not None and r.step <= last:  # a reading past our budget would squeeze our curves
                    ax.plot(r.step, r.ratio, "k*" if claim.cell == "lstm" else "kx", ms=7, zorder=5)
        ax.axhline(1.0, color="0.4", ls="--", lw=0.8)
        ax.axhline(CONVINCING, color="0.7", ls=":", lw=0.8)
        ax.set_yscale("log")
        if ax.get_ylim()[1] > TOP:  # a diverging run (1e28 × the baseline) would flatten every other curve
            ax.set_ylim(top=TOP)
            ax.text(0.02, 0.97, f"runs above {TOP:g}× leave the panel (diverging)", transform=ax.transAxes,
                    fontsize=6, va="top", color="0.3")  # fmt: skip
        ax.set_title(f"{task}, T = {length}", fontsize=9)
        ax.set_xlabel("training steps", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("held-out loss / baseline", fontsize=8)
    handles = {}  # every model of every panel, once (a variant may train on one task only)
    for ax in axes.flat:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    handles["the paper's LSTM (read off its figure)"] = Line2D([], [], color="k", marker="*", ls="", ms=7)
    handles["the paper's tanh RNN (read off its figure)"] = Line2D([], [], color="k", marker="x", ls="", ms=6)
    fig.legend(
        handles.values(), handles.keys(), fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5)
    )
    fig.tight_layout()
    fig.savefig(out, dpi=90, bbox_inches="tight")
    plt.close(fig)
