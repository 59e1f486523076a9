"""主要结论 / Key findings: three to six sentences at the top of every county and city page,
generated from the results by fixed rules, each estimate worded on the evidence ladder of
:mod:`analysis.reports.evidence` and quoted with its 95% interval.

The sentences, in order (each only when its results exist):

1. **Scorecard and rank** — how many of the four 三升一降 targets the county met, the composite
   index's change with its interval against the whole dataset's (the city's, the province's or the
   nation's: :attr:`FindingsInput.level`), and the county's rank among counties
   (``indicators``, ``describe_league``).
2. **Reform** — the county-management reform's effect for the county's cohort (group aggregate),
   or, for a comparison county and the city page, the headline balanced dynamic summary; with the
   counties it rests on and the rung (``reform_aggregate``, ``reform_sensitivity``,
   ``reform_pretrends``).
3. **Pairing effectiveness** — the dose-response of the composite, an association conditional on
   institution and quarter fixed effects, never called an effect of the programme; not credible
   when its lead placebo fails (``effectiveness``).
4. **Allocation** — what the recommended plan changes for the county, its predicted gain with the
   interval the dose-response's interval implies, and why (``allocation_plan``,
   ``allocation_summary``, ``need``).

:func:`key_findings` is the pure rule (results tables in, sentences out); :func:`findings` is the
section. The rules are documented in ``docs/report_sections.md`` § Key findings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ...domain import COMPOSITE, INDICATORS, LOWER_IS_BETTER, indicator_column, outcome_label
from ...labels import DEFAULT_WHOLE, inference_label, label, whole_words
from ..evidence import Evidence, dose_evidence, reform_evidence
from .base import ReportContext, Section

#: the results files the findings read
RESULTS: tuple[str, ...] = (
    "indicators", "describe_league", "reform_aggregate", "reform_sensitivity", "reform_pretrends",
    "effectiveness", "allocation_plan", "allocation_summary", "need", "describe_levels",
)


@dataclass(frozen=True)
class FindingsInput:
    """What the rules read: results tables (name → table; absent = not run), the county (``None``
    for the city page), its cohort (adoption quarter; ``None`` = comparison county), whether it
    has institutions the reform concerns, the counties' names and how many counties there are."""

    results: Mapping[str, pd.DataFrame] = field(repr=False)
    county_code: str | None = None
    cohort: str | None = None
    eligible: bool = True
    names: Mapping[str, str] = field(default_factory=dict)
    n_counties: int = 0
    cohort_size: int = 0
    #: an area's page (a prefecture or province): its code, name and counties
    area: str | None = None
    area_name: str = ""
    area_counties: tuple[str, ...] = ()
    #: what the dataset covers (:func:`analysis.hierarchy.level_of`): the sentences speak of its
    #: whole as the city, the province or the nation (:func:`analysis.labels.whole_words`)
    level: str = DEFAULT_WHOLE

    def table(self, name: str) -> pd.DataFrame | None:
        t = self.results.get(name)
        return None if t is None else t

    def name(self, code: str) -> str:
        return self.names.get(str(code), str(code))

    def whole(self, lang: str) -> dict[str, str]:
        """The words for the dataset's whole in ``lang`` (placeholders of the catalogue)."""
        return whole_words(self.level, lang)


@dataclass(frozen=True)
class Finding:
    """One sentence: its topic (``scorecard``, ``reform``, ``effectiveness``, ``allocation``), the
    text and the graded estimate behind it (when it rests on one)."""

    topic: str
    text: str
    evidence: Evidence | None = None


# ----------------------------------------------------------------------------------------------
# number formatting
# ----------------------------------------------------------------------------------------------


def num(x: float) -> str:
    """A signed number with three significant digits (``+0.491``, ``−1.24``, ``+7.52``)."""
    if x is None or not math.isfinite(float(x)):
        return ""
    return f"{float(x):+.3g}".replace("-", "−")


