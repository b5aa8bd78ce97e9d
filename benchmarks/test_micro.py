"""One cell step and one layer pass (forward + backward) per cell type and backend, on CPU,
at fastrnns' shape scaled down: I = H = 128, B = 64, T = 50 for layers."""

from __future__ import annotations

import pytest
import torch

from rnnbench.bench.throughput import ThroughputConfig, build
from rnnbench.core.cells import CELLS

B, H, T = 64, 128, 50


def _cell(name: str):
    return CELLS[name](H, H, reset_after=True) if name == "gru" else CELLS[name](H, H)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_cell_step_forward(benchmark, cell):
    torch.manual_seed(0)
    c = _cell(cell)
    x = torch.randn(B, H)
    with torch.no_grad():
        state = c(x)  # a non-zero state
        benchmark.group = "cell step, forward"
        benchmark(c, x, state)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_cell_step_forward_backward(benchmark, cell):
    torch.manual_seed(0)
    c = _cell(cell)
    x = torch.randn(B, H, requires_grad=True)

    def step():
        out = c(x)
        (out[0] if isinstance(out, tuple) else out).sum().backward()

    benchmark.group = "cell step, forward+backward"
    benchmark(step)


@pytest.mark.parametrize("backend", ["fused", "explicit", "explicit-premul", "explicit-bptt"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_layer_forward_backward(benchmark, cell, backend):
    torch.manual_seed(0)
    model = build(ThroughputConfig(cell=cell, backend=backend, length=T, batch=B, hidden=H))
    x = torch.randn(B, T, H, requires_grad=True)
    grad = torch.randn(B, T, H)
    benchmark.group = f"{cell} layer T={T}, forward+backward"
    benchmark.pedantic(lambda: model(x)[0].backward(grad), rounds=10, warmup_rounds=2)
