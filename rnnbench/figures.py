"""The study's figures, from its tables: each ``figN_*`` function takes DataFrames and returns a
matplotlib Figure; :func:`save` writes it as PNG and byte-stable PDF with provenance in the metadata.

Diverged runs are drawn as red crosses where they stopped (never dropped, never drawn as zeros);
gradient norms always go on a log scale.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

CELL_ORDER = ["rnn", "lstm", "gru"]
CELL_COLORS = dict(zip(CELL_ORDER, sns.color_palette("colorblind", 3), strict=True))
CELL_NAMES = {"rnn": "vanilla RNN (tanh)", "lstm": "LSTM", "gru": "GRU"}
DIVERGED = {"marker": "X", "color": "crimson", "s": 90, "zorder": 5, "linewidths": 0.5, "edgecolors": "black"}
TOP = 0.93  # where diverged markers sit, as a fraction of the axis height


def setup() -> None:
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.9)
    plt.rcParams["svg.hashsalt"] = "rnnbench"  # stable SVG ids, should anyone save SVG


def clip_label(clip: float) -> str:
    return "no clipping" if clip is None or (isinstance(clip, float) and math.isnan(clip)) else f"clip {clip:g}"


def with_labels(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    if "clip" in df:
        df["clipping"] = [clip_label(c) for c in df["clip"]]
    return df


def clip_order(df: pd.DataFrame) -> list[str]:
    values = sorted({c for c in df["clip"] if not pd.isna(c)})
    return (["no clipping"] if df["clip"].isna().any() else []) + [clip_label(c) for c in values]


def phase_label(step: int, steps: int) -> str:
    return "at initialisation" if step == 0 else f"after training ({steps} steps)"


def label_log_axis(ax) -> None:
    """A log y axis spanning less than a decade has no major ticks: label the minor ones instead."""
    lo, hi = ax.get_ylim()
    if lo > 0 and hi / lo < 10:
        ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.tick_params(axis="y", which="minor", labelsize=8)


def mark_diverged(ax, x, label: str | None = "diverged") -> None:
    """Red crosses at the top of ``ax`` at each x: these runs have no finite value to draw."""
    if len(x) == 0:
        return
    trans = ax.get_xaxis_transform()  # x in data units, y in axis fraction
    ax.scatter(list(x), [TOP] * len(x), transform=trans, label=label, **DIVERGED)


def _top_state(gf: pd.DataFrame) -> pd.DataFrame:
    # the top layer, forward direction: the one the loss reads
    top = gf["layer"].max()
    return gf[(gf["layer"] == top) & (gf["direction"] == 0)]


def fig1_gradflow_cells(gradflow: pd.DataFrame, task: str, length: int) -> plt.Figure:
    """‖∂L/∂h_t‖ against distance to the loss, per cell, at initialisation and after training."""
    gf = _top_state(gradflow[(gradflow["study"] == "sweep") & (gradflow["task"] == task)])
    gf = gf[(gf["length"] == length) & (gf["grad_norm"] > 0)]
    if gf.empty:
        raise ValueError(f"figure 1: no sweep probes for task {task!r} at length {length}")
    steps = int(gf["step"].max())
    phases = sorted(gf["step"].unique())
    fig, axes = plt.subplots(1, len(phases), figsize=(5.2 * len(phases), 4.2), sharey=True, squeeze=False)
    for ax, step in zip(axes[0], phases, strict=True):
        d = gf[gf["step"] == step]
        for cell in [c for c in CELL_ORDER if c in set(d["cell"])]:
            for state, dash in (("h", "-"), ("c", "--")):
                s = d[(d["cell"] == cell) & (d["state"] == state)]
                if s.empty:
                    continue
                factor = s.groupby("run")["decay_factor"].first().mean()
                name = CELL_NAMES[cell] + (" cell state c" if state == "c" else "")
                sns.lineplot(
                    data=s, x="distance", y="grad_norm", ax=ax, color=CELL_COLORS[cell], linestyle=dash,
                    errorbar=("pi", 100), label=f"{name}: ×{factor:.2f}/step",
                )  # fmt: skip
        ax.set(yscale="log", xlabel="distance to the loss (T − 1 − t)", ylabel="‖∂L/∂h_t‖ (mean over batch)")
        ax.set_title(phase_label(step, steps))
        ax.legend(fontsize=8, title="cell: mean decay per step", title_fontsize=8)
    fig.suptitle(f"Gradient flow back through time: {task}, T = {length} (band: range over seeds)")
    fig.tight_layout()
    return fig


def fig2_exploding_gains(gradflow: pd.DataFrame, runs: pd.DataFrame) -> plt.Figure:
    """The vanilla RNN across W_hh init gains, with Pascanu's bound η^distance where η < 1."""
    gf = _top_state(gradflow[(gradflow["study"] == "gains") & (gradflow["state"] == "h")])
    gr = runs[runs["study"] == "gains"]
    if gf.empty:
        raise ValueError("figure 2: no probes of the gains study")
    gf = gf[gf["grad_norm"] > 0]
    gains = sorted(gf["init_gain"].unique())
    colors = dict(zip(gains, sns.color_palette("rocket_r", len(gains)), strict=True))
    steps = int(gr["steps"].max())
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 4.2), sharey=True)
    for ax, step in zip(axes, (0, steps), strict=True):
        d = gf[gf["step"] == step]
        for gain in gains:
            s = d[d["init_gain"] == gain]
            if s.empty:
                continue
            factor = s.groupby("run")["decay_factor"].first().mean()
            eta = s["pascanu_eta"].mean()
            sns.lineplot(
                data=s, x="distance", y="grad_norm", ax=ax, color=colors[gain], errorbar=("pi", 100),
                label=f"gain {gain:g} (η = {eta:.2f}): ×{factor:.2f}/step",
            )  # fmt: skip
            if eta < 1:  # η < 1 is sufficient for vanishing: ‖∂h_t/∂h_k‖ ≤ η^(t−k)
                start = s[s["distance"] == 0]["grad_norm"].mean()
                dist = np.arange(0, s["distance"].max() + 1)
                ax.plot(dist, start * eta**dist, color=colors[gain], linestyle=":", linewidth=2,
                        label=f"Pascanu bound η^d, η = {eta:.2f}")  # fmt: skip
        ax.set(yscale="log", xlabel="distance to the loss (T − 1 − t)", ylabel="‖∂L/∂h_t‖ (mean over batch)")
        ax.set_title(phase_label(step, steps))
        if step:
            div = gr[gr["status"] == "diverged"]
            for gain, g in div.groupby("init_gain"):
                ax.text(0.02, 0.04, f"gain {gain:g}: {len(g)}/{(gr['init_gain'] == gain).sum()} seeds diverged",
                        transform=ax.transAxes, color="crimson", fontsize=8)  # fmt: skip
        ax.legend(fontsize=7)
    task, length = gr["task"].iloc[0], int(gr["length"].iloc[0])
    fig.suptitle(f"Vanilla RNN, {gr['init'].iloc[0]} W_hh × gain: {task}, T = {length}")
    fig.tight_layout()
    return fig


