# Helpers shared by every rule: config validation, the run list and the target lists.

import os
import sys

from snakemake.utils import validate

from rnnbench.training.config import RunConfig
from rnnbench.study.sweep import config_hash, expand, job_cost, report_settings, study_device, train_jobs

# Validation runs while the workflow is parsed, so a bad config stops before any job starts;
# jsonschema's message names the key and the value.
validate(config, schema="../schemas/config.schema.yaml")

# Every run of every study: {run id: RunConfig dict}; each RunConfig is checked here too.
RUNS = expand(config)

# Announce the study's size, and refuse one past the configured limit before anything runs.
print(f"rnnbench: this study has {len(RUNS)} training runs (max_runs {config.get('max_runs', 2000)})", file=sys.stderr)
if len(RUNS) > config.get("max_runs", 2000):
    raise ValueError(
        f"the study would train {len(RUNS)} runs, more than max_runs = {config.get('max_runs', 2000)}; "
        "shrink the sweep, or raise max_runs in the config if you mean it"
    )

# `device: cuda` on a machine without CUDA is refused now, before any job starts. A cluster driver
# on a login node without a GPU (profiles/slurm-gpu) turns the check off: its jobs run elsewhere.
if str(config.get("local_cuda_check", True)).lower() == "true":
    from rnnbench.training.config import resolve_device

    for device in sorted({run["device"] for run in RUNS.values()}):
        resolve_device(device)
# Training jobs: {job id: [run id, ...]}. Runs that differ only in per-run fields (seed, init gain,
# clipping threshold) train as one stacked model; a job trains a few such stacks in one process.
from rnnbench.training.batched import PER_RUN_FIELDS, STACKABLE_BACKENDS

RUNS_PER_JOB, RUNS_PER_STACK = config.get("runs_per_job", 24), config.get("runs_per_stack", 8)
JOBS = train_jobs(RUNS, RUNS_PER_JOB, RUNS_PER_STACK, PER_RUN_FIELDS, STACKABLE_BACKENDS)
print(
    f"rnnbench: in {len(JOBS)} training jobs (runs_per_job {RUNS_PER_JOB}, runs_per_stack {RUNS_PER_STACK})",
    file=sys.stderr,
)

# Each run's config hash under this config: the tables rule refuses a result with another.
EXPECTED_HASHES = {rid: RunConfig.from_dict(run).config_hash() for rid, run in RUNS.items()}

# After a kill (SIGKILL, a lost node) the same command resumes: when no other Snakemake of this
# workflow is alive here, the directory lock the killed one left is removed, and a run JSON it had
# written whole (atomic writes) just before the kill is kept rather than trained again
# (rnnbench.study.resume). Only in the top-level process: job subprocesses parse this file too.
if workflow.is_main_process:
    from rnnbench.study.aggregate import ResultError, load_result
    from rnnbench.study.resume import resume_after_kill

    def _whole_result(path):
        rid = path.removeprefix("results/runs/").removesuffix(".json")
        if not path.startswith("results/runs/") or rid not in EXPECTED_HASHES or not os.path.exists(path):
            return False
        try:
            return load_result(path)["config_hash"] == EXPECTED_HASHES[rid]
        except ResultError:
            return False

    _removed, _kept = resume_after_kill(".snakemake", _whole_result)
    for _path in _removed:
        print(f"rnnbench: removed a stale lock left by a killed run: {_path}", file=sys.stderr)
    for _path in _kept:
        print(f"rnnbench: kept {_path}, written whole before a kill", file=sys.stderr)

# save_models: each run's trained weights as torch.nn state dicts, results/models/<run id>.pt. The
# notes' GRU has no torch.nn counterpart: refused now, before any job, rather than after training.
SAVE_MODELS = str(config.get("save_models", False)).lower() == "true"
if SAVE_MODELS:
    _notes_gru = [rid for rid, run in RUNS.items() if run["cell"] == "gru" and not run["reset_after"]]
    if _notes_gru:
        raise ValueError(
            f"save_models: {len(_notes_gru)} run(s) train the notes' GRU (e.g. {_notes_gru[0]}), which torch.nn has "
            "no model for (torch.nn.GRU is the reset-after GRU); set train.reset_after: true, or leave gru out"
        )

CONFIG_HASH = config_hash(config)
# skip_bad: leave unreadable or foreign result files out of the tables (listed in skipped.csv and
# REPORT.md) instead of stopping; --config passes it as a string
SKIP_BAD = str(config.get("skip_bad", False)).lower() == "true"
REPORT_SETTINGS = report_settings(config)

