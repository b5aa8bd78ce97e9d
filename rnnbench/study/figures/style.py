"""The visual language of every rnnbench figure, in one place: use it and a new figure looks like
the others.

What a figure should do (issue 13):

- **colour is the cell**: ``CELL_COLORS[cell]`` (Okabe–Ito, safe for the common colour-vision
  deficiencies and in greyscale order; a user cell's from ``USER_COLORS``, by its name), named
  ``cell_name(cell)`` everywhere ("vanilla RNN (tanh)", never ``rnn``); iterate cells with ``cells_in``;
- **line style (or marker) is the second factor**: ``clip_styles(order)`` for clipping settings,
  ``backend_style(backend)`` for a throughput backend, ``MACHINE_MARKERS`` for machines; a reference
  level (baseline, solved, a threshold) is a thin grey line labelled on the axes by
  ``annotate.reference_line`` (never in the legend, so "dashed" never means two things);
- **red crosses are diverged runs**: ``DIVERGED`` (scatter keywords); no cell uses red;
- **math typeset**: write ``GRAD_H`` (:math:`\\|\\partial L/\\partial h_t\\|`) and other labels in
  mathtext, ``$...$``;
- **legends off the data**: ``annotate.legend_below(fig, handles)`` puts one legend for the whole figure
  under the panels; a panel legend goes ``annotate.outside_right``;
- **a title that says what was run**: ``annotate.suptitle(fig, what, details)``; details are the task, sizes,
  device and threads where they matter;
- **axes**: ``annotate.ticks_at(ax, values)`` ticks the measured values only; use a linear axis when
  the data span less than a decade (``annotate.log_if_wide``);
- **files**: ``setup()`` once before drawing (seaborn's white grid, then ``RC``: TrueType (Type 42)
  fonts in PDF/PS, which IEEE and ACM require, mathtext in the same sans font, 300-dpi PNGs);
  ``save(fig, png, pdf, title, provenance)`` writes both byte-stably (no dates in the PDF; PNG
  metadata is only what is passed).

The axis, legend and title helpers live beside this module, in :mod:`rnnbench.study.figures.annotate`.
A new figure function takes DataFrames and returns a Figure::

    from rnnbench.study.figures import annotate, style

    style.setup()
    fig, axes = style.figure(cols=2, rows=1, sharey=True)  # constrained layout: room for title, legend
    ax = axes[0][0]
    for cell in style.cells_in(df["cell"]):
        d = df[df["cell"] == cell]
        ax.plot(d["length"], d["loss_ratio"], color=style.CELL_COLORS[cell], label=style.cell_name(cell))
    annotate.reference_line(ax, 1.0, "baseline")
    annotate.ticks_at(ax, sorted(df["length"].unique()))
    annotate.suptitle(fig, "What it shows", "adding, H = 32, B = 32; cpu, 1 torch thread")
    annotate.legend_below(fig, style.cell_handles(style.cells_in(df["cell"])))
    style.save(fig, "x.png", "x.pdf", "rnnbench x", provenance)

``run_details(runs)`` writes the details part from a runs table, ``provenance(config_hash, runs)`` the
metadata.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

# names shared with REPORT.md, which must not import matplotlib; re-exported here for the figures
from rnnbench.study.tables.labels import (  # noqa: E402,F401
    CELL_NAMES,
    CELL_ORDER,
    cell_name,
    cells_in,
    clip_label,
    gpu_text,
)

# --- colours and names ---------------------------------------------------------------------------
# Okabe & Ito (2008): distinguishable under deuteranopia, protanopia and tritanopia.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "vermillion": "#D55E00",
    "black": "#000000",
}
# Colours for user cells, beyond the built-in cells' (Paul Tol's muted scheme, less its rose, which is
# near the diverged runs' crimson): a user cell gets one by a hash of its name, the same in every study.
USER_COLORS = ("#332288", "#44AA99", "#117733", "#999933", "#882255", "#AA4499", "#88CCEE", "#DDCC77")


class CellColors(dict):
    """The built-in cells' colours; any other cell (a user's) gets one of ``USER_COLORS`` chosen stably
    by its name (two user cells may share one: eight colours, any number of names)."""

    def __missing__(self, cell: str) -> str:
        return USER_COLORS[int(hashlib.sha256(cell.encode()).hexdigest(), 16) % len(USER_COLORS)]

    def get(self, cell: str, default: str | None = None) -> str:  # type: ignore[override]
        return self[cell]

    def of(self, cells: Iterable[str]) -> dict[str, str]:
        """A plain dict of ``cells``' colours (seaborn's ``palette`` wants every level as a key)."""
        return {c: self[c] for c in cells}


CELL_COLORS = CellColors({
    "rnn": OKABE_ITO["blue"], "lstm": OKABE_ITO["orange"], "gru": OKABE_ITO["green"],
    "orthogonal": OKABE_ITO["purple"],  # reddish purple: not the gains' dark ramp, which draws the rnn alone
})  # fmt: skip
REFERENCE_COLOR = "0.45"  # grey: baselines, thresholds, bounds
DIVERGED_COLOR = "crimson"  # diverged runs only; no cell is red
DIVERGED = {"marker": "X", "color": DIVERGED_COLOR, "s": 70, "zorder": 5, "linewidths": 0.5, "edgecolors": "black"}
# A ramp for an ordered quantity that is not a cell (the gains of figure 2): light to dark, so it
# also reads in greyscale; purples, so it is never mistaken for a cell's colour.
SEQUENTIAL = "blend:#C08AD2,#2E0A47"

# --- line styles for the second factor ------------------------------------------------------------
CLIP_STYLES = ["-", (0, (1.2, 1.6)), (0, (5, 1.5, 1, 1.5)), (0, (3, 3))]  # none, then thresholds ascending
BACKEND_STYLES = {  # a throughput backend: marker and line style
    "fused": {"marker": "o", "linestyle": "-"},
    "explicit-premul": {"marker": "s", "linestyle": (0, (5, 2))},
    "explicit-bptt": {"marker": "^", "linestyle": (0, (1.2, 1.6))},
    "explicit": {"marker": "v", "linestyle": (0, (5, 1.5, 1, 1.5))},
    "compiled": {"marker": "D", "linestyle": (0, (3, 1, 1, 1, 1, 1))},
}
MACHINE_MARKERS = ["o", "s", "^", "D", "v", "P", "*", "h"]  # one per machine in `rnnbench compare`
REFERENCE_STYLE = {"color": REFERENCE_COLOR, "linewidth": 0.9, "linestyle": (0, (4, 2)), "zorder": 1}

# --- typeset labels -------------------------------------------------------------------------------
GRAD_H = r"$\Vert\partial L/\partial h_t\Vert$"
GRAD_C = r"$\Vert\partial L/\partial c_t\Vert$"
GRAD_NORM = r"$\Vert g\Vert$"
DISTANCE = "distance to the loss, $T$ − 1 − $t$"

# --- rcParams -------------------------------------------------------------------------------------
RC = {
    "pdf.fonttype": 42,  # TrueType, not Type 3: IEEE and ACM reject Type 3 fonts
    "ps.fonttype": 42,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # ships with matplotlib: the same glyphs on every machine
    "mathtext.fontset": "dejavusans",  # math in the text font
    "mathtext.default": "it",
    "savefig.dpi": 300,
    "figure.dpi": 100,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "legend.frameon": False,
    "figure.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.6,
    "svg.hashsalt": "rnnbench",  # stable SVG ids, should anyone save SVG
    "svg.fonttype": "path",
}


def setup() -> None:
    """Seaborn's white grid, then ``RC`` on top; call once before drawing."""
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid")
    plt.rcParams.update(RC)


