"""Sweep expansion (rnnbench.study.pipeline.sweep) and aggregation (rnnbench.study.tables.aggregate), without Snakemake."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rnnbench.core.backends import TRAINING_BACKENDS as BACKENDS
from rnnbench.core.cells import CELLS
from rnnbench.core.initialisation import INITS
from rnnbench.core.storage import write_json
from rnnbench.core.tasks import TASKS
from rnnbench.study.pipeline.results import ResultError, load_result
from rnnbench.study.pipeline.sweep import expand, parse_run_id, report_settings, run_id
from rnnbench.study.tables.aggregate import build_tables, write_tables
from rnnbench.training.clipping import CLIPPERS
from rnnbench.training.config import BACKEND_CHOICES, DEVICES, DTYPES, PROBE_DTYPES, ConfigError, RunConfig
from rnnbench.training.optimizers import OPTIMIZERS
from rnnbench.training.train import train

REPO = Path(__file__).resolve().parents[1]


def smoke_config() -> dict:
    return yaml.safe_load(open(REPO / "config" / "smoke.yaml"))


def test_schema_enums_match_the_package_registries():
    schema = yaml.safe_load(open(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    defs = schema["$defs"]
    assert set(defs["cell"]["anyOf"][0]["enum"]) == set(CELLS)  # the built-ins; user cells by path or entry point
    assert set(defs["task"]["enum"]) == set(TASKS)
    assert set(defs["train"]["properties"]["init"]["enum"]) == set(INITS)
    assert set(defs["train"]["properties"]["optimizer"]["enum"]) == set(OPTIMIZERS)
    assert set(schema["properties"]["clipping"]["properties"]["optimizers"]["properties"]) == set(OPTIMIZERS)
    train_props = defs["train"]["properties"]
    assert set(train_props["backend"]["enum"]) == set(BACKEND_CHOICES)  # explicit-bptt was missing
    assert set(BACKEND_CHOICES) == {*BACKENDS, "auto"}
    assert set(train_props["dtype"]["enum"]) == set(DTYPES)
    assert set(train_props["probe_dtype"]["enum"]) == set(PROBE_DTYPES)
    assert set(train_props["clip_mode"]["enum"]) == set(CLIPPERS)
    assert set(defs["device"]["enum"]) == set(DEVICES)
    assert set(schema["properties"]["gains"]["properties"]["init"]["enum"]) == set(INITS)
    # every key the train block allows is a RunConfig field
    assert set(defs["train"]["properties"]) <= set(RunConfig.__dataclass_fields__)


def test_run_ids_are_readable_and_round_trip():
    rid = run_id("sweep", {"task": "adding", "cell": "lstm", "length": 100, "clip": 1.0, "seed": 0})
    assert rid == "task~adding/cell~lstm/length~100/clip~1.0/seed~0"
    assert parse_run_id(rid) == (
        "sweep",
        {"task": "adding", "cell": "lstm", "length": "100", "clip": "1.0", "seed": "0"},
    )
    rid = run_id("clipping", {"optimizer": "sgd", "clip": None, "seed": 2})
    assert rid == "clipping/optimizer~sgd/clip~none/seed~2"
    assert parse_run_id(rid)[0] == "clipping"
    with pytest.raises(ValueError):
        parse_run_id("elsewhere/foo")


def test_expand_gives_plain_checked_configs():
    cfg = smoke_config()
    runs = expand(cfg)
    s = cfg["sweep"]
    n_sweep = sum(len(t["lengths"]) for t in s["tasks"].values()) * len(s["cells"]) * len(s["clip"]) * len(s["seeds"])
    n_gains = len(cfg["gains"]["gains"]) * len(cfg["gains"]["seeds"])
    n_clip = len(cfg["clipping"]["optimizers"]) * len(cfg["clipping"]["clip"]) * len(cfg["clipping"]["seeds"])
    d = cfg["depth"]
    n_depth = len(d["cells"]) * len(d["layers"]) * len(d["bidirectional"]) * len(d["seeds"])
    assert len(runs) == n_sweep + n_gains + n_clip + n_depth
    for rid, rc in runs.items():
        # JSON round trip: plain Python values only (no numpy scalars), and a valid RunConfig
        assert json.loads(json.dumps(rc)) == rc
        assert RunConfig.from_dict(rc).to_dict() == rc
        study, params = parse_run_id(rid)
        if study == "sweep":
            assert params["cell"] == rc["cell"] and int(params["length"]) == rc["length"]
    sgd = [rc for rid, rc in runs.items() if rid.startswith("clipping/optimizer~sgd")]
    assert all(rc["optimizer"] == "sgd" and rc["lr"] == 0.05 for rc in sgd)
    assert {rc["init_gain"] for rid, rc in runs.items() if rid.startswith("gains/")} == set(cfg["gains"]["gains"])


def test_expand_names_the_run_of_a_bad_value():
    cfg = smoke_config()
    cfg["sweep"]["tasks"]["copy"]["lengths"] = [0]
    with pytest.raises(ConfigError, match=r"sweep run task~copy/.*length must be an integer >= 1, got 0"):
        expand(cfg)


def test_a_shared_setting_applies_to_the_runs_it_concerns():
    """`train: {forget_bias: 1}` in a sweep over every cell sets the LSTM's forget bias; the RNN and GRU
    runs leave it out (a RunConfig refuses it for them) and keep the hash they have without it."""
    cfg = smoke_config()
    plain = expand(cfg)
    cfg["train"] = {**cfg["train"], "forget_bias": 1.0, "reset_after": True, "momentum": 0.5}
    runs = expand(cfg)
    assert runs.keys() == plain.keys()
    for rid, run in runs.items():
        assert run["forget_bias"] == (1.0 if run["cell"] == "lstm" else None), rid
        assert run["reset_after"] == (run["cell"] == "gru"), rid
        # the clipping study's sgd sets its own momentum (0.0), which wins over the shared one
        own = rid.startswith("clipping/optimizer~sgd")
        assert run["momentum"] == (0.5 if run["optimizer"] == "sgd" and not own else 0.0), rid
        if run["cell"] == "rnn" and run["optimizer"] != "sgd":
            assert run == plain[rid]
    with pytest.raises(ConfigError, match=r"forget_bias 1.0 does not apply to cell 'gru'.*LSTM forget-gate bias"):
        RunConfig(cell="gru", forget_bias=1.0)


def test_device_list_adds_a_path_segment():
    cfg = smoke_config()
    cfg["device"] = ["cpu", "auto"]
    ids = [rid for rid in expand(cfg) if rid.startswith("task~")]
    assert any(rid.endswith("/device~auto") for rid in ids) and any(rid.endswith("/device~cpu") for rid in ids)


def test_report_settings_default_to_the_longest_length():
    cfg = smoke_config()
    del cfg["report"]
    assert report_settings(cfg)["gradflow_length"] == max(cfg["sweep"]["tasks"]["adding"]["lengths"])


# ---- aggregation ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> tuple[Path, list[str]]:
    """Two tiny real results: one that trains, one that diverges (plain SGD, large gain)."""
    root = tmp_path_factory.mktemp("study") / "runs"
    good = RunConfig(task="adding", cell="rnn", length=5, steps=3, hidden=4, batch=4, eval_every=2, eval_batch=8)
    bad = RunConfig(task="adding", cell="rnn", length=50, steps=60, hidden=64, batch=32, optimizer="sgd", lr=0.05,
                    init="gaussian", init_gain=1.5, eval_batch=32)  # fmt: skip
    paths = []
    for rid, cfg in (
        ("task~adding/cell~rnn/length~5/clip~none/seed~0", good),
        ("clipping/optimizer~sgd/clip~none/seed~0", bad),
    ):
        path = root / f"{rid}.json"
        write_json(path, train(cfg, progress=False))
        paths.append(str(path))
    return root, paths


def test_tables_keep_diverged_runs(results):
    root, paths = results
    t = build_tables(paths)
    runs = t["runs"].set_index("run")
    assert list(runs["study"]) == ["clipping", "sweep"]
    div = runs.loc["clipping/optimizer~sgd/clip~none/seed~0"]
    assert div["status"] == "diverged" and not div["solved"]
    curves = t["curves"]
    last = curves[(curves["run"] == div.name) & (curves["kind"] == "train")].iloc[-1]
    # its last step is the non-finite one: stored empty (NaN), never as zero
    assert last["step"] == div["diverged_step"] and (math.isnan(last["loss"]) or math.isnan(last["grad_norm"]))
    gf = t["gradflow"]
    ok = gf[gf["run"] == "task~adding/cell~rnn/length~5/clip~none/seed~0"]
    assert set(ok["step"]) == {0, 3} and len(ok) == 2 * 5
    assert ok["decay_factor"].notna().all()


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda p: p.write_text("{not json"), "not a readable JSON result"),
        (lambda p: p.write_text("[1, 2]"), "must be a JSON object"),
        (lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "status": "fine"})), "status 'fine'"),
        (
            lambda p: p.write_text(json.dumps({k: v for k, v in json.loads(p.read_text()).items() if k != "curve"})),
            "missing field 'curve'",
        ),  # fmt: skip
        (
            lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "steps_run": "3"})),
            "'steps_run' has the wrong type",
        ),
        (lambda p: p.write_text(""), "empty file"),
        (lambda p: p.write_text(p.read_text()[: len(p.read_text()) // 2]), "not a readable JSON result"),
        (lambda p: p.write_text(json.dumps({"name": "a foreign JSON", "version": 1})), "missing field 'config'"),
    ],
    ids=["not-json", "not-object", "bad-status", "missing-field", "wrong-type", "empty", "truncated", "foreign"],
)
def test_malformed_result_is_refused_by_name(results, tmp_path, corrupt, message):
    root, paths = results
    bad = tmp_path / "runs" / "task~adding" / "broken.json"
    bad.parent.mkdir(parents=True)
    bad.write_text(Path(paths[0]).read_text())
    corrupt(bad)
    with pytest.raises(ResultError, match=message) as e:
        load_result(bad)
    assert str(bad) in str(e.value)
    with pytest.raises(ResultError, match=str(bad)):
        build_tables([*paths, str(bad)])


def foreign_config_copy(src: str, dest: Path) -> dict:
    """``src``'s result as if trained under another config (lr changed), written to ``dest``."""
    record = json.loads(Path(src).read_text())
    theirs = {**record["config"], "lr": record["config"]["lr"] * 2}
    record["config"], record["config_hash"] = theirs, RunConfig.from_dict(theirs).config_hash()
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(record))
    return record


