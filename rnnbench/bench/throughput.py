"""Training throughput of recurrent layers on CPU or GPU, against the machine's matmul rate.

As PyTorch's benchmarks/fastrnns and Baidu DeepBench do: warm-up runs, then repeats; inference
forward (no grad), training forward and backward timed separately; medians and spread;
``gc.collect()`` before timing and the collector off while timing; device synchronisation (CUDA
events) on GPU. Each case gives one ``ThroughputRow``; a backend that cannot run a case gives a
row with ``status`` and ``reason`` instead of raising, so a sweep always finishes.

``ceiling_gflops`` is the best matmul rate measured in the same run, through the GEMMs the backends
use (torch.mm and, on CPU float32, oneDNN), at the layer's two GEMM shapes: the recurrent step's
(B, H) @ (H, G·H) (``ceiling_step_gflops``) and the input projection of all steps at once,
(T·B, I) @ (I, G·H) (rows capped at 4096, where the rate has levelled off). A layer cannot run its
GEMMs faster than the better of the two, so achieved GFLOP/s stays below it; the step shape alone
is not a bound, since fused kernels do half their FLOPs in the big input GEMM. The case runs under the
one TF32 policy (``rnnbench.core.precision``: true fp32 unless ``allow_tf32`` on CUDA) and its ceiling
is measured in the same math mode (``math_mode``, ``ceiling_math_mode``): before this, cuDNN ran TF32
by torch's default against a strict-fp32 torch.mm ceiling, and fractions read up to 4.2 on an H200.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import os
import resource
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import torch
from torch import Tensor, nn

from rnnbench.bench import flops
from rnnbench.core import bptt
from rnnbench.core.backends import BACKENDS, Unsupported
from rnnbench.core.cells import cell_spec
from rnnbench.core.checks import DTYPES, ConfigError, int_at_least, one_of, resolve_device
from rnnbench.core.onednn import uses_onednn
from rnnbench.core.precision import math_mode, math_mode_scope
from rnnbench.core.provenance import cpu_model, git_commit


# --- configuration ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ThroughputConfig:
    """One throughput case. ``input=0`` means input size = hidden size (fastrnns, DeepBench)."""

    cell: str = "lstm"
    backend: str = "fused"
    length: int = 100
    batch: int = 64
    hidden: int = 128
    input: int = 0
    layers: int = 1
    dtype: str = "float32"
    device: str = "cpu"
    reset_after: bool = True  # GRU: torch.nn.GRU's form (the only one nn.GRU/cuDNN run)
    repeats: int = 10
    warmup: int = 3
    flop_convention: str = "total"  # total: input GEMM included; recurrent: DeepBench's count
    compile_max_steps: int = 32  # compiled backend: torch.compile unrolls the T·layers steps
    threads: int = 0  # torch CPU threads while this case runs; 0 = leave torch's setting
    allow_tf32: bool = False  # CUDA: float32 products in TF32 (rnnbench.core.precision); ceiling in the same mode

    def __post_init__(self) -> None:
        cell_spec(self.cell)  # a built-in name, a module:Class path or an entry point; checked before any timing
        one_of("backend", self.backend, BACKENDS)
        one_of("dtype", self.dtype, DTYPES)
        one_of("device", self.device, ("cpu", "cuda", "auto"))
        one_of("flop_convention", self.flop_convention, flops.CONVENTIONS)
        for name in ("length", "batch", "hidden", "layers", "repeats", "compile_max_steps"):
            int_at_least(name, getattr(self, name), 1)
        int_at_least("input", self.input, 0)
        int_at_least("threads", self.threads, 0)
        int_at_least("warmup", self.warmup, 0)
        for name in ("reset_after", "allow_tf32"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")

    @property
    def input_size(self) -> int:
        return self.input or self.hidden


# --- backends: every backend of the registry (rnnbench.core.backends), ``compiled`` included ----------
def build(cfg: ThroughputConfig) -> nn.Module:
    """The case's one-directional recurrent stack, built by its backend's registry entry; raises
    ``Unsupported`` (the row says why) for a form the backend cannot compute, or a compiled case
    too long to unroll."""
    backend = BACKENDS[cfg.backend]
    steps = cfg.length * cfg.layers
    if backend.unrolls and steps > cfg.compile_max_steps:
        raise Unsupported(
            f"torch.compile unrolls the Python time loop: {steps} steps (T·layers) > compile_max_steps "
            f"{cfg.compile_max_steps}; minutes of compile time"
        )
    return backend.build(cfg.cell, cfg.input_size, cfg.hidden, cfg.layers, False, cfg.reset_after)


# --- presets -------------------------------------------------------------------------------------
def _deepbench_training() -> list[dict]:
    """Baidu DeepBench's RNN training set (code/kernels/rnn_problems.h): (hidden, batch, T, cell), input = hidden."""
    shapes = [(h, b, 50, "rnn") for h in (1760, 2048, 2560) for b in (16, 32, 64, 128)]
    shapes += [(h, b, 25, "lstm") for h in (512, 1024, 2048, 4096) for b in (16, 32, 64, 128)]
    shapes += [(1536, b, 50, "lstm") for b in (8, 16, 32)] + [(256, b, 150, "lstm") for b in (16, 32, 64)]
    shapes += [(2816, 32, t, "gru") for t in (750, 375, 187)]
    shapes += [(h, 32, t, "gru") for h in (2048, 1536, 2560) for t in (1500, 750, 375, 187)]
    shapes += [(512, 32, 1, "gru"), (1024, 32, 1500, "gru"), (1024, 64, 1500, "gru")]
    return [{"cell": c, "hidden": h, "batch": b, "length": t} for h, b, t, c in shapes]


