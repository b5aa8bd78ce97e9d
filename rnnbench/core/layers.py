"""Cell -> layer (the time loop) -> stack (layers and directions).

The time loop iterates over ``unbind`` views: indexing ``x[:, t]`` inside the loop would make
every backward step allocate a full-size zero gradient for ``x`` (O(T²) work).
The loop is also where gradient-flow probes hook in: a ``StateRecorder`` keeps every
hidden state (and LSTM cell state) with ``retain_grad`` so ∂L/∂h_t is there after backward.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from rnnbench.core.cells import SPECS, THEIR_OPTIONS, Recurrence, cell_spec, notes_gru


class StateRecorder:
    """Collects the states a stack produced, per layer and direction, for the probes."""

    def __init__(self) -> None:
        self.h: dict[tuple[int, int], list[Tensor]] = {}
        self.c: dict[tuple[int, int], list[Tensor]] = {}

    def record(self, key: tuple[int, int], state) -> None:
        """Keep a step's state: h (the state, or a tuple state's first tensor) and, of a tuple state, its
        second tensor as c (the LSTM's cell state; a user cell's second state tensor, e.g. the LRU's x)."""
        tensors = state if isinstance(state, tuple) else (state,)
        h, c = tensors[0], (tensors[1] if len(tensors) > 1 else None)
        h.retain_grad()
        self.h.setdefault(key, []).append(h)
        if c is not None:
            c.retain_grad()
            self.c.setdefault(key, []).append(c)

    def reverse(self, key: tuple[int, int]) -> None:
        """Put the states of a reverse direction, recorded last step first, back in time order."""
        self.h[key].reverse()
        if key in self.c:
            self.c[key].reverse()


def run_steps(steps: Sequence[Tensor], advance, state, reverse: bool, recorder: StateRecorder | None, key):
    """The time loop of a layer, single or stacked: ``state = advance(inp, state)`` over ``steps``
    (last step first when ``reverse``), each state recorded for the probes. Returns the outputs
    h_t in time order (and the recorded states put back in time order) and the final state."""
    if reverse:
        steps = steps[::-1]
    outputs = []
    for inp in steps:
        state = advance(inp, state)
        if recorder is not None:
            recorder.record(key, state)
        outputs.append(state[0] if isinstance(state, tuple) else state)
    if reverse:
        outputs.reverse()
        if recorder is not None:  # keep the recorded states in time order
            recorder.reverse(key)
    return outputs, state


class RecurrentLayer(nn.Module):
    """One direction of one layer: runs a cell over a (B, T, I) sequence.

    ``premul=True`` computes the input projections of all T steps in one GEMM before the loop
    (as PyTorch's fastrnns "premul" variant); ``False`` calls the cell step by step, as every
    backend does for a user's cell (it has no ``project_input``: only ``forward(x, state)``).
    ``bptt=True`` runs the whole sequence (input projections included) through ``bptt``'s
    hand-written backpropagation through time when no recorder is given and the cell has one
    (not the notes' GRU); a recorder always gets the cell-by-cell autograd path, where every h_t
    (and c_t) is a graph node for the probes.
    """

    def __init__(self, cell: nn.Module, reverse: bool = False, premul: bool = True, bptt: bool = False) -> None:
        super().__init__()
        self.cell = cell
        self.reverse = reverse
        self.premul = premul
        self.bptt = bptt

    def forward(self, x: Tensor, state=None, recorder: StateRecorder | None = None, key=(0, 0)):
        # x: (B, T, I), state: (B, H) [LSTM: a pair] or None -> (B, T, H), the final state
        ours = isinstance(self.cell, Recurrence)  # else a user's cell: forward(x_t, state) only
        run = self.cell.sequence_runner() if ours and self.bptt and recorder is None else None
        if run is not None:
            return self._forward_bptt(run, x, state)
        if ours and self.premul:
            steps = self.cell.project_input(x).unbind(1)  # T × (B, G·H)
            advance = self.cell.step
        else:
            steps = x.unbind(1)  # T × (B, I)
            advance = self.cell
        outputs, state = run_steps(steps, advance, state, self.reverse, recorder, key)
        return torch.stack(outputs, 1), state  # (B, T, H)

    def _forward_bptt(self, run, x: Tensor, state):
        x = x.transpose(0, 1)  # (T, B, I)
        if self.reverse:
            x = x.flip(0)
        hs, state = run(self.cell, x, state)  # (T, B, H)
        if self.reverse:
            hs = hs.flip(0)
        return hs.transpose(0, 1), state  # (B, T, H)


class _Stack(nn.Module):
    """What every stack of recurrent layers reports about its shape (both backends, both directions)."""

    def __init__(self, cell: str, hidden_size: int, num_layers: int, bidirectional: bool) -> None:
        super().__init__()
        self.cell_name = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1


class ExplicitStack(_Stack):
    """``num_layers`` layers of our cells, optionally bidirectional; the input of layer l > 0 is
    the concatenation of both directions' outputs of layer l−1, as in torch.nn.RNN."""

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        reset_after: bool = False,
        premul: bool = True,
        bptt: bool = False,
        cell_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(cell, hidden_size, num_layers, bidirectional)
        spec = cell_spec(cell)
        kwargs = {"reset_after": reset_after} if "reset_after" in spec.options else {}
        # the cell's own constructor options (orthogonal_map, nonlinearity, peephole), learn_initial_state for every cell
        kwargs.update(cell_options or {})
        layers = []
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * self.num_directions
            directions = []
            for d in range(self.num_directions):
                directions.append(
                    RecurrentLayer(spec.cls(in_size, hidden_size, **kwargs), reverse=d == 1, premul=premul, bptt=bptt)
                )
            layers.append(nn.ModuleList(directions))
        self.layers = nn.ModuleList(layers)

    def cells(self) -> list[nn.Module]:
        """Cells in torch.nn.RNN's parameter order: layer 0 forward, layer 0 reverse, layer 1 ..."""
        return [direction.cell for layer in self.layers for direction in layer]

    def forward(self, x: Tensor, hx=None, recorder: StateRecorder | None = None):
        """As torch.nn.RNN/GRU (``batch_first=True``) return ``(output, h_n)``, and torch.nn.LSTM
        ``(output, (h_n, c_n))``: output (B, T, D·H), h_n and c_n (L·D, B, H) in layer-major order.
        ``hx``: the initial state(s) shaped like h_n (and c_n), or None for zeros. Callers that only
        need the output take ``[0]``; computing h_n changes nothing in the output or its gradients."""
        # x: (B, T, I); a parametrised weight (the orthogonal RNN's B = exp(A)) computed once per forward, not per step
        with parametrize.cached():
            return self._forward(x, hx, recorder)

    def _forward(self, x: Tensor, hx, recorder: StateRecorder | None):
        initial = self._initial_states(hx)  # L·D states, or None each
        finals = []
        for l, layer in enumerate(self.layers):
            outs = []
            for d, direction in enumerate(layer):
                out, state = direction(x, initial[l * self.num_directions + d], recorder=recorder, key=(l, d))
                outs.append(out)  # (B, T, H)
                finals.append(state)
            x = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)
        if isinstance(finals[0], tuple):  # the LSTM's (h, c); a user cell's tuple state
            return x, tuple(torch.stack(parts) for parts in zip(*finals, strict=True))  # (L·D, B, ·) each
        return x, torch.stack(finals)  # (B, T, D·H), (L·D, B, H)

    def _initial_states(self, hx) -> list:
        """torch.nn's stacked initial state, (L·D, B, H) (LSTM: a pair), as one state per layer and
        direction in ``cells()`` order; None each for zeros (the cells make their own)."""
        n = self.num_layers * self.num_directions
        if hx is None:
            return [None] * n
        if isinstance(hx, tuple):  # the LSTM's (h_0, c_0); a user cell's tuple state
            return list(zip(*(t.unbind(0) for t in hx), strict=True))  # (L·D, B, ·) each
        return list(hx.unbind(0))

    def torch_state_dict(self) -> dict[str, Tensor]:
        """The weights under torch.nn.RNN/LSTM/GRU's names (``weight_ih_l{k}[_reverse]``, ...), as
        detached tensors: ``torch.nn.LSTM(..., batch_first=True).load_state_dict`` takes them."""
        self._refuse_notes_gru("exported as")
        return {
            f"{name}_l{l}{_SUFFIX[d]}": getattr(self.layers[l][d].cell, name).detach()
            for l in range(self.num_layers)
            for d in range(self.num_directions)
            for name in PARAMETER_NAMES
        }

    def load_torch_state_dict(self, state_dict: dict[str, Tensor]) -> None:
        """Load a torch.nn.RNN/LSTM/GRU state dict of this stack's cell, depth and directions: missing
        or extra keys are refused here by name, tensors of another shape by ``load_state_dict``."""
        self._refuse_notes_gru("loaded from")
        mine = {
            f"layers.{l}.{d}.cell.{name}": f"{name}_l{l}{_SUFFIX[d]}"
            for l in range(self.num_layers)
            for d in range(self.num_directions)
            for name in PARAMETER_NAMES
        }
        unknown = sorted(set(state_dict) - set(mine.values()))
        missing = sorted(set(mine.values()) - set(state_dict))
        if unknown or missing:
            raise ValueError(
                f"not a state dict of a {self.num_layers}-layer"
                f"{' bidirectional' if self.num_directions == 2 else ''} torch.nn.{FUSED[self.cell_name].__name__}: "
                f"missing {missing or 'nothing'}, unexpected {unknown or 'nothing'}"
            )
        self.load_state_dict({ours: state_dict[theirs] for ours, theirs in mine.items()})

    def _refuse_notes_gru(self, verb: str) -> None:
        if cell_spec(self.cell_name).fused is None:
            raise ValueError(
                f"the {self.cell_name} cell cannot be {verb} a torch.nn state dict: torch.nn has no such (stacked) model"
            )
        if notes_gru(self.cell_name, getattr(self.layers[0][0].cell, "reset_after", False)):  # only the GRU has it
            raise ValueError(
                f"the notes' GRU (reset_after=False) cannot be {verb} a torch.nn.GRU state dict: torch.nn.GRU is the "
                "reset-after GRU, another model with the same parameter shapes; build the stack with reset_after=True"
            )
        cell = self.layers[0][0].cell
        extra = [n for n, _ in cell.named_parameters() if n not in PARAMETER_NAMES]  # peephole, h_0, c_0
        if extra:
            raise ValueError(
                f"a stack with complex_RNN's parameters {extra} cannot be {verb} a torch.nn state dict: torch.nn's "
                f"{self.cell_name.upper()} has no peephole and no learned initial state"
            )