def test_result_of_another_config_is_refused_by_name(results, tmp_path):
    root, paths = results
    expected = {"task~adding/cell~rnn/length~5/clip~none/seed~0": json.loads(Path(paths[0]).read_text())["config_hash"]}
    build_tables(paths, expected)  # the right hashes pass
    foreign = tmp_path / "runs" / "task~adding/cell~rnn/length~5/clip~none/seed~0.json"
    theirs = foreign_config_copy(paths[0], foreign)
    with pytest.raises(ResultError) as e:
        build_tables([foreign, paths[1]], expected)
    msg = str(e.value)
    assert msg.startswith(f"{foreign}: made by another configuration")
    rid = "task~adding/cell~rnn/length~5/clip~none/seed~0"
    assert theirs["config_hash"] in msg and expected[rid] in msg and "delete the file" in msg


def test_skip_bad_leaves_bad_files_out_and_lists_them(results, tmp_path):
    root, paths = results
    rid = "task~adding/cell~rnn/length~5/clip~none/seed~0"
    expected = {rid: json.loads(Path(paths[0]).read_text())["config_hash"]}
    runs = tmp_path / "runs"
    empty = runs / "gains/task~adding/length~5/cell~rnn/init~orthogonal/gain~1.0/seed~0.json"
    empty.parent.mkdir(parents=True)
    empty.write_text("")
    foreign = runs / f"{rid}.json"
    foreign_config_copy(paths[0], foreign)
    out = {name: str(tmp_path / "tables" / f"{name}.csv") for name in ("runs", "gradflow", "skipped", "timings")}
    with pytest.raises(ResultError):
        write_tables([paths[1], empty, foreign], out, expected)
    assert not (tmp_path / "tables").exists()  # strict: nothing written
    t = write_tables([paths[1], empty, foreign], out, expected, skip_bad=True)
    skipped = pd.read_csv(out["skipped"])
    assert list(skipped["path"]) == sorted([str(empty), str(foreign)])
    reasons = dict(zip(skipped["path"], skipped["reason"], strict=True))
    assert reasons[str(empty)].startswith("empty file") and "another configuration" in reasons[str(foreign)]
    assert list(pd.read_csv(out["runs"])["run"]) == ["clipping/optimizer~sgd/clip~none/seed~0"]
    assert set(pd.read_csv(out["gradflow"])["run"]) == {"clipping/optimizer~sgd/clip~none/seed~0"}
    assert len(t["timings"]) == 1
    # nothing bad: the table is written all the same, header only
    write_tables([paths[1]], out, skip_bad=True)
    assert Path(out["skipped"]).read_text() == "path,reason\n"


