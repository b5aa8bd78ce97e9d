"""What a figure says beside its data, in the visual language of :mod:`rnnbench.study.figures.style`:
reference levels named on the axes (never in a legend), ticks at the measured values or round decades,
log axes only where the data span a decade, legends off the data, and a title that says what was run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.ticker  # noqa: E402

from rnnbench.study.figures.style import RC, REFERENCE_STYLE  # noqa: E402


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
