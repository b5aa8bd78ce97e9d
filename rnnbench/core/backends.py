"""The backends: one record per way of running a recurrent stack, the one registry that the model
(``models.build_model``), training (the config's choices, probes, ``auto``) and the throughput
benchmark all read.

Explicit backends run our cells (``rnnbench.core.cells``) in a Python loop and can be probed (a
``StateRecorder`` sees every step's state); ``fused`` runs torch.nn's kernels (oneDNN's LSTM on CPU,
cuDNN on CUDA), which implement every cell but the notes' GRU; ``compiled`` is the benchmark's
torch.compile of ``explicit-premul``, never offered for training (``Backend.training``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from rnnbench.core.cells import THEIR_OPTIONS, cell_spec, notes_gru
from rnnbench.core.layers import ExplicitStack, FusedStack
from rnnbench.core.onednn import uses_onednn

# (cell, input_size, hidden_size, num_layers, bidirectional, reset_after[, cell_options]) -> the recurrent stack;
# cell_options: the cell's own constructor options (the orthogonal RNN's map, the vanilla RNN's nonlinearity,
# the LSTM's peephole, learned initial states)
StackBuilder = Callable[..., nn.Module]
# (cell, device, dtype) -> what runs, in words (the throughput table's ``kernel`` column)
KernelName = Callable[[str, str, str], str]


class Unsupported(ValueError):
    """A backend cannot build this model (the notes' GRU on a fused kernel); the message says why."""


@dataclass(frozen=True)
class Backend:
    """Everything the package knows about one backend."""

    name: str  # config value
    build: StackBuilder  # the recurrent stack
    kernel: KernelName  # what runs, for the throughput table
    probeable: bool = False  # runs our cells step by step: probes read its own states (no explicit twin needed)
    stackable: bool = False  # a sweep cell's runs may train together as one stacked model (rnnbench.core.stacked)
    fused: bool = False  # torch.nn's kernels: trains only the cell forms torch.nn implements (``check_trains``)
    training: bool = True  # offered to training runs; False: the throughput benchmark times it only
    unrolls: bool = False  # built by unrolling the T·layers time steps (compile time grows with them)

    def trains(self, cell: str, reset_after: bool, cell_options: dict[str, Any] | None = None) -> bool:
        """Whether this backend computes ``cell`` in this form, with these constructor options (see
        ``check_trains``)."""
        if not self.fused:
            return True
        theirs = any((cell_options or {}).get(name, False) for name in THEIR_OPTIONS)
        return not (notes_gru(cell, reset_after) or cell_spec(cell).fused is None or theirs)

    def stacks(self, cell: str) -> bool:
        """Whether runs of ``cell`` may train as one stacked model on this backend: the orthogonal RNN's
        parametrised B has no stacked form (``CellSpec.stackable``)."""
        return self.stackable and cell_spec(cell).stackable


def check_trains(backend: str, cell: str, reset_after: bool, cell_options: dict[str, Any] | None = None) -> None:
    """Raise ``Unsupported`` if ``backend`` cannot compute ``cell`` in this form: the one place the
    fused notes' GRU, the cells without a torch.nn twin and complex_RNN's options are refused (the
    model, the run config and the benchmark all call it)."""
    if BACKENDS[backend].trains(cell, reset_after, cell_options):
        return
    if cell_spec(cell).user:
        raise Unsupported(
            f"backend {backend!r} with user cell {cell!r} is not allowed: the fused backend runs torch.nn's kernels "
            "for the built-in cells only; a user cell trains on an explicit backend (explicit, explicit-premul, "
            "explicit-bptt: all call its forward step by step), or auto"
        )
    if cell_spec(cell).fused is None:
        raise Unsupported(
            f"backend {backend!r} with cell {cell!r} is not allowed: torch.nn has no fused kernel for it; "
            "use an explicit backend (explicit, explicit-premul, explicit-bptt)"
        )
    if notes_gru(cell, reset_after):
        raise Unsupported(
            f"backend {backend!r} with the notes' GRU (reset_after=False) is not allowed: torch.nn.GRU implements "
            "only the reset-after form; use an explicit backend, or reset_after=True"
        )
    name = next(k for k in THEIR_OPTIONS if (cell_options or {}).get(k, False))
    raise Unsupported(
        f"backend {backend!r} with {name}=True is not allowed: torch.nn's fused {cell.upper()} has no {name} "
        f"(complex_RNN's option); use an explicit backend, or leave {name} off"
    )


def _explicit(premul: bool, bptt: bool = False) -> StackBuilder:
    def build(cell, input_size, hidden_size, num_layers, bidirectional, reset_after, cell_options=None):
        return ExplicitStack(
            cell, input_size, hidden_size, num_layers, bidirectional, reset_after, premul, bptt, cell_options
        )

    return build


def _fused(cell, input_size, hidden_size, num_layers, bidirectional, reset_after, cell_options=None):
    check_trains("fused", cell, reset_after, cell_options)
    return FusedStack(cell, input_size, hidden_size, num_layers, bidirectional, cell_options)


def _compiled(cell, input_size, hidden_size, num_layers, bidirectional, reset_after, cell_options=None):
    return torch.compile(
        _explicit(premul=True)(cell, input_size, hidden_size, num_layers, bidirectional, reset_after, cell_options),
        dynamic=False,
    )


def _fused_kernel(cell: str, device: str, dtype: str) -> str:
    if cell_spec(cell).fused is None:
        return "none (torch.nn has no such cell)"
    twin = cell_spec(cell).fused.__name__
    if device == "cuda":
        return f"cuDNN fused {cell.upper()} (torch.nn.{twin})"
    if cell == "lstm":
        return "oneDNN fused LSTM (torch.nn.LSTM)"
    return f"ATen C++ loop of ordinary ops, not fused (torch.nn.{twin})"


def _bptt_kernel(cell: str, device: str, dtype: str) -> str:
    if cell_spec(cell).user:
        return _USER_KERNEL
    if cell_spec(cell).bptt is None:  # the orthogonal RNN: explicit-premul's autograd path
        return "Python loop, input GEMM for all steps first, autograd (the cell has no hand-written BPTT)"
    gemm = "oneDNN" if uses_onednn(device, dtype) else "torch"
    return f"Python loop, hand-written BPTT, {gemm} GEMMs (rnnbench.core.bptt)"


_USER_KERNEL = "Python loop of the user cell's forward steps, autograd"


def _says(text: str) -> KernelName:
    """A kernel description that is the same on every device and dtype (a user cell's: its own steps)."""
    return lambda cell, device, dtype: _USER_KERNEL if cell_spec(cell).user else text


def _autograd(name: str, premul: bool, kernel: str) -> Backend:
    """Our cells, differentiated by autograd: probeable, and stackable (rnnbench.core.stacked runs their equations)."""
    return Backend(name, _explicit(premul), _says(kernel), probeable=True, stackable=True)


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        # our cells in a Python loop: each step calls cell(x_t, state)
        _autograd("explicit", False, "Python loop of cell steps, autograd"),
        # our cells; the input GEMM of all steps first (fastest explicit)
        _autograd("explicit-premul", True, "Python loop, input GEMM for all steps first, autograd"),
        # our cells' equations with a hand-written backward through time (rnnbench.core.bptt); a probed
        # step (a StateRecorder given) takes the autograd path of explicit-premul, so probes stay exact
        Backend("explicit-bptt", _explicit(premul=True, bptt=True), _bptt_kernel, probeable=True),
        # torch.nn.RNN/LSTM/GRU: oneDNN LSTM on CPU, cuDNN on CUDA
        Backend("fused", _fused, _fused_kernel, fused=True),
        # torch.compile (inductor) of explicit-premul: the benchmark's, compile time grows with T·layers
        Backend(
            "compiled",
            _compiled,
            _says("torch.compile (inductor) of the explicit-premul layer, unrolled"),
            training=False,
            unrolls=True,
        ),
    )
}
TRAINING_BACKENDS = tuple(name for name, b in BACKENDS.items() if b.training)  # RunConfig.backend's choices, less auto
PROBEABLE_BACKENDS = tuple(name for name, b in BACKENDS.items() if b.probeable)
STACKABLE_BACKENDS = tuple(name for name, b in BACKENDS.items() if b.stackable)
