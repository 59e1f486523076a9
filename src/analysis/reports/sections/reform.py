"""The county-management reform: the headline balanced dynamic summary, the overall effect and the
county's cohort beside all cohorts from ``reform_aggregate.parquet`` (every inference method the
results hold, the numbers of reform and comparison counties behind each estimate, and a warning
when some of its weight rests on fewer than three comparison counties), the full event-time table,
the sensitivity to violations of parallel trends from ``reform_sensitivity.parquet`` ("how large a
violation would overturn the conclusion": Rambachan & Roth 2023 breakdown values, in words and a
table), and the cohort's event-time profile from ``reform_attgt.parquet``."""

from __future__ import annotations

import pandas as pd

from ...domain import is_eligible, outcome_label, period_to_t
from ...labels import inference_label, label
from .base import ReportContext, Section, county_codes, heading, not_run, paragraph, table_html
from .estimates import (
    ci_text,
    forest,
    has_resampling,
    inference_wide,
    p_text,
    preferred_rows,
    resampling_draws,
)
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
    elif ctx.area is not None:
        blocks.append(area_cohorts(ctx))
    if agg is None:
        blocks.append(not_run("reform_aggregate", lang))
        return Section("reform", label("reform", lang), tuple(blocks))
    # which inference to read, as the results hold it: the few-cluster methods when the build ran
    # them, else the analytic rows clustered by county (from ANALYTIC_FROM_CLUSTERS counties)
    note = "reform_few" if has_resampling(agg) else "reform_analytic"
    blocks.append(paragraph(label(note, lang, n=len(county_codes(ctx.processed))), cls="pe-note"))
    agg = agg.copy()
    agg["key"] = agg["key"].astype("string")

    # the headline: the balanced dynamic summary, with the counties behind it
    draws = resampling_draws(ctx.processed)
    blocks += _headline_blocks(agg, lang, draws)

    # overall (simple) effect with every inference method side by side
    simple = agg[agg["aggregation"] == "simple"]
    if len(simple):
        blocks.append(heading(label("overall", lang)))
        blocks.append(table_html(with_counts(
            inference_wide(simple, ["outcome"], value="att", lang=lang,
                           draws=draws), simple, ["outcome"],
            lang)))
        blocks += warning_blocks(simple, label("rf_what_overall", lang), lang)

    groups = agg[agg["aggregation"] == "group"]
    if len(groups):
        blocks += _cohort_blocks(groups, cohort, lang, outcome_for_plot, draws)
    blocks += _dynamic_blocks(agg, lang, outcome_for_plot, draws)
    blocks += sensitivity_blocks(ctx.result("reform_sensitivity"), lang)
    att_gt = ctx.result("reform_attgt")
    if cohort and att_gt is not None:
        blocks += _profile_blocks(att_gt, cohort, lang)
    elif att_gt is None:
        blocks.append(not_run("reform_attgt", lang))
    return Section("reform", label("reform", lang), tuple(blocks))


def area_cohorts(ctx: ReportContext) -> str:
    """An area's counties by the quarter they moved under county management (the estimates below
    are the whole dataset's): one row per cohort, with how many of the area's counties it holds."""
    lang = ctx.language
    c = cohorts(ctx.processed).reindex(ctx.scope_codes)
    keys = [label("never", lang) if pd.isna(v) else str(v) for v in c]
    counts = pd.Series(keys).value_counts(sort=False)
    order = sorted(counts.index, key=lambda k: (k == label("never", lang), k))
    tab = pd.DataFrame({label("cohort", lang): order,
                        label("counties_n", lang): [int(counts[k]) for k in order]})
    return (paragraph(label("reform_area", lang, area=ctx.scope_name, n=len(ctx.scope_codes)))
            + table_html(tab))


#: the columns that say how many counties an estimate rests on (``reform_aggregate``)
COUNT_COLUMNS = {"n_treated_counties": "rf_counties_t", "n_comparison_counties": "rf_counties_c",
                 "min_comparison_counties": "rf_min_c"}