def size(cols: int, rows: int, width: float = 3.4, height: float = 2.7) -> tuple[float, float]:
    """Figure size in inches for a grid of ``cols`` × ``rows`` panels (defaults: about one column)."""
    return (width * cols + 0.6, height * rows + 0.9)


def clip_styles(order: Sequence[str]) -> dict[str, object]:
    """Line style per clipping label, in the order ``clip_order`` gives (no clipping first: solid)."""
    return {label: CLIP_STYLES[i % len(CLIP_STYLES)] for i, label in enumerate(order)}


def backend_style(backend: str) -> dict:
    return BACKEND_STYLES.get(backend, {"marker": "x", "linestyle": "-"})


def ramp(color: str, n: int) -> list:
    """``n`` shades of ``color`` from a light tint to a dark shade: an ordered second factor (layers)
    within one cell's colour, which also reads in greyscale (lightness is monotone)."""
    import seaborn as sns

    rgb = matplotlib.colors.to_rgb(color)
    light = tuple(0.45 * c + 0.55 for c in rgb)  # mixed with white, still visible on it
    dark = tuple(0.6 * c for c in rgb)  # mixed with black, still the cell's hue
    return list(sns.blend_palette([light, rgb, dark], n)) if n > 1 else [rgb]


def cell_handles(cells: Iterable[str], marker: str | None = None) -> list[Line2D]:
    return [Line2D([], [], color=CELL_COLORS[c], marker=marker, label=cell_name(c)) for c in cells]


