"""Property-based fuzzing of the inputs: whatever comes in, a run configuration is either valid or
refused with ConfigError (never another exception), and the CLI exits 0 or 2, writing nothing on 2."""

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnbench.cli as cli
from rnnbench.training.config import ConfigError, RunConfig

FIELDS = [f.name for f in dataclasses.fields(RunConfig)]
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["rnn", "lstm", "gru", "copy", "adding", "sgd", "adam", "norm", "value", "cpu", "auto", "float64"]),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=10))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_config_loader_accepts_or_refuses_by_name(data):
    try:
        cfg = RunConfig.from_dict(data)
    except ConfigError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert RunConfig.from_dict(cfg.to_dict()) == cfg  # a valid config round-trips through plain data


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers())))
def test_config_loader_refuses_non_mappings(data):
    with pytest.raises(ConfigError):
        RunConfig.from_dict(data)


class WouldTrain(Exception):
    """Raised instead of training: the fuzz stops where work would start."""


flags = {
    "--task": st.sampled_from(["copy", "adding", "parity", ""]),
    "--cell": st.sampled_from(["rnn", "lstm", "gru", "RNN", "tcn"]),
    "--length": st.one_of(st.integers(-5, 300).map(str), st.text(max_size=4)),
    "--steps": st.one_of(st.integers(-5, 50).map(str), st.text(max_size=4)),
    "--clip": st.one_of(
        st.sampled_from(["none", "0", "-1", "inf", "nan", "1e-3"]), st.floats().map(str), st.text(max_size=4)
    ),
    "--lr": st.one_of(st.floats().map(str), st.text(max_size=4)),
    "--hidden": st.one_of(st.integers(-2, 64).map(str), st.text(max_size=3)),
    "--batch": st.one_of(st.integers(-2, 64).map(str), st.text(max_size=3)),
    "--backend": st.sampled_from(["explicit", "explicit-premul", "fused", "cudnn"]),
    "--device": st.sampled_from(["cpu", "auto", "gpu"]),
    "--optimizer": st.sampled_from(["sgd", "adam", "rmsprop", "lbfgs"]),
    "--threads": st.one_of(st.integers(-2, 3).map(str), st.text(max_size=3)),
    "--forget-bias": st.sampled_from(["1", "-2.5", "none", "nan", "x"]),
    "--momentum": st.sampled_from(["0", "0.5", "0.9", "1", "-0.1"]),
    "--probe-at": st.one_of(st.none(), st.sampled_from(["0", "-1", "none", "99", "x"])),  # None: the flag alone
    "--reset-after": st.none(),
    "--save-model": st.sampled_from(["m.pt", "sub/m.pt", "."]),
    "--out": st.sampled_from(["r.json", ".", "sub/r.json", "r.json/x"]),
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.fixed_dictionaries({}, optional=flags))
def test_cli_refuses_bad_input_with_status_2_and_writes_nothing(tmp_path_factory, monkeypatch, capsys, chosen):
    tmp = tmp_path_factory.mktemp("fuzz")

    def would_train(*args, **kwargs):
        raise WouldTrain

    monkeypatch.setattr("rnnbench.training.train.train", would_train)
    monkeypatch.chdir(tmp)  # relative output paths land in the fresh directory
    chosen = {"--out": "r.json", **chosen}
    if chosen["--out"] == "r.json/x":
        (tmp / "r.json").write_text("")  # an output path below a file
    before = sorted(tmp.iterdir())
    argv = ["train"]
    for flag, value in chosen.items():
        if value is None:
            argv.append(flag)
        else:
            argv += [flag, value] if not value.startswith("-") else [f"{flag}={value}"]
    accepted_or_refused(argv, WouldTrain, capsys)
    assert sorted(tmp.iterdir()) == before