def with_counts(wide: pd.DataFrame, rows: pd.DataFrame, keys: list[str], lang: str) -> pd.DataFrame:
    """``wide`` (from :func:`inference_wide` on ``rows`` grouped by ``keys``) with the numbers of
    treated and comparison counties behind each estimate, when the results carry them."""
    present = [c for c in COUNT_COLUMNS if c in rows.columns]
    if not present or wide.empty:
        return wide
    firsts = [g.iloc[0] for _, g in rows.groupby(keys, sort=False, dropna=False)]
    out = wide.copy()
    for c in present:
        out[label(COUNT_COLUMNS[c], lang)] = pd.array(
            [None if pd.isna(r[c]) else int(r[c]) for r in firsts], dtype="Int64")
    return out


def warning_blocks(rows: pd.DataFrame, what: str, lang: str) -> list[str]:
    """A note when the estimate (its composite row, else its first) rests partly on cells with
    fewer than three comparison counties (``few_comparison_weight`` > 0)."""
    if "few_comparison_weight" not in rows.columns or rows.empty:
        return []
    pick = rows[rows["outcome"] == "composite"] if (rows["outcome"] == "composite").any() else rows
    r = pick.iloc[0]
    share = r["few_comparison_weight"]
    if pd.isna(share) or float(share) <= 0:
        return []
    m = r.get("min_comparison_counties")
    return [paragraph(label("rf_warning", lang, what=what, share=float(share),
                            m="" if pd.isna(m) else int(m)), cls="pe-warning")]


def _headline_blocks(agg: pd.DataFrame, lang: str, draws: dict[str, int]) -> list[str]:
    """The headline dynamic summary (``dynamic_balanced`` overall rows flagged ``headline``)."""
    bal = agg[agg["aggregation"] == "dynamic_balanced"]
    if bal.empty:
        return []
    head = bal[bal["headline"].fillna(False).astype(bool)] if "headline" in bal.columns else bal[
        bal["key"] == "overall"]
    if head.empty:
        return []
    e = int(head["balance_e"].dropna().iloc[0]) if "balance_e" in head and head[
        "balance_e"].notna().any() else None
    title = label("rf_headline", lang, e="" if e is None else e + 1)
    blocks = [heading(title),
              table_html(with_counts(inference_wide(head, ["outcome"], value="att", lang=lang,
                           draws=draws),
                                     head, ["outcome"], lang))]
    blocks += warning_blocks(head, label("rf_what_headline", lang), lang)
    if e is not None:
        blocks.append(paragraph(label("rf_headline_note", lang, e=e + 1, e_1=e), cls="pe-note"))
    return blocks


def _dynamic_blocks(agg: pd.DataFrame, lang: str, outcome: str,
                    draws: dict[str, int]) -> list[str]:
    """The full event-time table (``dynamic``) of one outcome: the preferred method's estimate,
    interval and p-value and the counties behind every event time."""
    dyn = agg[(agg["aggregation"] == "dynamic") & (agg["outcome"] == outcome)]
    if dyn.empty:
        return []
    best = preferred_rows(dyn, ["key"])
    best = best.assign(_e=pd.to_numeric(best["key"], errors="coerce")).sort_values(
        "_e", na_position="last", kind="stable")
    tab = pd.DataFrame({
        label("event_time", lang): [label("all_groups", lang) if k == "overall" else str(k)
                                    for k in best["key"]],
        label("estimate", lang): best["att"].to_numpy(),
        label("ci", lang): [ci_text(lo, hi) for lo, hi in zip(best["ci_low"], best["ci_high"],
                                                               strict=True)],
        label("p_value", lang): [p_text(v, draws.get(m))
                                 for v, m in zip(best["p_value"], best["inference"], strict=True)],
        label("inference", lang): [inference_label(m, lang) for m in best["inference"]],
    })
    for c in ("n_treated_counties", "n_comparison_counties"):
        if c in best.columns:
            tab[label(COUNT_COLUMNS[c], lang)] = pd.array(
                [None if pd.isna(v) else int(v) for v in best[c]], dtype="Int64")
    return [heading(f"{label('rf_dynamic_full', lang)}（{outcome_label(outcome, lang)}）"
                    if lang == "zh" else
                    f"{label('rf_dynamic_full', lang)} ({outcome_label(outcome, lang)})"),
            table_html(tab)]


