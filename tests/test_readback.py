"""The training loop's block read-back (rnnbench.training.loop): the step values stay on the device
and reach the books a block at a time, and the records are those of a read-back after every step --
a run that diverges inside a block included, frozen at that step while the others go on."""

import copy
import dataclasses
import sys

import pytest
import torch

import rnnbench.training.loop as loop_module
import rnnbench.training.optimizers as optimizers
from rnnbench.training.batched import train_batched
from rnnbench.training.clipping import clipper
from rnnbench.training.config import RunConfig
from rnnbench.training.train import train

# The exploding configuration of tests/test_batched.py (unclipped seeds 1 and 2 diverge alone at steps
# 17 and 20 on the machines it was written on), with no evaluation inside the run and probes only at the
# ends, so that a default block covers every step and each divergence falls inside it.
EXPLODING = dict(
    task="adding", cell="rnn", length=20, hidden=16, init="gaussian", init_gain=1.5, optimizer="sgd", lr=0.5,
    momentum=0.5, batch=16, steps=30, eval_every=1000, eval_batch=50, probe_at=(0, -1),
)  # fmt: skip
# Adam at an absurd rate: some of seeds 0-2 overflow within 3 steps, not all (at float64 defaults, 1 thread)
OPTIMIZER = {"sgd": {}, "adam": {"optimizer": "adam", "momentum": 0.0, "lr": 5e17}}
TIMES = ("train_seconds", "work_seconds", "wall_seconds", "throughput_seq_per_s")


pytestmark = pytest.mark.usefixtures("one_thread")  # which runs blow up depends on the kernels


def untimed(record: dict) -> dict:
    """A record without its timings (which differ from run to run), everything else kept."""
    env = {k: v for k, v in record["env"].items() if k != "batched"}
    return {**{k: v for k, v in record.items() if k not in TIMES}, "env": env}


def with_readback(monkeypatch, every: int, fn, *args):
    monkeypatch.setattr(loop_module, "READBACK_EVERY", every)
    return fn(*args)


def assert_same_records(a: dict, b: dict) -> None:
    a, b = untimed(a), untimed(b)
    assert a.keys() == b.keys()
    for key in a:  # field by field, so that a failure names the field
        assert a[key] == b[key] or (a[key] != a[key] and b[key] != b[key]), key  # NaN equals NaN here


@pytest.mark.parametrize("every", [7, 50])
def test_a_single_run_diverging_mid_block_has_the_per_step_records(monkeypatch, every):
    cfg = RunConfig(**EXPLODING, seed=1)
    per_step = with_readback(monkeypatch, 1, train, cfg)
    block = with_readback(monkeypatch, every, train, cfg)
    step = per_step["diverged_step"]
    assert per_step["status"] == "diverged" and step % every not in (0, every - 1)  # inside a block
    assert len(block["curve"]) == step + 1 and block["steps_run"] == step
    assert_same_records(per_step, block)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_stack_where_runs_diverge_mid_block_while_another_goes_on(monkeypatch, optimizer):
    """Adam and momentum move parameters even with a zero gradient: the stopped runs must stay put."""
    cfgs = [
        RunConfig(**{**EXPLODING, **OPTIMIZER[optimizer]}, seed=s, clip=c) for s, c in [(1, None), (0, 1.0), (2, None)]
    ]
    per_step = with_readback(monkeypatch, 1, train_batched, cfgs)
    block = with_readback(monkeypatch, 50, train_batched, cfgs)
    alone = [with_readback(monkeypatch, 50, train, c) for c in cfgs]
    statuses = [r["status"] for r in per_step]  # which runs blow up depends on the kernels; some do, some not
    assert "diverged" in statuses and "ok" in statuses
    assert all(r["diverged_step"] % 50 not in (0, 49) for r in per_step if r["status"] == "diverged")
    for p, b, a in zip(per_step, block, alone, strict=True):
        assert_same_records(p, b)
        assert_same_records({**a, "backend_used": "stacked"}, b)  # and what each run gets alone


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_cpus_shortcut_in_guard_step_is_the_device_path(monkeypatch, optimizer):
    """On the CPU ``guard_step`` reads the alive mask and skips its copies while every run lives; with
    the shortcut off (as on a GPU) every record, diverged runs' included, is the same."""
    cfgs = [
        RunConfig(**{**EXPLODING, **OPTIMIZER[optimizer]}, seed=s, clip=c) for s, c in [(1, None), (0, 1.0), (2, None)]
    ]
    shortcut = [*train_batched(cfgs), train(cfgs[0])]
    monkeypatch.setattr(optimizers, "FREE_READS", ())
    device_path = [*train_batched(cfgs), train(cfgs[0])]
    assert any(r["status"] == "diverged" for r in shortcut)
    for a, b in zip(shortcut, device_path, strict=True):
        assert_same_records(a, b)


