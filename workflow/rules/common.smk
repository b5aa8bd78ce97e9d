# Helpers shared by every rule: the config's validation, then the study's plan (runs, jobs, tables,
# figures; rnnbench.study.pipeline.plan, which refuses a config the study cannot run), and the Snakemake glue.

import sys

from snakemake.utils import validate

from rnnbench.study.pipeline import plan as study_plan
from rnnbench.study.pipeline.resume import resume_after_kill

# Validation runs while the workflow is parsed, so a bad config stops before any job starts;
# jsonschema's message names the key and the value (and the schema's defaults are filled in).
validate(config, schema="../schemas/config.schema.yaml")

PLAN = study_plan.make_plan(config)

# After a kill (SIGKILL, a lost node) the same command resumes: when no other Snakemake of this
# workflow is alive here, the directory lock the killed one left is removed, and a run JSON it had
# written whole (atomic writes) just before the kill is kept rather than trained again
# (rnnbench.study.pipeline.resume). Only in the top-level process: job subprocesses parse this file too.
if workflow.is_main_process:
    _removed, _kept = resume_after_kill(".snakemake", PLAN.whole_result())
    for _path in _removed:
        print(f"rnnbench: removed a stale lock left by a killed run: {_path}", file=sys.stderr)
    for _path in _kept:
        print(f"rnnbench: kept {_path}, written whole before a kill", file=sys.stderr)

# The names the rules use.
RUNS, JOBS = PLAN.runs, PLAN.jobs  # {run id: RunConfig dict}, {job id: [run id, ...]}
RUNS_PER_STACK = PLAN.runs_per_stack
EXPECTED_HASHES = PLAN.expected_hashes  # the tables rule refuses a result with another
CONFIG_HASH, SKIP_BAD, REPORT_SETTINGS = PLAN.config_hash, PLAN.skip_bad, PLAN.report_settings
THROUGHPUT, COMPARE_WITH = PLAN.throughput, PLAN.compare_with
INIT_PROBES, DEPTH, STUDY_DEVICE = PLAN.init_probes, PLAN.depth, PLAN.device
TABLES, FIGURE_NAMES, FIGURES = PLAN.tables, PLAN.figure_names, PLAN.figures
# Pages of the Snakemake report that show as HTML inside it (rules report_html, table_html): REPORT.md
# rendered with its figures embedded, and the tables a reader browses.
HTML_TABLES, TABLE_NOTES, REPORT_PAGES = PLAN.html_tables, study_plan.TABLE_NOTES, PLAN.report_pages
COMPARE = PLAN.compare
run_files, model_files, gpu_slots, job_priority = PLAN.run_files, PLAN.model_files, PLAN.gpu_slots, PLAN.job_priority

# Many runs per GPU: each CUDA job takes one `gpu_slots` (Snakemake resources are integers, so a share of
# a GPU is one slot of jobs_per_gpu), and a local run has jobs_per_gpu slots unless the command line
# gives its own (`--resources gpu_slots=N`). Every CUDA job trains on torch's `cuda` device, the first
# visible GPU (CUDA_VISIBLE_DEVICES picks it), so the slots are that one GPU's. On a cluster each job
# gets its own GPU from SLURM (profiles/slurm-gpu) and no limit is set here.
if workflow.is_main_process and getattr(workflow, "local_exec", True) and "gpu_slots" not in workflow.global_resources:
    workflow.global_resources["gpu_slots"] = PLAN.jobs_per_gpu
    if any(gpu_slots(members[0]) for members in JOBS.values()):
        print(f"rnnbench: CUDA jobs share the GPU {PLAN.jobs_per_gpu} at a time (jobs_per_gpu)", file=sys.stderr)


def share_rule_settings(name, rules):
    """Each of ``rules`` gets the --set-threads/--set-resources the profile gave rule ``name``
    (rnnbench.study.pipeline.plan.share_rule_settings says why, and on which Snakemake versions it was checked)."""
    study_plan.share_rule_settings(workflow.resource_settings, name, rules)