def fig3_clipping(curves: pd.DataFrame, runs: pd.DataFrame) -> plt.Figure:
    """Gradient norm before clipping, and training loss, with and without clipping, per optimizer."""
    c = with_labels(curves[(curves["study"] == "clipping") & (curves["kind"] == "train")])
    r = with_labels(runs[runs["study"] == "clipping"])
    if c.empty:
        raise ValueError("figure 3: no curves of the clipping study")
    optimizers = list(dict.fromkeys(r["optimizer"]))
    order = clip_order(r)
    colors = sns.color_palette("colorblind", len(order) + 1)
    palette = dict(zip(order, [colors[1], colors[0], *colors[2:]], strict=False))  # red is kept for diverged
    fig, axes = plt.subplots(len(optimizers), 2, figsize=(10.4, 3.4 * len(optimizers)), squeeze=False, sharex=True)
    for row, opt in zip(axes, optimizers, strict=True):
        d = c[c["optimizer"] == opt]
        lr = r[r["optimizer"] == opt]["lr"].iloc[0]
        for ax, y, ylabel in ((row[0], "grad_norm", "‖g‖ before clipping"), (row[1], "loss", "training loss (MSE)")):
            sns.lineplot(
                data=d, x="step", y=y, hue="clipping", hue_order=order, palette=palette, units="seed",
                estimator=None, ax=ax, linewidth=0.8, alpha=0.8,
            )  # fmt: skip
            ax.set(yscale="log", ylabel=ylabel, title=f"{opt} (lr {lr:g}): {ylabel}")
            div = r[(r["optimizer"] == opt) & (r["status"] == "diverged")]
            mark_diverged(ax, div["diverged_step"], label=f"diverged: {len(div)} run(s)" if len(div) else None)
            if y == "grad_norm":
                for thr in sorted(r["clip"].dropna().unique()):
                    ax.axhline(thr, color="gray", linestyle="--", linewidth=1)
            ax.legend(fontsize=8)
    r0 = r.iloc[0]
    fig.suptitle(
        f"Clipping an exploding vanilla RNN ({r0['init']} init, gain {r0['init_gain']:g}, H = {r0['hidden']}): "
        f"{r0['task']}, T = {r0['length']}"
    )
    fig.tight_layout()
    return fig


