"""expRNN's orthogonal RNN (cells.orthogonal) and the IRNN's ReLU RNN, against references we did not
write: torch.nn.RNN(nonlinearity="relu"), the closed form of a rotation, finite differences
(gradcheck), and the closed form of an orthogonal linear recurrence (gradient norm preserved)."""

import math

import pytest
import torch

from rnnbench.core.backends import Unsupported
from rnnbench.core.cells import OrthogonalCell
from rnnbench.core.layers import StateRecorder
from rnnbench.core.models import build_model
from rnnbench.core.tasks import TASKS
from rnnbench.training.config import ConfigError, RunConfig
from rnnbench.training.stacking import can_stack
from rnnbench.training.train import build_run, param_groups

COPY, ADD = TASKS["copy"], TASKS["adding"]
EXPLICIT = ("explicit", "explicit-premul", "explicit-bptt")


def _eye_error(b: torch.Tensor) -> float:
    return (b @ b.T - torch.eye(b.shape[0], dtype=b.dtype)).abs().max().item()


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley"])
def test_initial_b_is_henaffs_block_rotation_under_either_map(orthogonal_map):
    """B at initialisation: 2×2 rotation blocks [[c, s], [−s, c]] on the diagonal, zeros elsewhere
    (exp of Henaff's A), the same under both maps; b in U(±0.01); W_in of Kaiming's variance 2/I."""
    H = 10
    cells = [build_model(COPY, "orthogonal", H, seed=5, cell_options={"orthogonal_map": m}).rnn.cells()[0]
             for m in ("matrix_exp", orthogonal_map)]  # fmt: skip
    b = cells[1].weight_hh.detach().double()
    torch.testing.assert_close(b, cells[0].weight_hh.detach().double(), atol=1e-5, rtol=0)
    for k in range(H // 2):
        block = b[2 * k : 2 * k + 2, 2 * k : 2 * k + 2]
        c, s = block[0, 0], block[0, 1]
        torch.testing.assert_close(block, torch.stack([torch.stack([c, s]), torch.stack([-s, c])]), atol=1e-6, rtol=0)
        assert abs(c * c + s * s - 1) < 1e-5
    mask = torch.block_diag(*[torch.ones(2, 2)] * (H // 2)).bool()
    assert b[~mask].abs().max() < 1e-6
    assert cells[1].bias.abs().max() <= 0.01
    w = build_model(COPY, "orthogonal", 256, seed=1).rnn.cells()[0].weight_ih  # 256 × 10 draws
    assert abs(w.var().item() * COPY.input_size / 2 - 1) < 0.1


def test_same_seed_same_weights_on_every_explicit_backend():
    models = [build_model(COPY, "orthogonal", 6, 2, True, b, seed=3) for b in EXPLICIT]
    for m in models[1:]:
        for a, b in zip(models[0].state_dict().values(), m.state_dict().values(), strict=True):
            assert torch.equal(a, b)
    other = build_model(COPY, "orthogonal", 6, 2, True, seed=4)
    assert not torch.equal(other.rnn.cells()[0].weight_hh, models[0].rnn.cells()[0].weight_hh)


@pytest.mark.parametrize("backend", EXPLICIT)
def test_float64_transcription_of_the_recurrence(backend):
    """h_t = sign(z)·relu(|z| + b), z = W_in x_t + B h_{t-1}, with B = exp(X − Xᵀ) from the raw parameter X."""
    m = build_model(COPY, "orthogonal", 7, seed=2, backend=backend).double()
    cell = m.rnn.cells()[0]
    x, _ = COPY.generate(3, 5, torch.Generator().manual_seed(0))
    x = x.double()
    low = cell.parametrizations.weight_hh.original.detach().tril()
    B = torch.linalg.matrix_exp(low - low.T)
    h = torch.zeros(3, 7, dtype=torch.float64)
    hs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ cell.weight_ih.detach().T + h @ B.T
        h = torch.where(z.abs() + cell.bias.detach() > 0, z.sign() * (z.abs() + cell.bias.detach()), 0.0)
        hs.append(h)
    want = m.head(torch.stack(hs, 1))
    torch.testing.assert_close(m(x), want, atol=1e-12, rtol=0)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley"])
def test_gradcheck_of_the_cell(orthogonal_map):
    torch.manual_seed(0)
    cell = OrthogonalCell(3, 4, orthogonal_map).double()
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    params = (cell.weight_ih, cell.parametrizations.weight_hh.original, cell.bias)
    assert torch.autograd.gradcheck(lambda x, h, *p: cell(x, h), (x, h, *params))


def test_gradient_norm_is_preserved_exactly_without_input_and_bias():
    """b = 0 makes modReLU the identity (away from 0): with no input h_t = B h_{t-1}, so
    ∂L/∂h_{t-1} = Bᵀ ∂L/∂h_t has the norm of ∂L/∂h_t at every step (B orthogonal)."""
    T, H = 60, 16
    m = build_model(ADD, "orthogonal", H, seed=1).double()
    with torch.no_grad():
        m.rnn.cells()[0].bias.zero_()
    x = torch.zeros(4, T, ADD.input_size, dtype=torch.float64)
    h0 = torch.randn(1, 4, H, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    rec = StateRecorder()
    out, _ = m.rnn(x, h0, recorder=rec)
    v = torch.randn(4, H, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    (out[:, -1] * v).sum().backward()
    norms = torch.tensor([h.grad.norm().item() for h in rec.h[(0, 0)]])
    torch.testing.assert_close(norms, torch.full((T,), v.norm().item(), dtype=torch.float64), atol=1e-10, rtol=0)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley"])
def test_b_stays_orthogonal_through_training(orthogonal_map):
    cfg = RunConfig(task="copy", cell="orthogonal", length=5, hidden=8, batch=4, optimizer="rmsprop",
                    lr=1e-2, orthogonal_lr=1e-2, orthogonal_map=orthogonal_map)  # fmt: skip
    m = build_run(cfg, "explicit-premul").float()  # float32: B orthogonal to float32's tolerance
    opt = torch.optim.RMSprop(param_groups(m, cfg), lr=1e-2)
    start = m.rnn.cells()[0].weight_hh.detach().clone()
    for step in range(20):
        x, y = COPY.generate(4, 5, torch.Generator().manual_seed(step))
        opt.zero_grad()
        COPY.loss(m(x), y).backward()
        opt.step()
    b = m.rnn.cells()[0].weight_hh.detach()
    assert (b - start).abs().max() > 1e-2  # it moved
    assert _eye_error(b) < 1e-5


def test_b_trains_on_its_own_learning_rate():
    cfg = RunConfig(task="copy", cell="orthogonal", length=5, hidden=8, lr=1e-3)
    groups = param_groups(build_run(cfg, "explicit-premul"), cfg)
    assert [g.get("lr") for g in groups] == [None, pytest.approx(1e-4)]  # expRNN's ratio: 2e-5 / 2e-4
    assert len(groups[1]["params"]) == 1 and groups[1]["params"][0].shape == (8, 8)
    assert param_groups(build_run(RunConfig(cell="lstm"), "explicit-premul"), RunConfig())[0].get("lr") is None
    assert RunConfig(cell="orthogonal", orthogonal_lr=3e-5).orthogonal_rate() == 3e-5


def test_refusals():
    with pytest.raises(Unsupported, match="orthogonal"):
        build_model(COPY, "orthogonal", 4, backend="fused")
    with pytest.raises(ConfigError, match="fused"):
        RunConfig(cell="orthogonal", backend="fused")
    with pytest.raises(ConfigError, match="orthogonal_map"):
        RunConfig(cell="lstm", orthogonal_map="cayley")
    with pytest.raises(ConfigError, match="orthogonal_lr"):
        RunConfig(cell="rnn", orthogonal_lr=1e-4)
    with pytest.raises(ConfigError, match="init_gain"):
        RunConfig(cell="orthogonal", init_gain=0.5)
    with pytest.raises(ConfigError, match="does not apply"):
        RunConfig(cell="orthogonal", init="identity")
    with pytest.raises(ConfigError, match="nonlinearity"):
        RunConfig(cell="gru", nonlinearity="relu")
    with pytest.raises(ConfigError, match="relu"):
        RunConfig(cell="rnn", nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="torch.nn has no"):
        build_model(COPY, "orthogonal", 4).torch_state_dict()
    assert not can_stack(RunConfig(cell="orthogonal").to_dict())
    assert can_stack(RunConfig(cell="rnn", nonlinearity="relu").to_dict())


def test_new_fields_keep_every_old_config_hash():
    assert RunConfig(cell="rnn").to_dict() == {k: v for k, v in RunConfig(cell="rnn").to_dict().items()}
    for name in ("nonlinearity", "orthogonal_map", "orthogonal_lr"):
        assert name not in RunConfig(cell="rnn").to_dict()
    assert RunConfig(cell="rnn", nonlinearity="relu").to_dict()["nonlinearity"] == "relu"


# --- the IRNN: ReLU RNN, identity init (Le, Jaitly & Hinton 2015) --------------------------------------------


@pytest.mark.parametrize("backend", (*EXPLICIT, "fused"))
def test_relu_rnn_equals_torch_nn_rnn_relu_in_float64(backend):
    x, _ = ADD.generate(3, 9, torch.Generator().manual_seed(0))
    x = x.double()
    m = build_model(ADD, "rnn", 6, 2, True, backend, init="identity", seed=1,
                    cell_options={"nonlinearity": "relu"}).double()  # fmt: skip
    ref = torch.nn.RNN(ADD.input_size, 6, 2, nonlinearity="relu", batch_first=True, bidirectional=True).double()
    ref.load_state_dict(m.rnn.torch_state_dict())
    out, _ = ref(x)
    torch.testing.assert_close(m.rnn(x)[0], out, atol=1e-12, rtol=0)
    (m.rnn(x)[0] ** 2).sum().backward()
    (out**2).sum().backward()
    for l in range(2):
        torch.testing.assert_close(m.rnn.cells()[2 * l].weight_hh.grad, getattr(ref, f"weight_hh_l{l}").grad,
                                   atol=1e-10, rtol=0)  # fmt: skip
    cell = m.rnn.cells()[0]
    assert torch.equal(cell.weight_hh, torch.eye(6, dtype=torch.float64)) and not cell.bias_ih.any()


def test_relu_rnn_stacks_with_its_nonlinearity():
    from rnnbench.core.stacked import StackedModel

    kw = dict(cell_options={"nonlinearity": "relu"}, init="identity")
    singles = [build_model(ADD, "rnn", 5, seed=s, **kw).double() for s in range(2)]
    stack = StackedModel(singles).double()
    x, _ = ADD.generate(3, 7, torch.Generator().manual_seed(0))
    x = x.double()
    got = stack(torch.stack([x, x]))
    for m, single in enumerate(singles):
        torch.testing.assert_close(got[m], single(x), atol=1e-12, rtol=0)
    assert stack.unstack(0).rnn.cells()[0].nonlinearity == "relu"
    assert not math.isnan(got.sum().item())


# --- the study: the copy contrast as a block of the sweep, and its rows in REPORT.md ----------------------------


def test_sweep_blocks_add_lengths_for_their_cells_only_and_refuse_a_run_twice():
    import copy

    import yaml

    from rnnbench.study.pipeline.sweep import sweep_runs

    config = yaml.safe_load(open("config/config.yaml"))
    block = {"lengths": [100], "cells": ["orthogonal", "lstm"], "clip": [None], "train": {"steps": 7}}
    config["sweep"]["tasks"]["copy"]["blocks"] = [block]
    plain = copy.deepcopy(config)
    del plain["sweep"]["tasks"]["copy"]["blocks"]
    runs, before = sweep_runs(config), sweep_runs(plain)
    assert {k: v for k, v in runs.items() if k in before} == before  # the other runs keep their configs
    added = sorted(set(runs) - set(before))
    assert added == sorted(f"task~copy/cell~{c}/length~100/clip~none/seed~{s}" for c in ("lstm", "orthogonal")
                           for s in config["sweep"]["seeds"])  # fmt: skip
    assert all(runs[k]["steps"] == 7 and runs[k]["hidden"] == 64 for k in added)  # the block's over the task's
    config["sweep"]["tasks"]["copy"]["blocks"] = [{"lengths": [5], "cells": ["lstm"]}]
    with pytest.raises(ConfigError, match="two of the copy task's blocks"):
        sweep_runs(config)


def test_report_rows_of_the_copy_contrast():
    import pandas as pd

    from rnnbench.study.claims.literature import irnn_claim, orthogonal_claims
    from rnnbench.study.report.headline import headline

    rows = [
        dict(study="sweep", task="copy", cell=c, length=T, clip=None, seed=s, solved=c == "orthogonal", status="ok",
             loss_ratio=0.01 if c == "orthogonal" else 1.0, hidden=64, optimizer="rmsprop", lr=2e-3, batch=32, steps=400)
        for c, T in [("rnn", 5), ("lstm", 5), ("lstm", 100), ("orthogonal", 100)] for s in range(3)
    ]  # fmt: skip
    r = pd.DataFrame(rows)
    table = headline(r, 0.5)
    assert "| orthogonal | no clipping | 100 | — | 0.01 (3/3) |" in table
    assert "| rnn | no clipping | none | 1 (0/3) | — |" in table
    urnn, exprnn = orthogonal_claims(r, 0.5)
    assert "orthogonal: solved 3/3" in urnn[4] and "lstm: solved 0/3" in urnn[4] and "not the uRNN" in urnn[3]
    assert exprnn[-1].startswith("not run")
    # Le et al.'s IRNN has a row of its own, judged only at its budget (issue 29): no IRNN ran here
    irnn = irnn_claim(r.assign(init="default", nonlinearity="tanh"))
    assert irnn[-1] == "not at the paper's budget (over 10^6 steps): no run of this model here"
