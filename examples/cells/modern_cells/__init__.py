"""Two modern recurrent cells in torch.nn's cell convention, registered with rnnbench through the
entry-point group ``rnnbench.cells`` (``pyproject.toml``): ``mingru`` and ``lru``."""

from modern_cells.lru import LRUCell
from modern_cells.mingru import MinGRUCell

__all__ = ["LRUCell", "MinGRUCell"]