def with_ci(est: float, lo: float, hi: float, lang: str, method: str | None = None) -> str:
    """``est`` with its 95% interval (and the method that gave it): ``+0.491（95%置信区间 +0.277 至
    +0.734，野自助法）`` / ``+0.491 (95% CI +0.277 to +0.734, wild bootstrap)``."""
    if not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
        return num(est)
    m = inference_label(method, lang) if method else ""
    key = "fs_ci_method" if m else "fs_ci"
    return label(key, lang, est=num(est), lo=num(lo), hi=num(hi), method=m)


def outcome_name(outcome: str, lang: str) -> str:
    """An outcome's label inside a sentence (lower case in English)."""
    name = outcome_label(outcome, lang)
    return name if lang == "zh" else name.lower()


def headline_window(agg: pd.DataFrame, outcome: str) -> int | None:
    """The last event time ``E`` of the headline balanced window (``balance_e`` of the
    ``dynamic_balanced`` rows), ``None`` when the results have none."""
    if "balance_e" not in agg.columns:
        return None
    b = agg.loc[(agg["outcome"] == outcome) & (agg["aggregation"] == "dynamic_balanced"),
                "balance_e"].dropna()
    return int(b.iloc[0]) if len(b) else None


def _sep(lang: str) -> str:
    return "、" if lang == "zh" else ", "


# ----------------------------------------------------------------------------------------------
# the ladder in words
# ----------------------------------------------------------------------------------------------


def ladder_clause(ev: Evidence, outcome: str, lang: str, *, subject: str, design: str) -> str:
    """The evidence clause of a sentence: the rung's words and what they are about. A causal
    design says the subject *improved/worsened* the outcome; an association says the two go
    together; a finding on the lowest rungs says the evidence does not allow a conclusion."""
    what = outcome_name(outcome, lang)
    direction = ev.direction(outcome)
    if ev.level == "undetermined":
        key = "fs_ladder_not_credible" if "placebo_failed" in ev.reasons else "fs_ladder_undetermined"
        return label(key, lang, subject=subject, outcome=what)
    if ev.level == "insufficient" or direction == "none":
        key = "fs_ladder_insufficient_assoc" if design == "association" else "fs_ladder_insufficient"
        return label(key, lang, subject=subject, outcome=what)
    key = f"fs_ladder_{'assoc' if design == 'association' else 'causal'}_{direction}"
    return label(key, lang, level=label(f"ev_{ev.level}", lang), subject=subject, outcome=what)


def reasons_text(ev: Evidence, lang: str) -> str:
    """Why the finding is not on a higher rung, as a parenthesis (empty when nothing lowered it)."""
    parts = [label(f"ev_reason_{r}", lang, m=ev.breakdown_m) for r in ev.reasons
             if r not in ("no_estimate", "placebo_failed")]
    if ev.adjusted:
        parts.append(label("ev_adjusted", lang))
    if not parts:
        return ""
    return label("fs_reasons", lang, reasons=_sep(lang).join(parts))


# ----------------------------------------------------------------------------------------------
# the sentences
# ----------------------------------------------------------------------------------------------


def _indicator_rows(ind: pd.DataFrame, level: str, ident: str | None) -> pd.DataFrame:
    """The rows of one county (or the city) at the preferred weighting (residents first)."""
    rows = ind[ind["level"] == level]
    if ident is not None:
        rows = rows[rows["id"].astype(str) == ident]
    if "weighting" in rows.columns and len(rows):
        present = list(dict.fromkeys(rows["weighting"].astype(str)))
        pick = "residents" if "residents" in present else present[0]
        rows = rows[rows["weighting"].astype(str) == pick]
    return rows.drop_duplicates("indicator")


