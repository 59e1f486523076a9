"""County-level results summarised at the levels above the county: prefecture, province, nation.

Every analysis clusters at the county (:mod:`analysis.hierarchy`); a summary at a higher level is
an aggregation of county rows with stated weights, never a new estimate. Each column of a county
table is aggregated by one :class:`Rule`:

* ``sum`` — counts and amounts add up (institutions, beds, activities, value, problems);
* ``ratio`` — a rate is recomputed from the sums of its numerator and denominator (activities per
  institution = Σ activities / Σ institutions), so a prefecture's rate is the rate of its pooled
  counties, not the mean of its counties' rates;
* ``weighted_mean`` — a share or change known only per county is averaged with the county's
  weight (the share paired by institutions, so that it equals the pooled share; the composite
  change by residents in the latest quarter, the primary weighting of ``indicators.parquet``).
  The weighted mean of residents-weighted county changes is the residents-weighted change of the
  level only when each county's residents are stable over the window; it is labelled a summary
  of county changes.

Counties with a missing value drop out of that column's weighted mean (their weight too); a
level whose counties all miss it gets a missing value. Weighted means follow the usual
definition Σ w·x / Σ w (e.g. Cochran 1977, *Sampling Techniques*, 3rd ed., §5.3 for stratum
means weighted by size).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ..errors import check_option
from ..hierarchy import NATION_CODE, AdminLevel, hierarchy
from ..results import ResultMixin
from .league import county_league

if TYPE_CHECKING:
    from ..data import Processed

RuleKind = Literal["sum", "ratio", "weighted_mean"]


@dataclass(frozen=True)
class Rule:
    """How one column is aggregated: ``kind``; for ``ratio`` the numerator and denominator
    columns and a ``scale`` (the ratio is ``scale · Σ num / Σ den``); for ``weighted_mean`` the
    weight column."""

    kind: RuleKind
    num: str | None = None
    den: str | None = None
    weight: str | None = None
    scale: float = 1.0


#: the league table's columns and how each is summarised (``describe_league``'s definitions)
LEAGUE_RULES: dict[str, Rule] = {
    "institutions": Rule("sum"),
    "elderly_institutions": Rule("sum"),
    "children_institutions": Rule("sum"),
    "beds": Rule("sum"),
    "residents": Rule("sum"),
    "paired_share": Rule("weighted_mean", weight="institutions"),
    "activities": Rule("sum"),
    "visits": Rule("sum"),
    "value_rmb": Rule("sum"),
    "problems_found": Rule("sum"),
    "problems_resolved": Rule("sum"),
    "activities_per_inst": Rule("ratio", num="activities", den="institutions"),
    "value_per_bed": Rule("ratio", num="value_rmb", den="beds", scale=1e4),
    "resolved_share": Rule("ratio", num="problems_resolved", den="problems_found"),
    "composite_change": Rule("weighted_mean", weight="residents"),
}


def summarise_by_level(df: pd.DataFrame, level: AdminLevel, rules: dict[str, Rule], *,
                       counties: pd.DataFrame | None = None) -> pd.DataFrame:
    """Aggregate county rows to ``level``.

    Parameters
    ----------
    df : DataFrame
        One row per county with ``county_code`` and the columns named in ``rules``.
    level : {"county", "prefecture", "province", "nation"}
        The level to summarise at (``county`` returns the county rows with their parents).
    rules : dict of str to Rule
        How each column is aggregated (:data:`LEAGUE_RULES` for the league table).
    counties : DataFrame, optional
        The counties table, for the prefecture and province names it gives; without it the
        parents are derived from the codes alone.

    Returns
    -------
    DataFrame
        One row per unit of ``level`` (code order): ``level``, ``code`` (the nation's is
        ``000000``), ``name`` (where the counties table gives one), ``counties`` (number of
        county rows) and the columns of ``rules`` in their order.
    """
    check_option("level", level, AdminLevel)
    missing = [c for c in ["county_code", *rules] if c not in df.columns]
    if missing:
        raise ValueError(f"summarise_by_level: the county table lacks {missing}")
    base = counties if counties is not None else df[["county_code"]]
    h = hierarchy(base).drop_duplicates("county_code").set_index("county_code")
    d = df.copy()
    d["county_code"] = d["county_code"].astype(str)
    if level == "county":
        key = d["county_code"]
        names = pd.Series(pd.NA, index=d.index, dtype=object)
    elif level == "nation":
        key = pd.Series(NATION_CODE, index=d.index)
        names = pd.Series(pd.NA, index=d.index, dtype=object)
    else:
        known = d["county_code"].isin(h.index)
        if not known.all():  # a county not in the counties table: derive from its code
            extra = hierarchy(d.loc[~known, ["county_code"]]).set_index("county_code")
            h = pd.concat([h, extra])
        key = d["county_code"].map(h[f"{level}_code"])
        names = d["county_code"].map(h[f"{level}_name"])
    d["_key"] = key.to_numpy()
    d["_name"] = names.to_numpy()
    g = d.groupby("_key", sort=True)
    out = pd.DataFrame(index=pd.Index(sorted(d["_key"].unique()), name="code"))
    out["name"] = g["_name"].first()
    out["counties"] = g.size()
    for col, rule in rules.items():
        check_option(f"rule of {col}", rule.kind, RuleKind)
        if rule.kind == "sum":
            out[col] = g[col].sum(min_count=1).astype(float)
        elif rule.kind == "ratio":
            num = g[rule.num].sum(min_count=1).astype(float)
            den = g[rule.den].sum(min_count=1).astype(float)
            out[col] = rule.scale * num / den.where(den > 0)
        else:
            x = d[col].astype(float)
            w = d[rule.weight].astype(float).where(x.notna())
            sw = w.groupby(d["_key"]).sum(min_count=1)
            sx = (w * x).groupby(d["_key"]).sum(min_count=1)
            out[col] = sx / sw.where(sw > 0)
    out = out.reset_index()
    out.insert(0, "level", level)
    return out


@dataclass(frozen=True)
class LevelSummary(ResultMixin):
    """The county league table summarised at the levels above the county."""

    levels: tuple[str, ...]
    table: pd.DataFrame = field(repr=False)

    @property
    def title(self) -> str:
        return "Summary by level 分级汇总"

    @property
    def _notes(self) -> tuple[str, ...]:
        return ("Sums of the counties' figures; rates from the sums; paired_share weighted by "
                "institutions and composite_change by residents in the latest quarter (a summary "
                "of county changes). Descriptive figures, not effects.",)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"levels": self.table}

    def plot(self, *, ax: Any = None) -> Any:
        """Activities per institution of each unit of the lowest level summarised."""
        from ..plots import PALETTE, new_axes, safe_text

        ax = new_axes(ax, figsize=(7.0, 4.0))
        d = self.table[self.table["level"] == self.levels[0]]
        y = np.arange(len(d))
        ax.barh(y, d["activities_per_inst"], color=PALETTE["county"])
        ax.set_yticks(y, [safe_text(str(c)) for c in d["code"]])
        ax.set_xlabel("activities_per_inst")
        ax.set_title(f"{self.levels[0]} 汇总")
        return ax


def level_summary(processed: Processed, *,
                  levels: tuple[AdminLevel, ...] = ("prefecture", "province", "nation"),
                  ) -> LevelSummary:
    """The league table (:func:`analysis.describe.county_league`) summarised at ``levels``.

    Returns
    -------
    LevelSummary
        ``tables()["levels"]``: the rows of :func:`summarise_by_level` with
        :data:`LEAGUE_RULES` for each level in turn (``level``, ``code``, ``name``,
        ``counties`` and the league's figures; ranks are not summarised).
    """
    for lv in levels:
        check_option("level", lv, AdminLevel)
    league = county_league(processed).table
    counties = processed.tables["counties"]
    table = pd.concat([summarise_by_level(league, lv, LEAGUE_RULES, counties=counties)
                       for lv in levels], ignore_index=True)
    return LevelSummary(levels=tuple(levels), table=table)


__all__ = ["LEAGUE_RULES", "LevelSummary", "Rule", "level_summary", "summarise_by_level"]
