"""What is in the data: rows per table and county, the quarters each table covers, assessment
missingness by county × quarter, and the institutions by kind, operator and area.

Plain counts (pandas ``groupby``); nothing is estimated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..domain import is_eligible, t_to_period
from ..results import ResultMixin
from ._common import county_codes, institution_county, quarter_index, scope_frame

if TYPE_CHECKING:
    from ..data import Processed

#: the date (or period) column that places a row of each table in time (``None``: no date)
TABLE_TIME: dict[str, str | None] = {
    "counties": None,
    "institutions": None,
    "units": "joined_date",
    "pairings": "start_date",
    "activities": "date",
    "problems": "found_date",
    "assessments": "period",
}
#: tables counted per county in the main table (units belong to no county: city row only)
COUNTED = ("institutions", "pairings", "activities", "problems", "assessments", "units")


@dataclass(frozen=True)
class Coverage(ResultMixin):
    """Rows per table and county (main table), the quarters each table covers, assessment
    missingness by county × quarter, and institutions by kind, operator and area."""

    dataset: str
    rows: pd.DataFrame = field(repr=False)
    periods: pd.DataFrame = field(repr=False)
    missingness: pd.DataFrame = field(repr=False)
    institutions: pd.DataFrame = field(repr=False)

    @property
    def title(self) -> str:
        return f"What is in the data 数据概况 ({self.dataset})"

    @property
    def _notes(self) -> tuple[str, ...]:
        city = self.rows[self.rows["level"] == "city"].iloc[0]
        return (f"{int(city['missing_assessments'])} of {int(city['institution_quarters'])} "
                f"institution-quarters have no assessment ({city['missing_share']:.1%}); the panel "
                "runs from the first to the last assessed quarter. 'missingness' counts the "
                "institutions without an assessment per county and quarter.",)

    def tables(self) -> dict[str, pd.DataFrame]:
        wide = self.missingness.pivot(index="county_code", columns="period", values="missing")
        wide = wide.sort_index().reindex(columns=sorted(wide.columns)).reset_index()
        wide.columns.name = None
        return {"rows": self.rows, "periods": self.periods, "missingness": wide,
                "institutions": self.institutions}

    def plot(self, *, ax: Any = None) -> Any:
        """Share of institutions without an assessment, county (rows) × quarter (columns)."""
        from ..plots import new_axes

        ax = new_axes(ax, figsize=(9.0, 3.8))
        wide = self.missingness.pivot(index="county_code", columns="period", values="missing_share")
        wide = wide.sort_index().reindex(columns=sorted(wide.columns))
        im = ax.imshow(wide.to_numpy(dtype=float), aspect="auto", cmap="Reds", vmin=0, vmax=1,
                       interpolation="nearest")
        step = max(1, wide.shape[1] // 8)
        ax.set_xticks(range(0, wide.shape[1], step), list(wide.columns[::step]), rotation=45)
        ax.set_yticks(range(wide.shape[0]), list(wide.index))
        ax.grid(False)
        ax.figure.colorbar(im, ax=ax, label="share not assessed 未评估比例")
        ax.set_title("Missing assessments by county and quarter 评估缺失")
        return ax


def _periods(processed: Processed) -> pd.DataFrame:
    rows = []
    for name, column in TABLE_TIME.items():
        df = processed.tables[name]
        t = quarter_index(df[column]).dropna() if column is not None else pd.Series(dtype=float)
        rows.append({"table": name, "rows": len(df), "time_column": column or "",
                     "first_period": t_to_period(t.min()) if len(t) else "",
                     "last_period": t_to_period(t.max()) if len(t) else ""})
    return pd.DataFrame(rows)


def _missingness(processed: Processed) -> pd.DataFrame:
    p = processed.panel
    g = p.groupby(["county_code", "period"], sort=True)
    out = g.agg(institution_quarters=("institution_id", "size"),
                assessed=("assessed", "sum")).reset_index()
    out["county_code"] = out["county_code"].astype(str)
    out["assessed"] = out["assessed"].astype("int64")
    out["missing"] = out["institution_quarters"] - out["assessed"]
    out["missing_share"] = out["missing"] / out["institution_quarters"]
    return out


def _rows(processed: Processed, missingness: pd.DataFrame) -> pd.DataFrame:
    tables = processed.tables
    by_inst = institution_county(processed)
    county = pd.DataFrame(index=pd.Index(county_codes(processed), name="county_code"))
    city: dict[str, float] = {}
    for name in COUNTED:
        df = tables[name]
        city[name] = len(df)
        if "county_code" in df.columns:
            code = df["county_code"].astype(str)
        elif "institution_id" in df.columns:
            code = df["institution_id"].astype(str).map(by_inst)
        else:  # units belong to no county
            continue
        county[name] = code.value_counts().reindex(county.index, fill_value=0)
    m = missingness.groupby("county_code")[["institution_quarters", "missing"]].sum()
    county[["institution_quarters", "missing_assessments"]] = m.reindex(county.index).fillna(0)
    city["institution_quarters"] = float(missingness["institution_quarters"].sum())
    city["missing_assessments"] = float(missingness["missing"].sum())
    out = scope_frame(county.reset_index(), pd.DataFrame([city]))
    for c in ("institutions", "pairings", "activities", "problems", "assessments",
              "institution_quarters", "missing_assessments"):
        out[c] = out[c].astype("int64")
    out["units"] = out["units"].astype("Int64")
    out["missing_share"] = out["missing_assessments"] / out["institution_quarters"].where(
        out["institution_quarters"] > 0)
    return out[["level", "county_code", *COUNTED, "institution_quarters", "missing_assessments",
                "missing_share"]]


def _institutions(processed: Processed) -> pd.DataFrame:
    inst = processed.tables["institutions"].copy()
    inst["eligible"] = is_eligible(inst)
    keys = ["county_code", "kind", "operator", "area", "eligible"]
    out = inst.groupby(keys, sort=True, dropna=False).agg(
        institutions=("institution_id", "size"), beds=("beds", "sum")).reset_index()
    out["county_code"] = out["county_code"].astype(str)
    out["beds"] = out["beds"].astype("int64")
    return out


def coverage(processed: Processed) -> Coverage:
    """What is in the data.

    Parameters
    ----------
    processed : the processed dataset (:func:`analysis.data.load_processed`).

    Returns
    -------
    Coverage
        ``tables()``: ``rows`` (one row per county and one for the city: rows of each table
        belonging to the county — pairings, activities, problems and assessments through their
        institution; ``units`` on the city row only — and the panel's institution-quarters,
        missing assessments and their share), ``periods`` (per table: rows, the column that dates
        them, first and last quarter), ``missingness`` (institutions without an assessment,
        county × quarter; the long table with shares is the ``missingness`` attribute) and
        ``institutions`` (county × kind × operator × area × reform-eligible: institutions, beds).
    """
    missingness = _missingness(processed)
    return Coverage(dataset=processed.dataset, rows=_rows(processed, missingness),
                    periods=_periods(processed), missingness=missingness,
                    institutions=_institutions(processed))


__all__ = ["COUNTED", "TABLE_TIME", "Coverage", "coverage"]
