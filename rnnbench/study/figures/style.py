"""The visual language of every rnnbench figure, in one place: use it and a new figure looks like
the others.

What a figure should do (issue 13):

- **colour is the cell**: ``CELL_COLORS[cell]`` (Okabe–Ito, safe for the common colour-vision
  deficiencies and in greyscale order), named ``CELL_NAMES[cell]`` everywhere ("vanilla RNN (tanh)",
  never ``rnn``); iterate cells in ``CELL_ORDER``;
- **line style (or marker) is the second factor**: ``clip_styles(order)`` for clipping settings,
  ``backend_style(backend)`` for a throughput backend, ``MACHINE_MARKERS`` for machines; a reference
  level (baseline, solved, a threshold) is a thin grey line labelled on the axes by
  ``reference_line`` (never in the legend, so "dashed" never means two things);
- **red crosses are diverged runs**: ``DIVERGED`` (scatter keywords); no cell uses red;
- **math typeset**: write ``GRAD_H`` (:math:`\\|\\partial L/\\partial h_t\\|`) and other labels in
  mathtext, ``$...$``;
- **legends off the data**: ``legend_below(fig, handles)`` puts one legend for the whole figure under
  the panels; a panel legend goes ``outside_right``;
- **a title that says what was run**: ``suptitle(fig, what, details)``; details are the task, sizes,
  device and threads where they matter;
- **axes**: ``ticks_at(ax, values)`` ticks the measured values only; use a linear axis when the data
  span less than a decade (``log_if_wide``);
- **files**: ``setup()`` once before drawing (seaborn's white grid, then ``RC``: TrueType (Type 42)
  fonts in PDF/PS, which IEEE and ACM require, mathtext in the same sans font, 300-dpi PNGs);
  ``save(fig, png, pdf, title, provenance)`` writes both byte-stably (no dates in the PDF; PNG
  metadata is only what is passed).

A new figure function takes DataFrames and returns a Figure::

    from rnnbench.study.figures import style

    style.setup()
    fig, axes = style.figure(cols=2, rows=1, sharey=True)  # constrained layout: room for title, legend
    ax = axes[0][0]
    for cell in style.cells_in(df["cell"]):
        d = df[df["cell"] == cell]
        ax.plot(d["length"], d["loss_ratio"], color=style.CELL_COLORS[cell], label=style.CELL_NAMES[cell])
    style.reference_line(ax, 1.0, "baseline")
    style.ticks_at(ax, sorted(df["length"].unique()))
    style.suptitle(fig, "What it shows", "adding, H = 32, B = 32; cpu, 1 torch thread")
    style.legend_below(fig, style.cell_handles(style.cells_in(df["cell"])))
    style.save(fig, "x.png", "x.pdf", "rnnbench x", provenance)

``run_details(runs)`` writes the details part from a runs table, ``provenance(config_hash, runs)`` the
metadata.
"""

from __future__ import annotations

import math
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
from rnnbench.study.tables.labels import CELL_NAMES, CELL_ORDER, cell_name, clip_label, gpu_text  # noqa: E402,F401

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
CELL_COLORS = {
    "rnn": OKABE_ITO["blue"], "lstm": OKABE_ITO["orange"], "gru": OKABE_ITO["green"],
    "orthogonal": OKABE_ITO["purple"],  # reddish purple: not the gains' dark ramp, which draws the rnn alone
}  # fmt: skip
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


def cells_in(values: Iterable[str]) -> list[str]:
    """The cells among ``values`` in ``CELL_ORDER``."""
    present = set(values)
    return [c for c in CELL_ORDER if c in present]


def clip_styles(order: Sequence[str]) -> dict[str, object]:
    """Line style per clipping label, in the order ``clip_order`` gives (no clipping first: solid)."""
    return {label: CLIP_STYLES[i % len(CLIP_STYLES)] for i, label in enumerate(order)}


def backend_style(backend: str) -> dict:
    return BACKEND_STYLES.get(backend, {"marker": "x", "linestyle": "-"})


# --- axes helpers ---------------------------------------------------------------------------------
def reference_line(ax, y: float, label: str, where: str = "right", va: str = "bottom") -> None:
    """A horizontal reference level in grey, named on the axes at its end (not in a legend)."""
    ax.axhline(y, **REFERENCE_STYLE)
    x, ha = (0.995, "right") if where == "right" else (0.005, "left")
    _reference_label(ax, x, y, label, ha, va, ax.get_yaxis_transform())


def reference_curve(ax, x: Sequence[float], y: Sequence[float], label: str, va: str = "bottom") -> None:
    """A reference that is not a level (a slope from the literature): drawn like ``reference_line``, in
    data coordinates, and named on the axes at its right end (not in a legend)."""
    ax.plot(x, y, **REFERENCE_STYLE)
    _reference_label(ax, x[-1], y[-1], label, "right", va, ax.transData)


def _reference_label(ax, x: float, y: float, label: str, ha: str, va: str, transform) -> None:
    ax.text(x, y, label, transform=transform, ha=ha, va=va, fontsize=7, color="0.3", zorder=6,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.6})  # fmt: skip


