"""The county league table: descriptive figures of every county and its rank among counties.

The figures are the report's key figures (institutions, beds, residents and share paired in the
latest quarter, activities, visits, value of help, problems and the share resolved, the change in
the 三升一降 composite index and the county-management cohort); the ranks use ``method="min"``
(ties share the better rank). The composite change is the residents-weighted county change of
``indicators.parquet`` (:func:`analysis.indicators.indicators`, the same baseline year).
Descriptive only: a rank says where a county stands, not why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..domain import COMPOSITE
from ..results import ResultMixin
from ._common import county_codes, indicator_table

if TYPE_CHECKING:
    from ..data import Processed

#: ranked metric → higher is better (the rank is 1 for the best county)
RANKED: dict[str, bool] = {
    "composite_change": True,
    "activities_per_inst": True,
    "value_per_bed": True,
    "resolved_share": True,
    "paired_share": True,
}
#: the columns of the league table, in order (``rank_<metric>`` and ``rank`` follow)
FIGURES = ("institutions", "elderly_institutions", "children_institutions", "beds", "residents",
           "paired_share", "activities", "visits", "value_rmb", "problems_found",
           "problems_resolved", "activities_per_inst", "value_per_bed", "resolved_share",
           "composite_change", "cohort")
#: the weighting of the composite change (the primary weighting of ``indicators.parquet``)
COMPOSITE_WEIGHTING = "residents"


@dataclass(frozen=True)
class CountyLeague(ResultMixin):
    """One row per county with its figures and ranks (main table); the city's figures."""

    rank_metric: str
    table: pd.DataFrame = field(repr=False)
    city: pd.DataFrame = field(repr=False)

    @property
    def title(self) -> str:
        return "County league table 各县区比较"

    @property
    def _notes(self) -> tuple[str, ...]:
        return (f"rank = rank on {self.rank_metric} (1 = best; ties share the better rank). "
                "residents and paired_share are for the latest quarter; value_rmb is in 10,000 "
                "RMB; value_per_bed in RMB. Descriptive figures, not effects.",)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"league": self.table, "city": self.city}

    def plot(self, *, ax: Any = None) -> Any:
        """The ranking metric per county, best at the top."""
        from ..plots import PALETTE, new_axes

        ax = new_axes(ax, figsize=(7.0, 4.0))
        d = self.table.sort_values(["rank", "county_code"], ascending=[False, True],
                                   kind="stable")
        y = np.arange(len(d))
        ax.barh(y, d[self.rank_metric], color=PALETTE["county"])
        ax.set_yticks(y, [f"{c} ({int(r)})" if pd.notna(r) else str(c)
                          for c, r in zip(d["county_code"], d["rank"], strict=True)])
        city = self.city[self.rank_metric].iloc[0]
        if pd.notna(city):
            ax.axvline(city, color=PALETTE["city"], ls="--", lw=1, label="city 全市")
            ax.legend(fontsize=8)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_xlabel(self.rank_metric)
        ax.set_title("County league 县区排名")
        return ax


def _composite_change(processed: Processed) -> tuple[pd.Series, float]:
    """County and city change of the composite (residents-weighted), as in indicators.parquet."""
    ind = indicator_table(processed)
    ind = ind[(ind["indicator"] == COMPOSITE) & (ind["weighting"] == COMPOSITE_WEIGHTING)]
    county = ind[ind["level"] == "county"].drop_duplicates("id")
    city = ind.loc[ind["level"] == "city", "change"]
    return (county.set_index(county["id"].astype(str))["change"],
            float(city.iloc[0]) if len(city) else np.nan)


