"""The three recurrent cells of the course notes, one module each (``rnn``, ``lstm``, ``gru``), and
expRNN's orthogonal RNN (``orthogonal``):
the cell's equations (written once, run by the single cell here and by ``stacked.StackedCell``),
its ``nn.Module``, its hand-written backward through time, and its record, ``SPEC``.

``SPECS`` collects the records (``registry``); every per-cell table of the package derives from it.
Adding a built-in cell is one module here and one entry there. A user's cell (torch.nn's convention,
named ``module:Class`` or by an entry point of the group ``rnnbench.cells``) needs no edit here:
``cell_spec`` resolves every name, built-in or not.
"""

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
from rnnbench.core.cells.registry import GROUP, SPECS, CellError, cell_spec, is_user, safe_name
from rnnbench.core.cells.rnn import NONLINEARITIES, RNNCell, RNNSequence

CELLS: dict[str, type[Cell]] = {name: s.cls for name, s in SPECS.items()}

__all__ = [
    "CELLS", "GROUP", "NONLINEARITIES", "SPECS", "CellError", "cell_spec", "is_user", "safe_name", "THEIR_OPTIONS", "their_options", "Cell", "CellSpec", "GRUCell", "GRUSequence", "LSTMCell", "LSTMSequence", "LSTMState",
    "ORTHOGONAL_MAPS", "Option", "OrthogonalCell", "RNNCell", "RNNSequence", "Recurrence", "cell_options", "notes_gru",
]  # fmt: skip