def decade_ticks(ax, axis: str = "y", most: int = 7) -> None:
    """On a log axis, major ticks at round decades only (every 1, 2, 3, 5, 10, 20, 50, 100 ... decades,
    whichever gives at most ``most`` ticks), labelled $10^{n}$, no minor ticks: never 10^-29, 10^-58.
    Call after the limits are set. An axis that holds less than two decades keeps its own ticks, with
    the minor ones labelled plainly (3×10⁻⁴ reads 0.0003)."""
    a = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    first, last = math.ceil(math.log10(lo)), math.floor(math.log10(hi))
    if last - first < 1:
        a.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.tick_params(axis=axis, which="minor", labelsize=7)
        return
    step = next(s for s in (1, 2, 3, 5, 10, 20, 25, 50, 100, 200, 250, 500) if (last - first) / s <= most - 1)
    exps = range(math.ceil(first / step) * step, last + 1, step)
    a.set_major_locator(matplotlib.ticker.FixedLocator([10.0**e for e in exps]))
    a.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"$10^{{{round(math.log10(v))}}}$"))
    a.set_minor_locator(matplotlib.ticker.NullLocator())


def ramp(color: str, n: int) -> list:
    """``n`` shades of ``color`` from a light tint to a dark shade: an ordered second factor (layers)
    within one cell's colour, which also reads in greyscale (lightness is monotone)."""
    import seaborn as sns

    rgb = matplotlib.colors.to_rgb(color)
    light = tuple(0.45 * c + 0.55 for c in rgb)  # mixed with white, still visible on it
    dark = tuple(0.6 * c for c in rgb)  # mixed with black, still the cell's hue
    return list(sns.blend_palette([light, rgb, dark], n)) if n > 1 else [rgb]


def ticks_at(ax, values: Sequence[float], axis: str = "x", pad: float = 1.35) -> None:
    """Major ticks at the measured values only, labelled plainly (no 3×10¹), no minor ticks; on a log
    axis the limits leave ``pad`` × room on either side."""
    values = sorted(set(values))
    a = ax.xaxis if axis == "x" else ax.yaxis
    set_ticks = ax.set_xticks if axis == "x" else ax.set_yticks
    set_ticks(values, [f"{v:g}" for v in values])
    a.set_minor_locator(matplotlib.ticker.NullLocator())
    scale = ax.get_xscale() if axis == "x" else ax.get_yscale()
    lim = ax.set_xlim if axis == "x" else ax.set_ylim
    if scale == "log":
        lim(min(values) / pad, max(values) * pad)
    elif len(values) > 1:
        span = max(values) - min(values)
        lim(min(values) - 0.06 * span, max(values) + 0.06 * span)


def si(v: float, _pos: object = None) -> str:
    """A tick label in thousands or millions: 50k, 1.5M (no 5×10⁴)."""
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    return f"{v / 1e3:g}k" if v >= 1e3 else f"{v:g}"


def si_axis(ax, axis: str = "x") -> None:
    """Label an axis with ``si``; on a log axis spanning under a decade, the minor ticks too."""
    a = ax.xaxis if axis == "x" else ax.yaxis
    a.set_major_formatter(matplotlib.ticker.FuncFormatter(si))
    lo, hi = ax.get_xlim() if axis == "x" else ax.get_ylim()
    log = (ax.get_xscale() if axis == "x" else ax.get_yscale()) == "log"
    if log and lo > 0 and hi / lo < 10:
        a.set_minor_formatter(matplotlib.ticker.FuncFormatter(si))
        ax.tick_params(axis=axis, which="minor", labelsize=7)


def log_if_wide(ax, lo: float, hi: float, axis: str = "y", decades: float = 1.0) -> bool:
    """A log axis only when the positive data span more than ``decades`` decades; linear otherwise,
    where a log axis would show one or two labels. Returns whether the axis is log."""
    wide = lo > 0 and hi / lo > 10**decades
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log" if wide else "linear")
    return wide


def legend_below(fig, handles: Sequence, ncol: int | None = None, title: str | None = None, y: float = 0.0, **kwargs):
    """One legend for the whole figure, centred under the panels, off the data. Call after
    ``tight_layout``-free layout: the figure uses constrained layout, which makes room for it.
    ``kwargs`` go to ``fig.legend`` (``labels`` and ``handler_map`` for tuple handles)."""
    handles = list(handles)
    return fig.legend(
        handles=handles, loc="outside lower center", ncol=ncol or min(len(handles), 4), title=title, frameon=False,
        **kwargs,
    )  # fmt: skip


def outside_right(ax, handles: Sequence | None = None, title: str | None = None):
    """A panel's legend to the right of its axes, off the data."""
    kwargs = {"handles": list(handles)} if handles is not None else {}
    return ax.legend(**kwargs, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, title=title)


def suptitle(fig, what: str, details: str = "") -> None:
    """Title (what the figure shows), then what was run (task, sizes, device, threads) on the next
    line(s), wrapped to the figure's width so that no line is cut off; constrained layout makes room."""
    import textwrap

    chars = int(fig.get_figwidth() * 11.5)  # 10-pt DejaVu Sans characters per inch, with a margin
    text = textwrap.fill(what, chars) + ("\n" + textwrap.fill(details, chars) if details else "")
    fig.suptitle(text, fontsize=RC["figure.titlesize"], linespacing=1.35)


def cell_handles(cells: Iterable[str], marker: str | None = None) -> list[Line2D]:
    return [Line2D([], [], color=CELL_COLORS[c], marker=marker, label=CELL_NAMES[c]) for c in cells]


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