PRESETS: dict[str, Callable[[], list[dict]]] = {
    "deepbench": _deepbench_training,
    "default": lambda: [
        {"cell": c, "length": t, "batch": 64, "hidden": 128} for c in ("rnn", "lstm", "gru") for t in (25, 50, 100, 200)
    ],
}


# --- rows ----------------------------------------------------------------------------------------
@dataclass
class ThroughputRow:
    """One case's result: its config, the medians and spread, the roofline and the machine."""

    config: ThroughputConfig
    status: str = "ok"  # ok | unsupported | error
    reason: str = ""
    kernel: str = ""
    fwd_s: float = float("nan")  # inference forward, no grad (median)
    fwd_iqr: float = float("nan")  # (q75 − q25) / median
    train_fwd_s: float = float("nan")  # forward with grad
    bwd_s: float = float("nan")
    fwd_bwd_s: float = float("nan")  # training forward + backward (median of the per-repeat sums)
    fwd_bwd_iqr: float = float("nan")
    fwd_bwd_min_s: float = float("nan")
    tokens_per_s: float = float("nan")  # B·T / fwd_bwd_s
    gflops: float = float("nan")  # training = 3 × forward FLOPs, by flop_convention
    ceiling_gflops: float = float("nan")  # best of the two below
    ceiling_step_gflops: float = float("nan")  # at the recurrent step's GEMM shape
    ceiling_input_gflops: float = float("nan")  # at the all-steps input GEMM shape
    ceiling_kernel: str = ""
    math_mode: str = ""  # fp32 | tf32: what the layer's float32 products ran in (rnnbench.core.precision)
    ceiling_math_mode: str = ""  # what the ceiling's GEMMs ran in: always math_mode, so the fraction is like for like
    fraction_of_ceiling: float = float("nan")
    peak_mem_mb: float = float("nan")
    peak_mem_kind: str = ""
    machine: dict = field(default_factory=dict)

    def to_record(self) -> dict:
        rec = {"input_size": self.config.input_size, **dataclasses.asdict(self.config)}
        rec.update({k: v for k, v in dataclasses.asdict(self).items() if k not in ("config", "machine")})
        if cell_spec(self.config.cell).user:  # a user cell's FLOPs are unknown: no rate, no ceiling at its shapes
            rec.update(dict.fromkeys(FLOP_COLUMNS, UNKNOWN))
        rec.update(self.machine)
        return rec