def county_league(processed: Processed) -> CountyLeague:
    """Descriptive figures for every county, and its rank among counties.

    Parameters
    ----------
    processed : the processed dataset (:func:`analysis.data.load_processed`).

    Returns
    -------
    CountyLeague
        ``tables()["league"]``: one row per county (code order): ``county_code``,
        ``institutions``, ``elderly_institutions``, ``children_institutions``, ``beds``,
        ``residents`` (in the latest assessed quarter), ``paired_share`` (share of institutions
        paired in the last quarter), ``activities``, ``visits``, ``value_rmb`` (10,000 RMB),
        ``problems_found``, ``problems_resolved``, ``activities_per_inst``, ``value_per_bed``
        (RMB), ``resolved_share``, ``composite_change``, ``cohort`` (county-management quarter,
        missing when not moved in the window), ``rank_<metric>`` for the metrics of
        :data:`RANKED` and ``rank`` (on the composite change when any county has one, else on
        activities per institution; ``rank_metric`` says which). ``tables()["city"]``: the same
        figures for the whole city (one row, no ranks).
    """
    t = processed.tables
    inst = t["institutions"]
    panel = processed.panel
    out = pd.DataFrame({"county_code": county_codes(processed)}).set_index("county_code")
    g = inst.groupby("county_code")
    out["institutions"] = g.size()
    out["elderly_institutions"] = inst[inst["kind"] == "elderly"].groupby("county_code").size()
    out["children_institutions"] = inst[inst["kind"] == "children"].groupby("county_code").size()
    out["beds"] = g["beds"].sum().astype(float)
    assessed = panel.loc[panel["assessed"].astype(bool)]
    if not assessed.empty:
        lp = assessed[assessed["t"] == assessed["t"].max()]
        out["residents"] = lp.groupby("county_code")["residents"].sum()
    else:
        out["residents"] = np.nan
    lq = panel[panel["t"] == panel["t"].max()]
    out["paired_share"] = lq.groupby("county_code")["paired"].mean()
    out["activities"] = panel.groupby("county_code")["activities"].sum()
    out["visits"] = panel.groupby("county_code")["visits"].sum()
    out["value_rmb"] = panel.groupby("county_code")["value_rmb"].sum() / 1e4
    probs = t["problems"].merge(inst[["institution_id", "county_code"]], on="institution_id",
                                how="left")
    out["problems_found"] = probs.groupby("county_code").size()
    out["problems_resolved"] = (probs[probs["resolved_date"].notna()]
                                .groupby("county_code").size())
    out = out.fillna({c: 0 for c in ("institutions", "elderly_institutions",
                                     "children_institutions", "activities", "visits",
                                     "value_rmb", "problems_found", "problems_resolved")})
    out["activities_per_inst"] = out["activities"] / out["institutions"].where(
        out["institutions"] > 0)
    out["value_per_bed"] = out["value_rmb"] * 1e4 / out["beds"].where(out["beds"] > 0)
    out["resolved_share"] = out["problems_resolved"] / out["problems_found"].where(
        out["problems_found"] > 0)
    county_change, city_change = _composite_change(processed)
    out["composite_change"] = county_change.reindex(out.index)
    cohorts = panel[["county_code", "adoption_period"]].drop_duplicates("county_code")
    out["cohort"] = cohorts.set_index("county_code")["adoption_period"].reindex(out.index)
    for m, higher in RANKED.items():
        out[f"rank_{m}"] = out[m].rank(ascending=not higher, method="min")
    primary = ("composite_change" if out["composite_change"].notna().any()
               else "activities_per_inst")
    out["rank"] = out[f"rank_{primary}"]
    table = out.reset_index()
    return CountyLeague(rank_metric=primary, table=table,
                        city=_city(processed, table, city_change))


def _city(processed: Processed, lg: pd.DataFrame, composite_change: float) -> pd.DataFrame:
    """The city's figures: sums over counties, shares of the sums, the city composite change."""
    s = lg[[c for c in FIGURES if c not in ("paired_share", "cohort")]].sum()
    panel = processed.panel
    rec = {
        "institutions": s["institutions"],
        "elderly_institutions": s["elderly_institutions"],
        "children_institutions": s["children_institutions"],
        "beds": s["beds"],
        "residents": s["residents"],
        "paired_share": float(panel.loc[panel["t"] == panel["t"].max(), "paired"].mean()),
        "activities": s["activities"],
        "visits": s["visits"],
        "value_rmb": s["value_rmb"],
        "problems_found": s["problems_found"],
        "problems_resolved": s["problems_resolved"],
        "activities_per_inst": s["activities"] / s["institutions"] if s["institutions"] else np.nan,
        "value_per_bed": s["value_rmb"] * 1e4 / s["beds"] if s["beds"] else np.nan,
        "resolved_share": (s["problems_resolved"] / s["problems_found"]
                           if s["problems_found"] else np.nan),
        "composite_change": composite_change,
    }
    return pd.DataFrame([rec])


__all__ = ["COMPOSITE_WEIGHTING", "FIGURES", "RANKED", "CountyLeague", "county_league"]
