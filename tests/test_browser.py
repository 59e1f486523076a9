"""A real browser opens the reports (headless Chromium, driven over the DevTools protocol by
:class:`analysis.reports.pdf.Browser`, as ``pairing-eval report --pdf`` does):

* ``index.html`` and a county report render with no console errors and no failed loads;
* the A4 PDFs of a county (Chinese and English) and of the city exist, have a plausible number of
  pages, embed the bundled CJK font, carry Chinese text, the running header and page numbers;
* at a phone's width (390 CSS pixels) no page needs horizontal scrolling: only wide tables scroll,
  inside their own box;
* full-page screenshots of one county report in each language and of the city page are written
  under the test's temporary folder and, when ``PE_SCREENSHOTS`` names a folder, there too.

Needs the Debian package ``chromium``; skipped with the reason when it is not installed (CI
installs it). Run with ``make browser-check``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.reports.pdf import Browser, find_chromium

pytestmark = pytest.mark.browser

CHROMIUM = find_chromium()
PROBLEM = re.compile(r"CONSOLE|Page load failed|net::ERR_|Failed to load resource|Uncaught", re.I)
COUNTY = "511102"
#: pages of the demo's A4 PDFs (measured: 11-12 for the county and 11 for the city in Chinese, 8 for the
#: county in English); the range allows for changes of wording, not for a page per table row
PAGES = range(3, 31)
PHONE = 390


def _need_chromium() -> None:
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")


def render(page: Path, png: Path, profile: Path) -> list[str]:
    """Screenshot ``page`` with Chromium's command line; return the console / load-error lines."""
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
        "--window-size=1100,1600", f"--screenshot={png}", page.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if PROBLEM.search(line)]


@pytest.fixture(scope="module")
def reports(demo_root) -> Path:
    """The demo's reports of one county and the city in Chinese, the county in English, each
    printed to PDF."""
    _need_chromium()
    from analysis.reports import run_reports

    for lang, city in (("zh", True), ("en", False)):
        out = run_reports("demo", counties=[COUNTY], jobs=1, root=demo_root, language=lang,
                          city=city, progress=False, pdf=True)
        assert out.ok, out.render()
    return demo_root / "reports" / "demo"


@pytest.mark.parametrize("name", ["index.html", f"{COUNTY}.html"])
def test_chromium_renders_without_console_errors(reports, tmp_path, name):
    png = tmp_path / f"{name}.png"
    problems = render(reports / name, png, tmp_path / "profile")
    assert problems == []
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert (reports / "fonts" / "pe-cjk-subset.otf").stat().st_size > 10_000


def test_the_console_check_can_fail(tmp_path):
    _need_chromium()
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.error('boom')</script>"
                   "<img src='missing.png'></body></html>", encoding="utf-8")
    problems = render(bad, tmp_path / "bad.png", tmp_path / "profile")
    assert any("boom" in p for p in problems)


def _fonts(reader) -> list[dict]:
    """Every font of the PDF: its name, family, and whether its glyphs are embedded."""
    out = []
    for page in reader.pages:
        for ref in (page.get("/Resources") or {}).get("/Font", {}).values():
            font = ref.get_object()
            descs = [font] + [d.get_object() for d in font.get("/DescendantFonts", [])]
            fd = next((d["/FontDescriptor"].get_object() for d in descs if "/FontDescriptor" in d),
                      {})
            out.append({
                "name": str(font.get("/BaseFont", "")) + " " + str(fd.get("/FontName", "")),
                "family": str(fd.get("/FontFamily", "")),
                "embedded": "/CharProcs" in font  # Type 3: the glyphs are in the file
                            or any(k in fd for k in ("/FontFile", "/FontFile2", "/FontFile3")),
            })
    return out


def _plain(text: str) -> str:
    """Extracted PDF text as a reader sees it: the font's ideographs that map to look-alike
    compatibility characters (Kangxi radicals) folded back (NFKC), spaces as spaces."""
    import unicodedata

    text = unicodedata.normalize("NFKC", text).replace("\x01", " ")
    return re.sub(r"[ \t]+", " ", text)


