"""Microbenchmarks: ``pytest benchmarks --benchmark-only`` (not part of the default test run).

Every run saves its JSON under ``.benchmarks/<machine id>/`` (autosave), named as pytest-benchmark's
own ``--benchmark-autosave`` names it: ``NNNN_<commit>_<date>[_uncommitted-changes].json``, so two
commits or two machines can be compared with ``pytest-benchmark compare``. Each save's
``machine_info`` carries torch's version, build (CUDA/cuDNN, MKL, oneDNN, debug), CPU threads and
the device, which decide the timings as much as the CPU does. ``RNNBENCH_BENCH_THREADS`` sets
torch's CPU threads (default 1: on a shared 2-core machine two threads stall on each other's OpenMP
barriers)."""

from __future__ import annotations

import os

import pytest
import torch


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # --benchmark-autosave stores its tag (commit id, date) as the option's value; setting the
    # option to True instead named every save `NNNN_True.json`. Leave a name given on the
    # command line (--benchmark-save NAME, --benchmark-autosave) alone.
    if hasattr(config.option, "benchmark_autosave") and not config.option.benchmark_autosave:
        from pytest_benchmark.utils import get_tag

        config.option.benchmark_autosave = get_tag()


def pytest_benchmark_update_machine_info(config, machine_info: dict) -> None:
    """Add what decides a torch timing besides the CPU: torch's version and build, threads, device."""
    cuda = torch.cuda.is_available()
    machine_info["torch"] = {
        "version": torch.__version__,
        "git_version": torch.version.git_version,
        "debug": torch.version.debug,
        "cuda": torch.version.cuda or "",
        "cudnn": str(torch.backends.cudnn.version() or "") if cuda else "",
        "mkl": torch.backends.mkl.is_available(),
        "onednn": torch.backends.mkldnn.is_available(),
        "threads": int(os.environ.get("RNNBENCH_BENCH_THREADS", "1")),  # as _threads sets them
        "interop_threads": torch.get_num_interop_threads(),
    }
    machine_info["device"] = torch.cuda.get_device_name(0) if cuda else "cpu"


@pytest.fixture(autouse=True, scope="session")
def _threads():
    before = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("RNNBENCH_BENCH_THREADS", "1")))
    yield
    torch.set_num_threads(before)
