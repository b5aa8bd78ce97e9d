"""Microbenchmarks: ``pytest benchmarks --benchmark-only`` (not part of the default test run).

Every run saves its JSON under ``.benchmarks/`` (autosave), so two commits or two machines can be
compared with ``pytest-benchmark compare``. ``RNNBENCH_BENCH_THREADS`` sets torch's CPU threads
(default 1: on a shared 2-core machine two threads stall on each other's OpenMP barriers)."""

from __future__ import annotations

import os

import pytest
import torch


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if hasattr(config.option, "benchmark_autosave"):
        config.option.benchmark_autosave = True


@pytest.fixture(autouse=True, scope="session")
def _threads():
    before = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("RNNBENCH_BENCH_THREADS", "1")))
    yield
    torch.set_num_threads(before)
