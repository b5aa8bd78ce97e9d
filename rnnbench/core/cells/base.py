"""What every cell shares: the parameter layout, the step, and the record (``CellSpec``) of a cell.

Parameters are named and laid out exactly as in ``torch.nn.RNNCell``, ``LSTMCell`` and
``GRUCell`` (``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``; gate rows in the order
i, f, g, o for the LSTM and r, z, n for the GRU), so a torch.nn state dict loads unchanged.

Every cell splits a step in two:

* ``project_input(x)`` -- the part that depends on the input only (``W_xh x_t + b``).
  It is linear in ``x``, so a layer may apply it to a whole sequence in one GEMM.
* ``step(gx, state)`` -- the recurrence, written as the notes write it.

``forward(x, state)`` is simply ``step(project_input(x), state)``; like torch.nn's cells it also
takes one unbatched example, ``x`` of shape (I,) with a state of shape (H,).

A cell's equations are one function ``equations(cell, gx, state)`` (in the cell's module) that
takes its parameters from ``cell`` and its recurrent products from ``cell.addmm`` and
``cell.linear``. Two forms of a cell run them: the single cell here, on (B, ·) tensors with
``addmm``, and ``stacked.StackedCell``, M models at once on (M, B, ·) tensors with ``baddbmm``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LSTMState = tuple[Tensor, Tensor]
Equations = Callable[..., Any]  # (cell, gx (…, B, G·H), state) -> the next state, for either form of the cell
SequenceRunner = Callable[..., tuple[Tensor, Any]]  # (cell, x (T, B, I), state) -> (hs (T, B, H), final state)


def _tensors(state) -> tuple[Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def _apply(state, fn):
    """``fn`` on a state: one tensor, or the LSTM's (h, c) pair."""
    return tuple(fn(t) for t in state) if isinstance(state, tuple) else fn(state)


def fold_biases(cell: nn.Module) -> Tensor:
    """b_ih + b_hh: the recurrent bias sits outside every gate product, so it joins the input part."""
    return cell.bias_ih + cell.bias_hh


class Recurrence(nn.Module):
    """The part of a cell that both forms share: its state and its step.

    A form gives ``hidden_size``, the parameters, ``equations`` (a plain function called as
    ``equations(self, gx, state)``), ``paired_state`` and the two recurrent products below."""

    hidden_size: int
    paired_state: bool  # the state is (h, c) (the LSTM), not h alone
    equations: Equations
    learn_initial_state: bool = False  # h_0 (and c_0) are parameters (complex_RNN's), not zeros

    def addmm(self, add: Tensor, h: Tensor, w: Tensor) -> Tensor:
        """add + h wᵀ: a recurrent product (w: gate rows of ``weight_hh``)."""
        raise NotImplementedError

    def linear(self, h: Tensor, w: Tensor, b: Tensor) -> Tensor:
        """h wᵀ + b, b a bias parameter (one row per model)."""
        raise NotImplementedError

    def zero_state(self, x: Tensor):
        h = x.new_zeros(*x.shape[:-1], self.hidden_size)  # (B, H), stacked (M, B, H)
        return (h, h) if self.paired_state else h

    def initial_state(self, x: Tensor):
        """The state before the first step: zeros, or the learned h_0 (and c_0) of every sequence."""
        if not self.learn_initial_state:
            return self.zero_state(x)
        shape = (*x.shape[:-1], self.hidden_size)  # (B, H), stacked (M, B, H)
        h = self.initial_h.unsqueeze(-2).expand(shape)  # initial_h: (H,), stacked (M, H)
        return (h, self.initial_c.unsqueeze(-2).expand(shape)) if self.paired_state else h

    def step(self, gx: Tensor, state=None):
        """One time step from the input part ``gx`` = ``project_input(x_t)``; no state: the initial one."""
        return self.equations(self, gx, self.initial_state(gx) if state is None else state)


