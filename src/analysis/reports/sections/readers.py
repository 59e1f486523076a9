"""Readers of the results files that several sections share.

Reports only read results: the descriptive figures (the county league, quarterly means, data-quality
flags) are computed once by the ``describe`` build step (:mod:`analysis.describe`) and the
indicators by :mod:`analysis.indicators`; the readers below pick the rows a report shows. Each
returns ``None`` when its results file does not exist, and the section then says so.
"""

from __future__ import annotations

import pandas as pd

from ...data import Processed

#: the weighting of county and city aggregates a report shows, in order of preference
PREFERRED_WEIGHTING = ("residents", "unweighted", "none")


def _result(processed: Processed, name: str) -> pd.DataFrame | None:
    return processed.result(name) if processed.has_result(name) else None


def _one_weighting(df: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """The rows of the preferred weighting (per ``by`` group when given): the resident-weighted
    ones, else the first of :data:`PREFERRED_WEIGHTING` present, else the first present."""
    if "weighting" not in df.columns:
        return df
    groups = df.groupby(by, sort=False) if by else [(None, df)]
    keep = []
    for _, g in groups:
        present = list(dict.fromkeys(g["weighting"].astype(str)))
        pick = next((w for w in PREFERRED_WEIGHTING if w in present), present[0])
        keep.append(g[g["weighting"].astype(str) == pick])
    return pd.concat(keep)


def indicators(processed: Processed) -> pd.DataFrame | None:
    """``indicators.parquet`` with one row per (level, id, indicator), at the preferred weighting
    of each level."""
    ind = _result(processed, "indicators")
    if ind is None:
        return None
    ind = ind.copy()
    ind["id"] = ind["id"].astype(str)
    return _one_weighting(ind, "level").drop_duplicates(["level", "id", "indicator"])


def city_indicator(processed: Processed, indicator: str) -> float:
    """The city's change in ``indicator`` (NaN when the indicators have not been run)."""
    ind = indicators(processed)
    if ind is None:
        return float("nan")
    row = ind[(ind["level"] == "city") & (ind["indicator"] == indicator)]
    return float(row["change"].iloc[0]) if len(row) else float("nan")


def league(processed: Processed) -> pd.DataFrame | None:
    """``describe_league.parquet``: one row per county with its descriptive figures and ranks."""
    lg = _result(processed, "describe_league")
    if lg is None:
        return None
    return lg.assign(county_code=lg["county_code"].astype(str))


def levels(processed: Processed) -> pd.DataFrame | None:
    """``describe_levels.parquet``: the league summarised per prefecture, province and the nation
    (:func:`analysis.describe.levels.summarise_by_level`), codes as text."""
    lv = _result(processed, "describe_levels")
    if lv is None:
        return None
    return lv.assign(code=lv["code"].astype(str), level=lv["level"].astype(str))


def trends(processed: Processed) -> pd.DataFrame | None:
    """``describe_trends.parquet`` at the preferred weighting (the scorecard's): quarterly means
    per (``level``, ``county_code``, ``period``, ``outcome``), weighted as
    :func:`analysis.indicators.trends`."""
    tr = _result(processed, "describe_trends")
    return None if tr is None else _one_weighting(tr)


#: the columns of ``describe_quality`` that count (summed over an area's counties)
QUALITY_COUNTS = ("institutions", "institution_quarters", "assessed", "missing_assessments",
                  "never_assessed", "residents_over_beds", "activities_without_unit",
                  "problems_open", "small_latest_quarter", "tiny_homes")


def quality(processed: Processed, county_code: str | None,
            counties: list[str] | None = None) -> pd.Series | None:
    """The county's row of ``describe_quality.parquet`` (the city's for ``None``); with
    ``counties`` (an area's county codes), their counts summed and the assessed share recomputed
    from the sums (``None`` when the file has none of their rows)."""
    dq = _result(processed, "describe_quality")
    if dq is None:
        return None
    if counties is not None:
        rows = dq[(dq["level"] == "county") & dq["county_code"].astype(str).isin(counties)]
        if rows.empty:
            return None
        out = rows.iloc[0].copy()
        for col in QUALITY_COUNTS:
            if col in rows.columns:
                out[col] = rows[col].sum()
        out["level"], out["county_code"] = "area", None
        quarters = float(out.get("institution_quarters", 0) or 0)
        out["assessed_share"] = float(out["assessed"]) / quarters if quarters else 0.0
        return out
    if county_code is None:
        rows = dq[dq["level"] == "city"]
    else:
        rows = dq[(dq["level"] == "county") & (dq["county_code"].astype(str) == county_code)]
    return rows.iloc[0] if len(rows) else None


def cohorts(processed: Processed) -> pd.Series:
    """Adoption quarter per county (missing when not moved in the data window): the panel's
    ``adoption_period`` column, one value per county."""
    p = processed.panel[["county_code", "adoption_period"]].drop_duplicates("county_code")
    return p.set_index("county_code")["adoption_period"]
