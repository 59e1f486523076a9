"""Reports at every level: prefecture and province pages, and one index page per level.

The world: the demo's raw tables with the eleven county codes recoded into two provinces of two
prefectures each (510000: 511100 and 511200; 520000: 520100 and 520200), built with the
``indicators`` and ``describe`` steps only (seconds). County 520202 keeps one children's home of
6 residents, so its total is a small count whose prefecture total minus its neighbour's would
give it away: the published pattern must hide a companion. Prefecture and province names are
given for some areas only (the others are generated from the code).
"""

from __future__ import annotations

import csv
import fcntl
import html as html_lib
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis.build.steps import BuildOptions
from analysis.data import load_processed
from analysis.disclosure import audit, protect
from analysis.errors import SpecificationError
from analysis.reports import run_reports, sections
from analysis.reports.index import Failure, write_index
from analysis.reports.sections.area import area_figures
from analysis.reports.sections.base import area_pages
from analysis.reports.sections.people import (
    CITY_CELL,
    area_cell,
    county_cell,
    people_cells,
    people_publication,
)

REPO = Path(__file__).resolve().parents[1]
DEMO_RAW = REPO / "data" / "raw" / "demo"
DATASET = "levels"
#: demo county → recoded county (two provinces, four prefectures)
RECODE = {
    "511102": "511102", "511111": "511111", "511112": "511112",
    "511113": "511201", "511123": "511202", "511124": "511203",
    "511126": "520101", "511129": "520102", "511132": "520103",
    "511133": "520201", "511181": "520202",
}
NAMES = {"511100": "测试甲市", "520100": "测试丙市"}  # 511200 and 520200 get generated names
PROVINCE_NAMES = {"510000": "测试甲省"}
TINY_COUNTY, TINY_HOME, TINY_RESIDENTS = "520202", "I095", "6"
NEIGHBOUR = "520201"
PREFECTURES = ["511100", "511200", "520100", "520200"]
PROVINCES = ["510000", "520000"]