def sensitivity_blocks(sens: pd.DataFrame | None, lang: str) -> list[str]:
    """How large a violation of parallel trends would overturn the conclusion
    (``reform_sensitivity``: Rambachan & Roth breakdown values), in words and a small table."""
    if sens is None:
        return [heading(label("rf_sensitivity", lang)), not_run("reform_sensitivity", lang)]
    if sens.empty:
        return []
    blocks = [heading(label("rf_sensitivity", lang)), paragraph(label("rf_sens_intro", lang))]
    rows, words = [], []
    for outcome, g in sens.groupby("outcome", sort=False):
        rm = g[g["restriction"] == "relative_magnitude"]
        sd = g[g["restriction"] == "smoothness"]
        first = g.iloc[0]
        est = first.get("estimate", float("nan"))
        lo, hi = first.get("original_low", float("nan")), first.get("original_high", float("nan"))
        b_rm = float(rm["breakdown_m"].iloc[0]) if len(rm) else float("nan")
        b_sd = float(sd["breakdown_m"].iloc[0]) if len(sd) else float("nan")
        name = outcome_label(outcome, lang)
        excludes = pd.notna(lo) and pd.notna(hi) and (lo > 0 or hi < 0)
        if not excludes or b_rm == 0:
            words.append(label("rf_sens_none", lang, outcome=name))
        elif pd.notna(b_rm):
            words.append(label("rf_sens_rm", lang, outcome=name, m=b_rm,
                               dir=label("rf_dir_up" if est > 0 else "rf_dir_down", lang)))
        rows.append({
            label("outcome", lang): name,
            label("rf_estimate", lang): est,
            label("rf_ci_parallel", lang): ci_text(lo, hi),
            label("rf_breakdown_rm", lang): f"{b_rm:.3g}" if pd.notna(b_rm) else "",
            label("rf_breakdown_sd", lang): f"{b_sd:.3g}" if pd.notna(b_sd) else "",
        })
    blocks += [paragraph(w) for w in words]
    blocks.append(table_html(pd.DataFrame(rows)))
    blocks.append(paragraph(label("rf_sens_note", lang), cls="pe-note"))
    return blocks


def _cohort_blocks(groups: pd.DataFrame, cohort: str | None, lang: str,
                   outcome_for_plot: str, draws: dict[str, int]) -> list[str]:
    """The county's cohort with every method, all cohorts beside each other, and their figure."""
    blocks: list[str] = []
    if cohort and (groups["key"] == cohort).any():
        blocks.append(heading(label("cohort_effect", lang, cohort=cohort)))
        mine = groups[groups["key"] == cohort]
        blocks.append(table_html(with_counts(
            inference_wide(mine, ["outcome"], value="att", lang=lang,
                           draws=draws), mine, ["outcome"], lang)))
        blocks += warning_blocks(mine, label("rf_what_cohort", lang), lang)
    elif cohort:
        blocks.append(paragraph(label("cohort_missing", lang, cohort=cohort), cls="pe-missing"))
    # all cohorts beside each other: ATT (wild-bootstrap p-value when present) per outcome
    blocks.append(heading(label("all_cohorts", lang)))
    best = preferred_rows(groups, ["outcome", "key"])
    best = best.assign(cell=[f"{a:.3g} (p={p_text(pv, draws.get(m))})" if pd.notna(pv)
                             else f"{a:.3g}" for a, pv, m in zip(best["att"], best["p_value"],
                                                                 best["inference"], strict=True)])
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
