"""REPORT.md: the headline table, decay rates, the literature claims checked against this run, and
provenance. Every number is computed from the tables; every verdict states the scale it was run at.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from rnnbench.figures import CELL_ORDER, clip_label
from rnnbench.harness import harness_section
from rnnbench.storage import atomic_write

SOLVED_RULES = {
    "adding": "held-out MSE < 0.1 × the 1/6 baseline",
    "copy": "recall accuracy ≥ 0.9 on the 10 recalled symbols",
}


def md_table(header: list[str], rows: Iterable[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def g3(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def sweep(runs: pd.DataFrame) -> pd.DataFrame:
    r = runs[runs["study"] == "sweep"].copy()
    r["clipping"] = [clip_label(c) for c in r["clip"]]
    return r


def longest_solved(group: pd.DataFrame, majority: float) -> int | None:
    """The longest length that more than ``majority`` of its seeds solved (None if none)."""
    frac = group.groupby("length")["solved"].mean()
    solved = frac[frac > majority]
    return int(solved.index.max()) if len(solved) else None


def headline(runs: pd.DataFrame, majority: float) -> str:
    """Per task: one row per cell × clipping; the longest length solved in most seeds, and per
    length the median loss/baseline over finished seeds with the number of seeds that solved it."""
    r = sweep(runs)
    out = []
    for task, t in r.groupby("task", sort=False):
        lengths = sorted(t["length"].unique())
        rows = []
        for (cell, clipping), g in sorted(
            t.groupby(["cell", "clipping"]), key=lambda kv: (CELL_ORDER.index(kv[0][0]), kv[0][1])
        ):
            cells = []
            for T in lengths:
                s = g[g["length"] == T]
                ok = s[s["status"] == "ok"]
                cell_text = f"{g3(ok['loss_ratio'].median())} ({int(s['solved'].sum())}/{len(s)})"
                n_div = int((s["status"] == "diverged").sum())
                if n_div:
                    cell_text += f", {n_div} diverged"
                cells.append(cell_text)
            best = longest_solved(g, majority)
            rows.append([cell, clipping, "none" if best is None else best, *cells])
        out.append(
            f"### {task} (solved: {SOLVED_RULES.get(task, 'see README')})\n\n"
            + md_table(["cell", "clipping", "longest T solved", *[f"T={T}" for T in lengths]], rows)
        )
    return "\n\n".join(out)


def decay_table(gradflow: pd.DataFrame, runs: pd.DataFrame, task: str) -> pd.DataFrame:
    """Mean fitted per-step decay factor of ‖∂L/∂state_t‖ per cell, state, phase and length."""
    gf = gradflow[(gradflow["study"] == "sweep") & (gradflow["task"] == task) & (gradflow["direction"] == 0)]
    gf = gf[gf["layer"] == gf["layer"].max()]
    per_probe = gf.groupby(["run", "cell", "state", "length", "step"], as_index=False)["decay_factor"].first()
    per_probe["phase"] = ["init" if s == 0 else "trained" for s in per_probe["step"]]
    return per_probe.groupby(["cell", "state", "phase", "length"], as_index=False)["decay_factor"].mean()


def decay_section(gradflow: pd.DataFrame, runs: pd.DataFrame, task: str) -> str:
    d = decay_table(gradflow, runs, task)
    lengths = sorted(d["length"].unique())
    rows = []
    for (cell, state, phase), g in sorted(
        d.groupby(["cell", "state", "phase"]), key=lambda kv: (CELL_ORDER.index(kv[0][0]), kv[0][1] == "c", kv[0][2])
    ):
        by_len = dict(zip(g["length"], g["decay_factor"], strict=True))
        rows.append([cell, state, phase, *[g3(by_len.get(T, math.nan)) for T in lengths]])
    return md_table(["cell", "state", "phase", *[f"T={T}" for T in lengths]], rows)


def gains_section(gradflow: pd.DataFrame, runs: pd.DataFrame) -> str:
    gr = runs[runs["study"] == "gains"]
    if gr.empty:
        return "_No gains study in this config._"
    gf = gradflow[(gradflow["study"] == "gains") & (gradflow["state"] == "h") & (gradflow["direction"] == 0)]
    per = gf.groupby(["run", "init_gain", "step"], as_index=False)[["decay_factor", "pascanu_eta"]].first()
    rows = []
    for gain, g in gr.groupby("init_gain"):
        p = per[per["init_gain"] == gain]
        init = p[p["step"] == 0]
        trained = p[p["step"] > 0]
        n_div = int((g["status"] == "diverged").sum())
        rows.append(
            [
                f"{gain:g}",
                g3(init["pascanu_eta"].mean()),
                g3(init["decay_factor"].mean()),
                g3(trained["decay_factor"].mean()),
                f"{n_div}/{len(g)}",
                g3(g["loss_ratio"].median()),
            ]  # fmt: skip
        )
    return md_table(
        ["gain", "Pascanu η = σ_max(W_hh)", "decay/step at init", "decay/step trained", "diverged", "loss/baseline"],
        rows,
    )


def clipping_section(runs: pd.DataFrame, curves: pd.DataFrame) -> str:
    cr = runs[runs["study"] == "clipping"]
    if cr.empty:
        return "_No clipping study in this config._"
    cc = curves[(curves["study"] == "clipping") & (curves["kind"] == "train")]
    rows = []
    for (opt, clip), g in cr.groupby(["optimizer", cr["clip"].fillna(-1)], sort=False):
        div = g[g["status"] == "diverged"]
        peak = cc[cc["run"].isin(g["run"])].groupby("run")["grad_norm"].max()
        steps = ", ".join(str(int(s)) for s in div["diverged_step"]) or "–"
        rows.append(
            [
                opt,
                f"{g['lr'].iloc[0]:g}",
                clip_label(None if clip == -1 else clip),
                f"{len(div)}/{len(g)}",
                steps,
                g3(peak.median()),
                g3(g["clip_fraction"].median()),
                g3(g["loss_ratio"].median()),
            ]  # fmt: skip
        )
    return md_table(
        [
            "optimizer",
            "lr",
            "clipping",
            "diverged",
            "at step",
            "max finite ‖g‖ (median)",
            "clip fraction",
            "loss/baseline",
        ],
        rows,
    )


def claims(runs: pd.DataFrame, gradflow: pd.DataFrame, task: str, majority: float) -> list[list[str]]:
    """Each published claim we can test, with our measurement and whether it agrees."""
    out = []
    r = sweep(runs)
    d = decay_table(gradflow, runs, task)

    def factor(cell, state, phase):
        s = d[(d["cell"] == cell) & (d["state"] == state) & (d["phase"] == phase)]
        return s["decay_factor"].mean() if len(s) else math.nan

    rnn0, lstm0, lstm_c0 = factor("rnn", "h", "init"), factor("lstm", "h", "init"), factor("lstm", "c", "init")
    Ts = ", ".join(map(str, sorted(r[r["task"] == task]["length"].unique())))
    scale = f"{task}, T ∈ {{{Ts}}}, H = {int(r['hidden'].iloc[0])}"
    if not math.isnan(rnn0):
        out.append([
            "Hochreiter 1991; Pascanu et al. 2013 §2.1",
            "the tanh RNN's gradient vanishes exponentially with the time lag",
            f"‖∂L/∂h_t‖ shrinks ×{rnn0:.3g} per step at initialisation",
            "agrees" if rnn0 < 1 else "disagrees",
            scale + ", default init",
        ])  # fmt: skip
    if not (math.isnan(rnn0) or math.isnan(lstm0)):
        out.append([
            "Arjovsky et al. 2016 (gradient figure)",
            "at initialisation the LSTM's gradient falls faster than the tanh RNN's (RNN ≈ ×0.97/step at T = 1000)",
            f"LSTM ×{lstm0:.3g}/step vs RNN ×{rnn0:.3g}/step",
            "agrees" if lstm0 < rnn0 else "disagrees",
            scale + " (paper: T = 1000, H = 128)",
        ])  # fmt: skip
    if not math.isnan(lstm_c0):
        out.append([
            "PyTorch default init; Gers et al. 2000",
            "with the default forget bias the LSTM cell path decays like ≈ 0.5 per step at initialisation",
            f"cell state c: ×{lstm_c0:.3g}/step",
            "agrees" if abs(lstm_c0 - 0.5) < 0.15 else "disagrees",
            scale + " (agreement: within ±0.15 of 0.5)",
        ])  # fmt: skip
    gr = runs[runs["study"] == "gains"]
    if len(gr):
        gf = gradflow[(gradflow["study"] == "gains") & (gradflow["state"] == "h") & (gradflow["step"] == 0)]
        per = gf.groupby("run")[["decay_factor", "pascanu_eta"]].first()
        small = per[per["pascanu_eta"] < 1]
        big = per[per["pascanu_eta"] > 1]
        if len(small):
            ok = bool((small["decay_factor"] <= small["pascanu_eta"] * 1.05).all())
            out.append([
                "Pascanu et al. 2013 §2.1",
                "σ_max(W_hh) = η < 1/γ is sufficient for vanishing: ‖∂h_t/∂h_k‖ ≤ η^(t−k)",
                f"{len(small)} probes with η < 1: decay/step {g3(small['decay_factor'].max())} at most, η "
                f"{g3(small['pascanu_eta'].min())}–{g3(small['pascanu_eta'].max())}",
                "agrees" if ok else "disagrees",
                f"vanilla RNN, {gr['task'].iloc[0]} T = {int(gr['length'].iloc[0])}, {gr['init'].iloc[0]} init",
            ])  # fmt: skip
        if len(big):
            grew = int((big["decay_factor"] > 1).sum())
            out.append([
                "Pascanu et al. 2013 §2.1",
                "η > 1 is necessary, not sufficient, for exploding gradients",
                f"{grew} of {len(big)} probes with η > 1 grew going back in time",
                "agrees (consistent)",
                f"vanilla RNN, {gr['task'].iloc[0]} T = {int(gr['length'].iloc[0])}, {gr['init'].iloc[0]} init",
            ])  # fmt: skip
    cr = runs[(runs["study"] == "clipping") & (runs["optimizer"] == "sgd")]
    if len(cr):
        unclipped, clipped = cr[cr["clip"].isna()], cr[cr["clip"].notna()]
        du, dc = int((unclipped["status"] == "diverged").sum()), int((clipped["status"] == "diverged").sum())
        verdict = "agrees" if du > 0 and dc == 0 else ("not shown: nothing exploded" if du == 0 else "disagrees")
        out.append([
            "Pascanu et al. 2013 §3.2 (Algorithm 1)",
            "norm clipping keeps an exploding SGD run finite",
            f"diverged without clipping {du}/{len(unclipped)}, with clipping {dc}/{len(clipped)}",
            verdict,
            f"vanilla RNN, {cr['init'].iloc[0]} init gain {cr['init_gain'].iloc[0]:g}, "
            f"{cr['task'].iloc[0]} T = {int(cr['length'].iloc[0])}, SGD lr {cr['lr'].iloc[0]:g}",
        ])  # fmt: skip
    for t, claim_text, source, paper_scale in (
        ("adding", "the LSTM learns adding lengths where the tanh RNN stays at the baseline",
         "Arjovsky et al. 2016 (adding)", "paper: T = 100–750, H = 128"),
        ("copy", "the LSTM beats the copy baseline only at short delays; the tanh RNN never does",
         "Arjovsky et al. 2016 (copy)", "paper: T = 100–500, RNN H = 80, LSTM H = 40"),
    ):  # fmt: skip
        tr = r[r["task"] == t]
        if tr.empty:
            continue
        best = {c: longest_solved(g, majority) for c, g in tr.groupby("cell")}
        med = tr[tr["status"] == "ok"].groupby(["cell", "length"])["loss_ratio"].median()
        beats = {c: [int(T) for (cc, T), v in med.items() if cc == c and v < 0.9] for c in best}
        text = "; ".join(
            f"{c}: solves T ≤ {best[c] if best[c] else 'none'}, beats baseline (median < 0.9) at T = "
            f"{', '.join(map(str, beats[c])) or 'none'}"
            for c in CELL_ORDER
            if c in best
        )
        verdict = "not tested"
        if "lstm" in best and "rnn" in best:
            lstm_reach = (best["lstm"] or 0, len(beats["lstm"]))
            rnn_reach = (best["rnn"] or 0, len(beats["rnn"]))
            if t == "copy" and not beats["lstm"] and not beats["rnn"]:
                verdict = "partly: the RNN stays at the baseline; the LSTM does not beat it either at this scale"
            elif lstm_reach == (0, 0):
                verdict = "not shown: the LSTM learns nothing at this scale"
            else:
                verdict = "agrees" if lstm_reach > rnn_reach else "disagrees"
        lengths = ", ".join(map(str, sorted(tr["length"].unique())))
        out.append([source, claim_text, text, verdict, f"{t}, T ∈ {{{lengths}}} ({paper_scale})"])
        if t == "adding" and "gru" in best and "lstm" in best:
            g_, l_ = best["gru"] or 0, best["lstm"] or 0
            out.append([
                "Bai et al. 2018, Table 1",
                "the GRU solves long adding problems the LSTM does not (T = 600: GRU 5.3e-5, LSTM 0.164)",
                f"longest solved: GRU T = {g_ or 'none'}, LSTM T = {l_ or 'none'}",
                "agrees" if g_ > l_ else ("inconclusive (equal)" if g_ == l_ else "disagrees"),
                f"adding, T ∈ {{{lengths}}} (paper: T = 600)",
            ])  # fmt: skip
    return out


def provenance_section(runs: pd.DataFrame, config_hash: str, timings: pd.DataFrame | None = None) -> str:
    """Where the runs came from; the CPU and the times come from the timings table (kept out of runs.csv
    because they differ from one run of the study to the next)."""

    def uniq(df, col):
        return ", ".join(sorted({str(v) for v in df[col].dropna()})) if df is not None and col in df else "unknown"

    seconds = f"{timings['train_seconds'].sum():.0f} s" if timings is not None else "unknown"
    rows = [
        ["config hash", config_hash],
        ["rnnbench version (of the runs)", uniq(runs, "rnnbench_version")],
        ["git commit (of the runs)", uniq(runs, "git_commit")],
        ["torch", uniq(runs, "torch")],
        ["device", uniq(runs, "device_used")],
        ["CPU", uniq(timings, "cpu")],
        ["torch threads per run", uniq(runs, "torch_threads")],
        ["runs", f"{len(runs)} ({int((runs['status'] == 'diverged').sum())} diverged)"],
        ["training time, summed over runs", seconds],
    ]
    return md_table(["", ""], rows)


def skipped_section(skipped: pd.DataFrame | None) -> str:
    """Every result file left out of the tables (``skip_bad``), with why; a reader must see them."""
    if skipped is None:
        return "_Not recorded (no skipped table given)._"
    if skipped.empty:
        return "None: every result file was read and belongs to this config."
    rows = [[f"`{r.path}`", str(r.reason).replace("|", "\\|")] for r in skipped.itertuples()]
    return (
        f"{len(skipped)} result file(s) were left out of every table and figure (`skip_bad: true`); "
        "delete them and run the pipeline again to retrain those runs.\n\n" + md_table(["file", "reason"], rows)
    )


def throughput_section(table: str | None) -> str:
    """The fastest backend per cell and shape on this hardware, with every backend's time ratio to it."""
    if table is None:
        return ""
    from rnnbench.throughput import fastest

    df = pd.read_csv(table)
    ranked = fastest(df)
    rows = []
    for _, g in ranked.groupby(["device", "cell", "length", "batch", "hidden"], sort=True):
        best = g.iloc[0]
        others = ", ".join(f"{r.backend} {r.ratio_to_fastest:.2f}x" for r in g.iloc[1:].itertuples())
        rows.append([best["device"], best["cell"], int(best["length"]), int(best["batch"]), int(best["hidden"]),
                     f"{best['backend']} ({best['kernel']})", f"{best['fwd_bwd_s'] * 1e3:.2f}", others or "-"])  # fmt: skip
    busy = int(df["busy"].sum()) if "busy" in df else 0
    skipped = df[df["status"] != "ok"]
    notes = "".join(f"- {r.cell} {r.backend} T={r.length}: {r.status} ({r.reason})\n" for r in skipped.itertuples())
    return f"""## Training throughput on this hardware

Fastest backend per cell and shape (forward + backward of one layer, median), and the others' time
relative to it (`results/tables/throughput.csv`, figure 6). {busy} of {len(df)} cases ran while other
processes used the CPU (column `busy`): compare ratios within one run, not absolute times across runs.

{md_table(["device", "cell", "T", "B", "H", "fastest (kernel)", "fwd+bwd ms", "others"], rows)}

{notes}
"""


