"""HTML export of an executed report notebook: no code, self-contained, no external resources.

nbconvert's ``HTMLExporter`` with the ``basic`` template renders only the cell outputs
(``exclude_input``, prompts and markdown excluded: markdown cells are notes for the notebook reader,
the report's headings come from the section outputs in the chosen language). The result is wrapped
in a small page shell of our own with inline CSS, so the file opens offline and the browser loads
nothing from the network (the ``lab`` template would fetch require.js and MathJax from a CDN).

Layout. On a phone (390 CSS pixels wide) the page needs no horizontal scrolling: every table sits
in a box of its own that scrolls sideways (``.pe-scroll``), figures shrink to the width, long words
wrap. In print (the A4 PDFs of :mod:`analysis.reports.pdf`) the navigation is hidden, tables,
figures and the banner are never cut across pages (``break-inside: avoid``), headings stay with
what follows them, and the bundled CJK font comes first so that the PDF embeds it.
"""

from __future__ import annotations

import contextlib
import html
import re
from typing import Any

FONT_FILE = "fonts/pe-cjk-subset.otf"
FONT_FAMILY = "PE Noto Sans CJK SC subset"

PAGE_CSS = """
@font-face { font-family: "%(family)s"; src: url("%(file)s") format("opentype"); font-display: swap; }
:root { --accent: #c0392b; --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
    "WenQuanYi Micro Hei", "%(family)s", "Helvetica Neue", Arial, sans-serif;
  line-height: 1.6; font-size: 15px; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 1.7em; margin: 0.2em 0 0.4em; }
h2 { font-size: 1.3em; margin: 1.6em 0 0.5em; padding-bottom: 0.2em; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: right; }
td { white-space: nowrap; }
th { background: #f5f7fa; }
td:first-child, th:first-child { text-align: left; }
.pe-banner { background: #fff4e5; border: 2px solid #e67e22; color: #7a3e00; padding: 10px 14px;
  font-weight: bold; margin: 10px 0; border-radius: 4px; }
.pe-provenance { display: flex; flex-wrap: wrap; gap: 4px 28px; color: var(--muted); font-size: 0.88em; margin: 0; }
.pe-provenance dt { font-weight: bold; display: inline; }
.pe-provenance dt::after { content: "："; }
.pe-provenance dd { display: inline; margin: 0; }
.pe-note { color: var(--muted); font-size: 0.88em; }
.pe-missing { background: #f5f7fa; border-left: 4px solid #9aa5b1; padding: 8px 12px; }
.pe-figure { max-width: 100%; height: auto; display: block; margin: 0.8em 0; }
.pe-failed { color: var(--accent); font-weight: bold; }
nav.pe-nav { font-size: 0.9em; margin-bottom: 8px; }
a { color: #1f5f99; }
img { max-width: 100%; height: auto; }
p, li, dd, .pe-banner { overflow-wrap: break-word; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.pe-scroll { overflow-x: auto; max-width: 100%; margin: 0.6em 0; -webkit-overflow-scrolling: touch; }
.pe-scroll > table { margin: 0; }
@media (max-width: 600px) {
  main { padding: 12px 12px 48px; }
  h1 { font-size: 1.35em; }
  h2 { font-size: 1.15em; }
  th, td { padding: 4px 6px; }
}
@media print {
  @page { size: A4; }
  body { font-family: "%(family)s", "Noto Sans CJK SC", sans-serif; font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav.pe-nav { display: none; }
  .pe-scroll { overflow: visible; }
  table, tr, img, figure, .pe-figure, .pe-banner, .pe-provenance, .pe-missing { break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; }
  th, td { padding: 2px 5px; }
  td { white-space: normal; }
  a { color: inherit; text-decoration: none; }
}
""".replace("%(family)s", FONT_FAMILY).replace("%(file)s", FONT_FILE)


