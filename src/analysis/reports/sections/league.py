"""Counties compared: the league table of descriptive figures and ranks (the city summary's main
table, the index page's table, and the source of every county's key figures)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...data import Processed
from ...disclosure import SuppressedTable
from ...labels import label
from .base import ReportContext, Section, county_codes, suppress_against_total, table_html
from .readers import cohorts, indicators

#: ranked metric → higher is better?
RANKED = {
    "composite_change": True,
    "activities_per_inst": True,
    "value_per_bed": True,
    "resolved_share": True,
    "paired_share": True,
}


def league(processed: Processed) -> pd.DataFrame:
    """One row per county: descriptive figures from the processed tables and ranks among counties.

    Columns: ``county_code``, ``institutions``, ``elderly_institutions``,
    ``children_institutions``, ``beds``, ``residents`` (latest quarter), ``paired_share`` (latest
    quarter), ``activities``, ``activities_per_inst``, ``visits``, ``value_rmb`` (in 10,000 RMB),
    ``value_per_bed``, ``problems_found``, ``resolved_share``, ``composite_change`` (from
    ``indicators.parquet`` when present, else NaN), ``cohort`` (adoption quarter or missing), and
    ``rank_<metric>`` for the ranked metrics (1 = best; ties share the better rank). ``rank`` is the
    rank on the composite change when available, else on activities per institution.
    """
    t = processed.tables
    codes = county_codes(processed)
    inst = t["institutions"]
    panel = processed.panel
    out = pd.DataFrame({"county_code": codes}).set_index("county_code")
    g = inst.groupby("county_code")
    out["institutions"] = g.size()
    out["elderly_institutions"] = inst[inst["kind"] == "elderly"].groupby("county_code").size()
    out["children_institutions"] = inst[inst["kind"] == "children"].groupby("county_code").size()
    out["beds"] = g["beds"].sum().astype(float)
    latest = panel.loc[panel["assessed"].astype(bool)]
    if not latest.empty:
        last = latest["t"].max()
        lp = latest[latest["t"] == last]
        out["residents"] = lp.groupby("county_code")["residents"].sum()
    else:
        out["residents"] = np.nan
    last_t = panel["t"].max()
    lq = panel[panel["t"] == last_t]
    out["paired_share"] = lq.groupby("county_code")["paired"].mean()
    out["activities"] = panel.groupby("county_code")["activities"].sum()
    out["visits"] = panel.groupby("county_code")["visits"].sum()
    out["value_rmb"] = panel.groupby("county_code")["value_rmb"].sum() / 1e4
    probs = t["problems"].merge(inst[["institution_id", "county_code"]], on="institution_id", how="left")
    out["problems_found"] = probs.groupby("county_code").size()
    out["problems_resolved"] = probs[probs["resolved_date"].notna()].groupby("county_code").size()
    out = out.fillna(
        {c: 0 for c in ("institutions", "elderly_institutions", "children_institutions",
                        "activities", "visits", "value_rmb", "problems_found", "problems_resolved")}
    )
    out["activities_per_inst"] = out["activities"] / out["institutions"].where(out["institutions"] > 0)
    out["value_per_bed"] = out["value_rmb"] * 1e4 / out["beds"].where(out["beds"] > 0)
    out["resolved_share"] = out["problems_resolved"] / out["problems_found"].where(out["problems_found"] > 0)
    out["composite_change"] = np.nan
    ind = indicators(processed)
    if ind is not None:
        comp = ind[(ind["level"] == "county") & (ind["indicator"] == "composite")]
        out["composite_change"] = comp.set_index("id")["change"].reindex(out.index)
    out["cohort"] = cohorts(processed).reindex(out.index)
    for m, higher in RANKED.items():
        out[f"rank_{m}"] = out[m].rank(ascending=not higher, method="min")
    primary = "composite_change" if out["composite_change"].notna().any() else "activities_per_inst"
    out["rank"] = out[f"rank_{primary}"]
    out.attrs["rank_metric"] = primary
    return out.reset_index()


def league_table(processed: Processed, language: str, threshold: int) -> SuppressedTable:
    """The counties table of the city summary and the index (residents suppressed against the
    city total, which every report publishes)."""
    lg = league(processed)
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
    return Section("comparison", label("comparison", lang),
                   (table_html(league_table(ctx.processed, lang, ctx.threshold)),))
