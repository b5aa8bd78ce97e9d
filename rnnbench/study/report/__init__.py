"""Stage 5, the report: takes the tables, the verdicts and the figures' files; gives REPORT.md section by
section, its HTML with every figure embedded, and the conclusions read back from a report. No plotting library."""