def exporter() -> Any:
    """An ``HTMLExporter`` that renders outputs only (no code, no prompts, no markdown)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_markdown=True,
        exclude_raw=True,
        exclude_unknown=True,
    )


_TITLE = re.compile(r"<h1>(.*?)</h1>", re.S)


#: the meta tag that carries a page's running header (county, dataset, data fingerprint) for
#: its PDF (:mod:`analysis.reports.pdf`)
RUNNING_HEADER = "pairing-eval-running-header"
_RUNNING = re.compile(rf'<meta name="{RUNNING_HEADER}" content="([^"]*)">')


def running_header(page_html: str) -> str:
    """The running-header text a page carries (empty when it has none)."""
    m = _RUNNING.search(page_html[:8192])
    return html.unescape(m.group(1)) if m else ""


def page(body: str, *, title: str, language: str, key: str = "", nav: str = "",
         running: str = "") -> str:
    """Wrap an HTML fragment into a complete page. ``title`` and ``running`` (the PDF's running
    header) are escaped here; ``body`` and ``nav`` must already be safe HTML."""
    lang = "zh-CN" if language == "zh" else "en"
    meta_key = f'<meta name="pairing-eval-key" content="{html.escape(key, quote=True)}">' if key else ""
    meta_run = (f'<meta name="{RUNNING_HEADER}" content="{html.escape(running, quote=True)}">\n'
                if running else "")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{meta_key}\n{meta_run}<title>{html.escape(title)}</title>\n<style>{PAGE_CSS}</style>\n"
        f"</head>\n<body>\n<main>\n{nav}{body}\n</main>\n</body>\n</html>\n"
    )


_TABLE = re.compile(r"<table\b.*?</table>", re.S)


def scroll_tables(body: str) -> str:
    """Every table in a box of its own that scrolls sideways (``.pe-scroll``): a wide table
    scrolls inside it on a phone, the page does not (the report's tables are never nested)."""
    return _TABLE.sub(lambda m: f"<div class='pe-scroll'>{m.group(0)}</div>", body)


def notebook_to_page(nb: Any, *, language: str, key: str, nav: str = "", running: str = "") -> str:
    """Export an executed notebook to a self-contained report page (``running``: the running
    header of its PDF)."""
    body, _ = exporter().from_notebook_node(nb)
    m = _TITLE.search(body)
    title = html.unescape(re.sub(r"<[^>]+>", "", m.group(1))) if m else "pairing-eval report"
    return page(scroll_tables(body), title=title, language=language, key=key, nav=nav,
                running=running)


def visible_text(page_html: str) -> str:
    """The characters a browser will draw for ``page_html`` (styles, images and tags removed)."""
    s = re.sub(r"<style>.*?</style>", "", page_html, flags=re.S)
    s = re.sub(r"<img[^>]*>", "", s)
    return html.unescape(re.sub(r"<[^>]+>", "", s))


def write_font_subset(out_dir: Any) -> Any:
    """Write ``fonts/pe-cjk-subset.otf`` beside the pages: the bundled Noto Sans CJK SC cut down
    to the characters the pages in ``out_dir`` use (about 0.2 MB instead of 16 MB), so Chinese
    renders on a machine with no CJK system font. Rebuilt from every page in the folder each run."""
    import io
    from pathlib import Path

    from fontTools import subset
    from fontTools.ttLib import TTFont

    from ..plots import cjk_font_path

    out_dir = Path(out_dir)
    # beyond the pages' text: the PDFs' running headers and page-number footers
    chars = set("0123456789%.,:;()[]<>-+·—–“”‘’：；，。、（）《》？！/第页共PageofP")
    for f in sorted(out_dir.glob("*.html")):
        text = f.read_text(encoding="utf-8")
        chars |= set(visible_text(text)) | set(running_header(text))
    chars = {c for c in chars if not c.isspace()}
    target = out_dir / FONT_FILE
    listing = target.with_suffix(".chars")
    if target.exists() and listing.exists() and chars <= set(listing.read_text(encoding="utf-8")):
        return target  # the existing subset already covers every character
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    font = TTFont(str(cjk_font_path()), lazy=True)
    sub = subset.Subsetter(options)
    sub.populate(text="".join(sorted(chars)))
    sub.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    target.parent.mkdir(parents=True, exist_ok=True)
    # the listing goes first: a subset without its listing is simply rebuilt next time
    with contextlib.suppress(FileNotFoundError):
        listing.unlink()
    write_atomic(target, buf.getvalue())
    write_atomic(listing, "".join(sorted(chars)).encode("utf-8"))
    return target


def write_atomic(path: Any, data: bytes) -> None:
    """Write ``path`` through ``<path>.part`` and a rename, so that a reader sees the old file or
    the new one; on any error (disk full, read-only folder, an interruption) the ``.part`` file is
    removed and the error raised. Every file the report command writes goes through here."""
    import os
    from pathlib import Path

    path = Path(path)
    part = path.with_name(path.name + ".part")
    try:
        part.write_bytes(data)
        os.replace(part, path)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        raise


_KEY = re.compile(r'<meta name="pairing-eval-key" content="([^"]*)">')


def read_key(path: Any) -> str | None:
    """The up-to-date key stored in a report page, or ``None``."""
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    m = _KEY.search(head)
    return html.unescape(m.group(1)) if m else None
