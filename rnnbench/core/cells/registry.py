"""Naming a cell: the one resolver (``cell_spec``) that every entry point calls.

A cell is named in one of three ways, everywhere a cell name is taken (``--cell``, a config's
``cells``, ``variants``, ``init_probes``):

* a built-in name: ``rnn``, ``lstm``, ``gru``, ``orthogonal`` (``SPECS``);
* an import path ``module:Class`` (``torch.nn:GRUCell``, ``mypkg.cells:MyCell``);
* the name of an entry point of the group ``rnnbench.cells`` (``GROUP``), which an installed package
  declares in its ``pyproject.toml`` under ``[project.entry-points."rnnbench.cells"]``, as pytest finds
  its plugins through ``pytest11``.

A user cell follows torch.nn's cell convention (``CONTRACT``), and ``cell_spec`` checks it on a tiny
input before any work: a path that does not import, or a class that breaks the contract, is one
``CellError`` naming the cell and the contract. A resolved user cell is cached per process.

Run ids, file names and Snakemake wildcards take ``safe_name(cell)`` (``torch.nn:GRUCell`` ->
``torch.nn.GRUCell``); the full name stays in the run's config.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from typing import Any

import torch
from torch import Tensor, nn

from rnnbench.core.cells.base import CellSpec
from rnnbench.core.cells.gru import SPEC as GRU
from rnnbench.core.cells.lstm import SPEC as LSTM
from rnnbench.core.cells.orthogonal import SPEC as ORTHOGONAL
from rnnbench.core.cells.rnn import SPEC as RNN
from rnnbench.core.checks import ConfigError

SPECS: dict[str, CellSpec] = {s.name: s for s in (RNN, LSTM, GRU, ORTHOGONAL)}
GROUP = "rnnbench.cells"  # the entry-point group an installed package registers its cells in
CONTRACT = (
    "a cell is a torch.nn.Module class, built as Cell(input_size, hidden_size), whose forward(x, state) takes "
    "x (B, I) and the previous state (None before the first step) and returns the next state: a tensor (B, H), "
    "or a tuple whose first element is the output h (B, H) (torch.nn.RNNCell/LSTMCell/GRUCell's convention)"
)
USER_COST = 3  # a user cell's relative cost per step (orders the study's jobs only): a gated cell's
SAFE = re.compile(r"[^A-Za-z0-9_.-]")  # what a run id, a file name and a Snakemake wildcard may not hold

_USER: dict[str, CellSpec] = {}  # user cells resolved in this process, by name


class CellError(ConfigError):
    """A cell name that does not resolve to a cell, or a class that breaks the contract; the message
    names the cell and says what is allowed."""


def cell_spec(cell: str | type[nn.Module]) -> CellSpec:
    """The record of ``cell``: a built-in name, a ``module:Class`` path, an entry point of ``GROUP``,
    or a class itself (named by its ``module:qualname``); a user cell is imported and its contract
    checked on a tiny input the first time it is named in this process."""
    if isinstance(cell, type):
        return _checked(path_of(cell), cell)
    if not isinstance(cell, str) or not cell:
        raise CellError(f"cell {cell!r} is not allowed; give a cell name (a string)")
    if cell in SPECS:
        return SPECS[cell]
    if cell not in _USER:
        _checked(cell, load(cell))
    return _USER[cell]


def is_user(cell: str) -> bool:
    """Whether ``cell`` names a user cell (anything but a built-in); nothing is imported."""
    return cell not in SPECS


def path_of(cls: type) -> str:
    """``module:qualname`` of a class: the import path that names it."""
    return f"{cls.__module__}:{cls.__qualname__}"


def safe_name(cell: str) -> str:
    """``cell`` as a run id, a file name and a Snakemake wildcard may hold it: a built-in name stays
    as it is; in a user cell's name ':' becomes '.' and any other character outside [A-Za-z0-9_.-]
    becomes '-' (``torch.nn:GRUCell`` -> ``torch.nn.GRUCell``)."""
    return SAFE.sub("-", cell.replace(":", "."))


def load(name: str) -> type:
    """The class ``name`` names: ``module:Class`` (``Class`` may be dotted), else an entry point of ``GROUP``."""
    if ":" not in name:
        return _entry_point(name).load()
    module, _, attr = name.partition(":")
    try:
        obj: Any = importlib.import_module(module)
    except Exception as e:  # noqa: BLE001 -- any failure to import is the user's to see, by name
        raise CellError(
            f"cell {name!r}: module {module!r} does not import ({type(e).__name__}: {e}); {CONTRACT}"
        ) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise CellError(f"cell {name!r}: {module!r} has no {attr!r}; {CONTRACT}")
        obj = getattr(obj, part)
    return obj


def _entry_point(name: str) -> importlib.metadata.EntryPoint:
    found = list(importlib.metadata.entry_points(group=GROUP, name=name))
    if not found:
        installed = sorted({ep.name for ep in importlib.metadata.entry_points(group=GROUP)})
        raise CellError(
            f"cell {name!r} is not allowed; choose a built-in cell ({', '.join(SPECS)}), an installed cell "
            f"(entry points of group {GROUP!r}: {', '.join(installed) or 'none installed'}), or a module:Class path"
        )
    if len({ep.value for ep in found}) > 1:
        raise CellError(
            f"cell {name!r} is an entry point of group {GROUP!r} in more than one package "
            f"({', '.join(sorted(ep.value for ep in found))}); name it by its module:Class path instead"
        )
    return found[0]


def _checked(name: str, cls: Any) -> CellSpec:
    """The record of user cell ``cls``, named ``name``, after the contract's check on a tiny input."""
    known = _USER.get(name)
    if known is not None and known.cls is cls:
        return known
    if not isinstance(cls, type) or not issubclass(cls, nn.Module):
        raise CellError(f"cell {name!r} is {cls!r}, not a torch.nn.Module class; {CONTRACT}")
    problem = contract_problem(cls)
    if problem:
        raise CellError(f"cell {name!r} breaks the cell contract: {problem}; {CONTRACT}")
    display = getattr(cls, "display", None)
    spec = CellSpec(
        name=name,
        display=display if isinstance(display, str) and display else name,
        cls=cls,
        fused=None,  # torch.nn's fused kernels run the built-in cells only
        saved_per_unit=None,  # unknown: no memory estimate
        cost=USER_COST,
        stackable=False,  # trained alone: a stack runs the built-in equations with a model dimension
        path=name if ":" in name else path_of(cls),
    )
    _USER[name] = spec
    return spec


