"""The 三升一降 scorecard: baseline against latest from ``indicators.parquet``, target met, the
county's change against the city's, and the quarterly means of the four outcomes from
``describe_trends.parquet`` (weighted as :func:`analysis.indicators.trends`, at the weighting of
the scorecard's county and city values).

The indicators are computed for each county and for the whole dataset (the city, the province or
the nation, as :attr:`ReportContext.whole` words it; the results call its rows ``city``). An area's page
shows its counties' rows (a prefecture) or, per prefecture or province, how many of its counties
met each target, and then the whole dataset's row; it has no quarterly figure (no area means are
computed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...domain import LOWER_IS_BETTER, OUTCOMES, indicator_column, outcome_label
from ...labels import label, weighting_label
from .base import ReportContext, Section, not_run, paragraph, table_html
from .readers import indicators, trends


def scorecard(ctx: ReportContext) -> Section:
    """三升一降: baseline vs latest, target met, and the county's change against the city's, plus
    quarterly means of the four outcomes for the county and the city."""
    lang = ctx.language
    ind = indicators(ctx.processed)
    blocks: list[str] = [paragraph(label("scorecard_note", lang, **ctx.whole), cls="pe-note")]
    if ind is None:
        blocks.append(not_run("indicators", lang))
    else:
        if "weighting" in ind.columns:
            w = ind.loc[ind["level"] == "county", "weighting"]
            if len(w):
                weighting = weighting_label(w.iloc[0], lang)
                note = label("weighting_note", lang, weighting=weighting, **ctx.whole)
                blocks.append(paragraph(note, cls="pe-note"))
        city = ind[ind["level"] == "city"].set_index("indicator")
        if ctx.county_code:
            blocks.append(table_html(_county_table(ind, city, ctx)))
        else:
            members, whole = _city_tables(ind, city, ctx)
            if ctx.member_level != "county":
                blocks.append(paragraph(label("scorecard_members", lang,
                                              level=label(f"level_{ctx.member_level}", lang)),
                                        cls="pe-note"))
            blocks.append(table_html(members))
            if ctx.area is not None:
                blocks.append(paragraph(label("scorecard_area_whole", lang), cls="pe-note"))
            blocks.append(table_html(whole))
    if ctx.area is None:
        blocks.append(trend_figure(ctx))
    return Section("scorecard", label("scorecard", lang), tuple(blocks))


def _county_table(ind: pd.DataFrame, city: pd.DataFrame, ctx: ReportContext) -> pd.DataFrame:
    lang = ctx.language
    mine = ind[(ind["level"] == "county") & (ind["id"] == ctx.county_code)]
    recs = []
    for _, r in mine.iterrows():
        c_change = city["change"].get(r["indicator"], np.nan)
        better = compare(r["change"], c_change, indicator_column(r["indicator"]) in LOWER_IS_BETTER)
        recs.append(
            {
                label("indicator", lang): outcome_label(r["indicator"], lang),
                label("baseline", lang): r["baseline"],
                label("latest", lang): r["latest"],
                label("change", lang): r["change"],
                label("target_met", lang): yes_no(r.get("target_met"), lang),
                **({label("significant", lang): yes_no(r.get("target_met_significant"), lang)}
                   if "target_met_significant" in mine.columns else {}),
                label("city_change", lang, **ctx.whole): c_change,
                label("vs_city", lang, **ctx.whole):
                    label(better, lang, **ctx.whole) if better else "",
            }
        )
    return pd.DataFrame(recs)


def _city_tables(ind: pd.DataFrame, city: pd.DataFrame, ctx: ReportContext) -> list[pd.DataFrame]:
    lang = ctx.language
    cty = ind[(ind["level"] == "county") & ind["id"].isin(ctx.scope_codes)]
    if ctx.member_level != "county":
        return [_members_table(cty, ctx), _whole_table(city, lang)]
    wide = cty.pivot_table(index="id", columns="indicator", values="change", aggfunc="first")
    wide.columns = [outcome_label(c, lang) for c in wide.columns]
    met = cty.pivot_table(index="id", columns="indicator", values="target_met", aggfunc="first")
    n_met = met.astype(float).sum(axis=1)
    wide.insert(0, label("county", lang), [ctx.county_name(c) for c in wide.index])
    wide[label("target_met", lang)] = [f"{int(v)}/{met.shape[1]}" for v in n_met.reindex(wide.index)]
    return [wide.reset_index(names=label("code", lang)), _whole_table(city, lang)]


def _whole_table(city: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The whole dataset's (the city's) baseline, latest value, change and target met."""
    recs = [
        {
            label("indicator", lang): outcome_label(i, lang),
            label("baseline", lang): r["baseline"],
            label("latest", lang): r["latest"],
            label("change", lang): r["change"],
            label("target_met", lang): yes_no(r.get("target_met"), lang),
        }
        for i, r in city.iterrows()
    ]
    return pd.DataFrame(recs)


