"""CUDA code paths: the harness with CUDA events and memory stats, and the hand-written BPTT on a
GPU against torch.nn (cuDNN). Marked `cuda`: tests/conftest.py skips them, saying why, where no real
CUDA device is (the faked one of RNNBENCH_FAKE_CUDA runs no kernel)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnbench.bench.throughput import ThroughputConfig, measure
from rnnbench.core.layers import ExplicitStack

pytestmark = pytest.mark.cuda


@pytest.mark.parametrize("backend", ["fused", "explicit-premul", "explicit-bptt"])
def test_measure_on_cuda(backend):
    cfg = ThroughputConfig(cell="lstm", backend=backend, length=10, batch=8, hidden=32, device="cuda", repeats=3)
    row = measure(cfg)
    assert row.status == "ok", row.reason
    assert row.peak_mem_kind == "cuda_max_allocated" and row.peak_mem_mb > 0
    assert row.machine["gpu"] and row.fwd_bwd_s > 0
    if backend == "fused":
        assert "cuDNN" in row.kernel


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_bptt_on_cuda_matches_torch_nn_float64(cell):
    torch.manual_seed(0)
    dev = torch.device("cuda")
    fused = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](5, 7, batch_first=True).to(dev, torch.float64)
    fast = ExplicitStack(cell, 5, 7, reset_after=True, bptt=True).to(dev, torch.float64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(fast.cells()[0], name).copy_(getattr(fused, f"{name}_l0"))
    x = torch.randn(3, 9, 5, device=dev, dtype=torch.float64, requires_grad=True)
    out_nn = fused(x)[0]
    g_nn = torch.autograd.grad(out_nn.sum(), [x, *fused.parameters()])
    out, _ = fast(x)
    g = torch.autograd.grad(out.sum(), [x, *fast.parameters()])
    torch.testing.assert_close(out, out_nn)
    for a, b in zip(g, g_nn, strict=True):
        torch.testing.assert_close(a, b)


def test_cuda_timer_synchronises():
    from rnnbench.bench.throughput import Timer

    a = torch.randn(512, 512, device="cuda")
    t = Timer(torch.device("cuda"))(lambda: [a @ a for _ in range(10)])
    assert t > 0
