"""M independent models as one: every parameter gains a leading model dimension M.

A ``StackedModel`` is built from M ``SequenceModel``s of the same shape (their weights copied, so
each run keeps its own initialisation) and runs all M on an (M, B, T, I) input with batched
matrix products (``torch.baddbmm``) in place of the cells' ``addmm``. The equations are the
cells' own functions (``CellSpec.step``), run on tensors with one more leading dimension; nothing
mixes runs, so the sum of the M runs' losses has, for each run, exactly that run's gradient.

A single run is not a stack of one: ``baddbmm`` is another kernel than ``addmm`` and, at some
sizes, rounds differently even for M = 1 (forward, H = 5 or 7 at batch 1 or 3, float32 on CPU),
so running single models through this class would change the published results. The two forms
share the equations and the time loop (``layers.run_steps``), not the products.

Parameter names mirror ``SequenceModel``'s (``rnn.layers.0.0.cell.weight_hh``, ``head.weight``),
so slice m of the state dict loads into a plain model (``unstack``).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnbench.core.cells import Cell, Recurrence
from rnnbench.core.layers import StateRecorder, run_steps
from rnnbench.core.models import SequenceModel


class StackedCell(Recurrence):
    """M cells of one kind: each parameter stacked to (M, G·H, ·). It runs the cell's own equations
    (``CellSpec.step``, e.g. ``cells.lstm.lstm_step``) with batched products for ``addmm``/``linear``."""

    def __init__(self, cells: list[Cell]) -> None:
        super().__init__()
        form = type(cells[0])  # the cell class whose equations, state and input bias this stack uses
        for name, _ in cells[0].named_parameters():  # torch.nn's four, then the options' (peephole, h_0, c_0)
            setattr(self, name, nn.Parameter(torch.stack([getattr(c, name).detach() for c in cells])))
        self.learn_initial_state = cells[0].learn_initial_state
        self.hidden_size = cells[0].hidden_size
        self.gates = form.gates
        self.paired_state = form.paired_state
        self.equations = form.equations
        self.input_bias = form.input_bias
        # the GRU's form, the RNN's nonlinearity, the LSTM's peephole: its equations read them
        for option in ("reset_after", "nonlinearity", "peephole"):
            if hasattr(cells[0], option):
                setattr(self, option, getattr(cells[0], option))

    def addmm(self, add: Tensor, h: Tensor, w: Tensor) -> Tensor:
        return torch.baddbmm(add, h, w.mT)  # (M, B, ·)

    def linear(self, h: Tensor, w: Tensor, b: Tensor) -> Tensor:
        return torch.baddbmm(b.unsqueeze(1), h, w.mT)  # (M, B, ·); b: (M, ·)

    def project_input(self, x: Tensor) -> Tensor:
        """W_xh x + b for every step at once: (M, B, T, I) -> (M, B, T, G·H).

        One ``F.linear`` per run, on exactly the shapes the run's own cell uses, not one batched
        product: for some input sizes (the copy task's I = 10) the batched product's backward sums
        ∂L/∂W_xh in another order, and a last-bit difference at step 1 is, a few hundred Adam steps
        later, a different trajectory. M calls per forward, not per time step."""
        bias = self.input_bias(self)  # (M, G·H): b_ih + b_hh, or b_ih alone for the reset-after GRU
        return torch.stack([F.linear(xm, w, b) for xm, w, b in zip(x, self.weight_ih, bias, strict=True)])


class StackedLayer(nn.Module):
    """One direction of one layer over an (M, B, T, I) sequence (the premul time loop of ``layers``)."""

    def __init__(self, cell: StackedCell, reverse: bool) -> None:
        super().__init__()
        self.cell = cell
        self.reverse = reverse

    def forward(self, x: Tensor, recorder: StateRecorder | None = None, key=(0, 0)) -> Tensor:
        gx = self.cell.project_input(x)  # (M, B, T, G·H)
        steps = gx.unbind(2)  # T × (M, B, G·H); unbind, not indexing, for an O(T) backward
        state = self.cell.initial_state(gx[:, :, 0])  # (M, B, H) [LSTM: a pair]
        outputs, _ = run_steps(steps, self.cell.step, state, self.reverse, recorder, key)
        return torch.stack(outputs, 2)  # (M, B, T, H)


class StackedRNN(nn.Module):
    """Layers and directions as ``ExplicitStack`` arranges them, each a ``StackedLayer``."""

    def __init__(self, stacks: list[nn.Module]) -> None:
        super().__init__()
        first = stacks[0]
        self.hidden_size = first.hidden_size
        self.num_layers = first.num_layers
        self.num_directions = first.num_directions
        self.layers = nn.ModuleList(
            nn.ModuleList(
                StackedLayer(StackedCell([s.layers[l][d].cell for s in stacks]), reverse=d == 1)
                for d in range(self.num_directions)
            )
            for l in range(self.num_layers)
        )

    def forward(self, x: Tensor, recorder: StateRecorder | None = None) -> Tensor:
        # x: (M, B, T, I) -> (M, B, T, D·H)
        for l, layer in enumerate(self.layers):
            outs = [direction(x, recorder=recorder, key=(l, d)) for d, direction in enumerate(layer)]
            x = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)
        return x


class StackedLinear(nn.Module):
    """M linear heads: weight (M, C, D·H), bias (M, C)."""

    def __init__(self, heads: list[nn.Linear]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([h.weight.detach() for h in heads]))
        self.bias = nn.Parameter(torch.stack([h.bias.detach() for h in heads]))

    def forward(self, h: Tensor) -> Tensor:
        # h: (M, N, D·H) -> (M, N, C). One F.linear per run, not one baddbmm: for C = 1 (adding) the
        # batched product takes another kernel path and rounds differently, and an exploding run
        # turns a last-bit difference into a different trajectory. M calls per step, not per time step.
        return torch.stack([F.linear(x, w, b) for x, w, b in zip(h.unbind(0), self.weight, self.bias, strict=True)])


class StackedModel(nn.Module):
    """M ``SequenceModel``s of one shape as one model; input (M, B, T, I)."""

    def __init__(self, models: list[SequenceModel]) -> None:
        super().__init__()
        first = models[0]
        if not all(_signature(m) == _signature(first) for m in models):
            raise ValueError("models stacked together must have the same task, cell, sizes and backend")
        self.task = first.task
        self.cell = first.cell
        self.reset_after = first.cell == "gru" and first.rnn.layers[0][0].cell.reset_after
        self.cell_options = first.cell_options
        self.rnn = StackedRNN([m.rnn for m in models])
        self.head = StackedLinear([m.head for m in models])

    @property
    def num_models(self) -> int:
        return self.head.weight.shape[0]

    def forward(self, x: Tensor, recorder: StateRecorder | None = None) -> Tensor:
        # x: (M, B, T, I)
        h = self.rnn(x, recorder=recorder)  # (M, B, T, D·H)
        M, B, T, DH = h.shape
        if self.task.per_step_output:
            return self.head(h.reshape(M, B * T, DH)).view(M, B, T, -1)  # (M, B, T, C) logits
        return self.head(h[:, :, -1]).squeeze(-1)  # (M, B)

    def select(self, runs: list[int], dtype: torch.dtype | None = None) -> StackedModel:
        """A detached copy holding only ``runs`` (in that order), optionally in another dtype."""
        twin = copy.deepcopy(self)
        index = torch.tensor(runs, device=self.head.weight.device)
        for module in twin.modules():
            for name, p in list(module.named_parameters(recurse=False)):
                setattr(module, name, nn.Parameter(p.detach().index_select(0, index).to(dtype or p.dtype)))
        return twin

    def unstack(self, m: int) -> SequenceModel:
        """Run ``m`` as a plain ``SequenceModel`` (a copy of its weights)."""
        rnn = self.rnn
        with torch.random.fork_rng(devices=[]):  # the throwaway default init must not move the global RNG
            model = SequenceModel(
                self.task,
                self.cell,
                rnn.hidden_size,
                rnn.num_layers,
                rnn.num_directions == 2,
                reset_after=self.reset_after,
                cell_options=self.cell_options,
            )
        p = self.head.weight
        model.to(device=p.device, dtype=p.dtype)
        model.load_state_dict({k: v[m] for k, v in self.state_dict().items()})
        return model


def _signature(model: SequenceModel) -> tuple:
    shapes = ((k, tuple(v.shape)) for k, v in model.state_dict().items())
    return (model.task.name, model.cell, sorted(model.cell_options.items()), *shapes)
