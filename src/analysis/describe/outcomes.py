"""The four 三升一降 outcomes and the composite: their distribution by county, and quarterly
county and city means.

Distributions pool every assessed institution-quarter of a county: count, mean, standard deviation
(ddof=1) and quantiles by linear interpolation between order statistics (pandas' default; type 7 of
Hyndman & Fan 1996, "Sample quantiles in statistical packages", *The American Statistician*
50(4)).

Quarterly means are those of :func:`analysis.indicators.trends` — residents-weighted
(``Σ residents·x / Σ residents`` over the assessed institution-quarters with residents recorded,
the primary) or unweighted — so that a quarterly figure here is the figure the scorecard's trend
shows. The composite index is :func:`analysis.indicators.composite_index`, standardised on the
same baseline year as ``indicators.parquet``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from .. import indicators
from ..domain import ALL_OUTCOMES, INDICATORS, OutcomeOrComposite, indicator_column, outcome_label
from ..errors import check_option
from ..results import ResultMixin
from ._common import baseline_year, county_codes, scope_frame

if TYPE_CHECKING:
    from ..data import Processed

#: quantiles of each distribution (column name → probability)
QUANTILES: dict[str, float] = {"q10": 0.10, "q25": 0.25, "median": 0.50, "q75": 0.75, "q90": 0.90}


# ----------------------------------------------------------------------------------------------
# distributions
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutcomeDistributions(ResultMixin):
    """Each outcome's distribution over assessed institution-quarters, by county and city."""

    baseline_year: int
    table: pd.DataFrame = field(repr=False)

    display_columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "distributions": ("level", "county_code", "outcome", "n_assessed", "mean", "sd", "q10",
                          "median", "q90"),
    }

    @property
    def title(self) -> str:
        return "Outcome distributions by county 各县区结果变量分布"

    @property
    def _notes(self) -> tuple[str, ...]:
        return ("Pooled over every assessed institution-quarter of the data; the composite is in "
                f"standard deviations of {self.baseline_year} (analysis.indicators).",)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"distributions": self.table}

    def plot(self, *, ax: Any = None, outcome: OutcomeOrComposite = "composite") -> Any:
        """Box per county (and the city): 25–75% box, median, 10–90% whiskers, mean as a dot."""
        from ..plots import PALETTE, new_axes

        check_option("outcome", outcome, OutcomeOrComposite)
        ax = new_axes(ax, figsize=(7.5, 4.2))
        d = self.table[self.table["outcome"] == outcome].reset_index(drop=True)
        names = [str(c) if lev == "county" else "city 全市"
                 for lev, c in zip(d["level"], d["county_code"], strict=True)]
        y = np.arange(len(d))[::-1]
        colors = [PALETTE["city"] if lev == "city" else PALETTE["county"] for lev in d["level"]]
        ax.hlines(y, d["q10"], d["q90"], color=colors, lw=1)
        ax.barh(y, d["q75"] - d["q25"], left=d["q25"], height=0.5, color=colors, alpha=0.35)
        ax.vlines(d["median"], y - 0.25, y + 0.25, color=colors, lw=2)
        ax.scatter(d["mean"], y, color="black", s=12, zorder=3, label="mean 均值")
        ax.set_yticks(y, names)
        ax.set_xlabel(outcome_label(outcome, "zh") + " " + outcome_label(outcome, "en"))
        ax.set_title("Distribution by county 分布 (10–25–50–75–90%)")
        ax.legend(fontsize=8, loc="best")
        return ax


def _scores(processed: Processed) -> tuple[int, pd.DataFrame]:
    """Assessed institution-quarters with the four outcomes (as outcome columns) and composite."""
    by = baseline_year(processed)
    s = indicators.composite_index(processed.panel, baseline_year=by).scores
    s = s.rename(columns=INDICATORS)
    s["county_code"] = s["county_code"].astype(str)
    return by, s


def _describe(s: pd.DataFrame, outcome: str) -> dict[str, float]:
    x = s[outcome].dropna()
    rec: dict[str, float] = {
        "n_assessed": len(x),
        "n_institutions": s.loc[x.index, "institution_id"].nunique(),
        "mean": float(x.mean()) if len(x) else np.nan,
        "sd": float(x.std(ddof=1)) if len(x) > 1 else np.nan,
        "min": float(x.min()) if len(x) else np.nan,
    }
    for name, q in QUANTILES.items():
        rec[name] = float(x.quantile(q)) if len(x) else np.nan
    rec["max"] = float(x.max()) if len(x) else np.nan
    return rec


