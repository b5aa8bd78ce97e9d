"""Figure 6 of the throughput benchmark (``rnnbench.bench.throughput``): drawn and written here. It
lives in the study layer because it draws (matplotlib, seaborn); the benchmark itself imports only the
core and bench layers. Below it, the figure of ``rnnbench compare`` (tables of several machines, matched
by ``rnnbench.bench.compare``) and the files that command writes.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from rnnbench.bench.compare import CASE, SHAPE, Comparison, shape_text  # noqa: E402
from rnnbench.study.figures import annotate, style  # noqa: E402
from rnnbench.study.figures.style import CELL_COLORS, cell_name  # noqa: E402

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
    annotate.suptitle(
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
                    f"{cell_name(cell)}: {r.backend}\n{kernel.split(' (')[0]}"
                    if kernel
                    else f"{cell_name(cell)}: {r.backend}",
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
    annotate.si_axis(left)
    right.set_xlim(0, ymax_frac * 1.15)
    right.xaxis.set_major_locator(matplotlib.ticker.MultipleLocator(0.25 if ymax_frac <= 1.0 else 0.5))
    right.axvline(1.0, **style.REFERENCE_STYLE)
    right.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    for ax in (left, right):
        ax.grid(axis="y", visible=False)
        ax.tick_params(axis="y", length=0)


def figure(df: pd.DataFrame):
    """Figure 6 (``fig6_throughput``): per measured shape, training tokens/s per
    cell and backend with the fastest marked, and each one's fraction of the measured GEMM ceiling."""
    return fig6_throughput(df)


def write_figure(table: str | os.PathLike, out: str | os.PathLike) -> None:
    """``figure`` of a throughput CSV, saved to ``out`` (PNG/PDF/SVG by suffix)."""
    style.setup()
    fig = figure(pd.read_csv(table))
    fig.savefig(
        out, dpi=style.RC["savefig.dpi"], metadata={"CreationDate": None} if str(out).endswith(".pdf") else None
    )


def provenance(df: pd.DataFrame, config_hash: str) -> str:
    """The figure's provenance line: the study's config hash and the git commit(s) the table was measured at."""
    commits = ", ".join(sorted({str(c) for c in df["git_commit"].dropna()})) if "git_commit" in df else "unknown"
    return f"rnnbench throughput; config hash {config_hash}; git commit {commits}"


def save_figure(table: str | os.PathLike, png: str | os.PathLike, pdf: str | os.PathLike, config_hash: str) -> None:
    """The pipeline's figure 6: PNG and PDF of a throughput CSV, with provenance in their metadata."""
    style.setup()
    df = pd.read_csv(table)
    style.save(fig6_throughput(df), png, pdf, "rnnbench fig6_throughput", provenance(df, config_hash))