@pytest.mark.parametrize("name", [f"{COUNTY}.pdf", "city.pdf", f"en/{COUNTY}.pdf"])
def test_a4_pdfs_with_header_page_numbers_and_the_cjk_font(reports, demo_root, name):
    from pypdf import PdfReader

    from analysis.data import load_processed
    from analysis.hashing import fingerprint

    f = reports / name
    assert f.exists(), name
    reader = PdfReader(str(f))
    n = len(reader.pages)
    assert n in PAGES, n
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert abs(width - 595) < 2 and abs(height - 842) < 2  # A4 in points
    fonts = _fonts(reader)
    cjk = [ft for ft in fonts if "CJK" in ft["family"] + ft["name"] and ft["embedded"]]
    assert cjk, fonts
    texts = [_plain(p.extract_text()) for p in reader.pages]
    first = texts[0]
    english = name.startswith("en/")
    if english:
        assert "Shizhong" in first and "SYNTHETIC DATA" in first
    else:
        assert "“一老一小”结对帮扶评估" in first and "合成数据" in first
    hanzi = sum(1 for t in texts for c in t if "\u4e00" <= c <= "\u9fff")
    assert hanzi > (20 if english else 500), hanzi  # English pages name Chinese places too
    # every page: the data fingerprint in the running header, and its number of the total
    fp = fingerprint(load_processed("demo", root=demo_root).manifest)
    for i, t in enumerate(texts, start=1):
        assert fp in t, (name, i)
        # (页 may come back as the CJK radical of the same shape)
        number = rf"Page {i} of {n}" if english else rf"第 {i} \S / 共 {n} \S"
        assert re.search(number, t), (name, i, t[-200:])


@pytest.mark.parametrize("name", ["index.html", f"{COUNTY}.html", "city.html",
                                  f"en/{COUNTY}.html", "en/index.html"])
def test_no_sideways_scrolling_on_a_phone(reports, name):
    with Browser() as browser:
        seen = browser.scroll_width(reports / name, width=PHONE)
    assert seen["scrollWidth"] <= PHONE and seen["overflowing"] == 0, seen


def test_the_phone_check_can_fail(tmp_path):
    _need_chromium()
    wide = tmp_path / "wide.html"
    wide.write_text("<!DOCTYPE html><html><head><meta name='viewport' "
                    "content='width=device-width, initial-scale=1'></head><body>"
                    "<table><tr>" + "<td>cell&nbsp;of&nbsp;a&nbsp;wide&nbsp;table</td>" * 12
                    + "</tr></table></body></html>", encoding="utf-8")
    with Browser() as browser:
        seen = browser.scroll_width(wide, width=PHONE)
    assert seen["scrollWidth"] > PHONE and seen["overflowing"] > 0


def test_full_page_screenshots(reports, tmp_path):
    """One county in each language and the city page, at a desktop width and at a phone's; the
    PNGs go to the test's folder and, with ``PE_SCREENSHOTS=<folder>``, there too."""
    from PIL import Image

    shots = []
    with Browser() as browser:
        for page, stem in ((f"{COUNTY}.html", f"{COUNTY}-zh"), (f"en/{COUNTY}.html", f"{COUNTY}-en"),
                           ("city.html", "city-zh")):
            for width, kind in ((1000, "desktop"), (PHONE, "phone")):
                png = tmp_path / f"{stem}-{kind}.png"
                browser.screenshot(reports / page, png, width=width)
                shots.append(png)
    for png in shots:
        with Image.open(png) as im:
            w, h = im.size
        assert w in (1000, PHONE) and h > 3 * w, (png.name, w, h)  # the whole page, not a screen
    target = os.environ.get("PE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for png in shots:
            shutil.copy(png, Path(target) / png.name)
