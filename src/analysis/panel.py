"""The institution-quarter panel derived from the parsed raw tables.

One row per institution × quarter for every quarter from the first to the last assessment period
in the data. Columns and their meaning are fixed in ``docs/architecture.md`` (section "The
institution-quarter panel"); every analysis module reads this panel, so the definitions live here
and nowhere else:

* a quarter is *paired* when a pairing covers any day of it (``start_date <= quarter end`` and
  ``end_date`` empty or ``>= quarter start``); ``n_units`` counts the distinct units doing so;
* ``activities``/``visits``/``value_rmb`` count what happened at the institution in the quarter,
  whoever did it (paired units, other units, teams with no unit id); ``visits`` are the
  activities of category ``visit``;
* ``value_per_resident = value_rmb / max(residents, 1)`` with the quarter's residents when
  assessed (and the count is given), else the institution's beds;
* lags are the previous quarter's value (0 before any activity, NaN only in the first quarter of
  the window), leads the next quarter's (NaN only in the last quarter);
* ``problems_found``/``problems_resolved`` count problems found / resolved in the quarter,
  ``problems_open`` those found by the quarter's end and not resolved by then;
* the reform adoption quarter is the quarter containing the county's ``county_management_date``
  (event time 0); ``reform_treated = eligible & t >= adoption_t``;
* ``repair_period``/``repair_t`` is the quarter in which the institution's first pairing with
  reason ``adjusted`` started.

Plain pandas (interval overlap by broadcasting, counts by ``groupby``): the tables are small
(hundreds of institutions, tens of quarters) and no library offers these domain definitions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .contract.schema import TEXT_DTYPE
from .domain import OUTCOMES, date_to_t, is_eligible, period_to_t, t_to_period
from .errors import SpecificationError

PANEL_COLUMNS: tuple[str, ...] = (
    "institution_id",
    "county_code",
    "kind",
    "operator",
    "area",
    "beds",
    "period",
    "year",
    "quarter",
    "t",
    "assessed",
    "residents",
    "environment_score",
    "service_score",
    "happiness_score",
    "safety_hazards",
    "paired",
    "n_units",
    "activities",
    "visits",
    "value_rmb",
    "value_per_resident",
    "activities_lag1",
    "visits_lag1",
    "value_per_resident_lag1",
    "activities_lead1",
    "visits_lead1",
    "value_per_resident_lead1",
    "problems_found",
    "problems_resolved",
    "problems_open",
    "eligible",
    "adoption_period",
    "adoption_t",
    "reform_treated",
    "repair_period",
    "repair_t",
)

ASSESSMENT_COLUMNS = ("residents", *OUTCOMES)

_REQUIRED = {
    "counties": ("county_code", "county_management_date"),
    "institutions": ("institution_id", "county_code", "kind", "operator", "area", "beds"),
    "pairings": ("unit_id", "institution_id", "start_date", "end_date", "reason"),
    "activities": ("date", "institution_id", "category", "value_rmb"),
    "problems": ("institution_id", "found_date", "resolved_date"),
    "assessments": ("institution_id", "period", *ASSESSMENT_COLUMNS),
}


def _quarter_bounds(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last day of each quarter index, as datetime64[ns]."""
    start = pd.PeriodIndex.from_fields(year=t // 4, quarter=t % 4 + 1, freq="Q")
    return (
        start.start_time.values.astype("datetime64[ns]"),
        start.end_time.normalize().values.astype("datetime64[ns]"),
    )


def _check(tables: dict[str, pd.DataFrame]) -> None:
    missing = []
    for table, cols in _REQUIRED.items():
        if table not in tables:
            missing.append(f"table {table!r}")
            continue
        for c in cols:
            if c not in tables[table].columns:
                missing.append(f"{table}.{c}")
    if missing:
        raise SpecificationError(
            "derive_panel needs the parsed raw tables with canonical columns; missing: "
            + ", ".join(missing)
            + ". Read the raw folder with analysis.io.read_raw(...).tables."
        )
    if tables["assessments"].empty:
        raise SpecificationError(
            "The assessments table is empty, so the panel has no quarters. Add at least one "
            "assessment row (institution_id, period, scores)."
        )


def derive_panel(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Build the institution-quarter panel from parsed raw tables.

    Parameters
    ----------
    tables : dict of str to DataFrame
        Parsed raw tables (``analysis.io.read_raw(...).tables``): canonical column names, dates as
        ``datetime64``, periods as ``"YYYYQn"`` strings, enumerations as English codes, ids as
        strings. Not modified.

    Returns
    -------
    DataFrame
        One row per institution × quarter (first to last assessment period), sorted by
        ``institution_id`` and ``t``, with exactly the columns of :data:`PANEL_COLUMNS`.
    """
    _check(tables)
    inst = tables["institutions"].copy()
    inst["institution_id"] = inst["institution_id"].astype(str)
    inst["county_code"] = inst["county_code"].astype(str)
    counties = tables["counties"].copy()
    counties["county_code"] = counties["county_code"].astype(str)
    pairings = tables["pairings"].copy()
    activities = tables["activities"].copy()
    problems = tables["problems"].copy()
    assess = tables["assessments"].copy()
    for df in (pairings, activities, problems, assess):
        df["institution_id"] = df["institution_id"].astype(str)

    # --- the grid --------------------------------------------------------------------------
    assess_t = assess["period"].map(period_to_t).astype("int64")
    t_min, t_max = int(assess_t.min()), int(assess_t.max())
    ts = np.arange(t_min, t_max + 1, dtype="int64")
    n_t = len(ts)
    ids = np.sort(inst["institution_id"].unique())
    n_i = len(ids)
    inst = inst.drop_duplicates("institution_id").set_index("institution_id").loc[ids]

    panel = pd.DataFrame(
        {
            "institution_id": np.repeat(ids, n_t),
            "t": np.tile(ts, n_i),
        }
    )
    for c in ("county_code", "kind", "operator", "area"):
        panel[c] = np.repeat(inst[c].astype(object).to_numpy(), n_t)
    panel["beds"] = pd.array(np.repeat(inst["beds"].to_numpy(), n_t), dtype="Int64")
    panel["period"] = [t_to_period(t) for t in panel["t"]]
    panel["year"] = (panel["t"] // 4).astype("int64")
    panel["quarter"] = (panel["t"] % 4 + 1).astype("int64")
    row_of = {iid: k for k, iid in enumerate(ids)}

    def cell_index(inst_ids: pd.Series, t: pd.Series) -> np.ndarray:
        """Row number in the grid of (institution, quarter); -1 when outside."""
        r = inst_ids.map(row_of)
        ok = r.notna().to_numpy() & t.notna().to_numpy()
        tt = t.to_numpy(dtype="float64", na_value=np.nan)
        ok &= (tt >= t_min) & (tt <= t_max)
        out = np.full(len(t), -1, dtype="int64")
        out[ok] = r.to_numpy(dtype="float64", na_value=-1)[ok].astype("int64") * n_t + (
            tt[ok].astype("int64") - t_min
        )
        return out

    def count_into(idx: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        keep = idx >= 0
        return np.bincount(
            idx[keep],
            weights=None if weights is None else weights[keep],
            minlength=n_i * n_t,
        ).astype("float64")

    # --- assessments -----------------------------------------------------------------------
    a = assess.assign(_t=assess_t).drop_duplicates(["institution_id", "_t"], keep="first")
    a_idx = cell_index(a["institution_id"], a["_t"].astype("float64"))
    assessed = np.zeros(n_i * n_t, dtype=bool)
    assessed[a_idx[a_idx >= 0]] = True
    panel["assessed"] = assessed
    for c in ASSESSMENT_COLUMNS:
        col = np.full(n_i * n_t, np.nan)
        vals = pd.to_numeric(a[c], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        col[a_idx[a_idx >= 0]] = vals[a_idx >= 0]
        panel[c] = col

    # --- pairings: any day of the quarter covered --------------------------------------------
    q_start, q_end = _quarter_bounds(ts)
    p = pairings[pairings["institution_id"].isin(row_of)]
    p_start = pd.to_datetime(p["start_date"]).to_numpy(dtype="datetime64[ns]")
    p_end = pd.to_datetime(p["end_date"]).to_numpy(dtype="datetime64[ns]")
    open_end = np.isnat(p_end)
    covers = (p_start[:, None] <= q_end[None, :]) & (
        open_end[:, None] | (p_end[:, None] >= q_start[None, :])
    )
    covers &= ~np.isnat(p_start)[:, None]
    pr, pc = np.nonzero(covers)
    cover_df = pd.DataFrame(
        {
            "cell": p["institution_id"].map(row_of).to_numpy()[pr].astype("int64") * n_t + pc,
            "unit_id": p["unit_id"].astype(str).to_numpy()[pr],
        }
    ).drop_duplicates()
    n_units = np.bincount(cover_df["cell"].to_numpy(), minlength=n_i * n_t)
    panel["n_units"] = n_units.astype("int64")
    panel["paired"] = n_units > 0

    # --- activities ------------------------------------------------------------------------
    act_idx = cell_index(activities["institution_id"], date_to_t(activities["date"]))
    is_visit = (activities["category"].astype(str) == "visit").to_numpy()
    value = pd.to_numeric(activities["value_rmb"], errors="coerce").fillna(0.0).to_numpy("float64")
    panel["activities"] = count_into(act_idx).astype("int64")
    panel["visits"] = count_into(np.where(is_visit, act_idx, -1)).astype("int64")
    panel["value_rmb"] = count_into(act_idx, value)
    beds = panel["beds"].to_numpy(dtype="float64", na_value=np.nan)
    residents = panel["residents"].to_numpy(dtype="float64")
    denom = np.where(np.isnan(residents), beds, residents)  # not assessed (or no count): beds
    denom = np.maximum(np.nan_to_num(denom, nan=1.0), 1.0)
    panel["value_per_resident"] = panel["value_rmb"] / denom

    grouped = panel.groupby("institution_id", sort=False)
    for c in ("activities", "visits", "value_per_resident"):
        panel[f"{c}_lag1"] = grouped[c].shift(1).astype("float64")
        panel[f"{c}_lead1"] = grouped[c].shift(-1).astype("float64")

    # --- problems --------------------------------------------------------------------------
    found = pd.to_datetime(problems["found_date"])
    resolved = pd.to_datetime(problems["resolved_date"])
    panel["problems_found"] = count_into(
        cell_index(problems["institution_id"], date_to_t(found))
    ).astype("int64")
    panel["problems_resolved"] = count_into(
        cell_index(problems["institution_id"], date_to_t(resolved))
    ).astype("int64")
    pb = problems[problems["institution_id"].isin(row_of)]
    f_ = pd.to_datetime(pb["found_date"]).to_numpy(dtype="datetime64[ns]")
    r_ = pd.to_datetime(pb["resolved_date"]).to_numpy(dtype="datetime64[ns]")
    open_at = (f_[:, None] <= q_end[None, :]) & (
        np.isnat(r_)[:, None] | (r_[:, None] > q_end[None, :])
    )
    open_at &= ~np.isnat(f_)[:, None]
    rows = pb["institution_id"].map(row_of).to_numpy().astype("int64")
    open_counts = np.zeros((n_i, n_t), dtype="int64")
    np.add.at(open_counts, rows, open_at.astype("int64"))
    panel["problems_open"] = open_counts.reshape(-1)

    # --- reform ----------------------------------------------------------------------------
    panel["eligible"] = is_eligible(panel).to_numpy(dtype=bool)
    cty = counties.drop_duplicates("county_code").set_index("county_code")
    adopt_t = date_to_t(cty["county_management_date"])
    panel["adoption_t"] = panel["county_code"].map(adopt_t).astype("float64")
    panel["adoption_period"] = _periods(panel["adoption_t"])
    panel["reform_treated"] = (
        panel["eligible"] & (panel["t"] >= panel["adoption_t"]).fillna(False)
    ).astype(bool)

    # --- first adjusted pairing ------------------------------------------------------------
    adj = pairings[pairings["reason"].astype(str) == "adjusted"]
    first_adj = date_to_t(adj["start_date"]).groupby(adj["institution_id"].to_numpy()).min()
    panel["repair_t"] = panel["institution_id"].map(first_adj).astype("float64")
    panel["repair_period"] = _periods(panel["repair_t"])

    panel = panel.sort_values(["institution_id", "t"], kind="stable").reset_index(drop=True)
    return panel.loc[:, list(PANEL_COLUMNS)]


def _periods(t: pd.Series) -> pd.Series:
    """``"YYYYQn"`` of each quarter index, missing where ``t`` is NaN, as text (the dtype pandas
    gives text: ``object`` with ``None`` on pandas 2, ``str`` with NaN on pandas 3)."""
    return pd.Series([None if np.isnan(x) else t_to_period(int(x)) for x in t], index=t.index,
                     dtype=TEXT_DTYPE)
