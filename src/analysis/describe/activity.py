"""The activity mix: pairing activities by category and quarter — how many, their value in RMB
and the beneficiaries (人次) recorded.

Sums over the activities table (pandas ``groupby``); every category × quarter from the first to
the last activity is present, with zeros where nothing happened, so that quarters compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..domain import t_to_period
from ..results import ResultMixin
from ._common import periods, quarter_index

if TYPE_CHECKING:
    from ..data import Processed

MEASURES = ("activities", "value_rmb", "beneficiaries")


@dataclass(frozen=True)
class ActivityMix(ResultMixin):
    """Activities by category × quarter (main table) and by category over the whole period."""

    by_quarter: pd.DataFrame = field(repr=False)
    by_category: pd.DataFrame = field(repr=False)

    @property
    def title(self) -> str:
        return "Activity mix 帮扶活动构成: category × quarter"

    @property
    def _notes(self) -> tuple[str, ...]:
        return ("Beneficiaries and value sum the recorded values (a missing cell counts as 0); "
                "activities without a helper unit (county and township teams) are included.",)

    def tables(self) -> dict[str, pd.DataFrame]:
        wide = self.by_quarter.pivot(index="period", columns="category", values="activities")
        wide = wide[list(self.by_category["category"])].reset_index()
        wide.columns.name = None
        return {"by_quarter": self.by_quarter, "by_category": self.by_category,
                "activities_by_quarter": wide}

    def plot(self, *, ax: Any = None) -> Any:
        """Activities per quarter, stacked by category (largest category at the bottom)."""
        import matplotlib.pyplot as plt

        from ..plots import new_axes

        ax = new_axes(ax, figsize=(9.0, 3.8))
        wide = self.by_quarter.pivot(index="period", columns="category", values="activities")
        cats = list(self.by_category["category"])
        wide = wide.sort_index()[cats]
        x = np.arange(len(wide))
        bottom = np.zeros(len(wide))
        colors = plt.get_cmap("tab10")
        for i, c in enumerate(cats):
            ax.bar(x, wide[c], bottom=bottom, color=colors(i % 10), label=c, width=0.85)
            bottom += wide[c].to_numpy(dtype=float)
        step = max(1, len(wide) // 8)
        ax.set_xticks(x[::step], list(wide.index[::step]), rotation=45)
        ax.set_ylabel("activities 活动场次")
        ax.set_title("Activities by category and quarter 各类帮扶活动")
        ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return ax


def activity_mix(processed: Processed) -> ActivityMix:
    """Activities by category and quarter.

    Parameters
    ----------
    processed : the processed dataset (:func:`analysis.data.load_processed`).

    Returns
    -------
    ActivityMix
        ``tables()``: ``by_quarter`` (main: ``period``, ``category``, ``activities``,
        ``value_rmb``, ``beneficiaries`` for every quarter from the first to the last activity and
        every category in the data), ``by_category`` (the same summed over quarters with each
        category's share of activities and of value, largest first) and
        ``activities_by_quarter`` (activities, quarter × category).
    """
    a = processed.tables["activities"]
    t = quarter_index(a["date"])
    work = pd.DataFrame({
        "t": t.to_numpy(),
        "category": a["category"].astype(str).to_numpy(),
        "activities": 1,
        "value_rmb": pd.to_numeric(a["value_rmb"], errors="coerce").fillna(0.0).to_numpy(float),
        "beneficiaries": pd.to_numeric(a["beneficiaries"], errors="coerce").fillna(0)
        .to_numpy(dtype="int64"),
    }).dropna(subset=["t"])
    totals = work.groupby("category")[list(MEASURES)].sum()
    totals = totals.sort_values(["activities", "value_rmb"], ascending=False, kind="stable")
    cats = list(totals.index)
    if work.empty:
        quarters: list[str] = []
    else:
        quarters = periods(work["t"].min(), work["t"].max())
    grid = pd.MultiIndex.from_product([quarters, cats], names=["period", "category"])
    work["period"] = work["t"].map(t_to_period)
    by_q = work.groupby(["period", "category"])[list(MEASURES)].sum().reindex(grid, fill_value=0)
    by_q = by_q.reset_index()
    for c in ("activities", "beneficiaries"):
        by_q[c] = by_q[c].astype("int64")
    by_cat = totals.reset_index()
    by_cat["activities"] = by_cat["activities"].astype("int64")
    by_cat["beneficiaries"] = by_cat["beneficiaries"].astype("int64")
    n, v = by_cat["activities"].sum(), by_cat["value_rmb"].sum()
    by_cat["activities_share"] = by_cat["activities"] / n if n else np.nan
    by_cat["value_share"] = by_cat["value_rmb"] / v if v else np.nan
    return ActivityMix(by_quarter=by_q, by_category=by_cat)


__all__ = ["MEASURES", "ActivityMix", "activity_mix"]
