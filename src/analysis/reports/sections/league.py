"""Counties compared: the league table of ``describe_league.parquet`` (descriptive figures and ranks
computed by :func:`analysis.describe.county_league`), as the city summary's main table and the
index page's table."""

from __future__ import annotations

import pandas as pd

from ...data import Processed
from ...disclosure import SuppressedTable
from ...labels import label
from .base import ReportContext, Section, not_run, suppress_against_total, table_html
from .readers import league


def league_table(processed: Processed, language: str, threshold: int) -> SuppressedTable | None:
    """The counties table of the city summary and the index, ranked (residents suppressed against
    the city total, which every report publishes); ``None`` when ``describe_league`` is missing."""
    lg = league(processed)
    if lg is None:
        return None
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
    return suppress_against_total(df.reset_index(drop=True), label("residents", language), threshold,
                                  language)


def comparison(ctx: ReportContext) -> Section:
    """All counties side by side: key figures, rank and cohort (the city summary's main table)."""
    lang = ctx.language
    table = league_table(ctx.processed, lang, ctx.threshold)
    block = not_run("describe_league", lang) if table is None else table_html(table)
    return Section("comparison", label("comparison", lang), (block,))
