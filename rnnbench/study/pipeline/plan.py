"""The study's plan, from its (schema-validated) config: every training run, the jobs that train them,
each run's expected config hash, and the tables, figures and report pages the pipeline makes.

The workflow (``workflow/rules/common.smk``) calls :func:`make_plan` once while Snakemake parses it and
keeps only the Snakemake glue; everything here can be run and tested without Snakemake. A config the
study cannot run (too many runs, ``device: cuda`` without CUDA, ``save_models`` with the notes' GRU, a
bad throughput grid or init-probe spec, a missing comparison table) is refused here, before any job
starts, with a message naming the key.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rnnbench.core.cells import is_user, notes_gru
from rnnbench.study.pipeline.sweep import config_hash, expand, job_cost, report_settings, study_device, train_jobs
from rnnbench.training.config import RunConfig, resolve_device

DEFAULT_MAX_RUNS = 2000  # the schema's default for max_runs
# Training jobs that share one GPU at a time (config `jobs_per_gpu`; not a schema default, which would
# change every study's config hash). A study's models are small: on an H200 one paper-scale run (LSTM,
# H = 128, adding T = 750, batch 50) computes about 15 GFLOP per 8.4 ms step, under 2 TFLOP/s of the 51
# the device gives torch.mm in strict fp32, and holds well under 1 GB (its CUDA context included) of
# 141 GB: the step is bound by kernel launches and Python, not by the device. 8 such jobs keep it
# busier while each still gets a CPU core to launch from on a typical GPU node (8-16 cores per GPU).
DEFAULT_JOBS_PER_GPU = 8
# The long-form tables every study writes (rule tables, rule jobs_table)
BASE_TABLES = (
    "results/tables/runs.csv",
    "results/tables/gradflow.csv",
    "results/tables/curves.csv",
    "results/tables/jobs.csv",
    "results/tables/timings.csv",
    "results/tables/skipped.csv",
)
# Figure names are stable across runs and configs, so a paper can point at them.
BASE_FIGURES = (
    "fig1_gradflow_cells",
    "fig2_exploding_gains",
    "fig3_clipping",
    "fig4_length_sweep_loss",
    "fig4_length_sweep_accuracy",
    "fig5_learning_curves",
)
# What each table shown as an HTML page in the Snakemake report holds (rule table_html)
TABLE_NOTES = {
    "runs": "One row per training run: its config, status, held-out loss, baseline, accuracy, solved, provenance.",
    "throughput": "One row per case: forward and backward times, tokens/s, GFLOP/s against the measured GEMM "
    "ceiling, the machine and how busy it was.",
}


def flag(config: dict, key: str, default: bool = False) -> bool:
    """A true/false config key; ``--config`` and profiles pass it as a string."""
    return str(config.get(key, default)).lower() == "true"


@dataclass(frozen=True)
class Plan:
    """Everything the rules need, computed once from the config."""

    runs: dict[str, dict]  # {run id: RunConfig dict}
    jobs: dict[str, list[str]]  # {job id: [run id, ...]}
    runs_per_job: int
    runs_per_stack: int
    expected_hashes: dict[str, str]  # {run id: its RunConfig's hash}: the tables refuse another
    config_hash: str
    skip_bad: bool
    save_models: bool
    report_settings: dict[str, Any]
    throughput: dict | None
    compare_with: list[str]
    init_probes: dict | None
    depth: bool
    device: str  # the study's device (the init probes run there)
    jobs_per_gpu: int = DEFAULT_JOBS_PER_GPU  # CUDA jobs at once on the study's GPU (gpu_slots)
    tables: list[str] = field(default_factory=list)
    figure_names: list[str] = field(default_factory=list)

    @property
    def figures(self) -> list[str]:
        return [f"results/figures/{name}.{ext}" for name in self.figure_names for ext in ("png", "pdf")]

    @property
    def html_tables(self) -> list[str]:
        """Tables shown as HTML pages of the Snakemake report, beside REPORT.html."""
        return ["runs", "throughput"] if self.throughput else ["runs"]

    @property
    def report_pages(self) -> list[str]:
        return ["results/REPORT.html", *[f"results/tables/{t}.html" for t in self.html_tables]]

    @property
    def compare(self) -> list[str]:
        return ["results/compare/compare.csv", "results/compare/compare.png"] if self.compare_with else []

    def run_files(self, runs: Iterable[str] | None = None) -> list[str]:
        return [f"results/runs/{rid}.json" for rid in (self.runs if runs is None else runs)]

    def model_files(self, runs: Iterable[str] | None = None) -> list[str]:
        """The runs' trained weights, when the config has save_models: true (none otherwise)."""
        if not self.save_models:
            return []
        return [f"results/models/{rid}.pt" for rid in (self.runs if runs is None else runs)]

    def job_priority(self, members: list[str]) -> int:
        """Costliest jobs first (longest processing time first), so the last to finish is a short one."""
        return 1 + job_cost([self.runs[rid] for rid in members]) // 1000

    def gpu_slots(self, rid: str) -> int:
        """The GPU slots a job whose first run is ``rid`` takes: 1 when it trains on CUDA, else 0. The
        workflow gives the study ``jobs_per_gpu`` slots (resource ``gpu_slots``), so that many CUDA jobs
        share the GPU at once. ``device: cuda`` needs no CUDA here (a cluster's login node plans it);
        ``auto`` is decided by this machine, where the jobs of a local run train."""
        device = self.runs[rid]["device"]
        if device == "auto":
            import torch

            return int(torch.cuda.is_available())
        return int(device == "cuda")

    def whole_result(self) -> Callable[[str], bool]:
        """For :func:`rnnbench.study.pipeline.resume.resume_after_kill`: is ``path`` a run JSON of this plan,
        whole and made by this config (then a kill just after writing it need not retrain it)?"""
        from rnnbench.study.pipeline.results import ResultError, load_result

        def whole(path: str) -> bool:
            rid = path.removeprefix("results/runs/").removesuffix(".json")
            if not path.startswith("results/runs/") or rid not in self.expected_hashes or not os.path.exists(path):
                return False
            try:
                return load_result(path)["config_hash"] == self.expected_hashes[rid]
            except ResultError:
                return False

        return whole


