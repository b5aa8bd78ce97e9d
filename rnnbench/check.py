"""A conformance suite for one recurrent cell: ``rnnbench check CELL``, and the same properties as plain
functions a cell's author can import and call from their own tests::

    from rnnbench.check import causality
    result = causality("mypkg.cells:MyCell")  # or the class itself
    assert result.passed, result.value

Each property takes a cell (a name that ``cells.cell_spec`` resolves, or a ``torch.nn.Module`` class in
torch.nn's cell convention) and returns a ``Result``: ``passed`` True or False, or None for a property that
is measured and reported, not judged (the gradient's per-step factor, the speed). A property whose cell
raises fails with the exception as its value. Every forward runs with torch's generator seeded (and
restored after), so a cell that draws random numbers still gives comparable runs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnbench.core.cells import CellSpec, cell_spec

CellLike = str | type[nn.Module]
INPUT, HIDDEN, BATCH = 3, 8, 4  # the small cell every judged property builds
LONG = 1000  # the length at which states and gradients must stay finite at initialisation
PROBE = {"task": "adding", "length": 100, "hidden": 32, "batch": 32}  # the study's probe's setting (reported)
SPEED = {"length": 100, "batch": 32, "hidden": 64}  # (T, B, H) of the forward + backward timing (reported)
SPEED_NAMES = {"length": "T", "batch": "B", "hidden": "H"}


@dataclass(frozen=True)
class Result:
    """One property of one cell: passed (True, False; None: reported, not judged) and what was measured."""

    name: str
    passed: bool | None
    value: str

    @property
    def failed(self) -> bool:
        return self.passed is False


CHECKS: dict[str, Callable[[CellLike], Result]] = {}  # name -> property, in the table's order


def prop(name: str):
    """Register a property under ``name``; an exception its cell raises is a failure, not a crash."""

    def register(fn: Callable[[CellSpec], tuple[bool | None, str]]) -> Callable[[CellLike], Result]:
        def check(cell: CellLike) -> Result:
            spec = cell_spec(cell)  # a bad name or a broken contract is refused here, before any property
            try:
                passed, value = fn(spec)
            except Exception as e:  # noqa: BLE001 -- the cell's own error is the property's finding
                return Result(name, False, f"raised {type(e).__name__}: {str(e).splitlines()[0][:200]}")
            return Result(name, passed, value)

        check.__name__, check.__doc__ = fn.__name__, fn.__doc__
        CHECKS[name] = check
        return check

    return register


# --- running a cell ------------------------------------------------------------------------------------
def build(spec: CellSpec, seed: int = 0, input_size: int = INPUT, hidden: int = HIDDEN) -> nn.Module:
    """``spec``'s cell built with torch's generator seeded by ``seed`` (its own initialisation), in float32."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return spec.cls(input_size, hidden).to(torch.float32)


def unroll(cell: nn.Module, x: Tensor, seed: int = 0) -> list[tuple[Tensor, ...]]:
    """Every step's state (as a tuple of tensors) of ``cell`` over ``x`` (T, B, I), from no state."""
    states, state = [], None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for x_t in x.unbind(0):  # (B, I)
            state = cell(x_t, state)
            states.append(state if isinstance(state, tuple) else (state,))
    return states


