"""The backend registry (rnnbench.core.backends): every list of backends derives from it, the model
knows its backend, and the fused notes'-GRU refusal is one function with one message everywhere."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest
import torch
import yaml

from rnnbench.bench.throughput import ThroughputConfig, build, measure
from rnnbench.cli import build_parser
from rnnbench.core.backends import (
    BACKENDS,
    PROBEABLE_BACKENDS,
    STACKABLE_BACKENDS,
    TRAINING_BACKENDS,
    Unsupported,
    check_trains,
)
from rnnbench.core.cells import SPECS
from rnnbench.core.checks import ConfigError
from rnnbench.core.models import build_model
from rnnbench.core.onednn import ONEDNN, uses_onednn
from rnnbench.core.tasks import TASKS
from rnnbench.training import autobackend
from rnnbench.training.autobackend import AUTO, Choice, check_tables
from rnnbench.training.config import BACKEND_CHOICES, RunConfig
from rnnbench.training.probes import explicit_twin

REPO = Path(__file__).resolve().parents[1]
TINY = {"length": 4, "batch": 2, "hidden": 4, "repeats": 1, "warmup": 0}


def _choices(command: str, flag: str) -> tuple:
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    return tuple(next(a for a in sub.choices[command]._actions if flag in a.option_strings).choices)


def test_every_list_of_backends_derives_from_the_registry():
    schema = yaml.safe_load(open(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    assert tuple(BACKEND_CHOICES) == (*TRAINING_BACKENDS, AUTO)
    assert set(schema["$defs"]["train"]["properties"]["backend"]["enum"]) == set(BACKEND_CHOICES)
    assert _choices("train", "--backend") == BACKEND_CHOICES
    assert _choices("throughput", "--backend") == tuple(BACKENDS)  # the benchmark times them all
    assert TRAINING_BACKENDS == tuple(n for n, b in BACKENDS.items() if b.training)
    assert "compiled" in BACKENDS and "compiled" not in TRAINING_BACKENDS  # benchmark only
    assert PROBEABLE_BACKENDS == ("explicit", "explicit-premul", "explicit-bptt")
    assert STACKABLE_BACKENDS == ("explicit", "explicit-premul")
    for name in BACKENDS:
        ThroughputConfig(backend=name)  # accepted
    with pytest.raises(ConfigError, match="backend"):
        RunConfig(backend="compiled")


def test_the_fused_notes_gru_is_refused_once_with_one_message():
    with pytest.raises(Unsupported) as e:
        check_trains("fused", "gru", False)
    message = str(e.value)
    assert "backend 'fused'" in message and "reset_after" in message and "reset-after" in message
    for name, backend in BACKENDS.items():
        for cell in SPECS:
            for reset_after in (False, True):
                refused = backend.fused and (cell == "gru" and not reset_after or cell == "orthogonal")
                assert backend.trains(cell, reset_after) is not refused, (name, cell, reset_after)
    # the model, the run config and the benchmark all say the same
    with pytest.raises(ValueError) as model_error:
        build_model(TASKS["adding"], "gru", 4, backend="fused", reset_after=False)
    with pytest.raises(ConfigError) as config_error:
        RunConfig(cell="gru", backend="fused")
    row = measure(ThroughputConfig(cell="gru", backend="fused", reset_after=False, **TINY))
    assert str(model_error.value) == str(config_error.value) == row.reason == message
    assert row.status == "unsupported"


@pytest.mark.parametrize("backend", TRAINING_BACKENDS)
def test_the_model_knows_its_backend(backend):
    model = build_model(TASKS["adding"], "lstm", 4, backend=backend)
    assert model.backend == backend and copy.deepcopy(model).backend == backend
    twin = explicit_twin(model, torch.float64)
    assert twin.backend == (backend if BACKENDS[backend].probeable else "explicit-premul")


@pytest.mark.parametrize("backend", ["explicit", "explicit-premul", "explicit-bptt", "fused"])
def test_the_benchmark_builds_what_the_model_builds(backend):
    cfg = ThroughputConfig(cell="gru", backend=backend, reset_after=True, **TINY)
    ours, theirs = build(cfg), BACKENDS[backend].build("gru", 4, 4, 1, False, True)
    assert type(ours) is type(theirs)
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert measure(cfg).kernel == BACKENDS[backend].kernel("gru", "cpu", "float32")


def test_onednn_is_asked_publicly():
    assert uses_onednn("cpu", "float32") is ONEDNN
    assert not uses_onednn("cuda", "float32") and not uses_onednn("cpu", "float64")
    assert ("oneDNN" in BACKENDS["explicit-bptt"].kernel("lstm", "cpu", "float32")) is ONEDNN


def test_auto_tables_are_checked_against_the_registry():
    check_tables(autobackend.TABLES)
    with pytest.raises(ValueError, match="training backends"):
        Choice("compiled", False, "benchmark only")
    bad = {**autobackend.CPU, "gru": Choice("fused", False, "no such kernel")}
    with pytest.raises(ValueError, match="cannot train the gru cell form"):
        check_tables({"cpu": bad})
    with pytest.raises(ValueError, match="one per cell form"):
        check_tables({"cpu": {"rnn": autobackend.CPU["rnn"]}})


def test_bench_imports_only_core_and_bench_and_no_private_names():
    for path in (REPO / "rnnbench" / "bench").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rnnbench"):
                assert node.module.split(".")[1] in ("core", "bench"), (path.name, node.module)
                assert not any(a.name.startswith("_") for a in node.names), (path.name, node.module)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "bptt":
                assert not node.attr.startswith("_"), (path.name, node.attr)