# The throughput grid (rnnbench.bench.throughput.expand checks its keys and values now, before any job).
THROUGHPUT = config.get("throughput")
if THROUGHPUT:
    from rnnbench.bench.throughput import expand as expand_throughput

    expand_throughput(THROUGHPUT)

# Other machines' throughput tables to compare with this run's (rule compare_throughput): each must
# exist now, so a typo stops the workflow before any job rather than after the study.
COMPARE_WITH = list(config.get("compare_throughput") or [])
if COMPARE_WITH and not THROUGHPUT:
    raise ValueError("compare_throughput needs a `throughput` grid in the config: this run's table is compared")
for _path in COMPARE_WITH:
    if not os.path.isfile(_path):
        raise ValueError(f"compare_throughput: {_path!r} is not a file; give throughput.csv files of other machines")

TABLES = [
    "results/tables/runs.csv",
    "results/tables/gradflow.csv",
    "results/tables/curves.csv",
    "results/tables/jobs.csv",
    "results/tables/timings.csv",
    "results/tables/skipped.csv",
]

# Figure names are stable across runs and configs, so a paper can point at them.
FIGURE_NAMES = [
    "fig1_gradflow_cells",
    "fig2_exploding_gains",
    "fig3_clipping",
    "fig4_length_sweep_loss",
    "fig4_length_sweep_accuracy",
    "fig5_learning_curves",
]
if THROUGHPUT:
    TABLES.append("results/tables/throughput.csv")
    FIGURE_NAMES.append("fig6_throughput")
# The literature studies (rnnbench.study.initprobes, the depth study): their tables and figures, when the
# config has them. The probes are checked now, before any job, like every training run.
INIT_PROBES = config.get("init_probes")
if INIT_PROBES:
    from rnnbench.study.initprobes import probe_configs

    probe_configs(INIT_PROBES, study_device(config))
    TABLES.append("results/tables/init_probes.csv")
    FIGURE_NAMES.append("fig1b_gradflow_paper_scale")
DEPTH = bool(config.get("depth"))
if DEPTH:
    FIGURE_NAMES.append("fig7_depth")
FIGURES = [f"results/figures/{name}.{ext}" for name in FIGURE_NAMES for ext in ("png", "pdf")]

# Pages of the Snakemake report that show as HTML inside it (rules report_html, table_html): REPORT.md
# rendered with its figures embedded, and the tables a reader browses.
HTML_TABLES = ["runs", "throughput"] if THROUGHPUT else ["runs"]
TABLE_NOTES = {
    "runs": "One row per training run: its config, status, held-out loss, baseline, accuracy, solved, provenance.",
    "throughput": "One row per case: forward and backward times, tokens/s, GFLOP/s against the measured GEMM "
    "ceiling, the machine and how busy it was.",
}
REPORT_PAGES = ["results/REPORT.html", *[f"results/tables/{t}.html" for t in HTML_TABLES]]
COMPARE = ["results/compare/compare.csv", "results/compare/compare.png"] if COMPARE_WITH else []


def run_files(runs=RUNS):
    return [f"results/runs/{rid}.json" for rid in runs]


def model_files(runs=RUNS):
    """The runs' trained weights, when the config has save_models: true (none otherwise)."""
    return [f"results/models/{rid}.pt" for rid in runs] if SAVE_MODELS else []


def uses_gpu(rid):
    """1 when the run trains on CUDA: `--resources gpu=N` then caps concurrent CUDA jobs."""
    device = RUNS[rid]["device"]
    if device == "auto":
        import torch

        return int(torch.cuda.is_available())
    return int(device == "cuda")


def share_rule_settings(name, rules):
    """Give each of ``rules`` the thread and resource overrides the profile or command line set
    for rule ``name``. Snakemake looks these up by rule name when it defines a rule, in
    ``workflow.resource_settings.overwrite_threads`` / ``overwrite_resources`` (public fields);
    Snakemake >= 9.2x reads them through ``_parsed_overwrite_*``, properties computed once from those
    fields and cached, so the cache is dropped after the fields change. CI has met both layouts."""
    settings = workflow.resource_settings
    for field in ("overwrite_threads", "overwrite_resources"):
        table = getattr(settings, field)
        if name in table:
            # the fields may be immutable maps: replace, don't update; a rule's own setting wins
            setattr(settings, field, {**{rule: table[name] for rule in rules}, **table})
            vars(settings).pop(f"_parsed_{field}", None)
