"""The study: sweep expansion and job packing, the tables, figures, REPORT.md and its HTML,
the literature checks, the harness overhead and resuming after a kill. Imports every layer below."""