UNKNOWN = "unknown"
# the columns that need the cell's FLOP count (its gate count G): "unknown" for a user cell
FLOP_COLUMNS = (
    "gflops", "ceiling_gflops", "ceiling_step_gflops", "ceiling_input_gflops", "ceiling_kernel", "fraction_of_ceiling",
)  # fmt: skip


# --- measurement ---------------------------------------------------------------------------------
class Timer:
    """Wall time of one call: CUDA events on GPU, perf_counter on CPU."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def __call__(self, fn: Callable[[], object]) -> float:
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1e3
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0


def _median_iqr(xs: list[float]) -> tuple[float, float]:
    med = statistics.median(xs)
    if len(xs) < 4:
        return med, (max(xs) - min(xs)) / med if med > 0 else float("nan")
    q = statistics.quantiles(xs, n=4)
    return med, (q[2] - q[0]) / med if med > 0 else float("nan")


class CpuLoad:
    """How busy the machine was while a case ran: the 1-minute load average, and the fraction of
    all CPUs' time spent by other processes (from /proc/stat minus this process's CPU time)."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        try:
            fields = [float(v) for v in open("/proc/stat").readline().split()[1:]]
            busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0.0)  # all but idle, iowait
            busy /= os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            busy = float("nan")
        t = os.times()
        return time.monotonic(), busy, t.user + t.system

    def stop(self) -> dict:
        t1, busy1, own1 = self._sample()
        t0, busy0, own0 = self.start
        cpus = os.cpu_count() or 1
        other = ((busy1 - busy0) - (own1 - own0)) / (cpus * max(t1 - t0, 1e-9))
        other = min(max(other, 0.0), 1.0) if other == other else float("nan")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        return {"loadavg_1m": load, "other_cpu_frac": other, "busy": bool(other > 0.1 or load > cpus)}


@lru_cache(maxsize=64)
def gemm_ceiling(
    m: int, k: int, n: int, device: str, dtype: str, threads: int, mode: str = "fp32", repeats: int = 7
) -> tuple[float, str]:
    """Best matmul rate (GFLOP/s) at (m, k) @ (k, n) over the GEMMs our backends use, with
    ``threads`` torch threads (the current setting; part of the cache key), in math ``mode`` (fp32 or
    tf32: the layer's own, so that a TF32 kernel is not held to an fp32 ceiling); cached per run."""
    with math_mode_scope(mode):
        return _best_gemm(m, k, n, device, dtype, repeats)


