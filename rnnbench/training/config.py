"""One training run's configuration: a typed, checked dataclass.

Every check runs before any work starts and raises ``ConfigError`` with a message that names
the bad value and what is allowed. The CLI and the pipeline both build runs through here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from rnnbench.core.backends import TRAINING_BACKENDS, Unsupported, check_trains
from rnnbench.core.cells import (
    NONLINEARITIES,
    ORTHOGONAL_MAPS,
    SPECS,
    cell_options,
    cell_spec,
    their_options,
)
from rnnbench.core.checks import DEVICES, DTYPES, ConfigError, int_at_least, one_of, positive_number
from rnnbench.core.checks import resolve_device as resolve_device  # the training layer's, re-exported
from rnnbench.core.initialisation import INITS, check_applies
from rnnbench.core.tasks import TASKS
from rnnbench.training.autobackend import AUTO
from rnnbench.training.clipping import CLIPPERS
from rnnbench.training.dataset import CYCLED, THEIR_SHUFFLE, TRAIN_ORDERS
from rnnbench.training.optimizers import OPTIMIZERS

PROBE_DTYPES = ("same", "float64")
# every backend, and auto: the fastest one that trains the same model, chosen per run (rnnbench.training.autobackend)
BACKEND_CHOICES = (*TRAINING_BACKENDS, AUTO)
# fields added after results were first published, with their defaults: ``to_dict`` (and so the
# config hash, the run JSON and the pipeline's job params) leaves them out while they are at their
# default, so that every run made before they existed keeps its hash and is not trained again
LATER_FIELDS: dict[str, Any] = {
    "chrono_tmax": None,
    "nonlinearity": "tanh",
    "orthogonal_map": "matrix_exp",
    "orthogonal_lr": None,
    "allow_tf32": False,
    "peephole": False,
    "learn_initial_state": False,
    "train_set": 0,
    "train_order": CYCLED,
}
# expRNN's learning rate of the orthogonal parameters, as a fraction of the others' (1_copying.py: 2e-5 / 2e-4)
ORTHOGONAL_LR_RATIO = 0.1


@dataclass(frozen=True)
class OnlyFor:
    """A field that means something for one choice of another field only (the LSTM's forget bias):
    set to anything but ``off`` elsewhere it would change nothing but the config hash."""

    owner: str  # the field it depends on
    value: str  # the one value of ``owner`` it applies to
    off: Any  # its value when unused
    what: str  # what it does, for the message


ONLY_FOR = {
    # the cells' own options (the LSTM's forget_bias, the GRU's reset_after), from their records
    **{name: OnlyFor("cell", s.name, o.off, o.what) for s in SPECS.values() for name, o in s.options.items()},
    "momentum": OnlyFor("optimizer", "sgd", 0, "is SGD's momentum"),
}


def not_applicable(values: dict[str, Any]) -> list[str]:
    """Fields of ``values`` (a RunConfig's) that are set but do not apply to its cell or optimizer."""
    defaults = {f.name: f.default for f in dataclasses.fields(RunConfig)}
    return [
        name
        for name, rule in ONLY_FOR.items()
        if values.get(name, rule.off) != rule.off and values.get(rule.owner, defaults[rule.owner]) != rule.value
    ]


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run. Defaults are a small, quick adding run."""

    task: str = "adding"
    cell: str = "lstm"  # a built-in name, a module:Class path or an entry point of rnnbench.cells (cell_spec)
    length: int = 50  # T: adding sequence length, or copy delay (the copy input has T+20 steps)
    seed: int = 0
    steps: int = 500
    clip: float | None = None  # threshold; None = no clipping
    clip_mode: str = "norm"  # norm: Pascanu's Algorithm 1; value: elementwise (Arjovsky's code)
    hidden: int = 64
    batch: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.0  # SGD only
    layers: int = 1
    bidirectional: bool = False
    init: str = "default"
    init_gain: float = 1.0
    forget_bias: float | None = None  # LSTM only (other cells ignore it); None keeps the init's own
    chrono_tmax: int | None = None  # init chrono only: T_max of log U[1, T_max−1]; None = steps the network sees
    reset_after: bool = False  # GRU only: False is the notes' GRU, True torch.nn.GRU's
    nonlinearity: str = "tanh"  # vanilla RNN only: tanh, or relu (with init identity: the IRNN)
    orthogonal_map: str = "matrix_exp"  # orthogonal RNN only: B = matrix_exp(A) or cayley(A)
    orthogonal_lr: float | None = None  # orthogonal RNN only: B's learning rate; None = lr × ORTHOGONAL_LR_RATIO
    peephole: bool = False  # LSTM only: complex_RNN's V_o c_t in the output gate (explicit backends)
    learn_initial_state: bool = False  # h_0 (and c_0) learned, from zeros, as complex_RNN's (explicit backends)
    train_set: int = 0  # 0: a fresh batch every step; N: N sequences drawn once from the seed, served in train_order
    train_order: str = CYCLED  # fixed set only: cycled in order (ours), or their-shuffle (complex_RNN's loop)
    backend: str = "explicit-premul"  # explicit backends can be probed; fused through a twin; auto picks per run
    device: str = "cpu"
    dtype: str = "float32"
    allow_tf32: bool = False  # CUDA float32 products in TF32 (rnnbench.core.precision); False: true fp32
    eval_every: int = 50
    eval_batch: int = 500
    eval_seed: int = 12345  # the held-out batch is the same for every run seed
    probe_at: tuple[int, ...] = field(default=(0, -1))  # training steps to probe; -1 = after the last step
    probe_dtype: str = "float64"
    probe_batch: int = 0  # 0 = the training batch size

    def __post_init__(self) -> None:
        one_of("task", self.task, TASKS)
        cell_spec(self.cell)  # a user cell is imported and its contract checked here, before any work
        one_of("backend", self.backend, BACKEND_CHOICES)
        one_of("optimizer", self.optimizer, OPTIMIZERS)
        one_of("clip_mode", self.clip_mode, CLIPPERS)
        one_of("init", self.init, INITS)
        one_of("dtype", self.dtype, DTYPES)
        one_of("probe_dtype", self.probe_dtype, PROBE_DTYPES)
        one_of("device", self.device, DEVICES)
        one_of("nonlinearity", self.nonlinearity, NONLINEARITIES)
        one_of("orthogonal_map", self.orthogonal_map, ORTHOGONAL_MAPS)
        one_of("train_order", self.train_order, TRAIN_ORDERS)
        if self.orthogonal_lr is not None:
            positive_number("orthogonal_lr", self.orthogonal_lr)
        int_at_least("length", self.length, TASKS[self.task].min_length)
        for name in ("steps", "hidden", "batch", "layers", "eval_every", "eval_batch"):
            int_at_least(name, getattr(self, name), 1)
        int_at_least("seed", self.seed, 0)
        int_at_least("eval_seed", self.eval_seed, 0)
        int_at_least("probe_batch", self.probe_batch, 0)
        int_at_least("train_set", self.train_set, 0)
        self._check_train_order()
        for name in ("bidirectional", "reset_after", "allow_tf32", "peephole", "learn_initial_state"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if isinstance(self.probe_at, list):  # from YAML/JSON; stored as a tuple so the config stays hashable
            object.__setattr__(self, "probe_at", tuple(self.probe_at))
        if not isinstance(self.probe_at, tuple):
            raise ConfigError(f"probe_at must be a list of steps, got {self.probe_at!r}")
        positive_number("lr", self.lr)
        positive_number("init_gain", self.init_gain)
        if self.clip is not None:
            positive_number("clip", self.clip)
        if isinstance(self.momentum, bool) or not isinstance(self.momentum, (int, float)) or not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum must be a number in [0, 1), got {self.momentum!r}")
        if self.forget_bias is not None and (
            isinstance(self.forget_bias, bool)
            or not isinstance(self.forget_bias, (int, float))
            or not math.isfinite(self.forget_bias)
        ):
            raise ConfigError(f"forget_bias must be a finite number or None, got {self.forget_bias!r}")
        self._check_init()
        for s in self.probe_at:
            if isinstance(s, bool) or not isinstance(s, int) or not -1 <= s <= self.steps:
                raise ConfigError(
                    f"probe_at step {s!r} is not allowed; use 0..{self.steps} (steps), or -1 for after training"
                )
        for name in not_applicable(self.to_dict()):
            rule = ONLY_FOR[name]
            raise ConfigError(
                f"{name} {getattr(self, name)!r} does not apply to {rule.owner} {getattr(self, rule.owner)!r}: it "
                f"{rule.what}; leave it out, or use {rule.owner} {rule.value!r}"
            )
        if self.backend != AUTO:  # auto never picks a backend that cannot compute the cell
            try:
                check_trains(self.backend, self.cell, self.reset_after, self.cell_options())
            except Unsupported as e:
                raise ConfigError(str(e)) from None

    def _check_train_order(self) -> None:
        if self.train_order != CYCLED and self.train_set == 0:
            raise ConfigError(
                f"train_order {self.train_order!r} applies only to a fixed training set (train_set > 0); "
                f"leave it out, or set train_set"
            )
        largest = max(self.batch, self.probe_batch)
        if self.train_order == THEIR_SHUFFLE and self.train_set < largest:
            raise ConfigError(
                f"train_set {self.train_set} is smaller than a batch ({largest}): train_order {THEIR_SHUFFLE!r} "
                f"takes whole batches of the set; use train_set >= {largest}"
            )

    def _check_init(self) -> None:
        try:
            check_applies(self.init, self.cell)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        if cell_spec(self.cell).user:
            self._check_user_cell()
        if self.cell == "orthogonal" and self.init_gain != 1:
            raise ConfigError(
                f"init_gain {self.init_gain!r} does not apply to cell 'orthogonal': its B stays orthogonal; leave it at 1"
            )
        if self.init == "chrono" and self.cell == "lstm" and self.forget_bias is not None:
            raise ConfigError(
                f"forget_bias {self.forget_bias!r} with init 'chrono' is not allowed: chrono sets the LSTM's forget "
                "bias itself; leave forget_bias unset (null), or choose another init"
            )
        if self.chrono_tmax is not None:
            if self.init != "chrono":
                raise ConfigError(
                    f"chrono_tmax {self.chrono_tmax!r} applies only to init 'chrono', not {self.init!r}; leave it unset"
                )
            int_at_least("chrono_tmax", self.chrono_tmax, 3)

    def _check_user_cell(self) -> None:
        """What a user cell cannot take: a gain on weights it draws itself, and complex_RNN's learned initial
        state (its state is its own)."""
        if self.init_gain != 1:
            raise ConfigError(
                f"init_gain {self.init_gain!r} does not apply to user cell {self.cell!r}: it keeps its own "
                "initialisation; leave init_gain at 1"
            )
        if self.learn_initial_state:
            raise ConfigError(
                f"learn_initial_state does not apply to user cell {self.cell!r}: its state before the first step "
                "is its own (forward(x, None)); leave it false"
            )

    def chrono_range(self) -> int | None:
        """Chrono's T_max: ``chrono_tmax``, else the number of steps the network sees (the copy task's
        T + 20, the adding problem's T); None for every other init."""
        if self.init != "chrono":
            return None
        return self.chrono_tmax or TASKS[self.task].sequence_length(self.length)

    def orthogonal_rate(self) -> float:
        """The learning rate of the orthogonal RNN's B: ``orthogonal_lr``, else expRNN's ratio of ``lr``."""
        return self.orthogonal_lr if self.orthogonal_lr is not None else self.lr * ORTHOGONAL_LR_RATIO

    def cell_options(self) -> dict[str, Any]:
        """The cell's constructor options (the RNN's nonlinearity, the orthogonal RNN's map), and
        complex_RNN's (``THEIR_OPTIONS``: the LSTM's peephole, learned initial states) where set, so
        that a run without them builds its cells as before."""
        values = self.to_dict()
        return {**cell_options(cell_spec(self.cell), values), **their_options(values)}

    def probe_torch_dtype(self) -> torch.dtype:
        """The dtype the gradient probes compute in: float64 when ``probe_dtype`` asks, else the run's own."""
        return DTYPES["float64" if self.probe_dtype == "float64" else self.dtype]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Build from plain data (YAML/JSON); unknown keys are refused by name."""
        if not isinstance(data, dict):
            raise ConfigError(f"a run configuration must be a mapping of keys to values, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(map(repr, set(data) - names))
        if unknown:
            raise ConfigError(f"unknown config key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(names))}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["probe_at"] = list(self.probe_at)
        for name, default in LATER_FIELDS.items():
            if d[name] == default:
                del d[name]
        return d

    def probe_steps(self) -> list[int]:
        """Probe steps with -1 resolved to ``steps`` (after the last update), sorted, unique."""
        return sorted({self.steps if s == -1 else s for s in self.probe_at})

    def config_hash(self) -> str:
        """Short stable hash of every field: names a run's configuration in tables and paths."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]
