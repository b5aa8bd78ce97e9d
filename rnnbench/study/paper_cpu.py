"""The paper studies' report: each paper's claim beside ours, at the settings of each.

    python -m rnnbench.study.paper_cpu RESULTS_DIR --out docs/paper-cpu --wall-seconds S [S ...] [--study paper-gpu]

(``--wall-seconds``: one value per part of a study that was stopped and resumed from its checkpoints; the
report gives their sum and each part.)

Reads the pipeline's tables (``RESULTS_DIR/tables/runs.csv``, ``curves.csv``, ``gradflow.csv``,
``timings.csv``, ``jobs.csv``) of a finished ``config/paper-cpu.yaml`` or ``config/paper-gpu.yaml``
study (``--study``, ``STUDIES``) and writes ``REPORT.md`` and two small PNG figures. Every claim, setting,
curve reading and rule comes from the one registry, ``rnnbench.study.claims``; the trained claims are
judged at the budgets the papers' curves were read at (``rnnbench.study.paper_claims``), with intervals
over seeds (``rnnbench.study.verdicts``). A claim is reported where the study has its runs (task,
length, model), so each study shows the claims at its lengths; ours always come from the tables.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from rnnbench.core.tasks import ADDING_TOLERANCE  # noqa: E402
from rnnbench.study import claims as registry  # noqa: E402
from rnnbench.study import labels  # noqa: E402
from rnnbench.study.claims import CONVINCING, PAPER_STEPS  # noqa: E402
from rnnbench.study.mdtable import md_table  # noqa: E402
from rnnbench.study.paper_claims import (  # noqa: E402
    batch_choices,
    claim_rows,
    claim_table,
    figure_curves,
    settings_table,
    with_models,
)
from rnnbench.study.verdicts import judged  # noqa: E402

HS_ACCURACY = 0.99  # H&S 1997 stand-in: held-out fraction with |error| < ADDING_TOLERANCE at or above this

# The cells' names (rnnbench.study.labels), with the papers' own words where this report quotes them:
# Arjovsky et al. call the vanilla RNN the tanh RNN, and the GRU is named by its form (``model_names``).
# A cell added to the package gets its display name without an edit here.
CELL_NAMES = {**labels.CELL_NAMES, "rnn": "tanh RNN", "gru": "GRU (notes' form)"}
# how the notes' cells at the paper's settings differ from the paper's own model (the variants are theirs)
OURS_DIFFER = {
    "lstm": "no peephole V_o, h_0 = c_0 = 0 (not learned), torch's RMSprop (mean square from 0, eps 1e-8), "
    "fresh batches",
    "rnn": "h_0 = 0 (not learned), torch's RMSprop, fresh batches",
}


@dataclass(frozen=True)
class Study:
    """What differs between the paper studies' reports (the claims, curves and rule above do not)."""

    config: str
    title: str
    lengths: str  # which of the papers' lengths it runs
    where: str  # what ran, and what did not
    machine: str  # how the jobs ran; {cpu} {gpu} {note} are filled in
    not_checked: tuple[tuple[str, str], ...]  # (claim key of the registry, why this study does not check it)

    def not_checked_text(self) -> str:
        return "\n".join(
            f"- {c.source}: {c.says} — {why}." for key, why in self.not_checked for c in [registry.BY_KEY[key]]
        )


