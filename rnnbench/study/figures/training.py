"""The study's figures, from its tables: each ``figN_*`` function takes DataFrames and returns a
matplotlib Figure; :func:`save` writes it as a 300-dpi PNG and a byte-stable PDF (TrueType fonts)
with provenance in the metadata. Colours, names, line styles and fonts come from
:mod:`rnnbench.study.figures.style`, the one place that defines how an rnnbench figure looks.

Diverged runs are drawn as red crosses where they stopped (never dropped, never drawn as zeros);
gradient norms always go on a log scale; other axes are log only where the data span a decade.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from rnnbench.core.tasks import (  # noqa: E402
    ADDING_SOLVED_RATIO,
    ADDING_TOLERANCE,
    COPY_RECALL,
    COPY_SOLVED_ACCURACY,
    N_SYMBOLS,
)
from rnnbench.study.figures import style  # noqa: E402
from rnnbench.study.figures.style import (  # noqa: E402,F401
    CELL_COLORS,
    CELL_NAMES,
    CELL_ORDER,
    DIVERGED,
    clip_label,
    provenance,
    run_details,
    save,
    setup,
)
from rnnbench.study.tables.labels import TIMINGS_DTYPES, with_hardware  # noqa: E402

TOP = 0.93  # where diverged markers sit, as a fraction of the axis height


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
        ax.tick_params(axis="y", which="minor", labelsize=7)


def mark_diverged(ax, x, label: str | None = "diverged") -> None:
    """Red crosses at the top of ``ax`` at each x: these runs have no finite value to draw."""
    if len(x) == 0:
        return
    trans = ax.get_xaxis_transform()  # x in data units, y in axis fraction
    ax.scatter(list(x), [TOP] * len(x), transform=trans, label=label, clip_on=False, **DIVERGED)


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
                        label=f"{CELL_NAMES[cell]}: ×{factor:.2f}/step", zorder=2,
                    )  # fmt: skip
                    continue
                # the LSTM's cell state often lies on its h line: open markers at intervals, drawn
                # over the line, so that neither hides the other
                mean = s.groupby("distance", as_index=False)["grad_norm"].mean()
                every = max(1, len(mean) // 12)
                ax.plot(mean["distance"], mean["grad_norm"], linestyle="", marker="o", markevery=(every // 2, every),
                        markersize=4.5, markerfacecolor="white", markeredgecolor=CELL_COLORS[cell],
                        markeredgewidth=1.2, zorder=4, label=f"{CELL_NAMES[cell]}, cell state $c_t$: ×{factor:.2f}/step")  # fmt: skip
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
    style.suptitle(fig, "Gradient flow back through time (band: range over seeds)", details)
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
    style.suptitle(
        fig,
        f"Vanilla RNN (tanh) across {gr['init'].iloc[0]} $W_{{hh}}$ init gains (band: range over seeds)",
        f"{task}, T = {length}; {run_details(gr)}",
    )
    return fig


def fig3_clipping(curves: pd.DataFrame, runs: pd.DataFrame, smooth: int = 10) -> plt.Figure:
    """Gradient norm before clipping, and training loss, with and without clipping, per optimizer.

    Per-step values are noisy, so each seed is drawn faintly and, over them, the median across seeds
    smoothed by a running median of ``smooth`` steps (said on the figure). Clipping settings differ in
    both tone and line style: the cell's colour, solid, without clipping; near-black, dashed, with."""
    c = with_labels(curves[(curves["study"] == "clipping") & (curves["kind"] == "train")])
    r = with_labels(runs[runs["study"] == "clipping"])
    if c.empty:
        raise ValueError("figure 3: no curves of the clipping study")
    optimizers = list(dict.fromkeys(r["optimizer"]))
    order = clip_order(r)
    styles = {label: ("-" if label == "no clipping" else (0, (5, 2))) for label in order}
    cell_color = CELL_COLORS.get(r["cell"].iloc[0], "0.5")
    tones = {label: (cell_color if label == "no clipping" else "0.15") for label in order}
    fig, axes = style.figure(2, len(optimizers), sharex=True, width=3.6, height=2.3)
    for i, (row, opt) in enumerate(zip(axes, optimizers, strict=True)):
        d = c[c["optimizer"] == opt]
        lr = r[r["optimizer"] == opt]["lr"].iloc[0]
        for ax, y, ylabel in ((row[0], "grad_norm", f"{style.GRAD_NORM} before clipping"),
                              (row[1], "loss", "training loss (MSE)")):  # fmt: skip
            for clipping in order:
                dc = d[(d["clipping"] == clipping) & np.isfinite(d[y])]
                for _, s in dc.groupby("seed"):
                    ax.plot(s["step"], s[y], color=tones[clipping], linewidth=0.5, alpha=0.25, zorder=1)
                med = dc.groupby("step")[y].median().rolling(smooth, min_periods=1, center=True).median()
                ax.plot(med.index, med.values, color=tones[clipping], linestyle=styles[clipping], linewidth=1.8,
                        zorder=3)  # fmt: skip
            ax.set(yscale="log", ylabel=ylabel, title=f"{opt}, lr {lr:g}")
            div = r[(r["optimizer"] == opt) & (r["status"] == "diverged")]
            mark_diverged(ax, div["diverged_step"], label=None)
            if y == "grad_norm":
                for thr in sorted(r["clip"].dropna().unique()):
                    style.reference_line(ax, thr, f"threshold {thr:g}", va="top")
            ax.set_xlim(0, d["step"].max())
            ax.set_xlabel("training step" if i == len(optimizers) - 1 else "")
    handles = [plt.Line2D([], [], color=tones[k], linestyle=styles[k], linewidth=1.8, label=k) for k in order]
    n_div = int((r["status"] == "diverged").sum())
    handles.append(style.diverged_handle(f"diverged ({n_div} run{'s' if n_div != 1 else ''}, at the step it did)"))
    style.legend_below(
        fig, handles, title=f"faint: each seed; bold: median over seeds, running median of {smooth} steps"
    )
    r0 = r.iloc[0]
    style.suptitle(
        fig,
        f"Clipping an exploding {CELL_NAMES.get(r0['cell'], r0['cell'])}",
        f"{r0['task']}, T = {r0['length']}, {r0['init']} init gain {r0['init_gain']:g}; {run_details(r)}",
    )
    return fig