def test_timings_kept_apart_and_provenance_on_every_row(results):
    root, paths = results
    t = build_tables(paths)
    for col in ("train_seconds", "wall_seconds", "throughput_seq_per_s", "cpu"):
        assert col not in t["runs"].columns and col in t["timings"].columns, col
    hashes = {json.loads(Path(p).read_text())["config_hash"] for p in paths}
    for name in ("runs", "gradflow", "curves", "timings"):
        assert set(t[name]["config_hash"]) == hashes, name
        assert t[name]["rnnbench_version"].notna().all() and (t[name]["rnnbench_version"] != "unknown").all(), name


def test_version_falls_back_to_the_aggregators_when_not_recorded(results, tmp_path):
    from rnnbench.core.provenance import rnnbench_version

    root, paths = results
    record = json.loads(Path(paths[0]).read_text())
    record["env"]["rnnbench"] = "not installed"
    path = tmp_path / "runs" / "task~adding/cell~rnn/length~5/clip~none/seed~0.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record))
    assert set(build_tables([path])["curves"]["rnnbench_version"]) == {rnnbench_version()}


# ---- report ---------------------------------------------------------------------------------


def test_report_lists_every_skipped_file():
    from rnnbench.study.report.closing import skipped_section

    none = skipped_section(pd.DataFrame(columns=["path", "reason"]))
    assert none.startswith("None")
    two = pd.DataFrame(
        {"path": ["results/runs/a.json", "results/runs/b.json"], "reason": ["empty file, not a result", "x | y"]}
    )
    text = skipped_section(two)
    assert text.startswith("2 result file(s) were left out")
    assert "| `results/runs/a.json` | empty file, not a result |" in text
    assert "| `results/runs/b.json` | x \\| y |" in text  # a | in a reason does not split the table


