# REPORT.md: the headline table, decay rates, literature comparison and provenance.


rule report_md:
    input:
        runs="results/tables/runs.csv",
        gradflow="results/tables/gradflow.csv",
        curves="results/tables/curves.csv",
        jobs="results/tables/jobs.csv",
        timings="results/tables/timings.csv",
        skipped="results/tables/skipped.csv",
        throughput=["results/tables/throughput.csv"] if THROUGHPUT else [],
        init_probes=["results/tables/init_probes.csv"] if INIT_PROBES else [],
        figures=[f for f in FIGURES if f.endswith(".png")],
    output:
        report("results/REPORT.md", caption="../report/report_md.rst", category="report"),
    log:
        "results/logs/report_md.log",
    params:
        config_hash=CONFIG_HASH,
        settings=REPORT_SETTINGS,
    script:
        "../scripts/report_md.py"


# The Snakemake report shows HTML inline but Markdown and CSV only as downloads: REPORT.md as one
# self-contained HTML page (figures embedded), and the main tables as browsable HTML tables. One job
# writes them all (one Python start-up instead of one per page).
rule report_html:
    input:
        md="results/REPORT.md",
        figures=[f for f in FIGURES if f.endswith(".png")],
        tables=[f"results/tables/{t}.csv" for t in HTML_TABLES],
    output:
        report=report(
            "results/REPORT.html",
            caption="../report/report_html.rst",
            category="report",
            labels={"page": "REPORT: findings, headline, decay rates, literature verdicts"},
        ),
        tables=[
            report(
                f"results/tables/{t}.html",
                caption="../report/table_html.rst",
                category="tables",
                labels={"table": f"{t}.csv"},
            )
            for t in HTML_TABLES
        ],
    log:
        "results/logs/report_html.log",
    params:
        notes=[TABLE_NOTES[t] for t in HTML_TABLES],
    script:
        "../scripts/report_html.py"