def _members_table(cty: pd.DataFrame, ctx: ReportContext) -> pd.DataFrame:
    """Per prefecture or province (:attr:`ReportContext.member_level`): how many of its counties
    met each target, as ``met/counties``."""
    lang = ctx.language
    level = ctx.member_level
    met = cty.pivot_table(index="id", columns="indicator", values="target_met", aggfunc="first")
    met = met.astype(float)
    unit = ctx.member_of(pd.Series(met.index, index=met.index))
    got = met.groupby(unit).sum(min_count=1)
    n = met.notna().groupby(unit).sum()
    out = pd.DataFrame({label("area_code", lang): got.index,
                        label(f"level_{level}", lang): [ctx.unit_name(level, c) for c in got.index]})
    for col in met.columns:
        out[outcome_label(col, lang)] = [f"{int(k)}/{int(m)}" if m else ""
                                         for k, m in zip(got[col].fillna(0), n[col], strict=True)]
    return out


def compare(change: float, city_change: float, lower_better: bool) -> str:
    """``better``, ``worse`` or ``same`` (a label key): the county's change against the city's."""
    if pd.isna(change) or pd.isna(city_change):
        return ""
    d = float(change) - float(city_change)
    if abs(d) < 1e-9:
        return "same"
    return "better" if (d < 0) == lower_better else "worse"


def yes_no(v: object, lang: str) -> str:
    """A boolean as the label ``yes`` / ``no``; empty when missing."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return ""
    return label("yes", lang) if bool(v) else label("no", lang)


def trend_figure(ctx: ReportContext) -> str:
    """2×2 panel of the quarterly means of ``describe_trends.parquet`` (county against city, at the
    scorecard's weighting), embedded as PNG."""
    import matplotlib.pyplot as plt

    from ... import plots

    lang = ctx.language
    tr = trends(ctx.processed)
    if tr is None:
        return not_run("describe_trends", lang)
    plots.setup()
    shown = tr["level"] == "city"
    if ctx.county_code:
        shown |= (tr["level"] == "county") & (tr["county_code"].astype(str) == ctx.county_code)
    q = tr[shown & tr["outcome"].isin(OUTCOMES)].pivot_table(
        index=["level", "period"], columns="outcome", values="mean", aggfunc="first").reset_index()
    q = q.rename(columns={"level": "scope"})
    fig, axes = plt.subplots(2, 2, figsize=(8.5, 5.0), sharex=True)
    periods = sorted(q["period"].unique())
    pos = {p: i for i, p in enumerate(periods)}
    for ax, outcome in zip(axes.ravel(), OUTCOMES, strict=True):
        for scope, color, name in (
            ("city", plots.PALETTE["city"], label("city_value", lang, **ctx.whole)),
            ("county", plots.PALETTE["county"], ctx.county_name() if ctx.county_code else ""),
        ):
            d = q[q["scope"] == scope]
            if d.empty:
                continue
            ax.plot(d["period"].map(pos), d[outcome], color=color, label=plots.safe_text(name),
                    lw=1.8)
        ax.set_title(outcome_label(outcome, lang))
        step = max(1, len(periods) // 6)
        ax.set_xticks(range(0, len(periods), step),
                      [periods[i] for i in range(0, len(periods), step)], rotation=0)
    axes[0, 0].legend(loc="best")
    title = label("trend_title" if ctx.county_code else "trend_title_city", lang, **ctx.whole)
    fig.suptitle(title)
    # a fixed layout: tight_layout would measure every text (a third of the figure's cost)
    fig.subplots_adjust(left=0.06, right=0.985, top=0.87, bottom=0.07, hspace=0.32, wspace=0.16)
    return plots.figure_to_html(fig, alt=title)