def synthetic_runs() -> pd.DataFrame:
    rows = []
    # rnn solves T=10 in 2 of 3 seeds, nothing longer; lstm solves up to 50; one lstm seed at 100 diverged
    for cell, solved_upto in (("rnn", 10), ("lstm", 50)):
        for T in (10, 50, 100):
            for seed in range(3):
                diverged = cell == "lstm" and T == 100 and seed == 0
                solved = T <= solved_upto and not (cell == "rnn" and seed == 2) and not diverged
                rows.append({"run": f"{cell}/{T}/{seed}", "study": "sweep", "task": "adding", "cell": cell,
                             "length": T, "clip": float("nan"), "seed": seed, "hidden": 32,
                             "status": "diverged" if diverged else "ok", "solved": solved,
                             "loss_ratio": 0.01 if solved else 1.1})  # fmt: skip
    return pd.DataFrame(rows)


def test_headline_longest_solved_with_its_interval_and_diverged_shown():
    from rnnbench.study.claims.solved import length_solved, longest_solved
    from rnnbench.study.report.headline import headline

    runs = synthetic_runs()
    rnn = runs[runs["cell"] == "rnn"]
    # 2 of 3 seeds: the interval of the solved fraction (3 seeds: their range, 0 to 1) straddles one half
    assert length_solved(rnn[rnn["length"] == 10], 0.5) is None
    assert longest_solved(rnn, 0.5) is None
    lstm = runs[runs["cell"] == "lstm"]
    assert longest_solved(lstm, 0.5) == 50 and length_solved(lstm[lstm["length"] == 100], 0.5) is False
    text = headline(runs, 0.5)
    assert "| rnn | no clipping | none (10: inconclusive at 3 seeds) | 0.01 (2/3) | 1.1 (0/3) | 1.1 (0/3) |" in text
    assert "| lstm | no clipping | 50 | 0.01 (3/3) | 0.01 (3/3) | 1.1 (0/3), 1 diverged |" in text
    # with more seeds the interval narrows: 9 of 10 seeds solve it decisively
    many = pd.concat([rnn[(rnn["length"] == 10) & (rnn["seed"] == 0)]] * 9 + [rnn[rnn["seed"] == 2].head(1)])
    assert length_solved(many, 0.5) is True


