"""The linear attacker (``analysis.disclosure.attacker``) and the secondary suppression that defeats it
(``analysis.disclosure.patterns``), on random small-count layouts, on what the reports publish, and
through ``pairing-eval report`` (fail closed on a planted leak; the low-threshold acknowledgement).

The layouts mirror what the reports publish: homes' residents per county, each county's total
(the sum of its homes assessed in the latest quarter; a home last assessed earlier is in no total),
the city's total (the sum of the counties). The county total is one cell whether it is read on the
county page or on the index, so "cross-page" means: one status per cell, and every relation in
which it takes part counts.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_reports_world import make_world
from typer.testing import CliRunner

import analysis.disclosure.patterns as patterns
from analysis.data import Processed, load_processed
from analysis.disclosure import Cell, Publication, Relation, audit, protect
from analysis.errors import SpecificationError

THRESHOLDS = st.sampled_from([3, 5, 10])


# ---- layouts ---------------------------------------------------------------------------------


@dataclass
class County:
    small: list[int]                      # homes with 1..t-1 residents (in the county total)
    large: list[int]                      # homes with 0 or >= t residents (in the total)
    earlier: list[int] = field(default_factory=list)  # homes last assessed before the latest quarter
    beds: list[float] | None = None       # a priori bounds of small + large, in that order


def build(t: int, counties: list[County]) -> tuple[list[Cell], list[Relation]]:
    """Cells and relations as the reports publish them (see the module docstring)."""
    cells: list[Cell] = []
    relations: list[Relation] = []
    totals = []
    for c, county in enumerate(counties):
        members = []
        values = county.small + county.large
        for h, v in enumerate(values):
            upper = county.beds[h] if county.beds is not None else math.inf
            cells.append(Cell(f"home/{c}/{h}", float(v), upper=upper, pages=(f"county {c}",)))
            members.append(f"home/{c}/{h}")
        for h, v in enumerate(county.earlier):
            cells.append(Cell(f"home/{c}/e{h}", float(v), pages=(f"county {c}",)))
        cells.append(Cell(f"county/{c}", float(sum(values)), pages=(f"county {c}", "city", "index")))
        relations.append(Relation(f"county/{c}", tuple(members), label=f"county {c}"))
        totals.append(f"county/{c}")
    cells.append(Cell("city", float(sum(sum(k.small + k.large) for k in counties)),
                      pages=("every county page",)))
    relations.append(Relation("city", tuple(totals), label="city"))
    return cells, relations


@st.composite
def counties(draw, t: int, *, max_counties: int = 3, max_small: int = 4, beds: bool = False,
             max_value: int = 80) -> list[County]:
    out = []
    for _ in range(draw(st.integers(1, max_counties))):
        small = draw(st.lists(st.integers(1, t - 1), max_size=max_small))
        large = draw(st.lists(st.one_of(st.just(0), st.integers(t, max_value)), max_size=5))
        earlier = draw(st.lists(st.integers(0, max_value), max_size=2))
        county = County(small, large, earlier)
        if beds:
            county.beds = [float(v + draw(st.integers(0, 15))) if draw(st.booleans()) else math.inf
                           for v in small + large]
        out.append(county)
    return out


@st.composite
def layouts(draw, **kwargs) -> tuple[int, list[County]]:
    t = draw(THRESHOLDS)
    return t, draw(counties(t, **kwargs))


def hidden_groups(pub: Publication) -> list[tuple[list, float]]:
    """For every relation whose total is shown: its hidden parts and their true sum (when any)."""
    out = []
    for r in pub.relations:
        hidden = [p for p in r.parts if pub.status[p] != "shown"]
        if pub.status[r.total] == "shown" and hidden:
            out.append((hidden, sum(pub.cell(p).value for p in hidden)))
    return out


def hidden_group_sums(pub: Publication) -> list[float]:
    return [total for _, total in hidden_groups(pub)]


# ---- the engine on random layouts ------------------------------------------------------------


@given(layouts())
@example((3, [County(small=[1, 1], large=[], earlier=[], beds=None),
              County(small=[], large=[], earlier=[], beds=None),
              County(small=[], large=[3], earlier=[], beds=None)]))
@settings(max_examples=40, deadline=None)
def test_protected_layouts_have_no_disclosure(layout):
    t, cs = layout
    cells, relations = build(t, cs)
    pub = protect(cells, relations, t)
    result = audit(pub)
    assert result.ok, result.render()
    for i in pub.primary:  # every small count keeps its whole required interval
        assert result.intervals[i] == pytest.approx(result.required[i])
    # every suppressed group's hidden total is at least the threshold — except where the
    # markers alone already state each hidden count exactly (e.g. two homes of 1 under a county
    # total that is itself below the threshold): no suppression can protect what the markers say,
    # and the audit's required interval is then a single point
    for hidden, total in hidden_groups(pub):
        if total < t:
            assert all(p in pub.primary and result.required[p][0] == result.required[p][1]
                       for p in hidden), pub.status
    # zeros are never hidden, companions are never small, and each cell has one status
    for c in pub.cells:
        if c.value == 0:
            assert pub.status[c.id] == "shown"
        if pub.status[c.id] == "secondary":
            assert c.value >= t
        assert (pub.status[c.id] == "primary") == (1 <= c.value < t)


@given(layouts(beds=True))
@settings(max_examples=30, deadline=None)
def test_protected_layouts_with_beds_have_no_disclosure(layout):
    """Beds bound what a companion can hide (a full home is known exactly from below)."""
    t, cs = layout
    cells, relations = build(t, cs)
    result = audit(protect(cells, relations, t))
    assert result.ok, result.render()


@given(st.data())
@settings(max_examples=40, deadline=None)
def test_two_small_homes_with_the_total_published_leak_unless_protected(data):
    """The case of the issue: two ``<t`` homes, nothing else hidden, the county total published.
    The attacker recovers a + b; each is narrowed unless a + b happens to equal t exactly (then
    [1, t−1] is all a + b = t tells about either)."""
    t = data.draw(THRESHOLDS)
    a, b = data.draw(st.integers(1, t - 1)), data.draw(st.integers(1, t - 1))
    large = data.draw(st.lists(st.integers(t, 200), min_size=1, max_size=6))
    others = data.draw(counties(t, max_counties=2))
    cells, relations = build(t, [County([a, b], large), *others])
    naive = audit(protect(cells, relations, t, secondary=False))
    leaked = {d.cell.id for d in naive.disclosures}
    assert ({"home/0/0", "home/0/1"} <= leaked) == (a + b != t)
    if a + b != t:
        assert naive.intervals["home/0/0"][1] - naive.intervals["home/0/0"][0] < t - 2
    protected = audit(protect(cells, relations, t))
    assert protected.ok, protected.render()


def test_the_two_ones_of_the_issue_and_a_companion_of_exactly_t():
    """Two homes of 1 and the county total published: naive suppression gives both 1s back (the
    issue's example); hiding a companion of exactly t does not help either (a companion is known
    to be at least t), so the suppression takes one with room to spare."""
    cells, relations = build(10, [County([1, 1], [10, 40])])
    naive = protect(cells, relations, 10, secondary=False)
    result = audit(naive)
    assert result.intervals["home/0/0"] == (1, 1) and not result.ok
    text = result.disclosures[0].render()
    assert "[1, 1]" in text and "county 0" in text and "follows from" in text
    weak = naive.with_status({"home/0/2": "secondary"})  # the old rule's smallest companion
    assert audit(weak).intervals["home/0/0"] == (1, 1)
    pub = protect(cells, relations, 10)
    assert pub.status["home/0/3"] == "secondary" and pub.status["home/0/2"] == "shown"
    assert audit(pub).intervals["home/0/0"] == (1, 9)


def test_a_small_county_total_is_protected_through_the_city_total():
    """A county whose total is itself small: the city total and the other counties would give it
    back, so a companion is hidden among the other counties' totals."""
    cells, relations = build(10, [County([3, 4], []), County([], [60, 70]), County([], [80])])
    naive = audit(protect(cells, relations, 10, secondary=False))
    assert "county/0" in {d.cell.id for d in naive.disclosures}
    pub = protect(cells, relations, 10)
    result = audit(pub)
    assert result.ok, result.render()
    assert pub.status["county/0"] == "primary"
    assert {"county/1", "county/2", "city"} & set(pub.secondary)
    # the homes under a small total: each is at most 9 - 1 = 8 whatever is hidden (the markers say
    # so); that is their required interval, not a disclosure
    assert result.required["home/0/0"] == (1, 8)


