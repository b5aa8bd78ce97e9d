"""Gradient at initialisation at a paper's own settings: probes only, no training.

A claim about ‖∂L/∂h_t‖ at initialisation needs no training, so it can be checked at the paper's
own length, width and initialisation even on a CPU: one forward and backward pass in float64
(Arjovsky et al. 2016's T = 1000, H = 128 costs well under a second per probe). The config's
``init_probes`` block names the task, its length, the width, the batch, the cells, the seeds and
a few labelled initialisations (e.g. ``paper``: Glorot + forget bias 1, ``pytorch``: the default);
every (init, cell, seed) is one probe on a batch drawn from the seed, as ``rnnbench gradflow`` does.
An init may also carry complex_RNN's LSTM options (``peephole``, ``learn_initial_state``: their LSTM,
Arjovsky et al. 2016), which, like ``forget_bias``, apply to the LSTM only; each row records them. A user
cell (``cells.cell_spec``) keeps its own initialisation: it is probed under the labels that leave it so.

Each probe is summarised by its fitted per-step factor and by the decades the gradient loses over
the whole sequence (log10 of ‖∂L/∂h_t‖ at distance 0 over its value at distance T − 1), which does
not depend on how the loss is scaled (batch mean or sum); an exact zero in float64 is an underflow.
``first_below`` gives, per seed, the first distance at which the norm falls below an absolute level
(Arjovsky et al.'s "below 1e−23 within about 550 steps"), which does depend on that scaling.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch

from rnnbench.core.cells import is_user
from rnnbench.core.cells.base import THEIR_OPTIONS
from rnnbench.training.config import ConfigError, RunConfig
from rnnbench.training.probes import decay_rate, gradflow_at_init

INIT_FIELDS = ("init", "init_gain", "forget_bias", "chrono_tmax", *THEIR_OPTIONS)
LSTM_ONLY = ("forget_bias", *THEIR_OPTIONS)  # a forget gate; complex_RNN's options are their LSTM's


def keeps_own_init(init: dict[str, Any]) -> bool:
    """Whether an init label leaves a cell its own weights (init ``default``, no gain): the only labels a user
    cell is probed under (the LSTM-only fields aside, which no other cell takes)."""
    return init.get("init", "default") == "default" and init.get("init_gain", 1) == 1


def probe_configs(spec: dict[str, Any], device: str = "cpu") -> list[tuple[str, RunConfig]]:
    """Every probe of an ``init_probes`` block as (init label, RunConfig), checked now (a bad value is
    refused with the probe named, before any work)."""
    out = []
    for label, init in spec["inits"].items():
        unknown = sorted(set(init) - set(INIT_FIELDS))
        if unknown:
            raise ConfigError(f"init_probes.inits.{label}: unknown key(s) {unknown}; allowed: {', '.join(INIT_FIELDS)}")
        for cell in spec["cells"]:
            if is_user(cell) and not keeps_own_init(init):
                continue  # a user cell keeps its own initialisation: probed under the labels that leave it so
            for seed in spec["seeds"]:
                fields = dict(init)
                if cell != "lstm":
                    for name in LSTM_ONLY:
                        fields.pop(name, None)
                try:
                    cfg = RunConfig(
                        task=spec["task"], cell=cell, length=spec["length"], hidden=spec["hidden"],
                        batch=spec["batch"], seed=seed, device=device, dtype="float64",
                        reset_after=bool(spec.get("reset_after", False)), **fields,
                    )  # fmt: skip
                except ConfigError as e:
                    raise ConfigError(f"init_probes {label} {cell} seed {seed}: {e}") from None
                out.append((label, cfg))
    return out


def run_init_probes(spec: dict[str, Any], device: str = "cpu") -> pd.DataFrame:
    """One row per (init label, cell, seed, t): ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖ for the LSTM) at initialisation."""
    rows = []
    for label, cfg in probe_configs(spec, device):
        records, _ = gradflow_at_init(cfg, torch.float64)
        for r in records:
            if r["direction"] != 0:
                continue
            rows.append({
                "init_label": label, "cell": cfg.cell, "seed": cfg.seed, "task": cfg.task, "length": cfg.length,
                "hidden": cfg.hidden, "batch": cfg.batch, "init": cfg.init, "init_gain": cfg.init_gain,
                "forget_bias": cfg.forget_bias, "peephole": cfg.peephole, "learn_initial_state": cfg.learn_initial_state,
                "reset_after": cfg.reset_after, "device": device,
                "t": r["t"], "distance": r["distance"], "grad_norm": r["grad_norm"], "underflow": r["underflow"],
                "c_grad_norm": r.get("c_grad_norm", math.nan),
            })  # fmt: skip
    return pd.DataFrame.from_records(rows)


def summarise_probes(table: pd.DataFrame) -> pd.DataFrame:
    """Per probe: the fitted per-step factor, the decades lost from distance 0 to T − 1 (inf when the
    far end underflowed to 0), and the first distance where the norm is an exact zero."""
    out = []
    keys = ["init_label", "cell", "seed"]
    for (label, cell, seed), g in table.groupby(keys, sort=False):
        g = g.sort_values("distance")
        norms = g["grad_norm"].to_numpy()
        fit = decay_rate(g["distance"].to_numpy(), norms)
        near, far = norms[0], norms[-1]
        zeros = g.loc[g["grad_norm"] == 0, "distance"]
        out.append({
            "init_label": label, "cell": cell, "seed": int(seed), "init": g["init"].iloc[0],
            "forget_bias": g["forget_bias"].iloc[0], "peephole": bool(g["peephole"].iloc[0]) if "peephole" in g else False,
            "length": int(g["length"].iloc[0]),
            "hidden": int(g["hidden"].iloc[0]), "factor": fit["factor"],
            "decades_lost": math.log10(near / far) if far > 0 else math.inf,
            "first_underflow": int(zeros.min()) if len(zeros) else None,
        })  # fmt: skip
    return pd.DataFrame.from_records(out)


def decades_range(summary: pd.DataFrame, label: str, cell: str) -> tuple[float, float, float]:
    """(min, median, max) over seeds of the decades lost, for one init label and cell."""
    d = summary[(summary["init_label"] == label) & (summary["cell"] == cell)]["decades_lost"].to_numpy(dtype=float)
    if not len(d):
        return (math.nan, math.nan, math.nan)
    return float(d.min()), float(np.median(d)), float(d.max())


def first_below(init_probes: pd.DataFrame, label: str, cell: str, level: float = 1e-23) -> dict[int, int | None]:
    """Per seed (ascending), the smallest distance to the loss at which ‖∂L/∂h_t‖ < ``level`` (an exact 0,
    an underflow, counts), or None when the norm never falls below it over the sequence.

    ``init_probes`` is ``run_init_probes``'s table (``results/tables/init_probes.csv``); its ``peephole``
    column says which LSTM was probed. Arjovsky et al. 2016's LSTM claim is ``first_below(t, "paper",
    "lstm")`` against about 550: an absolute level, so it assumes their loss scale (the batch mean)."""
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < math.inf:
        raise ValueError(f"level must be a positive finite number, got {level!r}")
    rows = init_probes[(init_probes["init_label"] == label) & (init_probes["cell"] == cell)]
    if rows.empty:
        have = sorted(set(zip(init_probes["init_label"], init_probes["cell"], strict=True)))
        raise ValueError(f"no probes of init label {label!r} and cell {cell!r}; the table has {have}")
    out = {}
    for seed, g in rows.groupby("seed", sort=True):
        below = g.loc[g["grad_norm"] < level, "distance"]
        out[int(seed)] = int(below.min()) if len(below) else None
    return out