def _sweep_grid(runs: pd.DataFrame, y: str, ylabel: str, log: bool, lines: Callable) -> plt.Figure:
    r = with_labels(runs[runs["study"] == "sweep"])
    tasks = list(dict.fromkeys(r["task"]))
    order = clip_order(r)
    cells = [c for c in CELL_ORDER if c in set(r["cell"])]
    fig, axes = plt.subplots(len(tasks), len(order), figsize=(4.8 * len(order), 3.6 * len(tasks)), squeeze=False)
    for row, task in zip(axes, tasks, strict=True):
        for ax, clip in zip(row, order, strict=True):
            d = r[(r["task"] == task) & (r["clipping"] == clip)]
            ok = d[d["status"] == "ok"]
            sns.lineplot(
                data=ok, x="length", y=y, hue="cell", hue_order=cells, palette=CELL_COLORS, errorbar=("pi", 100),
                marker="o", ax=ax, legend=False,
            )  # fmt: skip
            for cell in cells:
                s = ok[ok["cell"] == cell]
                jitter = 1 + 0.025 * (cells.index(cell) - 1)  # side by side, on the log axis
                ax.scatter(s["length"] * jitter, s[y], color=CELL_COLORS[cell], s=14, alpha=0.6, edgecolors="none")
            mark_diverged(ax, d[d["status"] == "diverged"]["length"], label=None)
            lines(ax, task)
            ax.set(xscale="log", xlabel="sequence length T", ylabel=ylabel, title=f"{task}, {clip}")
            if log:
                ax.set_yscale("log")
            xs = sorted(d["length"].unique())
            ax.set_xticks(xs, [str(v) for v in xs])
            ax.set_xlim(min(xs) / 1.35, max(xs) * 1.35)
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            if log:
                label_log_axis(ax)
    handles = [plt.Line2D([], [], color=CELL_COLORS[c], marker="o", label=CELL_NAMES[c]) for c in cells]
    handles.append(plt.Line2D([], [], linestyle="", marker="X", color="crimson", label="diverged run"))
    handles.append(plt.Line2D([], [], linestyle="--", color="gray", label="baseline / chance"))
    handles.append(plt.Line2D([], [], linestyle=":", color="gray", label="solved"))
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def fig4_length_sweep_loss(runs: pd.DataFrame) -> plt.Figure:
    """Held-out loss / memoryless baseline against T: line = mean over seeds, band = range, dots = seeds."""

    def lines(ax, task):
        ax.axhline(1.0, color="gray", linestyle="--", linewidth=1, label="baseline")
        if task == "adding":
            ax.axhline(0.1, color="gray", linestyle=":", linewidth=1, label="solved (adding)")

    return _sweep_grid(runs, "loss_ratio", "held-out loss / baseline", True, lines)


def fig4_length_sweep_accuracy(runs: pd.DataFrame) -> plt.Figure:
    """Held-out accuracy against T (copy: recall accuracy, solved at 0.9; adding: |error| < 0.04)."""

    def lines(ax, task):
        if task == "copy":
            ax.axhline(0.9, color="gray", linestyle=":", linewidth=1)
            ax.axhline(1 / 8, color="gray", linestyle="--", linewidth=1)

    fig = _sweep_grid(runs, "accuracy", "held-out accuracy", False, lines)
    for ax in fig.axes:
        ax.set_ylim(-0.02, 1.05)
    return fig


