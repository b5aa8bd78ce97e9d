"""``--backend auto``: for each run, the fastest backend that trains the same model and can still
be probed, looked up in a table measured on this project's machine.

"Same model" is strict: ``fused`` (torch.nn.RNN/LSTM/GRU) computes our vanilla RNN and LSTM
equations and torch's reset-after GRU exactly (weights copied across, float rounding aside), but
no fused kernel implements the notes' GRU (reset before the product), so that one always stays on
an explicit backend (the registry, ``rnnbench.core.backends``, says which forms each backend
trains; the tables are checked against it when this module loads). "Can still be probed": a fused
run's probes take the explicit twin of its weights (``probes.explicit_twin``), so every choice
below reports the explicit backend's probes.

A choice is one record per cell form and device (``Choice``): the backend a run trained alone
uses, and whether runs of one sweep cell (seeds, clipping thresholds) train faster together as
one stacked model (``batched.train_batched``, our explicit equations with a model dimension).
The table was measured with

    python benchmarks/auto_table.py       # whole-run steps/s, 1 thread, adding T=100, Adam, clip 1

on the project's 2-core AMD EPYC (torch 2.13.0, CPU build), at the default study's size
(H=32, B=32) and the paper-cpu study's (H=128, B=20), with other jobs on the machine (absolute
numbers vary by tens of percent; the order did not change between repeats). CUDA rows are not
measured here (no GPU in this project): cuDNN's fused kernels are the reference there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnnbench.core.backends import BACKENDS, TRAINING_BACKENDS
from rnnbench.core.cells import SPECS, cell_spec

AUTO = "auto"


@dataclass(frozen=True)
class Choice:
    """What ``auto`` runs for one cell form on one device."""

    single: str  # backend of a run trained alone: a training backend of rnnbench.core.backends
    stack: bool  # runs of one sweep cell train together as one stacked (explicit) model
    measured: str  # the steps/s it was chosen on (benchmarks/auto_table.py), or why unmeasured

    def __post_init__(self) -> None:
        if self.single not in TRAINING_BACKENDS:
            raise ValueError(f"auto's choice {self.single!r} is not one of the training backends {TRAINING_BACKENDS}")


# Cell forms: the notes' GRU and torch's reset-after GRU are different models, hence two rows.
CPU: dict[str, Choice] = {
    # nn.RNN on CPU is a C++ loop of ordinary ops: our premul loop is as fast or faster, and a
    # stack shares each small kernel launch among its runs
    "rnn": Choice(
        "explicit-premul",
        True,
        "H32B32: premul 108-233, fused 93-136, bptt 52-84, stack of 2 171-176 run-steps/s; "
        "H128B20: premul 94-101, fused 87-93, bptt 41-52",
    ),
    # oneDNN's fused LSTM is 3-9x our loop; a stack of explicit LSTMs never catches up with it
    "lstm": Choice(
        "fused",
        False,
        "H32B32: fused 164-302, premul 34, bptt 27, stack of 2 49-51 run-steps/s; "
        "H128B20: fused 75, premul 26, bptt 20",
    ),
    # the notes' GRU: no fused kernel; premul is the fastest single explicit path, a stack beats it
    "gru": Choice(
        "explicit-premul",
        True,
        "H32B32: premul 27-42, bptt (autograd for this GRU) 37, stack of 2 40-48 run-steps/s; H128B20: premul 21",
    ),
    # torch's GRU: nn.GRU on CPU is a C++ loop of ordinary ops, faster than ours alone, but a stack of our
    # cells in its form shares each small kernel among its runs and wins by 2x at the paper-cpu study's size
    "gru-reset-after": Choice(
        "fused",
        True,
        "H32B32: fused 36-49, premul 27-40, bptt 23-33; H128B20: fused 29, premul 23; "
        "RMSprop, 1 thread, H128B20 adding T=200: fused 16, stack of 2 37 run-steps/s; "
        "H47B20 copy T=100: fused 39 (T=120), stack of 2 90 run-steps/s",
    ),
    # expRNN's orthogonal RNN: no torch.nn twin, and its parametrised B has no stacked form
    "orthogonal": Choice(
        "explicit-premul", False, "no fused kernel, not stackable; the fastest explicit path, unmeasured"
    ),
}
CUDA: dict[str, Choice] = {
    # cuDNN's kernels for every form they implement; unmeasured here (no GPU in this project)
    "rnn": Choice("fused", False, "cuDNN; not measured in this project"),
    "lstm": Choice("fused", False, "cuDNN; not measured in this project"),
    "gru": Choice("explicit-premul", True, "no cuDNN kernel for the notes' GRU; not measured in this project"),
    "gru-reset-after": Choice("fused", False, "cuDNN; not measured in this project"),
    "orthogonal": Choice("explicit-premul", False, "no cuDNN kernel, not stackable; not measured in this project"),
}
TABLES: dict[str, dict[str, Choice]] = {"cpu": CPU, "cuda": CUDA}


def cell_form(cell: str, reset_after: bool) -> str:
    """The table's row: the GRU's two forms are two models."""
    return "gru-reset-after" if cell == "gru" and reset_after else cell


def _forms() -> dict[str, tuple[str, bool]]:
    """Each row's (cell, reset_after); reset_after False where it makes no other model."""
    forms: dict[str, tuple[str, bool]] = {}
    for cell in SPECS:
        for reset_after in (False, True):
            forms.setdefault(cell_form(cell, reset_after), (cell, reset_after))
    return forms