PARAMETER_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
_SUFFIX = ("", "_reverse")  # torch.nn's name suffix per direction


FUSED = {name: s.fused for name, s in SPECS.items()}


class FusedStack(_Stack):
    """torch.nn.RNN/LSTM/GRU (oneDNN LSTM on CPU, cuDNN on CUDA) with the same parameters."""

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        cell_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(cell, hidden_size, num_layers, bidirectional)
        kw = dict(cell_options or {})  # torch.nn.RNN's nonlinearity (the IRNN's relu)
        for name in THEIR_OPTIONS:  # complex_RNN's: torch.nn has no form for them
            if kw.pop(name, False):
                raise ValueError(
                    f"{name}=True is not allowed on torch.nn's fused {cell.upper()}: it has no {name} "
                    "(complex_RNN's option); use an explicit backend"
                )
        self.rnn = FUSED[cell](input_size, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional, **kw)

    def cells(self) -> list[nn.Module]:
        """Views of the fused weights, one per (layer, direction), shaped like a cell's."""
        views = []
        for l in range(self.num_layers):
            for d in range(self.num_directions):
                sfx = f"_l{l}{_SUFFIX[d]}"
                view = nn.Module()
                for name in PARAMETER_NAMES:
                    setattr(view, name, getattr(self.rnn, name + sfx))
                view.hidden_size = self.hidden_size
                views.append(view)
        return views

    def forward(self, x: Tensor, hx=None, recorder: StateRecorder | None = None):
        """torch.nn's own ``(output, h_n)`` / ``(output, (h_n, c_n))``, as ``ExplicitStack``."""
        if recorder is not None:
            raise ValueError("gradient-flow probes need an explicit backend: the fused kernels hide the hidden states")
        return self.rnn(x, hx)

    def torch_state_dict(self) -> dict[str, Tensor]:
        return {k: v.detach() for k, v in self.rnn.state_dict().items()}

    def load_torch_state_dict(self, state_dict: dict[str, Tensor]) -> None:
        self.rnn.load_state_dict(state_dict)
