"""A study's sweeps as data: expand the pipeline config into runs, each with a readable id.

The config (``config/*.yaml``, validated by ``workflow/schemas/config.schema.yaml``) holds four
studies; every run is one ``RunConfig`` and one result file ``results/runs/<id>.json``:

- ``sweep``: tasks × lengths × cells × clipping × seeds (× devices), trained with the shared
  ``train`` settings, a task's ``train`` over them and a cell's ``cell_train`` over those; id ``task~adding/cell~lstm/length~100/clip~1.0/seed~0``.
- ``gains``: the vanilla RNN across W_hh init gains, probed at initialisation and after training;
  id ``gains/task~adding/length~50/cell~rnn/init~orthogonal/gain~1.5/seed~0``.
- ``clipping``: a configuration that explodes, with and without clipping, under each optimizer;
  id ``clipping/optimizer~sgd/clip~none/seed~0``.
- ``depth``: layers × directions × cells on one task and length, probed per layer and direction at
  initialisation and after training; id ``depth/task~adding/length~20/cell~lstm/layers~2/bidirectional~true/seed~0``.
- ``variants``: named models beside the sweep's cells -- a cell with settings of its own (complex_RNN's
  LSTM, the IRNN) -- on the sweep's tasks; id ``variants/variant~arjovsky-lstm/task~adding/length~100/clip~1.0/seed~0``.
  Their own study keeps them out of the sweep's figures and tables, which draw one line per cell.

Ids are built from plain Python values (never numpy scalars), so they and the configs are stable
and JSON-ready. A user cell appears in an id by its safe name (``cells.safe_name``: ``torch.nn:GRUCell`` ->
``cell~torch.nn.GRUCell``), so ids stay file names and Snakemake wildcards; its config keeps the full name.
"""

from __future__ import annotations

import hashlib
import json
from itertools import product
from typing import Any

from rnnbench.core.cells import cell_spec, safe_name
from rnnbench.core.tasks import TASKS
from rnnbench.training.autobackend import AUTO
from rnnbench.training.config import ConfigError, RunConfig, not_applicable
from rnnbench.training.stacking import PER_RUN_FIELDS, PER_RUN_SEGMENTS, STACKABLE_BACKENDS, group_stacks

STUDIES = ("sweep", "gains", "clipping", "depth", "variants")
SEP = "~"


def fmt(value: Any) -> str:
    """A value as it appears in a run id: ``None`` -> ``none``, floats keep their decimal point."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)  # 1.0 -> "1.0", 0.05 -> "0.05"
    return str(value)


def run_id(study: str, params: dict[str, Any]) -> str:
    """``key~value`` segments joined by '/'; the sweep's ids carry no study prefix; a cell by its safe name."""
    segments = [f"{k}{SEP}{safe_name(v) if k == 'cell' else fmt(v)}" for k, v in params.items()]
    return "/".join(segments if study == "sweep" else [study, *segments])


def parse_run_id(rid: str) -> tuple[str, dict[str, str]]:
    """Inverse of :func:`run_id` (values stay strings): ``(study, {key: value})``."""
    parts = rid.split("/")
    study = "sweep" if SEP in parts[0] else parts.pop(0)
    if study not in STUDIES or not parts or any(SEP not in p for p in parts):
        raise ValueError(f"not a run id: {rid!r}")
    return study, dict(p.split(SEP, 1) for p in parts)


def _devices(config: dict) -> list[str]:
    d = config.get("device", "cpu")
    return [d] if isinstance(d, str) else list(d)


# Settings the pipeline uses where a config leaves them out (RunConfig's own defaults otherwise):
# backend auto, the fastest backend that trains the same model (rnnbench.training.autobackend); the command
# line keeps explicit-premul as its default, the backend every probe is defined on.
PIPELINE_DEFAULTS: dict[str, Any] = {"backend": AUTO}


def _run(base: dict, where: str, **fields: Any) -> dict[str, Any]:
    """A RunConfig's dict from the pipeline defaults, the shared settings and this run's fields; checked now, so a bad
    value stops the pipeline before any job starts, with the run named. A shared setting that does
    not apply to this run's cell or optimizer (``train: {forget_bias: 1}`` in a sweep over every
    cell) is left out of it: it applies to the runs it concerns, and the others keep their hash."""
    merged = {**PIPELINE_DEFAULTS, **base, **fields}
    for name in not_applicable(merged):
        if name not in fields:
            del merged[name]
    try:
        return RunConfig.from_dict(merged).to_dict()
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def check_safe_names(cells: list[str], where: str) -> None:
    """Refuse two cells of one list whose ids would be the same (``safe_name``), naming both."""
    seen: dict[str, str] = {}
    for cell in cells:
        other = seen.setdefault(safe_name(cell), cell)
        if other != cell:
            raise ConfigError(
                f"{where}: cells {other!r} and {cell!r} have the same name in run ids ({safe_name(cell)!r}); "
                "name one of them otherwise (its module:Class, or an entry point)"
            )


