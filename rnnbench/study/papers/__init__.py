"""Stage 6, the paper studies' report: takes a finished paper-cpu or paper-gpu study's tables; gives its
REPORT.md and two figures (``python -m rnnbench.study.papers RESULTS --out DIR --study paper-cpu|paper-gpu``)."""
