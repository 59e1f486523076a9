"""Shared preparation of the effectiveness analyses: intensities, outcome columns, input checks.

Every analysis of :mod:`analysis.effectiveness` starts from the institution-quarter panel
(``load_processed(...).panel``) and adds, when missing,

* ``composite`` — the composite index of :func:`analysis.indicators.composite_index` (the
  outcomes, their directions and labels are those of :mod:`analysis.domain`);
* ``repaired`` — 1 from the quarter of the institution's first *adjusted* pairing (``repair_t``)
  on, else 0: the re-pairing control of the dose-response and mixed models;
* ``reform_treated`` as a float (the county-management reform control).

No estimator lives here, so no paper is cited.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from ..domain import COMPOSITE, DIRECTION, OutcomeOrComposite, outcome_label
from ..errors import SpecificationError, check_option
from ..indicators import composite_index

__all__ = ["DEFAULT_CONTROLS", "INTENSITIES", "Intensity", "axis_label", "tables_of",
           "with_outcome"]

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
