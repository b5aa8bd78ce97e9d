"""The ``rnnbench`` command line (also ``python -m rnnbench``): ``train``, ``gradflow``,
``throughput``, ``aggregate``, ``compare`` and ``check``.

Every argument is checked (through ``RunConfig``) before any work starts; bad input exits with
status 2 and one line naming the bad value and what is allowed, and writes nothing. An option that
several subcommands take is defined once (``OPTIONS``), so it has one name, one help and one set of
choices everywhere; every ``--help`` shows the defaults.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from rnnbench.core.cells import GROUP, NONLINEARITIES, ORTHOGONAL_MAPS, SPECS, CellError, cell_spec, notes_gru
from rnnbench.core.initialisation import INITS
from rnnbench.core.storage import atomic_write, output_problem, write_json
from rnnbench.core.tasks import TASKS
from rnnbench.training.clipping import CLIPPERS
from rnnbench.training.config import (
    BACKEND_CHOICES,
    DEVICES,
    DTYPES,
    PROBE_DTYPES,
    ConfigError,
    RunConfig,
    resolve_device,
)
from rnnbench.training.memory import check_fits
from rnnbench.training.optimizers import OPTIMIZERS


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default, except where there is none to show (a required
    option, or a default of None whose meaning the help already says)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.required or action.default is None:
            return action.help
        return super()._get_help_string(action)


class OneLineParser(argparse.ArgumentParser):
    """argparse prints the whole usage before an error; we print one line naming the problem."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)  # subcommands' parsers too
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class VersionAction(argparse.Action):
    """``--version``: the package version and the git commit it runs from (looked up only when asked)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from rnnbench.core.provenance import git_commit, rnnbench_version

        # on stdout, as argparse's own version action prints
        print(f"rnnbench {rnnbench_version()} (commit {git_commit()}; torch {torch.__version__})")
        parser.exit(0)


def _clip(value: str) -> float | None:
    if value == "none":
        return None
    try:
        threshold = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--clip {value!r} is not allowed; use 'none' or a threshold > 0") from None
    if not threshold > 0 or threshold == float("inf"):
        raise argparse.ArgumentTypeError(f"--clip {value!r} is not allowed; use 'none' or a finite threshold > 0")
    return threshold


def _cell(value: str) -> str:
    """A cell name, resolved (a user cell imported and its contract checked) while the line is parsed."""
    try:
        cell_spec(value)
    except CellError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


def _optional_float(value: str) -> float | None:
    return None if value == "none" else float(value)


def _threads(value: str) -> int:
    # 0 would silently mean torch's default while -3 is refused: both are refused here
    try:
        threads = int(value)
    except ValueError:
        threads = None
    if threads is None or threads < 1:
        raise argparse.ArgumentTypeError(f"--threads {value!r} is not allowed; use an integer >= 1")
    return threads


def _probe_step(value: str) -> int | None:
    if value == "none":
        return None
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--probe-at {value!r} is not allowed; give training steps (integers, -1 = after training) or 'none'"
        ) from None


# Options several subcommands take: one name, one help, one set of choices each (a subcommand may
# change the default only). Add a shared option here, then ``_option(parser, "--name")``.
OPTIONS: dict[str, dict] = {
    "--device": dict(choices=DEVICES, help="cpu, cuda, or auto (cuda when present)"),
    "--dtype": dict(choices=DTYPES, help="parameter and activation dtype"),
    "--threads": dict(type=_threads, default=None, help="torch CPU threads (default: torch's choice)"),
    "--reset-after": dict(
        action=argparse.BooleanOptionalAction,
        help="GRU form: torch.nn.GRU's (reset after the product); --no-reset-after: the notes' (reset before it)",
    ),
    "--probe-dtype": dict(
        choices=PROBE_DTYPES, help="dtype of the probe pass: float64 (on a copy), or the same as --dtype"
    ),
    "--layers": dict(type=int, help="stacked recurrent layers"),
    "--allow-tf32": dict(
        action="store_true",
        help="on CUDA, let cuBLAS/cuDNN run float32 products in TF32 (faster, less exact); default: true fp32. "
        "No effect on CPU",
    ),
}


def _option(p: argparse.ArgumentParser, flag: str, **kwargs) -> None:
    """Add the shared option ``flag``; ``kwargs`` may set its default (and nargs), nothing else."""
    assert set(kwargs) <= {"default", "nargs"}, f"{flag}: a shared option's choices and help are fixed"
    p.add_argument(flag, **{**OPTIONS[flag], **kwargs})


CELL_HELP = (
    f"recurrent cell: {', '.join(SPECS)}, a module:Class in torch.nn's cell convention (torch.nn:GRUCell), "
    f"or an installed cell's name (entry points of group {GROUP})"
)


def _model_args(p: argparse.ArgumentParser, default_task: str) -> None:
    d = RunConfig()
    p.add_argument("--task", choices=TASKS, default=default_task, help="copy memory or adding problem")
    p.add_argument("--cell", type=_cell, required=True, metavar="CELL", help=CELL_HELP)
    p.add_argument("--length", type=int, required=True, help="T: adding sequence length, or copy delay (T+20 steps)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of weights and training data")
    p.add_argument("--hidden", type=int, default=d.hidden, help="hidden units per layer and direction")
    p.add_argument("--batch", type=int, default=d.batch, help="sequences per batch")
    _option(p, "--layers", default=d.layers)
    p.add_argument("--bidirectional", action="store_true", help="run each layer in both directions")
    p.add_argument(
        "--init",
        choices=INITS,
        default=d.init,
        help="initialisation: default/orthogonal/gaussian set W_hh (× gain); xavier = Glorot per gate block; identity = IRNN W_hh (rnn); chrono = Tallec & Ollivier (lstm, gru)",
    )
    p.add_argument(
        "--init-gain", type=float, default=d.init_gain, help="gain g applied to W_hh (gaussian: entries N(0, g²/H))"
    )
    p.add_argument(
        "--forget-bias",
        type=_optional_float,
        default=d.forget_bias,
        help="LSTM only: forget-gate bias (default: PyTorch's)",
    )
    p.add_argument(
        "--chrono-tmax",
        type=int,
        default=d.chrono_tmax,
        help="--init chrono: T_max of the keep-gate bias log U[1, T_max-1] (default: the steps the network sees)",
    )
    _option(p, "--reset-after", default=d.reset_after)
    p.add_argument(
        "--nonlinearity",
        choices=NONLINEARITIES,
        default=d.nonlinearity,
        help="rnn only: tanh, or relu (with --init identity: the IRNN of Le et al. 2015)",
    )
    p.add_argument(
        "--orthogonal-map",
        choices=ORTHOGONAL_MAPS,
        default=d.orthogonal_map,
        help="orthogonal only: B = matrix_exp(A) (expRNN) or cayley(A), A skew-symmetric",
    )
    p.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        default=d.backend,
        help="explicit (our cells, probeable), fused (torch.nn kernels), or auto (the fastest that trains the same model)",
    )
    _option(p, "--device", default=d.device)
    _option(p, "--dtype", default=d.dtype)
    _option(p, "--threads")
    _option(p, "--probe-dtype", default=d.probe_dtype)
    _option(p, "--allow-tf32")
    p.add_argument("--out", type=Path, required=True, help="output file, written atomically")


def build_parser() -> argparse.ArgumentParser:
    """The ``rnnbench`` command line: one subcommand each, in the order ``--help`` lists them."""
    parser = OneLineParser(
        prog="rnnbench",
        description="Gradient flow and trainability of RNN, LSTM and GRU on long-term-dependency tasks.",
    )
    parser.add_argument("--version", action=VersionAction, help="print the version and git commit, and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    _train_args(sub)
    _gradflow_args(sub)
    _throughput_args(sub)
    _aggregate_args(sub)
    from rnnbench.bench import compare  # its arguments and matching live in rnnbench/bench/compare.py

    compare.add_subcommand(sub)
    _check_args(sub)
    return parser


def _train_args(sub) -> None:
    t = sub.add_parser(
        "train",
        help="train one model; write a JSON result",
        description="Train one model on a task; write a JSON result with curve, probes and provenance.",
    )
    _model_args(t, default_task="adding")
    d = RunConfig()
    t.add_argument("--steps", type=int, required=True, help="training steps (batches)")
    t.add_argument(
        "--clip",
        type=_clip,
        required=True,
        help="'none' or a threshold; clipping helps prevent the exploding gradient problem",
    )
    t.add_argument(
        "--clip-mode",
        choices=CLIPPERS,
        default=d.clip_mode,
        help="norm: rescale the whole gradient (Pascanu 2013); value: clamp each entry",
    )
    t.add_argument("--lr", type=float, default=d.lr, help="learning rate")
    t.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default=d.optimizer,
        help="sgd shows explosions; adam and rmsprop normalise updates",
    )
    t.add_argument("--momentum", type=float, default=d.momentum, help="SGD only: momentum")
    t.add_argument(
        "--orthogonal-lr",
        type=float,
        default=d.orthogonal_lr,
        help="orthogonal only: learning rate of B (default: lr/10, expRNN's ratio)",
    )
    t.add_argument("--eval-every", type=int, default=d.eval_every, help="steps between held-out evaluations")
    t.add_argument("--eval-batch", type=int, default=d.eval_batch, help="held-out batch size")
    t.add_argument(
        "--probe-at",
        type=_probe_step,
        nargs="+",
        default=list(d.probe_at),
        metavar="STEP",
        help="steps to probe gradient flow at; -1 = after training; 'none' = no probes",
    )
    t.add_argument(
        "--checkpoint-every", type=int, default=0, help="save a resumable checkpoint every N steps (0: never)"
    )
    t.add_argument(
        "--checkpoint", type=Path, default=None, help="checkpoint file (default: OUT.ckpt); removed when the run ends"
    )
    t.add_argument(
        "--save-model",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the trained weights, as torch.nn.RNN/LSTM/GRU (rnn.*) and torch.nn.Linear (head.*) "
        "state dicts in one file (torch.load(PATH, weights_only=True))",
    )
    t.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: on a terminal only)",
    )


def _gradflow_args(sub) -> None:
    g = sub.add_parser(
        "gradflow",
        help="one backward pass at initialisation; write ‖∂L/∂h_t‖ per t as CSV",
        description="Gradient norm ‖∂L/∂h_t‖ for every time step t at initialisation (mean over the batch of per-example norms, top layer).",
    )
    _model_args(g, default_task="adding")


def _aggregate_args(sub) -> None:
    a = sub.add_parser(
        "aggregate",
        help="read every run JSON under a directory; write the runs, gradflow, curves, timings and skipped tables",
        description="Aggregate run results (as the pipeline's tables rule does). A file that is not a valid "
        "result stops it with a message naming the file, unless --skip-bad.",
    )
    a.add_argument("runs_dir", type=Path, metavar="RUNS_DIR", help="directory of run JSONs (e.g. results/runs)")
    a.add_argument("--out", type=Path, required=True, help="directory for the CSV tables, each written atomically")
    a.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave bad result files out and list them, with the reason, in skipped.csv",
    )


def _throughput_args(sub) -> None:
    from rnnbench.bench.flops import CONVENTIONS
    from rnnbench.bench.throughput import PRESETS, ThroughputConfig
    from rnnbench.core.backends import BACKENDS  # every backend: the benchmark times 'compiled' too

    d = ThroughputConfig()
    p = sub.add_parser(
        "throughput",
        help="time training forward/backward of a recurrent layer; write a CSV row per case",
        description="Throughput of one case, or of the grid of all given values (each of --cell --backend "
        "--length --batch --hidden takes several), against the measured matmul ceiling.",
    )
    p.add_argument("--cell", type=_cell, nargs="+", metavar="CELL", help=CELL_HELP)
    p.add_argument("--backend", choices=BACKENDS, nargs="+", default=[d.backend], help="backend(s)")
    p.add_argument("--length", type=int, nargs="+", help="sequence length(s) T")
    p.add_argument("--batch", type=int, nargs="+", help="batch size(s) B")
    p.add_argument("--hidden", type=int, nargs="+", help="hidden size(s) H")
    p.add_argument("--input", type=int, default=d.input, help="input size I (default: = hidden)")
    _option(p, "--layers", default=d.layers)
    _option(p, "--dtype", default=d.dtype)
    _option(p, "--device", default=d.device)
    p.add_argument("--repeats", type=int, default=d.repeats, help="timed runs per case (medians reported)")
    p.add_argument("--warmup", type=int, default=d.warmup, help="untimed runs first")
    p.add_argument(
        "--flops",
        choices=CONVENTIONS,
        default=d.flop_convention,
        help="total: input GEMM included (cuDNN sample); recurrent: DeepBench's count",
    )
    _option(p, "--reset-after", default=d.reset_after)  # torch.nn.GRU's form: the only one its kernels run
    p.add_argument(
        "--compile-max-steps",
        type=int,
        default=d.compile_max_steps,
        help="compiled backend: largest T·layers to compile",
    )
    p.add_argument(
        "--preset",
        choices=PRESETS,
        default=None,
        help="a preset grid of cells and shapes (deepbench: its training set); shape flags then pick cases from it",
    )
    _option(p, "--threads")
    _option(p, "--allow-tf32")
    p.add_argument("--out", type=Path, required=True, help="CSV output, written atomically")


def _check_args(sub) -> None:
    c = sub.add_parser(
        "check",
        help="check one cell's conformance (gradcheck, causality, batch independence, ...); print a table",
        description="A conformance suite for one cell: each property passes, fails, or is reported (the "
        "gradient's per-step factor, the speed against torch.nn.GRU). Exits 1 naming every property that "
        "fails; the same properties are functions in rnnbench.check.",
    )
    c.add_argument("cell", type=_cell, metavar="CELL", help=CELL_HELP)


def _config(args: argparse.Namespace, **extra) -> RunConfig:
    return RunConfig(
        task=args.task,
        cell=args.cell,
        length=args.length,
        seed=args.seed,
        hidden=args.hidden,
        batch=args.batch,
        layers=args.layers,
        bidirectional=args.bidirectional,
        init=args.init,
        init_gain=args.init_gain,
        forget_bias=args.forget_bias,
        chrono_tmax=args.chrono_tmax,
        reset_after=args.reset_after,
        nonlinearity=args.nonlinearity,
        orthogonal_map=args.orthogonal_map,
        backend=args.backend,
        device=args.device,
        dtype=args.dtype,
        allow_tf32=args.allow_tf32,
        **extra,
    )


def _check_outputs(**paths: Path | None) -> None:
    """Every file a command will write, checked before any work: writable, not a directory, each
    a different file. ``paths``: option name (``save_model``) -> path, or None when not asked for."""
    given = {f"--{name.replace('_', '-')}": path for name, path in paths.items() if path is not None}
    for flag, path in given.items():
        problem = output_problem(path)
        if problem:
            raise ConfigError(f"{flag} {str(path)!r} {problem}")
    seen: dict[Path, str] = {}
    for flag, path in given.items():
        if path.resolve() in seen:
            raise ConfigError(f"{flag} and {seen[path.resolve()]} are the same file {str(path)!r}; give two paths")
        seen[path.resolve()] = flag


def _probe_at(steps: list[int | None]) -> tuple[int, ...]:
    """``--probe-at`` values: steps, or 'none' alone for no probes."""
    if None not in steps:
        return tuple(steps)  # type: ignore[arg-type]
    if len(steps) > 1:
        raise ConfigError("--probe-at 'none' means no probes and cannot be given with steps; give one or the other")
    return ()


def cmd_train(args: argparse.Namespace) -> None:
    from rnnbench.training.train import train

    cfg = _config(
        args,
        steps=args.steps,
        clip=args.clip,
        clip_mode=args.clip_mode,
        lr=args.lr,
        optimizer=args.optimizer,
        momentum=args.momentum,
        orthogonal_lr=args.orthogonal_lr,
        eval_every=args.eval_every,
        eval_batch=args.eval_batch,
        probe_at=_probe_at(args.probe_at),
        probe_dtype=args.probe_dtype,
    )
    if args.checkpoint_every < 0:
        raise ConfigError(f"--checkpoint-every must be >= 0, got {args.checkpoint_every}")
    if args.save_model and cell_spec(cfg.cell).fused is None:
        raise ConfigError(
            f"--save-model writes torch.nn weights, and torch.nn has no {cfg.cell!r} cell; leave --save-model out"
        )
    if args.save_model and notes_gru(cfg.cell, cfg.reset_after):
        raise ConfigError(
            "--save-model writes torch.nn weights, and torch.nn has no notes' GRU (torch.nn.GRU is the reset-after "
            "GRU, another model); add --reset-after, or leave --save-model out"
        )
    _check_outputs(out=args.out, save_model=args.save_model, checkpoint=args.checkpoint)
    checkpoint = args.checkpoint or args.out.with_name(args.out.name + ".ckpt")  # --out has a file name now
    check_fits(cfg, resolve_device(cfg.device))
    result = train(
        cfg,
        progress=args.progress,
        checkpoint=checkpoint,
        checkpoint_every=args.checkpoint_every,
        save_model=args.save_model,
    )
    write_json(args.out, result)
    checkpoint.unlink(missing_ok=True)  # the result holds everything now
    print(
        f"{result['status']}: loss {result['final_loss']:.4g} (baseline {result['baseline_loss']:.4g}), "
        f"accuracy {result['accuracy']:.3f}, solved {result['solved']} -> {args.out}",
        file=sys.stderr,
    )


def cmd_gradflow(args: argparse.Namespace) -> None:
    import pandas as pd

    from rnnbench.core.precision import tf32_policy
    from rnnbench.training.probes import gradflow_at_init

    cfg = _config(args, steps=1, probe_dtype=args.probe_dtype)
    _check_outputs(out=args.out)
    check_fits(cfg, resolve_device(cfg.device))
    with tf32_policy(resolve_device(cfg.device), cfg.allow_tf32):  # as training would compute it
        records, summary = gradflow_at_init(cfg, cfg.probe_torch_dtype())
    df = pd.DataFrame.from_records(records)
    atomic_write(args.out, lambda f: df.to_csv(f, index=False))
    print(
        f"decay per step {summary['factor']:.4g} (log10 slope {summary['slope']:.4g}); "
        f"underflows {summary['underflow']} -> {args.out}",
        file=sys.stderr,
    )


def cmd_throughput(args: argparse.Namespace) -> None:
    from rnnbench.bench.throughput import expand, preset, sweep
    from rnnbench.core.checks import int_at_least

    for name in ("length", "batch", "hidden"):  # each given value named first, before what is missing
        for value in getattr(args, name) or []:
            int_at_least(f"--{name}", value, 1)
    cells = args.cell or ([c["cell"] for c in preset(args.preset)] if args.preset else [])
    if not args.reset_after and cells and "gru" not in cells:
        raise ConfigError(
            f"--no-reset-after does not apply to cell(s) {', '.join(sorted(set(cells)))}: it chooses the GRU's form; "
            "leave it out, or add --cell gru"
        )
    _check_outputs(out=args.out)
    common = {
        "backend": args.backend,
        "input": args.input,
        "layers": args.layers,
        "dtype": args.dtype,
        "device": args.device,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "flop_convention": args.flops,
        "reset_after": args.reset_after,
        "compile_max_steps": args.compile_max_steps,
        "threads": args.threads or 0,
        "allow_tf32": args.allow_tf32,
    }
    shape = {"cell": args.cell, "length": args.length, "batch": args.batch, "hidden": args.hidden}
    if args.preset:  # --cell/--length/--batch/--hidden pick cases of the preset
        picked = [c for c in preset(args.preset) if all(v is None or c[k] in v for k, v in shape.items())]
        if not picked:
            raise ConfigError(f"no case of preset {args.preset!r} matches the given --cell/--length/--batch/--hidden")
        grid = [{**c, **common} for c in picked]
    else:
        missing = [f"--{k}" for k, v in shape.items() if v is None]
        if missing:
            raise ConfigError(f"{', '.join(missing)} required (or give --preset)")
        grid = {**shape, **common}
    expand(grid)  # every case checked before any timing
    df = sweep(grid, progress=_throughput_progress)
    atomic_write(args.out, lambda f: df.to_csv(f, index=False))
    print(f"{len(df)} case(s), {int((df['status'] == 'ok').sum())} ok -> {args.out}", file=sys.stderr)


def _throughput_progress(row) -> None:
    c = row.config
    what = f"{c.cell} {c.backend} T={c.length} B={c.batch} H={c.hidden}"
    if row.status != "ok":
        print(f"{what}: {row.status}: {row.reason}", file=sys.stderr)
        return
    if row.gflops != row.gflops:  # NaN: a user cell, FLOPs unknown
        print(
            f"{what}: fwd+bwd {row.fwd_bwd_s * 1e3:.2f} ms, {row.tokens_per_s:.0f} tokens/s (FLOPs unknown)",
            file=sys.stderr,
        )
        return
    print(
        f"{what}: fwd+bwd {row.fwd_bwd_s * 1e3:.2f} ms (±{row.fwd_bwd_iqr:.0%} IQR), {row.tokens_per_s:.0f} tokens/s, "
        f"{row.gflops:.1f} GFLOP/s = {row.fraction_of_ceiling:.0%} of {row.ceiling_gflops:.0f}",
        file=sys.stderr,
    )


def cmd_aggregate(args: argparse.Namespace) -> None:
    from rnnbench.study.pipeline.results import ResultError
    from rnnbench.study.tables.aggregate import TABLE_NAMES, write_tables

    if not args.runs_dir.is_dir():
        raise ConfigError(f"RUNS_DIR {str(args.runs_dir)!r} is not a directory; give the folder of run JSONs")
    paths = sorted(str(p) for p in args.runs_dir.rglob("*.json"))
    if not paths:
        raise ConfigError(f"RUNS_DIR {str(args.runs_dir)!r} holds no *.json result; give the folder of run JSONs")
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {str(args.out)!r} is a file; give a directory for the tables")
    outputs = {name: str(args.out / f"{name}.csv") for name in TABLE_NAMES}
    try:
        tables = write_tables(paths, outputs, skip_bad=args.skip_bad, root=args.runs_dir)
    except ResultError as e:
        # strict mode: nothing has been written yet (every file is checked first)
        raise ConfigError(f"{e} (or pass --skip-bad to leave bad files out)") from None
    for row in tables["skipped"].itertuples():
        print(f"skipped {row.path}: {row.reason}", file=sys.stderr)
    print(
        f"{len(tables['runs'])} run(s), {len(tables['skipped'])} skipped -> {args.out}/{{{','.join(TABLE_NAMES)}}}.csv",
        file=sys.stderr,
    )


def cmd_compare(args: argparse.Namespace) -> None:
    """``rnnbench compare``: every input is read and checked before anything is written. The tables are
    matched in rnnbench.bench.compare; the table and figure are written by rnnbench.study.figures.throughput."""
    from rnnbench.bench.compare import CompareError, compare
    from rnnbench.study.figures.throughput import write_comparison

    if args.out.exists() and not args.out.is_dir():
        raise CompareError(f"--out {str(args.out)!r} is a file; give a directory")
    cmp = compare(args.tables)
    for note in cmp.notes:
        print(note, file=sys.stderr)
    files = write_comparison(cmp, args.out)
    cases = len(cmp.table) // len(cmp.machines)
    print(f"{len(cmp.machines)} machines, {cases} case(s) in common -> {', '.join(map(str, files))}", file=sys.stderr)
    for name in cmp.machines:
        print(f"  {name}", file=sys.stderr)


COMMANDS = {"train": cmd_train, "gradflow": cmd_gradflow, "throughput": cmd_throughput, "aggregate": cmd_aggregate}
COMMANDS["compare"] = cmd_compare  # its own statement: the line above stays as other changes left it


def cmd_check(args: argparse.Namespace) -> None:
    from rnnbench import check

    results = check.run_checks(args.cell)  # a bad name: ConfigError, exit 2, before any property
    print(f"rnnbench check {args.cell} ({cell_spec(args.cell).path or 'built-in'})")
    print(check.table(results))
    failed = [r.name for r in results if r.failed]
    if failed:
        print(f"rnnbench check: {args.cell} fails {len(failed)} propert{'y' if len(failed) == 1 else 'ies'}: "
              f"{', '.join(failed)}", file=sys.stderr)  # fmt: skip
        sys.exit(1)


COMMANDS["check"] = cmd_check


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "threads", None) is not None:  # >= 1: checked by its type
        torch.set_num_threads(args.threads)
    try:
        COMMANDS[args.command](args)
    except ConfigError as e:
        parser.exit(2, f"rnnbench {args.command}: error: {e}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
