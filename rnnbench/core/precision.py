"""One TF32 policy for training and the benchmark: float32 math is true fp32 unless TF32 is allowed.

On NVIDIA GPUs since Ampere, cuBLAS and cuDNN can run float32 products in TF32 (a 10-bit mantissa),
several times faster and less exact. torch leaves it off for matmuls
(``torch.backends.cuda.matmul.allow_tf32 = False``) but ON for cuDNN (``torch.backends.cudnn.allow_tf32
= True``, which covers cuDNN's fused RNNs), so without a policy a fused LSTM trains in TF32 while the
explicit backends' torch.mm runs fp32, and a GEMM ceiling measured with torch.mm is strict fp32. Here
both switches are set together, for one scope: ``tf32_policy(device, allow_tf32)``.

The math mode a run records is ``fp32`` or ``tf32``: what its float32 products ran in. TF32 exists
on CUDA only, so on CPU the mode is always ``fp32`` (allowing TF32 changes nothing there); a float64
run is unaffected by either switch (its dtype says so).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import torch

from rnnbench.core.checks import one_of

MATH_MODES = ("fp32", "tf32")


def math_mode(device: str | torch.device, allow_tf32: bool) -> str:
    """``tf32`` where TF32 is allowed and can take effect (a CUDA device), else ``fp32``."""
    return "tf32" if allow_tf32 and torch.device(device).type == "cuda" else "fp32"


def _switches() -> tuple[bool, bool]:
    return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32


def _set(matmul: bool, cudnn: bool) -> None:
    torch.backends.cuda.matmul.allow_tf32 = matmul
    torch.backends.cudnn.allow_tf32 = cudnn


@contextmanager
def math_mode_scope(mode: str) -> Iterator[str]:
    """Within the scope, cuBLAS matmuls and cuDNN (RNNs and convolutions) use TF32 exactly when
    ``mode`` is ``tf32``; the switches read before are restored after. Yields ``mode``."""
    one_of("math_mode", mode, MATH_MODES)
    before = _switches()
    _set(mode == "tf32", mode == "tf32")
    try:
        yield mode
    finally:
        _set(*before)


def tf32_policy(device: str | torch.device, allow_tf32: bool) -> AbstractContextManager[str]:
    """The policy's scope: ``math_mode_scope(math_mode(device, allow_tf32))``. Set on CPU too
    (harmless there), so that a CPU process never leaves cuDNN's default TF32 on for a later CUDA call."""
    return math_mode_scope(math_mode(device, allow_tf32))
