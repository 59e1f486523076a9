"""Languages side by side: the Chinese pages in ``reports/<dataset>/``, the English pages in
``reports/<dataset>/en/``; a run in one language never overwrites the other's pages, each index
links the other language, and the up-to-date skip holds per language.

Small notebooks that print their language stand in for the report notebooks (what is tested here
is the driver's; the report notebooks' English labels are tested in ``test_reports``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from test_reports_world import make_world

from analysis.reports import run_reports
from analysis.reports.index import language_dir, nav, to_other


def _notebook(path: Path, county: bool) -> Path:
    nb = nbformat.v4.new_notebook()
    params = 'dataset = "demo"\nlanguage = "zh"\nthreshold = 10\n'
    if county:
        params += 'county_code = "511102"\n'
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print('page language:', language)")]
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def project(tmp_path, monkeypatch) -> dict:
    # the key's source-code part held fixed: what is tested is the key's language and folder
    monkeypatch.setattr("analysis.reports.driver.code_hash", lambda: "code")
    root = make_world(tmp_path / "project")
    return {"root": root,
            "kw": {"counties": ["511102"], "jobs": 1, "root": root, "progress": False,
                   "county_notebook": _notebook(tmp_path / "county.ipynb", True),
                   "city_notebook": _notebook(tmp_path / "city.ipynb", False)}}


def test_folders_and_relative_links():
    base = Path("reports") / "demo"
    assert language_dir(base, "zh") == base and language_dir(base, "en") == base / "en"
    assert to_other("zh") == "en/" and to_other("en") == "../"
    assert "href='en/511102.html'" in nav("zh", 10, page="511102.html")
    assert "href='../city.html'" in nav("en", 10, page="city.html")
    assert "hreflang" not in nav("zh", 10)  # no page: no language link


def test_english_run_never_overwrites_the_chinese_pages(project):
    root, kw = project["root"], project["kw"]
    zh_dir = root / "reports" / "world"
    en_dir = zh_dir / "en"
    first = run_reports("world", language="zh", **kw)
    assert first.ok, first.render()
    assert first.out_dir == zh_dir and not en_dir.exists()
    zh_bytes = {n: (zh_dir / n).read_bytes() for n in ("511102.html", "city.html")}
    assert "page language: zh" in zh_bytes["511102.html"].decode()

    en = run_reports("world", language="en", **kw)
    assert en.ok, en.render()
    assert en.out_dir == en_dir and str(en_dir / "index.html") in en.render()
    for name, data in zh_bytes.items():  # the Chinese pages are untouched
        assert (zh_dir / name).read_bytes() == data, name
    page = (en_dir / "511102.html").read_text(encoding="utf-8")
    assert "page language: en" in page and '<html lang="en">' in page
    assert "href='../511102.html'" in page  # the same page in Chinese
    assert (en_dir / "fonts" / "pe-cjk-subset.otf").exists()

    # each index links the other language: the English run refreshed the Chinese index
    zh_index = (zh_dir / "index.html").read_text(encoding="utf-8")
    en_index = (en_dir / "index.html").read_text(encoding="utf-8")
    assert "href='511102.html'" in zh_index and "href='en/511102.html'" in zh_index
    assert "href='en/index.html'" in zh_index and "href='en/city.html'" in zh_index
    assert "href='511102.html'" in en_index and "href='../511102.html'" in en_index
    assert "href='../index.html'" in en_index
    # a county not run in either language has no link in either
    assert "href='511123.html'" not in zh_index and "href='en/511123.html'" not in zh_index

    # up to date per language: both skip; forcing one rewrites only its own pages
    for lang in ("zh", "en"):
        again = run_reports("world", language=lang, **kw)
        assert {r.status for r in again.results} == {"skipped"}, (lang, again.render())
    en_before = (en_dir / "511102.html").stat().st_mtime_ns
    forced = run_reports("world", language="zh", force=True, **kw)
    assert {r.status for r in forced.results} == {"written"}
    assert (en_dir / "511102.html").stat().st_mtime_ns == en_before
    assert "page language: en" in (en_dir / "511102.html").read_text(encoding="utf-8")
