"""The paper studies' report: each paper's claim beside ours, at the settings of each.

    python -m rnnbench.study.papers RESULTS_DIR --out docs/paper-cpu --wall-seconds S [S ...] [--study paper-gpu]

(``--wall-seconds``: one value per part of a study that was stopped and resumed from its checkpoints; the
report gives their sum and each part.)

Reads the pipeline's tables (``RESULTS_DIR/tables/runs.csv``, ``curves.csv``, ``gradflow.csv``,
``timings.csv``, ``jobs.csv``) of a finished ``config/paper-cpu.yaml`` or ``config/paper-gpu.yaml``
study (``--study``, ``STUDIES``) and writes ``REPORT.md`` and two small PNG figures. Every claim, setting,
curve reading and rule comes from the one registry, ``rnnbench.study.claims.registry``; the trained claims are
judged at the budgets the papers' curves were read at (``rnnbench.study.claims.paper_claims``), with intervals
over seeds (``rnnbench.study.claims.verdicts``). A claim is reported where the study has its runs (task,
length, model), so each study shows the claims at its lengths; ours always come from the tables.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from rnnbench.study.claims import registry
from rnnbench.study.claims.paper_claims import claim_rows, with_models
from rnnbench.study.figures.literature import figure_curves, figure_gradients
from rnnbench.study.papers.findings import paper_findings
from rnnbench.study.papers.sections import (
    claims_part,
    differences_part,
    gradients_part,
    hs_finding,
    irnn_finding,
    irnn_part,
    pascanu_findings,
)
from rnnbench.study.papers.studies import STUDIES, Study, model_differences, model_names, same_models, sweep_budget


def _backends(runs: pd.DataFrame, names: dict[str, str]) -> str:
    used = with_models(runs).groupby(["task", "model"])["backend_used"].agg(lambda s: ", ".join(sorted(set(s))))
    return "; ".join(f"{task} {names.get(model, model)}: {b}" for (task, model), b in used.items())


def report(
    tables: Path,
    out: Path,
    wall_seconds: float | list[float] | None,
    started: str,
    note: str,
    steps_why: str = "",
    study: str = "paper-cpu",
    differences: Path | None = None,
) -> str:
    """REPORT.md's text from the ``study``'s (``STUDIES``) ``tables`` folder; its two figures are written
    to ``out``. ``differences``: the table of benchmarks/arjovsky_differences.py (each of the four
    differences between their LSTM's training and ours alone), summarised in a section of its own."""
    runs = pd.read_csv(tables / "runs.csv")
    curves = pd.read_csv(tables / "curves.csv")
    gradflow = pd.read_csv(tables / "gradflow.csv")
    timings = pd.read_csv(tables / "timings.csv")
    jobs = pd.read_csv(tables / "jobs.csv")
    out.mkdir(parents=True, exist_ok=True)
    config = STUDIES[study].config
    names, same = model_names(runs, config), same_models(config)
    figure_curves(curves, out / "learning_curves.png", names, same)
    figure_gradients(gradflow, out / "gradients.png", names)
    title, intro = cost_part(runs, timings, jobs, wall_seconds, started, note, steps_why, STUDIES[study], out).split(
        "\n\n", 1
    )
    anchors = {"adding": "#claim-1", "copy": "#claim-2"}  # claims_part's numbering
    return (
        f"{title}\n\n"
        + paper_findings(
            claim_rows(runs, curves, names, same),
            anchors,
            hs_finding(runs, curves, names) + irnn_finding(runs) + pascanu_findings(runs, gradflow),
        )
        + intro
        + claims_part(runs, curves, names, model_differences(config), same)
        + irnn_part(runs)
        + differences_part(runs, curves, names, differences, same)
        + gradients_part(runs, gradflow, names, STUDIES[study])
    )


def _harness_text(job_wall: float, work: float, train_s: float) -> str:
    """How the jobs' time split; a study resumed from checkpoints has jobs whose process times cover only
    the part after the stop, while each run's work counts its whole training, so no overhead is stated."""
    split = (
        f"{work:.0f} s were the runs' training loops with their probes and evaluations, and {train_s:.0f} s "
        f"training steps alone: data, probes and held-out evaluations took {(work - train_s) / work:.1%} of the "
        "runs' work"
    )
    if work > job_wall:
        return (
            f"Of the runs' work, {split}. The jobs' process times ({job_wall:.0f} s summed) cover only what ran "
            "after the study was stopped and resumed from its checkpoints, so the harness overhead is not measured "
            "here."
        )
    return (
        f"Of the jobs' {job_wall:.0f} s (process start to finish, summed over jobs), {split}, and process "
        f"start-up and writing results {(job_wall - work) / job_wall:.1%} of the jobs' time."
    )


def wall_text(wall_seconds: float | list[float] | None) -> str:
    """'114.2 min (6849 s)'; a study run in parts (stopped, then resumed from its checkpoints): the sum, and each
    part's seconds, '205.0 min (12300 s, in 3 parts: 1200 + 8100 + 3000 s)'."""
    parts = [wall_seconds] if isinstance(wall_seconds, (int, float)) else list(wall_seconds or [])
    if not parts:
        return "not measured"
    total = sum(parts)
    each = f", in {len(parts)} parts: {' + '.join(f'{p:.0f}' for p in parts)} s" if len(parts) > 1 else ""
    return f"{total / 60:.1f} min ({total:.0f} s{each})"


def _other_batches(runs: pd.DataFrame, names: dict[str, str], study: Study) -> str:
    """' The batch-50 runs (their LSTM, batch 50; ...): **10,000 steps per run** (500,000 sequences).' for the
    variants that repeat a model at another batch size; '' when there are none."""
    twins = with_models(runs, same_models(study.config))
    twins = twins[twins["model"] != twins["base"]]
    parts = []
    for (steps, batch), g in twins.groupby(["steps", "batch"]):
        who = "; ".join(names.get(m, m) for m in sorted(g["model"].unique()))
        parts.append(
            f" The batch-{int(batch)} runs ({who}): **{int(steps):,} steps per run** "
            f"({int(steps) * int(batch):,} sequences)."
        )
    return "".join(parts)


def cost_part(
    runs: pd.DataFrame,
    timings: pd.DataFrame,
    jobs: pd.DataFrame,
    wall_seconds: float | list[float] | None,
    started: str,
    note: str,
    steps_why: str,
    study: Study = STUDIES["paper-cpu"],
    out: Path = Path("docs/paper-cpu"),
) -> str:
    """The title, what was run and where, and how long it took."""
    _, steps, batch = sweep_budget(runs)
    names = model_names(runs, study.config)
    commit = sorted(set(runs["git_commit"].dropna()))
    wall = wall_text(wall_seconds)
    work, train_s = jobs["work_seconds"].sum(), jobs["train_seconds"].sum()
    job_wall = jobs["job_wall_seconds"].sum()
    cpu = ", ".join(sorted(set(timings["cpu"].astype(str))))
    gpu_column = "device_name" if "device_name" in runs else "device_used"  # device_name: runs of newer versions
    gpu = ", ".join(sorted(set(runs[gpu_column].astype(str))))
    machine = study.machine.format(cpu=cpu, gpu=gpu, note="; " + note if note else "")
    return f"""# {study.title} (`{study.config}`)

What {registry.ARJOVSKY} and {registry.HOCHREITER_ADDING.source} report at {study.lengths},
beside what this project measures at the same settings, claim by claim. Made by
`python -m rnnbench.study.papers results --out {out} --study {study.config[7:-5]} --wall-seconds S [S ...] --started ... --note ... --steps-why ...` from one complete run
of `snakemake --cores all --configfile {study.config}` ({len(runs)} runs; commit
{", ".join(f"`{c[:10]}`" for c in commit)}; torch {", ".join(sorted(set(runs["torch"].astype(str))))}).
{study.where}

## How long it took

**{wall}** of wall time for the whole study (training, tables, figures), started {started}, on
{machine}

Steps: **{steps:,} per run** ({steps * batch:,} sequences at batch {batch}).{_other_batches(runs, names, study)} {steps_why}

Backends (`--backend auto`, recorded per run as `backend_used`): {_backends(runs, names)}.
{_harness_text(job_wall, work, train_s)}

"""


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, help="the study's results folder (holds tables/)")
    p.add_argument("--out", type=Path, required=True, help="folder for REPORT.md and the figures")
    p.add_argument(
        "--wall-seconds",
        type=float,
        nargs="+",
        default=None,
        metavar="S",
        help="the study's measured wall time; a study run in parts (stopped and resumed): each part's, summed",
    )
    p.add_argument("--started", default="–", help="when the study started (UTC)")
    p.add_argument("--note", default="", help="how loaded the machine was (uptime's load average)")
    p.add_argument("--steps-why", default="", help="why the config has the steps it has (what was measured)")
    p.add_argument("--study", choices=sorted(STUDIES), default="paper-cpu", help="which paper study the tables are")
    p.add_argument(
        "--differences", type=Path, default=None, help="benchmarks/arjovsky_differences.py's table (CSV), if measured"
    )
    args = p.parse_args(argv)
    text = report(
        args.results / "tables",
        args.out,
        args.wall_seconds,
        args.started,
        args.note,
        args.steps_why,
        args.study,
        args.differences,
    )
    (args.out / "REPORT.md").write_text(text)


if __name__ == "__main__":
    main()