# the settings that make a training budget: runs that differ in any are not points of one curve
BUDGET = ("steps", "optimizer", "lr", "batch", "hidden")


def _sweep_grid(runs: pd.DataFrame, y: str, ylabel: str, lines: Callable, linear: bool) -> plt.Figure:
    """Tasks in rows, clipping settings in columns; one line per cell against T. The y axis is log
    only where a row's data span more than a decade (``linear`` forces linear: accuracies)."""
    r = with_labels(runs[runs["study"] == "sweep"])
    tasks = list(dict.fromkeys(r["task"]))
    order = clip_order(r)
    cells = style.cells_in(r["cell"])
    fig, axes = style.figure(len(order), len(tasks), width=3.4, height=2.5, sharey="row")
    for row, task in zip(axes, tasks, strict=True):
        finite = r[(r["task"] == task) & (r["status"] == "ok")][y]
        positive = finite[finite > 0]
        for ax, clip in zip(row, order, strict=True):
            d = r[(r["task"] == task) & (r["clipping"] == clip)]
            ok = d[d["status"] == "ok"]
            log = False if linear or positive.empty else style.log_if_wide(ax, positive.min(), positive.max())
            # one line per training budget: a block of lengths trained at a budget of its own (the copy
            # contrast at T = 100) stands apart, never joined to the sweep's line as if it continued it
            for _, part in ok.groupby(list(BUDGET), dropna=False, sort=False):
                sns.lineplot(
                    data=part, x="length", y=y, hue="cell", hue_order=cells, palette=CELL_COLORS,
                    errorbar=("pi", 100), marker="o", markersize=4, ax=ax, legend=False,
                )  # fmt: skip
            for cell in cells:
                s = ok[ok["cell"] == cell]
                jitter = 1 + 0.03 * (cells.index(cell) - 1)  # side by side, on the log axis
                ax.scatter(s["length"] * jitter, s[y], color=CELL_COLORS[cell], s=10, alpha=0.6, edgecolors="none")
            mark_diverged(ax, d[d["status"] == "diverged"]["length"], label=None)
            lines(ax, task)
            ax.set(xscale="log", xlabel="sequence length T", ylabel=ylabel if clip == order[0] else "",
                   title=f"{task}, {clip}")  # fmt: skip
            style.ticks_at(ax, sorted(d["length"].unique()))
            if log:
                label_log_axis(ax)
    handles = [*style.cell_handles(cells, marker="o"), style.diverged_handle()]
    style.legend_below(fig, handles, ncol=len(handles))
    return fig