def test_a_checkpoint_inside_a_block_holds_the_books_up_to_its_step(monkeypatch, tmp_path):
    """A checkpoint is a read-back: the books it carries are complete, and resuming gives the same run."""
    cfg = RunConfig(**{**EXPLODING, "seed": 0, "clip": 1.0})
    reference = with_readback(monkeypatch, 50, train, cfg)
    saved = []
    real = loop_module.save_checkpoint
    monkeypatch.setattr(loop_module, "save_checkpoint", lambda *a: (saved.append(copy.deepcopy(a[-1])), real(*a)))
    train(cfg, checkpoint=tmp_path / "c.pt", checkpoint_every=13)  # leaves its last checkpoint, at step 26
    assert [len(log["curve"]) for log in saved] == [13, 26]
    assert saved[0]["curve"] == reference["curve"][:13]
    resumed = train(cfg, checkpoint=tmp_path / "c.pt", checkpoint_every=13)
    assert resumed["resumed_from_step"] == 26
    assert_same_records(reference, {**resumed, "resumed_from_step": None})


@pytest.mark.parametrize("threshold", [1e-3, 1e3, None])
@pytest.mark.parametrize("mode", ["norm", "value"])
def test_clipping_on_the_device_is_the_host_decision_bit_for_bit(mode, threshold):
    """The device-side rule against the host-side one it replaced: Pascanu's 'if ‖g‖ ≥ threshold, g ←
    threshold·g/‖g‖' (a Python float over the norm) and the elementwise clamp, applied only when taken."""
    g = torch.Generator().manual_seed(3)
    grads = [torch.randn(5, 3, generator=g), torch.randn(7, generator=g)]
    ours = [t.clone() for t in grads]
    norm, clipped = clipper(mode, threshold)(ours)
    expected_norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in grads]))
    if threshold is None:
        taken = False
    elif mode == "norm":
        taken = expected_norm.item() >= threshold
        if taken:
            grads = [t * (threshold / expected_norm) for t in grads]
    else:
        taken = max(t.abs().max().item() for t in grads) > threshold
        if taken:
            grads = [t.clamp(-threshold, threshold) for t in grads]
    assert norm.item() == expected_norm.item() and clipped.item() == taken and norm.device == clipped.device
    assert all(torch.equal(a, b) for a, b in zip(ours, grads, strict=True))


class Reads:
    """Counts reads of tensor values back to Python (``.item()``, ``.tolist()``, ``bool``, ``float``)
    made by rnnbench's own code: each is a wait for the device on a GPU."""

    NAMES = ("item", "tolist", "__bool__", "__float__")

    def __init__(self, monkeypatch):
        self.count = 0
        for name in self.NAMES:
            monkeypatch.setattr(torch.Tensor, name, self.counted(getattr(torch.Tensor, name)))

    def counted(self, method):
        def read(tensor, *args):
            if "rnnbench" in sys._getframe(1).f_code.co_filename:
                self.count += 1
            return method(tensor, *args)

        return read


@pytest.mark.parametrize("stack", [False, True])
def test_a_training_step_reads_nothing_back(monkeypatch, stack):
    """Runs of 10 and 40 steps inside one block read back the same number of values: none per step.
    (Before the block read-back a single run read 3 or 4 per step.)"""
    counts = []
    for steps in (10, 40):
        cfg = RunConfig(**{**EXPLODING, "steps": steps, "seed": 0, "clip": 1.0, "optimizer": "adam", "momentum": 0.0})
        reads = Reads(monkeypatch)
        monkeypatch.setattr(optimizers, "FREE_READS", ())  # count as on a device whose reads wait
        if stack:
            train_batched([cfg, dataclasses.replace(cfg, seed=3, clip=0.5)])
        else:
            train(cfg)
        counts.append(reads.count)
        monkeypatch.undo()
    assert counts[0] == counts[1] > 0


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("task", ["adding", "copy"])
def test_a_batch_copied_to_cuda_without_blocking_is_the_cpu_batch(task):
    from rnnbench.core.tasks import TASKS
    from rnnbench.training.build import make_batch

    cpu = make_batch(TASKS[task], 8, 12, torch.Generator().manual_seed(4), "cpu", torch.float32)
    cuda = make_batch(TASKS[task], 8, 12, torch.Generator().manual_seed(4), "cuda", torch.float32)
    assert all(torch.equal(a, b.cpu()) and b.is_cuda for a, b in zip(cpu, cuda, strict=True))