# ---- the auditor against brute force ---------------------------------------------------------


def brute_force(pub: Publication, cap: int) -> dict[str, tuple[float, float]]:
    """Min and max of every hidden small count over all whole-number completions of ``pub``
    (each hidden cell within its marker's range and ``cap``), by enumeration with propagation."""
    hidden = list(pub.suppressed)
    dom = {i: (int(lo), int(min(hi, cap))) for i in hidden for lo, hi in [pub.known_bounds(i)]}
    known = {c.id: c.value for c in pub.cells if pub.status[c.id] == "shown"}
    out = {i: [math.inf, -math.inf] for i in pub.primary}

    def solve(v: dict[str, float]) -> None:
        for r in pub.relations:  # propagate a relation with one unknown left
            ids = (r.total, *r.parts)
            free = [i for i in ids if i not in v]
            if len(free) == 1:
                (f,) = free
                rest = sum(v[p] for p in r.parts if p in v)
                x = v[r.total] - rest if f != r.total else rest
                lo, hi = dom[f]
                if not lo <= x <= hi:
                    return
                solve({**v, f: x})
                return
            if not free and v[r.total] != sum(v[p] for p in r.parts):
                return
        free = [i for i in hidden if i not in v]
        if not free:
            for i in out:
                out[i][0], out[i][1] = min(out[i][0], v[i]), max(out[i][1], v[i])
            return
        lo, hi = dom[free[0]]
        for x in range(lo, hi + 1):
            solve({**v, free[0]: x})

    solve(dict(known))
    return {i: (lo, hi) for i, (lo, hi) in out.items()}