def sweep_runs(config: dict) -> dict[str, dict]:
    """The sweep's runs: per task, its lengths × the sweep's cells (× clip, seeds, devices), then each of the
    task's ``blocks``: further lengths × cells with their own clip and train settings over the task's (the
    copy contrast at a long delay: only the cells it compares, at a budget of its own)."""
    s = config["sweep"]
    check_safe_names([*s["cells"], *(c for t in s["tasks"].values() for b in t.get("blocks", []) for c in b["cells"])],
                     "sweep")  # fmt: skip
    devices = _devices(config)
    runs: dict[str, dict] = {}
    for task, spec in s["tasks"].items():
        task_base = {**config["train"], **spec.get("train", {})}
        parts = [(s["cells"], spec["lengths"], s["clip"], task_base)]
        parts += [
            (b["cells"], b["lengths"], b.get("clip", s["clip"]), {**task_base, **b.get("train", {})})
            for b in spec.get("blocks", [])
        ]
        for cells, lengths, clips, part_base in parts:
            for cell, length, clip, seed, device in product(cells, lengths, clips, s["seeds"], devices):
                base = {**part_base, **spec.get("cell_train", {}).get(cell, {})}  # a cell's own settings win
                params = {"task": task, "cell": cell, "length": length, "clip": clip, "seed": seed}
                if len(devices) > 1:
                    params["device"] = device  # only then: the default ids stay short
                rid = run_id("sweep", params)
                if rid in runs:
                    raise ConfigError(f"sweep run {rid} is in two of the {task} task's blocks; give it once")
                runs[rid] = _run(base, f"sweep run {rid}", **{**params, "device": device})
    return runs


def gains_runs(config: dict) -> dict[str, dict]:
    g = config.get("gains")
    if not g:
        return {}
    base = {**config["train"], **g.get("train", {})}
    runs = {}
    for gain, seed in product(g["gains"], g["seeds"]):
        params = {
            "task": g["task"],
            "length": g["length"],
            "cell": g["cell"],
            "init": g["init"],
            "gain": float(gain),
            "seed": seed,
        }
        rid = run_id("gains", params)
        fields = {k: v for k, v in params.items() if k != "gain"}
        runs[rid] = _run(base, f"gains run {rid}", **fields, init_gain=float(gain), device=_devices(config)[0])
    return runs


def clipping_runs(config: dict) -> dict[str, dict]:
    c = config.get("clipping")
    if not c:
        return {}
    base = {**config["train"], **c.get("train", {}), "task": c["task"], "length": c["length"], "cell": c["cell"]}
    runs = {}
    for (opt, opt_args), clip, seed in product(c["optimizers"].items(), c["clip"], c["seeds"]):
        params = {"optimizer": opt, "clip": clip, "seed": seed}
        rid = run_id("clipping", params)
        runs[rid] = _run(base, f"clipping run {rid}", **params, **opt_args, device=_devices(config)[0])
    return runs


def depth_runs(config: dict) -> dict[str, dict]:
    d = config.get("depth")
    if not d:
        return {}
    base = {**config["train"], **d.get("train", {}), "task": d["task"], "length": d["length"]}
    check_safe_names(d["cells"], "depth")
    runs = {}
    for cell, layers, bidirectional, seed in product(d["cells"], d["layers"], d["bidirectional"], d["seeds"]):
        params = {
            "task": d["task"], "length": d["length"], "cell": cell, "layers": layers,
            "bidirectional": bidirectional, "seed": seed,
        }  # fmt: skip
        rid = run_id("depth", params)
        runs[rid] = _run(base, f"depth run {rid}", **params, device=study_device(config))
    return runs