STUDIES = {
    "paper-cpu": Study(
        config="config/paper-cpu.yaml",
        title="Arjovsky et al.'s shortest settings at their scripts' 20,000 steps, on a 2-core CPU",
        lengths="their shortest lengths",
        where="No GPU was at hand in this project, so nothing here ran on one; `config/paper-gpu.yaml` runs the "
        "papers' full lengths (adding T up to 750, copy T up to 500, 20,000 steps) on a GPU, where `--backend "
        "auto` picks cuDNN.",
        machine="{cpu} with 2 cores shared with other engineers' jobs (tests and experiments{note}). Each job ran "
        "one torch thread; `--cores all` ran two at once.",
        not_checked=(
            ("arjovsky-adding-lstm-400", "T = 400 and 750 need hours per run on this CPU; config/paper-gpu.yaml"),
            ("arjovsky-copy-lstm-200", "copy T = 200–500 likewise; config/paper-gpu.yaml"),
            ("bai-gru-adding", "at their sizes (about 70k parameters, tuned optimizer) and T = 600, not these"),
        ),
    ),
    "paper-gpu": Study(
        config="config/paper-gpu.yaml",
        title="The papers' full lengths on one GPU",
        lengths="all their lengths",
        where="Arjovsky et al.'s every length (adding T = 100, 200, 400, 750; copy T = 100, 200, 300, 500) at "
        "their settings and their scripts' 20,000 steps, with torch's GRU (`nn.GRU`'s form) beside their tanh "
        "RNN and LSTM; every run on CUDA, cuDNN's fused kernels through `--backend auto`.",
        machine="{gpu}, driven by {cpu}{note}; `jobs_per_gpu` training jobs shared the GPU at once (one run each).",
        not_checked=(
            (
                "bai-gru-adding",
                "at their sizes (about 70k parameters, optimizer tuned per model) and T = 600; "
                "the GRU rows above are shown, not judged",
            ),
        ),  # fmt: skip
    ),
}


def _variants(config: str) -> dict[str, dict]:
    return (yaml.safe_load(Path(config).read_text()) or {}).get("variants", {}) if Path(config).exists() else {}


def same_models(config: str) -> dict[str, str]:
    """Each variant that repeats a model at another batch size (its ``same_model``), by name: ``lstm-b50`` ->
    ``lstm``; the report shows the two side by side and judges the model on the batch the rule picks."""
    return {name: v["same_model"] for name, v in _variants(config).items() if v.get("same_model")}


def model_differences(config: str) -> dict[str, str]:
    """How each model of the study differs from the paper's own: the notes' cells (``OURS_DIFFER``), and
    each variant in the words of its ``about`` in the study's config."""
    return {**OURS_DIFFER, **{name: v.get("about", "–") for name, v in _variants(config).items()}}


def model_names(runs: pd.DataFrame, config: str) -> dict[str, str]:
    """CELL_NAMES, with the GRU named by the form the study trained (``reset_after``: torch.nn.GRU's), our
    LSTM called ours, and each variant by its ``display`` in the study's config."""
    gru = runs[(runs["cell"] == "gru") & (runs["study"] == "sweep")]
    torch_form = "reset_after" in runs and not gru.empty and bool(gru["reset_after"].astype(str).eq("True").all())
    names = {**CELL_NAMES, "gru": "GRU (torch's form)"} if torch_form else dict(CELL_NAMES)
    variants = _variants(config)
    if variants:
        names["lstm"] = "LSTM (ours)"
    return {**names, **{name: v["display"] for name, v in variants.items()}}


def _fmt(x: float, digits: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}g}"


def hs_rows(runs: pd.DataFrame, curves: pd.DataFrame) -> list[dict]:
    """Hochreiter & Schmidhuber 1997: sequences seen until the held-out H&S accuracy first reaches
    ``HS_ACCURACY``, per seed, for each model's adding runs at T = 100."""
    runs, ev = with_models(runs), with_models(curves[curves["kind"] == "eval"])
    ev = ev[(ev["task"] == "adding") & (ev["length"] == 100)]
    rows = []
    for model, g in ev.groupby("model", sort=False):
        batch = int(runs[runs["run"].isin(set(g["run"]))]["batch"].iloc[0])
        per_seed = []
        for _, s in g.sort_values("step").groupby("seed"):
            hit = s[s["accuracy"] >= HS_ACCURACY]
            per_seed.append(
                f"{int(hit['step'].iloc[0]) * batch:,}" if len(hit) else f"not within {int(s['step'].max()) * batch:,}"
            )
        best = g.groupby("seed")["accuracy"].max()
        rows.append({"model": model, "seeds": "; ".join(per_seed), "best": ", ".join(_fmt(a, 3) for a in best)})
    return rows


def decay_at_init(gradflow: pd.DataFrame, study: str = "sweep", task: str = "adding") -> pd.DataFrame:
    """Per-step factor of ‖∂L/∂h_t‖ (top layer, direction 0, h) at step 0, mean over seeds, per cell and T."""
    g = gradflow[(gradflow["study"] == study) & (gradflow["task"] == task) & (gradflow["step"] == 0)]
    g = g[(g["state"] == "h") & (g["direction"] == 0)]
    per_run = g.groupby(["cell", "length", "init_gain", "seed"])["decay_factor"].first().reset_index()
    return per_run.groupby(["cell", "length", "init_gain"])["decay_factor"].agg(["mean", "min", "max"]).reset_index()


