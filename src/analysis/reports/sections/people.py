"""The counts of people a dataset's reports publish, protected once for every page.

What the reports publish about residents — and nothing else they publish counts people: the other
tables count institutions, activities, beds and money, and no figure labels a count of people (the
trend figure draws resident-weighted means):

=========================================  ====================================================
cell                                       where
=========================================  ====================================================
a home's residents (its latest assessment)  its county's page, institutions table
a county's residents (latest quarter)       its county's page, key figures; the city page and
                                            the index, counties table (with several prefectures:
                                            its prefecture's page and index page)
a prefecture's residents (several           its page, its province's page (or the dataset's),
prefectures in the dataset)                 the index pages
a province's residents (several provinces)  its page, the dataset's page, the index
the city's residents                        every county page, key figures (city value); the
                                            summary by level of every area page
=========================================  ====================================================

and the sums that tie them, which an attacker can solve: a county's residents = Σ residents of
its homes assessed in the latest quarter (``describe_league``; a home last assessed earlier shows
that earlier count, which is in no total), a prefecture's = Σ its counties, a province's = Σ its
prefectures, and the city's (the whole dataset's) = Σ counties. A home's residents do not exceed
its beds (a rule of the data contract; beds are shown beside them), unless the count is already
above them. An area's total is published only when the dataset has several areas of that level
(otherwise it is the city's), so a dataset of one prefecture publishes what it always did.

:func:`people_publication` states these cells and relations from the processed data and the
results, and protects them with :func:`analysis.disclosure.protect` — one pattern for the whole
dataset, so that a count hidden on one page is hidden on every page that shows it. The sections
(``institutions``, ``key_figures``, ``league``) show the counts as this publication says, and the
report driver audits it (:func:`audit_people`) before it writes any page.
"""

from __future__ import annotations

import math

import pandas as pd

from ...data import MANIFEST_HASH_KEY, Processed
from ...disclosure import Audit, Cell, Publication, Relation, audit, protect
from ...errors import ReportError
from ...hierarchy import CODE_COLUMN, hierarchy
from .readers import league

CITY_CELL = "residents/city"


def institution_cell(institution_id: str) -> str:
    """Cell id of a home's residents."""
    return f"residents/institution/{institution_id}"


def county_cell(county_code: str) -> str:
    """Cell id of a county's residents."""
    return f"residents/county/{county_code}"


def area_cell(level: str, code: str) -> str:
    """Cell id of a prefecture's or province's residents (``level``: ``prefecture``,
    ``province``)."""
    return f"residents/{level}/{code}"


def latest_residents(processed: Processed) -> pd.DataFrame:
    """One row per institution (``institution_id`` order): ``institution_id``,
    ``institution_name``, ``county_code``, ``kind``, ``beds``, ``residents`` (its latest assessed
    quarter, missing when never assessed) and ``in_total`` (that quarter is the latest assessed
    quarter of the data, so the count is part of its county's published total)."""
    inst = processed.tables["institutions"].sort_values("institution_id").reset_index(drop=True)
    p = processed.panel
    p = p[p["assessed"].astype(bool)]
    last = p.sort_values("t", kind="stable").groupby("institution_id").tail(1)
    last = last.set_index("institution_id")
    out = inst[["institution_id", "institution_name", "county_code", "kind", "beds"]].copy()
    out["county_code"] = out["county_code"].astype(str)
    out["residents"] = last["residents"].reindex(out["institution_id"]).round().to_numpy()
    t_max = p["t"].max() if len(p) else math.nan
    out["in_total"] = (last["t"].reindex(out["institution_id"]) == t_max).to_numpy()
    return out


def people_cells(processed: Processed) -> tuple[list[Cell], list[Relation]]:
    """Every published count of people (one cell each, whatever the pages) and the relations."""
    homes = latest_residents(processed)
    cells: list[Cell] = []
    members: dict[str, list[str]] = {}
    for r in homes.itertuples(index=False):
        if pd.isna(r.residents):
            continue
        value = float(r.residents)
        beds = float(r.beds) if pd.notna(r.beds) else math.inf
        cid = institution_cell(str(r.institution_id))
        cells.append(Cell(cid, value,
                          label=f"residents of {r.institution_name} ({r.institution_id}), "
                                f"county {r.county_code}",
                          pages=(f"county page {r.county_code}",),
                          upper=beds if value <= beds else math.inf))
        if bool(r.in_total):
            members.setdefault(r.county_code, []).append(cid)
    relations: list[Relation] = []
    lg = league(processed)
    if lg is None:
        return cells, relations
    county_ids = []
    for r in lg.itertuples(index=False):
        code = str(r.county_code)
        if pd.isna(r.residents):
            continue
        cid = county_cell(code)
        county_ids.append(cid)
        cells.append(Cell(cid, float(round(r.residents)), label=f"residents of county {code}",
                          pages=(f"county page {code}", "city page", "index")))
        relations.append(Relation(cid, tuple(members.get(code, ())),
                                  label=f"county {code}: Σ homes assessed in the latest quarter"))
    if county_ids:
        total = math.fsum(c.value for c in cells if c.id in set(county_ids))
        cells.append(Cell(CITY_CELL, total, label="residents of the city",
                          pages=("every county page",)))
        relations.append(Relation(CITY_CELL, tuple(county_ids), label="city: Σ counties"))
        area_cells(processed, cells, relations)
    return cells, relations


