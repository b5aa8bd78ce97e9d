"""The package's layers, read from its source with ``ast`` (nothing is imported): dependencies run only
downward (core <- training <- study; core <- bench), no private name crosses a module boundary, and no
function is longer than ~80 lines unless its docstring says why. Inside the study layer the same holds
for its stages, one folder each: a stage imports only the stages before it (``STAGES``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rnnbench"

# layer -> the layers it may import from (its own included); None: the top (cli, __main__) may import anything
ALLOWED: dict[str, set[str] | None] = {
    "core": {"core"},
    "training": {"core", "training"},
    "bench": {"core", "bench"},
    "study": {"core", "training", "bench", "study"},
    "top": None,
}
# the study's stages (rnnbench/study/<stage>/) -> the stages each may import from (its own included), in the
# order a study runs: pipeline -> tables -> claims -> figures; the report writes Markdown, so it takes no
# figure module (and no plotting library); the paper studies' report takes every stage before it
STAGES: dict[str, set[str]] = {
    "pipeline": {"pipeline"},
    "tables": {"pipeline", "tables"},
    "claims": {"pipeline", "tables", "claims"},
    "figures": {"pipeline", "tables", "claims", "figures"},
    "report": {"pipeline", "tables", "claims", "report"},
    "papers": {"pipeline", "tables", "claims", "figures", "papers"},
}
# in the study layer but in no stage: the package itself, and the deprecated alias of rnnbench.study.papers
STUDY_TOP = {"rnnbench.study", "rnnbench.study.paper_cpu"}
MAX_LINES = 80
LONG_REASON = "long because"  # a docstring with this phrase says why its function may be longer


def modules(package: Path) -> list[Path]:
    return sorted(package.rglob("*.py"))


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """``rnnbench.core.cells`` -> ``core``; ``rnnbench.cli``, ``rnnbench`` -> ``top``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else "top"


def imports(path: Path, package_root: Path) -> list[tuple[int, str, list[str]]]:
    """Every rnnbench import in ``path``, at any depth (inside functions too): (line, module, names)."""
    here = module_name(path, package_root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names if a.name.split(".")[0] == "rnnbench"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] == "rnnbench":
                found.append((node.lineno, target, [a.name for a in node.names]))
    return found


def import_violations(package: Path = PACKAGE) -> list[str]:
    out = []
    for path in modules(package):
        here = module_name(path, package)
        allowed = ALLOWED[layer_of(here)]
        for line, target, names in imports(path, package):
            # `from rnnbench.study import style` names a module: its layer is the target's
            there = layer_of(target)
            where = f"{path.relative_to(package.parent)}:{line}"
            if allowed is not None and there not in allowed:
                out.append(f"{where}: {layer_of(here)} imports {target} ({there}: upward)")
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and target != here:
                out.append(f"{where}: private name(s) {', '.join(private)} imported from {target}")
    return out


def stage_of(module: str) -> str | None:
    """``rnnbench.study.claims.registry`` -> ``claims``; ``rnnbench.study``, ``rnnbench.study.paper_cpu`` ->
    ``top`` (in the study, in no stage); a module of another layer -> None."""
    parts = module.split(".")
    if parts[:2] != ["rnnbench", "study"]:
        return None
    return parts[2] if len(parts) > 2 and parts[2] in STAGES else "top"


def stage_violations(package: Path = PACKAGE) -> list[str]:
    """Every import of a stage module from a later stage (or from the study's top, the alias), at any
    depth, relative ones too. ``from rnnbench.study import figures`` names the stage it imports."""
    out = []
    for path in modules(package):
        here = stage_of(module_name(path, package))
        if here in (None, "top"):
            continue
        for line, target, names in imports(path, package):
            targets = [f"{target}.{n}" for n in names] if target == "rnnbench.study" and names else [target]
            for t in targets:
                there = stage_of(t)
                if there is not None and there not in STAGES[here]:
                    where = f"{path.relative_to(package.parent)}:{line}"
                    out.append(f"{where}: study stage {here} imports {t} ({there}: not before it)")
    return out


def import_cycles(package: Path = PACKAGE) -> list[list[str]]:
    """Groups of modules that import one another round a circle (at any depth, inside functions too):
    each group's modules could not be understood, or tested, one without the others. ``from pkg import
    mod`` counts as importing ``pkg.mod``."""
    names = {module_name(path, package) for path in modules(package)}
    graph: dict[str, set[str]] = {}
    for path in modules(package):
        here = module_name(path, package)
        targets = set()
        for _, target, imported in imports(path, package):
            targets |= {t for t in [target, *(f"{target}.{n}" for n in imported)] if t in names and t != here}
        graph[here] = targets
    reach = {m: reachable(graph, m) for m in graph}
    circles = {tuple(sorted(n for n in reach[m] if m in reach[n])) for m in graph if m in reach[m]}
    return sorted(list(c) for c in circles)


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    reach, todo = set(), [start]
    while todo:
        for t in graph[todo.pop()] - reach:
            reach.add(t)
            todo.append(t)
    return reach


