"""`compare_studies.py --conclusions`: a report's verdicts and headline read back, keyed stably, compared.

The real reports in tests/data/conclusions are copies (the default study's REPORT.md of commit 0968572,
timed 2026-12-04, and docs/paper-cpu/REPORT.md of commit f6c440b), so that these tests do not move when
the reports' wording is changed; the values checked below were read off those files, not computed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rnnbench.study.report.conclusions import (
    ReportError,
    compare_conclusions,
    conclusions,
    find_report,
    read_conclusions,
    verdict_word,
)
from rnnbench.study.tables.mdtable import md_table, md_tables

DATA = Path(__file__).parent / "data" / "conclusions"
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_studies.py"

SYNTHETIC = """# a report

## Headline: the longest length each cell solves

### adding (solved: MSE < 0.1 × baseline)

| cell | clipping | longest T solved | T=10 | T=50 |
|---|---|---|---|---|
| lstm | clip 1 | 50 | 0.001 (3/3) | 0.008 (3/3) |
| rnn | no clipping | none | 0.1 (1/3) | 1.2 (0/3) |

### copy (solved: accuracy ≥ 0.9)

| cell | clipping | longest T solved | T=10 | T=50 |
|---|---|---|---|---|
| lstm | clip 1 | none | 0.9 (0/3) | 1 (0/3) |
| rnn | no clipping | none | 1 (0/3) | 1 (0/3) |

```bash
# not a heading: a shell comment in a fence
| not | a table |
```

## Comparison with the literature

