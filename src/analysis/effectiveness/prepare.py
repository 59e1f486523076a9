"""Shared preparation of the effectiveness analyses: intensities, outcome columns, input checks.

Every analysis of :mod:`analysis.effectiveness` starts from the institution-quarter panel
(``load_processed(...).panel``) and adds, when missing,

* ``composite`` — the composite index of :func:`analysis.indicators.composite_index` (the
  outcomes, their directions and labels are those of :mod:`analysis.domain`);
* ``repaired`` — 1 from the quarter of the institution's first *adjusted* pairing (``repair_t``)
  on, else 0: the re-pairing control of the dose-response and mixed models;
* ``reform_treated`` as a float (the county-management reform control);

and :func:`partner_activity` builds the instrument of :mod:`analysis.effectiveness.iv` (what an
institution's helper units did at their *other* institutions) from the raw tables.

No estimator lives here, so no paper is cited.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from ..domain import COMPOSITE, DIRECTION, OutcomeOrComposite, outcome_label
from ..errors import SpecificationError, check_option
from ..indicators import composite_index

__all__ = ["DEFAULT_CONTROLS", "INTENSITIES", "Intensity", "axis_label", "partner_activity",
           "tables_of", "with_outcome"]

#: the pairing intensities a dose-response can use (each lagged and led one quarter in the panel)
Intensity = Literal["activities", "visits", "value_per_resident"]
#: intensity name → (lagged column, lead column)
INTENSITIES: dict[str, tuple[str, str]] = {
    name: (f"{name}_lag1", f"{name}_lead1") for name in get_args(Intensity)}
#: time-varying controls of the dose-response and mixed models: two other programmes that move
#: the outcomes over the same years (the county-management reform and re-pairing)
DEFAULT_CONTROLS: tuple[str, ...] = ("reform_treated", "repaired")

_PANEL_KEYS = ("institution_id", "county_code", "period", "t")


def with_outcome(panel: pd.DataFrame, outcome: OutcomeOrComposite) -> pd.DataFrame:
    """The panel (copied) with ``composite`` and ``repaired`` columns added when needed.

    Parameters
    ----------
    panel : pandas.DataFrame
        The institution-quarter panel (not modified).
    outcome : str
        One of the four targets or ``"composite"`` (validated here).

    Returns
    -------
    pandas.DataFrame
        A copy with ``composite`` (when ``outcome`` is the composite), ``repaired`` and a float
        ``reform_treated``.
    """
    check_option("outcome", outcome, OutcomeOrComposite)
    missing = [c for c in _PANEL_KEYS if c not in panel.columns]
    if missing:
        raise SpecificationError(
            f"The panel lacks columns {missing}; pass `load_processed(...).panel`.")
    d = panel.copy()
    if outcome == COMPOSITE and COMPOSITE not in d.columns:
        sc = composite_index(panel).scores[["institution_id", "period", COMPOSITE]]
        d = d.merge(sc, on=["institution_id", "period"], how="left")
    if "repaired" not in d.columns:
        rt = d["repair_t"] if "repair_t" in d.columns else pd.Series(np.nan, index=d.index)
        d["repaired"] = (d["t"] >= rt).astype(float)
    if "reform_treated" in d.columns:
        d["reform_treated"] = d["reform_treated"].astype(float)
    return d


def tables_of(data: Any) -> dict[str, pd.DataFrame]:
    """The raw tables of a processed dataset (``load_processed(...)``), or the dict itself.

    Raises
    ------
    SpecificationError
        When ``data`` is neither.
    """
    tables = getattr(data, "tables", data)
    if not isinstance(tables, dict):
        raise SpecificationError(
            "Pass the processed dataset (`load_processed(...)`) or its tables dict.")
    return tables


def axis_label(outcome: str, prefix: str = "") -> str:
    """A plot axis label for ``outcome`` that says which way is good.

    Parameters
    ----------
    outcome : str
        An outcome column or ``"composite"`` (label and direction from :mod:`analysis.domain`).
    prefix : str
        Text before the label, e.g. ``"change in "``.

    Returns
    -------
    str
        E.g. ``"change in Safety hazards (lower is better)"``.
    """
    direction = DIRECTION.get(outcome)
    better = "" if direction is None else (
        " (higher is better)" if direction > 0 else " (lower is better)")
    return f"{prefix}{outcome_label(outcome)}{better}"


def partner_activity(tables: dict[str, pd.DataFrame], panel: pd.DataFrame) -> pd.DataFrame:
    """What an institution's helper units did elsewhere: the leave-one-out partner activity.

    For institution *i* and quarter *t*, ``partner_activity`` is the sum over the units paired
    with *i* in *t* (a pairing covers any day of the quarter) that are paired with at least one
    other institution in *t* of the unit's activities at those other institutions in *t* divided
    by their number: ``Σ_u (A_ut − A_uit) / (n_ut − 1)``. Units paired only with *i* add nothing;
    activities without a unit (county leaders' teams) never count. ``partner_activity_lag1`` is
    the previous quarter's value in the panel's quarters (0 before any pairing; NaN in the first
    quarter of the window), the instrument of the lagged intensity.

    Parameters
    ----------
    tables : dict of pandas.DataFrame
        The raw tables (``activities``, ``pairings``).
    panel : pandas.DataFrame
        The institution-quarter panel (its ``institution_id``, ``period`` and ``t``).

    Returns
    -------
    pandas.DataFrame
        ``institution_id``, ``period``, ``partner_activity``, ``partner_activity_lag1``, one row
        per panel row, in the panel's order.
    """
    from ..domain import date_to_t, quarter_bounds, t_to_period

    keys = panel.loc[:, ["institution_id", "period", "t"]].copy()
    keys["t"] = keys["t"].astype(int)
    t0, t1 = int(keys["t"].min()), int(keys["t"].max())
    z = pd.Series(0.0, index=pd.MultiIndex.from_frame(keys[["institution_id", "t"]]))
    pa, act = tables.get("pairings"), tables.get("activities")
    if pa is not None and len(pa) and act is not None and len(act):
        rows = []
        for t in range(t0, t1 + 1):
            start, end = quarter_bounds(t_to_period(t))
            cov = pa[(pa["start_date"] <= end)
                     & (pa["end_date"].isna() | (pa["end_date"] >= start.normalize()))]
            cov = cov.loc[:, ["unit_id", "institution_id"]].drop_duplicates()
            rows.append(cov.assign(t=t))
        cover = pd.concat(rows, ignore_index=True)
        a = act.loc[act["unit_id"].notna(), ["unit_id", "institution_id", "date"]]
        a = a.assign(t=date_to_t(a["date"]).to_numpy())
        a_uit = a.groupby(["unit_id", "institution_id", "t"]).size().rename("a_uit")
        a_ut = a.groupby(["unit_id", "t"]).size().rename("a_ut")
        cover["n_ut"] = cover.groupby(["unit_id", "t"])["institution_id"].transform("size")
        cover = cover[cover["n_ut"] >= 2]
        cover = cover.join(a_uit, on=["unit_id", "institution_id", "t"]).join(
            a_ut, on=["unit_id", "t"])
        cover = cover.fillna({"a_uit": 0.0, "a_ut": 0.0})
        cover["loo"] = (cover["a_ut"] - cover["a_uit"]) / (cover["n_ut"] - 1)
        sums = cover.groupby(["institution_id", "t"])["loo"].sum()
        z = z.add(sums.reindex(z.index).fillna(0.0), fill_value=0.0)
    out = keys.assign(partner_activity=z.to_numpy())
    out = out.sort_values(["institution_id", "t"])
    prev = out.groupby("institution_id")["partner_activity"].shift(1)
    gap = out.groupby("institution_id")["t"].diff() != 1
    out["partner_activity_lag1"] = prev.where(~gap)
    out = out.loc[keys.index]
    return out[["institution_id", "period", "partner_activity", "partner_activity_lag1"]]
