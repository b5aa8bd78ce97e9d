"""The model: a recurrent stack (explicit or fused backend) and a task head.

The stack comes from the backend registry (``rnnbench.core.backends``): explicit backends run our
cells and can be probed; ``fused`` runs torch.nn's kernels and cannot. The model keeps its
backend's name (``SequenceModel.backend``), so probes and training ask it rather than guess.
"""

from __future__ import annotations

import io
import os
from typing import Any

import torch
from torch import Tensor, nn

from rnnbench.core.backends import BACKENDS
from rnnbench.core.initialisation import initialise
from rnnbench.core.layers import StateRecorder
from rnnbench.core.storage import atomic_write
from rnnbench.core.tasks import Task


class SequenceModel(nn.Module):
    """Recurrent stack plus a linear head: per-step logits (softmax / cross-entropy) for tasks
    that answer at every step, one regression output from the last step otherwise."""

    def __init__(
        self,
        task: Task,
        cell: str,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        backend: str = "explicit-premul",
        reset_after: bool = False,
        cell_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.task = task
        self.cell = cell
        self.backend = backend  # a name in rnnbench.core.backends.BACKENDS
        self.cell_options = dict(cell_options or {})  # the cell's constructor options, kept to rebuild a twin
        self.rnn = BACKENDS[backend].build(
            cell, task.input_size, hidden_size, num_layers, bidirectional, reset_after, self.cell_options
        )
        self.head = nn.Linear(hidden_size * self.rnn.num_directions, task.output_size)

    def forward(self, x: Tensor, recorder: StateRecorder | None = None) -> Tensor:
        # x: (B, T, I)
        h, _ = self.rnn(x, recorder=recorder)  # (B, T, D·H)
        if self.task.per_step_output:
            return self.head(h)  # (B, T, C) logits
        return self.head(h[:, -1]).squeeze(-1)  # (B,)

    def torch_state_dict(self) -> dict[str, Tensor]:
        """The weights as the state dict of a module with ``rnn`` = torch.nn.RNN/LSTM/GRU
        (``batch_first=True``) and ``head`` = torch.nn.Linear: ``rnn.weight_ih_l0``, ...,
        ``head.weight``, ``head.bias``. Refused for the notes' GRU (torch.nn has no such model)."""
        rnn = {f"rnn.{k}": v for k, v in self.rnn.torch_state_dict().items()}
        return {**rnn, **{f"head.{k}": v.detach() for k, v in self.head.state_dict().items()}}

    def load_torch_state_dict(self, state_dict: dict[str, Tensor]) -> None:
        """Load what ``torch_state_dict`` gives (from this model or from torch.nn modules)."""
        self.rnn.load_torch_state_dict({k[4:]: v for k, v in state_dict.items() if k.startswith("rnn.")})
        self.head.load_state_dict({k[5:]: v for k, v in state_dict.items() if k.startswith("head.")})
        extra = sorted(k for k in state_dict if not k.startswith(("rnn.", "head.")))
        if extra:
            raise ValueError(f"unexpected keys {extra}: a model state dict holds rnn.* and head.* only")


def save_model(path: str | os.PathLike, model: SequenceModel) -> None:
    """Write ``model.torch_state_dict()`` (on the CPU) atomically; ``torch.load(path, weights_only=True)``
    reads it back on any machine."""
    buffer = io.BytesIO()
    torch.save({k: v.cpu() for k, v in model.torch_state_dict().items()}, buffer)  # serialise before the file
    atomic_write(path, lambda f: f.write(buffer.getvalue()), mode="wb")


def build_model(
    task: Task,
    cell: str,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    backend: str = "explicit-premul",
    reset_after: bool = False,
    init: str = "default",
    init_gain: float = 1.0,
    forget_bias: float | None = None,
    seed: int = 0,
    chrono_tmax: int | None = None,
    cell_options: dict[str, Any] | None = None,
) -> SequenceModel:
    """Build and initialise a model; the same arguments give the same weights on every backend.

    ``chrono_tmax``: init ``chrono``'s T_max (``RunConfig.chrono_range`` resolves its default).
    ``cell_options``: the cell's constructor options (``cells.cell_options``), complex_RNN's among them
    (Arjovsky et al. 2016): ``peephole`` (LSTM only) and ``learn_initial_state``, explicit backends only.

    A user cell draws its own weights in its constructor, from torch's global generator: the model is
    built with that generator seeded from ``seed`` (and restored after), so a seed gives one set of
    weights. The built-in cells' weights are all drawn again by ``initialise``, from ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SequenceModel(task, cell, hidden_size, num_layers, bidirectional, backend, reset_after, cell_options)
    initialise(model.rnn.cells(), model.head, init, init_gain, forget_bias, seed, cell, reset_after, chrono_tmax)
    return model
