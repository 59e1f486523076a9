"""What happens in the demo world: assistance activities and problems found and resolved.

**Activities** (2021Q1–2024Q4). Sources are every pairing's days in each quarter (weight: the
unit's activity level, or the township team's rate, times the share of the quarter covered) and a
county leaders' team per institution (no unit id). In the published window the category counts of
visits, cultural, health and volunteer events are the published figures exactly and the other
categories are a multinomial draw; events are spread over sources by a multinomial draw whose
probabilities follow the source weights, seasonality, the year's level and an
institution-quarter over-dispersion factor — all independent of the outcome noise. 2024 follows
at the same rate. Values are lognormal around a median per category, rescaled so the window's
total is just above the published money figure.

**Problems** (2021–2024) per category: institutions drawn in proportion to a lognormal
propensity times √beds, found days uniform, durations exponential; redrawn until the number solved
in the window meets the published figure where one exists. About three in four resolved problems
name a unit paired with the institution on the resolution day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..domain import PUBLISHED, period_to_t
from .design import (
    ACTIVITY_EXACT,
    ACTIVITY_OTHER_SHARES,
    ACTIVITY_PARTICIPANTS_MEAN,
    ACTIVITY_VALUE_MEDIAN,
    CALIBRATION_END,
    CALIBRATION_LAST_T,
    LAST_PERIOD,
    N_OTHER_ACTIVITIES,
    PROBLEM_TARGETS,
    PROGRAMME_START,
    PROGRAMME_T,
    RESOLUTION_EFFECT,
    SEASON,
    VALUE_ABOVE_PUBLISHED,
    WINDOW_END,
    YEAR_LEVEL,
    quarter_end,
    quarter_start,
)


@dataclass(frozen=True)
class Sources:
    """Where activities can come from, one row per (institution, quarter, unit or county
    leaders' team): institution row ``i``, quarter column ``j`` (from ``ts[0]``), unit id (``""``
    for the leaders' team), the days ``a`` to ``b`` the source covers in the quarter and the
    source's weight ``w`` (activity rate × share of the quarter covered × over-dispersion ×
    seasonality). ``event_source`` is the source of every drawn event, in the order of the
    events before sorting; ``ts`` the quarter indices."""

    i: np.ndarray
    j: np.ndarray
    unit: np.ndarray
    a: np.ndarray
    b: np.ndarray
    w: np.ndarray
    ts: np.ndarray
    event_source: np.ndarray
    events: pd.DataFrame


def draw_activities(
    rng: np.random.Generator,
    inst: pd.DataFrame,
    units: pd.DataFrame,
    pairings: pd.DataFrame,
) -> tuple[pd.DataFrame, Sources]:
    """Activities 2021Q1–2024Q4; returns the table and its sources (for the targeting world,
    :mod:`analysis.synth.targeting`)."""
    ts = np.arange(PROGRAMME_T, period_to_t(LAST_PERIOD) + 1)
    q_start = np.array([quarter_start(t) for t in ts], dtype="datetime64[ns]")
    q_end = np.array([quarter_end(t) for t in ts], dtype="datetime64[ns]")
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
    in_cal = ts[src_t_a] <= CALIBRATION_LAST_T

    n_other = int(rng.integers(*N_OTHER_ACTIVITIES))
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
    target = PUBLISHED["value_rmb"].figure + int(rng.integers(*VALUE_ABOVE_PUBLISHED))
    value = np.round(raw_value * target / raw_value[ev_cal].sum(), 2)
    part_mean = np.array([ACTIVITY_PARTICIPANTS_MEAN[c] for c in cats])
    participants = 1 + rng.poisson(part_mean - 1)
    beneficiaries = 1 + rng.poisson(3.9, size=len(cats))

    events = pd.DataFrame(
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
    sources = Sources(i=src_i_a, j=src_t_a, unit=np.array(src_u, dtype=object),
                      a=np.array(src_a), b=np.array(src_b), w=w, ts=ts, event_source=ev_src,
                      events=events)
    return activity_table(events), sources


def activity_table(df: pd.DataFrame) -> pd.DataFrame:
    """The activities table from its events (any order): sorted, numbered, typed."""
    df = df.copy()
    df["unit_id"] = df["unit_id"].replace("", None)
    df = df.sort_values(
        ["date", "institution_id", "category", "value_rmb"], kind="stable"
    ).reset_index(drop=True)
    df.insert(0, "activity_id", [f"A{k + 1:05d}" for k in range(len(df))])
    df["participants"] = df["participants"].astype("Int64")
    df["beneficiaries"] = df["beneficiaries"].astype("Int64")
    df["unit_id"] = df["unit_id"].astype(object)
    return df


def found_day_sector(problems: pd.DataFrame, pairings: pd.DataFrame,
                     units: pd.DataFrame) -> np.ndarray:
    """The sector of the unit paired with each problem's institution on the day it was found
    (``"unpaired"`` when none): a city-level unit before a county-level one before a township
    team, then the earliest pairing, then the unit id — the rule the package's survival analysis
    documents (``problem_durations``), written out here so that the world stays a function of the
    seed and this package alone."""
    rank = {"city": 0, "county": 1, "township": 2}
    lv = dict(zip(units["unit_id"], units["level"].map(rank).fillna(3), strict=True))
    sector = dict(zip(units["unit_id"], units["sector"], strict=True))
    left = pd.DataFrame({"row": np.arange(len(problems)),
                         "institution_id": problems["institution_id"].to_numpy(),
                         "found": problems["found_date"].to_numpy()})
    m = left.merge(pairings.loc[:, ["institution_id", "unit_id", "start_date", "end_date"]],
                   on="institution_id", how="inner")
    m = m[(m["start_date"] <= m["found"]) & (m["end_date"].isna() | (m["end_date"] >= m["found"]))]
    m = m.assign(_lv=m["unit_id"].map(lv)).sort_values(["row", "_lv", "start_date", "unit_id"])
    m = m.drop_duplicates("row")
    out = np.full(len(problems), "unpaired", dtype=object)
    out[m["row"].to_numpy()] = m["unit_id"].map(sector).to_numpy()
    return out


def resolution_dates(df: pd.DataFrame, latent: np.ndarray, pairings: pd.DataFrame,
                     units: pd.DataFrame) -> pd.Series:
    """Resolution dates of problems ``df`` (``institution_id``, ``found_date``) from their latent
    exponential durations in days, with the planted resolution effect: problems found while a unit
    of :data:`RESOLUTION_EFFECT`'s sector was the institution's paired department resolve
    ``hazard_ratio`` times faster; missing (still open) after the window's end."""
    faster = found_day_sector(df, pairings, units) == RESOLUTION_EFFECT["sector"]
    latent = np.where(faster, latent / RESOLUTION_EFFECT["hazard_ratio"], latent)
    resolved = df["found_date"] + pd.to_timedelta(np.floor(latent).astype(int), unit="D")
    return resolved.where(resolved <= WINDOW_END)


