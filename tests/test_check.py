"""``rnnbench check``: torch.nn's own cells pass every judged property, and cells broken on purpose
(one reads the next step's input, one mixes the batch, one is not deterministic) fail with the property named."""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn

from rnnbench import check
from rnnbench.cli import main

JUDGED = [
    name for name, fn in check.CHECKS.items() if name not in ("gradient factor per step", "speed vs torch.nn.GRU")
]


class ReadsTheNextInput(nn.Module):
    """A GRU step that writes the new state into the previous one in place and returns it: the state the
    layer kept for step t is overwritten at step t + 1, so what it reads as h_t depends on x_{t+1}."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.gru = nn.GRUCell(input_size, hidden_size)

    def forward(self, x, state=None):
        h = self.gru(x, state)
        return h if state is None else state.copy_(h)


class MixesTheBatch(nn.Module):
    """A GRU step on inputs centred over the batch (a batch norm without scale): sample i's state depends
    on sample j's input."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.gru = nn.GRUCell(input_size, hidden_size)

    def forward(self, x, state=None):
        return self.gru(x - x.mean(0, keepdim=True), state)


class NotDeterministic(nn.Module):
    """A GRU step with noise from the operating system's generator, which no torch seed fixes."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.gru = nn.GRUCell(input_size, hidden_size)

    def forward(self, x, state=None):
        noise = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
        h = self.gru(x, state)
        return h + 1e-3 * torch.rand(h.shape, generator=noise, dtype=h.dtype)


@pytest.mark.parametrize("cell", ["torch.nn:GRUCell", "torch.nn:LSTMCell", "torch.nn:RNNCell"])
def test_torch_cells_pass_every_judged_property(cell):
    results = check.run_checks(cell, JUDGED)
    assert [r.name for r in results] == JUDGED
    assert all(r.passed for r in results), check.table(results)


@pytest.mark.parametrize(
    "cell, fails",
    [
        (ReadsTheNextInput, {"causality"}),
        (MixesTheBatch, {"batch independence"}),
        (NotDeterministic, {"determinism"}),
    ],
)
def test_a_broken_cell_fails_with_the_property_named(cell, fails):
    results = check.run_checks(cell, JUDGED)
    failed = {r.name for r in results if r.failed}
    assert fails <= failed, check.table(results)
    if cell is MixesTheBatch:  # the others break more: noise every comparison, the in-place write the backward
        assert failed == fails, check.table(results)


def test_each_property_is_a_plain_function_a_users_test_can_call():
    result = check.causality(MixesTheBatch)  # a class, not a name: the function resolves it
    assert result.passed is True and "max |Δ h_1..h_t| = 0" in result.value
    assert check.batch_independence("torch.nn:GRUCell").passed
    assert not check.batch_independence(MixesTheBatch).passed


def test_a_cell_that_raises_fails_the_property_with_its_error():
    class Explodes(nn.GRUCell):
        calls = 0

        def forward(self, x, state=None):
            Explodes.calls += 1
            if Explodes.calls > 50:  # the contract's two steps pass; a long sequence does not
                raise RuntimeError("step budget spent")
            return super().forward(x, state)

    result = check.finite_at_length(Explodes)
    assert result.failed and result.value == "raised RuntimeError: step budget spent"


def test_the_command_prints_the_table_and_exits_naming_every_failure(capsys, monkeypatch):
    monkeypatch.setattr(check, "CHECKS", {k: v for k, v in check.CHECKS.items() if k in ("causality", "determinism")})
    with pytest.raises(SystemExit) as e:
        main(["check", "test_check:NotDeterministic"])
    out, err = capsys.readouterr()
    assert e.value.code == 1
    assert "determinism" in out and "FAIL" in out
    assert err.strip() == "rnnbench check: test_check:NotDeterministic fails 2 properties: causality, determinism"
    assert main(["check", "torch.nn:RNNCell"]) == 0
    with pytest.raises(SystemExit) as e:
        main(["check", "torch.nn:Linear"])
    assert e.value.code == 2 and "breaks the cell contract" in capsys.readouterr().err


def test_reported_properties_measure_and_do_not_judge():
    factor = check.gradient_factor("torch.nn:LSTMCell")
    assert factor.passed is None and "h ×" in factor.value and "second state ×" in factor.value
    rnn = check.gradient_factor("rnn")  # the built-in vanilla RNN vanishes at init: its factor is below 1
    assert float(rnn.value.split("×")[1].split()[0]) < 1
