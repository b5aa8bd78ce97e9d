"""The rnnbench command line: round trips, --help everywhere, and every bad input refused cleanly."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from rnnbench.cli import main

TRAIN = [
    "train",
    "--task",
    "adding",
    "--cell",
    "gru",
    "--length",
    "8",
    "--steps",
    "5",
    "--hidden",
    "4",
    "--clip",
    "1.0",
]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnnbench.cli", *args], capture_output=True, text=True, timeout=120)


def test_train_round_trip(tmp_path):
    out = tmp_path / "sub" / "run.json"
    assert main([*TRAIN, "--out", str(out), "--probe-at", "0", "-1"]) == 0
    r = json.loads(out.read_text())  # strict JSON: no NaN
    assert r["status"] == "ok" and r["steps_run"] == 5
    assert r["config"]["cell"] == "gru" and r["config"]["clip"] == 1.0
    assert {"step", "loss", "grad_norm", "clipped"} <= set(r["curve"][0])
    assert {"step", "t", "grad_norm"} <= set(r["gradflow"][0])
    assert r["env"]["torch"] == torch.__version__
    assert not list(out.parent.glob("*.part"))  # no temporary files left


def test_gradflow_round_trip(tmp_path):
    out = tmp_path / "flow.csv"
    assert main(["gradflow", "--cell", "lstm", "--length", "30", "--seed", "1", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert list(df["t"]) == list(range(30))
    assert {"t", "grad_norm", "c_grad_norm", "distance"} <= set(df.columns)
    assert (df["grad_norm"] > 0).all()


def test_help_on_every_command():
    for args in ([], ["train"], ["gradflow"]):
        p = run(*args, "--help")
        assert p.returncode == 0 and "usage:" in p.stdout


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "rnnbench"
    p = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0


BAD = [
    (["--cell", "tcn"], "tcn"),
    (["--task", "parity"], "parity"),
    (["--length", "0"], "length"),
    (["--length", "-3"], "length"),
    (["--length", "ten"], "ten"),
    (["--steps", "0"], "steps"),
    (["--clip", "0"], "clip"),
    (["--clip", "-1"], "clip"),
    (["--clip", "often"], "often"),
    (["--backend", "fused"], "fused"),  # with the notes' GRU
    (["--lr", "0"], "lr"),
    (["--optimizer", "lbfgs"], "lbfgs"),
    (["--hidden", "0"], "hidden"),
    (["--batch", "-1"], "batch"),
]


@pytest.mark.parametrize("change,named", BAD, ids=[" ".join(c) for c, _ in BAD])
def test_bad_input_exits_with_one_line_and_writes_nothing(tmp_path, capsys, change, named):
    args = list(TRAIN)
    for flag, value in zip(change[::2], change[1::2], strict=True):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    out = tmp_path / "run.json"
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--out", str(out)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and named in lines[0], err
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused(tmp_path):
    p = run(*TRAIN, "--device", "cuda", "--out", str(tmp_path / "r.json"))
    assert p.returncode == 2 and "cuda" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(torch.cuda.is_available(), reason="auto picks CUDA here (test_auto_device_picks_cuda)")
def test_auto_device_falls_back_and_says_so(tmp_path):
    out = tmp_path / "r.json"
    assert main([*TRAIN, "--device", "auto", "--out", str(out)]) == 0
    env = json.loads(out.read_text())["env"]
    assert env["device"] == "cpu" and "auto" in env["device_note"]


@pytest.mark.cuda
def test_auto_device_picks_cuda_and_says_so(tmp_path):
    out = tmp_path / "r.json"
    assert main([*TRAIN, "--device", "auto", "--out", str(out)]) == 0
    env = json.loads(out.read_text())["env"]
    assert env["device"] == "cuda" and "auto" in env["device_note"]


def test_every_bad_input_in_the_docs_table_is_refused():
    """docs/bad-inputs.md is generated from scripts/bad_inputs.py; each of its inputs must still exit 2."""
    import runpy

    script = runpy.run_path(str(Path(__file__).parents[1] / "scripts" / "bad_inputs.py"))
    for what, args in script["CASES"]:
        if what.startswith("cuda") and torch.cuda.is_available():
            continue  # the refusal of `--device cuda` without CUDA: this machine has CUDA
        code, msg = script["message"](args)
        assert code == 2 and msg.count("\n") == 0 and "error" in msg, what


def test_aggregate_strict_then_skip_bad(tmp_path):
    """`rnnbench aggregate`: a bad file stops it (exit 2, one line naming the file, no table written);
    with --skip-bad the good runs are tabled and the bad files listed in skipped.csv."""
    runs = tmp_path / "runs"
    good = runs / "task~adding/cell~gru/length~8/clip~1.0/seed~0.json"
    assert main([*TRAIN, "--out", str(good)]) == 0
    truncated = runs / "task~adding/cell~gru/length~8/clip~1.0/seed~1.json"
    truncated.write_text(good.read_text()[:200])
    empty = runs / "clipping/optimizer~sgd/clip~none/seed~0.json"
    empty.parent.mkdir(parents=True)
    empty.write_text("")
    out = tmp_path / "tables"

    p = run("aggregate", str(runs), "--out", str(out))
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert str(empty) in p.stderr and "empty file" in p.stderr and "--skip-bad" in p.stderr
    assert not out.exists()

    p = run("aggregate", str(runs), "--out", str(out), "--skip-bad")
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in out.iterdir()) == [
        "curves.csv",
        "gradflow.csv",
        "runs.csv",
        "skipped.csv",
        "timings.csv",
    ]
    skipped = pd.read_csv(out / "skipped.csv")
    assert list(skipped["path"]) == [str(empty), str(truncated)]
    assert "not a readable JSON result" in skipped["reason"].iloc[1]
    table = pd.read_csv(out / "runs.csv")
    assert list(table["run"]) == ["task~adding/cell~gru/length~8/clip~1.0/seed~0"]  # ids below RUNS_DIR
    assert table["config_hash"].iloc[0] == json.loads(good.read_text())["config_hash"]


@pytest.mark.parametrize(
    "args, named",
    [(["no-such-dir"], "RUNS_DIR"), (["empty-dir"], "holds no *.json"), (["runs", "--out", "afile"], "is a file")],
    ids=["missing-dir", "no-results", "out-is-a-file"],
)
def test_aggregate_bad_input_is_refused(tmp_path, args, named):
    (tmp_path / "empty-dir").mkdir()
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "x.json").write_text("{}")
    (tmp_path / "afile").write_text("")
    argv = ["aggregate", *[str(tmp_path / a) if not a.startswith("--") else a for a in args]]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "tables")]
    p = run(*argv)
    assert p.returncode == 2 and named in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not (tmp_path / "tables").exists()


# --- conventions: --version, python -m rnnbench, defaults in --help, one spelling per option -----------------


def test_version_names_the_package_version_and_the_commit():
    from rnnbench.core.provenance import git_commit, rnnbench_version

    script = Path(sys.executable).parent / "rnnbench"
    for cmd in ([str(script)], [sys.executable, "-m", "rnnbench"]):
        p = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        # git_commit is cached per process: look it up afresh, as the subprocess does
        assert p.stdout.startswith(f"rnnbench {rnnbench_version()} (commit {git_commit.__wrapped__()}")


def test_python_dash_m_rnnbench_is_the_same_command():
    for args in (
        ["--help"],
        ["train", "--help"],
        ["gradflow", "--help"],
        ["throughput", "--help"],
        ["aggregate", "--help"],
    ):
        p = subprocess.run([sys.executable, "-m", "rnnbench", *args], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and p.stdout.startswith("usage: rnnbench"), (args, p.stderr)
    p = subprocess.run([sys.executable, "-m", "rnnbench", "train", "--cell", "tcn"], capture_output=True, text=True)
    assert p.returncode == 2 and "tcn" in p.stderr


def _subparsers() -> dict:
    import argparse

    from rnnbench.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def test_every_help_shows_every_default():
    import argparse

    for name, p in _subparsers().items():
        text = " ".join(p.format_help().split())  # argparse wraps lines
        for action in p._actions:
            if action.default in (None, argparse.SUPPRESS) or action.required or not action.option_strings:
                continue
            default = action.default
            shown = " ".join(map(str, default)) if isinstance(default, list) else str(default)
            assert f"(default: {shown})" in text or f"(default: {default})" in text, (name, action.option_strings)


def test_one_name_and_one_set_of_choices_per_option_across_subcommands():
    seen: dict[str, tuple] = {}
    # the throughput benchmark also times torch.compile ('compiled'), which training does not offer; training
    # offers 'auto' (a rule that picks one of the kernels per run), which the benchmark, timing each kernel, does not
    wider = {("throughput", "--backend")}
    for name, p in _subparsers().items():
        for action in p._actions:
            for flag in action.option_strings:
                key = (tuple(action.choices) if action.choices else None, action.type)
                if (name, flag) in wider:
                    assert set(seen["--backend"][0]) - {"auto"} < set(action.choices)
                    continue
                assert seen.setdefault(flag, key) == key, (name, flag, key, seen[flag])
    options = {flag for p in _subparsers().values() for a in p._actions for flag in a.option_strings}
    assert "--notes-gru" not in options and {"--reset-after", "--no-reset-after"} <= options
    for name in ("train", "gradflow", "throughput"):
        flags = {f for a in _subparsers()[name]._actions for f in a.option_strings}
        assert {"--reset-after", "--no-reset-after", "--threads", "--dtype", "--device"} <= flags, name


# --- bad inputs refused before any work -------------------------------------------------------------


class WouldWork(Exception):
    """Raised where the work would start: a refusal must come before it."""


@pytest.fixture
def no_work(monkeypatch):
    def would_work(*args, **kwargs):
        raise WouldWork

    monkeypatch.setattr("rnnbench.training.train.train", would_work)
    monkeypatch.setattr("rnnbench.training.probes.gradflow_at_init", would_work)
    monkeypatch.setattr("rnnbench.bench.throughput.sweep", would_work)


def _refused(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and err.count("\n") == 0 and "error" in err, err
    return err


THROUGHPUT = ["throughput", "--cell", "lstm", "--length", "5", "--batch", "2", "--hidden", "4"]


@pytest.mark.parametrize(
    "argv, named",
    [
        ([*TRAIN, "--threads", "0"], "--threads '0'"),
        ([*TRAIN, "--threads", "-3"], "--threads '-3'"),
        (["gradflow", "--cell", "rnn", "--length", "5", "--threads", "0"], "--threads '0'"),
        ([*THROUGHPUT, "--threads", "0"], "--threads '0'"),
        ([*TRAIN, "--forget-bias", "3"], "forget_bias 3.0 does not apply to cell 'gru'"),
        (["gradflow", "--cell", "rnn", "--length", "5", "--forget-bias", "1"], "forget_bias 1.0 does not apply"),
        ([*TRAIN[:4], "lstm", *TRAIN[5:], "--reset-after"], "reset_after True does not apply to cell 'lstm'"),
        ([*TRAIN, "--momentum", "0.9"], "momentum 0.9 does not apply to optimizer 'adam'"),
        ([*THROUGHPUT, "--no-reset-after"], "--no-reset-after does not apply to cell(s) lstm"),
        ([*TRAIN, "--probe-at"], "--probe-at: expected at least one argument"),
        ([*TRAIN, "--probe-at", "none", "3"], "--probe-at 'none'"),
        ([*TRAIN, "--probe-at", "soon"], "--probe-at 'soon'"),
        (
            ["throughput", "--cell", "lstm", "--length", "0", "--out", "x.csv"],
            "--length must be an integer >= 1, got 0",
        ),
        ([*THROUGHPUT[:4], "0", *THROUGHPUT[5:]], "--length must be an integer >= 1, got 0"),
        (["gradflow", "--cell", "lstm", "--length", "5", "--probe-dtype", "float32"], "invalid choice: 'float32'"),
        ([*TRAIN, "--save-model", "m.pt"], "--save-model writes torch.nn weights, and torch.nn has no notes' GRU"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_input_is_refused_by_name_before_any_work(tmp_path, monkeypatch, capsys, no_work, argv, named):
    monkeypatch.chdir(tmp_path)
    if "--out" not in argv:
        argv = [*argv, "--out", str(tmp_path / "out.json")]
    err = _refused(argv, capsys)
    assert named in err, err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("command", ["train", "gradflow", "throughput"])
def test_an_out_that_cannot_be_written_is_refused_before_any_work(tmp_path, capsys, no_work, command):
    base = {"train": TRAIN, "gradflow": ["gradflow", "--cell", "lstm", "--length", "5"], "throughput": THROUGHPUT}
    (tmp_path / "afile").write_text("")
    assert "is a directory" in _refused([*base[command], "--out", str(tmp_path)], capsys)
    assert "is not a directory" in _refused([*base[command], "--out", str(tmp_path / "afile" / "r")], capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_two_outputs_in_one_file_are_refused(tmp_path, capsys, no_work):
    out = str(tmp_path / "r.json")
    err = _refused([*TRAIN, "--reset-after", "--out", out, "--save-model", out], capsys)
    assert "--save-model and --out are the same file" in err or "--out and --save-model are the same file" in err


# --- what the options do ----------------------------------------------------------------------------


def test_save_model_writes_torch_nn_weights_readable_by_others(tmp_path):
    out, weights = tmp_path / "r.json", tmp_path / "models" / "gru.pt"
    old = __import__("os").umask(0o022)
    try:
        assert (
            main([*TRAIN, "--reset-after", "--out", str(out), "--save-model", str(weights), "--probe-at", "none"]) == 0
        )
    finally:
        __import__("os").umask(old)
    assert json.loads(out.read_text())["gradflow"] == []  # --probe-at none: no probes, as asked
    assert (out.stat().st_mode & 0o777) == (weights.stat().st_mode & 0o777) == 0o644
    sd = torch.load(weights, weights_only=True)
    gru = torch.nn.GRU(2, 4, batch_first=True)  # the adding task's 2 input channels, --hidden 4
    gru.load_state_dict({k.removeprefix("rnn."): v for k, v in sd.items() if k.startswith("rnn.")})
    assert sd["head.weight"].shape == (1, 4)


def test_threads_sets_torch_threads(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    assert main([*TRAIN, "--threads", "1", "--out", str(tmp_path / "r.json")]) == 0
    assert calls == [1]


def test_the_library_rows_of_the_docs_are_what_the_library_says():
    import runpy

    script = runpy.run_path(str(Path(__file__).parents[1] / "scripts" / "bad_inputs.py"))
    doc = (Path(__file__).parents[1] / "docs" / "bad-inputs.md").read_text()
    for what, call, fn in script["LIBRARY_CASES"]:
        assert f"| {what} | `{call}` | {script['library_message'](fn)} |" in doc, (
            f"docs/bad-inputs.md is out of date: {what}"
        )
