"""Harness overhead: how much of a study's training time went to the science, and how much to
starting processes, importing, building models, writing files and scheduling jobs.

Every run's result carries ``env["job"]`` (written by the pipeline's training job): the job's id,
its process start (interpreter and imports included), its finish, and the seconds its runs spent
in their training loops, probes and evaluations (``work_seconds``). From these:

* per job: overhead = 1 − work / (finish − process start);
* over the training phase: the wall time while any training job ran (the union of the jobs'
  intervals, so a study resumed hours later is not charged for the pause), times the most jobs
  that ran at once; overhead = 1 − Σ work / (that product). This one also charges Snakemake's
  scheduling between jobs and slots left idle while the last jobs finish.
"""

from __future__ import annotations

import json
import os

import pandas as pd

from rnnbench.core.storage import atomic_write

JOB_COLUMNS = ("job", "runs", "process_start", "finished", "job_wall_seconds", "work_seconds", "train_seconds")


def job_rows(paths: list[str]) -> pd.DataFrame:
    """One row per training job found in the run results (runs without ``env.job`` are skipped:
    they were trained outside the pipeline)."""
    jobs: dict[str, dict] = {}
    for path in sorted(paths):
        with open(path) as f:
            record = json.load(f)
        job = record.get("env", {}).get("job")
        if not job:
            continue
        row = jobs.setdefault(
            job["id"],
            {
                "job": job["id"],
                "runs": job["runs"],
                "process_start": job["process_start"],
                "finished": job["finished"],
                "job_wall_seconds": job["finished"] - job["process_start"],
                "work_seconds": job["work_seconds"],
                "train_seconds": 0.0,
            },
        )
        row["train_seconds"] += record["train_seconds"]
    return pd.DataFrame.from_records(list(jobs.values()), columns=list(JOB_COLUMNS))


def write_job_table(paths: list[str], out: str | os.PathLike) -> None:
    df = job_rows(paths)
    atomic_write(out, lambda f: df.to_csv(f, index=False))


# A job's process start comes from the OS (psutil: boot time + clock ticks, 10 ms steps, and the boot
# time itself is rounded), its finish from time.time() in the job: a job started on the slot another
# just left can seem to start tens of milliseconds before that one finished. Overlaps shorter than
# this are not counted as two jobs at once (a real one lasts as long as the shorter job).
OVERLAP_TOLERANCE = 0.5  # seconds


def _union(starts: list[float], ends: list[float]) -> tuple[float, int]:
    """Length of the union of the intervals [start, end], and the most intervals open at once."""
    events = sorted([(s, 1) for s in starts] + [(e, -1) for e in ends], key=lambda e: (e[0], e[1]))
    busy, open_, peak, since = 0.0, 0, 0, 0.0
    for t, step in events:
        if open_ == 0 and step == 1:
            since = t
        open_ += step
        peak = max(peak, open_)
        if open_ == 0:
            busy += t - since
    return busy, peak


def busy_wall_and_peak(starts: list[float], ends: list[float]) -> tuple[float, int]:
    """Length of the union of the intervals [start, end], and the most intervals open at once
    (counting the intervals from OVERLAP_TOLERANCE after their start: clock skew is no overlap)."""
    if not starts:
        return 0.0, 0
    busy, _ = _union(starts, ends)
    late = [min(s + OVERLAP_TOLERANCE, e) for s, e in zip(starts, ends, strict=True)]
    return busy, max(1, _union(late, ends)[1])  # a job shorter than the tolerance still held a slot


def overhead(jobs: pd.DataFrame) -> dict[str, float]:
    """The figures of the report's section (see the module docstring)."""
    busy, peak = busy_wall_and_peak(jobs["process_start"].tolist(), jobs["finished"].tolist())
    work, job_wall = jobs["work_seconds"].sum(), jobs["job_wall_seconds"].sum()
    return {
        "jobs": len(jobs),
        "runs": int(jobs["runs"].sum()),
        "peak_jobs": peak,
        "busy_wall_seconds": busy,
        "job_wall_seconds": job_wall,
        "work_seconds": work,
        "train_seconds": jobs["train_seconds"].sum(),
        "per_job_overhead": 1 - work / job_wall,
        "phase_overhead": 1 - work / (busy * peak),
    }


def harness_section(table: str | None, target: float = 0.10) -> str:
    """REPORT.md's account of where the training phase's time went."""
    if table is None:
        return ""
    jobs = pd.read_csv(table)
    if jobs.empty:
        return "## Harness overhead\n\nNo run of this study was trained by a pipeline job: nothing to account.\n"
    o = overhead(jobs)
    verdict = "below" if o["phase_overhead"] < target else "above"
    return f"""## Harness overhead

{o["runs"]} runs were trained in {o["jobs"]} jobs, at most {o["peak_jobs"]} at once
(`results/tables/jobs.csv`). Their training loops, probes and evaluations took {o["work_seconds"]:.0f} s
({o["train_seconds"]:.0f} s inside training steps); the jobs ran {o["job_wall_seconds"]:.0f} s from process start
to finish, so **{o["per_job_overhead"]:.1%}** of a job's time went to the harness (interpreter, imports, model
set-up, writing results). Over the training phase ({o["busy_wall_seconds"]:.0f} s of wall time while a job ran,
× {o["peak_jobs"]} slots), the fraction outside training, probes and evaluations was
**{o["phase_overhead"]:.1%}** -- {verdict} the {target:.0%} target; this one also counts Snakemake's scheduling
and slots left idle while the last jobs finished. Aggregation, figures and the throughput benchmark are
not counted in either.
"""
