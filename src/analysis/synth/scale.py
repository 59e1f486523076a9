"""Synthetic worlds at scale: a province (``sichuan``) or the nation (``national``).

The ``city`` scale is the demo world itself (:func:`analysis.synth.world.write_demo`, byte for
byte). The scaled worlds use the demo world's mechanisms with their own design parameters
(:data:`SCALES`), vectorised so that tens of thousands of institutions generate in minutes:

* **population**: provinces → prefectures → counties with GB/T 2260 code *structure*
  (``PP`` province digits, ``PPFF00`` prefectures, ``PPFFCC`` counties). Codes are generated, not
  looked up, and names are generated from the code (``合成县510203``): no invented figure is attached to a real
  place, institution or department. The nation's province digits are the 31 of GB/T 2260.
  Institutions per county are lognormal (size skew, at least five per county so every county
  has reform-eligible and ineligible homes; the demo's five kinds of home and bed ranges);
* **units and pairings**: per prefecture, city departments (the demo's sector mix) paired one to
  one at the programme start so that every institution has one, a share of pairs adjusted to a
  new department; per county two county departments (one institution each) and a township team
  paired with every institution of its county;
* **activities**: each pairing-quarter (and a county leaders' team per institution-quarter) is a
  source with the demo's weights (unit activity level, share of the quarter covered, gamma
  over-dispersion, seasonality); counts are Poisson around a design rate per
  institution-quarter (no published totals to calibrate to), categories and values as the demo;
* **problems**: per category Poisson counts per institution around a rate × propensity × √beds,
  exponential resolution times with the demo's planted health-sector hazard ratio;
* **outcomes**: the demo's planted outcome model (:data:`~analysis.synth.design.OUTCOME_MODEL`)
  composed by :func:`analysis.synth.outcomes.compose_assessments`, with county × quarter AR(1)
  shocks and the paired units' random effects;
* **reform**: staggered county-management cohorts *by province* (national) or *by prefecture*
  (sichuan, one province), 2020Q3–2023Q4, some never; a share of counties of an adopting group
  never adopts in the window.

Every file is marked synthetic (the README and ``TRUTH.json``). The output is a function of the
scale and the seed alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..contract import TABLE_NAMES
from ..domain import date_to_t, period_to_t
from ..errors import SpecificationError, check_option
from .design import (
    ACTIVITY_EXACT,
    ACTIVITY_OTHER_SHARES,
    ACTIVITY_PARTICIPANTS_MEAN,
    ACTIVITY_VALUE_MEDIAN,
    CITY_SECTORS,
    FIRST_PERIOD,
    LAST_PERIOD,
    PROBLEM_TARGETS,
    PROGRAMME_START,
    PROGRAMME_T,
    SEASON,
    WINDOW_END,
    YEAR_LEVEL,
    quarter_end,
    quarter_start,
)
from .events import activity_table, resolution_dates
from .outcomes import OutcomeParts, compose_assessments, draw_components, exposure
from .truth import build_truth
from .writer import contract_columns, parsed_types, write_tables

Scale = Literal["city", "sichuan", "national"]

#: GB/T 2260 province-level digits (31 provinces, autonomous regions and municipalities)
PROVINCE_DIGITS = ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35",
                   "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54",
                   "61", "62", "63", "64", "65")
#: the management cohorts a province or prefecture can adopt in (the demo's first cohort is the
#: earliest, so every event time has a planted effect in OUTCOME_MODEL)
COHORTS = ("2020Q3", "2021Q1", "2021Q3", "2022Q1", "2022Q3", "2023Q1", "2023Q3")


@dataclass(frozen=True)
class ScaleDesign:
    """The design parameters of a scaled world."""

    name: str
    provinces: tuple[str, ...]
    counties: int
    prefectures: int
    #: lognormal institutions per county: median and log-SD (at least ``min_institutions``)
    inst_median: float
    inst_sigma: float
    min_institutions: int
    #: the group whose counties share a management cohort: "province" or "prefecture"
    cohort_by: str
    #: share of groups never moved in the window; share of counties of a moving group that stay
    never_groups: float
    never_counties: float
    #: city departments per institution of the prefecture (the demo: 114 / 104)
    departments_per_institution: float
    #: share of institutions whose city department changes (the demo: 36 / 104)
    adjusted_share: float
    #: expected activities per institution-quarter, 2021–2024
    activity_rate: float
    #: expected problems per institution 2021–2024 (split over categories as the demo's targets)
    problem_rate: float


SCALES: dict[str, ScaleDesign] = {
    "sichuan": ScaleDesign(
        name="sichuan", provinces=("51",), counties=183, prefectures=21, inst_median=9.0,
        inst_sigma=0.45, min_institutions=5, cohort_by="prefecture", never_groups=0.2,
        never_counties=0.1, departments_per_institution=1.1, adjusted_share=0.3,
        activity_rate=6.0, problem_rate=60.0),
    "national": ScaleDesign(
        name="national", provinces=PROVINCE_DIGITS, counties=2850, prefectures=333,
        inst_median=12.0, inst_sigma=0.55, min_institutions=5, cohort_by="province",
        never_groups=0.2, never_counties=0.1, departments_per_institution=1.0,
        adjusted_share=0.3, activity_rate=3.0, problem_rate=20.0),
}

KIND_TYPES = ("children", "urban_public", "private_rural", "private_urban", "eligible")


def _split(rng: np.random.Generator, total: int, parts: int, sigma: float = 0.4) -> np.ndarray:
    """``total`` split into ``parts`` positive integers with lognormal skew."""
    w = rng.lognormal(0.0, sigma, size=parts)
    n = np.maximum(1, np.floor(w / w.sum() * total).astype(int))
    while n.sum() < total:
        n[int(rng.integers(0, parts))] += 1
    while n.sum() > total:
        k = int(np.argmax(n))
        n[k] -= 1
    return n


def draw_scaled_counties(rng: np.random.Generator, d: ScaleDesign) -> pd.DataFrame:
    """Provinces → prefectures → counties with generated codes, names, sizes and cohorts."""
    n_prov = len(d.provinces)
    pref_per_prov = _split(rng, d.prefectures, n_prov) if n_prov > 1 else np.array([d.prefectures])
    rows = []
    pref_keys = []
    for p, n_pref in zip(d.provinces, pref_per_prov, strict=True):
        for f in range(1, n_pref + 1):
            pref_keys.append((p, f"{p}{f:02d}00"))
    cnt = _split(rng, d.counties, len(pref_keys), sigma=0.35)
    kinds = np.array(["district", "county", "autonomous_county", "city"])
    for (p, pref), n_c in zip(pref_keys, cnt, strict=True):
        for c in range(1, n_c + 1):
            code = f"{pref[:4]}{c + 1:02d}" if c < 98 else f"{pref[:4]}{c:02d}"
            kind = str(kinds[rng.choice(4, p=[0.3, 0.55, 0.05, 0.1])])
            rows.append({"county_code": code, "prefecture_code": pref,
                         "province_code": f"{p}0000", "county_kind": kind})
    df = pd.DataFrame(rows)
    n = len(df)
    district = (df["county_kind"] == "district").to_numpy()
    df["county_name"] = [f"合成县{c}" for c in df["county_code"]]
    df["county_name_en"] = [f"Synthetic county {c}" for c in df["county_code"]]
    df["prefecture_name"] = [f"合成地市{c}" for c in df["prefecture_code"]]
    df["population"] = pd.array(np.round(rng.lognormal(np.log(350_000), 0.6, size=n)).astype(int),
                                dtype="Int64")
    df["elderly_share"] = np.round(rng.uniform(0.18, 0.30, size=n), 4)
    df["rural_share"] = np.round(np.where(district, rng.uniform(0.20, 0.45, size=n),
                                          rng.uniform(0.50, 0.75, size=n)), 4)
    group = df["province_code"] if d.cohort_by == "province" else df["prefecture_code"]
    groups = sorted(group.unique())
    g_never = rng.random(len(groups)) < d.never_groups
    g_cohort = rng.choice(len(COHORTS), size=len(groups))
    cohort_of = {g: (None if nv else COHORTS[k]) for g, nv, k in zip(groups, g_never, g_cohort,
                                                                     strict=True)}
    stay = rng.random(n) < d.never_counties
    offset = rng.random(n)
    dates = []
    for g, st, off in zip(group, stay, offset, strict=True):
        cohort = cohort_of[g]
        if cohort is None or st:
            dates.append(pd.NaT)
            continue
        t = period_to_t(cohort)
        a, b = quarter_start(t) + pd.Timedelta(days=1), quarter_end(t)
        dates.append(a + pd.Timedelta(days=int(off * ((b - a).days + 1))))
    df["county_management_date"] = pd.to_datetime(pd.Series(dates, dtype="datetime64[ns]"))
    return df


def draw_scaled_institutions(rng: np.random.Generator, d: ScaleDesign,
                             counties: pd.DataFrame) -> pd.DataFrame:
    """Lognormal institutions per county, the demo's five kinds of home and bed ranges."""
    n_c = len(counties)
    per = np.maximum(d.min_institutions,
                     np.round(rng.lognormal(np.log(d.inst_median), d.inst_sigma, size=n_c))
                     ).astype(int)
    county = np.repeat(counties["county_code"].to_numpy(), per)
    slot = np.concatenate([np.arange(k) for k in per])
    typ = np.where(slot < 4, slot, 4)
    n = len(county)
    low = np.array([20, 100, 40, 60, 30])[typ]
    high = np.array([61, 301, 161, 201, 121])[typ]
    tiny = (typ == 0) & (rng.random(n) < 0.3)
    beds = np.where(tiny, rng.integers(6, 10, size=n), rng.integers(low, high))
    kind = np.where(typ == 0, "children", "elderly")
    operator = np.where(np.isin(typ, (2, 3)), "private", "public")
    area = np.where(np.isin(typ, (2, 4)), "rural", "urban")
    rural = area == "rural"
    distance = np.round(np.where(rural, rng.uniform(5, 60, size=n), rng.uniform(0.5, 6, size=n)), 1)
    labels = np.array(["示例儿童福利院", "示例城市公办养老院", "示例民办养老院", "示例民办养老院",
                       "示例农村敬老院"])[typ]
    ids = np.array([f"I{k + 1:06d}" for k in range(n)])
    town = rng.integers(1, 9, size=n)
    return pd.DataFrame({
        "institution_id": ids,
        "institution_name": [f"{lb} {i} (synthetic)" for lb, i in zip(labels, ids, strict=True)],
        "county_code": county,
        "township": [f"示例{c[-4:]}镇{t:02d}" for c, t in zip(county, town, strict=True)],
        "kind": kind, "operator": operator, "area": area,
        "beds": pd.array(beds, dtype="Int64"),
        "distance_km": distance,
        "opened_year": pd.array(rng.integers(1985, 2019, size=n), dtype="Int64"),
    })


