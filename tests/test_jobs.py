"""Training jobs: the pipeline's grouping of runs into stacked jobs (rnnbench.study.train_jobs)."""

from pathlib import Path

import pytest
import yaml

from rnnbench.batched import PER_RUN_FIELDS, STACKABLE_BACKENDS
from rnnbench.config import ConfigError
from rnnbench.study import expand, train_jobs

ROOT = Path(__file__).resolve().parents[1]


def default_runs() -> dict[str, dict]:
    return expand(yaml.safe_load((ROOT / "config/config.yaml").read_text()))


def jobs(runs: dict[str, dict], runs_per_job: int = 8) -> dict[str, list[str]]:
    return train_jobs(runs, runs_per_job, PER_RUN_FIELDS, STACKABLE_BACKENDS)


def test_every_run_is_in_exactly_one_job_and_a_job_shares_every_other_field():
    runs = default_runs()
    grouped = jobs(runs)
    members = [rid for m in grouped.values() for rid in m]
    assert sorted(members) == sorted(runs) and len(members) == len(set(members))
    for job, rids in grouped.items():
        assert 1 <= len(rids) <= 8, job
        shared = [{k: v for k, v in runs[r].items() if k not in PER_RUN_FIELDS} for r in rids]
        assert all(s == shared[0] for s in shared), job


def test_default_study_groups_each_sweep_cell_into_one_job():
    runs = default_runs()
    grouped = jobs(runs)
    # sweep: (4 adding + 3 copy lengths) x 3 cells, each with 2 clip values x 3 seeds; gains: 4 gains x 2 seeds;
    # clipping: one job per optimizer with 2 clip values x 3 seeds
    assert len(runs) == 146 and len(grouped) == 7 * 3 + 1 + 2
    assert grouped["task~adding/cell~lstm/length~100"] == [
        f"task~adding/cell~lstm/length~100/clip~{c}/seed~{s}" for c in ("none", "1.0") for s in (0, 1, 2)
    ]
    assert len(grouped["gains/task~adding/length~50/cell~rnn/init~orthogonal"]) == 8


def test_jobs_are_split_at_runs_per_job_and_one_means_one_run_per_job():
    runs = default_runs()
    split = jobs(runs, 4)
    lstm = [j for j in split if j.startswith("task~adding/cell~lstm/length~100")]
    assert lstm == ["task~adding/cell~lstm/length~100", "task~adding/cell~lstm/length~100/part~1"]
    assert [len(split[j]) for j in lstm] == [4, 2]
    assert jobs(runs, 1) == {rid: [rid] for rid in runs}
    with pytest.raises(ConfigError, match="runs_per_job"):
        jobs(runs, 0)


def test_a_backend_that_cannot_stack_trains_one_run_per_job():
    runs = {rid: {**cfg, "backend": "fused"} for rid, cfg in default_runs().items()}
    assert jobs(runs) == {rid: [rid] for rid in runs}