def _rewrite(src: Path, dst: Path, change) -> None:
    with open(src, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
        fields = list(rows[0].keys())
    rows, fields = change(rows, fields)
    with open(dst, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def make_levels_world(raw: Path, *, recode: dict[str, str] = RECODE,
                      names: dict[str, str] = NAMES, province_names: dict[str, str] = PROVINCE_NAMES,
                      tiny: bool = True) -> Path:
    """Write the recoded demo world into ``raw`` (a folder named after the dataset): the counties
    recoded by ``recode`` (demo code → new code), with the prefecture and province ``names`` given
    (others left empty) and, with ``tiny``, county 520202 left with its one small home."""
    raw.mkdir(parents=True)
    for f in DEMO_RAW.iterdir():
        if f.suffix != ".csv":
            shutil.copy(f, raw / f.name)

    def counties(rows, fields):
        for r in rows:
            r["county_code"] = recode[r["county_code"]]
            pref = r["county_code"][:4] + "00"
            r["prefecture_name"] = names.get(pref, "")
            r["province_name"] = province_names.get(r["county_code"][:2] + "0000", "")
        return rows, [*fields, "prefecture_name", "province_name"]

    def institutions(rows, fields):
        for r in rows:
            r["county_code"] = recode[r["county_code"]]
            if tiny and r["county_code"] == TINY_COUNTY and r["institution_id"] != TINY_HOME:
                r["county_code"] = NEIGHBOUR  # the tiny county keeps one small home
        return rows, fields

    def assessments(rows, fields):
        for r in rows:
            if tiny and r["institution_id"] == TINY_HOME and r["residents"]:
                r["residents"] = TINY_RESIDENTS
        return rows, fields

    for name in ("activities", "pairings", "problems", "units"):
        shutil.copy(DEMO_RAW / f"{name}.csv", raw / f"{name}.csv")
    _rewrite(DEMO_RAW / "counties.csv", raw / "counties.csv", counties)
    _rewrite(DEMO_RAW / "institutions.csv", raw / "institutions.csv", institutions)
    _rewrite(DEMO_RAW / "assessments.csv", raw / "assessments.csv", assessments)
    return raw


def built_levels_world(tmp_path_factory: pytest.TempPathFactory, name: str = "levels_root",
                       dataset: str = DATASET, **world) -> Path:
    """A project root ``name`` with a recoded world (:func:`make_levels_world` with ``world``)
    built as ``dataset`` (indicators and describe steps), once per test session (the workers of
    one run share it)."""
    if not (DEMO_RAW / "institutions.csv").exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    from analysis.pipeline import build

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / name
    with open(shared / f"{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            if not (root / "data" / "processed" / dataset / "manifest.json").exists():
                if root.exists():
                    shutil.rmtree(root)
                raw = make_levels_world(root / "data" / "raw" / dataset, **world)
                build(raw, out_root=root / "data" / "processed", echo=lambda _m: None,
                      options=BuildOptions(steps=("indicators", "describe")))
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return root


@pytest.fixture(scope="session")
def levels_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project root with the levels world built (indicators and describe steps)."""
    return built_levels_world(tmp_path_factory)


@pytest.fixture(scope="session")
def processed(levels_root: Path):
    return load_processed(DATASET, root=levels_root)


def _visible(html_text: str) -> str:
    s = re.sub(r"<style>.*?</style>", "", html_text, flags=re.S)
    s = re.sub(r"<img[^>]*>", "", s)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", s))


def _hrefs(html_text: str) -> list[str]:
    return [html_lib.unescape(h) for h in re.findall(r"href='([^']*)'", html_text)]


# ----------------------------------------------------------------------------------------------
# scope
# ----------------------------------------------------------------------------------------------


def test_area_scope_and_pages(levels_root: Path, processed):
    assert area_pages(processed) == PROVINCES + PREFECTURES
    ctx = sections.open_report(DATASET, area="520200", root=levels_root)
    assert ctx.scope == "prefecture" and ctx.scope_codes == [NEIGHBOUR, TINY_COUNTY]
    assert ctx.member_level == "county" and ctx.dataset_level == "nation"
    prov = sections.open_report(DATASET, area="510000", root=levels_root)
    assert prov.scope == "province" and prov.member_level == "prefecture"
    assert prov.scope_codes == ["511102", "511111", "511112", "511201", "511202", "511203"]
    assert prov.scope_name == "测试甲省"
    assert sections.open_report(DATASET, area="511200", root=levels_root).scope_name == "地市511200"
    whole = sections.open_report(DATASET, root=levels_root)
    assert whole.scope == "dataset" and whole.member_level == "province"
    assert len(whole.scope_codes) == 11
    for bad in ("530000", "511300", "5111"):
        with pytest.raises(SpecificationError, match="is not a"):
            sections.open_report(DATASET, area=bad, root=levels_root)
    with pytest.raises(SpecificationError, match="not both"):
        sections.open_report(DATASET, "511102", area="511100", root=levels_root)


# ----------------------------------------------------------------------------------------------
# disclosure: the area totals
# ----------------------------------------------------------------------------------------------


def test_area_totals_are_published_cells_tied_by_relations(processed):
    cells, relations = people_cells(processed)
    by_id = {c.id: c for c in cells}
    rel = {r.total: set(r.parts) for r in relations}
    assert rel[area_cell("prefecture", "520200")] == {county_cell(NEIGHBOUR), county_cell(TINY_COUNTY)}
    assert rel[area_cell("province", "520000")] == {area_cell("prefecture", "520100"),
                                                    area_cell("prefecture", "520200")}
    assert by_id[county_cell(TINY_COUNTY)].value == float(TINY_RESIDENTS)
    total = sum(by_id[area_cell("province", p)].value for p in PROVINCES)
    assert by_id[CITY_CELL].value == total


def test_no_small_count_derivable_across_area_pages(processed):
    """Primary suppression alone lets a reader subtract the neighbour from the prefecture total
    (and prefectures from the province total); the published pattern does not."""
    cells, relations = people_cells(processed)
    naive = protect(cells, relations, 10, secondary=False)
    assert naive.status[county_cell(TINY_COUNTY)] == "primary"
    found = {d.cell.id for d in audit(naive).disclosures}
    assert county_cell(TINY_COUNTY) in found
    pub = people_publication(processed, 10)
    assert audit(pub).ok
    # the companion: one of the totals that would give the county away is hidden too
    tied = [county_cell(NEIGHBOUR), area_cell("prefecture", "520200")]
    assert any(pub.status[c] != "shown" for c in tied)


def test_demo_publication_is_unchanged_by_levels(demo):
    """A dataset of one prefecture publishes no area totals: its pattern is what it was."""
    cells, _ = people_cells(demo)
    assert not [c for c in cells if c.id.startswith(("residents/prefecture", "residents/province"))]


# ----------------------------------------------------------------------------------------------
# sections at area scope (no papermill)
# ----------------------------------------------------------------------------------------------


def _page(ctx) -> str:
    from analysis.reports.sections import (
        comparison,
        data_quality,
        findings,
        header,
        recommendations,
        reform,
        scorecard,
    )

    parts = [header(ctx, generated="2024-01-01 00:00 UTC"), findings(ctx), area_figures(ctx),
             comparison(ctx), scorecard(ctx), reform(ctx), recommendations(ctx), data_quality(ctx)]
    return "".join(p._repr_html_() for p in parts if p is not None)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_prefecture_section_lists_its_counties_with_links(levels_root, language):
    ctx = sections.open_report(DATASET, area="520200", root=levels_root, language=language)
    page = _page(ctx)
    text = _visible(page)
    assert ("合成数据" if language == "zh" else "SYNTHETIC DATA") in text
    assert ("地市520200" if language == "zh" else "Prefecture 520200") in text
    hrefs = _hrefs(page)
    assert sorted(hrefs) == [f"{NEIGHBOUR}.html", f"{TINY_COUNTY}.html"]
    # the tiny county's residents are hidden, on this page as on every other
    pub = ctx.people
    assert pub.shown(county_cell(TINY_COUNTY)) == "<10"
    row = re.search(rf"<tr><td>[^<]*</td><td>{TINY_COUNTY}</td>.*?</tr>", page, flags=re.S)
    assert row and "&lt;10" in row.group(0)
    # figures of the area beside the province and the nation
    fig = area_figures(ctx)._repr_html_()
    assert ("全国" if language == "zh" else "Nation") in fig
    assert "520000" in fig  # the province has no name: generated from its code


def test_province_section_lists_its_prefectures(levels_root):
    ctx = sections.open_report(DATASET, area="510000", root=levels_root, language="en")
    page = _page(ctx)
    assert sorted(set(_hrefs(page))) == ["prefecture-511100.html", "prefecture-511200.html"]
    assert "Prefectures compared" in page and "测试甲市" in page
    # scorecard: counties meeting each target per prefecture, then the whole dataset
    assert re.search(r"<td>\d/3</td>", page)


def test_dataset_page_of_several_provinces_lists_provinces(levels_root):
    ctx = sections.open_report(DATASET, root=levels_root, language="zh")
    page = _page(ctx)
    assert sorted(set(_hrefs(page))) == ["province-510000.html", "province-520000.html"]
    assert "全国汇总" in page and "各省份比较" in page
    fig = area_figures(ctx)._repr_html_()
    lv = load_processed(DATASET, root=levels_root).result("describe_levels")
    nation = lv[lv["level"] == "nation"].iloc[0]
    assert f"<td>{int(nation['institutions'])}</td>" in fig


def test_area_figures_are_those_of_describe_levels(levels_root):
    ctx = sections.open_report(DATASET, area="511100", root=levels_root, language="en")
    lv = ctx.result("describe_levels").set_index(["level", "code"])
    fig = area_figures(ctx)._repr_html_()
    for key in (("prefecture", "511100"), ("province", "510000"), ("nation", "000000")):
        assert f"<td>{int(lv.loc[key, 'beds']):,}</td>" in fig
    assert "测试甲市" in fig and "测试甲省" in fig


# ----------------------------------------------------------------------------------------------
# the index pages (no papermill)
# ----------------------------------------------------------------------------------------------


def _index_pages(out: Path) -> dict[str, str]:
    return {f.name: f.read_text(encoding="utf-8") for f in sorted(out.glob("index*.html"))}


@pytest.fixture(scope="module")
def index_dir(processed, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("levels-index")
    # a page written earlier for two counties, one of which failed since; an area page failed
    (out / f"{TINY_COUNTY}.html").write_text("<html></html>", encoding="utf-8")
    (out / "index-999900.html").write_text("old", encoding="utf-8")  # an area no longer there
    write_index(processed, out, language="zh", threshold=10,
                failed={TINY_COUNTY: Failure("2024-01-02 03:04 UTC", "ValueError: boom"),
                        "prefecture-511200": Failure("2024-01-02 03:04 UTC", "kernel died")})
    return out


def test_index_pages_one_per_level(index_dir):
    pages = _index_pages(index_dir)
    assert set(pages) == {"index.html", *(f"index-{c}.html" for c in PROVINCES + PREFECTURES)}
    top = pages["index.html"]
    assert "<script" not in top.lower() and "合成数据" in top
    for p in PROVINCES:
        assert f"href='index-{p}.html'" in top
    for p in PREFECTURES:
        assert f"href='index-{p}.html'" in pages[f"index-{p[:2]}0000.html"]
    # the failures are marked where the pages are linked, and counted on the rows above them
    assert "生成失败" in pages["index-520200.html"] and "ValueError: boom" in pages["index-520200.html"]
    assert "过期" in pages["index-520200.html"]
    assert "生成失败" in pages["index-510000.html"]
    assert "（其中1份报告过期或生成失败）" in pages["index-520000.html"]
    assert "（其中1份报告过期或生成失败）" in top


def test_every_county_exactly_once_across_prefecture_indexes(index_dir, processed):
    pages = _index_pages(index_dir)
    seen: list[str] = []
    for p in PREFECTURES:
        seen += re.findall(r"<tr><td>[^<]*</td><td>(\d{6})</td>", pages[f"index-{p}.html"])
    codes = sorted(processed.tables["counties"]["county_code"].astype(str))
    assert sorted(seen) == codes
    top = pages["index.html"]
    assert not re.findall(r"<td>(5\d{5})</td>", top.replace("510000", "").replace("520000", ""))


def test_index_links_resolve(index_dir, processed):
    """Every link of every index page points to a file that exists or to a page the run writes
    (a county's, an area's, the dataset's)."""
    expected = ({f"{c}.html" for c in processed.tables["counties"]["county_code"]}
                | {f"prefecture-{c}.html" for c in PREFECTURES}
                | {f"province-{c}.html" for c in PROVINCES} | {"city.html"})
    for name, page in _index_pages(index_dir).items():
        for href in _hrefs(page):
            assert (index_dir / href).exists() or href in expected, (name, href)


def test_residents_on_index_pages_follow_the_publication(index_dir, processed):
    pub = people_publication(processed, 10)
    pages = _index_pages(index_dir)
    shown = pub.shown(area_cell("prefecture", "520200"))
    row = re.search(r"<tr><td>520200</td>.*?</tr>", pages["index-520000.html"], flags=re.S)
    assert row is not None
    cells = re.findall(r"<td>([^<]*)</td>", row.group(0))
    want = f"{shown:,}" if isinstance(shown, int) else html_lib.escape(str(shown))
    assert want in cells


def test_stale_area_index_removed(index_dir):
    assert not (index_dir / "index-999900.html").exists()


def test_one_prefecture_index_is_one_page(demo, tmp_path):
    out = write_index(demo, tmp_path, language="zh", threshold=10)
    assert [f.name for f in tmp_path.glob("index*.html")] == ["index.html"]
    page = out.read_text(encoding="utf-8")
    assert "index-" not in page and page.count("<tr>") == 12  # head + 11 counties


# ----------------------------------------------------------------------------------------------
# a real run: the area pages go through the driver's path
# ----------------------------------------------------------------------------------------------


def test_run_writes_area_pages_for_the_counties_run(levels_root):
    out = run_reports(DATASET, counties=[TINY_COUNTY], jobs=2, root=levels_root, progress=False)
    assert out.ok, out.render()
    names = {r.name for r in out.results}
    assert names == {"city", "province-520000", "prefecture-520200", TINY_COUNTY}
    d = levels_root / "reports" / DATASET
    pref = (d / "prefecture-520200.html").read_text(encoding="utf-8")
    prov = (d / "province-520000.html").read_text(encoding="utf-8")
    city = (d / "city.html").read_text(encoding="utf-8")
    county = (d / f"{TINY_COUNTY}.html").read_text(encoding="utf-8")
    for page in (pref, prov, city, county):
        assert "合成数据" in _visible(page) and "<script" not in page.lower()
    assert "“一老一小”结对帮扶评估：地市520200汇总" in pref
    assert "全国汇总报告" in pref and "href='index-520200.html'" in pref
    assert "href='index-520000.html'" in county and "href='index-520200.html'" in county
    assert 'id="area-figures"' in pref and 'id="comparison"' in prov
    for page in (pref, prov):
        for href in _hrefs(page):
            if not href.startswith(("en/", "#")):
                assert href.endswith(".html")
    # every index link resolves after the run
    pages = _index_pages(d)
    expected = {f"{c}.html" for c in RECODE.values()}
    for name, page in pages.items():
        for href in _hrefs(page):
            assert (d / href).exists() or href in expected, (name, href)
    # the tiny county's total is hidden on every page that shows it
    for page in (pref, (d / "index-520200.html").read_text(encoding="utf-8")):
        row = re.search(rf"<tr>\s*<td>[^<]*</td>\s*<td>{TINY_COUNTY}</td>.*?</tr>", page,
                        flags=re.S)
        assert row and "&lt;10" in row.group(0)
    # the run is up to date afterwards: nothing re-runs
    again = run_reports(DATASET, counties=[TINY_COUNTY], jobs=2, root=levels_root, progress=False)
    assert {r.status for r in again.results} == {"skipped"}


def test_area_pages_need_a_notebook_that_takes_area(levels_root, tmp_path):
    import nbformat

    nb = nbformat.read(str(REPO / "notebooks" / "city_summary.ipynb"), as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = cell.source.replace("area = None", "")
    old = tmp_path / "city_summary.ipynb"
    nbformat.write(nb, str(old))
    with pytest.raises(SpecificationError, match="'area'"):
        run_reports(DATASET, counties=[TINY_COUNTY], root=levels_root, city_notebook=old,
                    progress=False)


def test_frame_helpers_do_not_leak_levels_into_one_prefecture(demo):
    from analysis.reports.sections.base import ReportContext

    ctx = ReportContext(demo, None)
    assert ctx.member_level == "county" and area_pages(demo) == []
    assert pd.Series(ctx.member_of(ctx.scope_codes)).tolist() == ctx.scope_codes
