"""What differs between the paper studies (``STUDIES``: paper-cpu, paper-gpu), and how their models are
named and differ from the papers' own; the claims, curves and rule they share come from the registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from rnnbench.study.claims import registry
from rnnbench.study.tables import labels

# The cells' names (rnnbench.study.tables.labels), with the papers' own words where this report quotes them:
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


def sweep_budget(runs: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    sweep = runs[runs["study"] == "sweep"]
    return sweep, int(sweep["steps"].iloc[0]), int(sweep["batch"].iloc[0])
