"""The truth of the demo world (``TRUTH.json``): what was planted, and what was reproduced.

* the planted effects (dose-response, reform ATT by event time, re-pairing shift, unit random
  effects with their realised values) and the outcome model in words and parameters;
* the reform cohorts and the **planted aggregates** — the Callaway–Sant'Anna simple, group and
  calendar aggregations of the planted ATT(g,t) cells (Callaway & Sant'Anna 2021, "Difference-in-
  Differences with multiple time periods", J. Econometrics 225(2); weights as R ``did``'s
  ``aggte``), so an estimator's output can be compared with its own target rather than with the
  event-time path;
* ``calibration``: the published figures as computed from the generated tables, beside
  ``calibration_targets`` (:data:`analysis.domain.PUBLISHED` as the article states them).

The aggregations are hand-written over the planted cells because they are sums over known cohort
sizes: an estimator would only add noise, and the test suite compares them with
:mod:`analysis.did` run on a noise-free outcome.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..domain import (
    ELIGIBILITY_RULE,
    OUTCOMES,
    PUBLISHED,
    date_to_t,
    is_eligible,
    period_to_t,
    t_to_period,
)
from .design import (
    CALIBRATION_END,
    CALIBRATION_START,
    LAST_PERIOD,
    MISSING_RATE,
    OUTCOME_MODEL,
    PROGRAMME_START,
    RESOLUTION_EFFECT,
)
from .outcomes import OutcomeDraws, dose_coef


def calibration_figures(tables: dict[str, pd.DataFrame]) -> dict[str, float | int]:
    """The published Leshan figures as computed from the tables (2021–2023 where dated)."""
    c, ins, u, p = tables["counties"], tables["institutions"], tables["units"], tables["pairings"]
    a, pb, asm = tables["activities"], tables["problems"], tables["assessments"]
    in_win = (a["date"] >= CALIBRATION_START) & (a["date"] <= CALIBRATION_END)
    aw = a[in_win]
    solved = pb[
        (pb["resolved_date"] >= CALIBRATION_START) & (pb["resolved_date"] <= CALIBRATION_END)
    ]
    city_units = u.loc[u["level"] == "city", "unit_id"]
    start = p[(p["start_date"] == PROGRAMME_START) & p["unit_id"].isin(city_units)]
    ft = u[u["sector"].isin(["finance", "telecom"]) & (u["joined_date"] > PROGRAMME_START)]
    ft_paired = ft[ft["unit_id"].isin(p.loc[p["reason"] == "added", "unit_id"])]
    max_res = asm.groupby("institution_id")["residents"].max()
    children = ins.loc[ins["kind"] == "children", "institution_id"]
    tiny = int((max_res.reindex(children) < 10).sum())
    return {
        "county_codes": int(c["county_code"].nunique()),
        "population": int(c["population"].sum()),
        "city_departments_paired_at_start": int(start["unit_id"].nunique()),
        "institutions_paired_at_start": int(start["institution_id"].nunique()),
        "institutions": int(len(ins)),
        "pairs_adjusted": int((p["reason"] == "adjusted").sum()),
        "finance_telecom_units_added": int(len(ft_paired)),
        "research_visits": int((aw["category"] == "visit").sum()),
        "activities": int(len(aw)),
        "value_rmb": round(float(aw["value_rmb"].sum()), 2),
        "beneficiaries": int(aw["beneficiaries"].sum()),
        "cultural_events": int((aw["category"] == "culture").sum()),
        "health_events": int((aw["category"] == "health").sum()),
        "volunteer_services": int((aw["category"] == "volunteer").sum()),
        "problems_solved": int(len(solved)),
        "environment_problems_solved": int((solved["category"] == "environment").sum()),
        "safety_problems_solved": int((solved["category"] == "safety").sum()),
        "tiny_childrens_homes": tiny,
    }


def _simple_att(par_att: dict[str, float], cohorts: dict[str, int]) -> float:
    """CS 'simple' aggregation of homogeneous ATT(e): post (g,t) cells weighted by cohort size."""
    t1 = period_to_t(LAST_PERIOD)
    num = den = 0.0
    for g, n in cohorts.items():
        for t in range(period_to_t(g), t1 + 1):
            num += n * par_att[str(t - period_to_t(g))]
            den += n
    return num / den


def _group_att(par_att: dict[str, float], cohorts: dict[str, int]) -> dict[str, float]:
    """CS 'group' aggregation: each cohort's mean ATT over its post quarters; 'overall' weights
    cohorts by size."""
    t1 = period_to_t(LAST_PERIOD)
    out = {}
    for g in cohorts:
        g_t = period_to_t(g)
        out[g] = float(np.mean([par_att[str(t - g_t)] for t in range(g_t, t1 + 1)]))
    n = np.array(list(cohorts.values()), dtype=float)
    out["overall"] = float(np.dot(n, [out[g] for g in cohorts]) / n.sum())
    return {k: round(v, 6) for k, v in out.items()}


def _calendar_att(par_att: dict[str, float], cohorts: dict[str, int]) -> dict[str, float]:
    """CS 'calendar' aggregation: per quarter from the first adoption on, the cohort-size weighted
    ATT of the cohorts already treated; 'overall' is the mean over quarters."""
    t1 = period_to_t(LAST_PERIOD)
    gs = {period_to_t(g): n for g, n in cohorts.items()}
    out = {}
    for t in range(min(gs), t1 + 1):
        on = {g: n for g, n in gs.items() if g <= t}
        out[t_to_period(t)] = sum(n * par_att[str(t - g)] for g, n in on.items()) / sum(on.values())
    out["overall"] = float(np.mean(list(out.values())))
    return {k: round(float(v), 6) for k, v in out.items()}


def build_truth(seed: int, tables: dict[str, pd.DataFrame], draws: OutcomeDraws, *,
                effect_scale: float = 1.0) -> dict[str, Any]:
    """The content of ``TRUTH.json``: planted effects, cohorts and the planted aggregates, the
    outcome model, and the published figures beside the achieved ones."""
    counties = tables["counties"]
    inst = tables["institutions"]
    cohorts: dict[str, list[str]] = {}
    adoption_t = date_to_t(counties["county_management_date"])
    for code, t in zip(counties["county_code"], adoption_t, strict=True):
        key = "never" if np.isnan(t) else t_to_period(t)
        cohorts.setdefault(key, []).append(code)
    cohorts = dict(sorted(cohorts.items(), key=lambda kv: (kv[0] == "never", kv[0])))
    elig = inst[is_eligible(inst)]
    cohort_sizes = {g: int(elig["county_code"].isin(codes).sum()) for g, codes in cohorts.items()}
    treated_sizes = {g: n for g, n in cohort_sizes.items() if g != "never"}
    outcomes = list(OUTCOMES)
    return {
        "synthetic": True,
        "seed": int(seed),
        "outcomes": outcomes,
        "dose_response": {
            "intensity": "activities_lag1",
            "transform": "log1p",
            "effects": {y: dose_coef(y, effect_scale) for y in outcomes},
            "lead_effect": 0.0,
            "description": (
                "Each outcome's mean shifts by effects[y] * log1p(activities_lag1), where "
                "activities_lag1 is the panel's count of all activities at the institution in the "
                "previous quarter (0 before the programme). Next quarter's activities have no "
                "effect (lead_effect 0). Activity intensity is drawn from unit activity levels, "
                "seasonality and an over-dispersion factor, independent of outcome noise."
            ),
        },
        "reform": {
            "eligible": ELIGIBILITY_RULE,
            "anticipation": 0,
            "att_by_event_time": {y: OUTCOME_MODEL[y]["att"] for y in outcomes},
            "att_ineligible": 0.0,
            "cohorts": cohorts,
            "cohort_sizes": cohort_sizes,
            "att_simple": {
                y: round(_simple_att(OUTCOME_MODEL[y]["att"], treated_sizes), 6) for y in outcomes
            },
            "att_group": {y: _group_att(OUTCOME_MODEL[y]["att"], treated_sizes) for y in outcomes},
            "att_calendar": {y: _calendar_att(OUTCOME_MODEL[y]["att"], treated_sizes) for y in outcomes},
            "description": (
                "Eligible institutions get att_by_event_time[y][e] added to the mean of outcome y "
                "in event time e = t - adoption quarter >= 0 (the quarter containing the county's "
                "county_management_date is e = 0); nothing before adoption (no anticipation) and "
                "nothing ever for ineligible institutions. Effects are the same for every cohort, "
                "so the dynamic aggregation's truth is att_by_event_time and ATT(g,t) = "
                "att_by_event_time[t-g]. att_simple is the CS simple aggregation of the planted "
                "effects over post-adoption quarters up to 2024Q4, each (g,t) cell weighted by "
                "cohort_sizes (number of eligible institutions); att_group and att_calendar are "
                "the CS group and calendar aggregations of the same cells (R did's aggte "
                "definitions; 'overall' as aggte reports it). Event times beyond the listed keys "
                "do not occur in the window."
            ),
        },
        "repairing": {
            "effects": {y: OUTCOME_MODEL[y]["repair"] for y in outcomes},
            "description": (
                "From the quarter in which an institution's first 'adjusted' pairing starts "
                "(panel repair_t) onward, outcome y's mean shifts by effects[y]. The 36 adjusted "
                "institutions are chosen at random and the new unit's random effect is an "
                "independent draw, so besides this shift re-pairing changes outcomes only through "
                "activity intensity (dose) and the unit effect (mean zero)."
            ),
        },
        "resolution": {
            "sector": RESOLUTION_EFFECT["sector"],
            "hazard_ratio": RESOLUTION_EFFECT["hazard_ratio"],
            "cox_covariate": f"sector_{RESOLUTION_EFFECT['sector']}",
            "description": (
                "Each problem's time to resolution is exponential with its category's mean "
                "(floored to whole days, censored at 2024-12-31); when the unit paired with the "
                "institution on the day the problem was found (a city department before a county "
                "one before the township team, then the earliest pairing: the survival analysis' "
                "sector) belongs to the sector named here, the exponential time is divided by "
                "hazard_ratio. Against every other sector of the same category the hazard ratio "
                "is hazard_ratio (before the flooring to days); no other covariate changes the "
                "hazard."
            ),
        },
        "units": {
            "random_effect_sd": {y: OUTCOME_MODEL[y]["unit_sd"] for y in outcomes},
            "realized": draws.unit_effects,
            "description": (
                "Each unit has an independent normal random effect per outcome with SD "
                "random_effect_sd[y] (realized values listed); in a quarter an institution's mean "
                "gets the average of the effects of the units whose pairings cover any day of "
                "the quarter (0 when unpaired, e.g. before 2021). Township teams and units that "
                "never pair have effects drawn but they never enter an outcome."
            ),
        },
        "outcome_model": {
            "formula": (
                "y_it = base + alpha_i + trend_slope*(t - t_2019Q1) + common_t + shock_ct "
                "+ dose*log1p(activities_lag1_it) + att(e)*1[eligible_i, e >= 0] "
                "+ repair*1[t >= repair_t_i] + mean_unit_effect_it + noise_it"
            ),
            "parameters": {
                y: {
                    k: v
                    for k, v in OUTCOME_MODEL[y].items()
                    if k not in ("att", "dose", "repair", "unit_sd")
                }
                for y in outcomes
            },
            "distributions": (
                "alpha_i ~ N(0, alpha_sd^2); common_t ~ N(0, common_sd^2); shock_ct AR(1) within "
                "county with coefficient shock_rho and stationary SD shock_sd; noise_it ~ "
                "N(0, noise_sd^2). Scores are clipped to [0, 100] and rounded to 0.1; "
                "safety_hazards ~ Poisson(max(mean, 0.2)) with no normal noise. All draws are "
                "independent across outcomes."
            ),
            "missing_rate": MISSING_RATE,
            "missing": "each institution-quarter assessment is dropped independently (MCAR)",
            "safety_floor_hits": draws.safety_floor_hits,
            "score_clip_hits": draws.score_clip_hits,
        },
        "calibration": calibration_figures(tables),
        "calibration_targets": {key: p.as_dict() for key, p in PUBLISHED.items()},
    }
