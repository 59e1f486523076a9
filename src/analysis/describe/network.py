"""The pairing network: helper units (city departments, county and township units) ↔ institutions.

A pairing is an edge between a unit and an institution from ``start_date`` to ``end_date`` (open
when missing). This module counts the edges active in each quarter (an edge is active in a quarter
when it covers any day of it, the panel's ``paired`` rule), the pairings started by reason
(``initial``, ``adjusted`` — a unit replaced on an institution — and ``added`` — a new unit, such
as the finance and telecom units added in the programme) and ended, each unit's and institution's
degree (distinct partners over the whole period), and the sector mix of the units.

Degrees and counts are group sizes of the pairings table, computed with pandas; a graph library
(networkx is not a dependency of the package) would add nothing for a bipartite degree count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from ..domain import date_to_t
from ..results import ResultMixin
from ._common import institution_county, periods, quarter_index

if TYPE_CHECKING:
    from ..data import Processed

#: pairing reasons counted as re-pairings (the contract's other reason is ``initial``)
REPAIRING_REASONS = ("adjusted", "added")


@dataclass(frozen=True)
class PairingNetwork(ResultMixin):
    """Edges over time (main table), degrees of units and institutions, the sector mix."""

    by_quarter: pd.DataFrame = field(repr=False)
    units: pd.DataFrame = field(repr=False)
    institutions: pd.DataFrame = field(repr=False)
    degrees: pd.DataFrame = field(repr=False)
    sectors: pd.DataFrame = field(repr=False)

    display_columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "units": ("unit_id", "level", "sector", "pairings", "institutions", "counties",
                  "active_at_end"),
    }

    @property
    def title(self) -> str:
        return "Pairing network 结对网络: helper units ↔ institutions"

    @property
    def _notes(self) -> tuple[str, ...]:
        q = self.by_quarter
        started = {r: int(q[f"started_{r}"].sum()) for r in ("initial", *REPAIRING_REASONS)}
        return (f"{started['initial']} initial pairings, {started['adjusted']} adjusted (a unit "
                f"replaced on an institution), {started['added']} added, {int(q['ended'].sum())} "
                "ended. A pairing is active in every quarter it covers a day of; degrees count "
                "distinct partners over the whole period.",)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"by_quarter": self.by_quarter, "degrees": self.degrees, "sectors": self.sectors,
                "units": self.units, "institutions": self.institutions}

    def plot(self, *, ax: Any = None) -> Any:
        """Active pairings per quarter (line) and the pairings adjusted, added and ended (bars)."""
        from ..plots import PALETTE, new_axes

        ax = new_axes(ax, figsize=(9.0, 3.8))
        q = self.by_quarter
        x = np.arange(len(q))
        width = 0.28
        for i, (col, color, name) in enumerate((
                ("started_adjusted", PALETTE["county"], "adjusted 调整"),
                ("started_added", PALETTE["good"], "added 新增"),
                ("ended", PALETTE["other"], "ended 结束"))):
            ax.bar(x + (i - 1) * width, q[col], width=width, color=color, label=name)
        ax.set_ylabel("pairings changed 调整结对数")
        right = ax.twinx()
        right.plot(x, q["pairings_active"], color=PALETTE["city"], lw=2,
                   label="active pairings 在结对数")
        right.set_ylabel("active pairings 在结对数")
        right.set_ylim(bottom=0)
        right.grid(False)
        step = max(1, len(q) // 8)
        ax.set_xticks(x[::step], list(q["period"].iloc[::step]), rotation=45)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = right.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper right", fontsize=8)
        ax.set_title("Pairings over time and re-pairings 结对与调整")
        return ax


def _edges(processed: Processed) -> pd.DataFrame:
    p = processed.tables["pairings"].copy()
    p["start_t"] = date_to_t(p["start_date"])
    p["end_t"] = date_to_t(p["end_date"])
    p["unit_id"] = p["unit_id"].astype(str)
    p["institution_id"] = p["institution_id"].astype(str)
    p["county_code"] = p["institution_id"].map(institution_county(processed))
    return p


def _window(processed: Processed, e: pd.DataFrame) -> tuple[float, float]:
    first = e["start_t"].min()
    last = np.nanmax([e["start_t"].max(), e["end_t"].max(),
                      quarter_index(processed.panel["period"]).max()])
    return float(first), float(last)


def _by_quarter(e: pd.DataFrame, first: float, last: float) -> pd.DataFrame:
    rows = []
    for period, t in zip(periods(first, last), range(int(first), int(last) + 1), strict=True):
        active = e[(e["start_t"] <= t) & (e["end_t"].isna() | (e["end_t"] >= t))]
        started = e[e["start_t"] == t]
        rec: dict[str, Any] = {"period": period, "pairings_active": len(active),
                               "units_active": active["unit_id"].nunique(),
                               "institutions_paired": active["institution_id"].nunique()}
        for reason in ("initial", *REPAIRING_REASONS):
            rec[f"started_{reason}"] = int((started["reason"] == reason).sum())
        rec["ended"] = int((e["end_t"] == t).sum())
        rows.append(rec)
    return pd.DataFrame(rows)


def _units(processed: Processed, e: pd.DataFrame, last: float) -> pd.DataFrame:
    units = processed.tables["units"][["unit_id", "level", "sector"]].copy()
    units["unit_id"] = units["unit_id"].astype(str)
    open_at_end = e["end_t"].isna() | (e["end_t"] >= last)
    g = e.groupby("unit_id")
    deg = pd.DataFrame({
        "pairings": g.size(),
        "institutions": g["institution_id"].nunique(),
        "counties": g["county_code"].nunique(),
        "active_at_end": e[open_at_end].groupby("unit_id")["institution_id"].nunique(),
    })
    for reason in REPAIRING_REASONS:
        deg[reason] = e[e["reason"] == reason].groupby("unit_id").size()
    out = units.merge(deg, left_on="unit_id", right_index=True, how="left")
    num = ["pairings", "institutions", "counties", "active_at_end", *REPAIRING_REASONS]
    out[num] = out[num].fillna(0).astype("int64")
    return out.sort_values("unit_id", kind="stable").reset_index(drop=True)


def _institutions(processed: Processed, e: pd.DataFrame, last: float) -> pd.DataFrame:
    inst = processed.tables["institutions"][["institution_id", "county_code", "kind"]].copy()
    inst["institution_id"] = inst["institution_id"].astype(str)
    inst["county_code"] = inst["county_code"].astype(str)
    open_at_end = e["end_t"].isna() | (e["end_t"] >= last)
    g = e.groupby("institution_id")
    deg = pd.DataFrame({
        "pairings": g.size(),
        "units": g["unit_id"].nunique(),
        "units_at_end": e[open_at_end].groupby("institution_id")["unit_id"].nunique(),
        "ended": e[e["end_t"].notna()].groupby("institution_id").size(),
    })
    for reason in REPAIRING_REASONS:
        deg[reason] = e[e["reason"] == reason].groupby("institution_id").size()
    out = inst.merge(deg, left_on="institution_id", right_index=True, how="left")
    num = ["pairings", "units", "units_at_end", "ended", *REPAIRING_REASONS]
    out[num] = out[num].fillna(0).astype("int64")
    return out.sort_values("institution_id", kind="stable").reset_index(drop=True)


def _degrees(units: pd.DataFrame, institutions: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for side, df, col in (("unit", units, "institutions"), ("institution", institutions, "units")):
        d = df[col].value_counts().sort_index()
        parts.append(pd.DataFrame({"side": side, "degree": d.index.astype("int64"),
                                   "count": d.to_numpy().astype("int64")}))
    return pd.concat(parts, ignore_index=True)


def _sectors(units: pd.DataFrame) -> pd.DataFrame:
    g = units.groupby(["level", "sector"], sort=True)
    out = g.agg(units=("unit_id", "size"),
                units_paired=("pairings", lambda s: int((s > 0).sum())),
                pairings=("pairings", "sum"), adjusted=("adjusted", "sum"),
                added=("added", "sum")).reset_index()
    total = out["pairings"].sum()
    out["pairings_share"] = out["pairings"] / total if total else np.nan
    return out


def pairing_network(processed: Processed) -> PairingNetwork:
    """The bipartite network of helper units and institutions, over time.

    Parameters
    ----------
    processed : the processed dataset (:func:`analysis.data.load_processed`).

    Returns
    -------
    PairingNetwork
        ``tables()``: ``by_quarter`` (main: per quarter from the first pairing to the end of the
        data, ``pairings_active``, ``units_active``, ``institutions_paired``, pairings
        ``started_initial`` / ``started_adjusted`` / ``started_added`` in the quarter and
        ``ended`` in it), ``degrees`` (``side`` ∈ {unit, institution}, ``degree`` = distinct
        partners over the whole period, ``count`` of units or institutions with it), ``sectors``
        (unit level × sector: units, units ever paired, pairings, adjusted, added, share of
        pairings), ``units`` and ``institutions`` (one row each: pairings, distinct partners,
        partners at the end of the data, re-pairings).
    """
    e = _edges(processed)
    if e.empty:
        empty_q = pd.DataFrame(columns=["period", "pairings_active", "units_active",
                                        "institutions_paired", "started_initial",
                                        "started_adjusted", "started_added", "ended"])
        first = last = float(quarter_index(processed.panel["period"]).max())
        by_quarter = empty_q
    else:
        first, last = _window(processed, e)
        by_quarter = _by_quarter(e, first, last)
    units = _units(processed, e, last)
    institutions = _institutions(processed, e, last)
    return PairingNetwork(by_quarter=by_quarter, units=units, institutions=institutions,
                          degrees=_degrees(units, institutions), sectors=_sectors(units))


__all__ = ["REPAIRING_REASONS", "PairingNetwork", "pairing_network"]
