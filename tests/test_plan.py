"""The study's plan (rnnbench.study.pipeline.plan), without Snakemake: what workflow/rules/common.smk gets
from one call while the workflow is parsed, and what it refuses before any job."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import immutables
import pytest
import yaml

from rnnbench.study.pipeline import plan as study_plan
from rnnbench.study.pipeline.sweep import config_hash, expand, report_settings, train_jobs
from rnnbench.training.batched import PER_RUN_FIELDS, STACKABLE_BACKENDS
from rnnbench.training.config import RunConfig

REPO = Path(__file__).resolve().parents[1]


def smoke() -> dict:
    return yaml.safe_load(open(REPO / "config" / "smoke.yaml"))


def test_the_plan_of_the_smoke_study():
    config = smoke()
    said = []
    p = study_plan.make_plan(config, said.append)
    runs = expand(config)
    assert p.runs == runs
    per_job, per_stack = config.get("runs_per_job", 24), config.get("runs_per_stack", 8)
    assert p.jobs == train_jobs(runs, per_job, per_stack, PER_RUN_FIELDS, STACKABLE_BACKENDS)
    assert p.expected_hashes == {rid: RunConfig.from_dict(r).config_hash() for rid, r in runs.items()}
    assert p.config_hash == config_hash(config) and p.report_settings == report_settings(config)
    assert said == [
        f"this study has {len(runs)} training runs (max_runs 2000)",
        f"in {len(p.jobs)} training jobs (runs_per_job {per_job}, runs_per_stack {per_stack})",
    ]
    # the smoke study has every optional part: throughput, init probes, depth
    assert p.tables == [*study_plan.BASE_TABLES, "results/tables/throughput.csv", "results/tables/init_probes.csv"]
    assert p.figure_names == [*study_plan.BASE_FIGURES, "fig6_throughput", "fig1b_gradflow_paper_scale", "fig7_depth"]
    assert p.figures[:2] == ["results/figures/fig1_gradflow_cells.png", "results/figures/fig1_gradflow_cells.pdf"]
    assert p.html_tables == ["runs", "throughput"] and set(p.html_tables) <= set(study_plan.TABLE_NOTES)
    assert p.report_pages == ["results/REPORT.html", "results/tables/runs.html", "results/tables/throughput.html"]
    assert p.compare == [] and p.model_files() == [] and not p.skip_bad
    assert p.run_files()[0] == f"results/runs/{next(iter(runs))}.json" and len(p.run_files()) == len(runs)
    job, members = next(iter(p.jobs.items()))
    assert p.run_files(members) == [f"results/runs/{rid}.json" for rid in members]
    assert p.gpu_slots(members[0]) == 0 and p.job_priority(members) >= 1


def test_without_the_optional_parts_only_the_base_outputs():
    config = smoke()
    for key in ("throughput", "init_probes", "depth"):
        config.pop(key, None)
    p = study_plan.make_plan(config, lambda _: None)
    assert p.tables == list(study_plan.BASE_TABLES) and p.figure_names == list(study_plan.BASE_FIGURES)
    assert p.html_tables == ["runs"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"max_runs": 3}, "more than max_runs = 3; shrink the sweep"),
        ({"save_models": "true"}, "save_models: "),
        ({"compare_throughput": ["nope.csv"]}, "compare_throughput: 'nope.csv' is not a file"),
        ({"compare_throughput": ["x.csv"], "throughput": None}, "compare_throughput needs a `throughput` grid"),
    ],
)
def test_what_the_study_cannot_run_is_refused_by_name(change, message):
    config = {**smoke(), **change}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("`", ".")):
        study_plan.make_plan(config, lambda _: None)


def test_whole_result_keeps_only_this_configs_finished_runs(tmp_path, monkeypatch):
    p = study_plan.make_plan(smoke(), lambda _: None)
    whole = p.whole_result()
    monkeypatch.chdir(tmp_path)
    rid = next(iter(p.runs))
    assert not whole(f"results/runs/{rid}.json")  # not written
    assert not whole("results/runs/not-a-run.json") and not whole("elsewhere.json")
    path = tmp_path / "results" / "runs" / f"{rid}.json"
    path.parent.mkdir(parents=True)
    path.write_text("{")  # cut short: not whole
    assert not whole(f"results/runs/{rid}.json")


@dataclass
class FakeSettings:
    """Snakemake's ResourceSettings as the development source lays it out: immutable maps in the public
    fields and the parsed values cached in ``_parsed_overwrite_*`` (Snakemake 9.15 has no cache)."""

    overwrite_threads: object = field(default_factory=lambda: immutables.Map(train=2, other=5))
    overwrite_resources: object = field(default_factory=lambda: immutables.Map(train={"runtime": 240}))


def test_share_rule_settings_copies_trains_settings_and_drops_the_cache():
    s = FakeSettings()
    s.overwrite_threads = s.overwrite_threads.set("train_1", 7)  # a rule's own setting wins
    vars(s)["_parsed_overwrite_threads"] = {"train": 2}  # a stale cache
    study_plan.share_rule_settings(s, "train", ["train_0", "train_1"])
    assert s.overwrite_threads == {"train": 2, "other": 5, "train_0": 2, "train_1": 7}
    assert s.overwrite_resources == {
        "train": {"runtime": 240},
        "train_0": {"runtime": 240},
        "train_1": {"runtime": 240},
    }
    assert "_parsed_overwrite_threads" not in vars(s)
    untouched = FakeSettings(overwrite_threads=immutables.Map(), overwrite_resources=immutables.Map())
    study_plan.share_rule_settings(untouched, "train", ["train_0"])
    assert untouched.overwrite_threads == immutables.Map() and untouched.overwrite_resources == immutables.Map()


def test_the_workflow_leaves_snakemakes_expand_alone():
    """common.smk once imported rnnbench's own `expand`, which shadowed Snakemake's in every rule file."""
    for smk in [REPO / "Snakefile", *(REPO / "workflow" / "rules").glob("*.smk")]:
        for line in smk.read_text().splitlines():
            assert not re.match(r"\s*from rnnbench\S* import .*\bexpand\b", line), f"{smk}: {line}"


def paper_cpu() -> dict:
    return yaml.safe_load(open(REPO / "config" / "paper-cpu.yaml"))


@pytest.mark.parametrize(
    "variant, edit, message",
    [
        (
            "lstm-b50",
            {"same_model": "gru"},
            "seed~0: same_model 'gru' trains with other cell, forget_bias, reset_after (cell 'lstm' against 'gru'",
        ),
        ("lstm-b50", {"same_model": "nope"}, "same_model 'nope' is not allowed; use one of: arjovsky-lstm, gru, irnn"),
        ("lstm-b50", {"same_model": "lstm-b50"}, "same_model 'lstm-b50' is not allowed"),
        ("lstm-b50", {"same_model": "arjovsky-lstm-b50"}, "same_model 'arjovsky-lstm-b50' is not allowed"),
        (
            "arjovsky-lstm-b50",
            {"train": {"batch": 50}},
            "same_model 'arjovsky-lstm' trains with other learn_initial_state",
        ),
        ("lstm-b50", {"tasks": {"adding": [150]}}, "same_model 'lstm' has no run at adding T = 150"),
    ],
)
def test_a_same_model_variant_differs_from_its_model_in_batch_and_steps_only(variant, edit, message):
    """A batch-size twin (Arjovsky 2016's batch 20 and 50) must be its model at another batch and budget:
    the paper report judges the model on whichever of the two ends lower."""
    config = paper_cpu()
    config["variants"][variant].update(edit)
    with pytest.raises(ValueError, match=re.escape(message)):
        study_plan.make_plan(config, lambda _: None)


def test_a_user_cell_gets_safe_run_ids_and_two_cells_with_one_safe_name_are_refused():
    config = smoke()
    config["sweep"]["cells"] = ["rnn", "torch.nn:GRUCell"]
    runs = expand(config)
    mine = [rid for rid, run in runs.items() if run["cell"] == "torch.nn:GRUCell"]
    assert mine and all("/cell~torch.nn.GRUCell/" in f"/{rid}/" for rid in mine)
    assert all(run["backend"] == "auto" and run["init"] == "default" for rid, run in runs.items() if rid in mine)
    config["sweep"]["cells"] = ["torch.nn:GRUCell", "torch.nn.GRUCell"]
    with pytest.raises(
        ValueError, match="cells 'torch.nn:GRUCell' and 'torch.nn.GRUCell' have the same name in run ids"
    ):
        expand(config)
    config = {**smoke(), "save_models": True}
    config["depth"] = {**config["depth"], "cells": ["torch.nn:GRUCell"]}
    with pytest.raises(ValueError, match="save_models: .* train a user cell"):
        study_plan.make_plan(config, lambda _: None)