class Cell(Recurrence):
    """One cell on (B, ·) tensors: ``gates`` stacked blocks of ``hidden_size`` rows per parameter."""

    gates: ClassVar[int] = 1
    paired_state: ClassVar[bool] = False
    # the bias added in ``project_input``; the reset-after GRU keeps b_hh for inside its reset product
    input_bias: ClassVar[Callable[[nn.Module], Tensor]] = staticmethod(fold_biases)
    sequence: ClassVar[SequenceRunner]  # the hand-written BPTT (``sequence_runner``)

    def __init__(self, input_size: int, hidden_size: int, learn_initial_state: bool = False) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        G = self.gates
        self.weight_ih = nn.Parameter(torch.empty(G * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(G * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(G * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(G * hidden_size))
        self.reset_parameters()
        self.add_initial_state(learn_initial_state)

    def add_initial_state(self, learn_initial_state: bool) -> None:
        """Learned h_0 (and c_0), when asked: registered after the cell's own parameters (and left out
        of reset_parameters' draws), so that a cell without them keeps its parameter order and its
        default weights; zeros, as complex_RNN's h_0."""
        self.learn_initial_state = learn_initial_state
        if learn_initial_state:
            self.initial_h = nn.Parameter(torch.zeros(self.hidden_size))
            if self.paired_state:
                self.initial_c = nn.Parameter(torch.zeros(self.hidden_size))

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """PyTorch's default: every entry U(-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound, generator=generator)

    def addmm(self, add: Tensor, h: Tensor, w: Tensor) -> Tensor:
        return torch.addmm(add, h, w.t())  # (B, ·)

    def linear(self, h: Tensor, w: Tensor, b: Tensor) -> Tensor:
        return F.linear(h, w, b)  # (B, ·)

    def project_input(self, x: Tensor, linear=F.linear) -> Tensor:
        """W_xh x + b_ih (+ the recurrent biases that sit outside any gate product).

        ``linear`` computes x Wᵀ + b; the hand-written BPTT path passes its own GEMM (see ``bptt``)."""
        return linear(x, self.weight_ih, self.input_bias(self))

    def sequence_runner(self) -> SequenceRunner | None:
        """The hand-written BPTT over a whole sequence (``explicit-bptt``), or None where the cell has none."""
        return self.sequence

    def forward(self, x: Tensor, state=None):
        # x: (B, I) with state (B, H) [LSTM: a pair], or unbatched (I,) with state (H,), as torch.nn's cells
        if x.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {x.dim()}D instead")
        expected = (*x.shape[:-1], self.hidden_size)  # (B, H) or (H,)
        for t in () if state is None else _tensors(state):
            if tuple(t.shape) != expected:  # the product would broadcast a state of another batch size
                raise ValueError(
                    f"{type(self).__name__}: the state has shape {tuple(t.shape)}; an input of shape "
                    f"{tuple(x.shape)} needs a state of shape {expected}"
                )
        if x.dim() == 2:
            return self.step(self.project_input(x), state)
        state = None if state is None else _apply(state, lambda t: t.unsqueeze(0))  # (1, H)
        return _apply(self.step(self.project_input(x.unsqueeze(0)), state), lambda t: t.squeeze(0))  # (H,)

    def extra_repr(self) -> str:
        learned = ", learn_initial_state=True" if self.learn_initial_state else ""
        return f"{self.input_size}, {self.hidden_size}{learned}"


@dataclass(frozen=True)
class Option:
    """A run option that means something for one cell only (the LSTM's forget bias, the GRU's form):
    ``off`` is its value when unused, ``what`` says what it does (``config`` refuses it elsewhere)."""

    off: Any
    what: str
    builds: bool = False  # the cell's constructor takes it (``cell_options``); the GRU's reset_after has its own path


# complex_RNN's model options (Arjovsky et al. 2016) that torch.nn's fused kernels have no form for:
# the LSTM's peephole V_o c_t into the output gate, and h_0 (c_0) learned as parameters (every cell)
THEIR_OPTIONS = ("peephole", "learn_initial_state")


def their_options(values: dict[str, Any]) -> dict[str, bool]:
    """complex_RNN's options set in ``values`` (a RunConfig's fields), each as ``True``; empty when none is."""
    return {name: True for name in THEIR_OPTIONS if values.get(name)}


def cell_options(spec: CellSpec, values: dict[str, Any]) -> dict[str, Any]:
    """The constructor options of ``spec``'s cell, taken from ``values`` (a RunConfig's) where given."""
    return {name: values.get(name, o.off) for name, o in spec.options.items() if o.builds}


@dataclass(frozen=True)
class CellSpec:
    """Everything the package knows about one cell, in one place: every per-cell table derives
    from ``SPECS`` (the FLOP count, the memory estimate, the job cost, the figures' names, the
    options a run may set); the equations and the hand-written BPTT are the class's."""

    name: str  # config value: rnn | lstm | gru | orthogonal
    display: str  # the name figures and reports print
    cls: type[nn.Module]  # the step-by-step cell: ours (a ``Cell``, the seed's equations) or a user's
    fused: type[nn.RNNBase] | None  # torch.nn's fused twin (for the GRU: the reset-after form only); None: none
    saved_per_unit: int | None  # numbers autograd keeps per hidden unit and step (gates, states); None: unknown
    cost: int  # relative cost of one time step (its gates' products and nonlinearities); orders jobs only
    options: dict[str, Option] = field(default_factory=dict)  # run options that apply to this cell only
    stackable: bool = True  # runs may train as one stacked model (``stacked``); not with a parametrised weight
    path: str = ""  # a user cell's module:Class (``registry.cell_spec``); '' for the built-in cells

    @property
    def user(self) -> bool:
        """A cell the package did not ship (torch.nn's convention, named by a path or an entry point):
        it trains on the explicit path, alone, and its FLOPs and memory are unknown."""
        return bool(self.path)

    @property
    def gates(self) -> int | None:
        """Stacked gate blocks in ``weight_ih``/``weight_hh``: 1, 4 (i, f, g, o), 3 (r, z, n); None: a user cell."""
        return None if self.user else self.cls.gates

    @property
    def step(self) -> Equations | None:
        """The equations ``(cell, gx, state) -> state``, run by the single and the stacked cell alike."""
        return None if self.user else self.cls.equations

    @property
    def bptt(self) -> SequenceRunner | None:
        """The hand-written BPTT ``(cell, x (T, B, I), state) -> (hs (T, B, H), final state)``."""
        return None if self.user else self.cls.sequence