def variant_runs(config: dict) -> dict[str, dict]:
    """Each named variant (``variants``) on its tasks and lengths × clip × seeds (the sweep's where it names
    none): the run takes the shared settings, the task's, the task's ``cell_train`` for its cell (the copy
    task's per-cell sizes), then the variant's own ``train`` over them."""
    s = config["sweep"]
    runs: dict[str, dict] = {}
    for name, v in config.get("variants", {}).items():
        for task, lengths in v["tasks"].items():
            spec = s["tasks"].get(task, {})
            base = {**config["train"], **spec.get("train", {}), **spec.get("cell_train", {}).get(v["cell"], {})}
            for length, clip, seed in product(lengths, v.get("clip", s["clip"]), v.get("seeds", s["seeds"])):
                params = {"variant": name, "task": task, "length": length, "clip": clip, "seed": seed}
                rid = run_id("variants", params)
                fields = {k: val for k, val in params.items() if k != "variant"}
                runs[rid] = _run(
                    {**base, **v.get("train", {})},
                    f"variant run {rid}",
                    **fields,
                    cell=v["cell"],
                    device=study_device(config),
                )
    return runs


def variant_of(rid: str) -> str:
    """The variant a run id names (``variants/variant~irnn/...`` -> ``irnn``); '' for every other study's run."""
    return parse_run_id(rid)[1].get("variant", "")


def study_device(config: dict) -> str:
    """The device of the studies that do not sweep devices (all but the length sweep)."""
    return _devices(config)[0]


def expand(config: dict) -> dict[str, dict]:
    """Every run of every study: ``{run id: RunConfig dict}``, in a stable order."""
    runs: dict[str, dict] = {}
    for part in (
        sweep_runs(config),
        gains_runs(config),
        clipping_runs(config),
        depth_runs(config),
        variant_runs(config),
    ):
        runs.update(part)
    check_same_models(config, runs)
    return runs


# what a variant's ``same_model`` may change: the batch size, its budget in steps, and its seeds
SAME_MODEL_MAY_DIFFER = ("batch", "steps", "seed")


def model_of(rid: str, cell: str) -> str:
    """The model a sweep or variant run trains: the variant's name, else the sweep's cell."""
    return variant_of(rid) or cell


def check_same_models(config: dict, runs: dict[str, dict]) -> None:
    """Each variant with ``same_model`` names the sweep's cell or another variant, and every run of it has
    a run of that model at its task and length whose settings differ only in ``SAME_MODEL_MAY_DIFFER``;
    refused with the first field that differs otherwise."""
    variants = config.get("variants", {})
    models = {*config["sweep"]["cells"], *variants}
    ignore = set(SAME_MODEL_MAY_DIFFER)
    for name, v in variants.items():
        other = v.get("same_model")
        if other is None:
            continue
        if other == name or other not in models or variants.get(other, {}).get("same_model"):
            allowed = ", ".join(sorted(m for m in models if m != name and not variants.get(m, {}).get("same_model")))
            raise ConfigError(f"variant {name!r}: same_model {other!r} is not allowed; use one of: {allowed}")
        mine = {rid: r for rid, r in runs.items() if variant_of(rid) == name}
        theirs = [r for rid, r in runs.items() if parse_run_id(rid)[0] in ("sweep", "variants")
                  and model_of(rid, r["cell"]) == other]  # fmt: skip
        for rid, r in mine.items():
            twins = [t for t in theirs if (t["task"], t["length"]) == (r["task"], r["length"])]
            if not twins:
                raise ConfigError(
                    f"variant run {rid}: same_model {other!r} has no run at {r['task']} T = {r['length']}"
                )
            diff = sorted(k for k in {*r, *twins[0]} - ignore if r.get(k) != twins[0].get(k))
            if diff:
                raise ConfigError(
                    f"variant run {rid}: same_model {other!r} trains with other {', '.join(diff)} "
                    f"({', '.join(f'{k} {r.get(k)!r} against {twins[0].get(k)!r}' for k in diff)}); a same_model "
                    f"variant may differ in {', '.join(SAME_MODEL_MAY_DIFFER)} only"
                )


def job_id(rid: str) -> str:
    """The training job of run ``rid``: its id without the per-run segments, e.g.
    ``task~adding/cell~lstm/length~100/clip~1.0/seed~0`` -> ``task~adding/cell~lstm/length~100``."""
    study, params = parse_run_id(rid)
    return run_id(study, {k: v for k, v in params.items() if k not in PER_RUN_SEGMENTS})