@given(st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_audit_is_the_integer_attacker_on_small_layouts(data):
    """On small layouts, the LP interval of every small count equals the whole-number interval
    found by enumerating every completion of the published table (the sums form a hierarchy, so
    relaxing integrality loses nothing) — for the naive pattern, the protected one and random
    extra companions."""
    t = data.draw(st.sampled_from([3, 4, 5]))
    cs = data.draw(counties(t, max_counties=2, max_small=3, max_value=12))
    cells, relations = build(t, cs)
    pub = protect(cells, relations, t, secondary=False)
    extra = [c.id for c in cells if pub.status[c.id] == "shown" and c.value >= t]
    chosen = data.draw(st.lists(st.sampled_from(extra), max_size=2, unique=True)) if extra else []
    cap = int(sum(c.value for c in cells)) + t  # above anything a completion needs
    for candidate in (pub, pub.with_status(dict.fromkeys(chosen, "secondary")),
                      protect(cells, relations, t)):
        if len(candidate.suppressed) > 7:
            continue
        result = audit(candidate)
        exact = brute_force(candidate, cap)
        for i in candidate.primary:
            assert result.intervals[i] == pytest.approx(exact[i]), (i, candidate.status)


# ---- errors ----------------------------------------------------------------------------------


def test_a_total_that_is_not_the_sum_of_its_parts_is_refused():
    cells = [Cell("t", 30, label="county total"), Cell("a", 4), Cell("b", 20)]
    with pytest.raises(SpecificationError, match="county total is 30 but its parts .* sum to 24"):
        protect(cells, [Relation("t", ("a", "b"))], 10)
    with pytest.raises(SpecificationError, match="not published"):
        protect(cells, [Relation("t", ("a", "zz"))], 10)


# ---- what the reports publish ----------------------------------------------------------------


def _rows(html_text: str) -> list[dict[str, str]]:
    """The first table of ``html_text`` as rows of unescaped cell texts keyed by header."""
    table = re.search(r"<table.*?</table>", html_text, flags=re.S).group(0)
    cell = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", flags=re.S)
    rows = [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cell.findall(r)]
            for r in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)]
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]


def _shown(value: object) -> str:
    """A count as the pages print it (thousands separated)."""
    return f"{value:,}" if isinstance(value, int) else str(value)