def contract_problem(cls: type[nn.Module], input_size: int = 3, hidden_size: int = 4, batch: int = 2) -> str:
    """What ``cls`` gets wrong of the contract on a tiny input (two steps from no state), or ''."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        try:
            cell = cls(input_size, hidden_size)
        except Exception as e:  # noqa: BLE001 -- the user's constructor: its error is the message
            return f"{cls.__name__}({input_size}, {hidden_size}) raised {type(e).__name__}: {e}"
        x = torch.randn(batch, input_size)  # (B, I)
        state = None
        for step in (1, 2):
            try:
                state = cell(x, state)
            except Exception as e:  # noqa: BLE001
                return f"step {step} (state {'None' if step == 1 else 'from step 1'}) raised {type(e).__name__}: {e}"
            problem = state_problem(state, batch, hidden_size)
            if problem:
                return f"step {step} returned {problem}"
    return ""


def state_problem(state: Any, batch: int, hidden_size: int) -> str:
    """What is wrong with a step's returned state for a (B, H) = (``batch``, ``hidden_size``) cell, or ''."""
    tensors = state if isinstance(state, tuple) else (state,)
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        return f"{type(state).__name__}, not a tensor or a tuple of tensors"
    h = tensors[0]
    if tuple(h.shape) != (batch, hidden_size):
        return f"h of shape {tuple(h.shape)}, not (B, H) = {(batch, hidden_size)}"
    wrong = [tuple(t.shape) for t in tensors[1:] if t.dim() < 1 or t.shape[0] != batch]
    if wrong:
        return f"state tensors of shape {wrong}, whose first dimension is not the batch ({batch})"
    return ""
