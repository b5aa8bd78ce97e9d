"""The three recurrent cells of the course notes, one module each (``rnn``, ``lstm``, ``gru``), and
expRNN's orthogonal RNN (``orthogonal``):
the cell's equations (written once, run by the single cell here and by ``stacked.StackedCell``),
its ``nn.Module``, its hand-written backward through time, and its record, ``SPEC``.

``SPECS`` collects the records; every per-cell table of the package derives from it. Adding a
cell is one module here and one entry below.
"""

from rnnbench.core.cells import gru, lstm, orthogonal, rnn
from rnnbench.core.cells.base import (
    THEIR_OPTIONS,
    Cell,
    CellSpec,
    LSTMState,
    Option,
    Recurrence,
    cell_options,
    their_options,
)
from rnnbench.core.cells.gru import GRUCell, GRUSequence, notes_gru
from rnnbench.core.cells.lstm import LSTMCell, LSTMSequence
from rnnbench.core.cells.orthogonal import ORTHOGONAL_MAPS, OrthogonalCell
from rnnbench.core.cells.rnn import NONLINEARITIES, RNNCell, RNNSequence

SPECS: dict[str, CellSpec] = {s.name: s for s in (rnn.SPEC, lstm.SPEC, gru.SPEC, orthogonal.SPEC)}
CELLS: dict[str, type[Cell]] = {name: s.cls for name, s in SPECS.items()}

__all__ = [
    "CELLS", "NONLINEARITIES", "SPECS", "THEIR_OPTIONS", "their_options", "Cell", "CellSpec", "GRUCell", "GRUSequence", "LSTMCell", "LSTMSequence", "LSTMState",
    "ORTHOGONAL_MAPS", "Option", "OrthogonalCell", "RNNCell", "RNNSequence", "Recurrence", "cell_options", "notes_gru",
]  # fmt: skip
