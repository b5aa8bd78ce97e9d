"""What a claim is, as a record (``Claim``, with the paper's curve ``Reading``s), and the one rule every
trained claim is judged by (``rule_text``): the categories of held-out loss / memoryless baseline.
The claims themselves are the registry's (``registry``); their verdicts' intervals are ``verdicts``'.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnbench.core.tasks import ADDING_SOLVED_RATIO

AT_BASELINE = 0.9  # loss / baseline at or above this: "at the baseline"
CONVINCING = ADDING_SOLVED_RATIO  # below this: beats it "convincingly" (our adding `solved` criterion)
CATEGORIES = ("baseline", "beats", "convincing")
PAPER_STEPS = 20_000  # complex_RNN's scripts' default training length (literature.md)

# the reports that check claims
REPORT = "REPORT.md"  # the default study's literature table
PAPER_CPU = "paper-cpu"
PAPER_GPU = "paper-gpu"
PAPERS = (PAPER_CPU, PAPER_GPU)


@dataclass(frozen=True)
class Reading:
    """A point of a paper's learning curve, read by eye off its figure (literature.md, "The papers'
    curves"), or its stated result at a budget: at training step ``step``, what ``says``, in our rule's
    ``category`` (None: a reading that no category of the rule captures)."""

    step: int
    says: str
    category: str | None
    ratio: float | None = None  # the paper's loss / baseline there, where the reading is a number (figures draw it)


@dataclass(frozen=True)
class Claim:
    """One published claim and how this project checks it."""

    key: str  # stable name: tests and reports refer to it
    source: str  # paper and place
    says: str  # the claim
    settings: str  # the paper's settings
    rule: str  # how a report judges it, in words
    checked_in: tuple[str, ...]  # the reports that judge it (REPORT, PAPER_CPU, PAPER_GPU)
    task: str | None = None  # trained claims: the task, the paper's model as our cell, its lengths
    cell: str | None = None
    length: int | None = None
    category: str | None = None  # trained claims: the paper's outcome at its own training length
    readings: tuple[Reading, ...] = ()
    # the config that checks it, and our models that stand for the paper's there: a sweep cell, or a variant
    # of the config's ``variants`` (the paper's own model as their code trains it, e.g. ``arjovsky-lstm``)
    checked_by: str = ""
    models: tuple[str, ...] = ()


def rule_text() -> str:
    """The trained claims' rule, in words (every paper report prints it)."""
    return (
        f"Per seed, held-out loss / memoryless baseline (adding 1/6, copy 10·log 8/(T+20)): **at the baseline** "
        f"when ≥ {AT_BASELINE} (at or above it); **beats** it below that; **convincingly** below {CONVINCING} "
        "(our adding `solved`). The seeds' mean, with its 95% interval (a percentile bootstrap over seeds: with "
        "3 seeds or fewer, their whole range), **agrees** when the interval lies inside the paper's category, "
        "**disagrees** when it lies outside, and is **inconclusive at n seeds** when it straddles the line. A "
        "claim is judged at each budget the paper's curve was read at, where our runs were evaluated there."
    )
