"""Harness-overhead accounting (rnnbench.study.pipeline.harness) against hand-computed cases."""

import json

import pandas as pd
import pytest

from rnnbench.study.pipeline.harness import busy_wall_and_peak, harness_section, job_rows, overhead


def test_busy_wall_is_the_union_of_the_intervals_and_peak_the_most_open_at_once():
    # two overlapping jobs (0-10, 5-12), then a pause, then one job (100-104): busy 12 + 4, peak 2
    assert busy_wall_and_peak([0, 5, 100], [10, 12, 104]) == (16, 2)
    assert busy_wall_and_peak([0, 10], [10, 20]) == (20, 1)  # back to back: never two at once
    assert busy_wall_and_peak([0, 0, 0], [3, 3, 3]) == (3, 3)
    # a default study's jobs.csv: a job's OS process start (10 ms clock ticks) 27 ms before the
    # finish of the job whose slot it took -- two slots, not three
    starts = [526.61, 473.29, 410.27, 410.28, 519.98, 470.96, 499.42]
    ends = [532.5016, 499.3841, 470.8647, 473.1955, 540.7306, 519.9510, 526.6367]
    assert busy_wall_and_peak(starts, ends) == (pytest.approx(540.7306 - 410.27), 2)
    assert busy_wall_and_peak([], []) == (0, 0)


def write_run(path, job: dict, train_seconds: float) -> str:
    path.write_text(json.dumps({"train_seconds": train_seconds, "env": {"job": job}}))
    return str(path)


def test_job_rows_and_overhead_from_run_records(tmp_path):
    a = {"id": "a", "runs": 2, "process_start": 100.0, "finished": 110.0, "work_seconds": 9.0}
    b = {"id": "b", "runs": 1, "process_start": 105.0, "finished": 115.0, "work_seconds": 8.0}
    paths = [
        write_run(tmp_path / "a0.json", a, 3.0),
        write_run(tmp_path / "a1.json", a, 4.0),
        write_run(tmp_path / "b0.json", b, 5.0),
    ]
    (tmp_path / "cli.json").write_text(json.dumps({"train_seconds": 1.0, "env": {}}))  # not a pipeline job
    jobs = job_rows([*paths, str(tmp_path / "cli.json")])
    assert jobs["job"].tolist() == ["a", "b"] and jobs["train_seconds"].tolist() == [7.0, 5.0]
    o = overhead(jobs)
    assert o["runs"] == 3 and o["peak_jobs"] == 2 and o["busy_wall_seconds"] == 15
    assert o["per_job_overhead"] == pytest.approx(1 - 17 / 20)
    assert o["phase_overhead"] == pytest.approx(1 - 17 / 30)  # 15 s of wall x 2 slots


def test_section_states_the_fraction_and_the_verdict(tmp_path):
    table = tmp_path / "jobs.csv"
    pd.DataFrame(
        [{"job": "a", "runs": 4, "process_start": 0.0, "finished": 100.0, "job_wall_seconds": 100.0,
          "work_seconds": 95.0, "train_seconds": 80.0}]
    ).to_csv(table, index=False)  # fmt: skip
    text = harness_section(str(table))
    assert "**5.0%**" in text and "below the 10% target" in text
    empty = tmp_path / "empty.csv"
    empty.write_text("job,runs,process_start,finished,job_wall_seconds,work_seconds,train_seconds\n")
    assert "nothing to account" in harness_section(str(empty))
