"""Property-based fuzzing of the inputs: whatever comes in, a run configuration is either valid or
refused with ConfigError (never another exception), and the CLI exits 0 or 2, writing nothing on 2."""

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnbench.cli as cli
from rnnbench.config import ConfigError, RunConfig

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
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.fixed_dictionaries({}, optional=flags))
def test_cli_refuses_bad_input_with_status_2_and_writes_nothing(tmp_path_factory, monkeypatch, capsys, chosen):
    tmp = tmp_path_factory.mktemp("fuzz")

    def would_train(*args, **kwargs):
        raise WouldTrain

    monkeypatch.setattr("rnnbench.train.train", would_train)
    argv = ["train", "--out", str(tmp / "r.json")]
    for flag, value in chosen.items():
        argv += [flag, value] if not value.startswith("-") else [f"{flag}={value}"]
    try:
        cli.main(argv)
    except WouldTrain:
        pass  # valid input reached the point where work starts
    except SystemExit as e:
        assert e.code == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "error" in err
    assert not any(tmp.iterdir())