def scorecard_finding(inp: FindingsInput, lang: str) -> Finding | None:
    """Targets met, the composite's change with its interval against the city's, and the rank."""
    ind = inp.table("indicators")
    if ind is None or ind.empty:
        return None
    if inp.area is not None:
        return area_scorecard_finding(inp, ind, lang)
    level, ident = ("county", inp.county_code) if inp.county_code else ("city", None)
    mine = _indicator_rows(ind, level, ident)
    if mine.empty:
        return None
    targets = mine[mine["indicator"].isin(list(INDICATORS))]
    met = [outcome_label(i, lang) for i, m in zip(targets["indicator"], targets["target_met"],
                                                  strict=True) if m is True or m == 1]
    missed = [outcome_label(i, lang) for i, m in zip(targets["indicator"], targets["target_met"],
                                                     strict=True) if not (m is True or m == 1)]
    text = label("fs_targets", lang, k=len(met), n=len(targets),
                 met=_sep(lang).join(met) if met else label("fs_none", lang))
    if missed:
        text += label("fs_missed", lang, missed=_sep(lang).join(missed))
    comp = mine[mine["indicator"] == COMPOSITE]
    if len(comp):
        c = comp.iloc[0]
        change = with_ci(c["change"], c.get("ci_low", math.nan), c.get("ci_high", math.nan), lang)
        text += label("fs_composite", lang, change=change)
        if inp.county_code:
            city = _indicator_rows(ind, "city", None)
            city_c = city[city["indicator"] == COMPOSITE]
            if len(city_c) and math.isfinite(float(city_c["change"].iloc[0])):
                d = float(c["change"]) - float(city_c["change"].iloc[0])
                lower_better = indicator_column(COMPOSITE) in LOWER_IS_BETTER
                key = ("fs_vs_same" if abs(d) < 1e-9 else
                       "fs_vs_better" if (d < 0) == lower_better else "fs_vs_worse")
                text += label(key, lang, city=num(city_c["change"].iloc[0]), **inp.whole(lang))
    lg = inp.table("describe_league")
    if inp.county_code and lg is not None and len(lg):
        row = lg[lg["county_code"].astype(str) == inp.county_code]
        col = "rank_composite_change" if "rank_composite_change" in lg.columns else "rank"
        if len(row) and pd.notna(row[col].iloc[0]):
            text += label("fs_rank", lang, rank=int(row[col].iloc[0]), n=len(lg))
    elif not inp.county_code and lg is not None and len(lg) and "composite_change" in lg.columns:
        d = lg.dropna(subset=["composite_change"]).sort_values("composite_change")
        if len(d) >= 2:
            text += label("fs_best_worst", lang,
                          best=inp.name(d["county_code"].iloc[-1]),
                          best_v=num(d["composite_change"].iloc[-1]),
                          worst=inp.name(d["county_code"].iloc[0]),
                          worst_v=num(d["composite_change"].iloc[0]))
    return Finding("scorecard", label("fs_scorecard_head", lang) + text + label("fs_end", lang))


def area_scorecard_finding(inp: FindingsInput, ind: pd.DataFrame, lang: str) -> Finding | None:
    """An area's page: how many of its counties met all four targets, the residents-weighted
    summary of their composite changes (``describe_levels``), and its best and worst county. The
    indicators have no area rows: nothing here is an area estimate with an interval."""
    codes = set(inp.area_counties)
    rows = ind[(ind["level"] == "county") & ind["id"].astype(str).isin(codes)]
    if "weighting" in rows.columns and len(rows):
        present = list(dict.fromkeys(rows["weighting"].astype(str)))
        rows = rows[rows["weighting"].astype(str) == ("residents" if "residents" in present
                                                       else present[0])]
    targets = rows[rows["indicator"].isin(list(INDICATORS))]
    if targets.empty:
        return None
    met = targets.assign(ok=[m is True or m == 1 for m in targets["target_met"]])
    per_county = met.groupby(met["id"].astype(str))["ok"].agg(["sum", "size"])
    all_met = int((per_county["sum"] == per_county["size"]).sum())
    text = label("fs_area_targets", lang, area=inp.area_name, k=all_met, n=len(per_county),
                 m=int(per_county["size"].max()))
    lv = inp.table("describe_levels")
    if lv is not None and len(lv):
        row = lv[lv["code"].astype(str) == inp.area]
        if len(row) and pd.notna(row["composite_change"].iloc[0]):
            text += label("fs_area_composite", lang, change=num(row["composite_change"].iloc[0]))
    lg = inp.table("describe_league")
    if lg is not None and len(lg) and "composite_change" in lg.columns:
        d = lg[lg["county_code"].astype(str).isin(codes)].dropna(subset=["composite_change"])
        d = d.sort_values("composite_change")
        if len(d) >= 2:
            text += label("fs_best_worst", lang,
                          best=inp.name(d["county_code"].iloc[-1]),
                          best_v=num(d["composite_change"].iloc[-1]),
                          worst=inp.name(d["county_code"].iloc[0]),
                          worst_v=num(d["composite_change"].iloc[0]))
    return Finding("scorecard", label("fs_scorecard_head", lang) + text + label("fs_end", lang))


