"""Whether oneDNN's linear op can run here: the public answer for every layer that asks (the
hand-written BPTT's GEMMs, the throughput benchmark's ceiling and kernel names).

``torch.ops.mkldnn._linear_pointwise`` is a private op (torch.compile's CPU backend uses it): it is
used only if it is there and gives x @ wᵀ on a tiny case; otherwise torch's own GEMMs run.
"""

from __future__ import annotations

import torch


def onednn_linear_works() -> bool:
    """True when ``torch.ops.mkldnn._linear_pointwise`` exists and computes x @ wᵀ exactly on a tiny case."""
    if not torch.backends.mkldnn.is_available() or not hasattr(torch.ops.mkldnn, "_linear_pointwise"):
        return False
    try:
        x, w = torch.arange(6.0).view(2, 3), torch.arange(12.0).view(4, 3)
        return torch.equal(torch.ops.mkldnn._linear_pointwise(x, w, None, "none", [], ""), x @ w.t())
    except (RuntimeError, TypeError):
        return False


ONEDNN: bool = onednn_linear_works()  # checked once per process


def uses_onednn(device: str, dtype: str) -> bool:
    """Whether the oneDNN GEMM runs for tensors on ``device`` ('cpu' | 'cuda') in ``dtype`` ('float32' | ...):
    on the CPU in float32 only, as ``rnnbench.core.bptt.linear`` decides."""
    return ONEDNN and device == "cpu" and dtype == "float32"