def figure_gradients(gradflow: pd.DataFrame, out: Path, names: dict[str, str] = CELL_NAMES) -> None:
    """‖∂L/∂h_t‖ against distance to the loss at initialisation and after training (adding, longest T)."""
    g = gradflow[(gradflow["study"] == "sweep") & (gradflow["task"] == "adding") & (gradflow["state"] == "h")]
    length = int(g["length"].max())
    g = g[(g["length"] == length) & (g["direction"] == 0)]
    colors = {"rnn": "#d62728", "lstm": "#1f77b4", "gru": "#2ca02c"}
    fig, axes = plt.subplots(1, 2, figsize=(6.6, 2.8), sharey=True)
    for ax, (phase, step_of) in zip(axes, (("at initialisation", min), ("after training", max)), strict=True):
        for cell, c in g.groupby("cell", sort=False):
            c = c[c["step"] == step_of(c["step"])]
            mean = c.groupby("distance")["grad_norm"].mean()
            ax.plot(mean.index, mean.to_numpy(), color=colors[cell], lw=1.2, label=names[cell])
        ax.set_yscale("log")
        ax.set_title(f"adding T = {length}, {phase}", fontsize=9)
        ax.set_xlabel("distance to the loss (steps)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("‖∂L/∂h_t‖ (mean over seeds)", fontsize=8)
    axes[1].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def _backends(runs: pd.DataFrame, names: dict[str, str]) -> str:
    used = with_models(runs).groupby(["task", "model"])["backend_used"].agg(lambda s: ", ".join(sorted(set(s))))
    return "; ".join(f"{task} {names.get(model, model)}: {b}" for (task, model), b in used.items())


def _gains_table(gains: pd.DataFrame) -> str:
    rows = []
    for r in gains.itertuples():
        eta = float(r.init_gain)
        expected = "vanishes (factor < 1)" if eta < 1 else "not bounded: may grow"
        ok = r.max < 1 if eta < 1 else True
        verdict = ("agrees" if ok else "disagrees") if eta < 1 else "no claim (η ≥ 1 is only necessary)"
        rows.append([f"{eta:g}", f"{r.mean:.3f} ({r.min:.3f}–{r.max:.3f}); Pascanu: {expected}", f"**{verdict}**"])
    header = ["gain (= η = σ_max(W_hh))", "ours: per-step factor at init (mean, range over seeds)", "verdict"]
    return md_table(header, rows)


EXPLODED = 10.0  # held-out loss / baseline at or above this (or a diverged run): the run exploded


def _first(runs: pd.DataFrame, study: str, field: str):
    return runs[runs["study"] == study][field].iloc[0]


def _study_settings(runs: pd.DataFrame, study: str) -> str:
    """'tanh RNN, H 128, adding T = 200, 300 steps' for the gains or clipping study, from its runs."""
    r = runs[runs["study"] == study]
    if r.empty:
        return f"(no {study} study in this run)"
    r = r.iloc[0]
    return f"{CELL_NAMES[r['cell']]}, H = {r['hidden']}, {r['task']} T = {r['length']}, batch {r['batch']}, {r['steps']} steps"


def _clipping_table(runs: pd.DataFrame) -> str:
    """Pascanu's claim for plain SGD: it explodes without clipping, stays finite and trains with it."""
    c = runs[runs["study"] == "clipping"]
    rows = []
    for (opt, clip), g in c.groupby(["optimizer", c["clip"].fillna(-1)], sort=True):
        label = "none" if clip == -1 else f"norm at {clip:g}"
        div = int((g["status"] == "diverged").sum())
        mse = ", ".join(_fmt(x) for x in g.sort_values("seed")["final_loss"])
        exploded = [s == "diverged" or not r < EXPLODED for s, r in zip(g["status"], g["loss_ratio"], strict=True)]
        if opt != "sgd":
            claim, verdict = "no claim (they use SGD)", "–"
        elif clip == -1:
            claim = "explodes"
            verdict = judged(True if all(exploded) else False if not any(exploded) else None, len(g))
        else:
            claim = "stays finite (no explosion)"
            verdict = judged(True if not any(exploded) else False if all(exploded) else None, len(g))
        if verdict.startswith("inconclusive"):
            verdict += f" ({sum(exploded)} of {len(g)} exploded)"
        rows.append([opt, label, f"{div} of {len(g)}", mse, claim, f"**{verdict}**"])
    header = ["optimizer", "clipping", "diverged seeds", "held-out MSE per seed", "the paper's claim", "verdict"]
    return md_table(header, rows)


def report(
    tables: Path,
    out: Path,
    wall_seconds: float | list[float] | None,
    started: str,
    note: str,
    steps_why: str = "",
    study: str = "paper-cpu",
    differences: Path | None = None,
) -> str:
    """REPORT.md's text from the ``study``'s (``STUDIES``) ``tables`` folder; its two figures are written
    to ``out``. ``differences``: the table of benchmarks/arjovsky_differences.py (each of the four
    differences between their LSTM's training and ours alone), summarised in a section of its own."""
    runs = pd.read_csv(tables / "runs.csv")
    curves = pd.read_csv(tables / "curves.csv")
    gradflow = pd.read_csv(tables / "gradflow.csv")
    timings = pd.read_csv(tables / "timings.csv")
    jobs = pd.read_csv(tables / "jobs.csv")
    out.mkdir(parents=True, exist_ok=True)
    config = STUDIES[study].config
    names, same = model_names(runs, config), same_models(config)
    figure_curves(curves, out / "learning_curves.png", names, same)
    figure_gradients(gradflow, out / "gradients.png", names)
    return (
        cost_part(runs, timings, jobs, wall_seconds, started, note, steps_why, STUDIES[study], out)
        + claims_part(runs, curves, names, model_differences(config), same)
        + irnn_part(runs)
        + differences_part(runs, curves, names, differences, same)
        + gradients_part(runs, gradflow, names, STUDIES[study])
    )


def irnn_part(runs: pd.DataFrame) -> str:
    """Le et al.'s IRNN claim: judged only at its budget (over 10^6 steps); the steps this study's IRNN ran."""
    claim = registry.IRNN_ADDING
    irnn = with_models(runs)
    irnn = irnn[irnn["model"] == "irnn"]
    steps = int(irnn["steps"].max()) if len(irnn) else None
    lengths = ", ".join(str(int(x)) for x in sorted(irnn["length"].unique())) or "–"
    reading = claim.readings[0]
    table = md_table(
        ["the paper's setting", "its reading", "ours", "verdict"],
        [[claim.settings, f"{reading.says} ({reading.step:,} steps)",
          f"the IRNN variant at Arjovsky et al.'s settings, adding T = {lengths}" if steps else "no IRNN run",
          f"**{registry.not_at_budget(claim, steps)}**"]],
    )  # fmt: skip
    return f"""## Claim 4 — {claim.source}: {claim.says}

Rule: {claim.rule}. The IRNN's runs above check Arjovsky et al.'s claim about it (their settings and budget), not
this one; a run at this one's budget does not fit this study (README.md says what it would cost).

{table}

"""


def _sweep_budget(runs: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    sweep = runs[runs["study"] == "sweep"]
    return sweep, int(sweep["steps"].iloc[0]), int(sweep["batch"].iloc[0])


def _harness_text(job_wall: float, work: float, train_s: float) -> str:
    """How the jobs' time split; a study resumed from checkpoints has jobs whose process times cover only
    the part after the stop, while each run's work counts its whole training, so no overhead is stated."""
    split = (
        f"{work:.0f} s were the runs' training loops with their probes and evaluations, and {train_s:.0f} s "
        f"training steps alone: data, probes and held-out evaluations took {(work - train_s) / work:.1%} of the "
        "runs' work"
    )
    if work > job_wall:
        return (
            f"Of the runs' work, {split}. The jobs' process times ({job_wall:.0f} s summed) cover only what ran "
            "after the study was stopped and resumed from its checkpoints, so the harness overhead is not measured "
            "here."
        )
    return (
        f"Of the jobs' {job_wall:.0f} s (process start to finish, summed over jobs), {split}, and process "
        f"start-up and writing results {(job_wall - work) / job_wall:.1%} of the jobs' time."
    )


def wall_text(wall_seconds: float | list[float] | None) -> str:
    """'114.2 min (6849 s)'; a study run in parts (stopped, then resumed from its checkpoints): the sum, and each
    part's seconds, '205.0 min (12300 s, in 3 parts: 1200 + 8100 + 3000 s)'."""
    parts = [wall_seconds] if isinstance(wall_seconds, (int, float)) else list(wall_seconds or [])
    if not parts:
        return "not measured"
    total = sum(parts)
    each = f", in {len(parts)} parts: {' + '.join(f'{p:.0f}' for p in parts)} s" if len(parts) > 1 else ""
    return f"{total / 60:.1f} min ({total:.0f} s{each})"


def _other_batches(runs: pd.DataFrame, names: dict[str, str], study: Study) -> str:
    """' The batch-50 runs (their LSTM, batch 50; ...): **10,000 steps per run** (500,000 sequences).' for the
    variants that repeat a model at another batch size; '' when there are none."""
    twins = with_models(runs, same_models(study.config))
    twins = twins[twins["model"] != twins["base"]]
    parts = []
    for (steps, batch), g in twins.groupby(["steps", "batch"]):
        who = "; ".join(names.get(m, m) for m in sorted(g["model"].unique()))
        parts.append(
            f" The batch-{int(batch)} runs ({who}): **{int(steps):,} steps per run** "
            f"({int(steps) * int(batch):,} sequences)."
        )
    return "".join(parts)


def cost_part(
    runs: pd.DataFrame,
    timings: pd.DataFrame,
    jobs: pd.DataFrame,
    wall_seconds: float | list[float] | None,
    started: str,
    note: str,
    steps_why: str,
    study: Study = STUDIES["paper-cpu"],
    out: Path = Path("docs/paper-cpu"),
) -> str:
    """The title, what was run and where, and how long it took."""
    _, steps, batch = _sweep_budget(runs)
    names = model_names(runs, study.config)
    commit = sorted(set(runs["git_commit"].dropna()))
    wall = wall_text(wall_seconds)
    work, train_s = jobs["work_seconds"].sum(), jobs["train_seconds"].sum()
    job_wall = jobs["job_wall_seconds"].sum()
    cpu = ", ".join(sorted(set(timings["cpu"].astype(str))))
    gpu_column = "device_name" if "device_name" in runs else "device_used"  # device_name: runs of newer versions
    gpu = ", ".join(sorted(set(runs[gpu_column].astype(str))))
    machine = study.machine.format(cpu=cpu, gpu=gpu, note="; " + note if note else "")
    return f"""# {study.title} (`{study.config}`)

What {registry.ARJOVSKY} and {registry.HOCHREITER_ADDING.source} report at {study.lengths},
beside what this project measures at the same settings, claim by claim. Made by
`python -m rnnbench.study.paper_cpu results --out {out} --study {study.config[7:-5]} --wall-seconds S [S ...] --started ... --note ... --steps-why ...` from one complete run
of `snakemake --cores all --configfile {study.config}` ({len(runs)} runs; commit
{", ".join(f"`{c[:10]}`" for c in commit)}; torch {", ".join(sorted(set(runs["torch"].astype(str))))}).
{study.where}

## How long it took

**{wall}** of wall time for the whole study (training, tables, figures), started {started}, on
{machine}

Steps: **{steps:,} per run** ({steps * batch:,} sequences at batch {batch}).{_other_batches(runs, names, study)} {steps_why}

Backends (`--backend auto`, recorded per run as `backend_used`): {_backends(runs, names)}.
{_harness_text(job_wall, work, train_s)}

"""


def claims_part(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    names: dict[str, str],
    differs: dict[str, str],
    same: dict[str, str] | None = None,
) -> str:
    """The rule for the verdicts, the batch size each model is judged at, the trained claims per task at each
    budget, the settings, and Hochreiter & Schmidhuber's claim for scale."""
    rows = claim_rows(runs, curves, names, same)
    choices = batch_choices(rows)
    batch_text = (
        "\n\nThe batch size: the paper trained the adding models at batch 20 and 50 and reported the better "
        '(literature.md, "Each paper\'s own settings"), so where a model ran at both, each claim is judged on the '
        "batch whose seeds end lower: the lower mean held-out loss / baseline at the last budget both batch sizes "
        "reached (the shorter one's training length), chosen once per model and length and then used at every "
        "budget, never the better one per budget. The other batch's rows are shown, not judged. Chosen:\n\n"
        + "\n".join(f"- {c}" for c in choices)
        if choices
        else ""
    )
    sweep, steps, _ = _sweep_budget(runs)
    hs = registry.HOCHREITER_ADDING
    hs_table = md_table(
        [
            "model", f"ours: sequences until H&S accuracy ≥ {HS_ACCURACY}, per seed",
            "ours: best held-out H&S accuracy per seed",
        ],
        ([names.get(h["model"], h["model"]), h["seeds"], h["best"]] for h in hs_rows(runs, curves)),
    )  # fmt: skip
    parts = []
    for n, task in enumerate(("adding", "copy"), start=1):
        mine = [r for r in rows if r["claim"].task == task]
        if mine:
            claim = mine[0]["claim"]
            parts.append(f"## Claim {n} — {claim.source}\n\n{claim_table(mine)}\n")
    claims_text = "\n".join(parts)
    return f"""## Rule for the verdicts

{registry.rule_text()} The budgets: each step at which the paper's figure was read (literature.md, "The
papers' curves"; a reading between two of its points is in a category only when both are), and our last
step, {steps:,}, where the paper's claim itself is judged when that is their scripts' training length
({PAPER_STEPS:,}). Each claim is checked on the paper's own model as complex_RNN trains it (a variant of this
study) and on the notes' cell at the paper's settings; the settings table says how each differs.{batch_text}

{claims_text}
## Settings: the paper's and ours

{settings_table(runs, names, differs, same)}

## Claim 3 — {hs.source}: {hs.says}

Their setting: {hs.settings}. Rule: {hs.rule}; here on Arjovsky's variant of the task, evaluated every
{int(sweep["eval_every"].iloc[0])} steps (|error| < {ADDING_TOLERANCE:g}).

{hs_table}

"""


def differences_part(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    names: dict[str, str],
    differences: Path | None,
    same: dict[str, str] | None = None,
) -> str:
    """What each difference between their LSTM's training and ours changed: alone, at 3,000 steps
    (``differences``), and all four together against none at every budget of this study."""
    from rnnbench.study.paper_claims import differences_rows, four_together_rows

    lines = ["## What each difference changed (adding T = 100, their LSTM's settings)", ""]
    if differences is not None and Path(differences).exists():
        d = pd.read_csv(differences)
        lines += [
            "Each difference alone, on our LSTM (`python benchmarks/arjovsky_differences.py`, table "
            f"`{differences}`; {d['seed'].nunique()} seeds, held-out MSE / (1/6) at step {int(d['step'].max()):,}):",
            "",
            md_table(
                ["difference", "loss / baseline per seed", "mean (95% interval, seeds)", "against ours"],
                differences_rows(d),
            ),  # fmt: skip
            "",
        ]
    lines += [
        "All four together (their LSTM, this study's variant) against none (ours), at each batch size and budget:",
        "",
        md_table(
            ["T", "batch", "step", "theirs: mean (95% interval)", "ours: mean (95% interval)", "apart?"],
            four_together_rows(runs, curves, same),
        ),  # fmt: skip
        "",
        "",
    ]
    return "\n".join(lines)


def gradients_part(
    runs: pd.DataFrame, gradflow: pd.DataFrame, names: dict[str, str] = CELL_NAMES, study: Study = STUDIES["paper-cpu"]
) -> str:
    """Claims 5 and 6 (gradient at initialisation, Pascanu), the learning curves, what is not checked."""
    decay = decay_at_init(gradflow)
    gains = decay_at_init(gradflow, "gains")
    lengths = sorted(int(x) for x in decay["length"].unique())

    def factor(cell: str, length: int) -> str:
        d = decay[(decay["cell"] == cell) & (decay["length"] == length)]
        return "–" if d.empty else f"{d['mean'].iloc[0]:.3f} ({d['min'].iloc[0]:.3f}–{d['max'].iloc[0]:.3f})"

    def row(cell: str, paper: str, verdict: str) -> str:
        return f"| {names[cell]} | {paper} | {' | '.join(factor(cell, L) for L in lengths)} | {verdict} |"

    at = ", ".join(map(str, lengths))
    not_comparable = "**not comparable at this length** (T = 1000: default study)"

    rnn_claim, lstm_claim = registry.GRADIENT_FIGURE_RNN, registry.GRADIENT_FIGURE_LSTM
    bound, clipping = registry.PASCANU_BOUND, registry.PASCANU_CLIPPING
    return f"""## Claim 5 — {rnn_claim.source}: the gradient at initialisation, adding T = 1000

The paper's figure: {rnn_claim.says}; {lstm_claim.says} (≤ ×0.908 per step). Both at {lstm_claim.settings}.
Ours: the fitted per-step factor of ‖∂L/∂h_t‖ at step 0 (mean over seeds, range), Glorot + forget bias 1, at
T = {at} -- not the paper's T = 1000, so no verdict here: a per-step factor fitted over fewer steps is not the
one fitted over 1000 (the RNN's gradient need not decay geometrically). The default study checks this claim at
the paper's own T = 1000, H = 128 and initialisation, and the LSTM's at their model with its peephole
(`results/REPORT.md`, literature table, and figure 1b); this table shows the same quantity at this study's
lengths, for scale.

| cell | paper (per step) | {" | ".join(f"ours T = {L}" for L in lengths)} | verdict |
|---|---|{"---|" * len(lengths)}---|
{row("rnn", "≈ 0.970", not_comparable)}
{row("lstm", "≤ 0.908", not_comparable)}
{row("gru", "not in the paper", "no paper number")}

![gradient norms against distance](gradients.png)

## Claim 6 — {bound.source}: {bound.says}; {clipping.source}: {clipping.says}

{_study_settings(runs, "gains")}, orthogonal W_hh of the given gain (every singular value equals it); the
claim is about the gradient at initialisation ({bound.rule}):

{_gains_table(gains) if not gains.empty else "(no gains study in this run)"}

An exploding configuration ({_study_settings(runs, "clipping")}, Gaussian W_hh of gain
{_first(runs, "clipping", "init_gain"):g}; SGD lr {_first(runs[runs["optimizer"] == "sgd"], "clipping", "lr"):g}), with and without norm clipping at 1. The
paper shows (qualitatively, at its own tasks and sizes) that plain SGD explodes without clipping and does not
with it; "exploded" here = diverged (NaN/inf) or a held-out MSE ≥ {EXPLODED:g} × baseline, and a row whose seeds
split is inconclusive at its number of seeds:

{_clipping_table(runs)}

## Learning curves

Held-out loss / baseline against training steps, each seed a line (lines at the baseline lie on top of each
other); dashed: the baseline, dotted: {CONVINCING} × baseline; black stars: the paper's LSTM curve and crosses
its tanh RNN curve, where its figure was read (literature.md, "The papers' curves").

![learning curves](learning_curves.png)

## Not checked here

{study.not_checked_text()}
"""


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, help="the study's results folder (holds tables/)")
    p.add_argument("--out", type=Path, required=True, help="folder for REPORT.md and the figures")
    p.add_argument(
        "--wall-seconds",
        type=float,
        nargs="+",
        default=None,
        metavar="S",
        help="the study's measured wall time; a study run in parts (stopped and resumed): each part's, summed",
    )
    p.add_argument("--started", default="–", help="when the study started (UTC)")
    p.add_argument("--note", default="", help="how loaded the machine was (uptime's load average)")
    p.add_argument("--steps-why", default="", help="why the config has the steps it has (what was measured)")
    p.add_argument("--study", choices=sorted(STUDIES), default="paper-cpu", help="which paper study the tables are")
    p.add_argument(
        "--differences", type=Path, default=None, help="benchmarks/arjovsky_differences.py's table (CSV), if measured"
    )
    args = p.parse_args(argv)
    text = report(
        args.results / "tables",
        args.out,
        args.wall_seconds,
        args.started,
        args.note,
        args.steps_why,
        args.study,
        args.differences,
    )
    (args.out / "REPORT.md").write_text(text)


if __name__ == "__main__":
    main()