def reform_finding(inp: FindingsInput, lang: str, outcome: str = COMPOSITE) -> Finding | None:
    """The reform's effect for the county's cohort, or the headline summary (comparison county,
    city page), with the counties behind it and its rung."""
    agg = inp.table("reform_aggregate")
    if agg is None or agg.empty:
        return None
    sens, pre = inp.table("reform_sensitivity"), inp.table("reform_pretrends")
    head = label("fs_reform_head", lang)
    if inp.county_code and inp.cohort and not inp.eligible:
        return Finding("reform", head + label("fs_reform_no_eligible", lang, cohort=inp.cohort))
    subject = label("fs_subject_reform", lang)
    if inp.county_code and inp.cohort:
        ev = reform_evidence(agg, outcome, aggregation="group", key=inp.cohort,
                             sensitivity=sens, pretrends=pre)
        intro = label("fs_reform_cohort", lang, cohort=inp.cohort, n=max(inp.cohort_size, 1))
    else:
        ev = reform_evidence(agg, outcome, aggregation="dynamic_balanced", key="overall",
                             sensitivity=sens, pretrends=pre)
        window = headline_window(agg, outcome)
        if "no_estimate" in ev.reasons or window is None:
            ev = reform_evidence(agg, outcome, aggregation="simple", sensitivity=sens,
                                 pretrends=pre)
            intro = label("fs_reform_all", lang, **inp.whole(lang))
        else:
            intro = label("fs_reform_window", lang, e=window + 1, **inp.whole(lang))
        if inp.county_code:
            intro = label("fs_reform_comparison", lang) + intro
    if "no_estimate" in ev.reasons:
        return Finding("reform", head + intro + label("fs_reform_missing", lang), ev)
    counts = ""
    if ev.n_treated is not None and ev.n_comparison is not None:
        counts = label("fs_counties", lang, t=ev.n_treated, c=ev.n_comparison)
    text = (head + intro
            + label("fs_reform_estimate", lang, outcome=outcome_name(outcome, lang),
                    value=with_ci(ev.estimate, ev.ci_low, ev.ci_high, lang, ev.method),
                    counts=counts)
            + ladder_clause(ev, outcome, lang, subject=subject, design="causal")
            + reasons_text(ev, lang) + label("fs_end", lang))
    return Finding("reform", text, ev)


def effectiveness_finding(inp: FindingsInput, lang: str,
                          outcome: str = COMPOSITE) -> Finding | None:
    """The dose-response of ``outcome`` as an association, with the lead placebo's verdict."""
    eff = inp.table("effectiveness")
    if eff is None or eff.empty:
        return None
    ev = dose_evidence(eff, outcome)
    head = label("fs_eff_head", lang)
    if "no_estimate" in ev.reasons:
        return Finding("effectiveness", head + label("fs_eff_missing", lang), ev)
    text = (head + label("fs_eff_estimate", lang, outcome=outcome_name(outcome, lang),
                         value=with_ci(ev.estimate, ev.ci_low, ev.ci_high, lang, ev.method),
                         **inp.whole(lang))
            + ladder_clause(ev, outcome, lang, subject=label("fs_subject_dose", lang),
                            design="association")
            + reasons_text(ev, lang))
    if "placebo_failed" not in ev.reasons and "no_placebo" not in ev.reasons:
        text += label("fs_placebo_ok", lang)
    text += label("fs_assoc_note", lang) + label("fs_end", lang)
    return Finding("effectiveness", text, ev)


