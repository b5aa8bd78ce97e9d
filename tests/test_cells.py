"""Our cells against torch.nn's, against a transcription of the notes, and against finite differences."""

import dataclasses

import pytest
import torch
from torch import nn

from rnnbench.core.cells import CELLS, SPECS, Cell, GRUCell, LSTMCell, Option, RNNCell

I, H, B = 5, 7, 4


def _compare(ours: nn.Module, theirs: nn.Module, state_of, atol=1e-12):
    theirs.load_state_dict(ours.state_dict())  # the same parameter names and layout
    x = torch.randn(B, I, requires_grad=True)
    state = state_of()
    out_ours = ours(x, state)
    out_theirs = theirs(x, state)
    flat = lambda o: torch.cat([t.flatten() for t in (o if isinstance(o, tuple) else (o,))])  # noqa: E731
    torch.testing.assert_close(flat(out_ours), flat(out_theirs), atol=atol, rtol=0)
    w = torch.randn_like(flat(out_ours))
    g_ours = torch.autograd.grad((flat(out_ours) * w).sum(), [x, *ours.parameters()])
    g_theirs = torch.autograd.grad((flat(out_theirs) * w).sum(), [x, *theirs.parameters()])
    for a, b in zip(g_ours, g_theirs, strict=True):
        torch.testing.assert_close(a, b, atol=atol, rtol=0)


def test_rnn_cell_matches_torch():
    _compare(RNNCell(I, H), nn.RNNCell(I, H), lambda: torch.randn(B, H))


def test_lstm_cell_matches_torch():
    _compare(LSTMCell(I, H), nn.LSTMCell(I, H), lambda: (torch.randn(B, H), torch.randn(B, H)))


def test_gru_reset_after_matches_torch():
    _compare(GRUCell(I, H, reset_after=True), nn.GRUCell(I, H), lambda: torch.randn(B, H))


def test_zero_state_is_default():
    for cell, ref in ((RNNCell(I, H), nn.RNNCell(I, H)), (LSTMCell(I, H), nn.LSTMCell(I, H))):
        ref.load_state_dict(cell.state_dict())
        x = torch.randn(B, I)
        out, want = cell(x), ref(x)
        torch.testing.assert_close(out, want)


def test_torch_state_dict_loads_unchanged():
    for ours, theirs in (
        (RNNCell(I, H), nn.RNNCell(I, H)),
        (LSTMCell(I, H), nn.LSTMCell(I, H)),
        (GRUCell(I, H), nn.GRUCell(I, H)),
    ):
        ours.load_state_dict(theirs.state_dict())  # strict: names and shapes agree
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


def test_seed_gru_matches_transcription_of_the_notes():
    """The notes: r = σ(W_r[h, x] + b_r), z = σ(W_z[h, x] + b_z), h̃ = tanh(W_h[r⊙h, x] + b_h),
    h' = (1−z)⊙h + z⊙h̃, written here with concatenated weight matrices W = [W_hh | W_ih]."""
    cell = GRUCell(I, H, reset_after=False)
    x, h = torch.randn(B, I), torch.randn(B, H)
    W_ih_r, W_ih_z, W_ih_h = cell.weight_ih.detach().chunk(3)
    W_hh_r, W_hh_z, W_hh_h = cell.weight_hh.detach().chunk(3)
    b = (cell.bias_ih + cell.bias_hh).detach()
    b_r, b_z, b_h = b.chunk(3)
    W_r, W_z, W_h = (torch.cat([wh, wi], 1) for wh, wi in ((W_hh_r, W_ih_r), (W_hh_z, W_ih_z), (W_hh_h, W_ih_h)))
    hx = torch.cat([h, x], 1)
    r = torch.sigmoid(hx @ W_r.T + b_r)
    z = torch.sigmoid(hx @ W_z.T + b_z)
    h_tilde = torch.tanh(torch.cat([r * h, x], 1) @ W_h.T + b_h)
    want = (1 - z) * h + z * h_tilde
    torch.testing.assert_close(cell(x, h), want, atol=1e-12, rtol=0)


