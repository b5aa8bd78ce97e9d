"""The Snakemake pipeline: dry runs of every shipped config, config validation before any job,
and the smoke study end to end in a temporary directory (tables, figures, REPORT.md, HTML report,
re-runs, byte-identical tables from a second run, foreign results refused), and a run killed with
SIGKILL then resumed by the same command."""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
import yaml

from rnnbench.study.pipeline.results import run_id_of
from rnnbench.study.pipeline.sweep import expand, train_jobs
from rnnbench.training.batched import PER_RUN_FIELDS, STACKABLE_BACKENDS
from rnnbench.training.config import RunConfig

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p.name for p in (REPO / "config").glob("*.yaml"))
FIGURES = [
    "fig1_gradflow_cells",
    "fig2_exploding_gains",
    "fig3_clipping",
    "fig4_length_sweep_loss",
    "fig4_length_sweep_accuracy",
    "fig5_learning_curves",
]
LITERATURE_FIGURES = ["fig1b_gradflow_paper_scale", "fig7_depth"]  # rnnbench.study.figures.literature


def copy_workflow(dest: Path) -> Path:
    """A fresh copy of the workflow (not the package) in ``dest``, so runs never touch the checkout;
    ``profiles/`` too, for the default workflow profile that every plain ``snakemake`` reads."""
    shutil.copy(REPO / "Snakefile", dest / "Snakefile")
    for d in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / d, dest / d)
    return dest


TABLE_FILES = ["runs.csv", "gradflow.csv", "curves.csv", "timings.csv", "skipped.csv"]
# all timings by nature: they differ between two runs of the same study
TIMED_TABLES = {"timings.csv", "throughput.csv", "jobs.csv"}  # wall times: differ run to run


def snakemake(cwd: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True, timeout=600,
        env=None if env is None else {**os.environ, **env},
    )  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a (dry) run: {rule: count}."""
    counts = {}
    for line in output.split("Job stats:", 1)[-1].splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


def training_jobs(counts: dict[str, int]) -> int:
    return sum(n for rule, n in counts.items() if re.fullmatch(r"train_\d+", rule))


def test_shipped_configs_exist():
    assert {"config.yaml", "smoke.yaml", "paper.yaml"} <= set(CONFIGS)


@pytest.mark.parametrize("name", CONFIGS)
def test_dry_run(tmp_path, name):
    wd = copy_workflow(tmp_path)
    config = yaml.safe_load(open(wd / "config" / name))
    # a study on `device: cuda` (paper-gpu) is refused before any job where torch finds no CUDA; its plan
    # is then checked as a cluster's login node makes it (tests/test_paper_gpu.py plans it under faked CUDA)
    local = (
        []
        if config.get("device") != "cuda" or __import__("torch").cuda.is_available()
        else ["--config", "local_cuda_check=false"]
    )
    proc = snakemake(wd, "-n", "--configfile", f"config/{name}", *local)
    counts = job_counts(proc.stdout)
    runs = expand(config)
    jobs = train_jobs(runs, config["runs_per_job"], config["runs_per_stack"], PER_RUN_FIELDS, STACKABLE_BACKENDS)
    # one rule per training job (train_0, train_1, ...), each a single job; together they make every run
    assert training_jobs(counts) == len(jobs) > 0 and all(n == 1 for r, n in counts.items() if r.startswith("train_"))
    assert sum(len(m) for m in jobs.values()) == len(runs)
    for rule in ("tables", "report_md", "all", *FIGURES):
        assert counts[rule] == 1, rule
    assert not (wd / "results").exists()


def test_compare_throughput_in_the_pipeline(tmp_path):
    """config compare_throughput adds the comparison job; a table that is not there stops the parse."""
    wd = copy_workflow(tmp_path)
    other = tmp_path / "other_machine.csv"
    other.write_text("cell\n")  # only its existence is checked while parsing; rnnbench.bench.compare reads it
    out = snakemake(wd, "-n", "--configfile", "config/smoke.yaml", "--config", f'compare_throughput=["{other}"]')
    assert job_counts(out.stdout)["compare_throughput"] == 1
    bad = ["-n", "--configfile", "config/smoke.yaml", "--config", 'compare_throughput=["nope.csv"]']
    proc = snakemake(wd, *bad, check=False)
    assert proc.returncode != 0 and "compare_throughput: 'nope.csv' is not a file" in proc.stdout + proc.stderr


def test_profile_settings_for_train_reach_every_training_job(tmp_path):
    """Profiles say `train` (profiles/slurm: set-threads, set-resources); the jobs' rules are train_<i>."""
    wd = copy_workflow(tmp_path)
    args = ["--set-threads", "train=3", "--set-resources", "train:mem_mb=1234", "train:runtime=77", "--cores", "4"]
    out = snakemake(wd, "-n", "--configfile", "config/config.yaml", *args).stdout
    blocks = [b for b in out.split("rule ")[1:] if re.match(r"train_\d+:", b)]
    assert len(blocks) == 15  # the default study's 176 runs at runs_per_job 12 (the orthogonal RNN's do not stack)
    for block in blocks:
        assert "threads: 3" in block and "runtime=77" in block and "mem_mb=1234" in block, block[-300:]


