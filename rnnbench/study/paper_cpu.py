"""Deprecated alias, kept for one release: ``python -m rnnbench.study.paper_cpu`` runs
``python -m rnnbench.study.papers`` (the module wrote both the paper-cpu and the paper-gpu report, so it
was renamed for what it is). Imported rather than run, it only points at the new module."""

if __name__ == "__main__":
    import sys

    from rnnbench.study.papers.report import main

    print("rnnbench.study.paper_cpu is deprecated: use python -m rnnbench.study.papers (same arguments)", file=sys.stderr)
    main()