def style_handles(styles: dict[str, object], color: str = "0.25") -> list[Line2D]:
    return [Line2D([], [], color=color, linestyle=ls, label=label) for label, ls in styles.items()]


def diverged_handle(label: str = "diverged run (no finite value)") -> Line2D:
    return Line2D(
        [], [], linestyle="", marker="X", color=DIVERGED_COLOR, markeredgecolor="black", markersize=8, label=label
    )


def figure(cols: int, rows: int, **kwargs) -> tuple[plt.Figure, object]:
    """``plt.subplots`` with constrained layout (room for a suptitle and a legend below) at ``size``."""
    width = kwargs.pop("width", 3.4)
    height = kwargs.pop("height", 2.7)
    kwargs.setdefault("squeeze", False)
    return plt.subplots(rows, cols, figsize=size(cols, rows, width, height), layout="constrained", **kwargs)


# --- what was run: a figure's subtitle and its files' metadata ---------------------------------------
def _sizes(runs: pd.DataFrame) -> str:
    # one value per setting where the runs share it, the range where they do not
    def one(col: str, fmt: str) -> str:
        lo, hi = runs[col].min(), runs[col].max()
        return fmt.format(lo) if lo == hi else f"{fmt.format(lo)}–{fmt.format(hi)}"

    parts = [f"H = {one('hidden', '{:d}')}", f"B = {one('batch', '{:d}')}"]
    if runs["optimizer"].nunique() == 1:
        parts.append(f"{runs['optimizer'].iloc[0]} lr {one('lr', '{:g}')}")
    parts.append(f"{one('steps', '{:d}')} steps")
    return ", ".join(parts)


def run_details(runs: pd.DataFrame, seeds: bool = True) -> str:
    """What was run, for a figure's subtitle: sizes, optimizer, steps, seeds, device and threads; on a
    GPU the GPU, CUDA, cuDNN and math mode too, where ``runs`` carries them (``labels.with_hardware``).

    Where tasks were trained at different settings (the copy task has a budget of its own), each
    task's settings are named, so a subtitle never states one task's sizes for another's runs."""
    runs = runs.astype({"hidden": int, "batch": int, "steps": int})
    settings = ["hidden", "batch", "optimizer", "lr", "steps"]
    if len(runs.drop_duplicates(settings)) > 1 and runs["task"].nunique() > 1:
        sizes = "; ".join(f"{task}: {_sizes(r)}" for task, r in runs.groupby("task", sort=True))
    else:
        sizes = _sizes(runs)
    parts = [sizes]
    if seeds:
        parts.append(f"{runs['seed'].nunique()} seed{'s' if runs['seed'].nunique() > 1 else ''}")
    devices = ", ".join(sorted({str(d) for d in runs.get("device_used", pd.Series(dtype=str)).dropna()})) or "?"
    if gpu := gpu_text(runs):  # a GPU study names the GPU, CUDA, cuDNN and math mode (runs with_hardware)
        devices += f" ({gpu})"
    threads = ", ".join(sorted({f"{int(t)}" for t in runs.get("torch_threads", pd.Series(dtype=float)).dropna()}))
    if threads:
        devices += f", {threads} torch thread{'s' if threads != '1' else ''}"
    return "; ".join([*parts, devices])


def provenance(config_hash: str, runs: pd.DataFrame) -> str:
    commits = ", ".join(sorted({str(c) for c in runs.get("git_commit", pd.Series(dtype=str)).dropna()})) or "unknown"
    return f"rnnbench study; config hash {config_hash}; git commit {commits}"


# --- saving ---------------------------------------------------------------------------------------
def save(fig: plt.Figure, png: str | os.PathLike, pdf: str | os.PathLike, title: str, prov: str) -> None:
    """PNG (300 dpi) and PDF (Type 42 fonts) with provenance in their metadata. Neither carries a
    date, so the same figure gives the same bytes: the PDF's CreationDate is dropped, and the PNG's
    text chunks are exactly those given here."""
    with plt.rc_context({"pdf.fonttype": 42, "ps.fonttype": 42}):
        fig.savefig(png, dpi=RC["savefig.dpi"], metadata={"Title": title, "Description": prov, "Source": prov})
        fig.savefig(
            pdf, metadata={"Title": title, "Subject": prov, "Keywords": prov, "CreationDate": None, "ModDate": None}
        )
    plt.close(fig)
