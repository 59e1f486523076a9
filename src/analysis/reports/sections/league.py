"""Counties compared: the league table of ``describe_league.parquet`` (descriptive figures and ranks
computed by :func:`analysis.describe.county_league`), as the city summary's main table and the
index page's table. The counties' residents are shown as the dataset's protected publication says
(:mod:`analysis.reports.sections.people`), the same cells as in each county's key figures.

Above the county (a dataset of several prefectures): a prefecture's page compares its counties, a
province's page its prefectures and the dataset's page its prefectures or provinces
(:attr:`~analysis.reports.sections.base.ReportContext.member_level`), from
``describe_levels.parquet`` (:func:`unit_table`); each row links to its page
(:func:`linked_table_html`). A dataset of one prefecture keeps the county table without links.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from ...data import Processed
from ...disclosure import SuppressedTable, format_numbers
from ...labels import label
from .base import ReportContext, Section, area_report, not_run, people_table, table_html
from .people import CITY_CELL, area_cell, county_cell
from .readers import league, levels


def league_table(processed: Processed, language: str, threshold: int, *,
                 ctx: ReportContext | None = None,
                 codes: Sequence[str] | None = None) -> SuppressedTable | None:
    """The counties table of the city summary and the index, ranked (residents protected against
    every total the reports publish); ``None`` when ``describe_league`` is missing. ``ctx`` (the
    city's context) reuses its protected publication. ``codes``: only these counties (an area's;
    ranks stay those among every county of the dataset)."""
    lg = league(processed)
    if lg is None:
        return None
    if (ctx is None or ctx.processed is not processed or ctx.threshold != threshold
            or ctx.language != language):
        ctx = ReportContext(processed, None, language, threshold)
    n = len(lg)
    if codes is not None:
        lg = lg[lg["county_code"].isin(set(map(str, codes)))].reset_index(drop=True)
    df = pd.DataFrame(
        {
            label("rank", language): [f"{int(r)}/{n}" if pd.notna(r) else "" for r in lg["rank"]],
            label("code", language): lg["county_code"].to_numpy(),
            label("county", language): [ctx.county_name(c) for c in lg["county_code"]],
            label("institutions", language): lg["institutions"].astype(int).to_numpy(),
            label("residents", language): pd.array(lg["residents"].round(), dtype="Int64"),
            label("activities_per_inst", language): lg["activities_per_inst"].round(1).to_numpy(),
            label("resolved_share", language): [f"{v:.0%}" if pd.notna(v) else ""
                                                for v in lg["resolved_share"]],
            label("composite_change", language): lg["composite_change"].round(2).to_numpy(),
            label("cohort", language): [c if pd.notna(c) else label("never", language)
                                        for c in lg["cohort"]],
        }
    )
    df = df.sort_values(label("rank", language), key=lambda s: lg.loc[s.index, "rank"], kind="stable")
    codes = lg.loc[df.index, "county_code"].astype(str).to_numpy()
    residents = label("residents", language)
    return people_table(df.reset_index(drop=True),
                        {(i, residents): county_cell(code) for i, code in enumerate(codes)}, ctx)


#: the columns of an area's row (``describe_levels``) in the tables that list areas, in order
UNIT_COLUMNS = ("counties", "institutions", "residents", "activities_per_inst", "resolved_share",
                "composite_change")


def unit_cell(level: str, code: str) -> str:
    """The people-publication cell of a unit's residents (county, prefecture, province; the
    dataset's own total for ``nation``)."""
    if level == "county":
        return county_cell(code)
    return CITY_CELL if level == "nation" else area_cell(level, code)


def unit_table(ctx: ReportContext, level: str, codes: Sequence[str]) -> SuppressedTable | None:
    """Prefectures or provinces (``level``) side by side from ``describe_levels``: code, name,
    counties, institutions, residents (protected as every page shows them), activities per
    institution, share of problems resolved and the change in the composite index (the residents-
    weighted summary of its counties' changes); ``None`` when ``describe_levels`` is missing."""
    lv = levels(ctx.processed)
    if lv is None:
        return None
    lang = ctx.language
    rows = lv[lv["level"] == level].set_index("code").reindex(list(codes))
    df = pd.DataFrame({
        label("area_code", lang): list(codes),
        label(f"level_{level}", lang): [ctx.unit_name(level, c) for c in codes],
        label("counties_n", lang): pd.array(rows["counties"], dtype="Int64"),
        label("institutions", lang): pd.array(rows["institutions"].round(), dtype="Int64"),
        label("residents", lang): pd.array(rows["residents"].round(), dtype="Int64"),
        label("activities_per_inst", lang): rows["activities_per_inst"].round(1).to_numpy(),
        label("resolved_share", lang): [f"{v:.0%}" if pd.notna(v) else ""
                                        for v in rows["resolved_share"]],
        label("composite_change", lang): rows["composite_change"].round(2).to_numpy(),
    })
    residents = label("residents", lang)
    return people_table(df, {(i, residents): unit_cell(level, c) for i, c in enumerate(codes)},
                        ctx)


def page_of(level: str, code: str) -> str:
    """The file of a county's or an area's page (``511102.html``, ``prefecture-511100.html``)."""
    return f"{code}.html" if level == "county" else f"{area_report(code)}.html"


def linked_table_html(table: SuppressedTable, links: Sequence[str], head: str) -> str:
    """``table`` with every cell escaped and one more column, ``head``, of ready HTML ``links``
    (one per row, built by the caller from codes and labels), then the disclosure note."""
    shown = format_numbers(table.table)
    cols = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for (_, r), link in zip(shown.iterrows(), links, strict=True):
        cells = "".join(
            f"<td>{'–' if (not isinstance(v, str) and pd.isna(v)) else html.escape(str(v))}</td>"
            for v in r)
        rows.append(f"<tr>{cells}<td>{link}</td></tr>")
    note = f"<p class='pe-note'>{html.escape(table.note)}</p>" if table.note else ""
    return (f"<table class='pe-table'><thead><tr>{cols}<th>{html.escape(head)}</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{note}")


def open_link(href: str, language: str) -> str:
    """A link to a page, worded ``open``."""
    return (f"<a href='{html.escape(href, quote=True)}'>"
            f"{html.escape(label('index_open', language))}</a>")


def comparison(ctx: ReportContext) -> Section:
    """All counties side by side: key figures, rank and cohort (the city summary's main table).
    On an area's page and the page of a dataset of several prefectures: the units one level below
    (:attr:`ReportContext.member_level`), each linked to its page."""
    lang = ctx.language
    if ctx.area is None and ctx.member_level == "county":
        table = league_table(ctx.processed, lang, ctx.threshold, ctx=ctx)
        block = not_run("describe_league", lang) if table is None else table_html(table)
        return Section("comparison", label("comparison", lang), (block,))
    level = ctx.member_level
    if level == "county":
        codes = ctx.scope_codes
        table = league_table(ctx.processed, lang, ctx.threshold, ctx=ctx, codes=codes)
        missing = "describe_league"
        if table is not None:  # the league's order (by rank), not the codes'
            codes = [str(c) for c in table.table[label("code", lang)]]
    else:
        codes = sorted(set(ctx.member_of(ctx.scope_codes)))
        table = unit_table(ctx, level, codes)
        missing = "describe_levels"
    title = label("comparison" if level == "county" else f"comparison_{level}", lang)
    if table is None:
        return Section("comparison", title, (not_run(missing, lang),))
    links = [open_link(page_of(level, c), lang) for c in codes]
    return Section("comparison", title,
                   (linked_table_html(table, links, label("index_report", lang)),))
