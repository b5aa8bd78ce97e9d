"""Run every bad input we know of through the CLI and the pipeline; print a Markdown table of the messages.

Regenerate the tables in docs/bad-inputs.md with:  python scripts/bad_inputs.py > docs/bad-inputs.md
Nothing is hard-coded but the inputs: each message is what the command printed just now. Each pipeline
row runs the real `snakemake --cores 1` (a few seconds each: Snakemake parses the workflow) in an empty
temporary directory, and checks that it failed and left no results/ behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from rnnbench.cli import main

REPO = Path(__file__).resolve().parents[1]

BASE = ["train", "--task", "adding", "--cell", "lstm", "--length", "20", "--steps", "10", "--clip", "1.0"]

CASES = [
    ("unknown cell", ["--cell", "tcn"]),
    ("a cell path that does not import", ["--cell", "mypkg.cells:MyCell"]),
    ("a class that breaks the cell contract", ["--cell", "torch.nn:Linear"]),
    ("fused backend with a user cell", ["--cell", "torch.nn:GRUCell", "--backend", "fused"]),
    ("an init scheme for a user cell", ["--cell", "torch.nn:GRUCell", "--init", "orthogonal"]),
    ("unknown task", ["--task", "parity"]),
    ("unknown backend", ["--backend", "cudnn"]),
    ("unknown device", ["--device", "tpu"]),
    ("unknown optimizer", ["--optimizer", "lbfgs"]),
    ("non-integer length", ["--length", "ten"]),
    ("length 0", ["--length", "0"]),
    ("negative length", ["--length", "-5"]),
    ("adding length 1 (needs two markers)", ["--length", "1"]),
    ("batch 0", ["--batch", "0"]),
    ("non-integer batch", ["--batch", "3.5"]),
    ("hidden size 0", ["--hidden", "0"]),
    ("steps 0", ["--steps", "0"]),
    ("clip 0", ["--clip", "0"]),
    ("negative clip", ["--clip", "-1"]),
    ("clip not a number", ["--clip", "often"]),
    ("learning rate 0", ["--lr", "0"]),
    ("learning rate not a number", ["--lr", "fast"]),
    ("learning rate NaN", ["--lr", "nan"]),
    ("init gain negative", ["--init-gain", "-1"]),
    ("an init that does not apply to the cell", ["--init", "identity"]),
    ("chrono's T_max without chrono", ["--chrono-tmax", "50"]),
    ("chrono's T_max below 3", ["--init", "chrono", "--chrono-tmax", "2"]),
    ("forget bias with a chrono LSTM", ["--init", "chrono", "--forget-bias", "1"]),
    ("fused backend with the notes' GRU", ["--cell", "gru", "--backend", "fused"]),
    ("cuda on a machine without CUDA", ["--device", "cuda"]),
    ("probe step beyond the run", ["--probe-at", "99"]),
    ("a run that would not fit in memory", ["--length", "100000", "--batch", "4096", "--hidden", "2048"]),
    ("zero threads", ["--threads", "0"]),
    ("forget-gate bias for a GRU", ["--cell", "gru", "--forget-bias", "3"]),
    ("GRU form for an LSTM", ["--reset-after"]),
    ("ReLU nonlinearity for an LSTM", ["--nonlinearity", "relu"]),
    ("orthogonal map for an LSTM", ["--orthogonal-map", "cayley"]),
    ("fused backend with the orthogonal RNN", ["--cell", "orthogonal", "--backend", "fused"]),
    ("init gain with the orthogonal RNN", ["--cell", "orthogonal", "--init-gain", "0.5"]),
    ("--save-model with the orthogonal RNN", ["--cell", "orthogonal", "--save-model", "model.pt"]),
    ("momentum without SGD", ["--momentum", "0.9"]),
    ("--probe-at with no step", ["--probe-at"]),
    ("output path is an existing directory", ["--out", "."]),
    ("output path below a file", ["--out", "README.md/run.json"]),
    ("--save-model with the notes' GRU", ["--cell", "gru", "--save-model", "model.pt"]),
    (
        "gradflow probe dtype of another subcommand",
        ["gradflow", "--cell", "lstm", "--length", "20", "--probe-dtype", "float32"],
    ),
    ("throughput length 0", ["throughput", "--cell", "lstm", "--length", "0"]),
    (
        "throughput: the notes' GRU form without a GRU",
        ["throughput", "--cell", "lstm", "--length", "20", "--batch", "8", "--hidden", "8", "--no-reset-after"],
    ),
    ("compare: a file that is not a throughput table", ["compare", "README.md", "README.md", "--out", "cmp"]),
]


def _argv(args: list[str]) -> list[str]:
    """BASE with the change applied (a flag's value replaced, or the flag added), or, for a change that
    starts with another subcommand, that command; ``--out run.json`` unless the change names an output."""
    if not args[0].startswith("--"):
        argv = list(args)
    else:
        argv = list(BASE)
        i = 0
        while i < len(args):
            flag = args[i]
            has_value = i + 1 < len(args) and not args[i + 1].startswith("--")
            if flag in argv and has_value:
                argv[argv.index(flag) + 1] = args[i + 1]
            else:
                argv += args[i : i + 1 + has_value]
            i += 1 + has_value
    return argv if "--out" in argv else [*argv, "--out", "run.json"]


def message(args: list[str]) -> tuple[int, str]:
    """Run ``rnnbench`` with the change in an empty directory: (exit code, what it printed)."""
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "README.md").write_text("")  # a file, for the output-below-a-file case
        err = io.StringIO()
        code = 0
        os.chdir(tmp)  # relative output paths: the messages name no temporary directory
        try:
            with contextlib.redirect_stderr(err):
                try:
                    main(_argv(args))
                except SystemExit as e:
                    code = int(e.code or 0)
        finally:
            os.chdir(cwd)
        assert [p.name for p in Path(tmp).iterdir()] == ["README.md"], "a refused input left files behind"
    return code, err.getvalue().strip()


def _set(*keys: str, value) -> Callable[[dict], None]:
    def edit(cfg: dict) -> None:
        for k in keys[:-1]:
            cfg = cfg[k]
        cfg[keys[-1]] = value

    return edit


def _rename(*keys: str, to: str) -> Callable[[dict], None]:
    def edit(cfg: dict) -> None:
        for k in keys[:-1]:
            cfg = cfg[k]
        cfg[to] = cfg.pop(keys[-1])

    return edit


def _paper_cpu_seeds(cfg: dict) -> None:
    """config/paper-cpu.yaml (52 runs, max_runs 52) with one more seed: 65 runs (the variants without seeds of their own take the sweep's), refused."""
    paper = yaml.safe_load(open(REPO / "config" / "paper-cpu.yaml"))
    paper["sweep"]["seeds"] = [0, 1, 2]
    cfg.clear()
    cfg.update(paper)


# (what, the change to config/smoke.yaml as a reader sees it, the edit: a function of the parsed
# config, or the file's text with a YAML error)
PIPELINE_CASES: list[tuple[str, str, Callable[[dict], None] | str]] = [
    ("YAML syntax error", "`train: {steps: 20` (unclosed brace)", "train: {steps: 20\nsweep: []\n"),
    ("misspelt key", "`train.hiden: 8`", _rename("train", "hidden", to="hiden")),
    ("misspelt top-level key", "`devise: cpu`", _rename("device", to="devise")),
    ("empty sweep: no cells", "`sweep.cells: []`", _set("sweep", "cells", value=[])),
    ("empty sweep: no seeds", "`sweep.seeds: []`", _set("sweep", "seeds", value=[])),
    ("empty sweep: no tasks", "`sweep.tasks: {}`", _set("sweep", "tasks", value={})),
    ("hidden size 0", "`train.hidden: 0`", _set("train", "hidden", value=0)),
    ("negative learning rate", "`train.lr: -1`", _set("train", "lr", value=-1)),
    ("learning rate not a number", "`train.lr: abc`", _set("train", "lr", value="abc")),
    ("cuda on a machine without CUDA", "`device: cuda`", _set("device", value="cuda")),
    ("a sweep larger than max_runs", "`max_runs: 10` (the smoke study has 36 runs)", _set("max_runs", value=10)),
    ("backend not in the registry", "`train.backend: cudnn`", _set("train", "backend", value="cudnn")),
    (
        "a user cell that does not import",
        '`sweep.cells: [rnn, "mypkg.cells:MyCell"]`',
        _set("sweep", "cells", value=["rnn", "mypkg.cells:MyCell"]),
    ),
    ("save_models with the notes' GRU", "`save_models: true`", _set("save_models", value=True)),
    (
        "an init that does not apply to a cell",
        "`init_probes.inits.pytorch.init: identity`",
        _set("init_probes", "inits", "pytorch", "init", value="identity"),
    ),
    ("unknown depth study key", "`depth.layer: [1, 2]`", _rename("depth", "layers", to="layer")),
    (
        "paper-cpu edited past its max_runs",
        "`sweep.seeds: [0, 1, 2]` in `config/paper-cpu.yaml` (65 runs)",
        _paper_cpu_seeds,
    ),
]


def pipeline_message(edit: Callable[[dict], None] | str) -> tuple[int, str, str]:
    """Run the pipeline on the smoke config with ``edit`` in an empty directory: (exit code, the
    message's key lines, the whole output)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bad.yaml"
        if isinstance(edit, str):
            config.write_text(edit)
        else:
            cfg = yaml.safe_load(open(REPO / "config" / "smoke.yaml"))
            edit(cfg)
            config.write_text(yaml.safe_dump(cfg))
        proc = subprocess.run(
            [sys.executable, "-m", "snakemake", "--cores", "1", "--snakefile", str(REPO / "Snakefile"),
             "--directory", tmp, "--configfile", str(config)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert not (Path(tmp) / "results").exists(), "a refused config left results behind"
    output = (proc.stdout + proc.stderr).replace(tmp, "TMP")
    return proc.returncode, key_line(output), output


def key_line(output: str) -> str:
    """The line that names the bad value: jsonschema's message with the key it is about, our own
    refusal, or Snakemake's complaint about a file it cannot parse."""
    lines = [ln.strip() for ln in output.splitlines()]
    for i, ln in enumerate(lines):
        if ln.startswith("ValidationError: "):
            where = next((w for w in lines[i:] if w.startswith("On instance")), "")
            keys = ".".join(re.findall(r"\['([^']*)'\]", where))
            return ln.removeprefix("ValidationError: ") + (f" (at `{keys}`)" if keys else "")
    for pattern in (
        r".*(device 'cuda' was asked for.*)",
        r".*(the study would train .*)",
        r".*(save_models: .*)",
        r".*ConfigError: (.+)",
        r"^\w*Error: (.+)",
    ):
        for ln in lines:
            m = re.match(pattern, ln)
            if m:
                return m.group(1)
    for i, ln in enumerate(lines):  # "WorkflowError:" alone, or "ConfigError in file ...:", message on the next line
        if re.match(r"^\w*Error(:| in file .*:)$", ln) and i + 1 < len(lines):
            return lines[i + 1]
    return lines[-1] if lines else ""


def main_table() -> None:
    print("# Bad inputs and what rnnbench says\n")
    print("Generated by `python scripts/bad_inputs.py > docs/bad-inputs.md`: each message is what the command")
    print(f"printed for `rnnbench {' '.join(BASE)} --out run.json` with the change shown (a change that starts")
    print("with another subcommand is the whole command). Every one exits with status 2 before any work and")
    print("leaves no file behind.\n")
    print("| input | change | exit | message |")
    print("| --- | --- | --- | --- |")
    for what, args in CASES:
        code, msg = message(args)
        escaped = msg.replace("|", "\\|")
        print(f"| {what} | `{' '.join(args)}` | {code} | {escaped} |")
    print("\n## The pipeline\n")
    print("Each row: `snakemake --cores 1 --configfile bad.yaml`, where bad.yaml is `config/smoke.yaml` with")
    print("the change shown, run in an empty directory. Each exits non-zero while the workflow is parsed,")
    print("before any job runs, and leaves no `results/` behind. The message column is the key line of")
    print("Snakemake's output.\n")
    print("| input | change | exit | message |")
    print("| --- | --- | --- | --- |")
    for what, change, edit in PIPELINE_CASES:
        code, msg, _ = pipeline_message(edit)
        escaped = msg.replace("|", "\\|")
        print(f"| {what} | {change} | {code} | {escaped} |")
    print("\n## The library\n")
    print("What the Python API says to input it cannot take (the exception's type and message).\n")
    print("| input | call | message |")
    print("| --- | --- | --- |")
    for what, call, fn in LIBRARY_CASES:
        print(f"| {what} | `{call}` | {library_message(fn)} |")


def _library_cases() -> list[tuple[str, str, Callable[[], object]]]:
    import torch

    from rnnbench.core.cells import GRUCell, LSTMCell
    from rnnbench.core.layers import ExplicitStack
    from rnnbench.core.models import build_model
    from rnnbench.core.tasks import TASKS

    return [
        ("3-D input to a cell (torch.nn's cells refuse it too)", "LSTMCell(3, 4)(torch.zeros(2, 5, 3))",
         lambda: LSTMCell(3, 4)(torch.zeros(2, 5, 3))),
        ("unbatched input with a batched state", "GRUCell(3, 4)(torch.zeros(3), torch.zeros(1, 4))",
         lambda: GRUCell(3, 4)(torch.zeros(3), torch.zeros(1, 4))),
        ("torch.nn.GRU weights into the notes' GRU", "ExplicitStack('gru', 3, 4).load_torch_state_dict(nn.GRU(3, 4).state_dict())",
         lambda: ExplicitStack("gru", 3, 4).load_torch_state_dict(torch.nn.GRU(3, 4).state_dict())),
        ("torch.nn weights of another depth", "ExplicitStack('rnn', 3, 4, 2).load_torch_state_dict(nn.RNN(3, 4).state_dict())",
         lambda: ExplicitStack("rnn", 3, 4, 2).load_torch_state_dict(torch.nn.RNN(3, 4).state_dict())),
        ("complex_RNN's peephole on the fused kernel", "build_model(TASKS['adding'], 'lstm', 4, backend='fused', cell_options={'peephole': True})",
         lambda: build_model(TASKS["adding"], "lstm", 4, backend="fused", cell_options={"peephole": True})),
        ("complex_RNN's LSTM exported as torch.nn weights", "build_model(TASKS['adding'], 'lstm', 4, cell_options={'learn_initial_state': True}).torch_state_dict()",
         lambda: build_model(TASKS["adding"], "lstm", 4, cell_options={"learn_initial_state": True}).torch_state_dict()),
    ]  # fmt: skip


def library_message(fn: Callable[[], object]) -> str:
    """``ExceptionType: message`` of what ``fn`` raises (it must raise)."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 -- whatever it raises is what the table shows
        return f"{type(e).__name__}: {e}".replace("|", "\\|")
    raise AssertionError("the call was accepted")


LIBRARY_CASES = _library_cases()


if __name__ == "__main__":
    main_table()
