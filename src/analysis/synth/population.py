"""Who is in the demo world: counties, institutions, helper units and their pairings.

* **counties**: Leshan's 11 real codes and names (:data:`~analysis.synth.design.COUNTIES`),
  invented populations summing to the census figure, elderly and rural shares, and the
  county-management date of each cohort (a day inside the cohort's quarter, never the first);
* **institutions**: per county one children's home, one urban public home, a rural and an urban
  private home and the rest rural public elderly homes (reform-eligible), so every county has
  eligible and ineligible institutions; some counties' children's homes are tiny (< 10 beds);
* **units**: the city departments by sector, finance and telecom units that join in 2022–2023,
  two county departments and one township team per county;
* **pairings**: every city department with one institution at the start and every institution
  with at least one; the adjusted pairs (an institution's pair ends and a new department takes
  over the next day); finance and telecom units from the day they join; county departments one to
  one within their county; township teams with every institution of their county.

Every draw comes from the one generator passed in, in a fixed order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..domain import period_to_t
from .design import (
    CITY_SECTORS,
    COUNTIES,
    N_ADJUSTED,
    N_COUNTY_UNITS_PER_COUNTY,
    N_FINANCE,
    N_TELECOM,
    PROGRAMME_START,
    quarter_end,
    quarter_start,
    random_day,
)


def draw_counties(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for code, name, name_en, kind, pop, cohort, _n, _tiny in COUNTIES:
        elderly = rng.uniform(0.20, 0.30)
        rural = rng.uniform(0.20, 0.45) if kind == "district" else rng.uniform(0.50, 0.75)
        if cohort is None:
            date = pd.NaT
        else:
            t = period_to_t(cohort)
            # a day inside the quarter, never the first day
            date = random_day(rng, quarter_start(t) + pd.Timedelta(days=1), quarter_end(t))
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
    df["population"] = df["population"].astype("Int64")
    df["county_management_date"] = pd.to_datetime(df["county_management_date"])
    return df


def draw_institutions(rng: np.random.Generator) -> pd.DataFrame:
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


def draw_units(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, str]]:
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
                    "joined_date": random_day(
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


def draw_pairings(
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
        end = random_day(rng, pd.Timestamp("2021-07-01"), pd.Timestamp("2023-09-30"))
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
                "start_date": random_day(
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
