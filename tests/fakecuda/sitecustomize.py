"""Faked CUDA for the test suite: with ``RNNBENCH_FAKE_CUDA=1`` torch reports one CUDA device while
every tensor stays on the CPU, so a test that assumes CUDA is absent (``auto`` means CPU, ``cuda`` is
refused) fails here, on a machine without a GPU, as it would on one with a GPU.

tests/conftest.py installs it in the pytest process and puts this folder first on ``PYTHONPATH``, so
that Python subprocesses (``rnnbench`` commands, Snakemake and its jobs) import it at start-up as
``sitecustomize`` and are faked too. Only what the project reads is faked (``is_available``,
``device_count``, ``get_device_name``): anything that needs a real CUDA kernel or memory query still
fails, which is what a test that needs a GPU is marked ``cuda`` for.
"""

import os

FAKE_NAME = "Fake CUDA device (RNNBENCH_FAKE_CUDA)"


def fake_cuda_on() -> bool:
    return os.environ.get("RNNBENCH_FAKE_CUDA", "") not in ("", "0")


def install() -> None:
    """Make torch report one CUDA device (idempotent)."""
    import torch

    torch.cuda.is_available = lambda: True
    torch.cuda.device_count = lambda: 1
    torch.cuda.get_device_name = lambda device=None: FAKE_NAME


if fake_cuda_on():
    install()