@pytest.mark.parametrize("threshold", [10, 50])
def test_every_page_shows_each_count_with_one_status(tmp_path, threshold):
    """The county's residents read on its page (key figures), on the city page (counties table)
    and on the index are one cell: the same marker or value everywhere; the homes' residents are
    shown as the dataset's publication says; and the audit of that publication passes."""
    from analysis.labels import label
    from analysis.reports import sections
    from analysis.reports.index import write_index
    from analysis.reports.sections.people import (
        CITY_CELL,
        audit_people,
        county_cell,
        institution_cell,
    )

    root = make_world(tmp_path)
    processed = load_processed("world", root=root)
    result = audit_people(processed, threshold)
    assert result.ok, result.render()
    pub = result.publication
    assert pub.secondary  # the world has a small home per county, so companions are needed
    residents, code = label("residents", "zh"), label("code", "zh")
    city = sections.open_report("world", None, root=root, threshold=threshold)
    on_city = {r[code]: r[residents] for r in _rows(sections.comparison(city)._repr_html_())}
    (tmp_path / "out").mkdir()
    index_page = write_index(processed, tmp_path / "out", language="zh", threshold=threshold)
    on_index = {r[code]: r[residents] for r in _rows(index_page.read_text(encoding="utf-8"))}
    homes = processed.tables["institutions"]
    assert set(on_city) == set(on_index) == set(homes["county_code"])
    for county in sorted(on_city):
        want = _shown(pub.shown(county_cell(county)))
        ctx = sections.open_report("world", county, root=root, threshold=threshold)
        figures = {r[label("metric", "zh")]: r for r in _rows(sections.key_figures(ctx)._repr_html_())}
        assert on_city[county] == on_index[county] == figures[residents][label("value", "zh")] \
            == want, county
        assert figures[residents][label("city_value", "zh")] == _shown(pub.shown(CITY_CELL))
        ids = sorted(homes.loc[homes["county_code"] == county, "institution_id"])
        shown = [r[residents] for r in _rows(sections.institutions(ctx)._repr_html_())]
        assert shown == [_shown(pub.shown(institution_cell(i))) for i in ids], county


def test_demo_publication_is_protected_and_the_naive_one_is_not(demo):
    """The demo's reports: four small homes (one in each of four counties), each recoverable from
    its county's total under primary suppression alone; protected, none can be narrowed."""
    from analysis.reports.sections.people import people_cells

    cells, relations = people_cells(demo)
    naive = audit(protect(cells, relations, 10, secondary=False))
    assert len(naive.publication.primary) >= 1
    assert {d.cell.id for d in naive.disclosures} == set(naive.publication.primary)
    result = audit(protect(cells, relations, 10))
    assert result.ok, result.render()
    assert len(result.publication.secondary) >= len(result.publication.primary)


def test_the_stored_publication_is_the_folders_and_follows_a_rebuild(demo):
    """A report kernel protects a folder version once: the same publication for the same manifest
    hash and threshold, the same statuses as protecting afresh, a new one for another threshold
    or another version of the folder, none kept for a folder whose manifest records no hash."""
    from analysis.data import MANIFEST_HASH_KEY
    from analysis.reports.sections import people

    assert demo.manifest.get(MANIFEST_HASH_KEY)
    a = people.stored_publication(demo, 10)
    assert people.stored_publication(demo, 10) is a
    assert dict(a.status) == dict(people.people_publication(demo, 10).status)
    b = people.stored_publication(demo, 11)
    assert b is not a and b.threshold == 11
    rebuilt = replace(demo, manifest={**demo.manifest, MANIFEST_HASH_KEY: "0" * 64})
    assert people.stored_publication(rebuilt, 10) is not a
    assert len(people._PROTECTED) <= people.KEEP_PUBLICATIONS
    bare = replace(demo, manifest={k: v for k, v in demo.manifest.items()
                                   if k != MANIFEST_HASH_KEY})
    assert people.stored_publication(bare, 10) is not people.stored_publication(bare, 10)


@dataclass(frozen=True)
class _Reworld(Processed):
    """A processed dataset whose panel was changed, with the league recomputed from it."""

    league_table: pd.DataFrame | None = field(default=None, repr=False)

    def has_result(self, name: str) -> bool:
        return name == "describe_league" or super().has_result(name)

    def result(self, name: str) -> pd.DataFrame:
        if name == "describe_league":
            return self.league_table
        return super().result(name)


def several_small_homes(demo: Processed, per_county: int, seed: int) -> Processed:
    """The demo with ``per_county`` homes of every county holding 1–9 residents in the latest
    quarter (and the league, the key figures' source, recomputed by ``describe.county_league``)."""
    from analysis.describe import county_league

    rng = np.random.default_rng(seed)
    panel = demo.panel.copy()
    assessed = panel["assessed"].astype(bool)
    latest = assessed & (panel["t"] == panel.loc[assessed, "t"].max())
    for _, rows in panel[latest].groupby("county_code"):
        pick = rows.index[:per_county]
        panel.loc[pick, "residents"] = rng.integers(1, 10, size=len(pick)).astype(float)
    base = replace(demo, panel=panel)
    lg = county_league(base).table
    return _Reworld(**{f.name: getattr(base, f.name) for f in fields(Processed)}, league_table=lg)


