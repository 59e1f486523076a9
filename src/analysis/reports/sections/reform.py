"""The county-management reform: the county's cohort beside all cohorts from
``reform_aggregate.parquet``, every inference method the results hold, and the cohort's event-time
profile from ``reform_attgt.parquet``."""

from __future__ import annotations

import pandas as pd

from ...domain import is_eligible, outcome_label, period_to_t
from ...labels import inference_label, label
from .base import ReportContext, Section, county_codes, heading, not_run, paragraph, table_html
from .estimates import forest, inference_wide, p_text, preferred_rows
from .readers import cohorts


def _cohort_members(ctx: ReportContext, cohort: str) -> list[str]:
    c = cohorts(ctx.processed)
    return [ctx.county_name(code) for code in sorted(c[c == cohort].index)]


def reform(ctx: ReportContext, *, outcome_for_plot: str = "composite") -> Section:
    """The reform effect for the county's cohort beside all cohorts, with the few-cluster inference
    (every inference method the results hold), and the cohort's event-time profile."""
    lang = ctx.language
    agg = ctx.result("reform_aggregate")
    blocks: list[str] = []
    cohort = None
    if ctx.county_code:
        cohort = cohorts(ctx.processed).get(ctx.county_code)
        cohort = None if pd.isna(cohort) else str(cohort)
        inst = ctx.processed.tables["institutions"]
        eligible = is_eligible(inst[inst["county_code"] == ctx.county_code]).any()
        if cohort:
            sep = "、" if lang == "zh" else ", "
            blocks.append(paragraph(label("reform_cohort", lang, cohort=cohort,
                                          members=sep.join(_cohort_members(ctx, cohort)))))
        else:
            blocks.append(paragraph(label("reform_never", lang)))
        if not eligible:
            blocks.append(paragraph(label("reform_no_eligible", lang), cls="pe-note"))
    if agg is None:
        blocks.append(not_run("reform_aggregate", lang))
        return Section("reform", label("reform", lang), tuple(blocks))
    blocks.append(paragraph(label("reform_few", lang, n=len(county_codes(ctx.processed))),
                            cls="pe-note"))
    agg = agg.copy()
    agg["key"] = agg["key"].astype("string")

    # overall (simple) effect with every inference method side by side
    simple = agg[agg["aggregation"] == "simple"]
    if len(simple):
        blocks.append(heading(label("overall", lang)))
        blocks.append(table_html(inference_wide(simple, ["outcome"], value="att", lang=lang)))

    groups = agg[agg["aggregation"] == "group"]
    if len(groups):
        blocks += _cohort_blocks(groups, cohort, lang, outcome_for_plot)
    att_gt = ctx.result("reform_attgt")
    if cohort and att_gt is not None:
        blocks += _profile_blocks(att_gt, cohort, lang)
    elif att_gt is None:
        blocks.append(not_run("reform_attgt", lang))
    return Section("reform", label("reform", lang), tuple(blocks))


def _cohort_blocks(groups: pd.DataFrame, cohort: str | None, lang: str,
                   outcome_for_plot: str) -> list[str]:
    """The county's cohort with every method, all cohorts beside each other, and their figure."""
    blocks: list[str] = []
    if cohort and (groups["key"] == cohort).any():
        blocks.append(heading(label("cohort_effect", lang, cohort=cohort)))
        blocks.append(table_html(inference_wide(groups[groups["key"] == cohort], ["outcome"],
                                                value="att", lang=lang)))
    elif cohort:
        blocks.append(paragraph(label("cohort_missing", lang, cohort=cohort), cls="pe-missing"))
    # all cohorts beside each other: ATT (wild-bootstrap p-value when present) per outcome
    blocks.append(heading(label("all_cohorts", lang)))
    best = preferred_rows(groups, ["outcome", "key"])
    best = best.assign(cell=[f"{a:.3g} (p={p_text(pv)})" if pd.notna(pv) else f"{a:.3g}"
                             for a, pv in zip(best["att"], best["p_value"], strict=True)])
    wide = best.pivot(index="outcome", columns="key", values="cell")
    wide = wide[sorted(wide.columns, key=lambda c: (c == "overall", str(c)))]
    wide.columns = [
        f"{c} {label('this_cohort', lang)}" if c == cohort
        else (label("all_groups", lang) if c == "overall" else str(c))
        for c in wide.columns
    ]
    wide.index = [outcome_label(o, lang) for o in wide.index]
    blocks.append(table_html(wide.reset_index(names=label("outcome", lang))))
    blocks.append(paragraph(label("all_cohorts_note", lang,
                                  method=inference_label(best["inference"].iloc[0], lang)),
                            cls="pe-note"))
    plot_outcome = (outcome_for_plot if (best["outcome"] == outcome_for_plot).any()
                    else best["outcome"].iloc[0])
    g1 = best[best["outcome"] == plot_outcome].sort_values("key")
    g1 = g1.assign(term=[label("all_groups", lang) if k == "overall" else str(k) for k in g1["key"]],
                   estimate=g1["att"])
    blocks.append(forest(g1, lang,
                         title=label("reform_plot", lang, outcome=outcome_label(plot_outcome, lang)),
                         highlight=[k == cohort for k in g1["key"]], show_outcome=False))
    return blocks


def _profile_blocks(att_gt: pd.DataFrame, cohort: str, lang: str) -> list[str]:
    """The cohort's ATT(g,t) by quarter with the event time (0 = the quarter of the move)."""
    prof = att_gt[att_gt["group"].astype(str) == cohort]
    if not len(prof):
        return []
    wide = prof.pivot_table(index="period", columns="outcome", values="att", aggfunc="first")
    wide.columns = [outcome_label(c, lang) for c in wide.columns]
    g_t = period_to_t(cohort)
    wide = wide.loc[sorted(wide.index, key=lambda q: period_to_t(str(q)))]
    wide.insert(0, label("event_time", lang), [period_to_t(str(q)) - g_t for q in wide.index])
    return [heading(label("event_profile", lang)),
            table_html(wide.reset_index().rename(columns={"period": label("period", lang)})),
            paragraph(label("event_note", lang), cls="pe-note")]
