"""The demo world's design: every number the generator draws around, in one place.

The world is Leshan's 11 real county codes with invented institutions, helper units, pairings,
activities, problems and quarterly assessments 2019Q1–2024Q4. Figures the seed article published
(population, city departments, institutions, adjusted pairs, activity counts by category, money,
problems solved) are not restated here: they come from :data:`analysis.domain.PUBLISHED` and the
generator is built to reproduce them (``docs/demo_world.md``). What is here is the design around
them: county sizes and cohorts, unit sectors, activity mixes and values, seasonality, problem
durations and the planted outcome model (:data:`OUTCOME_MODEL`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..domain import OUTCOMES, PUBLISHED, PUBLISHED_WINDOW, period_to_t, quarter_bounds, t_to_period

DEFAULT_SEED = 20210101

FIRST_PERIOD = "2019Q1"
LAST_PERIOD = "2024Q4"
PROGRAMME_START = pd.Timestamp("2021-01-01")
WINDOW_END = pd.Timestamp("2024-12-31")
#: the window of the published totals
CALIBRATION_START, CALIBRATION_END = (pd.Timestamp(d) for d in PUBLISHED_WINDOW)
#: quarter indices of the programme's first quarter and of the published window's last
PROGRAMME_T = period_to_t(str(PROGRAMME_START.to_period("Q")))
CALIBRATION_LAST_T = period_to_t(str(CALIBRATION_END.to_period("Q")))

# code, name, English name, kind, invented population, management cohort (None = not moved),
# number of institutions, tiny children's home
COUNTIES: tuple[tuple[str, str, str, str, int, str | None, int, bool], ...] = (
    ("511102", "市中区", "Shizhong District", "district", 742_315, None, 10, False),
    ("511111", "沙湾区", "Shawan District", "district", 167_452, "2021Q3", 9, False),
    ("511112", "五通桥区", "Wutongqiao District", "district", 263_108, "2022Q3", 9, False),
    ("511113", "金口河区", "Jinkouhe District", "district", 43_796, None, 9, True),
    ("511123", "犍为县", "Qianwei County", "county", 398_614, "2020Q3", 10, False),
    ("511124", "井研县", "Jingyan County", "county", 267_281, "2021Q1", 10, False),
    ("511126", "夹江县", "Jiajiang County", "county", 305_437, "2022Q1", 9, False),
    ("511129", "沐川县", "Muchuan County", "county", 186_925, "2021Q1", 9, True),
    ("511132", "峨边彝族自治县", "Ebian Yi Autonomous County", "autonomous_county", 135_604,
     "2021Q3", 9, True),
    ("511133", "马边彝族自治县", "Mabian Yi Autonomous County", "autonomous_county", 176_358,
     "2022Q1", 10, True),
    ("511181", "峨眉山市", "Emeishan City", "city", 473_278, "2022Q3", 10, False),
)

#: city departments paired at the start, by sector (they sum to the published figure)
CITY_SECTORS = (
    ("party_government", 70),
    ("health", 10),
    ("education", 10),
    ("enterprise", 14),
    ("social_org", 6),
    ("other", 4),
)
N_FINANCE, N_TELECOM = 6, 4
N_COUNTY_UNITS_PER_COUNTY = 2
#: institutions that get a different city department for one of their pairs
N_ADJUSTED = PUBLISHED["pairs_adjusted"].figure

#: activity categories whose 2021–2023 count was published exactly → the published figure's key
EXACT_ACTIVITY_FIGURES = {
    "visit": "research_visits",
    "culture": "cultural_events",
    "health": "health_events",
    "volunteer": "volunteer_services",
}
#: exact 2021–2023 activity counts by category (published)
ACTIVITY_EXACT = {cat: PUBLISHED[key].figure for cat, key in EXACT_ACTIVITY_FIGURES.items()}
#: shares of the remaining categories among the other activities
ACTIVITY_OTHER_SHARES = {
    "cleanup": 0.25,
    "safety_check": 0.15,
    "donation": 0.20,
    "training": 0.12,
    "festival": 0.20,
    "other": 0.08,
}
#: number of 2021–2023 activities outside the exactly published categories, drawn in
#: [low, high): with the exact categories the total lands in 8623–8702 (a draw of 2587 or more
#: exceeds "8600余"; the demo seed draws fewer)
N_OTHER_ACTIVITIES = (2510, 2590)
# median value (RMB) per activity before the global rescaling to the money target
ACTIVITY_VALUE_MEDIAN = {
    "visit": 300.0,
    "culture": 1500.0,
    "health": 3000.0,
    "volunteer": 800.0,
    "cleanup": 4000.0,
    "safety_check": 1500.0,
    "donation": 12000.0,
    "training": 1000.0,
    "festival": 5000.0,
    "other": 1000.0,
}
#: money above the published figure, drawn in [low, high) RMB
VALUE_ABOVE_PUBLISHED = (500_000, 2_000_000)
ACTIVITY_PARTICIPANTS_MEAN = {
    "visit": 3.0,
    "culture": 8.0,
    "health": 5.0,
    "volunteer": 10.0,
    "cleanup": 8.0,
    "safety_check": 3.0,
    "donation": 4.0,
    "training": 3.0,
    "festival": 6.0,
    "other": 4.0,
}
SEASON = {1: 1.25, 2: 0.90, 3: 0.85, 4: 1.00}  # Spring Festival quarter busiest
YEAR_LEVEL = {2021: 0.90, 2022: 1.00, 2023: 1.10, 2024: 1.00}

#: problems: target number solved in 2021–2023 per category, mean days to resolution, and the
#: published figure the number solved must meet (redrawn until it does), if any
PROBLEM_TARGETS: dict[str, tuple[int, float, str | None]] = {
    "environment": (745, 40.0, "environment_problems_solved"),
    "safety": (55, 20.0, "safety_problems_solved"),
    "service": (2100, 30.0, None),
    "facilities": (1300, 60.0, None),
    "operations": (900, 45.0, None),
    "resident_need": (4200, 25.0, None),
}

#: the planted resolution-time effect: problems found while a unit of ``sector`` was the
#: institution's paired department (the survival analysis' found-day sector: city before county
#: before township, then the earliest pairing) are resolved with this hazard ratio against every
#: other problem of the same category (exponential times divided by it)
RESOLUTION_EFFECT: dict[str, Any] = {"sector": "health", "hazard_ratio": 1.5}

#: the earliest management cohort: event times run from 0 to the last quarter after it
FIRST_COHORT = min((c[5] for c in COUNTIES if c[5] is not None), key=period_to_t)
MAX_EVENT_TIME = period_to_t(LAST_PERIOD) - period_to_t(FIRST_COHORT)


def _ramp(values: list[float]) -> dict[str, float]:
    """Event time 0..MAX_EVENT_TIME, holding the last value."""
    return {str(e): float(values[min(e, len(values) - 1)]) for e in range(MAX_EVENT_TIME + 1)}


#: The planted outcome model, per outcome of :data:`analysis.domain.OUTCOMES`. "base" is the
#: intercept, alpha_sd the SD of institution effects, trend_slope per quarter (plus common_sd
#: quarter noise), shock_sd/shock_rho the stationary SD and AR(1) coefficient of county×quarter
#: shocks, noise_sd the idiosyncratic SD (scores only); dose, att (by event time), repair and
#: unit_sd are the planted effects.
OUTCOME_MODEL: dict[str, dict[str, Any]] = {
    "environment_score": {
        "base": 66.0,
        "alpha_sd": 4.0,
        "trend_slope": 0.10,
        "common_sd": 0.4,
        "shock_sd": 1.5,
        "shock_rho": 0.5,
        "noise_sd": 2.5,
        "dose": 1.5,
        "att": _ramp([1.0, 2.0, 3.0]),
        "repair": 1.0,
        "unit_sd": 1.0,
    },
    "service_score": {
        "base": 68.0,
        "alpha_sd": 4.0,
        "trend_slope": 0.08,
        "common_sd": 0.4,
        "shock_sd": 1.0,
        "shock_rho": 0.5,
        "noise_sd": 2.0,
        "dose": 1.2,
        "att": _ramp([0.5, 1.0, 1.5, 2.0]),
        "repair": 0.8,
        "unit_sd": 0.8,
    },
    "happiness_score": {
        "base": 66.0,
        "alpha_sd": 4.0,
        "trend_slope": 0.12,
        "common_sd": 0.5,
        "shock_sd": 1.1,
        "shock_rho": 0.5,
        "noise_sd": 2.5,
        "dose": 2.0,
        "att": _ramp([1.0, 1.5, 2.0, 2.5]),
        "repair": 1.2,
        "unit_sd": 1.2,
    },
    "safety_hazards": {
        "base": 7.0,
        "alpha_sd": 1.0,
        "trend_slope": -0.01,
        "common_sd": 0.15,
        "shock_sd": 0.4,
        "shock_rho": 0.5,
        "noise_sd": 0.0,
        "dose": -0.4,
        "att": _ramp([-0.4, -0.8, -1.2, -1.5]),
        "repair": -0.3,
        "unit_sd": 0.3,
    },
}
SAFETY_MEAN_FLOOR = 0.2
MISSING_RATE = 0.04


def check_design() -> None:
    """Raise ``ValueError`` when the design cannot reproduce the published figures it is built
    around (sizes that must sum to a figure, outcomes that must be the domain's)."""
    wrong = []
    if tuple(OUTCOME_MODEL) != OUTCOMES:
        wrong.append(f"OUTCOME_MODEL covers {tuple(OUTCOME_MODEL)}, not the outcomes {OUTCOMES}")
    sums = {
        "population": sum(c[4] for c in COUNTIES),
        "institutions": sum(c[6] for c in COUNTIES),
        "county_codes": len(COUNTIES),
        "city_departments_paired_at_start": sum(n for _, n in CITY_SECTORS),
    }
    for key, got in sums.items():
        if not PUBLISHED[key].holds(got):
            wrong.append(f"{key}: the design gives {got}, published {PUBLISHED[key].figure}")
    for cat, key in EXACT_ACTIVITY_FIGURES.items():
        if PUBLISHED[key].rule != "exact":
            wrong.append(f"activities of category {cat}: {key} is not an exact figure")
    if wrong:
        raise ValueError("the demo world's design is inconsistent: " + "; ".join(wrong))


# ---------------------------------------------------------------------------------------------
# calendar helpers
# ---------------------------------------------------------------------------------------------
def random_day(rng: np.random.Generator, start: pd.Timestamp, end: pd.Timestamp) -> pd.Timestamp:
    """A day drawn uniformly from ``start`` to ``end`` (both included)."""
    days = int((end - start).days)
    return start + pd.Timedelta(days=int(rng.integers(0, days + 1)))


def quarter_start(t: int) -> pd.Timestamp:
    """First day of quarter index ``t``."""
    return quarter_bounds(t_to_period(t))[0].normalize()


def quarter_end(t: int) -> pd.Timestamp:
    """Last day of quarter index ``t``."""
    return quarter_bounds(t_to_period(t))[1].normalize()
