"""Do two finished studies agree? Compares their tables row by row, timing columns aside.

Used for issue 7's "same results" check: the default study trained one run per job
(``runs_per_job: 1``, or an older checkout) against the same study trained in stacked jobs.
Non-float columns (status, solved, clipped, diverged step, ...) must be equal; float columns equal
within ``--rtol`` (stacked batched products round differently from plain ones in the last bits).

Run: python benchmarks/compare_studies.py RESULTS_A RESULTS_B [--rtol 1e-4] [--common]
     (each a study's working directory, holding results/tables/)
--common compares only the runs both studies have (by run id), for a study that added runs: each
table's rows of the other runs are counted and left out, never compared.

     python benchmarks/compare_studies.py --conclusions A B
compares what the two studies conclude instead of their numbers (issue 22): every verdict and every
"longest T solved" their reports state (``rnnbench.study.report.conclusions``). A and B are study directories
(results/REPORT.md inside), directories holding a REPORT.md, or Markdown files. Prints "same: N
conclusions" and exits 0 when every conclusion is equal, else each difference and exits 1; 2 for input
that is not a report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from rnnbench.study.report.conclusions import ReportError, compare_conclusions, read_conclusions

# columns that differ between two runs of the same study by nature: timings, where it ran, which commit
TIMING = {"train_seconds", "work_seconds", "wall_seconds", "throughput_seq_per_s", "git_commit", "torch_threads", "cpu"}
TABLES = ("runs", "gradflow", "curves")


def compare(a: pd.DataFrame, b: pd.DataFrame, rtol: float) -> list[str]:
    """Every disagreement between two tables, as a line of text (empty: they agree)."""
    problems = []
    if len(a) != len(b):
        return [f"{len(a)} rows against {len(b)}"]
    cols = [c for c in a.columns if c not in TIMING]
    if missing := set(cols) ^ (set(b.columns) - TIMING):
        problems.append(f"columns differ: {sorted(missing)}")
    for c in cols:
        if c not in b:
            continue
        x, y = a[c], b[c]
        if x.dtype.kind == "f" and y.dtype.kind == "f":
            nan = x.isna() != y.isna()
            both = ~(x.isna() | y.isna())
            rel = (x[both] - y[both]).abs() / y[both].abs().clip(lower=1e-12)
            worst = float(rel.max()) if both.any() else 0.0
            if nan.any() or worst > rtol:
                problems.append(f"{c}: {int(nan.sum())} NaN mismatches, largest relative difference {worst:.2e}")
        else:
            differ = x.astype(str).where(x.notna(), "") != y.astype(str).where(y.notna(), "")
            if differ.any():
                i = int(np.argmax(differ.to_numpy()))
                problems.append(
                    f"{c}: {int(differ.sum())} rows differ, first at row {i}: {x.iloc[i]!r} vs {y.iloc[i]!r}"
                )
    return problems


def compare_reports(a: Path, b: Path) -> int:
    """``--conclusions``: 0 when both reports conclude alike, 1 when a conclusion differs, 2 for bad input
    (also a row that cannot be read, as in a report from before rnnbench escaped pipes in cells: the
    other conclusions are still compared, but "same" is never said about a report read in part)."""
    unreadable: list[str] = []
    try:
        (ra, ca), (rb, cb) = read_conclusions(a, unreadable), read_conclusions(b, unreadable)
    except ReportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"A: {ra} ({len(ca)} conclusions)\nB: {rb} ({len(cb)} conclusions)")
    lines = compare_conclusions(ca, cb)
    for line in lines:
        print(line)
    for problem in unreadable:
        print(f"unreadable, left out: {problem}")
    if lines:
        print(f"DIFFERENT: {len(lines)} of {len(set(ca) | set(cb))} conclusions")
        return 1
    if unreadable:
        print(f"no difference in {len(ca)} conclusions, but {len(unreadable)} row(s) could not be read")
        return 2
    print(f"same: {len(ca)} conclusions")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--rtol", type=float, default=1e-4)
    p.add_argument("--common", action="store_true", help="compare only the runs both studies have")
    p.add_argument(
        "--conclusions", action="store_true", help="compare the reports' verdicts and headline, not the tables"
    )
    args = p.parse_args()
    if args.conclusions:
        return compare_reports(args.a, args.b)
    failed = False
    for name in TABLES:
        a = pd.read_csv(args.a / "results/tables" / f"{name}.csv")
        b = pd.read_csv(args.b / "results/tables" / f"{name}.csv")
        if args.common:
            both = set(a["run"]) & set(b["run"])
            print(
                f"{name}.csv: runs only in A: {a['run'].nunique() - len(both)}, only in B: {b['run'].nunique() - len(both)}"
            )
            a, b = (t[t["run"].isin(both)].reset_index(drop=True) for t in (a, b))
        problems = compare(a, b, args.rtol)
        print(f"{name}.csv: {len(a)} rows, " + ("equal" if not problems else "DIFFERENT"))
        for line in problems:
            print("   ", line)
        failed |= bool(problems)
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