def fig4_length_sweep_loss(runs: pd.DataFrame) -> plt.Figure:
    """Held-out loss / memoryless baseline against T: line = mean over seeds, band = range, dots = seeds."""

    def lines(ax, task):
        style.reference_line(ax, 1.0, "baseline")
        if task == "adding":  # the task's own criterion: solved below this fraction of the baseline
            style.reference_line(ax, ADDING_SOLVED_RATIO, "solved below", va="top")

    fig = _sweep_grid(runs, "loss_ratio", "held-out loss / baseline", lines, linear=False)
    sweep_runs = runs[runs["study"] == "sweep"]
    style.suptitle(
        fig,
        "Held-out loss relative to the memoryless baseline, by sequence length",
        f"{run_details(sweep_runs)}; line: mean over seeds, band: range, dots: seeds",
    )
    return fig


def fig4_length_sweep_accuracy(runs: pd.DataFrame) -> plt.Figure:
    """Held-out accuracy against T (copy: recall accuracy, solved at ``COPY_SOLVED_ACCURACY``; adding: the
    fraction with |error| < ``ADDING_TOLERANCE``), the levels taken from :mod:`rnnbench.core.tasks`."""

    def lines(ax, task):
        if task == "copy":
            style.reference_line(ax, COPY_SOLVED_ACCURACY, "solved")
            style.reference_line(ax, 1 / N_SYMBOLS, f"chance (1/{N_SYMBOLS})")

    fig = _sweep_grid(runs, "accuracy", "held-out accuracy", lines, linear=True)
    for ax in fig.axes:
        ax.set_ylim(-0.02, 1.05)
    sweep_runs = runs[runs["study"] == "sweep"]
    style.suptitle(
        fig,
        "Held-out accuracy by sequence length",
        f"copy: recall of the {COPY_RECALL} symbols; adding: |error| < {ADDING_TOLERANCE:g}. {run_details(sweep_runs)}; "
        "line: mean over seeds, band: range, dots: seeds",
    )
    return fig


def fig5_learning_curves(curves: pd.DataFrame, runs: pd.DataFrame) -> plt.Figure:
    """Held-out loss / baseline over training, per task (rows) and length (columns), mean over seeds:
    colour per cell, line style per clipping setting; the baseline is a labelled grey line."""
    c = with_labels(curves[(curves["study"] == "sweep") & (curves["kind"] == "eval")])
    r = with_labels(runs[runs["study"] == "sweep"])
    tasks = list(dict.fromkeys(r["task"]))
    lengths = {t: sorted(r[r["task"] == t]["length"].unique()) for t in tasks}
    ncols = max(len(v) for v in lengths.values())
    cells = style.cells_in(r["cell"])
    order = clip_order(r)
    styles = style.clip_styles(order)
    fig, axes = style.figure(ncols, len(tasks), width=2.6, height=2.2, sharey="row")
    for row, task in zip(axes, tasks, strict=True):
        values = c[(c["task"] == task)]["loss_ratio"]
        values = values[np.isfinite(values) & (values > 0)]
        for i, ax in enumerate(row):
            if i >= len(lengths[task]):
                ax.axis("off")
                continue
            T = lengths[task][i]
            d = c[(c["task"] == task) & (c["length"] == T)]
            mean = d.groupby(["cell", "clipping", "step"], as_index=False)["loss_ratio"].mean()
            for cell in cells:
                for clipping in order:
                    s = mean[(mean["cell"] == cell) & (mean["clipping"] == clipping)]
                    ax.plot(s["step"], s["loss_ratio"], color=CELL_COLORS[cell], linestyle=styles[clipping],
                            linewidth=1.3)  # fmt: skip
            div = r[(r["task"] == task) & (r["length"] == T) & (r["status"] == "diverged")]
            mark_diverged(ax, div["diverged_step"], label=None)
            log = not values.empty and style.log_if_wide(ax, values.min(), values.max())
            style.reference_line(ax, 1.0, "baseline")
            ax.set(title=f"{task}, T = {T}", xlabel="training step" if task == tasks[-1] else "",
                   ylabel="held-out loss / baseline" if i == 0 else "")  # fmt: skip
            ax.set_xlim(0, d["step"].max() if len(d) else 1)
            if log:
                label_log_axis(ax)
    handles = [*style.cell_handles(cells), *style.style_handles(styles)]
    if (r["status"] == "diverged").any():
        handles.append(style.diverged_handle())
    style.legend_below(fig, handles, ncol=len(handles))
    style.suptitle(fig, "Learning curves: held-out loss / baseline during training (mean over seeds)", run_details(r))
    return fig


