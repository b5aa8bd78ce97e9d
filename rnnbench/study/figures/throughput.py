"""Figure 6 of the throughput benchmark (``rnnbench.bench.throughput``): drawn by
``figures.fig6_throughput``, written here. It lives in the study layer because it draws (matplotlib,
seaborn); the benchmark itself imports only the core and bench layers.
"""

from __future__ import annotations

import os

import pandas as pd

from rnnbench.study.figures import style
from rnnbench.study.figures.training import fig6_throughput


def figure(df: pd.DataFrame):
    """Figure 6 (``rnnbench.study.figures.training.fig6_throughput``): per measured shape, training tokens/s per
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