def draw_problems(rng: np.random.Generator, inst: pd.DataFrame, pairings: pd.DataFrame,
                  units: pd.DataFrame) -> pd.DataFrame:
    """Problems 2021–2024 with the planted resolution effect
    (:data:`~analysis.synth.design.RESOLUTION_EFFECT`)."""
    ids = inst["institution_id"].to_numpy()
    propensity = rng.lognormal(0.0, 0.4, size=len(ids)) * np.sqrt(
        inst["beds"].to_numpy(dtype=float)
    )
    propensity /= propensity.sum()
    days_total = int((WINDOW_END - PROGRAMME_START).days) + 1
    frames = []
    for cat, (target, mean_days, figure) in PROBLEM_TARGETS.items():
        n = int(round(target * 4 / 3 * 1.03))
        while True:
            inst_k = rng.choice(len(ids), size=n, p=propensity)
            found = PROGRAMME_START + pd.to_timedelta(rng.integers(0, days_total, size=n), unit="D")
            latent = rng.exponential(mean_days, size=n)
            dur = np.floor(latent).astype(int)
            resolved = found + pd.to_timedelta(dur, unit="D")
            solved = (resolved <= CALIBRATION_END).sum()
            if figure is None or PUBLISHED[figure].holds(solved):
                break
        frames.append(
            pd.DataFrame(
                {
                    "institution_id": ids[inst_k],
                    "category": cat,
                    "found_date": found,
                    "latent_days": latent,
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    # the planted resolution effect: the exponential time of a problem found while a unit of the
    # planted sector was the institution's paired department is divided by the hazard ratio (a
    # deterministic rescaling: no draw is added, so the rest of the world is unchanged)
    df["resolved_date"] = resolution_dates(df, df.pop("latent_days").to_numpy(), pairings, units)
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
