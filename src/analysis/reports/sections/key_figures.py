"""Key figures: the county's descriptive figures beside the whole dataset's (the city's, the
province's or the nation's: :attr:`ReportContext.whole`), with its rank among counties,
read from ``describe_league.parquet`` (:func:`analysis.describe.county_league`). The residents of
the county and of the city are counts of people: shown as the dataset's protected publication says
(:mod:`analysis.reports.sections.people`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...labels import label
from .base import ReportContext, Section, not_run, paragraph, people_table, table_html
from .people import CITY_CELL, county_cell
from .readers import city_indicator, league

#: the rows of the key-figures table, in order
KEY_ROWS = (
    "institutions", "elderly_institutions", "children_institutions", "beds", "residents",
    "paired_share", "activities", "activities_per_inst", "visits", "value_rmb", "value_per_bed",
    "problems_found", "resolved_share", "composite_change",
)
_SHARES = {"paired_share", "resolved_share"}
_COUNTS = {"residents", "institutions", "elderly_institutions", "children_institutions", "beds",
           "activities", "visits", "problems_found"}


def city_figures(lg: pd.DataFrame, composite_change: float) -> dict[str, float]:
    """The city's value of every key figure from the league's county rows: sums of the counts,
    ratios of those sums, the paired share weighted by institutions (every institution has a row
    in the panel's last quarter) and the city's composite change from the indicators."""
    s = lg.select_dtypes("number").sum()
    return {
        "institutions": s["institutions"],
        "elderly_institutions": s["elderly_institutions"],
        "children_institutions": s["children_institutions"],
        "beds": s["beds"],
        "residents": s["residents"],
        "paired_share": ((lg["paired_share"] * lg["institutions"]).sum() / s["institutions"]
                         if s["institutions"] else np.nan),
        "activities": s["activities"],
        "activities_per_inst": s["activities"] / s["institutions"] if s["institutions"] else np.nan,
        "visits": s["visits"],
        "value_rmb": s["value_rmb"],
        "value_per_bed": s["value_rmb"] * 1e4 / s["beds"] if s["beds"] else np.nan,
        "problems_found": s["problems_found"],
        "resolved_share": (s["problems_resolved"] / s["problems_found"] if s["problems_found"]
                           else np.nan),
        "composite_change": composite_change,
    }


def format_value(metric: str, v: object) -> object:
    """A key figure as shown: shares as percentages, counts as integers, the rest to 2 decimals."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return np.nan
    if metric in _SHARES:
        return f"{float(v):.0%}"
    if metric in _COUNTS:
        return int(round(float(v)))
    return round(float(v), 2)


def key_figures(ctx: ReportContext) -> Section:
    """The county's key figures beside the whole dataset's, with its rank among counties on
    ranked metrics."""
    lang = ctx.language
    title = label("key_figures", lang, **ctx.whole)
    whole = label("city_value", lang, **ctx.whole)
    lg = league(ctx.processed)
    if lg is None:
        return Section("key-figures", title, (not_run("describe_league", lang),))
    n = len(lg)
    city = city_figures(lg, city_indicator(ctx.processed, "composite"))
    row = lg.set_index("county_code").loc[ctx.county_code]
    recs = []
    for m in KEY_ROWS:
        if m == "composite_change" and pd.isna(row[m]):
            continue
        rank = row.get(f"rank_{m}", np.nan)
        recs.append(
            {
                label("metric", lang): label(m, lang),
                label("value", lang): format_value(m, row[m]),
                whole: format_value(m, city[m]),
                label("rank", lang): f"{int(rank)}/{n}" if pd.notna(rank) else "",
            }
        )
    recs.append(
        {
            label("metric", lang): label("cohort", lang),
            label("value", lang): row["cohort"] if pd.notna(row["cohort"]) else label("never", lang),
            whole: "",
            label("rank", lang): "",
        }
    )
    df = pd.DataFrame(recs)
    # only the residents row is a count of people: the county's and the city's residents, shown as
    # the dataset's protected publication says (the same cells are on the city page and the index)
    row_pos = int((df[label("metric", lang)] == label("residents", lang)).to_numpy().argmax())
    tab = people_table(df, {(row_pos, label("value", lang)): county_cell(str(ctx.county_code)),
                            (row_pos, whole): CITY_CELL}, ctx)
    return Section("key-figures", title,
                   (table_html(tab), paragraph(label("rank_note", lang, n=n), cls="pe-note")))
