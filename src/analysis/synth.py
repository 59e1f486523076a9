"""The synthetic demo world: Leshan's 11 real county codes, invented institutions and helper units,
pairings, activities, problems and quarterly assessments 2019Q1–2024Q4 with **planted effects**.

``generate(seed)`` returns the parsed tables (types as ``analysis.io.read_raw`` produces them) and
the truth; ``write_demo(out, seed=...)`` writes one UTF-8 CSV per table with canonical English
headers, ``TRUTH.json`` and a ``README.md``. The output is a pure function of the seed: all
randomness comes from one ``numpy.random.default_rng(seed)`` drawn in a fixed order, and every
number is written with a fixed format, so regenerating gives the same bytes.

Design (documented in full in ``docs/demo_world.md``; the numbers live in :data:`OUTCOMES`):

* totals reproduce the published Leshan figures (``calibration`` in TRUTH.json): category counts
  of activities in 2021–2023 are fixed exactly and spread over institution-quarters by a
  multinomial draw whose probabilities follow helper-unit activity levels, seasonality and an
  institution-quarter over-dispersion factor — all independent of the outcome noise;
* outcome model, for institution *i* in county *c*, quarter *t*::

      y_it = base + alpha_i + trend_t + shock_ct + dose·log1p(activities_{i,t-1})
             + att(e)·1[eligible_i, e = t - adoption_c >= 0] + repair·1[t >= repair_t_i]
             + mean of the paired units' random effects in quarter t + noise_it

  scores are clipped to 0–100 (never binds: true means stay within ~50–90) and rounded to one
  decimal; ``safety_hazards`` is Poisson with that *linear* mean (no noise term);
* county×quarter shocks are AR(1) within a county, so inference with 11 clusters is a real
  challenge, while the planted effects stay detectable.

Hand-written because no library generates this domain; only numpy/pandas are used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .panel import derive_panel, period_to_t, t_to_period

DEFAULT_SEED = 20210101

FIRST_PERIOD = "2019Q1"
LAST_PERIOD = "2024Q4"
PROGRAMME_START = pd.Timestamp("2021-01-01")
WINDOW_END = pd.Timestamp("2024-12-31")
CALIBRATION_START = pd.Timestamp("2021-01-01")
CALIBRATION_END = pd.Timestamp("2023-12-31")

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
    (
        "511132",
        "峨边彝族自治县",
        "Ebian Yi Autonomous County",
        "autonomous_county",
        135_604,
        "2021Q3",
        9,
        True,
    ),
    (
        "511133",
        "马边彝族自治县",
        "Mabian Yi Autonomous County",
        "autonomous_county",
        176_358,
        "2022Q1",
        10,
        True,
    ),
    ("511181", "峨眉山市", "Emeishan City", "city", 473_278, "2022Q3", 10, False),
)
TOTAL_POPULATION = 3_160_168

N_CITY_DEPARTMENTS = 114
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
N_ADJUSTED = 36

# exact 2021–2023 activity counts by category (published) and shares of the rest
ACTIVITY_EXACT = {"visit": 769, "culture": 638, "health": 765, "volunteer": 3941}
ACTIVITY_OTHER_SHARES = {
    "cleanup": 0.25,
    "safety_check": 0.15,
    "donation": 0.20,
    "training": 0.12,
    "festival": 0.20,
    "other": 0.08,
}
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

# problems: target number solved in 2021–2023 per category, mean days to resolution, and the
# accepted range for the published "700余" / "50余" figures
PROBLEM_TARGETS = {
    "environment": (745, 40.0, (700, 799)),
    "safety": (55, 20.0, (50, 59)),
    "service": (2100, 30.0, None),
    "facilities": (1300, 60.0, None),
    "operations": (900, 45.0, None),
    "resident_need": (4200, 25.0, None),
}

OUTCOME_NAMES = ("environment_score", "service_score", "happiness_score", "safety_hazards")
MAX_EVENT_TIME = period_to_t(LAST_PERIOD) - period_to_t("2020Q3")


def _ramp(values: list[float]) -> dict[str, float]:
    """Event time 0..MAX_EVENT_TIME, holding the last value."""
    return {str(e): float(values[min(e, len(values) - 1)]) for e in range(MAX_EVENT_TIME + 1)}


# The planted outcome model. "base" is the intercept, alpha_sd the SD of institution effects,
# trend_slope per quarter (plus common_sd quarter noise), shock_sd/shock_rho the stationary SD and
# AR(1) coefficient of county×quarter shocks, noise_sd the idiosyncratic SD (scores only).
OUTCOMES: dict[str, dict[str, Any]] = {
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

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "counties": (
        "county_code",
        "county_name",
        "county_name_en",
        "county_kind",
        "population",
        "elderly_share",
        "rural_share",
        "county_management_date",
    ),
    "institutions": (
        "institution_id",
        "institution_name",
        "county_code",
        "township",
        "kind",
        "operator",
        "area",
        "beds",
        "distance_km",
        "opened_year",
    ),
    "units": ("unit_id", "unit_name", "level", "sector", "staff", "joined_date"),
    "pairings": ("pairing_id", "unit_id", "institution_id", "start_date", "end_date", "reason"),
    "activities": (
        "activity_id",
        "date",
        "institution_id",
        "unit_id",
        "category",
        "participants",
        "beneficiaries",
        "value_rmb",
    ),
    "problems": (
        "problem_id",
        "institution_id",
        "category",
        "found_date",
        "resolved_date",
        "unit_id",
    ),
    "assessments": (
        "institution_id",
        "period",
        "residents",
        "environment_score",
        "service_score",
        "happiness_score",
        "safety_hazards",
    ),
}
TABLE_NAMES = tuple(TABLE_COLUMNS)

# fixed text formats for the CSV files (byte-identical regeneration)
FLOAT_FORMATS = {
    ("counties", "elderly_share"): "{:.4f}",
    ("counties", "rural_share"): "{:.4f}",
    ("institutions", "distance_km"): "{:.1f}",
    ("activities", "value_rmb"): "{:.2f}",
    ("assessments", "environment_score"): "{:.1f}",
    ("assessments", "service_score"): "{:.1f}",
    ("assessments", "happiness_score"): "{:.1f}",
}


# ---------------------------------------------------------------------------------------------
# helpers


def _random_day(rng: np.random.Generator, start: pd.Timestamp, end: pd.Timestamp) -> pd.Timestamp:
    days = int((end - start).days)
    return start + pd.Timedelta(days=int(rng.integers(0, days + 1)))


def _quarter_start(t: int) -> pd.Timestamp:
    return pd.Period(t_to_period(t), freq="Q").start_time.normalize()


def _quarter_end(t: int) -> pd.Timestamp:
    return pd.Period(t_to_period(t), freq="Q").end_time.normalize()


# ---------------------------------------------------------------------------------------------
# tables


def _counties(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for code, name, name_en, kind, pop, cohort, _n, _tiny in COUNTIES:
        elderly = rng.uniform(0.20, 0.30)
        rural = rng.uniform(0.20, 0.45) if kind == "district" else rng.uniform(0.50, 0.75)
        if cohort is None:
            date = pd.NaT
        else:
            t = period_to_t(cohort)
            # a day inside the quarter, never the first day
            date = _random_day(rng, _quarter_start(t) + pd.Timedelta(days=1), _quarter_end(t))
        rows.append(
            {
                "county_code": code,
                "county_name": name,
                "county_name_en": name_en,
                "county_kind": kind,
                "population": pop,
                "elderly_share": round(float(elderly), 4),
                "rural_share": round(float(rural), 4),
                "county_management_date": date,
            }
        )
    df = pd.DataFrame(rows)
    assert int(df["population"].sum()) == TOTAL_POPULATION
    df["population"] = df["population"].astype("Int64")
    df["county_management_date"] = pd.to_datetime(df["county_management_date"])
    return df


def _institutions(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    k = 0
    for code, _name, _en, _kind, _pop, _cohort, n_inst, tiny in COUNTIES:
        n_towns = 6
        types = (
            ["children"]
            + ["urban_public"]
            + ["private_rural", "private_urban"]
            + ["eligible"] * (n_inst - 4)
        )
        for typ in types:
            k += 1
            iid = f"I{k:03d}"
            town = f"示例{code[-2:]}镇{int(rng.integers(1, n_towns + 1)):02d}"
            if typ == "eligible":
                kind, operator, area = "elderly", "public", "rural"
                beds = int(rng.integers(30, 121))
                label = "示例农村敬老院"
            elif typ == "urban_public":
                kind, operator, area = "elderly", "public", "urban"
                beds = int(rng.integers(100, 301))
                label = "示例城市公办养老院"
            elif typ == "private_rural":
                kind, operator, area = "elderly", "private", "rural"
                beds = int(rng.integers(40, 161))
                label = "示例民办养老院"
            elif typ == "private_urban":
                kind, operator, area = "elderly", "private", "urban"
                beds = int(rng.integers(60, 201))
                label = "示例民办养老院"
            else:
                kind, operator, area = "children", "public", "urban"
                beds = int(rng.integers(6, 10)) if tiny else int(rng.integers(20, 61))
                label = "示例儿童福利院"
            distance = rng.uniform(5, 60) if area == "rural" else rng.uniform(0.5, 6)
            rows.append(
                {
                    "institution_id": iid,
                    "institution_name": f"{label} {iid} (synthetic)",
                    "county_code": code,
                    "township": town,
                    "kind": kind,
                    "operator": operator,
                    "area": area,
                    "beds": beds,
                    "distance_km": round(float(distance), 1),
                    "opened_year": int(rng.integers(1985, 2019)),
                }
            )
    df = pd.DataFrame(rows)
    df["beds"] = df["beds"].astype("Int64")
    df["opened_year"] = df["opened_year"].astype("Int64")
    return df


def _units(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, str]]:
    """Units and, for county/township units, their county (kept out of the table)."""
    rows = []
    home: dict[str, str] = {}
    sectors = np.concatenate([[s] * n for s, n in CITY_SECTORS])
    sectors = rng.permutation(sectors)
    k = 0
    for s in sectors:
        k += 1
        rows.append(
            {
                "unit_id": f"U{k:03d}",
                "unit_name": f"示例市级部门 U{k:03d} (synthetic)",
                "level": "city",
                "sector": str(s),
                "staff": int(rng.integers(15, 401)),
                "joined_date": PROGRAMME_START,
            }
        )
    for sector, n, label in (
        ("finance", N_FINANCE, "示例金融机构"),
        ("telecom", N_TELECOM, "示例通讯公司"),
    ):
        for _ in range(n):
            k += 1
            rows.append(
                {
                    "unit_id": f"U{k:03d}",
                    "unit_name": f"{label} U{k:03d} (synthetic)",
                    "level": "city",
                    "sector": sector,
                    "staff": int(rng.integers(50, 801)),
                    "joined_date": _random_day(
                        rng, pd.Timestamp("2022-01-01"), pd.Timestamp("2023-12-31")
                    ),
                }
            )
    for code, *_ in COUNTIES:
        for _ in range(N_COUNTY_UNITS_PER_COUNTY):
            k += 1
            uid = f"U{k:03d}"
            home[uid] = code
            rows.append(
                {
                    "unit_id": uid,
                    "unit_name": f"示例县级部门 {uid} (synthetic)",
                    "level": "county",
                    "sector": str(rng.choice(["party_government", "health", "education"])),
                    "staff": int(rng.integers(10, 121)),
                    "joined_date": PROGRAMME_START,
                }
            )
    for code, *_ in COUNTIES:
        k += 1
        uid = f"U{k:03d}"
        home[uid] = code
        rows.append(
            {
                "unit_id": uid,
                "unit_name": f"示例乡镇帮扶队 {uid} (synthetic)",
                "level": "township",
                "sector": "other",
                "staff": int(rng.integers(8, 41)),
                "joined_date": PROGRAMME_START,
            }
        )
    df = pd.DataFrame(rows)
    df["staff"] = df["staff"].astype("Int64")
    df["joined_date"] = pd.to_datetime(df["joined_date"])
    return df, home


def _pairings(
    rng: np.random.Generator,
    inst: pd.DataFrame,
    units: pd.DataFrame,
    home: dict[str, str],
) -> pd.DataFrame:
    ids = inst["institution_id"].to_numpy()
    city = units.loc[
        (units["level"] == "city") & ~units["sector"].isin(["finance", "telecom"]), "unit_id"
    ].to_numpy()
    rows: list[dict[str, Any]] = []
    # initial: every city department with one institution, every institution with >= 1 unit
    order = rng.permutation(city)
    inst_order = rng.permutation(ids)
    extra = rng.choice(ids, size=len(city) - len(ids), replace=False)
    targets = np.concatenate([inst_order, extra])
    for u, i in zip(order, targets, strict=True):
        rows.append(
            {
                "unit_id": u,
                "institution_id": i,
                "start_date": PROGRAMME_START,
                "end_date": pd.NaT,
                "reason": "initial",
            }
        )
    # adjusted: 36 institutions get a different city department for one of their pairs
    adjusted = rng.choice(ids, size=N_ADJUSTED, replace=False)
    for i in adjusted:
        mine = [
            k for k, r in enumerate(rows) if r["institution_id"] == i and r["reason"] == "initial"
        ]
        k = mine[int(rng.integers(0, len(mine)))]
        end = _random_day(rng, pd.Timestamp("2021-07-01"), pd.Timestamp("2023-09-30"))
        rows[k]["end_date"] = end
        taken = {r["unit_id"] for r in rows if r["institution_id"] == i}
        pool = [u for u in city if u not in taken]
        new_unit = pool[int(rng.integers(0, len(pool)))]
        rows.append(
            {
                "unit_id": new_unit,
                "institution_id": i,
                "start_date": end + pd.Timedelta(days=1),
                "end_date": pd.NaT,
                "reason": "adjusted",
            }
        )
    # added: finance and telecom units from the day they joined, 1-2 institutions each
    added_units = units[units["sector"].isin(["finance", "telecom"])]
    for u, joined in zip(added_units["unit_id"], added_units["joined_date"], strict=True):
        for i in rng.choice(ids, size=int(rng.integers(1, 3)), replace=False):
            rows.append(
                {
                    "unit_id": u,
                    "institution_id": i,
                    "start_date": joined,
                    "end_date": pd.NaT,
                    "reason": "added",
                }
            )
    # added: county departments one-to-one with an institution of their county
    county_units = units[units["level"] == "county"]["unit_id"]
    by_county = inst.groupby("county_code")["institution_id"].apply(list).to_dict()
    used: dict[str, set[str]] = {}
    for u in county_units:
        c = home[u]
        pool = [i for i in by_county[c] if i not in used.setdefault(c, set())]
        i = pool[int(rng.integers(0, len(pool)))]
        used[c].add(i)
        rows.append(
            {
                "unit_id": u,
                "institution_id": i,
                "start_date": _random_day(
                    rng, pd.Timestamp("2021-03-01"), pd.Timestamp("2022-06-30")
                ),
                "end_date": pd.NaT,
                "reason": "added",
            }
        )
    # initial: each township team with every institution of its county (it visits them all)
    for u in units.loc[units["level"] == "township", "unit_id"]:
        for i in by_county[home[u]]:
            rows.append(
                {
                    "unit_id": u,
                    "institution_id": i,
                    "start_date": PROGRAMME_START,
                    "end_date": pd.NaT,
                    "reason": "initial",
                }
            )
    df = pd.DataFrame(rows)
    df["start_date"] = pd.to_datetime(df["start_date"])
    df["end_date"] = pd.to_datetime(df["end_date"])
    df = df.sort_values(["start_date", "institution_id", "unit_id"], kind="stable").reset_index(
        drop=True
    )
    df.insert(0, "pairing_id", [f"P{k + 1:04d}" for k in range(len(df))])
    return df


def _activities(
    rng: np.random.Generator,
    inst: pd.DataFrame,
    units: pd.DataFrame,
    pairings: pd.DataFrame,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Activities 2021Q1–2024Q4; returns the table and the unit activity levels."""
    ts = np.arange(period_to_t("2021Q1"), period_to_t(LAST_PERIOD) + 1)
    q_start = np.array([_quarter_start(t) for t in ts], dtype="datetime64[ns]")
    q_end = np.array([_quarter_end(t) for t in ts], dtype="datetime64[ns]")
    q_days = (q_end - q_start).astype("timedelta64[D]").astype(int) + 1
    level = {
        u: float(rng.lognormal(np.log(3.0) if lv == "city" else np.log(1.5), 0.6))
        for u, lv in zip(units["unit_id"], units["level"], strict=True)
    }
    inst_ids = inst["institution_id"].to_numpy()
    row_of = {i: k for k, i in enumerate(inst_ids)}
    n_i, n_t = len(inst_ids), len(ts)
    overdisp = rng.gamma(4.0, 0.25, size=(n_i, n_t))
    season = np.array([SEASON[t % 4 + 1] * YEAR_LEVEL[t // 4] for t in ts])
    township = set(units.loc[units["level"] == "township", "unit_id"])
    team_rate = rng.lognormal(np.log(0.8), 0.5, size=n_i)
    lead_rate = rng.lognormal(np.log(0.3), 0.5, size=n_i)

    # sources: (institution row, quarter col, unit id or "", window start, window end, weight)
    src_i, src_t, src_u, src_a, src_b, src_w = [], [], [], [], [], []
    for p in pairings.itertuples(index=False):
        r = row_of[p.institution_id]
        start = np.datetime64(p.start_date, "ns")
        end = (
            np.datetime64(p.end_date, "ns")
            if not pd.isna(p.end_date)
            else np.datetime64(WINDOW_END, "ns")
        )
        for j in range(n_t):
            a = max(start, q_start[j])
            b = min(end, q_end[j])
            if a > b:
                continue
            cover = ((b - a).astype("timedelta64[D]").astype(int) + 1) / q_days[j]
            src_i.append(r)
            src_t.append(j)
            src_u.append(p.unit_id)
            src_a.append(a)
            src_b.append(b)
            rate = team_rate[r] if p.unit_id in township else level[p.unit_id]
            src_w.append(rate * cover)
    for r in range(n_i):  # county leaders' teams: no unit id
        for j in range(n_t):
            src_i.append(r)
            src_t.append(j)
            src_u.append("")
            src_a.append(q_start[j])
            src_b.append(q_end[j])
            src_w.append(lead_rate[r])
    src_i_a = np.array(src_i)
    src_t_a = np.array(src_t)
    w = np.array(src_w) * overdisp[src_i_a, src_t_a] * season[src_t_a]
    in_cal = ts[src_t_a] < period_to_t("2024Q1")

    n_other = int(rng.integers(2510, 2590))
    n_cal = sum(ACTIVITY_EXACT.values()) + n_other
    counts = np.zeros(len(w), dtype=np.int64)
    counts[in_cal] = rng.multinomial(n_cal, w[in_cal] / w[in_cal].sum())
    scale = n_cal / w[in_cal].sum()
    n_2024 = int(rng.poisson(scale * w[~in_cal].sum()))
    counts[~in_cal] = rng.multinomial(n_2024, w[~in_cal] / w[~in_cal].sum())

    ev_src = np.repeat(np.arange(len(w)), counts)
    span = (np.array(src_b)[ev_src] - np.array(src_a)[ev_src]).astype("timedelta64[D]").astype(int)
    offset = np.floor(rng.random(len(ev_src)) * (span + 1)).astype(int)
    dates = np.array(src_a)[ev_src] + offset.astype("timedelta64[D]")
    ev_cal = in_cal[ev_src]

    others = list(ACTIVITY_OTHER_SHARES)
    other_counts = rng.multinomial(n_other, np.array(list(ACTIVITY_OTHER_SHARES.values())))
    cal_cats = np.concatenate(
        [
            np.repeat(list(ACTIVITY_EXACT), list(ACTIVITY_EXACT.values())),
            np.repeat(others, other_counts),
        ]
    )
    cats = np.empty(len(ev_src), dtype=object)
    cats[ev_cal] = rng.permutation(cal_cats)
    all_names = list(ACTIVITY_EXACT) + others
    shares = np.array(list(ACTIVITY_EXACT.values()) + list(other_counts), dtype=float)
    cats[~ev_cal] = rng.choice(all_names, size=int((~ev_cal).sum()), p=shares / shares.sum())

    median = np.array([ACTIVITY_VALUE_MEDIAN[c] for c in cats])
    raw_value = median * rng.lognormal(0.0, 0.8, size=len(cats))
    target = 30_000_000 + int(rng.integers(500_000, 2_000_000))
    value = np.round(raw_value * target / raw_value[ev_cal].sum(), 2)
    part_mean = np.array([ACTIVITY_PARTICIPANTS_MEAN[c] for c in cats])
    participants = 1 + rng.poisson(part_mean - 1)
    beneficiaries = 1 + rng.poisson(3.9, size=len(cats))

    df = pd.DataFrame(
        {
            "date": pd.to_datetime(dates),
            "institution_id": inst_ids[src_i_a[ev_src]],
            "unit_id": np.array(src_u, dtype=object)[ev_src],
            "category": cats.astype(str),
            "participants": participants,
            "beneficiaries": beneficiaries,
            "value_rmb": value,
        }
    )
    df["unit_id"] = df["unit_id"].replace("", None)
    df = df.sort_values(
        ["date", "institution_id", "category", "value_rmb"], kind="stable"
    ).reset_index(drop=True)
    df.insert(0, "activity_id", [f"A{k + 1:05d}" for k in range(len(df))])
    df["participants"] = df["participants"].astype("Int64")
    df["beneficiaries"] = df["beneficiaries"].astype("Int64")
    df["unit_id"] = df["unit_id"].astype(object)
    return df, level


def _problems(rng: np.random.Generator, inst: pd.DataFrame, pairings: pd.DataFrame) -> pd.DataFrame:
    ids = inst["institution_id"].to_numpy()
    propensity = rng.lognormal(0.0, 0.4, size=len(ids)) * np.sqrt(
        inst["beds"].to_numpy(dtype=float)
    )
    propensity /= propensity.sum()
    days_total = int((WINDOW_END - PROGRAMME_START).days) + 1
    frames = []
    for cat, (target, mean_days, bounds) in PROBLEM_TARGETS.items():
        n = int(round(target * 4 / 3 * 1.03))
        while True:
            inst_k = rng.choice(len(ids), size=n, p=propensity)
            found = PROGRAMME_START + pd.to_timedelta(rng.integers(0, days_total, size=n), unit="D")
            dur = np.floor(rng.exponential(mean_days, size=n)).astype(int)
            resolved = found + pd.to_timedelta(dur, unit="D")
            solved = (resolved <= CALIBRATION_END).sum()
            if bounds is None or bounds[0] <= solved <= bounds[1]:
                break
        resolved = resolved.where(resolved <= WINDOW_END)
        frames.append(
            pd.DataFrame(
                {
                    "institution_id": ids[inst_k],
                    "category": cat,
                    "found_date": found,
                    "resolved_date": resolved,
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    # the solving unit: a unit paired with the institution on the resolution day, for ~3 in 4
    unit = np.full(len(df), None, dtype=object)
    draw = rng.random(len(df))
    pick = rng.random(len(df))
    want = df["resolved_date"].notna().to_numpy() & (draw < 0.75)
    left = pd.DataFrame(
        {
            "row": np.nonzero(want)[0],
            "institution_id": df["institution_id"].to_numpy()[want],
            "resolved": df["resolved_date"].to_numpy()[want],
        }
    )
    right = pairings.loc[:, ["institution_id", "unit_id", "start_date", "end_date"]].assign(
        prow=np.arange(len(pairings))
    )
    m = left.merge(right, on="institution_id", how="inner")
    m = m[
        (m["start_date"] <= m["resolved"])
        & (m["end_date"].isna() | (m["end_date"] >= m["resolved"]))
    ]
    m = m.sort_values(["row", "prow"], kind="stable")
    n_cand = m.groupby("row")["unit_id"].transform("size").to_numpy()
    chosen = np.floor(pick[m["row"].to_numpy()] * n_cand).astype(int)
    m = m[m.groupby("row").cumcount().to_numpy() == chosen]
    unit[m["row"].to_numpy()] = m["unit_id"].to_numpy()
    df["unit_id"] = unit
    df = df.sort_values(["found_date", "institution_id", "category"], kind="stable").reset_index(
        drop=True
    )
    df.insert(0, "problem_id", [f"Q{k + 1:05d}" for k in range(len(df))])
    df["found_date"] = pd.to_datetime(df["found_date"])
    df["resolved_date"] = pd.to_datetime(df["resolved_date"])
    return df


def _assessments(
    rng: np.random.Generator,
    tables: dict[str, pd.DataFrame],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    inst = tables["institutions"]
    ids = inst["institution_id"].to_numpy()
    t0, t1 = period_to_t(FIRST_PERIOD), period_to_t(LAST_PERIOD)
    ts = np.arange(t0, t1 + 1)
    n_i, n_t = len(ids), len(ts)
    # the panel's own definitions of lagged activities, eligibility, adoption and re-pairing
    grid = pd.DataFrame(
        {
            "institution_id": np.repeat(ids, n_t),
            "period": np.tile([t_to_period(t) for t in ts], n_i),
        }
    )
    for c in TABLE_COLUMNS["assessments"][2:]:
        grid[c] = np.nan
    panel = derive_panel({**tables, "assessments": grid})
    assert (panel["institution_id"].to_numpy() == grid["institution_id"].to_numpy()).all()
    lag = panel["activities_lag1"].fillna(0.0).to_numpy().reshape(n_i, n_t)
    dose_x = np.log1p(lag)
    eligible = panel["eligible"].to_numpy().reshape(n_i, n_t)[:, 0]
    adopt = panel["adoption_t"].to_numpy().reshape(n_i, n_t)[:, 0]
    repair = panel["repair_t"].to_numpy().reshape(n_i, n_t)[:, 0]
    event = ts[None, :] - adopt[:, None]  # NaN where never adopted
    reform_on = eligible[:, None] & (event >= 0)
    event_idx = np.where(reform_on, np.nan_to_num(event, nan=0), 0).astype(int)
    repair_on = ts[None, :] >= repair[:, None]

    # which units cover each institution-quarter (for the unit random effects)
    p = tables["pairings"]
    units = tables["units"]["unit_id"].to_numpy()
    unit_col = {u: k for k, u in enumerate(units)}
    q_start = np.array([_quarter_start(t) for t in ts], dtype="datetime64[ns]")
    q_end = np.array([_quarter_end(t) for t in ts], dtype="datetime64[ns]")
    ps = p["start_date"].to_numpy(dtype="datetime64[ns]")
    pe = p["end_date"].to_numpy(dtype="datetime64[ns]")
    covers = (ps[:, None] <= q_end[None, :]) & (
        np.isnat(pe)[:, None] | (pe[:, None] >= q_start[None, :])
    )
    row_of = {i: k for k, i in enumerate(ids)}
    member = np.zeros((n_i, n_t, len(units)), dtype=bool)
    pr, pc = np.nonzero(covers)
    member[
        p["institution_id"].map(row_of).to_numpy()[pr],
        pc,
        p["unit_id"].map(unit_col).to_numpy()[pr],
    ] = True
    n_cover = member.sum(axis=2)

    county = inst["county_code"].to_numpy()
    county_codes = [c[0] for c in COUNTIES]
    c_idx = np.array([county_codes.index(c) for c in county])

    beds = inst["beds"].to_numpy(dtype=float)
    occupancy = rng.uniform(0.55, 0.92, size=n_i)
    residents = rng.binomial(beds.astype(int)[:, None].repeat(n_t, 1), occupancy[:, None])
    observed = rng.random((n_i, n_t)) >= MISSING_RATE

    out = {
        "institution_id": np.repeat(ids, n_t),
        "period": np.tile([t_to_period(t) for t in ts], n_i),
        "residents": residents.reshape(-1),
    }
    realized: dict[str, dict[str, float]] = {}
    floor_hits = 0
    clip_hits = 0
    for y, par in OUTCOMES.items():
        alpha = rng.normal(0.0, par["alpha_sd"], size=n_i)
        trend = par["trend_slope"] * (ts - t0) + rng.normal(0.0, par["common_sd"], size=n_t)
        rho, sd = par["shock_rho"], par["shock_sd"]
        shock = np.empty((len(COUNTIES), n_t))
        shock[:, 0] = rng.normal(0.0, sd, size=len(COUNTIES))
        for j in range(1, n_t):
            shock[:, j] = rho * shock[:, j - 1] + np.sqrt(1 - rho**2) * rng.normal(
                0.0, sd, size=len(COUNTIES)
            )
        u_eff = rng.normal(0.0, par["unit_sd"], size=len(units))
        realized[y] = {u: round(float(v), 4) for u, v in zip(units, u_eff, strict=True)}
        unit_sum = member.astype(float) @ u_eff
        unit_term = np.divide(unit_sum, n_cover, out=np.zeros_like(unit_sum), where=n_cover > 0)
        att = np.array([par["att"][str(e)] for e in range(MAX_EVENT_TIME + 1)])
        mean = (
            par["base"]
            + alpha[:, None]
            + trend[None, :]
            + shock[c_idx, :]
            + par["dose"] * dose_x
            + np.where(reform_on, att[event_idx], 0.0)
            + par["repair"] * repair_on
            + unit_term
        )
        if y == "safety_hazards":
            floor_hits += int((mean < SAFETY_MEAN_FLOOR).sum())
            value = rng.poisson(np.maximum(mean, SAFETY_MEAN_FLOOR)).astype(float)
        else:
            raw = mean + rng.normal(0.0, par["noise_sd"], size=mean.shape)
            clip_hits += int(((raw < 0) | (raw > 100)).sum())
            value = np.round(np.clip(raw, 0.0, 100.0), 1)
        out[y] = value.reshape(-1)
    df = pd.DataFrame(out)[observed.reshape(-1)].reset_index(drop=True)
    df["residents"] = df["residents"].astype("Int64")
    df["safety_hazards"] = df["safety_hazards"].astype("Int64")
    info = {
        "unit_effects": realized,
        "safety_floor_hits": floor_hits,
        "score_clip_hits": clip_hits,
        "eligible": eligible,
        "adopt": adopt,
        "ids": ids,
    }
    return df, info


# ---------------------------------------------------------------------------------------------
# calibration and truth


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


# published target, rule ("exact" or "more_than": the article's 余 = at least the figure and
# below the next round step) and the article's wording
CALIBRATION_TARGETS: dict[str, dict[str, Any]] = {
    "county_codes": {"published": 11, "rule": "exact", "wording": "乐山市11个县（市、区）"},
    "population": {"published": 3_160_168, "rule": "exact", "wording": "2020 census population"},
    "city_departments_paired_at_start": {
        "published": 114,
        "rule": "exact",
        "wording": "114个市级部门",
    },
    "institutions_paired_at_start": {
        "published": 104,
        "rule": "exact",
        "wording": "104家养老、儿童机构",
    },
    "institutions": {"published": 104, "rule": "exact", "wording": "104家养老、儿童机构"},
    "pairs_adjusted": {"published": 36, "rule": "exact", "wording": "调整优化帮扶对子36组"},
    "finance_telecom_units_added": {
        "published": 1,
        "rule": "at_least",
        "wording": "新增金融、通讯等市级帮扶单位",
    },
    "research_visits": {"published": 769, "rule": "exact", "wording": "调研走访769次"},
    "activities": {
        "published": 8600,
        "rule": "more_than",
        "step": 100,
        "wording": "帮扶活动8600余场次",
    },
    "value_rmb": {
        "published": 30_000_000,
        "rule": "more_than",
        "step": 10_000_000,
        "wording": "3000余万元",
    },
    "beneficiaries": {
        "published": 40_000,
        "rule": "more_than",
        "step": 10_000,
        "wording": "4万余人次",
    },
    "cultural_events": {"published": 638, "rule": "exact", "wording": "文娱活动638场次"},
    "health_events": {"published": 765, "rule": "exact", "wording": "义诊义检等765场次"},
    "volunteer_services": {"published": 3941, "rule": "exact", "wording": "志愿服务3941场"},
    "problems_solved": {
        "published": 9000,
        "rule": "more_than",
        "step": 1000,
        "wording": "9000余个",
    },
    "environment_problems_solved": {
        "published": 700,
        "rule": "more_than",
        "step": 100,
        "wording": "700余个",
    },
    "safety_problems_solved": {
        "published": 50,
        "rule": "more_than",
        "step": 10,
        "wording": "50余个",
    },
    "tiny_childrens_homes": {
        "published": 3,
        "rule": "at_least",
        "wording": "children's homes with fewer than 10 residents (demo design)",
    },
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


def _truth(seed: int, tables: dict[str, pd.DataFrame], info: dict[str, Any]) -> dict[str, Any]:
    counties = tables["counties"]
    inst = tables["institutions"]
    cohorts: dict[str, list[str]] = {}
    for code, date in zip(counties["county_code"], counties["county_management_date"], strict=True):
        key = "never" if pd.isna(date) else t_to_period(int(date.year * 4 + date.quarter - 1))
        cohorts.setdefault(key, []).append(code)
    cohorts = dict(sorted(cohorts.items(), key=lambda kv: (kv[0] == "never", kv[0])))
    elig = inst[
        (inst["kind"] == "elderly") & (inst["operator"] == "public") & (inst["area"] == "rural")
    ]
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
            "effects": {y: OUTCOMES[y]["dose"] for y in outcomes},
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
            "eligible": "kind == 'elderly' and operator == 'public' and area == 'rural'",
            "anticipation": 0,
            "att_by_event_time": {y: OUTCOMES[y]["att"] for y in outcomes},
            "att_ineligible": 0.0,
            "cohorts": cohorts,
            "cohort_sizes": cohort_sizes,
            "att_simple": {
                y: round(_simple_att(OUTCOMES[y]["att"], treated_sizes), 6) for y in outcomes
            },
            "att_group": {y: _group_att(OUTCOMES[y]["att"], treated_sizes) for y in outcomes},
            "att_calendar": {y: _calendar_att(OUTCOMES[y]["att"], treated_sizes) for y in outcomes},
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
            "effects": {y: OUTCOMES[y]["repair"] for y in outcomes},
            "description": (
                "From the quarter in which an institution's first 'adjusted' pairing starts "
                "(panel repair_t) onward, outcome y's mean shifts by effects[y]. The 36 adjusted "
                "institutions are chosen at random and the new unit's random effect is an "
                "independent draw, so besides this shift re-pairing changes outcomes only through "
                "activity intensity (dose) and the unit effect (mean zero)."
            ),
        },
        "units": {
            "random_effect_sd": {y: OUTCOMES[y]["unit_sd"] for y in outcomes},
            "realized": info["unit_effects"],
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
                    for k, v in OUTCOMES[y].items()
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
            "safety_floor_hits": info["safety_floor_hits"],
            "score_clip_hits": info["score_clip_hits"],
        },
        "calibration": calibration_figures(tables),
        "calibration_targets": CALIBRATION_TARGETS,
    }


def generate(seed: int = DEFAULT_SEED) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Generate the demo world.

    Parameters
    ----------
    seed : int
        Seed of the single ``numpy.random.default_rng`` every draw comes from.

    Returns
    -------
    tables : dict of str to DataFrame
        The seven raw tables with parsed types (ids ``str``, dates ``datetime64[ns]``, periods
        ``"YYYYQn"``, enumerations English codes, integers ``Int64``).
    truth : dict
        The planted effects, outcome model and calibration (written as ``TRUTH.json``).
    """
    rng = np.random.default_rng(seed)
    counties = _counties(rng)
    inst = _institutions(rng)
    units, home = _units(rng)
    pairings = _pairings(rng, inst, units, home)
    activities, _levels = _activities(rng, inst, units, pairings)
    problems = _problems(rng, inst, pairings)
    tables = {
        "counties": counties,
        "institutions": inst,
        "units": units,
        "pairings": pairings,
        "activities": activities,
        "problems": problems,
    }
    assessments, info = _assessments(rng, tables)
    tables["assessments"] = assessments
    tables = {name: tables[name].loc[:, list(TABLE_COLUMNS[name])] for name in TABLE_NAMES}
    return tables, _truth(seed, tables, info)


# ---------------------------------------------------------------------------------------------
# writing


def _format_table(name: str, df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        fmt = FLOAT_FORMATS.get((name, col))
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.dt.strftime("%Y-%m-%d").fillna("")
        elif fmt is not None:
            out[col] = [("" if pd.isna(v) else fmt.format(float(v))) for v in s]
        elif pd.api.types.is_integer_dtype(s):
            out[col] = [("" if pd.isna(v) else str(int(v))) for v in s]
        elif pd.api.types.is_float_dtype(s):
            raise TypeError(f"{name}.{col} is a float column without a fixed format")
        else:
            out[col] = [
                ("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)) for v in s
            ]
    return out


README_TEXT = """# Demo data (synthetic)

**Every row in this folder is synthetic.** The institutions, helper units, pairings, activities,
problems and assessments are invented by `pairing-eval synth --out data/raw/demo --seed {seed}`;
only the 11 county codes and names of Leshan are real. Totals are calibrated to the published
figures of Leshan's "一老一小" paired-assistance programme, and the assessments carry planted
effects documented in `TRUTH.json` and `docs/demo_world.md`. Do not cite any number from this
folder as a fact about a real institution, department or county.

Files: counties.csv, institutions.csv, units.csv, pairings.csv, activities.csv, problems.csv,
assessments.csv (canonical English headers, UTF-8), TRUTH.json.
"""


_DATE_COLUMNS = {
    "counties": ("county_management_date",),
    "units": ("joined_date",),
    "pairings": ("start_date", "end_date"),
    "activities": ("date",),
    "problems": ("found_date", "resolved_date"),
}


def read_demo_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """Read back exactly what :func:`write_demo` wrote, with the parsed types of ``generate``.

    Only for the generator's own canonical files (English headers, UTF-8, ISO dates); ledgers
    from users go through ``analysis.io.read_raw``, which handles aliases and encodings.
    """
    folder = Path(folder)
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLE_NAMES:
        df = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8")
        for col in df.columns:
            s = df[col].replace("", None)
            if col in _DATE_COLUMNS.get(name, ()):
                df[col] = pd.to_datetime(s, format="%Y-%m-%d")
            elif (name, col) in FLOAT_FORMATS:
                df[col] = pd.to_numeric(s).astype("float64")
            elif col in (
                "population",
                "beds",
                "opened_year",
                "staff",
                "participants",
                "beneficiaries",
                "residents",
                "safety_hazards",
            ):
                df[col] = pd.array(pd.to_numeric(s), dtype="Int64")
            else:
                df[col] = s.astype(object)
        tables[name] = df
    return tables


def write_demo(out: Path, *, seed: int = DEFAULT_SEED) -> list[Path]:
    """Generate the demo world and write it into ``out``.

    Writes ``<table>.csv`` for the seven tables, ``TRUTH.json`` and ``README.md``; the bytes are a
    function of ``seed`` alone.

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables, truth = generate(seed)
    written: list[Path] = []
    for name in TABLE_NAMES:
        f = out / f"{name}.csv"
        text = _format_table(name, tables[name]).to_csv(index=False, lineterminator="\n")
        f.write_bytes(text.encode("utf-8"))
        written.append(f)
    f = out / "TRUTH.json"
    f.write_bytes((json.dumps(truth, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    written.append(f)
    f = out / "README.md"
    f.write_bytes(README_TEXT.format(seed=seed).encode("utf-8"))
    written.append(f)
    return written