def accepted_or_refused(argv: list[str], would_work: type[Exception], capsys) -> None:
    """Run the CLI: it reaches the work (``would_work`` raised there) or exits 2 with one error line."""
    try:
        cli.main(argv)
    except would_work:
        pass  # valid input reached the point where work starts
    except SystemExit as e:
        assert e.code == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "error" in err, err


throughput_flags = {
    "--cell": st.lists(st.sampled_from(["rnn", "lstm", "gru", "tcn"]), min_size=1, max_size=2),
    "--length": st.lists(st.integers(-2, 5).map(str), min_size=1, max_size=2),
    "--batch": st.lists(st.integers(-1, 4).map(str), min_size=1, max_size=2),
    "--hidden": st.lists(st.one_of(st.integers(-1, 4).map(str), st.text(max_size=2)), min_size=1, max_size=2),
    "--threads": st.lists(st.integers(-1, 2).map(str), min_size=1, max_size=1),
    "--no-reset-after": st.just([]),
    "--preset": st.lists(st.sampled_from(["deepbench", "none"]), min_size=1, max_size=1),
    "--out": st.lists(st.sampled_from(["t.csv", "."]), min_size=1, max_size=1),
}


class WouldTime(Exception):
    """Raised instead of timing."""


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.fixed_dictionaries({}, optional=throughput_flags))
def test_throughput_refuses_bad_input_with_status_2_and_writes_nothing(tmp_path_factory, monkeypatch, capsys, chosen):
    tmp = tmp_path_factory.mktemp("fuzz")

    def would_time(*args, **kwargs):
        raise WouldTime

    monkeypatch.setattr("rnnbench.bench.throughput.sweep", would_time)
    monkeypatch.chdir(tmp)
    chosen = {"--out": ["t.csv"], **chosen}
    argv = ["throughput"]
    for flag, values in chosen.items():
        argv += [f"{flag}={values[0]}", *values[1:]] if values and values[0].startswith("-") else [flag, *values]
    accepted_or_refused(argv, WouldTime, capsys)
    assert not any(tmp.iterdir())


@settings(max_examples=100, deadline=None)
@given(
    cell=st.sampled_from(["rnn", "lstm", "gru"]),
    x_shape=st.lists(st.integers(1, 3), min_size=0, max_size=3),
    state_shape=st.one_of(st.none(), st.lists(st.integers(1, 4), min_size=1, max_size=2)),
)
def test_cells_take_what_torch_nn_cells_take(cell, x_shape, state_shape):
    """Any input shape (and state shape): what torch.nn's cell refuses, ours refuses; what is valid --
    a 1-D or 2-D input with no state or one of shape (*batch, H) -- ours takes and answers as torch.nn
    does. (torch.nn also takes some invalid pairs by accident: RNNCell((3,), (4, 4)) returns (4, 4);
    ours may refuse those, with a message.)"""
    import torch

    from rnnbench.core.cells import GRUCell, LSTMCell, RNNCell

    I, H = 3, 4
    ours = {"rnn": RNNCell(I, H), "lstm": LSTMCell(I, H), "gru": GRUCell(I, H, reset_after=True)}[cell]
    theirs = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[cell](I, H)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(*x_shape[:-1], I) if x_shape else torch.randn(())
    state = None
    if state_shape is not None:
        h = torch.randn(*state_shape[:-1], H)
        state = (h, torch.randn_like(h)) if cell == "lstm" else h
    valid = x.dim() in (1, 2) and (state_shape is None or tuple(h.shape) == (*x.shape[:-1], H))
    try:
        want = theirs(x, state)
    except (ValueError, RuntimeError, IndexError):
        assert not valid  # torch.nn refuses only invalid shapes
        with pytest.raises((ValueError, RuntimeError, IndexError)):
            ours(x, state)
        return
    if not valid:
        with pytest.raises(ValueError, match="needs a state of shape"):
            ours(x, state)
        return
    got = ours(x, state)
    for a, b in zip(
        got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,), strict=True
    ):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
