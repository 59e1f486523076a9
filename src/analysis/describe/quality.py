"""Data-quality flags per county: what a reader must know before trusting a county's figures.

The flags are those the reports' data-quality notes show — assessment coverage, institutions
never assessed, residents above beds, activities without a helper unit, problems still open at the
end of the data, institutions so small that their resident counts are hidden — plus the notes
recorded by the build. Counts only: no flag names an institution, and the small ones are counted,
never listed (the disclosure rule of :mod:`analysis.disclosure`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from ..domain import DISCLOSURE_THRESHOLD
from ..errors import SpecificationError
from ..results import ResultMixin
from ._common import county_codes, scope_frame

if TYPE_CHECKING:
    from ..data import Processed

#: manifest keys whose content the data-quality notes repeat
MANIFEST_NOTES = ("warnings", "notes", "extra_columns")


@dataclass(frozen=True)
class DataQuality(ResultMixin):
    """Per-county data-quality flags (main table) and the notes recorded at build."""

    threshold: int
    table: pd.DataFrame = field(repr=False)
    build_notes: pd.DataFrame = field(repr=False)

    display_columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "flags": ("level", "county_code", "institutions", "assessed", "missing_assessments",
                  "assessed_share", "never_assessed", "residents_over_beds",
                  "activities_without_unit", "problems_open", "tiny_homes"),
    }

    @property
    def title(self) -> str:
        return "Data-quality flags 数据质量"

    @property
    def _notes(self) -> tuple[str, ...]:
        return (f"tiny_homes: institutions whose latest assessed residents number 1 to "
                f"{self.threshold - 1} (their counts are hidden in reports); "
                "small_latest_quarter: the same among the institutions assessed in the county's "
                "latest assessed quarter. Flagged rows are kept, not deleted.",)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"flags": self.table, "build_notes": self.build_notes}

    def plot(self, *, ax: Any = None) -> Any:
        """Share of institution-quarters without an assessment per county (city line dashed)."""
        from ..plots import PALETTE, new_axes

        ax = new_axes(ax, figsize=(7.0, 4.0))
        d = self.table[self.table["level"] == "county"].iloc[::-1]
        y = np.arange(len(d))
        share = 1 - d["assessed_share"]
        ax.barh(y, share, color=PALETTE["county"])
        for yi, s, n in zip(y, share, d["missing_assessments"], strict=True):
            ax.text(s, yi, f" {int(n)}", va="center", fontsize=8)
        ax.set_yticks(y, list(d["county_code"]))
        city = self.table[self.table["level"] == "city"]
        if len(city):
            ax.axvline(1 - city["assessed_share"].iloc[0], color=PALETTE["city"], ls="--", lw=1,
                       label="city 全市")
            ax.legend(fontsize=8)
        ax.set_xlabel("share of institution-quarters not assessed 未评估比例")
        ax.set_title("Missing assessments by county 评估缺失")
        return ax


def _flags(processed: Processed, panel: pd.DataFrame, inst: pd.DataFrame,
           threshold: int, acts: pd.DataFrame | None = None,
           probs: pd.DataFrame | None = None) -> dict[str, Any]:
    """The flags of one scope; ``acts`` / ``probs``: its activities and problems when already
    selected (else selected here from the whole tables)."""
    t = processed.tables
    ids = set(inst["institution_id"])
    assessed = panel["assessed"].astype(bool)
    ever = panel.loc[assessed, "institution_id"].nunique()
    if acts is None:
        acts = t["activities"]
        acts = acts[acts["institution_id"].isin(ids)]
    if probs is None:
        probs = t["problems"]
        probs = probs[probs["institution_id"].isin(ids)]
    rec: dict[str, Any] = {
        "institutions": len(ids),
        "institution_quarters": len(panel),
        "assessed": int(assessed.sum()),
        "missing_assessments": int((~assessed).sum()),
        "assessed_share": float(assessed.mean()) if len(panel) else 0.0,
        "never_assessed": len(ids) - ever,
        "residents_over_beds": int((panel["residents"] > panel["beds"]).sum()),
        "activities_without_unit": int(acts["unit_id"].isna().sum()),
        "problems_open": int(probs["resolved_date"].isna().sum()),
    }
    last = panel[assessed]
    small = 0
    tiny = 0
    if len(last):
        lr = last[last["t"] == last["t"].max()]
        small = int(((lr["residents"] >= 1) & (lr["residents"] < threshold)).sum())
        own = last.sort_values("t", kind="stable").groupby("institution_id").tail(1)["residents"]
        tiny = int(((own >= 1) & (own < threshold)).sum())
    rec["small_latest_quarter"] = small
    rec["tiny_homes"] = tiny
    return rec


def _build_notes(manifest: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for key in MANIFEST_NOTES:
        val = manifest.get(key)
        if val:
            text = ("; ".join(map(str, val)) if isinstance(val, list | tuple)
                    else json.dumps(val, ensure_ascii=False, default=str))
            rows.append({"key": key, "text": text})
    return pd.DataFrame(rows, columns=["key", "text"])


def data_quality(processed: Processed, *, threshold: int = DISCLOSURE_THRESHOLD) -> DataQuality:
    """Data-quality flags for every county and the city.

    Parameters
    ----------
    processed : the processed dataset (:func:`analysis.data.load_processed`).
    threshold : the disclosure threshold: institutions with 1 to ``threshold − 1`` residents are
        counted as tiny homes (default :data:`analysis.domain.DISCLOSURE_THRESHOLD`).

    Returns
    -------
    DataQuality
        ``tables()["flags"]``: one row per county and one for the city: ``institutions``,
        ``institution_quarters`` (panel rows), ``assessed``, ``missing_assessments``,
        ``assessed_share``, ``never_assessed`` (institutions without any assessment),
        ``residents_over_beds`` (institution-quarters), ``activities_without_unit`` (county and
        township teams), ``problems_open`` (not resolved by the end of the data),
        ``small_latest_quarter`` (institutions assessed in the latest assessed quarter with 1 to
        ``threshold − 1`` residents), ``tiny_homes`` (institutions whose own latest assessment
        counts 1 to ``threshold − 1`` residents) and ``threshold``. ``tables()["build_notes"]``:
        the build's warnings and notes (``key``, ``text``).
    """
    if not isinstance(threshold, int | np.integer) or isinstance(threshold, bool) or threshold < 1:
        raise SpecificationError(f"threshold={threshold!r} must be a whole number of people, at "
                                 "least 1.")
    threshold = int(threshold)
    inst = processed.tables["institutions"]
    panel = processed.panel
    # one split by county (a comparison per county would scan every row once per county)
    by_panel = dict(tuple(panel.groupby("county_code", sort=False)))
    by_inst = dict(tuple(inst.groupby("county_code", sort=False)))
    county_of = inst.set_index("institution_id")["county_code"]
    acts, probs = processed.tables["activities"], processed.tables["problems"]
    by_acts = dict(tuple(acts.groupby(acts["institution_id"].map(county_of), sort=False)))
    by_probs = dict(tuple(probs.groupby(probs["institution_id"].map(county_of), sort=False)))
    county = [{"county_code": code,
               **_flags(processed, by_panel.get(code, panel.iloc[0:0]),
                        by_inst.get(code, inst.iloc[0:0]), threshold,
                        acts=by_acts.get(code, acts.iloc[0:0]),
                        probs=by_probs.get(code, probs.iloc[0:0]))}
              for code in county_codes(processed)]
    city = [_flags(processed, panel, inst, threshold)]
    table = scope_frame(pd.DataFrame(county), pd.DataFrame(city))
    table["threshold"] = threshold
    return DataQuality(threshold=threshold, table=table,
                       build_notes=_build_notes(processed.manifest))


__all__ = ["MANIFEST_NOTES", "DataQuality", "data_quality"]