@pytest.mark.parametrize("per_county", [2, 3])
def test_a_world_with_several_small_homes_per_county(demo, per_county):
    from analysis.reports.sections.people import people_cells

    world = several_small_homes(demo, per_county, seed=per_county)
    cells, relations = people_cells(world)
    naive = audit(protect(cells, relations, 10, secondary=False))
    n_counties = demo.tables["counties"].shape[0]
    assert len(naive.publication.primary) >= per_county * n_counties
    assert naive.disclosures  # the county totals give the small homes' sums back
    result = audit(protect(cells, relations, 10))
    assert result.ok, result.render()
    assert all(s >= 10 for s in hidden_group_sums(result.publication))


# ---- through the command ---------------------------------------------------------------------


@pytest.fixture
def world_root(tmp_path, monkeypatch) -> Path:
    root = make_world(tmp_path)
    monkeypatch.setenv("PAIRING_EVAL_ROOT", str(root))
    monkeypatch.chdir(root)
    return root


def _run(*args: str):
    from analysis.cli import app

    return CliRunner().invoke(app, ["report", "--dataset", "world", *args])


def test_report_refuses_to_publish_a_planted_leak(world_root, monkeypatch):
    """With secondary suppression switched off, the report command's own audit finds the small
    homes that the county totals give back and refuses before writing any page."""
    monkeypatch.setattr(patterns, "secondary_suppression", lambda publication: {})
    out = _run("--all")
    assert out.exit_code == 1, out.output
    assert "Traceback" not in out.output
    assert "refusing to publish" in out.output
    # names the cell (the children's home of county 511102) and the derivation
    assert re.search(r"示例02号机构3 \(I5111023\).*confine it to \[5, 5\]", out.output)
    assert "follows from county 511102" in out.output
    pages = world_root / "reports" / "world"
    assert not pages.exists() or not list(pages.rglob("*.html"))


def test_a_threshold_below_the_default_needs_the_acknowledgement(world_root):
    for t in ("5", "1"):
        out = _run("--all", "--threshold", t)
        assert out.exit_code == 2, out.output
        assert "--i-accept-small-counts" in out.output and "below the default of 10" in out.output
        assert "Traceback" not in out.output
    assert not (world_root / "reports" / "world").exists()
    out = _run("--help")
    assert "--i-accept-small-counts" in out.output


def _tiny_notebook(path: Path, county: bool) -> Path:
    nb = nbformat.v4.new_notebook()
    params = 'dataset = "demo"\nlanguage = "zh"\nthreshold = 10\n'
    if county:
        params += 'county_code = "511102"\n'
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print('page of', dataset)")]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nbformat.write(nb, str(path))
    return path


def test_a_low_threshold_puts_a_notice_on_every_page(world_root, tmp_path):
    """Accepted, a threshold of 6 is published with a notice on the county page, the city page
    and the index (small notebooks stand in for the report notebooks: the notice is the
    driver's); at the default there is none."""
    from analysis.reports import run_reports
    from analysis.reports.index import nav, write_index

    county_nb = _tiny_notebook(tmp_path / "county.ipynb", county=True)
    city_nb = _tiny_notebook(tmp_path / "city.ipynb", county=False)
    out = run_reports("world", counties=["511102"], jobs=1, threshold=6, county_notebook=county_nb,
                      city_notebook=city_nb, progress=False, accept_small_counts=True)
    assert out.ok, out.render()
    pages = world_root / "reports" / "world"
    for name in ("511102.html", "city.html", "index.html"):
        page = (pages / name).read_text(encoding="utf-8")
        assert "pe-threshold" in page and "阈值为6，低于默认的10：6至9人的计数照常显示" in page, name
    # the negative control: at the default, neither the pages' top nor the index has it
    assert "pe-threshold" not in nav("zh", 10)
    index = write_index(load_processed("world", root=world_root), tmp_path, language="en",
                        threshold=10)
    assert "pe-threshold" not in index.read_text(encoding="utf-8")
