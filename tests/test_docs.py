"""The README is the front door: short, its two commands unchanged, every link resolving, and no
development measurement (a date, a commit) in it. The site's own links are checked by
``mkdocs build --strict`` in .ci/run; the README lies outside the site, so it is checked here."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
QUICK_START = """```bash
# 1. install and run the main job: the default study (results/tables, results/figures, results/REPORT.md)
python3 -m venv .venv && .venv/bin/pip install -c constraints-cpu.txt -e '.[test]' && .venv/bin/snakemake --cores all
# 2. install and run the tests
python3 -m venv .venv && .venv/bin/pip install -c constraints-cpu.txt -e '.[test]' && .venv/bin/pytest -q
```"""
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """A heading's anchor as GitHub and MkDocs's toc both make it for plain headings: lower case, punctuation
    dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+\s+(.+)$", path.read_text(encoding="utf-8"), re.M)}


def test_readme_is_short_and_keeps_its_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    assert QUICK_START in text


def test_readme_holds_no_dates_or_commits():
    text = README.read_text(encoding="utf-8")
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text)
    assert not re.search(r"\bcommit [0-9a-f]{7,40}\b", text)


def test_every_readme_link_resolves():
    for target in LINK.findall(README.read_text(encoding="utf-8")):
        if target.startswith(("http:", "https:", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        file = (ROOT / path).resolve()
        assert file.exists(), f"README links {target!r}: no such file"
        if anchor:
            assert anchor in anchors(file), f"README links {target!r}: no such heading in {path}"


def test_every_docs_page_is_in_the_nav():
    """A page under docs/ that the nav does not list is unreachable from the site (mkdocs warns; this names it)."""

    def pages(entries) -> set[str]:
        out: set[str] = set()
        for entry in entries:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            out |= pages(value) if isinstance(value, list) else {value}
        return out

    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert on_disk <= pages(config["nav"]), sorted(on_disk - pages(config["nav"]))


def test_config_readme_counts_each_studys_runs_as_its_plan_does():
    """config/README.md's table said 146 runs for a default study of 176 for weeks: each row's count is
    the plan's own, so a sweep edited without its row fails here."""
    from rnnbench.study.pipeline.plan import make_plan

    rows = re.findall(r"^\| `([\w-]+\.yaml)` \| [^|]+ \| (\d+) \|", (ROOT / "config" / "README.md").read_text(), re.M)
    assert {name for name, _ in rows} == {p.name for p in (ROOT / "config").glob("*.yaml")}
    for name, runs in rows:
        config = yaml.safe_load((ROOT / "config" / name).read_text())
        config["local_cuda_check"] = False  # paper-gpu.yaml asks for CUDA; its plan is the same without one
        assert len(make_plan(config, log=lambda _: None).runs) == int(runs), name