def outcome_distributions(processed: Processed) -> OutcomeDistributions:
    """The four outcomes and the composite, by county and for the city.

    Parameters
    ----------
    processed : the processed dataset (:func:`analysis.data.load_processed`).

    Returns
    -------
    OutcomeDistributions
        ``tables()["distributions"]``: one row per (``level``, ``county_code``, ``outcome``):
        ``n_assessed`` (institution-quarters with a value), ``n_institutions``, ``mean``, ``sd``,
        ``min``, ``q10``, ``q25``, ``median``, ``q75``, ``q90``, ``max``.
    """
    by, s = _scores(processed)
    county, city = [], []
    # one split by county (a comparison per county would scan every row once per county)
    parts = dict(tuple(s.groupby("county_code", sort=False)))
    empty = s.iloc[0:0]
    for outcome in ALL_OUTCOMES:
        for code in county_codes(processed):
            county.append({"county_code": code, "outcome": outcome,
                           **_describe(parts.get(code, empty), outcome)})
        city.append({"outcome": outcome, **_describe(s, outcome)})
    table = scope_frame(pd.DataFrame(county), pd.DataFrame(city))
    for c in ("n_assessed", "n_institutions"):
        table[c] = table[c].astype("int64")
    return OutcomeDistributions(baseline_year=by, table=table)


# ----------------------------------------------------------------------------------------------
# quarterly means
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuarterlyMeans(ResultMixin):
    """County and city quarterly means of the outcomes and the composite."""

    weighting: str
    baseline_year: int
    table: pd.DataFrame = field(repr=False)

    @property
    def title(self) -> str:
        return f"Quarterly means 季度平均 ({self.weighting})"

    @property
    def _notes(self) -> tuple[str, ...]:
        how = ("weighted by residents (Σ residents·x / Σ residents over the assessed "
               "institution-quarters with residents recorded)" if self.weighting == "residents"
               else "unweighted (each assessed institution-quarter counts once)")
        return (f"Means {how}, as analysis.indicators.trends; the composite is in standard "
                f"deviations of {self.baseline_year}.",)

    def tables(self) -> dict[str, pd.DataFrame]:
        city = self.table[self.table["level"] == "city"]
        wide = city.pivot(index="period", columns="outcome", values="mean")
        wide = wide[[o for o in ALL_OUTCOMES if o in wide.columns]].reset_index()
        wide.columns.name = None
        return {"means": self.table, "city": wide}

    def plot(self, *, ax: Any = None, outcome: OutcomeOrComposite = "composite",
             county_code: str | None = None) -> Any:
        """The city line over grey county lines; ``county_code`` (optional) drawn in colour."""
        from ..plots import PALETTE, new_axes

        check_option("outcome", outcome, OutcomeOrComposite)
        ax = new_axes(ax)
        t = self.table[self.table["outcome"] == outcome]
        quarters = sorted(t["period"].unique())
        pos = {p: i for i, p in enumerate(quarters)}
        for code, g in t[t["level"] == "county"].groupby("county_code"):
            hl = county_code is not None and str(code) == str(county_code)
            ax.plot(g["period"].map(pos), g["mean"], color=PALETTE["county" if hl else "other"],
                    lw=2 if hl else 0.8, zorder=3 if hl else 1, label=str(code) if hl else None)
        c = t[t["level"] == "city"]
        ax.plot(c["period"].map(pos), c["mean"], color=PALETTE["city"], lw=2, label="city 全市")
        step = max(1, len(quarters) // 8)
        ax.set_xticks(range(0, len(quarters), step), quarters[::step], rotation=45)
        ax.set_ylabel(outcome_label(outcome, "zh") + " " + outcome_label(outcome, "en"))
        ax.set_title(f"Quarterly mean 季度平均 ({self.weighting})")
        ax.legend(fontsize=8)
        return ax


def quarterly_means(processed: Processed, *,
                    weighting: indicators.Weighting = "residents") -> QuarterlyMeans:
    """County and city quarterly means of the four outcomes and the composite.

    Parameters
    ----------
    processed : the processed dataset (:func:`analysis.data.load_processed`).
    weighting : ``"residents"`` (the primary, as the scorecard) or ``"unweighted"``.

    Returns
    -------
    QuarterlyMeans
        ``tables()["means"]``: one row per (``level``, ``county_code``, ``period``, ``outcome``):
        ``mean`` and ``n_institutions`` (institutions averaged), with ``weighting``; ``city``: the
        city means, quarter × outcome.
    """
    check_option("weighting", weighting, indicators.Weighting)
    by = baseline_year(processed)
    tr = indicators.trends(processed.panel, weighting=weighting, baseline_year=by).tables()
    t = next(iter(tr.values()))
    out = pd.DataFrame({
        "level": t["level"].astype(str).to_numpy(),
        "county_code": t["id"].astype(str).where(t["level"] == "county").to_numpy(),
        "period": t["period"].astype(str).to_numpy(),
        "outcome": t["indicator"].map(indicator_column).to_numpy(),
        "mean": t["value"].to_numpy(dtype=float),
        "n_institutions": t["n_institutions"].to_numpy(dtype="int64"),
    })
    out["county_code"] = out["county_code"].astype("string")
    out["weighting"] = weighting
    order = {o: i for i, o in enumerate(ALL_OUTCOMES)}
    out = out.assign(_l=(out["level"] == "city").astype(int), _o=out["outcome"].map(order))
    out = out.sort_values(["_o", "_l", "county_code", "period"], kind="stable")
    return QuarterlyMeans(weighting=weighting, baseline_year=by,
                          table=out.drop(columns=["_l", "_o"]).reset_index(drop=True))


__all__ = ["QUANTILES", "OutcomeDistributions", "QuarterlyMeans", "outcome_distributions",
           "quarterly_means"]