def draw_scaled_units_and_pairings(rng: np.random.Generator, d: ScaleDesign,
                                   counties: pd.DataFrame, inst: pd.DataFrame
                                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """City departments per prefecture, two county departments and a township team per county,
    and their pairings (initial, adjusted, added) as the demo's rules."""
    pref_of = dict(zip(counties["county_code"], counties["prefecture_code"], strict=True))
    inst_pref = inst["county_code"].map(pref_of).to_numpy()
    ids = inst["institution_id"].to_numpy()
    sectors = np.array([s for s, _ in CITY_SECTORS])
    sector_p = np.array([n for _, n in CITY_SECTORS], dtype=float)
    sector_p /= sector_p.sum()
    units: list[pd.DataFrame] = []
    pairs: list[pd.DataFrame] = []
    k0 = 0
    for pref in sorted(set(inst_pref)):
        mine = ids[inst_pref == pref]
        n_dep = max(len(mine), int(round(d.departments_per_institution * len(mine))))
        uid = np.array([f"U{k0 + k + 1:06d}" for k in range(n_dep)])
        k0 += n_dep
        units.append(pd.DataFrame({
            "unit_id": uid, "unit_name": [f"示例市级部门 {u} (synthetic)" for u in uid],
            "level": "city", "sector": sectors[rng.choice(len(sectors), size=n_dep, p=sector_p)],
            "staff": rng.integers(15, 401, size=n_dep), "joined_date": PROGRAMME_START}))
        targets = np.concatenate([rng.permutation(mine),
                                  rng.choice(mine, size=n_dep - len(mine), replace=True)])
        dep = rng.permutation(uid)
        end = pd.Series(pd.NaT, index=range(n_dep), dtype="datetime64[ns]")
        adj = rng.random(n_dep) < d.adjusted_share
        span = (pd.Timestamp("2023-09-30") - pd.Timestamp("2021-07-01")).days
        end_days = rng.integers(0, span + 1, size=n_dep)
        end[adj] = pd.Timestamp("2021-07-01") + pd.to_timedelta(end_days[adj], unit="D")
        pairs.append(pd.DataFrame({"unit_id": dep, "institution_id": targets,
                                   "start_date": PROGRAMME_START, "end_date": end.to_numpy(),
                                   "reason": "initial"}))
        if adj.any() and n_dep > 1:  # a different department takes over the next day
            shift = rng.integers(1, n_dep, size=int(adj.sum()))
            new = dep[(np.flatnonzero(adj) + shift) % n_dep]
            pairs.append(pd.DataFrame({"unit_id": new, "institution_id": targets[adj],
                                       "start_date": end[adj].to_numpy() + np.timedelta64(1, "D"),
                                       "end_date": pd.NaT, "reason": "adjusted"}))
    by_county = inst.groupby("county_code", sort=True)["institution_id"].apply(np.array)
    codes = by_county.index.to_numpy()
    n_c = len(codes)
    cu = np.array([f"U{k0 + k + 1:06d}" for k in range(2 * n_c)])
    k0 += 2 * n_c
    units.append(pd.DataFrame({
        "unit_id": cu, "unit_name": [f"示例县级部门 {u} (synthetic)" for u in cu],
        "level": "county",
        "sector": np.array(["party_government", "health", "education"])[
            rng.integers(0, 3, size=2 * n_c)],
        "staff": rng.integers(10, 121, size=2 * n_c), "joined_date": PROGRAMME_START}))
    span = (pd.Timestamp("2022-06-30") - pd.Timestamp("2021-03-01")).days
    picks = []
    for members in by_county:
        picks.extend(rng.choice(members, size=2, replace=False))
    pairs.append(pd.DataFrame({
        "unit_id": cu, "institution_id": picks,
        "start_date": pd.Timestamp("2021-03-01")
        + pd.to_timedelta(rng.integers(0, span + 1, size=2 * n_c), unit="D"),
        "end_date": pd.NaT, "reason": "added"}))
    tu = np.array([f"U{k0 + k + 1:06d}" for k in range(n_c)])
    units.append(pd.DataFrame({
        "unit_id": tu, "unit_name": [f"示例乡镇帮扶队 {u} (synthetic)" for u in tu],
        "level": "township", "sector": "other", "staff": rng.integers(8, 41, size=n_c),
        "joined_date": PROGRAMME_START}))
    sizes = by_county.map(len).to_numpy()
    pairs.append(pd.DataFrame({"unit_id": np.repeat(tu, sizes),
                               "institution_id": np.concatenate(list(by_county)),
                               "start_date": PROGRAMME_START, "end_date": pd.NaT,
                               "reason": "initial"}))
    u = pd.concat(units, ignore_index=True)
    u["staff"] = u["staff"].astype("Int64")
    u["joined_date"] = pd.to_datetime(u["joined_date"]).astype("datetime64[ns]")
    p = pd.concat(pairs, ignore_index=True)
    p["start_date"] = pd.to_datetime(p["start_date"]).astype("datetime64[ns]")
    p["end_date"] = pd.to_datetime(p["end_date"]).astype("datetime64[ns]")
    p = p.sort_values(["start_date", "institution_id", "unit_id"], kind="stable")
    p = p.reset_index(drop=True)
    p.insert(0, "pairing_id", [f"P{k + 1:07d}" for k in range(len(p))])
    return u, p


def _pair_quarters(pairings: pd.DataFrame, ts: np.ndarray) -> pd.DataFrame:
    """One row per pairing × quarter of ``ts`` it covers: the covered days and their share."""
    start = pairings["start_date"].to_numpy("datetime64[D]")
    end = pairings["end_date"].fillna(WINDOW_END).to_numpy("datetime64[D]")
    t_a = np.maximum(date_to_t(pairings["start_date"]).to_numpy().astype(int), ts[0])
    t_b = np.minimum(date_to_t(pairings["end_date"].fillna(WINDOW_END)).to_numpy().astype(int),
                     ts[-1])
    n = np.maximum(t_b - t_a + 1, 0)
    row = np.repeat(np.arange(len(pairings)), n)
    t = np.concatenate([np.arange(a, a + k) for a, k in zip(t_a, n, strict=True)]) \
        if len(row) else np.array([], dtype=int)
    qs = np.array([quarter_start(x) for x in ts], dtype="datetime64[D]")
    qe = np.array([quarter_end(x) for x in ts], dtype="datetime64[D]")
    j = t - ts[0]
    a = np.maximum(start[row], qs[j])
    b = np.minimum(end[row], qe[j])
    cover = ((b - a).astype(int) + 1) / ((qe[j] - qs[j]).astype(int) + 1)
    return pd.DataFrame({"row": row, "j": j, "a": a, "b": b, "cover": cover})


def draw_scaled_activities(rng: np.random.Generator, d: ScaleDesign, inst: pd.DataFrame,
                           units: pd.DataFrame, pairings: pd.DataFrame) -> pd.DataFrame:
    """Activities 2021Q1–2024Q4: the demo's source weights, Poisson counts around the design's
    rate per institution-quarter."""
    ts = np.arange(PROGRAMME_T, period_to_t(LAST_PERIOD) + 1)
    n_i, n_t = len(inst), len(ts)
    lv = units["level"].to_numpy()
    level = rng.lognormal(np.where(lv == "city", np.log(3.0), np.log(1.5)), 0.6)
    level_of = pd.Series(level, index=units["unit_id"].to_numpy())
    overdisp = rng.gamma(4.0, 0.25, size=(n_i, n_t))
    season = np.array([SEASON[t % 4 + 1] * YEAR_LEVEL[t // 4] for t in ts])
    team_rate = rng.lognormal(np.log(0.8), 0.5, size=n_i)
    lead_rate = rng.lognormal(np.log(0.3), 0.5, size=n_i)
    row_of = pd.Series(np.arange(n_i), index=inst["institution_id"].to_numpy())
    pq = _pair_quarters(pairings, ts)
    unit = pairings["unit_id"].to_numpy()[pq["row"].to_numpy()]
    i = row_of.reindex(pairings["institution_id"].to_numpy()).to_numpy()[pq["row"].to_numpy()]
    township = pd.Series(lv == "township", index=units["unit_id"].to_numpy()).reindex(unit).to_numpy()
    rate = np.where(township, team_rate[i], level_of.reindex(unit).to_numpy())
    j = pq["j"].to_numpy()
    qs = np.array([quarter_start(x) for x in ts], dtype="datetime64[D]")
    qe = np.array([quarter_end(x) for x in ts], dtype="datetime64[D]")
    lead_i = np.repeat(np.arange(n_i), n_t)
    lead_j = np.tile(np.arange(n_t), n_i)
    src_i = np.concatenate([i, lead_i])
    src_j = np.concatenate([j, lead_j])
    src_u = np.concatenate([unit, np.full(n_i * n_t, "", dtype=object)])
    src_a = np.concatenate([pq["a"].to_numpy().astype("datetime64[D]"), qs[lead_j]])
    src_b = np.concatenate([pq["b"].to_numpy().astype("datetime64[D]"), qe[lead_j]])
    w = np.concatenate([rate * pq["cover"].to_numpy(), lead_rate[lead_i]])
    w = w * overdisp[src_i, src_j] * season[src_j]
    w_per = np.bincount(src_i * n_t + src_j, weights=w, minlength=n_i * n_t).mean()
    counts = rng.poisson(w * d.activity_rate / w_per)
    ev = np.repeat(np.arange(len(w)), counts)
    span = (src_b[ev] - src_a[ev]).astype(int)
    dates = src_a[ev] + np.floor(rng.random(len(ev)) * (span + 1)).astype(int).astype(
        "timedelta64[D]")
    names = list(ACTIVITY_EXACT) + list(ACTIVITY_OTHER_SHARES)
    other_n = sum(ACTIVITY_EXACT.values()) * 0.4  # the demo: about 2,550 of 8,600 are "other"
    shares = np.array(list(ACTIVITY_EXACT.values())
                      + [s * other_n for s in ACTIVITY_OTHER_SHARES.values()], dtype=float)
    cat = np.array(names)[rng.choice(len(names), size=len(ev), p=shares / shares.sum())]
    median = pd.Series(ACTIVITY_VALUE_MEDIAN).reindex(cat).to_numpy()
    part = pd.Series(ACTIVITY_PARTICIPANTS_MEAN).reindex(cat).to_numpy()
    events = pd.DataFrame({
        "date": dates.astype("datetime64[ns]"),
        "institution_id": inst["institution_id"].to_numpy()[src_i[ev]],
        "unit_id": src_u[ev], "category": cat,
        "participants": 1 + rng.poisson(part - 1),
        "beneficiaries": 1 + rng.poisson(3.9, size=len(ev)),
        "value_rmb": np.round(median * rng.lognormal(0.0, 0.8, size=len(ev)), 2),
    })
    out = activity_table(events)
    out["activity_id"] = [f"A{k + 1:08d}" for k in range(len(out))]
    return out


def draw_scaled_problems(rng: np.random.Generator, d: ScaleDesign, inst: pd.DataFrame,
                         pairings: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Problems 2021–2024: the demo's categories, durations and planted resolution effect."""
    n_i = len(inst)
    prop = rng.lognormal(0.0, 0.4, size=n_i) * np.sqrt(inst["beds"].to_numpy(dtype=float))
    prop = prop / prop.mean()
    total = sum(t for t, _, _ in PROBLEM_TARGETS.values())
    days = int((WINDOW_END - PROGRAMME_START).days) + 1
    frames = []
    for cat, (target, mean_days, _fig) in PROBLEM_TARGETS.items():
        n = rng.poisson(prop * d.problem_rate * target / total)
        k = np.repeat(np.arange(n_i), n)
        frames.append(pd.DataFrame({
            "institution_id": inst["institution_id"].to_numpy()[k], "category": cat,
            "found_date": PROGRAMME_START + pd.to_timedelta(rng.integers(0, days, size=len(k)),
                                                            unit="D"),
            "latent": rng.exponential(mean_days, size=len(k))}))
    df = pd.concat(frames, ignore_index=True)
    df["resolved_date"] = resolution_dates(df, df.pop("latent").to_numpy(), pairings, units)
    # the solving unit for about 3 in 4 resolved problems: the institution's first unit paired
    # on the resolution day (by pairing order)
    want = df["resolved_date"].notna().to_numpy() & (rng.random(len(df)) < 0.75)
    left = pd.DataFrame({"row": np.flatnonzero(want),
                         "institution_id": df["institution_id"].to_numpy()[want],
                         "resolved": df["resolved_date"].to_numpy()[want]})
    right = pairings.loc[:, ["institution_id", "unit_id", "start_date", "end_date"]]
    m = left.merge(right, on="institution_id", how="inner")
    m = m[(m["start_date"] <= m["resolved"]) & (m["end_date"].isna()
                                                 | (m["end_date"] >= m["resolved"]))]
    m = m.drop_duplicates("row")
    unit = np.full(len(df), None, dtype=object)
    unit[m["row"].to_numpy()] = m["unit_id"].to_numpy()
    df["unit_id"] = unit
    df = df.sort_values(["found_date", "institution_id", "category"], kind="stable")
    df = df.reset_index(drop=True)
    df.insert(0, "problem_id", [f"Q{k + 1:08d}" for k in range(len(df))])
    df["found_date"] = pd.to_datetime(df["found_date"]).astype("datetime64[ns]")
    df["resolved_date"] = pd.to_datetime(df["resolved_date"]).astype("datetime64[ns]")
    return df


def draw_scaled_outcome_parts(rng: np.random.Generator, tables: dict[str, pd.DataFrame]
                              ) -> OutcomeParts:
    """The demo's outcome model (:func:`analysis.synth.outcomes.draw_outcome_parts`) without its
    dense institution × quarter × unit array: the unit term is summed over pairing-quarters."""
    inst, counties = tables["institutions"], tables["counties"]
    ids = inst["institution_id"].to_numpy()
    t0, t1 = period_to_t(FIRST_PERIOD), period_to_t(LAST_PERIOD)
    ts = np.arange(t0, t1 + 1)
    n_i, n_t = len(ids), len(ts)
    exp = exposure(tables, ts)
    event = ts[None, :] - exp.adoption_t[:, None]
    reform_on = exp.eligible[:, None] & (event >= 0)
    event_idx = np.where(reform_on, np.nan_to_num(event, nan=0), 0).astype(int)
    repair_on = ts[None, :] >= exp.repair_t[:, None]
    p = tables["pairings"]
    pq = _pair_quarters(p, ts)
    row_of = pd.Series(np.arange(n_i), index=ids)
    pi = row_of.reindex(p["institution_id"].to_numpy()).to_numpy()[pq["row"].to_numpy()]
    unit_ids = tables["units"]["unit_id"].to_numpy()
    ucol = pd.Series(np.arange(len(unit_ids)), index=unit_ids)
    pu = ucol.reindex(p["unit_id"].to_numpy()).to_numpy()[pq["row"].to_numpy()]
    cell = pi * n_t + pq["j"].to_numpy()
    # one membership per (institution, quarter, unit), as the demo's boolean array
    cell_unit = pd.DataFrame({"cell": cell, "u": pu}).drop_duplicates()
    n_cover = np.bincount(cell_unit["cell"], minlength=n_i * n_t).reshape(n_i, n_t)
    codes = counties["county_code"].to_numpy()
    c_idx = pd.Series(np.arange(len(codes)), index=codes).reindex(
        inst["county_code"].to_numpy()).to_numpy()
    cells, units_of_cell = cell_unit["cell"].to_numpy(), cell_unit["u"].to_numpy()
    return draw_components(
        rng, ids=ids, ts=ts, beds=inst["beds"].to_numpy(dtype=float), c_idx=c_idx,
        n_counties=len(codes), unit_ids=unit_ids,
        unit_sum=lambda u: np.bincount(cells, weights=u[units_of_cell],
                                       minlength=n_i * n_t).reshape(n_i, n_t),
        n_cover=n_cover, reform_on=reform_on, event_idx=event_idx, repair_on=repair_on)


def generate_scaled(scale: str, seed: int, *, counties: int | None = None
                    ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Generate a scaled world (``sichuan`` or ``national``).

    Parameters
    ----------
    scale : {"sichuan", "national"}
    seed : int
        Seed of the one ``numpy.random.default_rng`` every draw comes from, in a fixed order.
    counties : int, optional
        Fewer counties than the design (a reduced world for tests; prefectures shrink in
        proportion, at least two).

    Returns
    -------
    tables, truth
        The seven tables (parsed types, the contract's columns; counties with
        ``prefecture_code``, ``prefecture_name`` and ``province_code``) and ``TRUTH.json``'s
        content (the demo's keys; ``scale`` holds the design and the hierarchy's sizes).
    """
    if scale not in SCALES:
        raise SpecificationError(f"scale={scale!r}: use one of {', '.join(SCALES)}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SpecificationError(f"seed={seed!r}: use an integer.")
    d = SCALES[scale]
    if counties is not None:
        if counties < 2 or counties > d.counties:
            raise SpecificationError(f"counties={counties!r}: use 2 to {d.counties}.")
        pref = max(2, round(d.prefectures * counties / d.counties))
        d = ScaleDesign(**{**asdict(d), "counties": counties, "prefectures": pref,
                           "provinces": d.provinces[:max(1, min(len(d.provinces), pref))]})
    rng = np.random.default_rng(seed)
    cty = draw_scaled_counties(rng, d)
    inst = draw_scaled_institutions(rng, d, cty)
    units, pairings = draw_scaled_units_and_pairings(rng, d, cty, inst)
    tables = {"counties": cty, "institutions": inst, "units": units, "pairings": pairings}
    tables["activities"] = draw_scaled_activities(rng, d, inst, units, pairings)
    tables["problems"] = draw_scaled_problems(rng, d, inst, pairings, units)
    parts = draw_scaled_outcome_parts(rng, tables)
    lag = exposure(tables, parts.ts).activities_lag1
    tables["assessments"], draws = compose_assessments(parts, np.log1p(lag), rng=rng)
    tables = {name: parsed_types(name, tables[name].loc[:, contract_columns(
        name, tables[name].columns)]) for name in TABLE_NAMES}
    truth = build_truth(seed, tables, draws)
    truth.pop("calibration_targets")  # the Leshan figures are not this world's targets
    truth["calibration"] = {"note": "a scaled world is not calibrated to published figures"}
    truth["repairing"]["description"] = truth["repairing"]["description"].replace(
        "The 36 adjusted institutions are chosen at random",
        "Adjusted institutions are chosen at random")
    truth["units"].pop("realized")  # tens of thousands of values: not kept in a scaled world
    truth["units"]["description"] += " (realized values are not listed in a scaled world)"
    c = tables["counties"]
    truth["scale"] = {
        "name": scale, "design": {k: v for k, v in asdict(d).items() if k != "provinces"},
        "provinces": int(c["province_code"].nunique()),
        "prefectures": int(c["prefecture_code"].nunique()),
        "counties": int(len(c)), "institutions": int(len(tables["institutions"])),
        "cohort_by": d.cohort_by,
        "names": "generated from the code (合成县<code>, 合成地市<code>); codes follow the GB/T "
                 "2260 structure but are generated: no figure belongs to a real place",
    }
    return tables, truth


README_SCALED = """# Synthetic world at scale: {scale} (synthetic)

**Every row in this folder is synthetic**, generated by `pairing-eval synth --scale {scale}
--seed {seed}`: {counties} counties in {prefectures} prefectures of {provinces} province(s),
{institutions} institutions, 2019Q1–2024Q4. County and prefecture codes follow the structure of
GB/T 2260 but are generated, and every name is generated from its code (合成县<code>,
合成地市<code>): no number here describes a real place, institution or department. Planted effects
are in `TRUTH.json`; the design is in `docs/demo_world.md` (Scaled worlds).
"""


def write_scaled(out: Path, *, scale: str, seed: int, counties: int | None = None) -> list[Path]:
    """Generate a scaled world and write it into ``out`` (the demo's file formats; the README
    names the scale). Returns the files written."""
    out = Path(out)
    tables, truth = generate_scaled(scale, seed, counties=counties)
    out.mkdir(parents=True, exist_ok=True)
    written = write_tables(out, tables, truth, seed)
    s = truth["scale"]
    (out / "README.md").write_bytes(README_SCALED.format(
        scale=scale, seed=seed, counties=s["counties"], prefectures=s["prefectures"],
        provinces=s["provinces"], institutions=s["institutions"]).encode("utf-8"))
    return written


def write_world(out: Path, *, scale: str = "city", seed: int, **city_options: Any) -> list[Path]:
    """``city``: the demo world (:func:`analysis.synth.write_demo`, with its options); otherwise
    :func:`write_scaled`."""
    check_option("scale", scale, Scale)
    if scale == "city":
        from .world import write_demo

        return write_demo(out, seed=seed, **city_options)
    if any(v not in (None, 0.0, 1.0) for v in city_options.values()):
        raise SpecificationError("targeting, supply_sd, effect_scale and persistence apply to the "
                                 "city scale only")
    return write_scaled(out, scale=scale, seed=seed)


__all__ = ["COHORTS", "SCALES", "Scale", "ScaleDesign", "generate_scaled", "write_scaled",
           "write_world"]