FORMS = _forms()


def check_tables(tables: dict[str, dict[str, Choice]]) -> None:
    """One row per cell form, and every row's backend computes that row's model (the registry says
    which forms a backend trains); raises ValueError naming the first row that does not."""
    for device, table in tables.items():
        if set(table) != set(FORMS):
            raise ValueError(f"auto's {device} table has rows {sorted(table)}, not one per cell form {sorted(FORMS)}")
        for form, choice in table.items():
            if not BACKENDS[choice.single].trains(*FORMS[form]):
                raise ValueError(f"auto's {device} choice {choice.single!r} cannot train the {form} cell form")


check_tables(TABLES)


# complex_RNN's model (``cells.THEIR_OPTIONS``: the LSTM's peephole, learned initial states) has no fused
# kernel: its runs train on our explicit cells, and a stack of them beats one alone by 2.5x (their LSTM,
# RMSprop, 1 thread, H128B20 adding T=200: premul alone 10, stack of 2 26 run-steps/s)
THEIRS = Choice("explicit-premul", True, "H128B20 adding T=200: premul 10, stack of 2 26 run-steps/s")
# a user's cell (torch.nn's convention, ``cells.cell_spec``): no fused kernel and no stacked form, so the one
# choice is our loop calling its forward step by step, alone (every explicit backend runs it alike)
USER = Choice("explicit", False, "a user cell: its own forward, step by step; not measured")


def choose(cell: str, reset_after: bool, device: str, cell_options: dict[str, Any] | None = None) -> Choice:
    """The ``auto`` choice for ``cell`` on a resolved ``device`` ('cpu' or 'cuda'); with complex_RNN's
    options on in ``cell_options``, the table's choice if its backend computes them, else ``THEIRS``
    (stacked where the cell stacks); a user cell's is ``USER``."""
    if cell_spec(cell).user:
        return USER
    choice = TABLES[device][cell_form(cell, reset_after)]
    if BACKENDS[choice.single].trains(cell, reset_after, cell_options):
        return choice
    return Choice(THEIRS.single, THEIRS.stack and cell_spec(cell).stackable, THEIRS.measured)


def concrete_backend(
    backend: str, cell: str, reset_after: bool, device: str, cell_options: dict[str, Any] | None = None
) -> str:
    """The backend a single run trains on: ``backend`` itself, or ``auto``'s choice for it; with
    complex_RNN's options (``cells.THEIR_OPTIONS``) on in ``cell_options``, auto's choice if it
    computes them, else explicit-premul (their model has no fused kernel)."""
    return backend if backend != AUTO else choose(cell, reset_after, device, cell_options).single