def gain_interval(gain: float, beta: float, ev: Evidence) -> tuple[float, float]:
    """The interval of a predicted gain implied by the dose-response's interval: every predicted
    gain is ``beta`` times a change of ``log1p(activities)``, so it scales with ``beta`` (and the
    plan itself does not depend on ``beta`` when one ``beta`` serves every institution:
    ``docs/methods_allocation.md`` § 3)."""
    if not (math.isfinite(beta) and beta > 0 and math.isfinite(ev.ci_low)
            and math.isfinite(ev.ci_high)):
        return (math.nan, math.nan)
    a, b = gain * ev.ci_low / beta, gain * ev.ci_high / beta
    return (min(a, b), max(a, b))


def allocation_facts(plan: pd.DataFrame) -> pd.DataFrame:
    """``change`` per plan row (from the column, else from the ``current``/``recommended`` flags)."""
    if "change" in plan.columns:
        return plan.assign(change=plan["change"].astype(str))
    cur, rec = plan["current"].astype(bool), plan["recommended"].astype(bool)
    change = pd.Series("ended", index=plan.index).mask(rec, "added").mask(cur & rec, "kept")
    return plan.assign(change=change)


def plan_beta(plan: pd.DataFrame) -> float:
    """The response coefficient the plan was computed with (NaN unless it was estimated)."""
    if "response_beta" not in plan.columns or not len(plan):
        return math.nan
    if "response_source" in plan.columns and str(plan["response_source"].iloc[0]) != "estimated":
        return math.nan
    return float(plan["response_beta"].iloc[0])


def summary_value(summary: pd.DataFrame | None, metric: str) -> float:
    """A numeric metric of ``allocation_summary`` (NaN when absent)."""
    if summary is None or not {"metric", "value"} <= set(summary.columns):
        return math.nan
    v = summary.loc[summary["metric"] == metric, "value"]
    try:
        return float(v.iloc[0]) if len(v) else math.nan
    except (TypeError, ValueError):
        return math.nan


def allocation_finding(inp: FindingsInput, lang: str) -> Finding | None:
    """What the plan changes here, the county's predicted gain (with the interval the dose-response
    implies), and why, beside the city-wide gain."""
    plan = inp.table("allocation_plan")
    if plan is None or plan.empty:
        return None
    plan = allocation_facts(plan)
    ev = dose_evidence(inp.table("effectiveness"), COMPOSITE)
    beta = plan_beta(plan)
    city_gain = summary_value(inp.table("allocation_summary"), "gain_vs_status_quo")
    head = label("fs_alloc_head", lang)
    city_text = ""
    if math.isfinite(city_gain):
        lo, hi = gain_interval(city_gain, beta, ev)
        city_text = label("fs_alloc_city", lang, gain=with_ci(city_gain, lo, hi, lang),
                          **inp.whole(lang))
    if not inp.county_code and inp.area is not None:
        here = plan[plan["county_code"].astype(str).isin(set(inp.area_counties))]
        n = int(here["change"].isin(["added", "ended"]).sum())
        gain = float(here.drop_duplicates("institution_id")["predicted_gain"].sum())
        lo, hi = gain_interval(gain, beta, ev)
        return Finding("allocation", head + label("fs_alloc_area", lang, area=inp.area_name, n=n,
                                                  gain=with_ci(gain, lo, hi, lang))
                       + city_text + label("fs_end", lang))
    if not inp.county_code:
        n = int(plan["change"].isin(["added", "ended"]).sum())
        return Finding("allocation", head + label("fs_alloc_city_changes", lang, n=n)
                       + city_text + label("fs_end", lang))
    mine = plan[plan["county_code"].astype(str) == inp.county_code]
    added = int((mine["change"] == "added").sum())
    ended = int((mine["change"] == "ended").sum())
    if added == 0 and ended == 0:
        return Finding("allocation", head + label("fs_alloc_none", lang) + city_text
                       + label("fs_end", lang))
    gain = float(mine.drop_duplicates("institution_id")["predicted_gain"].sum())
    lo, hi = gain_interval(gain, beta, ev)
    text = head + label("fs_alloc_county", lang, added=added, ended=ended,
                        gain=with_ci(gain, lo, hi, lang))
    text += label("fs_alloc_why_loss" if gain < 0 else "fs_alloc_why_gain", lang) + city_text
    return Finding("allocation", text + label("fs_end", lang))


