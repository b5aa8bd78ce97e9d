"""A user's cell, named ``module:Class`` or by an entry point of ``rnnbench.cells``: one resolver, checked
before any work, trained on the explicit path alone, refused by the fused backend by name, and torch.nn's
LSTMCell trained through it gives our LSTM's losses and gradient norms on the same weights."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from rnnbench.cli import main
from rnnbench.core.backends import Unsupported, check_trains
from rnnbench.core.cells import GROUP, SPECS, CellError, cell_spec, safe_name
from rnnbench.core.models import build_model
from rnnbench.core.tasks import TASKS
from rnnbench.training.config import ConfigError, RunConfig

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "cells"


class NotACell:
    pass


class WrongShape(nn.Module):
    """Returns (B, 2H): breaks the contract's h (B, H)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.lin = nn.Linear(input_size, 2 * hidden_size)

    def forward(self, x, state=None):
        return self.lin(x)


class NeedsMoreArguments(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, depth: int) -> None:
        super().__init__()


def test_builtin_names_resolve_to_their_records_and_torch_cells_to_user_records():
    assert all(cell_spec(name) is spec for name, spec in SPECS.items())
    spec = cell_spec("torch.nn:GRUCell")
    assert spec.cls is nn.GRUCell and spec.user and spec.path == "torch.nn:GRUCell"
    assert spec.fused is None and not spec.stackable and spec.gates is None and spec.saved_per_unit is None
    assert cell_spec("torch.nn:GRUCell") is spec  # resolved once per process


@pytest.mark.parametrize(
    "name, says",
    [
        ("no_such_module_xyz:Cell", "module 'no_such_module_xyz' does not import (ModuleNotFoundError"),
        ("torch.nn:NoSuchCell", "'torch.nn' has no 'NoSuchCell'"),
        ("test_user_cells:NotACell", "not a torch.nn.Module class"),
        (
            "test_user_cells:WrongShape",
            "breaks the cell contract: step 1 returned h of shape (2, 8), not (B, H) = (2, 4)",
        ),
        ("test_user_cells:NeedsMoreArguments", "breaks the cell contract: NeedsMoreArguments(3, 4) raised TypeError"),
        ("torch.nn:Linear", "breaks the cell contract"),
        ("not-installed-cell", f"entry points of group {GROUP!r}"),
    ],
)
def test_a_bad_cell_is_one_message_naming_it_and_the_contract(name, says):
    with pytest.raises(CellError) as e:
        cell_spec(name)
    message = str(e.value)
    assert says in message and repr(name) in message
    if "entry points" not in says:
        assert "torch.nn.RNNCell/LSTMCell/GRUCell's convention" in message  # the contract, spelled out


def test_the_cli_refuses_a_bad_cell_before_any_work(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--cell", "torch.nn:Linear", "--steps", "2"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnnbench train: error: argument --cell: cell 'torch.nn:Linear' breaks the cell contract")
    assert "\n" not in err  # one line, before the missing --length and --out are even looked at


def test_safe_names_hold_no_separator_of_ids_or_paths():
    assert safe_name("lstm") == "lstm"
    assert safe_name("torch.nn:GRUCell") == "torch.nn.GRUCell"
    assert safe_name("my pkg/cells:Odd~Cell") == "my-pkg-cells.Odd-Cell"


def test_the_fused_backend_refuses_a_user_cell_by_name_and_auto_trains_it_explicitly():
    with pytest.raises(Unsupported, match="backend 'fused' with user cell 'torch.nn:GRUCell' is not allowed"):
        check_trains("fused", "torch.nn:GRUCell", False)
    with pytest.raises(ConfigError, match="user cell 'torch.nn:GRUCell'"):
        RunConfig(cell="torch.nn:GRUCell", backend="fused")
    from rnnbench.training.autobackend import concrete_backend
    from rnnbench.training.stacking import can_stack

    assert concrete_backend("auto", "torch.nn:GRUCell", False, "cpu") == "explicit"
    cfg = RunConfig(cell="torch.nn:GRUCell", backend="auto").to_dict()
    assert not can_stack(cfg) and not can_stack({**cfg, "backend": "explicit-premul"})


@pytest.mark.parametrize(
    "fields, says",
    [
        ({"init": "orthogonal"}, "init 'orthogonal' does not apply to user cell"),
        ({"init_gain": 2.0}, "init_gain 2.0 does not apply to user cell"),
        ({"learn_initial_state": True}, "learn_initial_state does not apply to user cell"),
        ({"forget_bias": 1.0}, "forget_bias 1.0 does not apply to cell 'torch.nn:LSTMCell'"),
    ],
)
def test_what_a_user_cell_cannot_take_is_refused_by_name(fields, says):
    with pytest.raises(ConfigError, match=says):
        RunConfig(cell="torch.nn:LSTMCell", **fields)


def test_a_user_cells_weights_come_from_the_seed():
    def weights(seed):
        model = build_model(TASKS["adding"], "torch.nn:GRUCell", 8, seed=seed)
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a = weights(0)
    assert torch.equal(torch.random.get_rng_state(), before)  # the global generator is left as it was
    assert torch.equal(a, weights(0)) and not torch.equal(a, weights(1))


