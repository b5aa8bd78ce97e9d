"""Training jobs: the pipeline's packing of runs into stacks (rnnbench.training.stacking) and jobs
(rnnbench.study.pipeline.sweep)."""

from pathlib import Path

import pytest
import yaml

from rnnbench.study.pipeline.sweep import expand, job_cost, parse_run_id, train_jobs
from rnnbench.training.config import ConfigError
from rnnbench.training.stacking import PER_RUN_FIELDS, STACKABLE_BACKENDS, group_stacks

ROOT = Path(__file__).resolve().parents[1]


def default_runs(backend: str = "explicit-premul") -> dict[str, dict]:
    """The default study's runs, on one backend: explicit-premul (every run stackable) for the packing
    tests below, or the pipeline's default ``auto``, which stacks only some cells."""
    runs = expand(yaml.safe_load((ROOT / "config/config.yaml").read_text()))
    return {rid: {**cfg, "backend": backend} for rid, cfg in runs.items()}


def jobs(runs: dict[str, dict], runs_per_job: int = 24, runs_per_stack: int = 8) -> dict[str, list[str]]:
    return train_jobs(runs, runs_per_job, runs_per_stack, PER_RUN_FIELDS, STACKABLE_BACKENDS)


def stacks(runs: dict[str, dict], runs_per_stack: int = 8) -> list[list[str]]:
    return group_stacks(runs, runs_per_stack, PER_RUN_FIELDS, STACKABLE_BACKENDS, lambda rid: parse_run_id(rid)[0])


def shared(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if k not in PER_RUN_FIELDS}


def test_a_stack_shares_every_field_but_the_per_run_ones():
    runs = default_runs()
    grouped = stacks(runs)
    members = [rid for s in grouped for rid in s]
    assert sorted(members) == sorted(runs) and len(members) == len(set(members))
    for stack in grouped:
        assert 1 <= len(stack) <= 8
        assert all(shared(runs[r]) == shared(runs[stack[0]]) for r in stack), stack
        assert len({parse_run_id(r)[0] for r in stack}) == 1, stack  # one study per stack
    # sweep: (4 adding + 2 copy lengths) x 3 cells, each 2 clip values x 3 seeds; gains: 4 gains x 2 seeds;
    # clipping: one stack per optimizer, 2 clip values x 3 seeds; depth: 3 cells x 3 depths x 2 directions,
    # each its seeds; the blocks at T = 100: copy's LSTM and GRU a stack each, the orthogonal RNN's 3 seeds of
    # copy and 3 of adding alone (its parametrised B does not stack)
    assert len(grouped) == 6 * 3 + 1 + 2 + 3 * 3 * 2 + 2 + 3 + 3
    assert [
        f"task~adding/cell~lstm/length~100/clip~{c}/seed~{s}" for c in ("none", "1.0") for s in (0, 1, 2)
    ] in grouped


def test_jobs_pack_whole_stacks_up_to_runs_per_job():
    runs = default_runs()
    packed = jobs(runs)
    members = [rid for m in packed.values() for rid in m]
    assert members == list(runs)  # every run once, in the study's order
    whole = {tuple(s) for s in stacks(runs)}
    for job, rids in packed.items():
        assert len(rids) <= 24, job
        # the job is a concatenation of whole stacks
        cut, rest = 0, rids
        while rest:
            size = next(n for n in range(len(rest), 0, -1) if tuple(rest[:n]) in whole)
            rest, cut = rest[size:], cut + 1
        assert job.endswith(f"+{cut - 1}") if cut > 1 else "+" not in job, job
    # 176 runs at 24 a job: 6 sweep jobs with the T = 100 blocks (the orthogonal RNN's runs one by one),
    # the gains and clipping stacks with the first depth stacks, and the rest of the depth study
    assert len(packed) == 8
    assert packed["task~adding/cell~lstm/length~10+3"] == [
        f"task~adding/cell~lstm/length~{T}/clip~{c}/seed~{s}" for T in (10, 25, 50, 100) for c in ("none", "1.0") for s in (0, 1, 2)
    ]  # fmt: skip


def test_one_run_per_job_or_per_stack_and_bad_sizes_refused():
    runs = default_runs()
    assert jobs(runs, 1) == {rid: [rid] for rid in runs}
    alone = jobs(runs, 24, 1)  # every run trained alone, still several per process
    assert [rid for m in alone.values() for rid in m] == list(runs) and max(map(len, alone.values())) == 24
    split = stacks(runs, 4)
    assert [len(s) for s in split if s[0].startswith("task~adding/cell~lstm/length~100/")] == [4, 2]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ConfigError, match="runs_per_job"):
            jobs(runs, bad)
        with pytest.raises(ConfigError, match="runs_per_stack"):
            stacks(runs, bad)


def test_a_backend_that_cannot_stack_trains_each_run_alone():
    runs = {rid: {**cfg, "backend": "fused"} for rid, cfg in default_runs().items()}
    assert all(len(s) == 1 for s in stacks(runs))


def test_auto_stacks_the_cells_its_table_stacks_and_leaves_the_lstm_alone():
    runs = default_runs("auto")
    assert all(
        cfg["backend"] == "auto" for cfg in expand(yaml.safe_load((ROOT / "config/config.yaml").read_text())).values()
    )
    for stack in stacks(runs):
        cell = runs[stack[0]]["cell"]
        # CPU: fused LSTM, the orthogonal RNN unstackable, each alone; stacked RNN, GRU
        assert (len(stack) == 1) if cell in ("lstm", "orthogonal") else (len(stack) > 1), stack


def test_job_cost_orders_the_default_study_longest_first():
    """The estimate (steps x time steps x cell cost x readout cost) ranked the jobs as their measured times
    did in the earlier default study (2 cores, jobs.csv: adding GRU 61 s, adding LSTM 58 s, copy LSTM 50 s,
    copy GRU 26.5 s, copy RNN 25.6 s, adding RNN 19.3 s, clipping 6.1 s). The copy task now trains 2x as
    many steps at twice the width and batch, so its jobs come first; the depth study's sits with adding's.
    The T = 100 blocks (issue 21: the copy contrast, the orthogonal RNN on adding) sit with adding's."""
    runs = default_runs()
    costs = {job: job_cost([runs[r] for r in rids]) for job, rids in jobs(runs).items()}
    ranked = sorted(costs, key=costs.get, reverse=True)
    assert ranked == [
        "task~copy/cell~lstm/length~20+6",
        "task~adding/cell~lstm/length~10+3",
        "task~adding/cell~gru/length~10+3",
        "task~adding/cell~orthogonal/length~100+5",
        "task~copy/cell~gru/length~100+3",
        "task~adding/cell~rnn/length~10+3",
        "depth/task~adding/length~20/cell~rnn/layers~1/bidirectional~false+11",
        "depth/task~adding/length~20/cell~gru/layers~1/bidirectional~false+5",
    ]
    one = runs["task~adding/cell~rnn/length~10/clip~none/seed~0"]
    assert job_cost([one]) == 1000 * 10  # steps x T for a one-layer vanilla RNN
    assert job_cost([{**one, "cell": "lstm", "bidirectional": True}]) == 1000 * 10 * 3 * 2