def test_seed_gru_differs_from_torch_gru():
    """The two GRU forms are different models; the test guards against silently swapping them."""
    ours = GRUCell(I, H, reset_after=False)
    ref = nn.GRUCell(I, H)
    ref.load_state_dict(ours.state_dict())
    x, h = torch.randn(B, I), torch.randn(B, H)
    assert (ours(x, h) - ref(x, h)).abs().max() > 1e-3


@pytest.mark.parametrize(
    "make",
    [lambda: RNNCell(3, 4), lambda: LSTMCell(3, 4), lambda: GRUCell(3, 4), lambda: GRUCell(3, 4, reset_after=True)],
    ids=["rnn", "lstm", "gru-seed", "gru-reset-after"],
)
def test_gradcheck(make):
    cell = make()  # built inside the test, where the default dtype is float64
    x = torch.randn(2, 3, requires_grad=True)
    state = [torch.randn(2, 4, requires_grad=True) for _ in range(2 if isinstance(cell, LSTMCell) else 1)]

    def f(x, *rest):
        return cell(x, tuple(rest[:2]) if isinstance(cell, LSTMCell) else rest[0])

    assert torch.autograd.gradcheck(f, (x, *state, *cell.parameters()))


@pytest.mark.parametrize(
    "ours, theirs, state_of",
    [
        (lambda: RNNCell(I, H), lambda: nn.RNNCell(I, H), lambda: torch.randn(H)),
        (lambda: LSTMCell(I, H), lambda: nn.LSTMCell(I, H), lambda: (torch.randn(H), torch.randn(H))),
        (lambda: GRUCell(I, H, reset_after=True), lambda: nn.GRUCell(I, H), lambda: torch.randn(H)),
    ],
    ids=["rnn", "lstm", "gru"],
)
def test_unbatched_input_behaves_like_torch(ours, theirs, state_of):
    """torch.nn's cells take one example, x (I,) with a state (H,), and return (H,): ours must too."""
    ours, theirs = ours(), theirs()
    theirs.load_state_dict(ours.state_dict())
    x, state = torch.randn(I), state_of()
    for s in (state, None):
        got, want = ours(x, s), theirs(x, s)
        for a, b in zip(
            got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,), strict=True
        ):
            assert a.shape == b.shape == (H,)
            torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    with pytest.raises(ValueError, match="Expected input to be 1D or 2D, got 3D") as ours_err:
        ours(torch.randn(2, B, I))
    with pytest.raises(ValueError) as theirs_err:
        theirs(torch.randn(2, B, I))
    assert str(ours_err.value).split(":")[1] == str(theirs_err.value).split(":")[1]


def test_notes_gru_takes_unbatched_input():
    cell = GRUCell(I, H)
    x, h = torch.randn(I), torch.randn(H)
    torch.testing.assert_close(cell(x, h), cell(x[None], h[None])[0], atol=0, rtol=0)
    with pytest.raises(ValueError, match=r"needs a state of shape \(7,\)"):
        cell(x, h[None])
    with pytest.raises(
        ValueError, match=r"needs a state of shape \(2, 7\)"
    ):  # torch.nn refuses it; addmm would broadcast
        cell(torch.randn(2, I), torch.randn(1, H))


# --- the record per cell (cells.SPECS) and every table derived from it --------------------------------


def _cells_of(spec, input_size=3, hidden=4):
    """One cell per form of ``spec``'s cell: both GRUs, one of each other cell."""
    if "reset_after" in spec.options:
        return [spec.cls(input_size, hidden, reset_after=False), spec.cls(input_size, hidden, reset_after=True)]
    return [spec.cls(input_size, hidden)]