def say(message: str) -> None:
    print(f"rnnbench: {message}", file=sys.stderr)


def make_plan(config: dict, log: Callable[[str], None] = say) -> Plan:
    """The plan of the study ``config`` (validated against the schema, defaults filled), or a
    ``ValueError``/``ConfigError`` naming what the study cannot run. ``log`` gets the study's size."""
    runs = expand(config)  # each RunConfig is checked here
    limit = config.get("max_runs", DEFAULT_MAX_RUNS)
    log(f"this study has {len(runs)} training runs (max_runs {limit})")
    if len(runs) > limit:
        raise ValueError(
            f"the study would train {len(runs)} runs, more than max_runs = {limit}; "
            "shrink the sweep, or raise max_runs in the config if you mean it"
        )
    # `device: cuda` on a machine without CUDA is refused now, before any job starts. A cluster driver
    # on a login node without a GPU (profiles/slurm-gpu) turns the check off: its jobs run elsewhere.
    if flag(config, "local_cuda_check", True):
        for device in sorted({run["device"] for run in runs.values()}):
            resolve_device(device)
    # Runs that differ only in per-run fields (seed, init gain, clipping threshold) train as one stacked
    # model; a job trains a few such stacks in one process.
    per_job, per_stack = config.get("runs_per_job", 24), config.get("runs_per_stack", 8)
    jobs = train_jobs(runs, per_job, per_stack)
    log(f"in {len(jobs)} training jobs (runs_per_job {per_job}, runs_per_stack {per_stack})")
    save_models = flag(config, "save_models")
    if save_models:
        refuse_notes_gru(runs)
    throughput = config.get("throughput")
    compare_with = compare_tables(config, throughput)
    init_probes = config.get("init_probes")
    depth = bool(config.get("depth"))
    tables, figure_names = outputs(config, throughput, init_probes, depth)
    return Plan(
        runs=runs,
        jobs=jobs,
        runs_per_job=per_job,
        runs_per_stack=per_stack,
        expected_hashes={rid: RunConfig.from_dict(run).config_hash() for rid, run in runs.items()},
        config_hash=config_hash(config),
        # skip_bad: leave unreadable or foreign result files out of the tables (listed in skipped.csv
        # and REPORT.md) instead of stopping
        skip_bad=flag(config, "skip_bad"),
        save_models=save_models,
        report_settings=report_settings(config),
        throughput=throughput,
        compare_with=compare_with,
        init_probes=init_probes,
        depth=depth,
        device=study_device(config),
        jobs_per_gpu=config.get("jobs_per_gpu", DEFAULT_JOBS_PER_GPU),
        tables=tables,
        figure_names=figure_names,
    )