def inputs(T: int, B: int = BATCH, I: int = INPUT, seed: int = 1, dtype: torch.dtype = torch.float32) -> Tensor:
    """A (T, B, I) standard-normal input drawn from ``seed``."""
    return torch.randn(T, B, I, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def real(t: Tensor) -> Tensor:
    """A complex state (the LRU's x) as its real and imaginary parts; a real one unchanged."""
    return torch.view_as_real(t) if t.is_complex() else t


def largest_change(a: list[tuple[Tensor, ...]], b: list[tuple[Tensor, ...]], pick=lambda t: t) -> float:
    """max |a − b| over the steps and state tensors given (``pick`` selects part of each tensor)."""
    diffs = [(real(pick(s)) - real(pick(t))).abs().max().item() for sa, sb in zip(a, b, strict=True)
             for s, t in zip(sa, sb, strict=True)]  # fmt: skip
    return max(diffs, default=0.0)


# --- the properties ----------------------------------------------------------------------------------------
@prop("gradcheck")
def gradcheck(spec: CellSpec) -> tuple[bool, str]:
    """float64 ``torch.autograd.gradcheck`` of every state of a 3-step sequence against the input and
    every parameter: the cell's backward is its forward's derivative."""
    cell = build(spec, hidden=4).double()
    x = inputs(3, B=2, dtype=torch.float64).requires_grad_(True)
    params = [p for p in cell.parameters() if p.requires_grad]

    def states(x: Tensor, *_params: Tensor) -> tuple[Tensor, ...]:  # gradcheck perturbs the parameters in place
        return tuple(real(t) for state in unroll(cell, x) for t in state)

    try:
        torch.autograd.gradcheck(states, (x, *params), eps=1e-6, atol=1e-5, rtol=1e-3)
    except torch.autograd.gradcheck.GradcheckError as e:
        return False, str(e).splitlines()[0][:200]
    return True, f"T=3, B=2, float64; input and {len(params)} parameter tensor(s)"


@prop("causality")
def causality(spec: CellSpec) -> tuple[bool, str]:
    """Changing x_{t+1} leaves h_1..h_t (every state tensor) unchanged, bit for bit, for every t."""
    cell, x, T = build(spec), inputs(6), 6
    base = unroll(cell, x)
    worst, where = 0.0, ""
    for t in range(T - 1):
        changed = x.clone()
        changed[t + 1] += inputs(1, seed=2 + t)[0]
        change = largest_change(base[: t + 1], unroll(cell, changed)[: t + 1])
        if change > worst:
            worst, where = change, f"changing x_{t + 2} moved a state of steps 1..{t + 1}"
    if worst:
        return False, f"{where}: max |Δ| = {worst:.3g}"
    return True, f"max |Δ h_1..h_t| = 0 over the {T - 1} changes of x_(t+1), T={T}"


@prop("batch independence")
def batch_independence(spec: CellSpec) -> tuple[bool, str]:
    """Changing sample 0's inputs leaves every other sample's states unchanged, bit for bit."""
    cell, x = build(spec), inputs(4)
    changed = x.clone()
    changed[:, 0] += inputs(4, B=1, seed=3)[:, 0]
    worst = largest_change(unroll(cell, x), unroll(cell, changed), pick=lambda t: t[1:])
    if worst:
        return False, f"changing sample 0 moved samples 1..{BATCH - 1}: max |Δ| = {worst:.3g}"
    return True, f"max |Δ| of samples 1..{BATCH - 1} = 0 (B={BATCH}, T=4)"


def _forward_backward(spec: CellSpec) -> list[Tensor]:
    """One CPU run from seed 0: construction, every step's state, and the gradients of a fixed projection."""
    cell = build(spec)
    x = inputs(5).requires_grad_(True)
    states = unroll(cell, x)
    loss = sum((real(t) * torch.linspace(-1, 1, real(t).numel()).view_as(real(t))).sum() for s in states for t in s)
    params = [p for p in cell.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, [x, *params], allow_unused=True)
    return [real(t).detach() for s in states for t in s] + [g for g in grads if g is not None]


@prop("determinism")
def determinism(spec: CellSpec) -> tuple[bool, str]:
    """Two CPU runs from one seed (construction, forward, backward) are bit-identical."""
    first, second = _forward_backward(spec), _forward_backward(spec)
    differ = sum(not torch.equal(a, b) for a, b in zip(first, second, strict=True))
    if differ:
        return False, f"{differ} of {len(first)} state and gradient tensors differ between two runs from seed 0"
    return True, f"{len(first)} state and gradient tensors bit-identical over two runs"


@prop("state_dict round trip")
def state_dict_round_trip(spec: CellSpec) -> tuple[bool, str]:
    """A cell built from another seed, given this cell's ``state_dict``, computes the same states."""
    ours, other, x = build(spec, seed=0), build(spec, seed=1), inputs(4)
    other.load_state_dict(ours.state_dict())
    worst = largest_change(unroll(ours, x), unroll(other, x))
    n = len(ours.state_dict())
    if worst:
        return False, f"the loaded copy's states differ: max |Δ| = {worst:.3g} ({n} tensors loaded)"
    return True, f"{n} tensor(s) loaded; states identical"


@prop(".to(float64)")
def to_float64(spec: CellSpec) -> tuple[bool, str]:
    """After ``.to(torch.float64)`` every state is float64 (complex128) and agrees with float32 to its precision."""
    cell, x = build(spec), inputs(4)
    wide = copy.deepcopy(cell).to(torch.float64)
    states64 = unroll(wide, x.double())
    wrong = sorted({str(t.dtype) for s in states64 for t in s} - {"torch.float64", "torch.complex128"})
    if wrong:
        return False, f"states in {', '.join(wrong)} after .to(torch.float64)"
    states32 = unroll(cell, x)
    scale = max(real(t).abs().max().item() for s in states64 for t in s)
    widen = lambda t: t.to(torch.complex128 if t.is_complex() else torch.float64)  # noqa: E731
    worst = largest_change([tuple(map(widen, s)) for s in states32], states64)
    if worst > 1e-4 * (1 + scale):
        return False, f"float64 and float32 states differ by {worst:.3g} (largest |state| {scale:.3g})"
    return True, f"float64 states; max |h64 − h32| = {worst:.1e}"


@prop(f"finite at T={LONG}")
def finite_at_length(spec: CellSpec) -> tuple[bool, str]:
    """At initialisation, every state of a T = 1000 sequence and every gradient of the last state are finite."""
    cell = build(spec)
    x = inputs(LONG).requires_grad_(True)
    states = unroll(cell, x)
    bad = [t for t, s in enumerate(states, 1) if not all(torch.isfinite(real(v)).all() for v in s)]
    if bad:
        return False, f"states not finite from step {bad[0]} of {LONG}"
    params = [p for p in cell.parameters() if p.requires_grad]
    grads = torch.autograd.grad(real(states[-1][0]).sum(), [x, *params], allow_unused=True)
    finite = [g is None or bool(torch.isfinite(g).all()) for g in grads]
    if not all(finite):
        return False, f"{finite.count(False)} gradient tensor(s) of h_{LONG} not finite"
    last = real(states[-1][0]).abs().max().item()
    return True, f"states and ∂h_{LONG}/∂(x, parameters) finite; max |h_{LONG}| = {last:.3g}"


@prop("gradient factor per step")
def gradient_factor(spec: CellSpec) -> tuple[None, str]:
    """The study's probe at initialisation (``rnnbench gradflow``): the per-step factor of ‖∂L/∂h_t‖ on the
    adding problem (T = 100, H = 32, B = 32, float64), and of the second state tensor where there is one."""
    from rnnbench.training.config import RunConfig
    from rnnbench.training.probes import decay_rate, gradflow_at_init

    rows, summary = gradflow_at_init(RunConfig(cell=spec.name, **PROBE), torch.float64)
    parts = [f"h ×{summary['factor']:.4g}" if math.isfinite(summary["factor"]) else "h: no fit"]
    if "c_grad_norm" in rows[0]:
        fit = decay_rate([r["distance"] for r in rows], [r["c_grad_norm"] for r in rows])
        parts.append(f"second state ×{fit['factor']:.4g}" if math.isfinite(fit["factor"]) else "second state: no fit")
    return None, "; ".join(parts) + " per step (adding, T=100, H=32, float64)"


@prop("speed vs torch.nn.GRU")
def speed(spec: CellSpec) -> tuple[None, str]:
    """Forward + backward time of the cell's layer (its forward, step by step) against torch.nn.GRU's
    layer at the same (T, B, H), on the CPU with one thread: the benchmark's own timing (``rnnbench throughput``)."""
    from rnnbench.bench.throughput import ThroughputConfig, measure

    rows = [
        measure(ThroughputConfig(cell=cell, backend=backend, reset_after=True, repeats=5, warmup=2, threads=1, **SPEED))
        for cell, backend in ((spec.name, "explicit"), ("gru", "fused"))
    ]
    for row in rows:
        if row.status != "ok":
            raise RuntimeError(f"{row.config.cell} {row.status}: {row.reason}")
    ours, gru = (row.fwd_bwd_s * 1e3 for row in rows)
    shape = ", ".join(f"{SPEED_NAMES[k]}={v}" for k, v in SPEED.items())
    return None, f"{ours:.2f} ms vs torch.nn.GRU {gru:.2f} ms ({ours / gru:.1f}×) at {shape}, 1 thread"


# --- the suite ----------------------------------------------------------------------------------------------
def run_checks(cell: CellLike, names: list[str] | None = None) -> list[Result]:
    """Every property (or those ``names``) of ``cell``, in ``CHECKS``' order; the name is resolved first."""
    cell_spec(cell)
    return [check(cell) for name, check in CHECKS.items() if names is None or name in names]


def table(results: list[Result]) -> str:
    """The results as an aligned text table: property, result (pass, FAIL, reported), measured value."""
    verdict = {True: "pass", False: "FAIL", None: "reported"}
    rows = [("property", "result", "value")] + [(r.name, verdict[r.passed], r.value) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in rows]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])