def test_every_cell_spec_is_complete():
    import rnnbench.core.cells as cells_pkg
    from rnnbench.training.config import RunConfig

    defaults = {f.name: f.default for f in dataclasses.fields(RunConfig)}
    assert list(SPECS) == ["rnn", "lstm", "gru", "orthogonal"]
    for name, spec in SPECS.items():
        assert spec.name == name and isinstance(spec.display, str) and spec.display
        assert issubclass(spec.cls, Cell) and getattr(cells_pkg, spec.cls.__name__) is spec.cls
        if name == "orthogonal":  # expRNN's cell: no torch.nn twin, no hand-written BPTT, no stacked form
            assert spec.fused is None and spec.bptt is None and not spec.stackable
        else:
            assert issubclass(spec.fused, nn.RNNBase) and spec.stackable
            assert spec.fused(2, 3).weight_hh_l0.shape[0] == spec.gates * 3  # the gate count torch.nn uses
            assert callable(spec.bptt) and spec.bptt is spec.cls.sequence
        assert isinstance(spec.saved_per_unit, int) and spec.saved_per_unit > 0
        assert isinstance(spec.cost, int) and spec.cost > 0
        assert callable(spec.step) and spec.step is spec.cls.equations
        for option, rule in spec.options.items():  # a RunConfig field, unused at its default
            assert isinstance(rule, Option) and rule.what
            assert defaults[option] == rule.off
        for cell in _cells_of(spec):
            assert cell.paired_state == isinstance(cell.zero_state(torch.zeros(2, 3)), tuple)
    assert CELLS == {name: s.cls for name, s in SPECS.items()}


def test_every_derived_table_has_exactly_the_cells_of_specs():
    from rnnbench.bench.flops import gates
    from rnnbench.core.layers import FUSED
    from rnnbench.core.stacked import StackedCell
    from rnnbench.study.figures.style import CELL_COLORS
    from rnnbench.training.config import ONLY_FOR

    for table, field in ((FUSED, "fused"), (CELLS, "cls")):
        assert table == {name: getattr(s, field) for name, s in SPECS.items()}, field
    assert {name: gates(name) for name in SPECS} == {"rnn": 1, "lstm": 4, "gru": 3, "orthogonal": 1}
    assert set(CELL_COLORS) == set(SPECS) and len(set(CELL_COLORS.values())) == len(SPECS)
    user = CELL_COLORS["torch.nn:GRUCell"]  # a user cell: a colour of its own, beyond the built-ins', by name
    assert user == CELL_COLORS["torch.nn:GRUCell"] and user not in CELL_COLORS.values()
    options = {option: name for name, s in SPECS.items() for option in s.options}
    assert options == {
        "forget_bias": "lstm", "peephole": "lstm", "reset_after": "gru", "nonlinearity": "rnn",
        "orthogonal_map": "orthogonal", "orthogonal_lr": "orthogonal",
    }  # fmt: skip
    assert {k: r.value for k, r in ONLY_FOR.items() if r.owner == "cell"} == options
    for spec in SPECS.values():
        if not spec.stackable:
            assert spec.cls(3, 4).sequence_runner() is None  # no hand-written BPTT: autograd
            continue
        for cell in _cells_of(spec):
            # the stacked cell runs the spec's equations; the BPTT runner is the spec's (none for the notes' GRU)
            assert StackedCell([cell, cell]).equations is spec.step
            want = None if getattr(cell, "reset_after", True) is False else spec.bptt
            assert cell.sequence_runner() is want


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru-seed", "gru-reset-after"])
def test_stacked_cell_is_each_cells_step(name):
    """Slice m of a stacked step is cell m's own step: the same equations, one product per model."""
    from rnnbench.core.stacked import StackedCell

    spec = SPECS[name.split("-")[0]]
    kwargs = {"reset_after": name == "gru-reset-after"} if name.startswith("gru") else {}
    cells = [spec.cls(I, H, **kwargs).double() for _ in range(3)]
    stacked = StackedCell(cells)
    x = torch.randn(3, B, I, dtype=torch.float64)
    gx = stacked.project_input(x)  # (M, B, G·H): one F.linear per run, on any leading shape
    state = stacked.zero_state(gx)
    state = tuple(torch.randn_like(t) for t in state) if spec.cls.paired_state else torch.randn_like(state)
    got = stacked.step(gx, state)  # (M, B, H) [LSTM: a pair]
    for m, cell in enumerate(cells):
        want = cell(x[m], tuple(t[m] for t in state) if isinstance(state, tuple) else state[m])
        pairs = zip(
            got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,), strict=True
        )
        for a, b in pairs:
            torch.testing.assert_close(a[m], b, atol=1e-12, rtol=0)
