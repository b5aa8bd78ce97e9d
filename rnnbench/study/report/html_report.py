"""Self-contained HTML pages for the Snakemake report: REPORT.md rendered with its figures embedded,
and a CSV table as a browsable HTML table.

``snakemake --report`` shows images, HTML and PDF inline but offers Markdown and CSV only as
downloads, and a downloaded REPORT.md has no figures beside it. An HTML file with every image
inlined as a data URI opens inside the report (an iframe) and anywhere it is copied to.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
from pathlib import Path

import markdown
import pandas as pd

from rnnbench.core.storage import atomic_write

# Enough for reading on a screen; the 300-dpi originals stay in results/figures/ and in the report.
EMBED_WIDTH = 1400

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; line-height: 1.45;
       max-width: 1100px; margin: 1.5em auto; padding: 0 1em; color: #1f2328; }
h1, h2, h3 { line-height: 1.2; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .8em 0; font-size: 0.86em; }
th, td { border: 1px solid #d0d7de; padding: .25em .55em; vertical-align: top; }
th { background: #f6f8fa; text-align: left; }
tbody tr:nth-child(even) { background: #fbfcfd; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
code { background: #f6f8fa; padding: 0 .2em; border-radius: 3px; }
.scroll { overflow: auto; max-height: 85vh; border: 1px solid #d0d7de; }
.scroll table { margin: 0; font-size: 0.8em; white-space: nowrap; }
.scroll thead th { position: sticky; top: 0; z-index: 1; box-shadow: 0 1px 0 #d0d7de; }
.scroll tbody th { position: sticky; left: 0; background: #f6f8fa; }
.note { color: #59636e; font-size: .9em; }
"""


def page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def data_uri(path: str | os.PathLike, width: int = EMBED_WIDTH) -> str:
    """A PNG as a data URI, scaled down to ``width`` pixels and 256 colours (small, still sharp)."""
    from PIL import Image

    img = Image.open(path).convert("RGB")
    if img.width > width:
        img = img.resize((width, round(img.height * width / img.width)), Image.LANCZOS)
    buf = io.BytesIO()
    img.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class MissingFigure(FileNotFoundError):
    """REPORT.md links a figure that does not exist (the HTML would show a broken image)."""


def embed_images(body: str, base: Path) -> str:
    """Replace every ``<img src="relative/path.png">`` with the image itself, as a data URI; a
    missing file is an error rather than a broken image in the report."""

    def inline(m: re.Match) -> str:
        src = html.unescape(m.group(2))
        if src.startswith(("data:", "http:", "https:")):
            return m.group(0)
        path = (base / src).resolve()
        if not path.is_file():
            raise MissingFigure(f"the report links {src!r}, which is not a file (looked for {path})")
        return f"{m.group(1)}{data_uri(path)}{m.group(3)}"

    return re.sub(r'(<img\b[^>]*?\bsrc=")([^"]+)(")', inline, body)


def markdown_page(md_path: str | os.PathLike, out: str | os.PathLike, title: str | None = None) -> None:
    """Render the Markdown file ``md_path`` to one self-contained HTML file ``out``: tables as HTML
    tables, images (relative to the Markdown file) embedded."""
    md_path = Path(md_path)
    text = md_path.read_text(encoding="utf-8")
    body = markdown.markdown(text, extensions=["tables", "fenced_code", "sane_lists"], output_format="html")
    body = embed_images(body, md_path.parent)
    heading = re.search(r"^#\s+(.+)$", text, re.M)
    doc = page(title or (heading.group(1) if heading else md_path.stem), body)
    atomic_write(out, lambda f: f.write(doc))


def table_page(csv_path: str | os.PathLike, out: str | os.PathLike, title: str, note: str = "") -> None:
    """The CSV ``csv_path`` as one browsable HTML table: every row and column, the header and the
    first column pinned while scrolling; empty cells left empty."""
    df = pd.read_csv(csv_path)
    table = df.to_html(index=False, na_rep="", border=0, escape=True, float_format=lambda x: f"{x:.6g}")
    head = f"<h1>{html.escape(title)}</h1>\n<p class='note'>{len(df)} rows × {len(df.columns)} columns"
    head += f" from <code>{html.escape(os.path.basename(csv_path))}</code>. {html.escape(note)}</p>\n"
    doc = page(title, head + f'<div class="scroll">\n{table}\n</div>')
    atomic_write(out, lambda f: f.write(doc))