def refuse_notes_gru(runs: dict[str, dict]) -> None:
    """save_models writes torch.nn state dicts: the notes' GRU and user cells have none, so they are refused
    now, before any job, rather than after training."""
    users = [rid for rid, run in runs.items() if is_user(run["cell"])]
    if users:
        raise ValueError(
            f"save_models: {len(users)} run(s) train a user cell (e.g. {users[0]}), which has no torch.nn "
            "state dict to write; leave save_models out, or the user cell out"
        )
    refused = [rid for rid, run in runs.items() if notes_gru(run["cell"], run["reset_after"])]
    if refused:
        raise ValueError(
            f"save_models: {len(refused)} run(s) train the notes' GRU (e.g. {refused[0]}), which torch.nn has "
            "no model for (torch.nn.GRU is the reset-after GRU); set train.reset_after: true, or leave gru out"
        )


def compare_tables(config: dict, throughput: dict | None) -> list[str]:
    """Other machines' throughput tables to compare with this run's: each must exist now, so a typo
    stops the workflow before any job rather than after the study."""
    if throughput:
        from rnnbench.bench.throughput import expand as expand_throughput

        expand_throughput(throughput)  # its keys and values are checked now, before any job
    compare_with = list(config.get("compare_throughput") or [])
    if compare_with and not throughput:
        raise ValueError("compare_throughput needs a `throughput` grid in the config: this run's table is compared")
    for path in compare_with:
        if not os.path.isfile(path):
            raise ValueError(f"compare_throughput: {path!r} is not a file; give throughput.csv files of other machines")
    return compare_with


def outputs(config: dict, throughput: dict | None, init_probes: dict | None, depth: bool) -> tuple[list, list]:
    """The tables and figure names of the study: the base ones, and those of the throughput benchmark
    and the literature studies when the config has them (their probes are checked now)."""
    tables, figure_names = list(BASE_TABLES), list(BASE_FIGURES)
    if throughput:
        tables.append("results/tables/throughput.csv")
        figure_names.append("fig6_throughput")
    if init_probes:
        from rnnbench.study.pipeline.initprobes import probe_configs

        probe_configs(init_probes, study_device(config))
        tables.append("results/tables/init_probes.csv")
        figure_names.append("fig1b_gradflow_paper_scale")
    if depth:
        figure_names.append("fig7_depth")
    return tables, figure_names


def share_rule_settings(settings: Any, name: str, rules: Iterable[str]) -> None:
    """Give each of ``rules`` the thread and resource overrides the profile or command line set for
    rule ``name`` (``--set-threads train=2``, ``--set-resources train:runtime=240``) in Snakemake's
    ``workflow.resource_settings`` (``settings``); a rule's own setting wins.

    Snakemake looks these up by the exact rule name when it defines a rule, and has no pattern or
    alias for rules defined in a loop (train_0, train_1, ...); nor can the rules read the values into
    their own ``threads:``/``resources:``, because newer Snakemakes keep them unparsed in the public
    fields and parse them into cached ``_parsed_overwrite_*`` properties. So the public fields are
    extended, and the cache, where there is one, dropped so that it is computed again from them.
    Checked on Snakemake 9.15.0 (parsed values in the public fields, no cache; tests/test_pipeline.py
    runs it) and against the layout of Snakemake's development source, whose spawned-job arguments read
    ``resource_settings._parsed_overwrite_threads``/``_resources`` (tests/test_jobs.py fakes it)."""
    rules = list(rules)
    for name_of_field in ("overwrite_threads", "overwrite_resources"):
        table = getattr(settings, name_of_field)
        if name in table:
            # the fields may be immutable maps: replace, don't update; a rule's own setting wins
            setattr(settings, name_of_field, {**{rule: table[name] for rule in rules}, **table})
            vars(settings).pop(f"_parsed_{name_of_field}", None)