def test_writing_the_report_imports_no_plotting_library():
    """REPORT.md is Markdown: importing its writer must not pull in matplotlib or seaborn (the cell and
    clipping names come from rnnbench.study.tables.labels, the depth profiles from rnnbench.study.tables.aggregate)."""
    import subprocess
    import sys

    code = (
        "import sys, rnnbench.study.report.document\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'seaborn')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_solved_levels_in_report_and_figures_are_the_tasks_own():
    """The "solved" criteria of rnnbench.core.tasks, not copies of their numbers, name the headline's rule
    and draw figure 4's reference lines."""
    from rnnbench.core import tasks
    from rnnbench.study.figures.training import fig4_length_sweep_accuracy, fig4_length_sweep_loss
    from rnnbench.study.report.headline import SOLVED_RULES

    assert f"< {tasks.ADDING_SOLVED_RATIO:g} ×" in SOLVED_RULES["adding"]
    assert f"≥ {tasks.COPY_SOLVED_ACCURACY:g} on the {tasks.COPY_RECALL}" in SOLVED_RULES["copy"]
    runs = synthetic_runs()
    runs = pd.concat([runs, runs.assign(task="copy", run=runs["run"] + "/copy")], ignore_index=True)
    runs = runs.assign(accuracy=0.5, batch=32, optimizer="adam", lr=1e-3, steps=10)

    def levels(fig):
        return {
            round(line.get_ydata()[0], 9) for ax in fig.axes for line in ax.get_lines() if len(line.get_ydata()) == 2
        }

    assert tasks.ADDING_SOLVED_RATIO in levels(fig4_length_sweep_loss(runs))
    assert {tasks.COPY_SOLVED_ACCURACY, round(1 / tasks.N_SYMBOLS, 9)} <= levels(fig4_length_sweep_accuracy(runs))


def schema_enums(node, path=()) -> dict[str, list]:
    """Every ``enum`` in the config schema by its path (``$defs/train/properties/backend``)."""
    found = {}
    if isinstance(node, dict):
        for key, value in node.items():
            found.update({"/".join((*path, "enum")): value} if key == "enum" else schema_enums(value, (*path, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.update(schema_enums(value, (*path, str(i))))
    return found


def test_every_schema_enum_is_a_package_registry():
    """Each enum of the schema, wherever it is, against the registry the package checks the same key
    with: a new enum without a registry here fails, so none can drift from the code."""
    from rnnbench.core.cells import NONLINEARITIES, ORTHOGONAL_MAPS, SPECS
    from rnnbench.core.initialisation import SCHEMES
    from rnnbench.training.dataset import TRAIN_ORDERS

    booleans = [True, False, "true", "false"]  # --config and profiles pass these as strings
    registries = {
        "$defs/cell/anyOf/0": SPECS,  # the built-ins; a user cell by its module:Class or entry point
        "$defs/task": TASKS,
        "$defs/device": DEVICES,
        "$defs/train/properties/optimizer": OPTIMIZERS,
        "$defs/train/properties/clip_mode": CLIPPERS,
        "$defs/train/properties/init": SCHEMES,
        "$defs/train/properties/backend": BACKEND_CHOICES,
        "$defs/train/properties/dtype": DTYPES,
        "$defs/train/properties/probe_dtype": PROBE_DTYPES,
        "$defs/train/properties/nonlinearity": NONLINEARITIES,
        "$defs/train/properties/orthogonal_map": ORTHOGONAL_MAPS,
        "$defs/train/properties/train_order": TRAIN_ORDERS,
        "properties/gains/properties/init": SCHEMES,
        "properties/init_probes/properties/inits/additionalProperties/properties/init": SCHEMES,
        "properties/local_cuda_check": booleans,
        "properties/skip_bad": booleans,
        "properties/save_models": booleans,
    }
    schema = yaml.safe_load(open(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    enums = {path.removesuffix("/enum"): values for path, values in schema_enums(schema).items()}
    assert set(enums) == set(registries), "an enum of the schema has no registry in this test (or one went)"
    for path, values in enums.items():
        assert len(values) == len(set(values)), path
        assert set(values) == set(registries[path]), path