def train_jobs(
    runs: dict[str, dict],
    runs_per_job: int,
    runs_per_stack: int,
    per_run_fields: tuple[str, ...] = PER_RUN_FIELDS,
    stackable_backends: tuple[str, ...] = STACKABLE_BACKENDS,
) -> dict[str, list[str]]:
    """Pack runs into training jobs: ``{job id: [run id, ...]}``, in the runs' order.

    A job trains one or more stacks (``group_stacks``) one after another in one process, so its
    start-up -- interpreter, torch import, the optimizer's lazy import of torch._dynamo -- is paid
    once per job; consecutive stacks share a job while it holds at most ``runs_per_job`` runs (a
    stack is never split across jobs). A job's id is its first run's without the per-run segments
    (``task~adding/cell~lstm/length~10``), with ``+k`` when k more stacks follow in it. With
    ``runs_per_job`` 1 every run is its own job, named by its run id.
    """
    if isinstance(runs_per_job, bool) or not isinstance(runs_per_job, int) or runs_per_job < 1:
        raise ConfigError(f"runs_per_job must be an integer >= 1, got {runs_per_job!r}")
    if runs_per_job == 1:
        return {rid: [rid] for rid in runs}
    packed: list[list[list[str]]] = []
    # a study's runs never share a stack with another's (the gains study's runs could stack with the
    # sweep's at the same length: only init and gain differ), so that a job holds one study's runs
    by_study = group_stacks(
        runs, min(runs_per_stack, runs_per_job), per_run_fields, stackable_backends, lambda rid: parse_run_id(rid)[0]
    )
    for stack in by_study:
        if not packed or sum(map(len, packed[-1])) + len(stack) > runs_per_job:
            packed.append([])
        packed[-1].append(stack)
    jobs: dict[str, list[str]] = {}
    for stacks in packed:
        first = stacks[0][0]
        name = job_id(first) if len(stacks[0]) > 1 or len(stacks) > 1 else first
        name += f"+{len(stacks) - 1}" if len(stacks) > 1 else ""
        jid, k = name, 1
        while jid in jobs:  # two jobs whose first stacks share a name (fields the id does not show)
            jid, k = f"{name}/part{SEP}{k}", k + 1
        jobs[jid] = [rid for stack in stacks for rid in stack]
    return jobs


# Relative cost of one time step of a cell: ``CellSpec.cost`` (its gates' products and nonlinearities, about
# 3 for the LSTM and GRU against the vanilla RNN's 1; a user cell's is a gated cell's): only used to order
# jobs, never reported.
# A task that reads out and scores every time step (copy: a softmax over its classes per step, and a
# 10-symbol input) costs more per step than one scored at the end (adding): in a default study on a
# 2-core CPU a copy job took 22-25 s per million cost units against 17-18 s for adding jobs.
READOUT_COST = {True: 1.3, False: 1.0}  # keyed by Task.per_step_output


def job_cost(configs: list[dict]) -> int:
    """An estimate of a job's training time, in units of vanilla-RNN time steps: Σ steps × sequence
    length × cell cost × readout cost × layers × directions. The pipeline starts the costliest jobs
    first (longest processing time first), so that the last job to finish is a short one and no core
    idles long while it runs."""
    return round(
        sum(
            c["steps"]
            * TASKS[c["task"]].sequence_length(c["length"])
            * cell_spec(c["cell"]).cost
            * READOUT_COST[TASKS[c["task"]].per_step_output]
            * c["layers"]
            * (2 if c["bidirectional"] else 1)
            for c in configs
        )
    )


def config_hash(config: dict) -> str:
    """Short stable hash of the whole (validated, defaults-filled) pipeline config."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def report_settings(config: dict) -> dict[str, Any]:
    """The ``report`` block with defaults filled in: figure 1 draws the sweep's ``gradflow_task``
    at ``gradflow_length`` (default: its longest length), which must be a length of the sweep."""
    settings = {"gradflow_task": "adding", "majority": 0.5, **(config.get("report") or {})}
    tasks = config["sweep"]["tasks"]
    task = settings["gradflow_task"] if settings["gradflow_task"] in tasks else next(iter(tasks))
    settings["gradflow_task"] = task
    lengths = tasks[task]["lengths"]
    settings.setdefault("gradflow_length", max(lengths))
    if settings["gradflow_length"] not in lengths:
        raise ConfigError(
            f"report.gradflow_length {settings['gradflow_length']!r} is not a length of the {task} sweep; "
            f"choose one of: {', '.join(map(str, lengths))}"
        )
    return settings
