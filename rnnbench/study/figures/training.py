"""The study's figures, from its tables: each ``figN_*`` function takes DataFrames and returns a
matplotlib Figure; :func:`save` writes it as a 300-dpi PNG and a byte-stable PDF (TrueType fonts)
with provenance in the metadata. Here figures 3–5 (clipping, the length sweep, learning curves) and
``render``, which draws any of 1–5 by name; figures 1 and 2 are in ``gradients``, 6 in ``throughput``.
Colours, names, line styles and fonts come from :mod:`rnnbench.study.figures.style`, the one place that
defines how an rnnbench figure looks.

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
from rnnbench.study.figures import annotate, style  # noqa: E402
from rnnbench.study.figures.gradients import fig1_gradflow_cells, fig2_exploding_gains  # noqa: E402
from rnnbench.study.figures.style import (  # noqa: E402,F401
    CELL_COLORS,
    CELL_NAMES,
    CELL_ORDER,
    DIVERGED,
    cell_name,
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
                    annotate.reference_line(ax, thr, f"threshold {thr:g}", va="top")
            ax.set_xlim(0, d["step"].max())
            ax.set_xlabel("training step" if i == len(optimizers) - 1 else "")
    handles = [plt.Line2D([], [], color=tones[k], linestyle=styles[k], linewidth=1.8, label=k) for k in order]
    n_div = int((r["status"] == "diverged").sum())
    handles.append(style.diverged_handle(f"diverged ({n_div} run{'s' if n_div != 1 else ''}, at the step it did)"))
    annotate.legend_below(
        fig, handles, title=f"faint: each seed; bold: median over seeds, running median of {smooth} steps"
    )
    r0 = r.iloc[0]
    annotate.suptitle(
        fig,
        f"Clipping an exploding {cell_name(r0['cell'])}",
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
            log = False if linear or positive.empty else annotate.log_if_wide(ax, positive.min(), positive.max())
            # one line per training budget: a block of lengths trained at a budget of its own (the copy
            # contrast at T = 100) stands apart, never joined to the sweep's line as if it continued it
            for _, part in ok.groupby(list(BUDGET), dropna=False, sort=False):
                sns.lineplot(
                    data=part, x="length", y=y, hue="cell", hue_order=cells, palette=CELL_COLORS.of(cells),
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
            annotate.ticks_at(ax, sorted(d["length"].unique()))
            if log:
                label_log_axis(ax)
    handles = [*style.cell_handles(cells, marker="o"), style.diverged_handle()]
    annotate.legend_below(fig, handles, ncol=len(handles))
    return fig


def fig4_length_sweep_loss(runs: pd.DataFrame) -> plt.Figure:
    """Held-out loss / memoryless baseline against T: line = mean over seeds, band = range, dots = seeds."""

    def lines(ax, task):
        annotate.reference_line(ax, 1.0, "baseline")
        if task == "adding":  # the task's own criterion: solved below this fraction of the baseline
            annotate.reference_line(ax, ADDING_SOLVED_RATIO, "solved below", va="top")

    fig = _sweep_grid(runs, "loss_ratio", "held-out loss / baseline", lines, linear=False)
    sweep_runs = runs[runs["study"] == "sweep"]
    annotate.suptitle(
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
            annotate.reference_line(ax, COPY_SOLVED_ACCURACY, "solved")
            annotate.reference_line(ax, 1 / N_SYMBOLS, f"chance (1/{N_SYMBOLS})")

    fig = _sweep_grid(runs, "accuracy", "held-out accuracy", lines, linear=True)
    for ax in fig.axes:
        ax.set_ylim(-0.02, 1.05)
    sweep_runs = runs[runs["study"] == "sweep"]
    annotate.suptitle(
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
            log = not values.empty and annotate.log_if_wide(ax, values.min(), values.max())
            annotate.reference_line(ax, 1.0, "baseline")
            ax.set(title=f"{task}, T = {T}", xlabel="training step" if task == tasks[-1] else "",
                   ylabel="held-out loss / baseline" if i == 0 else "")  # fmt: skip
            ax.set_xlim(0, d["step"].max() if len(d) else 1)
            if log:
                label_log_axis(ax)
    handles = [*style.cell_handles(cells), *style.style_handles(styles)]
    if (r["status"] == "diverged").any():
        handles.append(style.diverged_handle())
    annotate.legend_below(fig, handles, ncol=len(handles))
    annotate.suptitle(
        fig, "Learning curves: held-out loss / baseline during training (mean over seeds)", run_details(r)
    )
    return fig


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
