"""MkDocs hook (``mkdocs.yml``: ``hooks:``): the reference pages, generated from the code at every build.

The command line's ``--help`` (``rnnbench.cli.build_parser``), the config schema
(``workflow/schemas/config.schema.yaml``) and the claims registry (``rnnbench.study.claims.registry.CLAIMS``) are
written into the site as ``reference/*.md`` from the sources themselves, so the documentation cannot
drift from them. Nothing is written into ``docs/``: the pages exist only in the built site.
"""

from __future__ import annotations

import argparse
import html
import json
import os
from pathlib import Path

import yaml
from mkdocs.structure.files import File, Files

from rnnbench.cli import build_parser
from rnnbench.study.claims import registry
from rnnbench.study.claims.record import rule_text
from rnnbench.study.tables.mdtable import md_table

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
HELP_COLUMNS = "100"  # argparse wraps --help to the terminal's width: one fixed width, one stable page
GENERATED = "Generated from {source} when this site is built; edit the source, not this page."
WIDE = "---\nhide:\n  - toc\n---\n\n"  # Material front matter: a wide table needs the table of contents' column


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands' parsers by name, in the order ``--help`` lists them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_page() -> str:
    """``rnnbench --help`` and every subcommand's ``--help``, verbatim."""
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        parser = build_parser()
        blocks = [f"## rnnbench\n\n```text\n{parser.format_help()}```"]
        blocks += [
            f"## rnnbench {name}\n\n```text\n{sub.format_help()}```" for name, sub in subcommands(parser).items()
        ]
    finally:
        if before is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = before
    intro = GENERATED.format(source="`rnnbench/cli.py` (`build_parser`)")
    return (
        "# Command-line reference\n\n"
        + intro
        + " The guide: [the command line](../guide/cli.md).\n\n"
        + "\n\n".join(blocks)
        + "\n"
    )


def schema_type(spec: dict) -> str:
    """A schema node's type in a few words: its enum, its type(s), or the definition it refers to."""
    if "enum" in spec:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in spec["enum"])
    if "$ref" in spec:
        return f"`{spec['$ref'].rsplit('/', 1)[-1]}` (see the schema)"
    if "anyOf" in spec or "oneOf" in spec:
        return " or ".join(schema_type(s) for s in spec.get("anyOf", spec.get("oneOf")))
    kind = spec.get("type", "")
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def schema_rows(properties: dict, required: list, prefix: str = "") -> list[list[str]]:
    """One row per key, the keys of nested objects after their parent's (``sweep.tasks``)."""
    rows = []
    for key, spec in properties.items():
        name = prefix + key
        what = html.escape(" ".join(str(spec.get("description", "")).split()), quote=False)
        rows.append([f"`{name}`", "yes" if key in required else "", schema_type(spec), what])
        if isinstance(spec.get("properties"), dict):
            rows += schema_rows(spec["properties"], spec.get("required", []), name + ".")
    return rows


def schema_page() -> str:
    """Every key the config schema allows, as a table, then the schema itself."""
    text = SCHEMA.read_text(encoding="utf-8")
    schema = yaml.safe_load(text)
    table = md_table(["key", "required", "type", "what"], schema_rows(schema["properties"], schema.get("required", [])))
    return (
        WIDE
        + "# Config schema reference\n\n"
        + GENERATED.format(source="`workflow/schemas/config.schema.yaml`")
        + " The guide: [configs and the schema](../guide/configs.md).\n\n"
        + " ".join(str(schema.get("description", "")).split())
        + "\n\n## Keys\n\n"
        + table
        + "\n\n## The schema\n\n```yaml\n"
        + text
        + "```\n"
    )


def claims_page() -> str:
    """The registry's rule for trained claims, then one row per claim."""
    rows = [
        [f"`{c.key}`", c.source, c.says, c.settings, c.rule, c.checked_by or "–", ", ".join(c.checked_in)]
        for c in registry.CLAIMS
    ]
    header = ["key", "source", "claim", "paper's settings", "rule", "checked by", "judged in"]
    return (
        WIDE
        + "# Claims registry reference\n\n"
        + GENERATED.format(source="`rnnbench/study/claims/registry.py` (`CLAIMS`)")
        + " How the studies judge them: [the paper studies](../guide/paper-studies.md).\n\n"
        + "## The rule for trained claims\n\n"
        + rule_text()
        + f"\n\n## Every claim ({len(rows)})\n\n"
        + md_table(header, rows)
        + "\n"
    )


PAGES = {"reference/cli.md": cli_page, "reference/config-schema.md": schema_page, "reference/claims.md": claims_page}


def on_files(files: Files, config) -> Files:
    """MkDocs event: add the generated reference pages to the site's files."""
    for path, make in PAGES.items():
        files.append(File.generated(config, path, content=make()))
    return files
