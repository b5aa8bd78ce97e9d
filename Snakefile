# rnnbench study pipeline: the table of contents.
#
#   snakemake --cores all                                  # the default study (config/config.yaml)
#   snakemake --cores all --configfile config/smoke.yaml   # a tiny study, for CI
#   snakemake --report results/report.html                 # HTML report of the last run
#
# `rule all` lives here, not in an included file: an include resets the default target, so a
# Snakefile that only includes another runs nothing (snakemake issues #2773, #2056).

# --configfile FILE replaces the default rather than being deep-merged into it, so a key left out of
# FILE never leaks in from the default study.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/harness.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/docs.smk"
include: "workflow/rules/throughput.smk"
include: "workflow/rules/literature.smk"


rule all:
    input:
        # the runs are targets too: Snakemake (>= 7.7) does not remake a deleted intermediate file
        # whose downstream outputs exist, so without this a deleted run would never come back
        run_files(),
        model_files(),  # empty unless save_models: true
        TABLES,
        FIGURES,
        "results/REPORT.md",
        REPORT_PAGES,
        COMPARE,
    default_target: True
