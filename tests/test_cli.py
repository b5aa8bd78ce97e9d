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


def test_auto_device_falls_back_and_says_so(tmp_path):
    out = tmp_path / "r.json"
    assert main([*TRAIN, "--device", "auto", "--out", str(out)]) == 0
    env = json.loads(out.read_text())["env"]
    assert env["device"] in ("cpu", "cuda") and "auto" in env["device_note"]


def test_every_bad_input_in_the_docs_table_is_refused():
    """docs/bad-inputs.md is generated from scripts/bad_inputs.py; each of its inputs must still exit 2."""
    import runpy

    script = runpy.run_path(str(Path(__file__).parents[1] / "scripts" / "bad_inputs.py"))
    for what, args in script["CASES"]:
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
