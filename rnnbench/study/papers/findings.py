"""A paper report's opening, "Findings": a sentence per trained claim of the registry, built from the same claim
rows as the report's tables (``rnnbench.study.claims.paper_claims.claim_rows``), so other tables say otherwise."""

from __future__ import annotations

from rnnbench.study.tables.mdtable import g3, joined


def _budgets(rows: list[dict]) -> str:
    """'**agrees** at 10,000 and 20,000 steps (mean loss/baseline 0.026, 0.0028)' per verdict, in step order."""
    by: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: r["budget"].step):
        by.setdefault(r["verdict"].split(":")[0], []).append(r)
    return ", ".join(
        f"**{verdict}** at {joined([format(r['budget'].step, ',') for r in rs])} steps "
        f"({', '.join(g3(r['interval'].estimate) for r in rs)})"
        for verdict, rs in by.items()
    )


def paper_findings(rows: list[dict], anchors: dict[str, str], extra: list[str] = ()) -> str:
    """The paper report's "Findings": a sentence per trained claim (task, length, the paper's cell), each model
    that checks it with its verdicts at each budget and the seeds' mean loss / baseline there, linked to the
    claim's table (``anchors``: task -> anchor); then ``extra`` sentences (the report's other verdicts)."""
    sentences = []
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["claim"].task, r["claim"].length, r["claim"].cell), []).append(r)
    for (task, length, _), rs in groups.items():
        claim = rs[0]["claim"]
        models: dict[str, list[dict]] = {}
        several = len({r.get("batch") for r in rs}) > 1  # a model at two batch sizes: each named by its batch
        for r in rs:
            models.setdefault(r["name"] + (f", batch {r['batch']}" if several else ""), []).append(r)
        per_model = "; ".join(f"{m} ({mr[0]['interval'].n} seeds): {_budgets(mr)}" for m, mr in models.items())
        link = f" ([table]({anchors[task]}))" if task in anchors else ""
        sentences.append(f"**{task} T = {length}**, paper: {claim.says}. Mean loss / baseline: {per_model}{link}.")
    sentences += list(extra)
    body = "\n".join(f"- {s}" for s in sentences) or "_This study's tables hold none of the registry's claims._"
    return f"## Findings\n\n{body}\n\n"