| source | claim | this run | verdict |
|---|---|---|---|
| Pascanu 2013 | vanishes when \\|f′·w\\| < 1 | ×0.546 per step | **agrees (ratio 0.55, 3 seeds)** |
| Bai 2018 | GRU beats LSTM | GRU T = 100 | not comparable at this scale |
"""


def test_a_synthetic_report_keys_each_conclusion_by_heading_row_and_column():
    found = conclusions(SYNTHETIC)
    assert found == {
        "headline | adding | lstm | clip 1 | longest T solved": "50",
        "headline | adding | rnn | no clipping | longest T solved": "none",
        # equal rows under another heading stay apart
        "headline | copy | lstm | clip 1 | longest T solved": "none",
        "headline | copy | rnn | no clipping | longest T solved": "none",
        # the escaped pipe stays inside the claim (read back as a pipe), ** removed, evidence kept
        "comparison with the literature | Pascanu 2013 | vanishes when |f′·w| < 1 | verdict": "agrees (ratio 0.55, 3 seeds)",
        "comparison with the literature | Bai 2018 | GRU beats LSTM | verdict": "not comparable at this scale",
    }


def test_a_flipped_verdict_is_reported_with_both_texts_and_new_evidence_is_not():
    a = conclusions(SYNTHETIC)
    rounding = conclusions(SYNTHETIC.replace("ratio 0.55, 3 seeds", "ratio 0.56, 3 seeds"))
    assert compare_conclusions(a, rounding) == []
    flipped = conclusions(SYNTHETIC.replace("**agrees (ratio 0.55", "**disagrees (ratio 1.2"))
    (line,) = compare_conclusions(a, flipped)
    assert line.startswith("differs: comparison with the literature | Pascanu 2013 | vanishes when |f′·w| < 1")
    assert "'agrees (ratio 0.55, 3 seeds)' -> 'disagrees (ratio 1.2, 3 seeds)'" in line
    longer = conclusions(SYNTHETIC.replace("| lstm | clip 1 | 50 |", "| lstm | clip 1 | 100 |"))
    assert compare_conclusions(a, longer) == [
        "differs: headline | adding | lstm | clip 1 | longest T solved: '50' -> '100'"
    ]


def test_rows_only_in_one_report_are_named_on_their_side():
    a = conclusions(SYNTHETIC)
    b = conclusions(SYNTHETIC.replace("| Bai 2018 | GRU beats LSTM |", "| Bai 2018 | GRU solves T = 600 |"))
    assert compare_conclusions(a, b) == [
        "only in A: comparison with the literature | Bai 2018 | GRU beats LSTM | verdict: not comparable at this scale",
        "only in B: comparison with the literature | Bai 2018 | GRU solves T = 600 | verdict: not comparable at this scale",
    ]


@pytest.mark.parametrize(
    ("text", "word"),
    [("agrees (ratio 0.01–0.02, 2 seeds)", "agrees"), ("inconclusive at 3 seeds", "inconclusive at 3 seeds"),
     ("disagrees; not at the paper's training length", "disagrees; not at the paper's training length"),
     ("not comparable (the model differs: peephole)", "not comparable")],
)  # fmt: skip
def test_the_conclusion_is_the_verdict_before_its_evidence(text, word):
    assert verdict_word(text) == word


def test_the_reader_gives_back_what_the_writer_wrote():
    cells = [["Bengio 1994", "a | b and `c|d`", "x \\| y"], ["multi\nline", "", "|"]]
    (table,) = md_tables("## h\n\n" + md_table(["source", "claim", "verdict"], cells) + "\n")
    assert table.headings == ("h",)
    assert table.rows == [["Bengio 1994", "a | b and `c|d`", "x | y"], ["multi line", "", "|"]]


def test_an_unescaped_pipe_in_a_conclusion_table_is_refused_with_its_line():
    broken = "## lit\n\n| source | claim | verdict |\n|---|---|---|\n| P | when |f| < 1 | agrees |\n"
    with pytest.raises(ReportError, match=r"x\.md, line 5: a row of 5 cells under a header of 3"):
        conclusions(broken, "x.md")
    # asked to, the row is left out and said, and the other rows are still read
    unreadable: list[str] = []
    found = conclusions(broken + "| Q | fine | agrees |\n", "x.md", unreadable)
    assert found == {"lit | Q | fine | verdict": "agrees"}
    assert len(unreadable) == 1 and unreadable[0].startswith("x.md, line 5: a row of 5 cells")


def test_the_default_studys_report_states_its_headline_and_literature_verdicts():
    _, found = read_conclusions(DATA / "default-REPORT.md")
    assert len(found) == 27  # 14 headline rows (7 cells × clipping, 2 tasks) and 13 literature claims
    assert found["headline | adding | gru | clip 1 | longest T solved"] == "100"
    assert found["headline | adding | rnn | no clipping | longest T solved"] == "none"
    assert found["headline | copy | orthogonal | no clipping | longest T solved"] == "100"
    key = (
        "comparison with the literature | Hochreiter 1991; Pascanu et al. 2013 §2.1 | the tanh RNN's gradient "
        "vanishes exponentially with the time lag when |f′·w| < 1 | verdict"
    )
    assert found[key] == "agrees"
    assert sum(v == "not comparable at this scale" for v in found.values()) == 3


def test_the_paper_cpu_report_states_its_claim_verdicts():
    _, found = read_conclusions(DATA / "paper-cpu-REPORT.md")
    assert len(found) == 19
    assert found["claim 1 — adding problem | 100 | LSTM | verdict"] == "disagrees; not at the paper's training length"
    assert found["claim 2 — copy memory, T = 100 | 100 | tanh RNN | verdict"] == "agrees"
    assert found["claim 4 — gradient at initialisation | LSTM | verdict"] == (
        "not comparable at this length (T = 1000: default study)"
    )
    # two tables under one heading, told apart by their identifying columns (gain; optimizer and clipping)
    assert found["claim 5 — Pascanu, Mikolov & Bengio 2013 | 0.9 | verdict"] == "agrees"
    assert found["claim 5 — Pascanu, Mikolov & Bengio 2013 | sgd | none | verdict"] == "agrees"


def test_a_study_directory_a_report_directory_or_a_file(tmp_path):
    study, docs = tmp_path / "study" / "results", tmp_path / "docs"
    study.mkdir(parents=True)
    docs.mkdir()
    for d in (study, docs):
        shutil.copy(DATA / "paper-cpu-REPORT.md", d / "REPORT.md")
    assert find_report(tmp_path / "study") == study / "REPORT.md"
    assert find_report(docs) == docs / "REPORT.md"
    assert find_report(DATA / "paper-cpu-REPORT.md") == DATA / "paper-cpu-REPORT.md"
    with pytest.raises(ReportError, match="no report there"):
        find_report(tmp_path)
    (tmp_path / "notes.md").write_text("# notes\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    with pytest.raises(ReportError, match="no conclusions found"):
        read_conclusions(tmp_path / "notes.md")


def compare_cli(a: Path, b: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--conclusions", str(a), str(b)], capture_output=True, text=True, timeout=120
    )


def test_the_command_line_says_same_or_lists_the_flips(tmp_path):
    a, b = tmp_path / "one_thread" / "results", tmp_path / "two_threads" / "results"
    for d in (a, b):
        d.mkdir(parents=True)
        shutil.copy(DATA / "default-REPORT.md", d / "REPORT.md")
    same = compare_cli(a.parent, b.parent)
    assert same.returncode == 0, same.stderr
    assert same.stdout.splitlines()[-1] == "same: 27 conclusions"
    text = (b / "REPORT.md").read_text()
    flipped = text.replace("| gru | clip 1 | 100 |", "| gru | clip 1 | 50 |", 1)
    assert flipped != text
    (b / "REPORT.md").write_text(flipped)
    diff = compare_cli(a.parent, b.parent)
    assert diff.returncode == 1, diff.stderr
    assert "differs: headline | adding | gru | clip 1 | longest T solved: '100' -> '50'" in diff.stdout
    assert "DIFFERENT: 1 of 27 conclusions" in diff.stdout
    # a report from before pipes were escaped (the literature row of |f′·w|): never "same"
    old_style = text.replace("\\|f′·w\\|", "|f′·w|")
    assert old_style != text
    (b / "REPORT.md").write_text(old_style)
    partial = compare_cli(a.parent, b.parent)
    assert partial.returncode == 1, partial.stderr  # A's row of that claim is missing from B
    (a / "REPORT.md").write_text(old_style)
    partial = compare_cli(a.parent, b.parent)
    assert partial.returncode == 2, partial.stderr
    assert "no difference in 26 conclusions, but 2 row(s) could not be read" in partial.stdout
    assert "same:" not in partial.stdout
    missing = compare_cli(a.parent, tmp_path / "nowhere")
    assert missing.returncode == 2 and "no report there" in missing.stderr
