"""Readers shared by several sections: the indicators results at one weighting, and each county's
reform cohort."""

from __future__ import annotations

import pandas as pd

from ...data import Processed

#: the weighting of county and city aggregates a report shows, in order of preference
PREFERRED_WEIGHTING = ("residents", "unweighted", "none")


def indicators(processed: Processed) -> pd.DataFrame | None:
    """``indicators.parquet`` with one row per (level, id, indicator).

    When the file holds several weightings of the county and city aggregates, the resident-weighted
    one is kept (else the first listed in :data:`PREFERRED_WEIGHTING`, else the first present).
    ``None`` when the indicators have not been run.
    """
    if not processed.has_result("indicators"):
        return None
    ind = processed.result("indicators").copy()
    ind["id"] = ind["id"].astype(str)
    if "weighting" in ind.columns:
        keep = []
        for _, g in ind.groupby("level", sort=False):
            present = list(dict.fromkeys(g["weighting"].astype(str)))
            pick = next((w for w in PREFERRED_WEIGHTING if w in present), present[0])
            keep.append(g[g["weighting"].astype(str) == pick])
        ind = pd.concat(keep)
    return ind.drop_duplicates(["level", "id", "indicator"])


def city_indicator(processed: Processed, indicator: str) -> float:
    """The city's change in ``indicator`` (NaN when the indicators have not been run)."""
    ind = indicators(processed)
    if ind is None:
        return float("nan")
    row = ind[(ind["level"] == "city") & (ind["indicator"] == indicator)]
    return float(row["change"].iloc[0]) if len(row) else float("nan")


def cohorts(processed: Processed) -> pd.Series:
    """Adoption quarter per county (missing when not moved in the data window), from the panel."""
    p = processed.panel[["county_code", "adoption_period"]].drop_duplicates("county_code")
    return p.set_index("county_code")["adoption_period"]