# --- figure 6: throughput ------------------------------------------------------------------------
SHAPE_KEYS = ("device", "length", "batch", "hidden", "input_size", "layers", "dtype")  # one panel row each


def shape_label(shape: dict) -> str:
    """'T = 100, B = 64, H = 128, I = 128, float32' from a throughput row's shape columns."""
    parts = [f"T = {int(shape['length'])}", f"B = {int(shape['batch'])}", f"H = {int(shape['hidden'])}"]
    if "input_size" in shape and int(shape["input_size"]) != int(shape["hidden"]):
        parts.append(f"I = {int(shape['input_size'])}")
    if "layers" in shape and int(shape["layers"]) != 1:
        parts.append(f"{int(shape['layers'])} layers")
    if "dtype" in shape:
        parts.append(str(shape["dtype"]))
    return ", ".join(parts)


def machine_label(df: pd.DataFrame) -> str:
    """The hardware a throughput table was measured on, from its provenance columns."""

    def uniq(col: str) -> str:
        vals = sorted({str(v) for v in df[col].dropna() if str(v) not in ("", "nan")}) if col in df else []
        return ", ".join(vals)

    device = uniq("device") or "?"
    hw = uniq("gpu") if device == "cuda" else uniq("cpu")
    threads = uniq("torch_threads")
    out = f"{device.upper()}: {hw}" if hw else device.upper()
    if device == "cuda" and uniq("math_mode"):  # fp32 or tf32: what cuDNN and the ceiling ran in
        out += f", {uniq('math_mode')}"
    if device != "cuda" and threads:
        out += f", {threads} torch thread{'s' if threads != '1' else ''}"
    if "torch" in df:
        out += f"; torch {uniq('torch')}"
    return out


def fig6_throughput(df: pd.DataFrame) -> plt.Figure:
    """Which kernel is fastest for each cell, and how close to the machine's GEMM ceiling?

    One row of two panels per measured shape. Left: training tokens/s (forward + backward of one
    layer) as horizontal bars, grouped by cell (colour) with the backend and its kernel named on the
    axis; the fastest of each cell is marked, the others carry their speed relative to it. Right: the
    achieved GFLOP/s as a fraction of the GEMM ceiling measured in the same run at the layer's own
    GEMM shapes (the vertical line is 100 %). Backends that could not run a case say why."""
    if df.empty:
        raise ValueError("figure 6: the throughput table has no rows")
    df = df.copy()
    if "fraction_of_ceiling" not in df:
        df["fraction_of_ceiling"] = df["gflops"] / df["ceiling_gflops"]
    keys = [k for k in SHAPE_KEYS if k in df]
    shapes = [dict(zip(keys, k if isinstance(k, tuple) else (k,), strict=True)) for k, _ in df.groupby(keys)]
    rows_per_panel = max(len(g) for _, g in df.groupby(keys))
    fig, axes = style.figure(2, len(shapes), width=4.2, height=0.36 * rows_per_panel + 0.9, sharey="row")
    for row, shape in zip(axes, shapes, strict=True):
        d = df[np.logical_and.reduce([df[k] == v for k, v in shape.items()])]
        _throughput_panels(row[0], row[1], d)
        row[0].set_title(shape_label(shape), loc="left", fontsize=9)
    axes[-1][0].set_xlabel("training tokens/s = B·T / (fwd + bwd)")
    axes[-1][1].set_xlabel("achieved / GEMM ceiling (same run)")
    style.suptitle(
        fig,
        "Which kernel is fastest for each cell, and how close to the machine's GEMM ceiling?",
        f"one recurrent layer, training forward + backward, median of repeats; {machine_label(df)}",
    )
    return fig


