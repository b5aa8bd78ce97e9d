"""The model: a recurrent stack (explicit or fused backend) and a task head.

Backends are a registry: name -> how to build the stack. Explicit backends run our cells and
can be probed; ``fused`` runs torch.nn's kernels and cannot.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from rnnbench.initialisation import initialise
from rnnbench.layers import ExplicitStack, FusedStack, StateRecorder
from rnnbench.tasks import Task


def _explicit(premul: bool, bptt: bool = False) -> Callable[..., nn.Module]:
    def build(cell, input_size, hidden_size, num_layers, bidirectional, reset_after):
        return ExplicitStack(
            cell, input_size, hidden_size, num_layers, bidirectional, reset_after, premul=premul, bptt=bptt
        )

    return build


def _fused(cell, input_size, hidden_size, num_layers, bidirectional, reset_after):
    if cell == "gru" and not reset_after:
        raise ValueError(
            "backend 'fused' runs torch.nn.GRU, which only implements the reset-after GRU; "
            "the notes' GRU (reset_after=False) needs an explicit backend (or pass reset_after=True)"
        )
    return FusedStack(cell, input_size, hidden_size, num_layers, bidirectional)


BACKENDS: dict[str, Callable[..., nn.Module]] = {
    "explicit": _explicit(premul=False),  # our cells in a Python loop: each step calls cell(x_t, state)
    "explicit-premul": _explicit(premul=True),  # our cells; the input GEMM of all steps first (fastest explicit)
    # our cells' equations with a hand-written backward through time (rnnbench.bptt); a probed
    # step (a StateRecorder given) takes the autograd path of explicit-premul, so probes stay exact
    "explicit-bptt": _explicit(premul=True, bptt=True),
    "fused": _fused,  # torch.nn.RNN/LSTM/GRU: oneDNN LSTM on CPU, cuDNN on CUDA
}
PROBEABLE_BACKENDS = ("explicit", "explicit-premul", "explicit-bptt")


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
    ) -> None:
        super().__init__()
        self.task = task
        self.cell = cell
        self.rnn = BACKENDS[backend](cell, task.input_size, hidden_size, num_layers, bidirectional, reset_after)
        self.head = nn.Linear(hidden_size * self.rnn.num_directions, task.output_size)

    def forward(self, x: Tensor, recorder: StateRecorder | None = None) -> Tensor:
        # x: (B, T, I)
        h = self.rnn(x, recorder=recorder)  # (B, T, D·H)
        if self.task.per_step_output:
            return self.head(h)  # (B, T, C) logits
        return self.head(h[:, -1]).squeeze(-1)  # (B,)


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
) -> SequenceModel:
    """Build and initialise a model; the same arguments give the same weights on every backend.

    ``chrono_tmax``: init ``chrono``'s T_max (``RunConfig.chrono_range`` resolves its default)."""
    model = SequenceModel(task, cell, hidden_size, num_layers, bidirectional, backend, reset_after)
    initialise(model.rnn.cells(), model.head, init, init_gain, forget_bias, seed, cell, reset_after, chrono_tmax)
    return model