def figure_links(figures: list[str], out: str | os.PathLike) -> str:
    """One image per figure, linked relative to the report itself (``figures/x.png`` beside
    ``results/REPORT.md``), as POSIX paths, so the links work wherever the results folder is copied
    (and REPORT.html embeds them); never relative to the directory the pipeline ran in."""
    here = os.path.dirname(os.path.abspath(out))
    blocks = []
    for f in figures:
        link = Path(os.path.relpath(os.path.abspath(f), here)).as_posix()
        name = os.path.splitext(os.path.basename(f))[0]
        blocks.append(f"### {name}\n\n![{name}]({link})")
    return "\n\n".join(blocks)


def write_report(
    tables: dict[str, str], figures: list[str], out: str | os.PathLike, config_hash: str, settings: dict
) -> None:
    runs = pd.read_csv(tables["runs"])
    gradflow = pd.read_csv(tables["gradflow"])
    curves = pd.read_csv(tables["curves"])
    timings = pd.read_csv(tables["timings"]) if "timings" in tables else None
    skipped = pd.read_csv(tables["skipped"]) if "skipped" in tables else None
    task, majority = settings["gradflow_task"], float(settings.get("majority", 0.5))
    s = sweep(runs)
    trainer = s.iloc[0]
    figs = figure_links(figures, out)
    text = f"""# rnnbench study report

Config hash `{config_hash}`. Length sweep: {len(s)} runs, {trainer["optimizer"]} lr {trainer["lr"]:g},
hidden {int(trainer["hidden"])}, batch {int(trainer["batch"])}, {int(trainer["steps"])} steps per run (per task
settings may differ: see `results/tables/runs.csv`). "Solved at T" means more than {majority:.0%} of its seeds
solved it. Cells read: median held-out loss / memoryless baseline over the seeds that finished (seeds
solved / seeds), and diverged seeds, which are never dropped.

## Headline: the longest length each cell solves

{headline(runs, majority)}

## Measured gradient decay per step

Fitted per-step factor of ‖∂L/∂state_t‖ against distance to the loss (1 = no decay), top layer, {task}
sweep, mean over seeds; `init` is before the first update, `trained` after the last.

{decay_section(gradflow, runs, task)}

### Vanilla RNN across init gains

{gains_section(gradflow, runs)}

### Clipping an exploding configuration

{clipping_section(runs, curves)}

## Comparison with the literature

Claims from `shared/reference/literature.md`, each checked against this run, at this run's scale.

{md_table(["source", "claim", "this run", "verdict", "scale of this run"], claims(runs, gradflow, task, majority))}

{throughput_section(tables.get("throughput"))}

{harness_section(tables.get("jobs"))}
## Figures

Linked relative to this file (`figures/` beside it, PNG and PDF); `REPORT.html` beside it is this report
with every figure embedded, and the Snakemake report (`snakemake --report`) shows it inline.

{figs}

## Skipped result files

{skipped_section(skipped)}

## Provenance

{provenance_section(runs, config_hash, timings)}
"""
    atomic_write(out, lambda f: f.write(text))
