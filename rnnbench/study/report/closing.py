"""REPORT.md's closing part: throughput on this hardware and the harness overhead (when measured), the
figures (linked relative to the report), the result files skipped, and the provenance of the runs."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from rnnbench.study.pipeline.harness import harness_section
from rnnbench.study.tables.labels import cudnn_text, distinct, with_hardware
from rnnbench.study.tables.mdtable import md_table


def provenance_section(runs: pd.DataFrame, config_hash: str, timings: pd.DataFrame | None = None) -> str:
    """Where the runs came from; the CPU, a GPU's name and versions, the math mode and the times come
    from the timings table (kept out of runs.csv because they differ from one run of the study to the next)."""

    def uniq(df, col):
        return ", ".join(sorted({str(v) for v in df[col].dropna()})) if df is not None and col in df else "unknown"

    seconds = f"{timings['train_seconds'].sum():.0f} s" if timings is not None else "unknown"
    rows = [
        ["config hash", config_hash],
        ["rnnbench version (of the runs)", uniq(runs, "rnnbench_version")],
        ["git commit (of the runs)", uniq(runs, "git_commit")],
        ["torch", uniq(runs, "torch")],
        ["device", uniq(runs, "device_used")],
        ["CPU", uniq(timings, "cpu")],
        *gpu_rows(runs, timings),
        ["torch threads per run", uniq(runs, "torch_threads")],
        ["runs", f"{len(runs)} ({int((runs['status'] == 'diverged').sum())} diverged)"],
        ["training time, summed over runs", seconds],
    ]
    return md_table(["", ""], rows)


def gpu_rows(runs: pd.DataFrame, timings: pd.DataFrame | None) -> list[list[str]]:
    """The provenance rows of the GPU (its name, CUDA, cuDNN) where runs trained on one, and every
    study's math mode: what float32 products ran in (rnnbench.core.precision)."""
    on_gpu = with_hardware(runs, timings)
    on_gpu = on_gpu[on_gpu["device_used"].astype(str).str.startswith("cuda")] if "device_used" in runs else runs[:0]
    rows = []
    if len(on_gpu):
        cudnn = ", ".join(cudnn_text(v) for v in distinct(on_gpu, "cudnn"))
        rows += [["GPU", ", ".join(distinct(on_gpu, "gpu")) or "not recorded"],
                 ["CUDA", ", ".join(distinct(on_gpu, "cuda")) or "not recorded"], ["cuDNN", cudnn or "not recorded"]]  # fmt: skip
    modes = ", ".join(distinct(timings, "math_mode"))
    if not modes:
        modes = "not recorded" + (
            " (runs made before it was: torch's defaults, cuDNN TF32 and matmuls fp32)" if len(on_gpu) else ""
        )
    elif not len(on_gpu) and modes == "fp32":
        modes += " (on a CPU always: TF32 exists on CUDA GPUs only)"
    elif len(on_gpu):
        modes += " (tf32: TF32 allowed by `allow_tf32`; fp32: true fp32, cuDNN's TF32 default off)"
    return [*rows, ["math mode (float32 products)", modes]]


def skipped_section(skipped: pd.DataFrame | None) -> str:
    """Every result file left out of the tables (``skip_bad``), with why; a reader must see them."""
    if skipped is None:
        return "_Not recorded (no skipped table given)._"
    if skipped.empty:
        return "None: every result file was read and belongs to this config."
    rows = [[f"`{r.path}`", r.reason] for r in skipped.itertuples()]
    return (
        f"{len(skipped)} result file(s) were left out of every table and figure (`skip_bad: true`); "
        "delete them and run the pipeline again to retrain those runs.\n\n" + md_table(["file", "reason"], rows)
    )


def throughput_section(table: str | None) -> str:
    """The fastest backend per cell and shape on this hardware, with every backend's time ratio to it."""
    if table is None:
        return ""
    from rnnbench.bench.throughput import fastest

    df = pd.read_csv(table)
    ranked = fastest(df)
    rows = []
    for _, g in ranked.groupby(["device", "cell", "length", "batch", "hidden"], sort=True):
        best = g.iloc[0]
        others = ", ".join(f"{r.backend} {r.ratio_to_fastest:.2f}x" for r in g.iloc[1:].itertuples())
        rows.append([best["device"], best["cell"], int(best["length"]), int(best["batch"]), int(best["hidden"]),
                     f"{best['backend']} ({best['kernel']})", f"{best['fwd_bwd_s'] * 1e3:.2f}", others or "-"])  # fmt: skip
    busy = int(df["busy"].sum()) if "busy" in df else 0
    skipped = df[df["status"] != "ok"]
    notes = "".join(f"- {r.cell} {r.backend} T={r.length}: {r.status} ({r.reason})\n" for r in skipped.itertuples())
    return f"""## Training throughput on this hardware

Fastest backend per cell and shape (forward + backward of one layer, median), and the others' time
relative to it (`results/tables/throughput.csv`, figure 6). {busy} of {len(df)} cases ran while other
processes used the CPU (column `busy`): compare ratios within one run, not absolute times across runs.

{md_table(["device", "cell", "T", "B", "H", "fastest (kernel)", "fwd+bwd ms", "others"], rows)}

{notes}
"""


def figure_links(figures: list[str], out: str | os.PathLike) -> str:
    """One image per figure, linked relative to the report itself (``figures/x.png`` beside
    ``results/REPORT.md``), as POSIX paths, so the links work wherever the results folder is copied
    (and REPORT.html embeds them); never relative to the directory the pipeline ran in."""
    here = os.path.dirname(os.path.abspath(out))
    blocks = []
    for f in figures:
        link = Path(os.path.relpath(os.path.abspath(f), here)).as_posix()
        name = os.path.splitext(os.path.basename(f))[0]
        blocks.append(f"### {name}\n\n![{name}]({link})")
    return "\n\n".join(blocks)


def closing_part(data: dict[str, pd.DataFrame | None], tables: dict[str, str], figs: str, config_hash: str) -> str:
    """Throughput and harness (when measured), the figures, skipped files and provenance."""
    return f"""{throughput_section(tables.get("throughput"))}

{harness_section(tables.get("jobs"))}
## Figures

Linked relative to this file (`figures/` beside it, PNG and PDF); `REPORT.html` beside it is this report
with every figure embedded, and the Snakemake report (`snakemake --report`) shows it inline.

{figs}

## Skipped result files

{skipped_section(data["skipped"])}

## Provenance

{provenance_section(data["runs"], config_hash, data["timings"])}
"""
