# The literature studies: the gradient at initialisation at a paper's own settings (probes only, no
# training; figure 1b) and the gradient through depth and time (the depth study's runs; figure 7).

if INIT_PROBES:

    rule init_probes:
        output:
            "results/tables/init_probes.csv",
        log:
            "results/logs/init_probes.log",
        params:
            spec=INIT_PROBES,
            device=STUDY_DEVICE,
        threads: config.get("threads_per_run", 1)
        resources:
            gpu_slots=int(STUDY_DEVICE == "cuda"),
        script:
            "../scripts/init_probes.py"

    rule fig1b_gradflow_paper_scale:
        input:
            runs="results/tables/runs.csv",
            timings="results/tables/timings.csv",  # the GPU and math mode the titles name
            init_probes="results/tables/init_probes.csv",
        output:
            png=report(
                "results/figures/fig1b_gradflow_paper_scale.png",
                caption="../report/fig1b_gradflow_paper_scale.rst",
                category="gradient flow",
                subcategory="vanishing",
            ),
            pdf="results/figures/fig1b_gradflow_paper_scale.pdf",
        log:
            "results/logs/figures/fig1b_gradflow_paper_scale.log",
        params:
            name="fig1b_gradflow_paper_scale",
            config_hash=CONFIG_HASH,
            settings=REPORT_SETTINGS,
        script:
            "../scripts/figure.py"


if DEPTH:

    rule fig7_depth:
        input:
            runs="results/tables/runs.csv",
            timings="results/tables/timings.csv",  # the GPU and math mode the titles name
            gradflow="results/tables/gradflow.csv",
        output:
            png=report(
                "results/figures/fig7_depth.png",
                caption="../report/fig7_depth.rst",
                category="gradient flow",
                subcategory="depth",
            ),
            pdf="results/figures/fig7_depth.pdf",
        log:
            "results/logs/figures/fig7_depth.log",
        params:
            name="fig7_depth",
            config_hash=CONFIG_HASH,
            settings=REPORT_SETTINGS,
        script:
            "../scripts/figure.py"
