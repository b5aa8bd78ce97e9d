"""The one training loop (rnnbench.training.loop) and what it is built from: the runs it drives (a
single run, a stack), the per-run books, one gradient-record builder, the stack grouping."""

import ast
from pathlib import Path

import pytest
import torch

import rnnbench.training.loop as loop_module
from rnnbench.core.layers import StateRecorder
from rnnbench.core.models import build_model
from rnnbench.core.stacked import StackedModel
from rnnbench.core.tasks import TASKS
from rnnbench.training.batched import RunStack, run_losses, train_batched
from rnnbench.training.config import RunConfig
from rnnbench.training.loop import Runs
from rnnbench.training.probes import run_state_gradient_records, state_gradient_records
from rnnbench.training.runlog import RunBook, log_step
from rnnbench.training.stacking import PER_RUN, PER_RUN_FIELDS, PER_RUN_SEGMENTS
from rnnbench.training.train import SingleRun, train

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(task="adding", length=8, hidden=16, batch=6, steps=8, eval_every=3, eval_batch=20, probe_at=(0, 3, -1))
SMALL_EXPLODING = dict(
    task="adding", cell="rnn", length=20, hidden=16, init="gaussian", init_gain=1.5, optimizer="sgd", lr=0.5,
    batch=16, steps=30, eval_every=5, eval_batch=50, probe_at=(0, 10, -1),
)  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_single_run_and_a_stack_are_the_loops_runs():
    single = SingleRun(RunConfig(**TINY, cell="lstm"))
    stack = RunStack([RunConfig(**TINY, cell="lstm", seed=s) for s in range(3)])
    assert isinstance(single, Runs) and isinstance(stack, Runs)
    assert (single.count, stack.count) == (1, 3)
    assert (single.reports_batch, stack.reports_batch) == (False, True)


def test_log_step_stops_a_run_at_a_non_finite_loss_or_norm():
    book = RunBook.fresh(3, start=4)
    assert book.steps_run == [4, 4, 4] and book.live() == [0, 1, 2]
    assert log_step(book, 0, 4, 0.5, 1.0, True)
    assert not log_step(book, 1, 4, float("nan"), 1.0, False)
    assert not log_step(book, 2, 4, 0.5, float("inf"), False)
    assert book.live() == [0] and book.status == ["ok", "diverged", "diverged"]
    assert book.steps_run == [5, 4, 4] and book.diverged_step == [None, 4, 4]
    assert book.logs[0]["clip_count"] == 1 and book.logs[0]["last_finite_grad_norm"] == 1.0
    assert book.logs[1]["last_finite_grad_norm"] is None and len(book.logs[1]["curve"]) == 1


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_one_record_builder_for_a_run_and_a_stack(cell):
    """A stack's records of each run are the run's own, bit for bit (hidden 16), built by the same function."""
    task = TASKS["adding"]
    models = [build_model(task, cell, 16, 2, True, "explicit-premul", seed=s) for s in range(2)]
    stack = StackedModel(models)
    xs, ys = zip(*(task.generate(4, 7, torch.Generator().manual_seed(s)) for s in range(2)), strict=True)
    recorder = StateRecorder()
    run_losses(task, stack(torch.stack(xs), recorder=recorder), torch.stack(ys)).sum().backward()
    stacked = run_state_gradient_records(recorder, 3, 2)
    for model, x, y, records in zip(models, xs, ys, stacked, strict=True):
        alone = StateRecorder()
        task.loss(model(x, recorder=alone), y).backward()
        assert state_gradient_records(alone, 3) == records == run_state_gradient_records(alone, 3, 1)[0]
        assert len(records) == 2 * 2 * 7 * (2 if cell == "lstm" else 1)


def test_the_loop_ends_when_the_last_run_diverges(monkeypatch):
    """No step runs, and no checkpoint is written, once every run has stopped: as for a single run."""
    saves = []
    monkeypatch.setattr(loop_module, "save_checkpoint", lambda path, cfgs, next_step, *a: saves.append(next_step))
    cfgs = [RunConfig(**SMALL_EXPLODING, momentum=0.5, seed=s) for s in (1, 2)]  # both diverge
    results = train_batched(cfgs, checkpoint="unused", checkpoint_every=1)
    last = max(r["diverged_step"] for r in results)
    assert all(r["status"] == "diverged" for r in results) and saves == list(range(1, last + 1))
    assert max(len(r["curve"]) for r in results) == last + 1
    saves.clear()
    alone = train(cfgs[0], checkpoint="unused", checkpoint_every=1)
    assert alone["status"] == "diverged" and saves == list(range(1, alone["diverged_step"] + 1))


def test_per_run_segments_name_per_run_fields():
    assert PER_RUN_FIELDS == ("seed", "init", "init_gain", "forget_bias", "chrono_tmax", "clip", "eval_seed")
    assert PER_RUN_SEGMENTS == ("clip", "gain", "seed")
    assert set(PER_RUN) == set(PER_RUN_FIELDS) and set(RunConfig.__dataclass_fields__) >= set(PER_RUN)


def test_training_imports_neither_the_study_nor_the_benchmark():
    for path in (ROOT / "rnnbench" / "training").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.startswith(("rnnbench.study", "rnnbench.bench")) for n in names), path