# --- `rnnbench compare`: throughput tables of several machines (matched in rnnbench.bench.compare) ---
def comparison_figure(cmp: Comparison):
    """One row of two panels per shape in common. Left: tokens/s per cell and backend, one marker
    per machine (log axis: machines differ by orders of magnitude). Right: each machine's fraction of
    its own GEMM ceiling (linear, 100 % marked). Colour is the cell, as in every rnnbench figure."""
    from matplotlib.ticker import PercentFormatter

    style.setup()
    t = cmp.table
    shapes = list(dict.fromkeys(map(tuple, t[list(SHAPE)].astype(str).itertuples(index=False))))
    cases_per_shape = max(len(g) for _, g in t.groupby(list(SHAPE))) // len(cmp.machines)
    fig, axes = style.figure(2, len(shapes), width=3.8, height=0.32 * cases_per_shape + 0.9, sharey="row")
    markers = {m: style.MACHINE_MARKERS[i % len(style.MACHINE_MARKERS)] for i, m in enumerate(cmp.machines)}
    for row, shape in zip(axes, shapes, strict=True):
        d = t[np.logical_and.reduce([t[c].astype(str) == v for c, v in zip(SHAPE, shape, strict=True)])]
        ticks, labels, y = [], [], 0.0
        for cell in style.cells_in(d["cell"]):
            for backend in sorted(set(d[d["cell"] == cell]["backend"])):
                g = d[(d["cell"] == cell) & (d["backend"] == backend)]
                for r in g.itertuples():
                    # machines side by side within a row, so that equal values never hide each other
                    dy = (
                        0.32
                        * (cmp.machines.index(r.machine) - (len(cmp.machines) - 1) / 2)
                        / max(len(cmp.machines) - 1, 1)
                    )
                    kw = {"color": style.CELL_COLORS[cell], "marker": markers[r.machine], "s": 34, "zorder": 3,
                          "edgecolors": "black", "linewidths": 0.4}  # fmt: skip
                    row[0].scatter(r.tokens_per_s, y + dy, **kw)
                    if not r.like_for_like:  # hollow: against a ceiling of another math mode, not a bound
                        kw.update(facecolors="none", edgecolors=style.CELL_COLORS[cell], linewidths=1.2)
                    row[1].scatter(r.fraction_of_ceiling, y + dy, **kw)
                ticks.append(y)
                labels.append(f"{style.cell_name(cell)}: {backend}")
                y += 1
            y += 0.5
        row[0].set_yticks(ticks, labels)
        row[0].set_ylim(y - 0.3, -0.7)
        row[0].set_xscale("log")
        row[0].set_xlim(t["tokens_per_s"].min() / 1.3, t["tokens_per_s"].max() * 1.3)  # one scale for all rows
        annotate.si_axis(row[0])
        row[0].set_title(shape_text(shape), loc="left", fontsize=9)
        row[1].axvline(1.0, **style.REFERENCE_STYLE)
        row[1].set_xlim(0, max(1.05, float(d["fraction_of_ceiling"].max()) * 1.1))
        row[1].xaxis.set_major_formatter(PercentFormatter(1.0))
    axes[-1][0].set_xlabel("training tokens/s (log scale), higher is faster")
    axes[-1][1].set_xlabel("achieved GFLOP/s / that machine's GEMM ceiling")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], linestyle="", marker=markers[m], color="0.5", markeredgecolor="black", label=m)
               for m in cmp.machines]  # fmt: skip
    if not t["like_for_like"].astype(bool).all():
        handles.append(Line2D([], [], linestyle="", marker="o", color="0.5", markerfacecolor="none",
                              label="hollow: run in TF32 against a strict-fp32 GEMM ceiling (an older table): not a bound"))  # fmt: skip
    annotate.legend_below(fig, handles, ncol=1, title="machine (from each table's recorded provenance)")
    details = "one recurrent layer, training forward + backward; shapes measured on every machine"
    if left := [n for n in cmp.notes if n.startswith("left out")]:
        details += f"; {len(left)} case(s) left out (not on every machine)"
    annotate.suptitle(fig, "Throughput across machines: tokens/s and fraction of each machine's GEMM ceiling", details)
    return fig


def write_comparison(cmp: Comparison, out: str | os.PathLike) -> list[Path]:
    """``compare.csv``, ``compare.png`` / ``.pdf`` and ``left_out.csv`` under ``out``."""
    from rnnbench.core.storage import atomic_write

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "compare.csv", out / "left_out.csv", out / "compare.png", out / "compare.pdf"]
    atomic_write(files[0], lambda f: cmp.table.to_csv(f, index=False))
    left = cmp.left_out if len(cmp.left_out) else pd.DataFrame(columns=[*CASE, "only_on"])
    atomic_write(files[1], lambda f: left.to_csv(f, index=False))
    prov = "rnnbench compare; " + "; ".join(f"{m} <- {s}" for m, s in zip(cmp.machines, cmp.sources, strict=True))
    style.save(comparison_figure(cmp), files[2], files[3], "rnnbench throughput across machines", prov)
    return files
