"""``python -m rnnbench.study.papers RESULTS_DIR --out DIR --study paper-cpu|paper-gpu``: the paper studies' report."""

from rnnbench.study.papers.report import main

main()
