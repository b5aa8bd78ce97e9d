"""M independent models as one: every parameter gains a leading model dimension M.

A ``StackedModel`` is built from M ``SequenceModel``s of the same shape (their weights copied, so
each run keeps its own initialisation) and runs all M on an (M, B, T, I) input with batched
matrix products (``torch.baddbmm``) in place of the cells' ``addmm``. The equations are the
cells' own, line for line, with one more leading dimension; nothing mixes runs, so the sum of
the M runs' losses has, for each run, exactly that run's gradient.

Parameter names mirror ``SequenceModel``'s (``rnn.layers.0.0.cell.weight_hh``, ``head.weight``),
so slice m of the state dict loads into a plain model (``unstack``).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnbench.core.layers import StateRecorder
from rnnbench.core.models import SequenceModel

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _rnn_step(cell: StackedCell, gx: Tensor, h: Tensor) -> Tensor:
    # gx, h: (M, B, H)
    return torch.tanh(torch.baddbmm(gx, h, cell.weight_hh.mT))  # tanh(W_hh h_{t-1} + W_xh x_t + b_h)


def _lstm_step(cell: StackedCell, gx: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    # gx: (M, B, 4H); h, c: (M, B, H)
    h, c = state
    gates = torch.baddbmm(gx, h, cell.weight_hh.mT)  # (M, B, 4H), gate blocks i, f, g, o
    i, f, g, o = gates.chunk(4, -1)
    f = torch.sigmoid(f)
    i = torch.sigmoid(i)
    c_tilde = torch.tanh(g)
    c = f * c + i * c_tilde  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t
    o = torch.sigmoid(o)
    h = o * torch.tanh(c)  # h_t = o_t ⊙ tanh(c_t)
    return h, c


def _gru_seed_step(cell: StackedCell, gx: Tensor, h: Tensor) -> Tensor:
    # gx: (M, B, 3H); h: (M, B, H); the notes' GRU, reset before the product
    H = cell.hidden_size
    gx_rz, gx_h = gx.split((2 * H, H), -1)
    rz = torch.baddbmm(gx_rz, h, cell.weight_hh[:, : 2 * H].mT)  # (M, B, 2H)
    r, z = torch.sigmoid(rz).chunk(2, -1)
    h_tilde = torch.tanh(torch.baddbmm(gx_h, r * h, cell.weight_hh[:, 2 * H :].mT))
    return (1 - z) * h + z * h_tilde  # h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t


def _gru_reset_after_step(cell: StackedCell, gx: Tensor, h: Tensor) -> Tensor:
    # gx: (M, B, 3H) without b_hh, which sits inside r ⊙ (W_hn h + b_hn)
    gh = torch.baddbmm(cell.bias_hh.unsqueeze(1), h, cell.weight_hh.mT)  # (M, B, 3H)
    gx_r, gx_z, gx_n = gx.chunk(3, -1)
    gh_r, gh_z, gh_n = gh.chunk(3, -1)
    r = torch.sigmoid(gx_r + gh_r)
    z = torch.sigmoid(gx_z + gh_z)
    n = torch.tanh(gx_n + r * gh_n)
    return (1 - z) * n + z * h  # torch.nn.GRUCell: z keeps the old state


STEPS = {"rnn": _rnn_step, "lstm": _lstm_step, "gru": _gru_seed_step, "gru-reset-after": _gru_reset_after_step}


class StackedCell(nn.Module):
    """M cells of one kind: each parameter stacked to (M, G·H, ·)."""

    def __init__(self, cells: list[nn.Module], kind: str) -> None:
        super().__init__()
        for name in PARAM_NAMES:
            setattr(self, name, nn.Parameter(torch.stack([getattr(c, name).detach() for c in cells])))
        self.hidden_size = cells[0].hidden_size
        self.kind = kind
        self.gates = self.weight_hh.shape[1] // self.hidden_size

    def project_input(self, x: Tensor) -> Tensor:
        """W_xh x + b for every step at once: (M, B, T, I) -> (M, B, T, G·H).

        One ``F.linear`` per run, on exactly the shapes the run's own cell uses, not one batched
        product: for some input sizes (the copy task's I = 10) the batched product's backward sums
        ∂L/∂W_xh in another order, and a last-bit difference at step 1 is, a few hundred Adam steps
        later, a different trajectory. M calls per forward, not per time step."""
        # reset-after GRU keeps b_hh for inside the reset product; the others fold it in here
        bias = self.bias_ih if self.kind == "gru-reset-after" else self.bias_ih + self.bias_hh  # (M, G·H)
        return torch.stack([F.linear(xm, w, b) for xm, w, b in zip(x, self.weight_ih, bias, strict=True)])

    def zero_state(self, gx: Tensor):
        h = gx.new_zeros(*gx.shape[:-1], self.hidden_size)  # (M, B, H)
        return (h, h) if self.kind == "lstm" else h

    def step(self, gx: Tensor, state):
        return STEPS[self.kind](self, gx, state)


class StackedLayer(nn.Module):
    """One direction of one layer over an (M, B, T, I) sequence (the premul time loop of ``layers``)."""

    def __init__(self, cell: StackedCell, reverse: bool) -> None:
        super().__init__()
        self.cell = cell
        self.reverse = reverse

    def forward(self, x: Tensor, recorder: StateRecorder | None = None, key=(0, 0)) -> Tensor:
        gx = self.cell.project_input(x)  # (M, B, T, G·H)
        steps = gx.unbind(2)  # T × (M, B, G·H); unbind, not indexing, for an O(T) backward
        if self.reverse:
            steps = steps[::-1]
        state = self.cell.zero_state(gx[:, :, 0])
        outputs = []
        for inp in steps:
            state = self.cell.step(inp, state)
            if recorder is not None:
                recorder.record(key, state)
            outputs.append(state[0] if isinstance(state, tuple) else state)
        if self.reverse:
            outputs.reverse()
            if recorder is not None:
                recorder.h[key].reverse()
                if key in recorder.c:
                    recorder.c[key].reverse()
        return torch.stack(outputs, 2)  # (M, B, T, H)


class StackedRNN(nn.Module):
    """Layers and directions as ``ExplicitStack`` arranges them, each a ``StackedLayer``."""

    def __init__(self, stacks: list[nn.Module], kind: str) -> None:
        super().__init__()
        first = stacks[0]
        self.hidden_size = first.hidden_size
        self.num_layers = first.num_layers
        self.num_directions = first.num_directions
        self.layers = nn.ModuleList(
            nn.ModuleList(
                StackedLayer(StackedCell([s.layers[l][d].cell for s in stacks], kind), reverse=d == 1)
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
        kind = "gru-reset-after" if self.reset_after else first.cell
        self.rnn = StackedRNN([m.rnn for m in models], kind)
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
            )
        p = self.head.weight
        model.to(device=p.device, dtype=p.dtype)
        model.load_state_dict({k: v[m] for k, v in self.state_dict().items()})
        return model


def _signature(model: SequenceModel) -> tuple:
    return (model.task.name, model.cell, *((k, tuple(v.shape)) for k, v in model.state_dict().items()))
