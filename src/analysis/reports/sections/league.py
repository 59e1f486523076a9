"""Counties compared: the league table of ``describe_league.parquet`` (descriptive figures and ranks
computed by :func:`analysis.describe.county_league`), as the city summary's main table and the
index page's table. The counties' residents are shown as the dataset's protected publication says
(:mod:`analysis.reports.sections.people`), the same cells as in each county's key figures."""

from __future__ import annotations

import pandas as pd

from ...data import Processed
from ...disclosure import SuppressedTable
from ...labels import label
from .base import ReportContext, Section, not_run, people_table, table_html
from .people import county_cell
from .readers import league


def league_table(processed: Processed, language: str, threshold: int, *,
                 ctx: ReportContext | None = None) -> SuppressedTable | None:
    """The counties table of the city summary and the index, ranked (residents protected against
    every total the reports publish); ``None`` when ``describe_league`` is missing. ``ctx`` (the
    city's context) reuses its protected publication."""
    lg = league(processed)
    if lg is None:
        return None
    if (ctx is None or ctx.processed is not processed or ctx.threshold != threshold
            or ctx.language != language):
        ctx = ReportContext(processed, None, language, threshold)
    n = len(lg)
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


def comparison(ctx: ReportContext) -> Section:
    """All counties side by side: key figures, rank and cohort (the city summary's main table)."""
    lang = ctx.language
    table = league_table(ctx.processed, lang, ctx.threshold, ctx=ctx)
    block = not_run("describe_league", lang) if table is None else table_html(table)
    return Section("comparison", label("comparison", lang), (block,))
