"""Small helpers shared by the descriptive results: county codes, quarters, the baseline year.

Nothing here computes a figure a result reports; each helper only says *which* counties, quarters
or baseline year a figure is computed over, so that every result agrees on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import pandas as pd

from .. import indicators
from ..domain import date_to_t, period_to_t, t_to_period

if TYPE_CHECKING:
    from ..data import Processed

#: the two levels a county-or-city table carries (``county_code`` is missing on ``city`` rows)
Scope = Literal["county", "city"]


def county_codes(processed: Processed) -> list[str]:
    """County codes of the dataset, in code order."""
    return sorted(processed.tables["counties"]["county_code"].astype(str).tolist())


def institution_county(processed: Processed) -> pd.Series:
    """``institution_id`` → ``county_code`` (both text)."""
    inst = processed.tables["institutions"]
    return pd.Series(inst["county_code"].astype(str).to_numpy(),
                     index=inst["institution_id"].astype(str).to_numpy())


def quarter_index(values: pd.Series) -> pd.Series:
    """Quarter index ``t`` (float, NaN where missing) of dates or of ``2021Q1`` period strings."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return date_to_t(values)
    return values.map(lambda p: float(period_to_t(p)) if isinstance(p, str) and p else float("nan"))


def periods(first_t: float, last_t: float) -> list[str]:
    """Every quarter from ``first_t`` to ``last_t`` (inclusive), spelled ``2021Q1``."""
    return [t_to_period(t) for t in range(int(first_t), int(last_t) + 1)]


def baseline_year(processed: Processed) -> int:
    """The baseline year of the composite index, as ``indicators.parquet`` has it.

    Read from :func:`analysis.indicators.build_results` (the year before the first pairing, or the
    first assessed year when the data have none before it), so that every composite value here is
    standardised on the same year as the indicators every report shows.
    """
    return int(indicator_table(processed)["baseline_year"].iloc[0])


def indicator_table(processed: Processed) -> pd.DataFrame:
    """``indicators.parquet`` as the indicators step computes it (institution, county, city rows;
    county and city once per weighting)."""
    return indicators.build_results(processed)["indicators"]


def scope_frame(county: pd.DataFrame, city: pd.DataFrame) -> pd.DataFrame:
    """County rows (with ``county_code``) followed by city rows (``county_code`` missing), with a
    ``level`` column first."""
    county = county.assign(level="county")
    city = city.assign(level="city", county_code=pd.NA)
    out = pd.concat([county, city], ignore_index=True)
    out["county_code"] = out["county_code"].astype("string")
    first = ["level", "county_code"]
    return out[first + [c for c in out.columns if c not in first]]