def test_flops_and_memory_of_a_user_cell_are_unknown():
    from rnnbench.bench.flops import training_flops
    from rnnbench.bench.throughput import UNKNOWN, ThroughputConfig, ThroughputRow
    from rnnbench.training.memory import check_fits, estimate_bytes

    cfg = RunConfig(cell="torch.nn:GRUCell")
    assert estimate_bytes(cfg) is None and check_fits(cfg, "cpu") is None
    assert training_flops("torch.nn:GRUCell", 4, 4, 2, 3) is None
    rec = ThroughputRow(ThroughputConfig(cell="torch.nn:GRUCell", backend="explicit")).to_record()
    assert rec["gflops"] == rec["fraction_of_ceiling"] == rec["ceiling_gflops"] == UNKNOWN


def test_throughput_times_a_user_cell_and_says_its_flops_are_unknown(tmp_path):
    out = tmp_path / "t.csv"
    args = ["throughput", "--cell", "torch.nn:RNNCell", "--backend", "explicit", "fused", "--length", "5"]
    assert main([*args, "--batch", "2", "--hidden", "4", "--repeats", "1", "--warmup", "0", "--out", str(out)]) == 0
    import pandas as pd

    rows = pd.read_csv(out).set_index("backend")
    assert rows.loc["explicit", "status"] == "ok" and rows.loc["explicit", "gflops"] == "unknown"
    assert (
        rows.loc["fused", "status"] == "unsupported" and "user cell 'torch.nn:RNNCell'" in rows.loc["fused", "reason"]
    )


def test_train_records_the_full_path_of_a_user_cell(tmp_path):
    out = tmp_path / "r.json"
    args = ["train", "--cell", "torch.nn:GRUCell", "--length", "5", "--steps", "3", "--clip", "1", "--hidden", "4"]
    assert main([*args, "--out", str(out), "--eval-every", "3", "--no-progress"]) == 0
    record = json.loads(out.read_text())
    assert record["config"]["cell"] == record["cell_path"] == "torch.nn:GRUCell"
    assert record["backend_used"] == "explicit-premul" and record["status"] == "ok"
    assert {r["state"] for r in record["gradflow"]} == {"h"}


# --- entry points --------------------------------------------------------------------------------------------
@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A package installed as pip would (a ``*.dist-info`` with its ``entry_points.txt``) in a folder on
    sys.path, registering two cells of the example plugin under group rnnbench.cells; importlib.metadata
    finds it as it finds any installed distribution."""
    dist = tmp_path / "site" / "rnnbench_test_cells-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rnnbench-test-cells\nVersion: 0.1\n")
    tag = f"t{time.monotonic_ns()}"  # names unique to this test: a resolved cell is kept per process
    (dist / "entry_points.txt").write_text(
        f"[{GROUP}]\nmingru-{tag} = modern_cells.mingru:MinGRUCell\ngru-{tag} = torch.nn:GRUCell\n"
        f"[other.group]\nlru-{tag} = modern_cells.lru:LRUCell\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.syspath_prepend(str(EXAMPLES))
    return tag


def test_an_entry_point_names_a_cell(installed):
    spec = cell_spec(f"mingru-{installed}")
    assert spec.cls.__name__ == "MinGRUCell" and spec.path == "modern_cells.mingru:MinGRUCell"
    assert spec.display == "minGRU"  # the class's own ``display``
    assert cell_spec(f"gru-{installed}").cls is nn.GRUCell
    with pytest.raises(CellError, match="installed cell") as e:
        cell_spec(f"lru-{installed}")  # another group's entry point is not a cell
    assert f"gru-{installed}, " in str(e.value) and f"mingru-{installed}" in str(e.value)  # the installed ones
    cfg = RunConfig(cell=f"mingru-{installed}", length=5, steps=2)
    assert cfg.cell == f"mingru-{installed}"


# --- torch.nn.LSTMCell through the user-cell path is our LSTM ----------------------------------------------------
def _trained(cell: str, weights: dict | None, dtype: str) -> tuple[dict, dict]:
    from rnnbench.training.loop import train_loop
    from rnnbench.training.train import SingleRun

    cfg = RunConfig(cell=cell, length=12, steps=25, hidden=6, batch=5, clip=1.0, dtype=dtype, eval_every=5,
                    probe_at=(0, -1))  # fmt: skip
    runs = SingleRun(cfg)
    if weights is not None:
        runs.model.load_state_dict(weights)  # the same parameter names: torch.nn's cell layout
    state = {k: v.clone() for k, v in runs.model.state_dict().items()}
    return train_loop(runs, time.perf_counter(), progress=False)[0], state


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-4)])
def test_torch_lstm_cell_trains_as_our_lstm_on_the_same_weights(one_thread, dtype, rtol):
    ours, weights = _trained("lstm", None, dtype)
    theirs, _ = _trained("torch.nn:LSTMCell", weights, dtype)
    assert theirs["backend_used"] == "explicit-premul" and theirs["cell_path"] == "torch.nn:LSTMCell"
    for key in ("loss", "grad_norm"):
        a = torch.tensor([r[key] for r in ours["curve"]])
        b = torch.tensor([r[key] for r in theirs["curve"]])
        torch.testing.assert_close(b, a, rtol=rtol, atol=0)
    for a, b in zip(ours["eval_curve"], theirs["eval_curve"], strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=rtol)
    a = torch.tensor([r["grad_norm"] for r in ours["gradflow"]])  # the probes: h and c, at init and after
    b = torch.tensor([r["grad_norm"] for r in theirs["gradflow"]])
    torch.testing.assert_close(b, a, rtol=rtol * 10, atol=0)
    assert ours["final_loss"] != pytest.approx(_trained("torch.nn:LSTMCell", None, dtype)[0]["final_loss"], rel=rtol)
