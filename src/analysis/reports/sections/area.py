"""An area's figures: the key figures of a prefecture's or province's counties beside those of the
levels above it, from ``describe_levels.parquet`` (:func:`analysis.describe.level_summary`: counts
and amounts summed over the counties, rates recomputed from the sums, shares and changes
weighted). Shown on an area's page (a prefecture: itself, its province when the dataset has
several, the whole dataset) and on the page of a dataset of several prefectures (the whole
dataset). A dataset of one prefecture has no such section: its city page shows the counties.

The residents of each column are counts of people: shown as the dataset's protected publication
says (:mod:`analysis.reports.sections.people`: a prefecture's total is Σ its counties, a
province's Σ its prefectures, and every one is protected against the others).
"""

from __future__ import annotations

import pandas as pd

from ...hierarchy import NATION_CODE, prefecture_code, province_code
from ...labels import label
from .base import ReportContext, Section, not_run, paragraph, people_table, table_html
from .key_figures import KEY_ROWS, format_value
from .league import unit_cell
from .readers import levels


def chain(ctx: ReportContext) -> list[tuple[str, str]]:
    """``(level, code)`` of the page's area and every level above it up to the whole dataset
    (whose row is ``describe_levels``' row at the dataset's own level); ``[]`` for a county page
    and for a dataset of one prefecture (or county)."""
    if ctx.county_code or (ctx.member_level == "county" and ctx.area is None):
        return []
    top = ctx.dataset_level
    whole = (top, NATION_CODE if top == "nation" else
             province_code(ctx.scope_codes[0]) if top == "province" else
             prefecture_code(ctx.scope_codes[0]))
    if ctx.area is None:
        return [whole]
    out = [(str(ctx.area_level), ctx.area)]
    if ctx.area_level == "prefecture" and top == "nation":
        out.append(("province", province_code(ctx.area)))
    return [*out, whole]


def area_figures(ctx: ReportContext) -> Section | None:
    """The area's key figures beside the levels above it (one column each, the last the whole
    dataset); ``None`` (nothing shown) where :func:`chain` is empty."""
    units = chain(ctx)
    if not units:
        return None
    lang = ctx.language
    title = label("area_figures", lang)
    lv = levels(ctx.processed)
    if lv is None:
        return Section("area-figures", title, (not_run("describe_levels", lang),))
    rows = lv.set_index(["level", "code"])
    heads = [ctx.unit_name(level, code) for level, code in units]
    heads = [h if heads.count(h) == 1 else f"{h} ({code})"  # two units of one name
             for h, (_, code) in zip(heads, units, strict=True)]
    recs = []
    for m in (*KEY_ROWS, "counties"):
        rec: dict[str, object] = {label("metric", lang): label("counties_n" if m == "counties"
                                                               else m, lang)}
        for head, key in zip(heads, units, strict=True):
            v = rows[m].get(key, float("nan")) if m in rows.columns else float("nan")
            rec[head] = format_value("institutions" if m == "counties" else m, v)
        recs.append(rec)
    df = pd.DataFrame(recs)
    pos = int((df[label("metric", lang)] == label("residents", lang)).to_numpy().argmax())
    cells = {(pos, head): unit_cell("nation" if i == len(units) - 1 else level, code)
             for i, (head, (level, code)) in enumerate(zip(heads, units, strict=True))}
    tab = people_table(df, cells, ctx)
    return Section("area-figures", title,
                   (table_html(tab), paragraph(label("area_figures_note", lang), cls="pe-note")))