def test_default_config_is_the_default(tmp_path):
    wd = copy_workflow(tmp_path)
    plain = job_counts(snakemake(wd, "-n").stdout)
    explicit = job_counts(snakemake(wd, "-n", "--configfile", "config/config.yaml").stdout)
    assert plain == explicit


def test_configfile_replaces_the_default(tmp_path):
    """A --configfile without the copy task runs no copy runs (nothing leaks in from the default)."""
    wd = copy_workflow(tmp_path)
    cfg = yaml.safe_load(open(wd / "config" / "smoke.yaml"))
    del cfg["sweep"]["tasks"]["copy"]
    (wd / "nocopy.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(wd, "-n", "--configfile", "nocopy.yaml")
    assert "task~copy" not in proc.stdout
    assert "task~adding" in proc.stdout


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda c: c["sweep"]["tasks"]["adding"].update(lengths=[5, -10]), ["-10 is less than the minimum", "lengths"]),
        (lambda c: c["train"].update(hiden=8), ["'hiden' was unexpected", "train"]),
        (lambda c: c.update(devise="cpu"), ["'devise' was unexpected"]),
        (lambda c: c["clipping"]["optimizers"].update(sgd={"lr": -0.1}), ["-0.1 is less than or equal to", "lr"]),
        (lambda c: c.pop("gains"), ["'gains' is a required property"]),
    ],
    ids=["negative-length", "misspelt-train-key", "misspelt-top-key", "negative-lr", "missing-study"],
)
def test_malformed_config_fails_before_any_job(tmp_path, edit, expected):
    wd = copy_workflow(tmp_path)
    cfg = yaml.safe_load(open(wd / "config" / "smoke.yaml"))
    edit(cfg)
    (wd / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(wd, "--cores", "1", "--configfile", "bad.yaml", check=False)
    message = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Error validating config file" in message
    for text in expected:
        assert text in message, message
    assert not (wd / "results").exists(), "a job ran despite the bad config"


def test_an_unknown_cell_fails_before_any_job(tmp_path):
    """A misspelt cell passes the schema (it could be an installed cell's entry-point name, which a schema
    cannot know) and is refused by the cell resolver while the workflow is parsed, naming it and the choices."""
    wd = copy_workflow(tmp_path)
    cfg = yaml.safe_load(open(wd / "config" / "smoke.yaml"))
    cfg["sweep"]["cells"] = ["rnn", "lstmm"]
    (wd / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(wd, "--cores", "1", "--configfile", "bad.yaml", check=False)
    message = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "sweep run task~adding/cell~lstmm/length~5/clip~none/seed~0: cell 'lstmm' is not allowed" in message
    assert "choose a built-in cell (rnn, lstm, gru, orthogonal)" in message
    assert not (wd / "results").exists(), "a job ran despite the bad config"


def test_gradflow_length_outside_the_sweep_is_refused(tmp_path):
    wd = copy_workflow(tmp_path)
    cfg = yaml.safe_load(open(wd / "config" / "smoke.yaml"))
    cfg["report"]["gradflow_length"] = 77
    (wd / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(wd, "-n", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    assert "report.gradflow_length 77" in proc.stdout + proc.stderr


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused_before_any_job(tmp_path):
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "--cores", "1", "--configfile", "config/smoke.yaml", "--config", "device=cuda", check=False)
    assert proc.returncode != 0
    assert "device 'cuda' was asked for, but torch finds no CUDA device" in proc.stdout + proc.stderr
    assert not (wd / "results").exists()
    # a cluster driver on a login node without a GPU turns the check off (profiles/slurm-gpu)
    ok = snakemake(wd, "-n", "--configfile", "config/smoke.yaml", "--config", "device=cuda", "local_cuda_check=false")
    assert ok.returncode == 0


def test_study_larger_than_max_runs_is_announced_and_refused(tmp_path):
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "--cores", "1", "--configfile", "config/smoke.yaml", "--config", "max_runs=3", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "more than max_runs = 3" in out
    assert "this study has" in out and not (wd / "results").exists()


def test_bad_throughput_grid_is_refused_before_any_job(tmp_path):
    wd = copy_workflow(tmp_path)
    cfg = yaml.safe_load(open(wd / "config" / "smoke.yaml"))
    cfg["throughput"]["backend"] = ["fused", "cudnn"]
    (wd / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(wd, "--cores", "1", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0 and "backend 'cudnn'" in proc.stdout + proc.stderr
    assert not (wd / "results").exists()


# ---- the smoke study, end to end ------------------------------------------------------------


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Path:
    """Run the smoke study once; the tests below read its outputs."""
    wd = copy_workflow(tmp_path_factory.mktemp("smoke"))
    snakemake(wd, "--cores", "2", "--configfile", "config/smoke.yaml")
    return wd


@pytest.mark.slow
def test_runs_table(smoke):
    runs = pd.read_csv(smoke / "results/tables/runs.csv")
    cfg = yaml.safe_load(open(smoke / "config/smoke.yaml"))
    sweep = runs[runs["study"] == "sweep"]
    n_lengths = sum(len(t["lengths"]) for t in cfg["sweep"]["tasks"].values())
    assert len(sweep) == n_lengths * len(cfg["sweep"]["cells"]) * len(cfg["sweep"]["clip"]) * len(cfg["sweep"]["seeds"])
    for col in ("run", "task", "cell", "length", "clip", "seed", "hidden", "lr", "optimizer", "status", "final_loss",
                "baseline_loss", "loss_ratio", "accuracy", "solved", "steps_run", "config_hash", "rnnbench_version",
                "git_commit"):  # fmt: skip
        assert col in runs.columns, col
    # what differs from one run of the study to the next lives in timings.csv only
    for col in ("train_seconds", "wall_seconds", "throughput_seq_per_s", "cpu"):
        assert col not in runs.columns, col
    timings = pd.read_csv(smoke / "results/tables/timings.csv")
    assert list(timings.columns[:7]) == ["run", "study", "config_hash", "rnnbench_version", "train_seconds",
                                         "work_seconds", "wall_seconds"]  # fmt: skip
    assert sorted(timings["run"]) == sorted(runs["run"]) and (timings["train_seconds"] > 0).all()
    assert (timings["wall_seconds"] > 0).all()
    assert set(runs["status"]) <= {"ok", "diverged"}
    assert runs["run"].is_unique and runs["config_hash"].is_unique
    ok = runs[runs["status"] == "ok"]
    assert (ok["loss_ratio"] - ok["final_loss"] / ok["baseline_loss"]).abs().max() < 1e-9
    assert (sweep[sweep["task"] == "adding"]["baseline_loss"] - 1 / 6).abs().max() < 1e-12
    assert (sweep["steps_run"] == cfg["train"]["steps"]).all()
    assert set(sweep["cell"]) == set(cfg["sweep"]["cells"])
    # the smoke study's unclipped SGD run explodes: it is kept and marked, its loss left empty, not zero
    sgd = runs[(runs["study"] == "clipping") & (runs["optimizer"] == "sgd")]
    unclipped, clipped = sgd[sgd["clip"].isna()], sgd[sgd["clip"].notna()]
    assert (unclipped["status"] == "diverged").all() and len(unclipped) > 0
    assert not unclipped["solved"].any()
    assert (clipped["status"] == "ok").all()
    assert (unclipped["diverged_step"] < unclipped["steps"]).all()


@pytest.mark.slow
def test_gradflow_and_curves_tables(smoke):
    gf = pd.read_csv(smoke / "results/tables/gradflow.csv")
    for col in ("run", "cell", "task", "length", "init", "step", "t", "distance", "grad_norm", "decay_factor"):
        assert col in gf.columns, col
    assert (gf["distance"] >= 0).all() and (gf["grad_norm"] >= 0).all()
    # every probe of length T has T time steps (copy: T+20) per layer and direction, at step 0 and after training
    for (run, _step, _state, _layer, _direction), g in gf.groupby(["run", "step", "state", "layer", "direction"]):
        T = g["length"].iloc[0] + (20 if g["task"].iloc[0] == "copy" else 0)
        assert sorted(g["t"]) == list(range(T)), run
    runs = pd.read_csv(smoke / "results/tables/runs.csv").set_index("run")
    for run, g in gf.groupby("run"):
        ok = runs.loc[run, "status"] == "ok"
        assert set(g["step"]) == ({0, runs.loc[run, "steps"]} if ok else {0}), run
    rnn = gf[(gf["study"] == "sweep") & (gf["cell"] == "rnn") & (gf["step"] == 0)]
    assert (rnn["decay_factor"] < 1).all(), "the vanilla RNN's gradient should vanish at initialisation"
    curves = pd.read_csv(smoke / "results/tables/curves.csv")
    assert set(curves["kind"]) == {"train", "eval"}
    train = curves[curves["kind"] == "train"]
    per_run = train.groupby("run").size()
    steps = runs["steps_run"]
    # a diverged run's curve holds its last, non-finite step too
    diverged = set(runs[runs["status"] == "diverged"].index)
    for run, n in per_run.items():
        assert n == steps[run] + (run in diverged), run
    assert train["clipped"].isin([True, False]).all()


@pytest.mark.slow
def test_figures_are_valid_pngs(smoke):
    for name in [*FIGURES, *LITERATURE_FIGURES]:
        png = smoke / f"results/figures/{name}.png"
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        img = matplotlib.image.imread(png)
        assert img.shape[0] > 200 and img.shape[1] > 300, name
        assert img[..., :3].std() > 0.01, f"{name} is blank"
        assert (smoke / f"results/figures/{name}.pdf").stat().st_size > 1000


@pytest.mark.slow
def test_figures_carry_provenance_and_pdf_is_byte_stable(smoke, tmp_path):
    from PIL import Image

    from rnnbench.study.figures import literature
    from rnnbench.study.figures.training import render

    runs = pd.read_csv(smoke / "results/tables/runs.csv")
    commit = runs["git_commit"].iloc[0]
    png = Image.open(smoke / "results/figures/fig4_length_sweep_loss.png")
    assert "config hash" in png.text["Description"] and commit in png.text["Description"]
    assert round(png.info["dpi"][0]) == 300
    pdf = (smoke / "results/figures/fig4_length_sweep_loss.pdf").read_bytes()
    assert b"CreationDate" not in pdf
    # TrueType (Type 42: a CIDFontType2 descendant) embedded, never Type 3, which IEEE and ACM reject
    for name in [*FIGURES, "fig6_throughput", *LITERATURE_FIGURES]:
        data = (smoke / f"results/figures/{name}.pdf").read_bytes()
        assert b"/Subtype /Type3" not in data and b"/CIDFontType2" in data, name
    tables = {"runs": str(smoke / "results/tables/runs.csv")}
    again = [tmp_path / "a.pdf", tmp_path / "b.pdf"]
    pngs = [tmp_path / "a.png", tmp_path / "b.png"]
    for p, q in zip(again, pngs, strict=True):
        render("fig4_length_sweep_loss", tables, str(q), str(p), "abc", {})
    assert again[0].read_bytes() == again[1].read_bytes()
    assert pngs[0].read_bytes() == pngs[1].read_bytes()
    # figures 1b and 7 (their own module), drawn twice from the smoke tables: the same bytes
    tables = {t: str(smoke / f"results/tables/{t}.csv") for t in ("runs", "gradflow", "init_probes")}
    for name in LITERATURE_FIGURES:
        for p, q in zip(again, pngs, strict=True):
            literature.render(name, tables, str(q), str(p), "abc", {})
        assert again[0].read_bytes() == again[1].read_bytes(), name
        assert pngs[0].read_bytes() == pngs[1].read_bytes(), name


@pytest.mark.slow
def test_report_md_has_the_headline_table(smoke):
    text = (smoke / "results/REPORT.md").read_text()
    assert "## Headline" in text
    assert "| cell | clipping | longest T solved | T=5 | T=10 |" in text
    for cell in ("rnn", "lstm", "gru"):
        assert re.search(rf"^\| {cell} \| no clipping \| ", text, re.M), cell
    assert "## Comparison with the literature" in text
    assert "Pascanu et al. 2013 §3.2" in text
    runs = pd.read_csv(smoke / "results/tables/runs.csv")
    assert runs["git_commit"].iloc[0] in text
    for name in FIGURES:
        assert f"figures/{name}.png" in text


def test_jobs_table_and_harness_section(smoke):
    """The study trains in stacked jobs and the report accounts for the time outside their work."""
    config = yaml.safe_load((smoke / "config/smoke.yaml").read_text())
    runs = expand(config)
    planned = train_jobs(runs, config["runs_per_job"], config["runs_per_stack"], PER_RUN_FIELDS, STACKABLE_BACKENDS)
    jobs = pd.read_csv(smoke / "results/tables/jobs.csv")
    assert sorted(jobs["job"]) == sorted(planned) and jobs["runs"].sum() == len(runs)
    assert (jobs["work_seconds"] < jobs["job_wall_seconds"]).all() and (
        jobs["train_seconds"] <= jobs["work_seconds"]
    ).all()
    text = (smoke / "results/REPORT.md").read_text()
    assert re.search(rf"{len(runs)} runs were trained in {len(planned)} jobs", text)
    assert re.search(r"the fraction outside training, probes and evaluations was\s+\*\*\d+\.\d%\*\*", text)


@pytest.fixture(scope="module")
def smoke_report(smoke) -> Path:
    """The smoke study's Snakemake report, built once for the tests that read it."""
    snakemake(smoke, "--configfile", "config/smoke.yaml", "--report", "results/report.html")
    return smoke / "results/report.html"


@pytest.mark.slow
def test_html_report_builds(smoke_report):
    html = smoke_report.read_text(errors="replace")
    assert len(html) > 100_000
    for name in FIGURES:
        assert f"{name}.png" in html, name
    for page in ("REPORT.html", "runs.html", "throughput.html"):
        assert f"results/{'tables/' if page != 'REPORT.html' else ''}{page}" in html, page


@pytest.mark.slow
def test_report_html_is_self_contained(smoke):
    """REPORT.html: REPORT.md's tables as HTML tables and every figure it links embedded (no file links)."""
    text = (smoke / "results/REPORT.html").read_text()
    md = (smoke / "results/REPORT.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert {f"figures/{name}.png" for name in [*FIGURES, "fig6_throughput"]} <= set(linked)  # smoke has fig 6
    for link in linked:
        assert (smoke / "results" / link).is_file(), link  # relative to REPORT.md itself
    assert text.count('src="data:image/png;base64,') == len(linked)
    assert not re.search(r'src="(?!data:)', text)
    assert "<th>longest T solved</th>" in text and "<th>verdict</th>" in text
    runs = pd.read_csv(smoke / "results/tables/runs.csv")
    page = (smoke / "results/tables/runs.html").read_text()
    assert page.count("<tr") == len(runs) + 1  # every run, and the header


def test_every_report_table_row_has_the_headers_cells(smoke):
    """REPORT.md and REPORT.html: no free-text cell splits its row (issue 22: the first claim's
    |f′·w| < 1 did, and the verdict column showed our settings)."""
    from rnnbench.study.tables.mdtable import table_shapes

    md = (smoke / "results/REPORT.md").read_text()
    shapes = table_shapes(md)
    assert len(shapes) >= 3
    for header, rows in shapes:
        assert all(n == header for n in rows), (header, rows)
    tables = re.findall(r"<table>.*?</table>", (smoke / "results/REPORT.html").read_text(), re.S)
    assert len(tables) == len(shapes)
    for table in tables:
        head = len(re.findall(r"<th[ >]", table))
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
            assert len(re.findall(r"<td[ >]", row)) == head, row


@pytest.mark.slow
@pytest.mark.browser
def test_report_opens_in_a_browser(smoke_report, chromium, tmp_path):
    """The Snakemake report in headless Chromium: every figure decodes (natural width > 0), and the
    REPORT page opens inside it showing the headline table and the literature verdicts as text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(chromium, 30)
    chromium.get(smoke_report.as_uri())
    wait.until(lambda d: d.execute_script("return typeof results !== 'undefined'"))
    # every image the report holds, decoded by the browser itself
    widths = chromium.execute_async_script(
        """const done = arguments[arguments.length - 1];
        const images = Object.entries(results).filter(([, r]) => r.mime_type.startsWith("image/"));
        Promise.all(images.map(([path, r]) => new Promise(resolve => {
            const img = new Image();
            img.onload = () => resolve([path, img.naturalWidth]);
            img.onerror = () => resolve([path, 0]);
            img.src = r.data_uri;
        }))).then(pairs => done(Object.fromEntries(pairs)));"""
    )
    expected = {f"results/figures/{name}.png" for name in [*FIGURES, "fig6_throughput"]}
    assert expected <= set(widths), sorted(widths)
    assert all(w > 0 for w in widths.values()), widths
    # open the REPORT page the way a reader does: category "report", then its view (eye) button
    wait.until(ec.element_to_be_clickable((By.LINK_TEXT, "report"))).click()
    eye = "//*[contains(text(), 'results/REPORT.html')]/ancestor::tr[1]//a[@iconname='eye']"
    wait.until(ec.element_to_be_clickable((By.XPATH, eye))).click()
    frame = wait.until(ec.presence_of_element_located((By.TAG_NAME, "iframe")))
    chromium.switch_to.frame(frame)
    wait.until(lambda d: "Headline" in d.find_element(By.TAG_NAME, "body").text)
    headers = [th.text for th in chromium.find_elements(By.TAG_NAME, "th")]
    assert "longest T solved" in headers and "verdict" in headers
    body = chromium.find_element(By.TAG_NAME, "body").text
    assert "Comparison with the literature" in body and "Pascanu et al. 2013 §3.2" in body
    verdicts = [row.find_elements(By.TAG_NAME, "td")[3].text for row in chromium.find_elements(
        By.XPATH, "//h2[contains(., 'literature')]/following-sibling::table[1]/tbody/tr")]  # fmt: skip
    assert verdicts and all(v for v in verdicts), verdicts
    figures = chromium.execute_script("return Array.from(document.images).map(i => i.complete && i.naturalWidth)")
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (smoke_report.parent / "REPORT.md").read_text())
    assert len(figures) == len(linked) > len(FIGURES) and all(w and w > 0 for w in figures), figures
    chromium.switch_to.default_content()
    shot = tmp_path / "report.png"
    assert chromium.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


@pytest.mark.browser
def test_report_first_screen_shows_the_findings_and_figure_1(smoke, chromium, tmp_path):
    """REPORT.html at 1280×800, as it opens: the whole Findings section and figure 1 beside it lie inside the
    window (nothing to scroll to), the figure decoded and on top where it is drawn."""
    chromium.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}
    )
    chromium.get((smoke / "results/REPORT.html").as_uri())
    seen = chromium.execute_script(
        """const section = document.getElementById("findings").closest("section");
        const img = section.querySelector("figure img");
        const s = section.getBoundingClientRect(), i = img.getBoundingClientRect();
        const hit = document.elementFromPoint(i.left + i.width / 2, i.top + i.height / 2);
        return {width: innerWidth, height: innerHeight, scrolled: scrollY, sentences: section.querySelectorAll("li").length,
                section: [s.top, s.bottom], image: [i.top, i.bottom, i.left, i.right], alt: img.alt,
                decoded: img.complete && img.naturalWidth, onTop: hit === img};"""
    )
    assert (seen["width"], seen["height"], seen["scrolled"]) == (1280, 800, 0), seen
    assert seen["sentences"] >= 5 and 0 <= seen["section"][0] and seen["section"][1] <= 800, seen
    top, bottom, left, right = seen["image"]
    assert seen["alt"] == "fig1_gradflow_cells" and seen["decoded"] and seen["onTop"], seen
    assert 0 <= top and bottom <= 800 and right <= 1280 and right - left >= 400, seen
    shot = tmp_path / "first-screen.png"
    assert chromium.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


@pytest.mark.slow
def test_rerun_does_nothing_then_only_a_deleted_run_reruns(smoke):
    proc = snakemake(smoke, "-n", "--configfile", "config/smoke.yaml")
    assert "Nothing to be done" in proc.stdout + proc.stderr
    victim = next((smoke / "results/runs").rglob("seed~0.json"))
    victim.unlink()
    plan = job_counts(snakemake(smoke, "-n", "--configfile", "config/smoke.yaml").stdout)
    assert training_jobs(plan) == 1 and plan["tables"] == 1, plan
    # run it (up to the tables, to keep the suite short): exactly the job of that run is trained again
    rel = str(victim.relative_to(smoke))
    proc = snakemake(smoke, rel, "results/tables/runs.csv", "--cores", "2", "--configfile", "config/smoke.yaml")
    counts = job_counts(proc.stdout + proc.stderr)
    assert training_jobs(counts) == 1 and counts["tables"] == 1 and len(counts) == 2, counts
    assert victim.exists()
    config = yaml.safe_load((smoke / "config/smoke.yaml").read_text())
    planned = train_jobs(
        expand(config), config["runs_per_job"], config["runs_per_stack"], PER_RUN_FIELDS, STACKABLE_BACKENDS
    )
    job = json.loads(victim.read_text())["env"]["job"]["id"]
    assert str(victim.relative_to(smoke / "results/runs"))[: -len(".json")] in planned[job]


@pytest.mark.slow
def test_every_table_row_carries_the_config_hash_and_version(smoke):
    from rnnbench.core.provenance import rnnbench_version

    runs = pd.read_csv(smoke / "results/tables/runs.csv")
    cfg = yaml.safe_load(open(smoke / "config/smoke.yaml"))
    expected = {rid: RunConfig.from_dict(rc).config_hash() for rid, rc in expand(cfg).items()}
    assert dict(zip(runs["run"], runs["config_hash"], strict=True)) == expected
    for name in ("runs", "gradflow", "curves", "timings"):
        table = pd.read_csv(smoke / f"results/tables/{name}.csv")
        assert len(table) > 0, name
        assert table["rnnbench_version"].notna().all() and set(table["rnnbench_version"]) == {rnnbench_version()}
        # each row's hash is its run's: no row lost it, none took another run's
        assert (table["config_hash"] == table["run"].map(expected)).all(), name


@pytest.mark.slow
def test_nothing_skipped_is_said_in_the_report(smoke):
    skipped = pd.read_csv(smoke / "results/tables/skipped.csv")
    assert list(skipped.columns) == ["path", "reason"] and skipped.empty
    text = (smoke / "results/REPORT.md").read_text()
    assert "## Skipped result files\n\nNone: every result file was read" in text


@pytest.mark.slow
def test_tables_are_byte_identical_between_two_runs(smoke, tmp_path):
    """A second smoke study in another directory: every table but the timings is the same, byte for byte."""
    other = copy_workflow(tmp_path)
    snakemake(other, "--cores", "2", "--configfile", "config/smoke.yaml")
    names = sorted(p.name for p in (smoke / "results/tables").glob("*.csv"))
    assert set(TABLE_FILES) <= set(names)
    assert names == sorted(p.name for p in (other / "results/tables").glob("*.csv"))
    compared = [n for n in names if n not in TIMED_TABLES]
    match, mismatch, errors = filecmp.cmpfiles(
        smoke / "results/tables", other / "results/tables", compared, shallow=False
    )
    assert (mismatch, errors) == ([], []) and sorted(match) == compared
    # and the timings really differ (otherwise they would not need a table of their own)
    a, b = (pd.read_csv(d / "results/tables/timings.csv") for d in (smoke, other))
    assert list(a["run"]) == list(b["run"]) and not a["train_seconds"].equals(b["train_seconds"])


@pytest.mark.slow
def test_result_from_another_config_is_refused_then_skipped(smoke, tmp_path):
    """A run JSON made by another config, copied over one of this study's: Snakemake sees no reason
    to retrain it (its params trigger reads the metadata of the file it replaced), so aggregation
    must refuse it by name; with skip_bad it is left out and listed."""
    wd = tmp_path / "wd"
    shutil.copytree(smoke, wd, ignore=shutil.ignore_patterns("locks", "rnnbench-instances"))
    victim = wd / "results/runs/task~adding/cell~rnn/length~5/clip~none/seed~0.json"
    record = json.loads(victim.read_text())
    theirs = {**record["config"], "lr": 0.02}
    record["config"], record["config_hash"] = theirs, RunConfig.from_dict(theirs).config_hash()
    victim.write_text(json.dumps(record))
    rel = str(victim.relative_to(wd))
    proc = snakemake(wd, "results/tables/runs.csv", "--cores", "1", "--configfile", "config/smoke.yaml", check=False)
    log = (wd / "results/logs/tables.log").read_text()
    assert proc.returncode != 0 and "train" not in job_counts(proc.stdout + proc.stderr)
    assert f"{rel}: made by another configuration (config_hash {record['config_hash']}" in log, log
    mine = RunConfig.from_dict(expand(yaml.safe_load(open(wd / "config/smoke.yaml")))[run_id_of(rel)]).config_hash()
    assert f"expects {mine}" in log and "delete the file" in log
    assert not (wd / "results/tables/runs.csv").exists()  # a failed aggregation leaves no table
    proc = snakemake(wd, "results/tables/runs.csv", "--cores", "1", "--configfile", "config/smoke.yaml",
                     "--config", "skip_bad=true")  # fmt: skip
    skipped = pd.read_csv(wd / "results/tables/skipped.csv")
    assert list(skipped["path"]) == [rel] and "another configuration" in skipped["reason"].iloc[0]
    runs = pd.read_csv(wd / "results/tables/runs.csv")
    assert (
        run_id_of(rel) not in set(runs["run"])
        and len(runs) == len(expand(yaml.safe_load(open(wd / "config/smoke.yaml")))) - 1
    )


# ---- killed and resumed ---------------------------------------------------------------------

# Nine short runs in five jobs of at most two (stacked) runs, each job mostly Python start-up, the
# figures and the report: long enough to kill in the middle, short enough to run three times.
TINY = {
    "device": "cpu",
    "checkpoint_every": 50,
    "runs_per_job": 2,
    "runs_per_stack": 2,
    "train": {
        "steps": 200,
        "hidden": 16,
        "batch": 16,
        "optimizer": "adam",
        "lr": 0.01,
        "eval_every": 50,
        "eval_batch": 32,
        "probe_at": [0, -1],
    },  # fmt: skip
    "sweep": {"tasks": {"adding": {"lengths": [20]}}, "cells": ["rnn", "lstm", "gru"], "clip": [None], "seeds": [0, 1]},
    "gains": {"task": "adding", "length": 10, "cell": "rnn", "init": "orthogonal", "gains": [1.0], "seeds": [0]},
    "clipping": {
        "task": "adding",
        "length": 10,
        "cell": "rnn",
        "clip": [None, 1.0],
        "seeds": [0],
        "optimizers": {"adam": {"lr": 0.01}},
    },  # fmt: skip
    "report": {"gradflow_task": "adding", "gradflow_length": 20},
}


def run_jsons(wd: Path) -> dict[str, tuple[int, int]]:
    """Every run JSON under results/runs: {path: (inode, mtime_ns)}."""
    return {
        str(p.relative_to(wd)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in (wd / "results/runs").rglob("*.json")
    }


@pytest.mark.slow
def test_sigkill_then_the_same_command_resumes(tmp_path):
    """kill -9 Snakemake and its running job mid-study; every result left is whole, the same command
    then finishes without redoing a finished run, and the tables equal an uninterrupted run's."""
    from rnnbench.study.pipeline.results import load_result

    command = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "tiny.yaml"]
    ref, wd = tmp_path / "ref", tmp_path / "killed"
    for d in (ref, wd):
        d.mkdir()
        copy_workflow(d)
        (d / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    subprocess.run(command, cwd=ref, check=True, capture_output=True, timeout=600)
    n_runs = len(expand(TINY))

    jobs = train_jobs(expand(TINY), 2, 2, PER_RUN_FIELDS, STACKABLE_BACKENDS)
    outputs = {job: {f"results/runs/{rid}.json" for rid in rids} for job, rids in jobs.items()}
    assert len(jobs) == 5 and max(map(len, jobs.values())) == 2

    log = open(tmp_path / "killed.log", "w")
    proc = subprocess.Popen(command, cwd=wd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 300
    logs = wd / "results/logs/jobs"
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            done = run_jsons(wd)
            # a training job that has started (its log exists) and not finished (not all its JSONs yet)
            started = [p.relative_to(logs).with_suffix("").as_posix() for p in logs.rglob("*.log")]
            if done and any(not outputs[job] <= set(done) for job in started):
                time.sleep(0.5)  # into that job's training
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and the job it is running
        proc.wait(timeout=60)
    before = run_jsons(wd)
    assert 0 < len(before) < n_runs, f"the kill did not land mid-study ({len(before)} of {n_runs} runs done)"
    for path in before:
        load_result(wd / path)  # whole and valid: no half-written result
    finished = [job for job, files in outputs.items() if files <= set(before)]

    again = subprocess.run(command, cwd=wd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    # the kill left Snakemake's directory lock behind; the workflow removed it (no --unlock needed)
    assert "rnnbench: removed a stale lock left by a killed run" in again.stderr
    after = run_jsons(wd)
    assert len(after) == n_runs
    kept = {p for job in finished for p in outputs[job]}
    assert {p: after[p] for p in kept} == {p: before[p] for p in kept}, "a job finished before the kill ran again"
    counts = job_counts(again.stdout + again.stderr)
    assert training_jobs(counts) == len(jobs) - len(finished), counts
    for name in sorted(p.name for p in (ref / "results/tables").glob("*.csv")):
        if name not in TIMED_TABLES:
            assert filecmp.cmp(ref / "results/tables" / name, wd / "results/tables" / name, shallow=False), name
    assert (wd / "results/REPORT.md").exists()


# ---- bad pipeline inputs in docs/bad-inputs.md -----------------------------------------------

BAD_INPUTS = __import__("runpy").run_path(str(REPO / "scripts" / "bad_inputs.py"))


@pytest.mark.parametrize(
    "what, change, edit", BAD_INPUTS["PIPELINE_CASES"], ids=[case[0] for case in BAD_INPUTS["PIPELINE_CASES"]]
)
def test_every_pipeline_bad_input_in_the_docs_is_refused_before_any_job(what, change, edit):
    """Each pipeline row of docs/bad-inputs.md still holds: the real command fails while the workflow
    is parsed, leaves no results/ (checked inside pipeline_message), and prints the documented line."""
    if what.startswith("cuda") and __import__("torch").cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, line, output = BAD_INPUTS["pipeline_message"](edit)
    assert code != 0, output
    assert "Job stats" not in output and "rule train" not in output, "a job was scheduled"
    escaped = line.replace("|", "\\|")
    doc = (REPO / "docs" / "bad-inputs.md").read_text()
    assert f"| {what} | {change} | {code} | {escaped} |" in doc, f"docs/bad-inputs.md is out of date: {line}"


def test_save_models_refuses_the_notes_gru_before_any_job(tmp_path):
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--configfile", "config/smoke.yaml", "--config", "save_models=true", check=False)
    assert proc.returncode != 0
    assert "train the notes' GRU" in proc.stdout + proc.stderr and "reset_after: true" in proc.stdout + proc.stderr
    assert not (wd / "results").exists()


@pytest.mark.slow
def test_save_models_writes_torch_nn_weights_of_the_trained_runs(tmp_path):
    """save_models: true leaves results/models/<run id>.pt beside each run (through the checkpointed,
    staged path of the smoke config); loaded into torch.nn modules they give the run's final loss."""
    import torch

    from rnnbench.core.tasks import TASKS

    torch.set_default_dtype(torch.float32)  # as in the training job: the held-out batch is drawn in float32
    wd = copy_workflow(tmp_path)
    config = yaml.safe_load(open(wd / "config" / "smoke.yaml"))
    config["train"]["reset_after"] = True  # torch.nn.GRU's form: the notes' GRU has no torch.nn model
    config.update(save_models=True, runs_per_job=2)
    (wd / "config" / "models.yaml").write_text(yaml.safe_dump(config))
    rids = ["task~adding/cell~gru/length~5/clip~1.0/seed~0", "task~copy/cell~lstm/length~3/clip~none/seed~0"]
    snakemake(wd, *[f"results/models/{r}.pt" for r in rids], "--cores", "2", "--configfile", "config/models.yaml")
    assert not list((wd / "results").rglob("*.part")) and not list((wd / "results" / "checkpoints").glob("*.pt"))
    for rid in rids:
        result = json.loads((wd / "results" / "runs" / f"{rid}.json").read_text())
        cfg = RunConfig.from_dict(result["config"])
        task = TASKS[cfg.task]
        sd = torch.load(wd / "results" / "models" / f"{rid}.pt", weights_only=True)
        rnn = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cfg.cell](task.input_size, cfg.hidden, batch_first=True)
        rnn.load_state_dict({k.removeprefix("rnn."): v for k, v in sd.items() if k.startswith("rnn.")})
        head = torch.nn.Linear(cfg.hidden, task.output_size)
        head.load_state_dict({k.removeprefix("head."): v for k, v in sd.items() if k.startswith("head.")})
        x, y = task.generate(cfg.eval_batch, cfg.length, torch.Generator().manual_seed(cfg.eval_seed))
        with torch.no_grad():
            h = rnn(x)[0]
            out = head(h) if task.per_step_output else head(h[:, -1]).squeeze(-1)
            loss = task.loss(out, y).item()
        assert loss == pytest.approx(result["final_loss"], rel=1e-5), rid


# ---- the smoke study with a user's cell (issue 26) ----------------------------------------------------------
MINGRU = "modern_cells.mingru:MinGRUCell"  # examples/cells, on PYTHONPATH as a user's uninstalled package is


@pytest.fixture(scope="module")
def smoke_with_mingru(tmp_path_factory) -> Path:
    """The smoke study with the example plugin's minGRU added to the sweep and the depth study."""
    wd = copy_workflow(tmp_path_factory.mktemp("smoke_mingru"))
    config = yaml.safe_load(open(wd / "config" / "smoke.yaml"))
    for block in (config["sweep"], config["depth"]):
        block["cells"].append(MINGRU)
    (wd / "config" / "user-cell.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    path = os.pathsep.join(p for p in (str(REPO / "examples" / "cells"), os.environ.get("PYTHONPATH")) if p)
    snakemake(wd, "--cores", "2", "--configfile", "config/user-cell.yaml", env={"PYTHONPATH": path})
    return wd


@pytest.mark.slow
def test_a_user_cell_runs_through_the_smoke_study_to_the_report(smoke_with_mingru):
    wd = smoke_with_mingru
    runs = pd.read_csv(wd / "results/tables/runs.csv")
    mine = runs[runs["cell"] == MINGRU]
    assert set(mine["study"]) == {"sweep", "depth"} and (mine["status"] == "ok").all()
    assert (mine["cell_path"] == MINGRU).all() and runs[runs["cell"] != MINGRU]["cell_path"].isna().all()
    assert (mine["backend_used"] == "explicit").all()  # auto: a user cell trains on the explicit path, alone
    assert (
        wd / "results/runs/task~adding/cell~modern_cells.mingru.MinGRUCell/length~10/clip~1.0/seed~0.json"
    ).is_file()
    report = (wd / "results/REPORT.md").read_text()
    headline = report.split("## ", 2)[1]  # the first section: the headline tables
    assert re.search(rf"^\| {re.escape(MINGRU)} \| no clipping \|", report, re.M), headline
    assert re.search(rf"^\| {re.escape(MINGRU)} \| h \| init \|", report, re.M)  # the decay table
    assert MINGRU in (wd / "results/REPORT.html").read_text()
    # figure 1's data: the sweep's probes at the report's task and length, and its legend names the cell
    gradflow = pd.read_csv(wd / "results/tables/gradflow.csv")
    fig1 = gradflow[(gradflow["study"] == "sweep") & (gradflow["task"] == "adding") & (gradflow["length"] == 10)]
    assert set(fig1[fig1["cell"] == MINGRU]["step"]) == {0, config_steps(wd)}
    from rnnbench.study.figures.gradients import fig1_gradflow_cells

    fig = fig1_gradflow_cells(gradflow, "adding", 10)
    legend = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert any(text.startswith("minGRU: ×") for text in legend), legend  # its ``display``
    for name in ("fig1_gradflow_cells", "fig4_length_sweep_loss", "fig5_learning_curves", "fig7_depth"):
        assert (wd / f"results/figures/{name}.png").stat().st_size > 10_000, name


def config_steps(wd: Path) -> int:
    return yaml.safe_load(open(wd / "config" / "user-cell.yaml"))["train"]["steps"]
