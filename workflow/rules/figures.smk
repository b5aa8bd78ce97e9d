# Figures: one rule per figure, all of the same shape; stable names under results/figures/.
# Each reads timings.csv too: a GPU study's titles name the GPU, CUDA, cuDNN and math mode recorded there.


rule fig1_gradflow_cells:
    input:
        runs="results/tables/runs.csv",
        timings="results/tables/timings.csv",
        gradflow="results/tables/gradflow.csv",
    output:
        png=report(
            "results/figures/fig1_gradflow_cells.png",
            caption="../report/fig1_gradflow_cells.rst",
            category="gradient flow",
            subcategory="vanishing",
        ),
        pdf="results/figures/fig1_gradflow_cells.pdf",
    log:
        "results/logs/figures/fig1_gradflow_cells.log",
    params:
        name="fig1_gradflow_cells",
        config_hash=CONFIG_HASH,
        settings=REPORT_SETTINGS,
    script:
        "../scripts/figure.py"


rule fig2_exploding_gains:
    input:
        runs="results/tables/runs.csv",
        timings="results/tables/timings.csv",
        gradflow="results/tables/gradflow.csv",
    output:
        png=report(
            "results/figures/fig2_exploding_gains.png",
            caption="../report/fig2_exploding_gains.rst",
            category="gradient flow",
            subcategory="exploding",
        ),
        pdf="results/figures/fig2_exploding_gains.pdf",
    log:
        "results/logs/figures/fig2_exploding_gains.log",
    params:
        name="fig2_exploding_gains",
        config_hash=CONFIG_HASH,
        settings=REPORT_SETTINGS,
    script:
        "../scripts/figure.py"


rule fig3_clipping:
    input:
        runs="results/tables/runs.csv",
        timings="results/tables/timings.csv",
        curves="results/tables/curves.csv",
    output:
        png=report(
            "results/figures/fig3_clipping.png",
            caption="../report/fig3_clipping.rst",
            category="gradient flow",
            subcategory="clipping",
        ),
        pdf="results/figures/fig3_clipping.pdf",
    log:
        "results/logs/figures/fig3_clipping.log",
    params:
        name="fig3_clipping",
        config_hash=CONFIG_HASH,
        settings=REPORT_SETTINGS,
    script:
        "../scripts/figure.py"


rule fig4_length_sweep_loss:
    input:
        runs="results/tables/runs.csv",
        timings="results/tables/timings.csv",
    output:
        png=report(
            "results/figures/fig4_length_sweep_loss.png",
            caption="../report/fig4_length_sweep_loss.rst",
            category="length sweep",
            subcategory="loss",
        ),
        pdf="results/figures/fig4_length_sweep_loss.pdf",
    log:
        "results/logs/figures/fig4_length_sweep_loss.log",
    params:
        name="fig4_length_sweep_loss",
        config_hash=CONFIG_HASH,
        settings=REPORT_SETTINGS,
    script:
        "../scripts/figure.py"


rule fig4_length_sweep_accuracy:
    input:
        runs="results/tables/runs.csv",
        timings="results/tables/timings.csv",
    output:
        png=report(
            "results/figures/fig4_length_sweep_accuracy.png",
            caption="../report/fig4_length_sweep_accuracy.rst",
            category="length sweep",
            subcategory="accuracy",
        ),
        pdf="results/figures/fig4_length_sweep_accuracy.pdf",
    log:
        "results/logs/figures/fig4_length_sweep_accuracy.log",
    params:
        name="fig4_length_sweep_accuracy",
        config_hash=CONFIG_HASH,
        settings=REPORT_SETTINGS,
    script:
        "../scripts/figure.py"


rule fig5_learning_curves:
    input:
        runs="results/tables/runs.csv",
        timings="results/tables/timings.csv",
        curves="results/tables/curves.csv",
    output:
        png=report(
            "results/figures/fig5_learning_curves.png",
            caption="../report/fig5_learning_curves.rst",
            category="length sweep",
            subcategory="learning curves",
        ),
        pdf="results/figures/fig5_learning_curves.pdf",
    log:
        "results/logs/figures/fig5_learning_curves.log",
    params:
        name="fig5_learning_curves",
        config_hash=CONFIG_HASH,
        settings=REPORT_SETTINGS,
    script:
        "../scripts/figure.py"
