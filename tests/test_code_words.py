"""No code words in a Chinese report: every zh page of the demo (each county and the city, as
``pairing-eval report`` writes them) is read as a browser shows it and scanned for identifiers —
snake_case names, ``log1p``, lowercase English words and runs of English words. The references
and sources list (``pe-references``) and the provenance line (``pe-provenance``: dataset name,
package version, UTC time) are left out: they cite works and name files on purpose. Names that
come from the data (institutions, units, counties) are the data's and are left out too.

The test fails listing every offender with its page.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from analysis.data import load_processed
from analysis.reports import run_reports

#: classes whose text is not scanned (with everything inside them)
EXEMPT_CLASSES = {"pe-references", "pe-provenance"}
SNAKE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b")
FUNCTION = re.compile(r"\blog1p\b|\b[a-z]+\d*\(")
LOWER_WORD = re.compile(r"(?<![A-Za-z'’])[a-z]{3,}(?![A-Za-z])")
ENGLISH_RUN = re.compile(r"\b[A-Za-z][A-Za-z'’-]+(?:[ ]+[A-Za-z][A-Za-z'’-]+)+\b")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _Visible(HTMLParser):
    """Text a browser draws: no script or style, no exempt blocks, no tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: does it hide its content
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        classes = set((dict(attrs).get("class") or "").split())
        self.stack.append(tag in ("script", "style", "head") or bool(classes & EXEMPT_CLASSES))

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not any(self.stack):
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    parser.close()
    return "\n".join(parser.parts)


def code_words(text: str, data_names: list[str] = ()) -> list[str]:
    """The identifiers and English in ``text`` (after removing the data's own names)."""
    for name in sorted(data_names, key=len, reverse=True):
        text = text.replace(name, " ")
    found: list[str] = []
    for rx in (SNAKE, FUNCTION, ENGLISH_RUN, LOWER_WORD):
        for m in rx.finditer(text):
            hit = m.group(0)
            if not any(hit in f for f in found):
                found.append(hit)
    return found


def data_names(processed) -> list[str]:
    t = processed.tables
    names = []
    for table, col in (("institutions", "institution_name"), ("units", "unit_name"),
                       ("counties", "county_name"), ("counties", "county_name_en")):
        if col in t[table]:
            names += [str(v) for v in t[table][col].dropna()]
    return names


@pytest.fixture(scope="module")
def zh_pages(demo_root) -> dict[str, str]:
    """Every Chinese page the report command writes for the demo: each county, the city, the
    index (pages already written and up to date are reused)."""
    out = run_reports("demo", jobs=2, root=demo_root, progress=False)
    assert out.ok, out.render()
    d = demo_root / "reports" / "demo"
    pages = {p.name: p.read_text(encoding="utf-8") for p in sorted(d.glob("*.html"))}
    codes = sorted(load_processed("demo", root=demo_root).tables["counties"]["county_code"])
    assert set(pages) == {f"{c}.html" for c in codes} | {"city.html", "index.html"}
    return pages


def test_no_code_words_in_any_chinese_page(zh_pages, demo_root):
    names = data_names(load_processed("demo", root=demo_root))
    offenders = {}
    for name, page in zh_pages.items():
        assert '<html lang="zh-CN">' in page, name
        found = code_words(visible_text(page), names)
        if found:
            offenders[name] = found
    listing = "\n".join(f"{name}: {', '.join(map(repr, words))}" for name, words in offenders.items())
    assert not offenders, f"code words in the Chinese pages:\n{listing}"


def test_the_scan_finds_what_the_issue_found_and_reads_only_visible_text():
    page = ("<html><head><title>t</title><style>.a_b { color: red }</style></head><body>"
            "<p>所用效应：estimated response: dose_response coefficient on "
            "log1p(activities_lag1) for composite = 0.295</p><p>求解状态 optimal</p>"
            "<p>加权方式：residents</p><script>var snake_case = 1;</script>"
            "<ol class='pe-references'><li>Callaway, B. (2021). Difference-in-differences.</li></ol>"
            "<dl class='pe-provenance'><dd>pairing-eval 0.1.0</dd></dl>"
            "<p>示例机构 I001 (synthetic)</p><p>Webb 权重，ATT(g,t)，p值 ≤0.001</p></body></html>")
    text = visible_text(page)
    assert "snake_case" not in text and "Callaway" not in text and "pairing-eval" not in text
    found = code_words(text, ["示例机构 I001 (synthetic)"])
    for word in ("dose_response", "activities_lag1", "log1p", "estimated response",
                 "coefficient on", "optimal", "residents", "composite"):
        assert any(word in f for f in found), (word, found)
    assert not any("Webb" in f or "ATT" in f or "synthetic" in f for f in found), found
