"""Stage 1, the pipeline: takes a study's config; gives the runs it expands to, the jobs that train them,
the plan of tables and figures, the probes at initialisation, the run JSONs' format and resuming after a kill."""