def _best_gemm(m: int, k: int, n: int, device: str, dtype: str, repeats: int) -> tuple[float, str]:
    dev, dt = torch.device(device), DTYPES[dtype]
    a = torch.randn(m, k, device=dev, dtype=dt)
    w = torch.randn(n, k, device=dev, dtype=dt)  # (n, k): x @ wᵀ as the layers compute it
    kernels = {"torch.mm": lambda: torch.mm(a, w.t())}
    if uses_onednn(device, dtype):
        kernels["oneDNN"] = lambda: bptt.linear(a, w)
    timer, flop = Timer(dev), 2 * m * k * n
    inner = max(1, min(200, int(2e8 // flop)))  # enough calls per sample to time well
    best = (0.0, "")
    for name, fn in kernels.items():
        for _ in range(3):
            fn()
        t = statistics.median(timer(lambda: [fn() for _ in range(inner)]) for _ in range(repeats)) / inner
        best = max(best, (flop / t / 1e9, name))
    return best


@lru_cache(maxsize=4)
def machine(device: str) -> dict:
    """Hardware and library versions for every row."""
    cfg = torch.__config__.show()

    def after(marker: str) -> str:
        line = next((ln for ln in cfg.splitlines() if marker in ln), "")
        return line.split(marker, 1)[1].strip().split(" (")[0] if line else ""

    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "mkl": after("Math Kernel Library Version").split("-")[0] or str(torch.backends.mkl.is_available()),
        "onednn": after("MKL-DNN ") if torch.backends.mkldnn.is_available() else "",
        "cuda": torch.version.cuda or "",
        "cudnn": str(torch.backends.cudnn.version() or "") if device == "cuda" else "",
        "gpu": torch.cuda.get_device_name(0) if device == "cuda" else "",
        "git_commit": git_commit(),
    }


def _peak_memory(device: torch.device) -> tuple[float, str]:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda_max_allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "cpu_peak_rss_process"


def _timed(fn: Callable[[], object], timer: Timer, warmup: int, repeats: int) -> list[float]:
    for _ in range(warmup):
        fn()
    gc.collect()
    gc.disable()
    try:
        return [timer(fn) for _ in range(repeats)]
    finally:
        gc.enable()


def measure(cfg: ThroughputConfig) -> ThroughputRow:
    """Time one case; never raises for a backend that cannot run it (the row says why)."""
    device = torch.device(resolve_device(cfg.device))
    kernel = BACKENDS[cfg.backend].kernel(cfg.cell, device.type, cfg.dtype)
    row = ThroughputRow(cfg, kernel=kernel, machine=dict(machine(device.type)))
    threads_before = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    row.machine["torch_threads"] = torch.get_num_threads()
    row.math_mode = math_mode(device.type, cfg.allow_tf32)
    load = CpuLoad()
    try:
        with math_mode_scope(row.math_mode):  # the one TF32 policy, as in training
            model = build(cfg).to(device=device, dtype=DTYPES[cfg.dtype])
            _time_model(model, cfg, device, row)
    except Unsupported as e:
        row.status, row.reason = "unsupported", str(e)
    except Exception as e:  # noqa: BLE001 -- e.g. out of memory, a compiler failure: the row says which
        row.status, row.reason = "error", f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
    finally:
        torch.set_num_threads(threads_before)
    row.machine.update(load.stop())
    return row


def _time_model(model: nn.Module, cfg: ThroughputConfig, device: torch.device, row: ThroughputRow) -> None:
    gen = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(cfg.batch, cfg.length, cfg.input_size, generator=gen).to(device, DTYPES[cfg.dtype])  # (B, T, I)
    x.requires_grad_(True)
    grad = torch.randn(cfg.batch, cfg.length, cfg.hidden, generator=gen).to(device, DTYPES[cfg.dtype])  # ∂L/∂out
    timer = Timer(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def infer() -> None:
        with torch.no_grad():
            model(x)

    with torch.no_grad():
        fwd = _timed(infer, timer, cfg.warmup, cfg.repeats)
    out: list[Tensor] = []

    def train_fwd() -> None:
        out.append(model(x)[0])  # the output (B, T, H); h_n is not timed apart

    def train_bwd() -> None:
        out.pop().backward(grad)

    for _ in range(cfg.warmup):
        train_fwd()
        train_bwd()
    gc.collect()
    tf, tb = [], []
    gc.disable()
    try:
        for _ in range(cfg.repeats):
            model.zero_grad(set_to_none=True)
            x.grad = None
            tf.append(timer(train_fwd))
            tb.append(timer(train_bwd))
    finally:
        gc.enable()
    both = [a + b for a, b in zip(tf, tb, strict=True)]
    row.fwd_s, row.fwd_iqr = _median_iqr(fwd)
    row.train_fwd_s, row.bwd_s = statistics.median(tf), statistics.median(tb)
    row.fwd_bwd_s, row.fwd_bwd_iqr = _median_iqr(both)
    row.fwd_bwd_min_s = min(both)
    row.tokens_per_s = cfg.batch * cfg.length / row.fwd_bwd_s
    row.peak_mem_mb, row.peak_mem_kind = _peak_memory(device)
    work = flops.training_flops(
        cfg.cell, cfg.input_size, cfg.hidden, cfg.batch, cfg.length, cfg.layers, convention=cfg.flop_convention
    )
    if work is None:  # a user cell: FLOPs unknown (``ThroughputRow.to_record`` says so)
        return
    row.gflops = work / row.fwd_bwd_s / 1e9
    GH = flops.gates(cfg.cell) * cfg.hidden
    threads = torch.get_num_threads()
    mode = row.ceiling_math_mode = row.math_mode
    step = gemm_ceiling(cfg.batch, cfg.hidden, GH, device.type, cfg.dtype, threads, mode)
    whole = gemm_ceiling(min(cfg.batch * cfg.length, 4096), cfg.input_size, GH, device.type, cfg.dtype, threads, mode)
    row.ceiling_step_gflops, row.ceiling_input_gflops = step[0], whole[0]
    row.ceiling_gflops, row.ceiling_kernel = max(step, whole)
    row.fraction_of_ceiling = row.gflops / row.ceiling_gflops


# --- grids and sweeps ----------------------------------------------------------------------------
def expand(grid: Mapping[str, object] | Iterable[Mapping[str, object]]) -> list[ThroughputConfig]:
    """Configs of a grid: a mapping of keys to a value or a list of values (their product), or a
    list of such mappings. A ``preset`` key stands for that preset's cases, each combined with the
    other keys. Unknown keys and bad values raise ``ConfigError`` before any timing."""
    if isinstance(grid, Mapping):
        grid = [grid]
    parts = []
    for part in grid:
        part = dict(part)
        name = part.pop("preset", None)
        parts += [part] if name is None else preset(name, **part)
    names = {f.name for f in dataclasses.fields(ThroughputConfig)}
    configs = []
    for part in parts:
        unknown = sorted(set(part) - names)
        if unknown:
            raise ConfigError(
                f"unknown throughput key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(sorted(names))}"
            )
        keys = list(part)
        values = [v if isinstance(v, (list, tuple)) else [v] for v in part.values()]
        for combo in itertools.product(*values):
            configs.append(ThroughputConfig(**dict(zip(keys, combo, strict=True))))
    for cfg in configs:
        resolve_device(cfg.device)
    return configs


def preset(name: str, **overrides) -> list[dict]:
    """A preset's cases with ``overrides`` (a value or a list of values per key) applied to each."""
    one_of("preset", name, PRESETS)
    return [{**case, **overrides} for case in PRESETS[name]()]


def write_sweep(grid, out) -> None:
    """``sweep`` and write its table to the CSV ``out`` atomically (the pipeline's entry point)."""
    from rnnbench.core.storage import atomic_write

    df = sweep(grid)
    atomic_write(out, lambda f: df.to_csv(f, index=False))


def sweep(grid, progress: Callable[[ThroughputRow], None] | None = None):
    """Measure every case of ``grid`` (see ``expand``); returns a pandas DataFrame, one row per case."""
    import pandas as pd

    rows = []
    for cfg in expand(grid):
        row = measure(cfg)
        if progress is not None:
            progress(row)
        rows.append(row.to_record())
    return pd.DataFrame.from_records(rows)


# --- summaries for the report --------------------------------------------------------------------
def fastest(df):
    """Per (device, cell, shape): the fastest backend by fwd_bwd_s and every backend's ratio to it.

    Returns a DataFrame with columns device, cell, length, batch, hidden, backend, kernel,
    fwd_bwd_s, ratio_to_fastest, fastest (bool); unsupported/error rows are left out."""
    ok = df[df["status"] == "ok"].copy()
    keys = ["device", "cell", "length", "batch", "hidden"]
    ok["ratio_to_fastest"] = ok["fwd_bwd_s"] / ok.groupby(keys)["fwd_bwd_s"].transform("min")
    ok["fastest"] = ok["ratio_to_fastest"] == 1.0
    cols = [*keys, "backend", "kernel", "fwd_bwd_s", "ratio_to_fastest", "fastest"]
    return ok[cols].sort_values([*keys, "ratio_to_fastest"]).reset_index(drop=True)