def key_findings(inp: FindingsInput, lang: str) -> list[Finding]:
    """The key findings, in order (scorecard and rank, reform, effectiveness, allocation), from the
    results tables alone: a pure function of ``inp``."""
    out = [f(inp, lang) for f in (scorecard_finding, reform_finding, effectiveness_finding,
                                  allocation_finding)]
    return [Finding(f.topic, _capitalise(f.text, lang), f.evidence) for f in out if f is not None]


def _capitalise(text: str, lang: str) -> str:
    """English sentences joined from pieces start with a capital letter after a full stop."""
    if lang == "zh":
        return text
    parts = text.split(". ")
    return ". ".join(p[:1].upper() + p[1:] for p in parts)


# ----------------------------------------------------------------------------------------------
# the section
# ----------------------------------------------------------------------------------------------


def findings_input(ctx: ReportContext) -> FindingsInput:
    """The inputs of :func:`key_findings` for a report: its results, cohort and names."""
    from ...domain import is_eligible
    from .readers import cohorts

    results = {name: t for name in RESULTS if (t := ctx.result(name)) is not None}
    plan = results.get("allocation_plan")
    if plan is not None and "county_code" not in plan.columns:  # an older plan: look it up
        inst = ctx.processed.tables["institutions"][["institution_id", "county_code"]]
        results["allocation_plan"] = plan.merge(inst, on="institution_id", how="left")
    coh = cohorts(ctx.processed)
    cohort = None
    eligible = True
    if ctx.county_code:
        c = coh.get(ctx.county_code)
        cohort = None if c is None or pd.isna(c) else str(c)
        inst = ctx.processed.tables["institutions"]
        eligible = bool(is_eligible(inst[inst["county_code"] == ctx.county_code]).any())
    names = {str(c): ctx.county_name(str(c)) for c in ctx.counties["county_code"]}
    size = int((coh == cohort).sum()) if cohort else 0
    area = {} if ctx.area is None else {"area": ctx.area, "area_name": ctx.scope_name,
                                        "area_counties": tuple(ctx.scope_codes)}
    return FindingsInput(results=results, county_code=ctx.county_code, cohort=cohort,
                         eligible=eligible, names=names, n_counties=len(names), cohort_size=size,
                         level=ctx.dataset_level, **area)


def findings(ctx: ReportContext) -> Section:
    """主要结论 / Key findings: the sentences of :func:`key_findings` as a list, with a note on how
    the evidence words are chosen."""
    from html import escape

    lang = ctx.language
    items = key_findings(findings_input(ctx), lang)
    if not items:
        body = f"<p class='pe-missing'>{escape(label('fs_nothing', lang))}</p>"
    else:
        lis = "".join(f"<li data-topic='{escape(f.topic, quote=True)}'>{escape(f.text)}</li>"
                      for f in items)
        body = f"<ul class='pe-findings'>{lis}</ul>"
    note = f"<p class='pe-note'>{escape(label('fs_ladder_note', lang))}</p>"
    return Section("findings", label("findings", lang), (body, note))