def fig5_learning_curves(curves: pd.DataFrame, runs: pd.DataFrame) -> plt.Figure:
    """Held-out loss / baseline over training, per task (rows) and length (columns), mean over seeds."""
    c = with_labels(curves[(curves["study"] == "sweep") & (curves["kind"] == "eval")])
    r = with_labels(runs[runs["study"] == "sweep"])
    tasks = list(dict.fromkeys(r["task"]))
    lengths = {t: sorted(r[r["task"] == t]["length"].unique()) for t in tasks}
    ncols = max(len(v) for v in lengths.values())
    cells = [x for x in CELL_ORDER if x in set(r["cell"])]
    order = clip_order(r)
    fig, axes = plt.subplots(len(tasks), ncols, figsize=(3.3 * ncols, 2.9 * len(tasks)), squeeze=False, sharey="row")
    for row, task in zip(axes, tasks, strict=True):
        for i, ax in enumerate(row):
            if i >= len(lengths[task]):
                ax.axis("off")
                continue
            T = lengths[task][i]
            d = c[(c["task"] == task) & (c["length"] == T)]
            sns.lineplot(
                data=d, x="step", y="loss_ratio", hue="cell", hue_order=cells, palette=CELL_COLORS,
                style="clipping", style_order=order, errorbar=None, ax=ax, legend=(i == 0 and task == tasks[0]),
            )  # fmt: skip
            div = r[(r["task"] == task) & (r["length"] == T) & (r["status"] == "diverged")]
            mark_diverged(ax, div["diverged_step"], label=None)
            ax.axhline(1.0, color="gray", linestyle="--", linewidth=1)
            ax.set(yscale="log", title=f"{task}, T = {T}", xlabel="training step", ylabel="held-out loss / baseline")
            label_log_axis(ax)
    if axes[0][0].get_legend():
        sns.move_legend(axes[0][0], "lower left", fontsize=7, title=None)
    fig.tight_layout()
    return fig


def provenance(config_hash: str, runs: pd.DataFrame) -> str:
    commits = ", ".join(sorted({str(c) for c in runs.get("git_commit", pd.Series(dtype=str)).dropna()})) or "unknown"
    return f"rnnbench study; config hash {config_hash}; git commit {commits}"


def save(fig: plt.Figure, png: str | os.PathLike, pdf: str | os.PathLike, title: str, prov: str) -> None:
    """PNG and PDF with provenance in their metadata; the PDF carries no dates, so it is byte-stable."""
    fig.savefig(png, dpi=110, metadata={"Title": title, "Description": prov, "Source": prov})
    fig.savefig(
        pdf, metadata={"Title": title, "Subject": prov, "Keywords": prov, "CreationDate": None, "ModDate": None}
    )
    plt.close(fig)


def render(name: str, tables: dict[str, str], png: str, pdf: str, config_hash: str, settings: dict) -> None:
    """Draw figure ``name`` from the CSV ``tables`` (paths by table name) and save it."""
    setup()
    data = {k: pd.read_csv(v) for k, v in tables.items()}
    runs = data["runs"]
    builders: dict[str, Callable[[], plt.Figure]] = {
        "fig1_gradflow_cells": lambda: fig1_gradflow_cells(
            data["gradflow"], settings.get("gradflow_task", "adding"), int(settings["gradflow_length"])
        ),
        "fig2_exploding_gains": lambda: fig2_exploding_gains(data["gradflow"], runs),
        "fig3_clipping": lambda: fig3_clipping(data["curves"], runs),
        "fig4_length_sweep_loss": lambda: fig4_length_sweep_loss(runs),
        "fig4_length_sweep_accuracy": lambda: fig4_length_sweep_accuracy(runs),
        "fig5_learning_curves": lambda: fig5_learning_curves(data["curves"], runs),
    }
    fig = builders[name]()
    save(fig, png, pdf, f"rnnbench {name}", provenance(config_hash, runs))


def docs_png(src: str | os.PathLike, dst: str | os.PathLike, width: int = 900) -> None:
    """A small copy of a figure for the README (``docs/``): at most ``width`` pixels wide, 256 colours."""
    from PIL import Image

    img = Image.open(src).convert("RGB")
    if img.width > width:
        img = img.resize((width, round(img.height * width / img.width)), Image.LANCZOS)
    # fast octree keeps rare colours (the red diverged markers) that median cut merges away
    img.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(dst, optimize=True)