def area_cells(processed: Processed, cells: list[Cell], relations: list[Relation]) -> None:
    """Add the prefectures' totals (Σ their counties) when the dataset has several prefectures,
    and the provinces' (Σ their prefectures) when it has several provinces."""
    h = hierarchy(processed.tables["counties"])
    value = {c.id: c.value for c in cells}
    below = {county_cell(str(r.county_code)): (str(r.prefecture_code), str(r.province_code))
             for r in h.itertuples(index=False)}
    for depth, level in enumerate(("prefecture", "province")):
        if h[CODE_COLUMN[level]].nunique() < 2:
            return
        members: dict[str, list[str]] = {}
        for cid, parents in below.items():
            if cid in value:
                members.setdefault(parents[depth], []).append(cid)
        up: dict[str, tuple[str, str]] = {}
        for code in sorted(members):
            cid = area_cell(level, code)
            parts = tuple(members[code])
            value[cid] = math.fsum(value[p] for p in parts)
            cells.append(Cell(cid, value[cid], label=f"residents of {level} {code}",
                              pages=(f"{level} page {code}", "index pages")))
            relations.append(Relation(cid, parts, label=f"{level} {code}: Σ its "
                                      f"{'counties' if level == 'prefecture' else 'prefectures'}"))
            up[cid] = (code, code[:2] + "0000")
        below = up


def people_publication(processed: Processed, threshold: int) -> Publication:
    """The dataset's counts of people with the status each is shown with on every page."""
    cells, relations = people_cells(processed)
    return protect(cells, relations, threshold)


#: publications protected in this process, by (the processed folder's manifest hash, threshold);
#: at most :data:`KEEP_PUBLICATIONS`. Why: a kept report kernel (:mod:`analysis.reports.kernel`)
#: runs page after page of one dataset, and protecting its counts took 1.8 s a page for the
#: synthetic Sichuan world (2,082 cells), three times the rest of a county page.
_PROTECTED: dict[tuple[str, int], Publication] = {}
#: how many (dataset, threshold) publications one process keeps
KEEP_PUBLICATIONS = 2


def stored_publication(processed: Processed, threshold: int) -> Publication:
    """:func:`people_publication` of a processed folder as :func:`analysis.data.load_processed`
    read it, computed once per process and folder version.

    The key is the folder's manifest hash, which covers the size and SHA-256 of every file the
    build wrote; ``load_processed`` checks each file it reads against them, so a rebuilt folder
    has another key and is never served an old publication, and the publication is a function
    of the key alone. That is why the warm kernels' reset (which clears the package's
    ``functools`` caches) leaves this store: a page from a kernel that reuses it is the page a
    cold kernel writes. Only for data as read from disk (``open_report``); a dataset changed in
    memory keeps its old manifest, so callers holding one use :func:`people_publication`. A
    folder whose manifest records no hash is protected on every call."""
    digest = processed.manifest.get(MANIFEST_HASH_KEY)
    if not digest:
        return people_publication(processed, threshold)
    key = (str(digest), int(threshold))
    if key not in _PROTECTED:
        pub = people_publication(processed, threshold)
        while len(_PROTECTED) >= KEEP_PUBLICATIONS:
            _PROTECTED.pop(next(iter(_PROTECTED)))
        _PROTECTED[key] = pub
    return _PROTECTED[key]


def audit_people(processed: Processed, threshold: int) -> Audit:
    """The linear attacker's audit of what the reports of ``processed`` publish at ``threshold``."""
    return audit(people_publication(processed, threshold))


def check_people(processed: Processed, threshold: int) -> Audit:
    """Audit what the reports of ``processed`` publish; :class:`~analysis.errors.ReportError`
    (exit 1) naming every disclosed cell and its derivation when the audit finds one."""
    result = audit_people(processed, threshold)
    if not result.ok:
        raise ReportError(
            f"refusing to publish the reports of dataset {processed.dataset!r}: the published "
            "figures would let a reader derive small counts of people. Nothing was written.\n"
            + result.render()
            + "\nThe suppression should have prevented this; please report it with this message."
        )
    return result