def long_functions(package: Path = PACKAGE) -> list[str]:
    out = []
    for path in modules(package):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                n = node.end_lineno - first + 1
                if n > MAX_LINES and LONG_REASON not in (ast.get_docstring(node) or ""):
                    out.append(f"{path.relative_to(package.parent)}:{node.lineno} {node.name}: {n} lines")
    return out


def test_imports_only_go_down_the_layers_and_never_name_a_private():
    found = import_violations()
    assert not found, "\n".join(found)


def test_the_study_stages_import_only_the_stages_before_them():
    found = stage_violations()
    assert not found, "\n".join(found)


def test_every_study_module_is_in_a_stage():
    # a new module of the study goes in the folder of its stage (or a new stage, given its place in STAGES)
    for path in modules(PACKAGE):
        name = module_name(path, PACKAGE)
        assert stage_of(name) in (None, *STAGES) or name in STUDY_TOP, path


@pytest.mark.parametrize(
    "where, source, expect",
    [
        ("claims/x.py", "from rnnbench.study.figures import style\n", "claims imports rnnbench.study.figures"),
        ("report/x.py", "def f():\n    from rnnbench.study.figures.training import render\n", "report imports"),
        ("pipeline/x.py", "from ..tables import aggregate\n", "pipeline imports rnnbench.study.tables"),
        ("tables/x.py", "from rnnbench.study import report\n", "tables imports rnnbench.study.report"),
        ("figures/x.py", "import rnnbench.study.paper_cpu\n", "figures imports rnnbench.study.paper_cpu (top"),
        ("papers/x.py", "from rnnbench.study.figures import style\nfrom ..claims import registry\n", None),
        ("report/x.py", "from rnnbench.study.claims.solved import longest_text\nfrom . import closing\n", None),
    ],
)
def test_the_stage_walk_sees_what_it_must(tmp_path, where, source, expect):
    """The checker itself, on a synthetic package: a stage that imports a later stage (at module level, in
    a function, relatively, or by naming the stage from ``rnnbench.study``) or the alias is caught; imports
    of earlier stages and of its own pass."""
    path = tmp_path / "rnnbench" / "study" / where
    path.parent.mkdir(parents=True)
    path.write_text(source)
    found = stage_violations(tmp_path / "rnnbench")
    if expect is None:
        assert found == []
    else:
        assert len(found) == 1 and expect in found[0], found


def test_no_modules_import_one_another_round_a_circle():
    """A measuring instrument (``training.probes``) must not import the driver it measures for
    (``training.train``, ``training.loop``), which imports it: what both need lies below them."""
    found = import_cycles()
    assert not found, "\n".join(" -> ".join(c) for c in found)


def test_the_circle_check_sees_a_circle_through_a_function_level_import(tmp_path):
    root = tmp_path / "rnnbench" / "training"
    root.mkdir(parents=True)
    (root / "loop.py").write_text("from rnnbench.training.probes import probe\n")
    (root / "probes.py").write_text("def f():\n    from rnnbench.training import train\n")
    (root / "train.py").write_text("from . import loop\n")
    (root / "config.py").write_text("from rnnbench.training import loop\n")  # into the circle, not in it
    assert import_cycles(tmp_path / "rnnbench") == [
        ["rnnbench.training.loop", "rnnbench.training.probes", "rnnbench.training.train"]
    ]


def test_no_function_is_longer_than_80_lines_without_a_reason():
    found = long_functions()
    assert not found, "\n".join(found)


def test_every_module_is_in_a_layer():
    # a new folder must be given its place in ALLOWED before it can hold code
    for path in modules(PACKAGE):
        layer = layer_of(module_name(path, PACKAGE))
        assert layer in ALLOWED, path


@pytest.mark.parametrize(
    "source, expect",
    [
        ("from rnnbench.study.pipeline.sweep import expand\n", "upward"),
        ("def f():\n    import rnnbench.bench.flops\n", "upward"),
        ("from rnnbench.core.cells import _Cell\n", "private"),
        ("from ..study import sweep\n", "upward"),
        ("from rnnbench.core import cells\nfrom . import config\n", None),
    ],
)
def test_the_import_walk_sees_what_it_must(tmp_path, source, expect):
    """The checker itself: a training module that imports upward (at module level, in a function,
    relatively) or takes a private name is caught; downward imports pass."""
    root = tmp_path / "rnnbench"
    (root / "training").mkdir(parents=True)
    (root / "training" / "x.py").write_text(source)
    found = import_violations(root)
    if expect is None:
        assert found == []
    else:
        assert len(found) == 1 and expect in found[0], found


def test_the_length_check_accepts_a_reason(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    root = tmp_path / "rnnbench" / "core"
    root.mkdir(parents=True)
    (root / "a.py").write_text(f"def f():\n{body}\n")
    (root / "b.py").write_text(f'def g():\n    """long because: a table."""\n{body}\n')
    found = long_functions(tmp_path / "rnnbench")
    assert len(found) == 1 and "a.py" in found[0] and " f:" in found[0]
