"""Stage 2, the tables: takes the run JSONs; gives the long-form CSV tables (runs, gradflow, curves,
timings, skipped), the names cells and hardware go by in them, and the one Markdown table writer."""