def _throughput_panels(left, right, d: pd.DataFrame) -> None:
    cells = style.cells_in(d["cell"])
    labels, y = [], 0.0
    ymax_tok = float(d["tokens_per_s"].max()) if d["tokens_per_s"].notna().any() else 1.0
    ymax_frac = max(1.0, float(d["fraction_of_ceiling"].max()) if d["fraction_of_ceiling"].notna().any() else 1.0)
    for cell in cells:
        g = d[d["cell"] == cell].copy()
        g["_order"] = -g["tokens_per_s"].fillna(-1)
        g = g.sort_values(["_order", "backend"])
        best = g["tokens_per_s"].max()
        for r in g.itertuples():
            color = CELL_COLORS[cell]
            kernel = str(getattr(r, "kernel", "") or "")
            labels.append(
                (
                    y,
                    f"{CELL_NAMES[cell]}: {r.backend}\n{kernel.split(' (')[0]}"
                    if kernel
                    else f"{CELL_NAMES[cell]}: {r.backend}",
                    kernel,
                )
            )
            if r.status != "ok" or not np.isfinite(r.tokens_per_s):
                why = str(getattr(r, "reason", "") or r.status)
                for ax in (left, right):
                    ax.text(0.01, y, f"{r.status}: {why[:60]}", transform=ax.get_yaxis_transform(), va="center",
                            fontsize=6, color=style.REFERENCE_COLOR)  # fmt: skip
                y += 1
                continue
            fastest = r.tokens_per_s == best
            left.barh(y, r.tokens_per_s, color=color, height=0.75, edgecolor="black" if fastest else "none",
                      linewidth=0.8)  # fmt: skip
            note = "fastest" if fastest else f"{r.tokens_per_s / best:.2f}× fastest"
            left.text(r.tokens_per_s + 0.01 * ymax_tok, y, f"{r.tokens_per_s:,.0f}  ({note})", va="center",
                      fontsize=6.5, fontweight="bold" if fastest else "normal")  # fmt: skip
            right.barh(y, r.fraction_of_ceiling, color=color, height=0.75, alpha=0.85)
            right.text(r.fraction_of_ceiling + 0.01 * ymax_frac, y,
                       f"{r.fraction_of_ceiling:.0%} of {r.ceiling_gflops:.0f} GFLOP/s", va="center", fontsize=6.5)  # fmt: skip
            y += 1
        y += 0.6  # a gap between cells
    ticks = [t for t, _, _ in labels]
    left.set_yticks(ticks, [name for _, name, _ in labels], fontsize=7, linespacing=1.1)
    left.set_ylim(y - 0.4, -0.8)  # first row on top
    left.set_xlim(0, ymax_tok * 1.45)  # room for the value labels, inside the axes
    style.si_axis(left)
    right.set_xlim(0, ymax_frac * 1.15)
    right.xaxis.set_major_locator(matplotlib.ticker.MultipleLocator(0.25 if ymax_frac <= 1.0 else 0.5))
    right.axvline(1.0, **style.REFERENCE_STYLE)
    right.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    for ax in (left, right):
        ax.grid(axis="y", visible=False)
        ax.tick_params(axis="y", length=0)


def render(name: str, tables: dict[str, str], png: str, pdf: str, config_hash: str, settings: dict) -> None:
    """Draw figure ``name`` from the CSV ``tables`` (paths by table name) and save it."""
    setup()
    data = {k: pd.read_csv(v, dtype=TIMINGS_DTYPES if k == "timings" else None) for k, v in tables.items()}
    runs = with_hardware(data["runs"], data.get("timings"))  # the GPU and math mode, for the titles
    builders: dict[str, Callable[[], plt.Figure]] = {
        "fig1_gradflow_cells": lambda: fig1_gradflow_cells(
            data["gradflow"], settings.get("gradflow_task", "adding"), int(settings["gradflow_length"]), runs
        ),
        "fig2_exploding_gains": lambda: fig2_exploding_gains(data["gradflow"], runs),
        "fig3_clipping": lambda: fig3_clipping(data["curves"], runs),
        "fig4_length_sweep_loss": lambda: fig4_length_sweep_loss(runs),
        "fig4_length_sweep_accuracy": lambda: fig4_length_sweep_accuracy(runs),
        "fig5_learning_curves": lambda: fig5_learning_curves(data["curves"], runs),
    }
    fig = builders[name]()
    save(fig, png, pdf, f"rnnbench {name}", provenance(config_hash, runs))


def docs_png(src: str | os.PathLike, dst: str | os.PathLike, width: int = 1200) -> None:
    """A small copy of a figure for the README (``docs/``): at most ``width`` pixels wide, 256 colours."""
    from PIL import Image

    img = Image.open(src).convert("RGB")
    if img.width > width:
        img = img.resize((width, round(img.height * width / img.width)), Image.LANCZOS)
    # fast octree keeps rare colours (the red diverged markers) that median cut merges away
    img.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(dst, optimize=True)
