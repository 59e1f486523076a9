"""The demo build's results, pinned: a restructuring must not change a number.

``tests/data/snapshot_demo/`` holds every results file of the demo build (default options) as it
was before the architecture-v2 restructuring. Every results file the build writes today is compared
with it: same files, same columns, same rows in the same order, equal values (floats to a relative
1e-9, so that a newer BLAS cannot fail the test on the last bit).

Intended changes are listed in ``INTENDED``, each as narrowly as possible — a file, a column, the
rows it concerns (``where``: column → allowed values) and what may change: a renaming of values
(``rename``) or a numeric change bounded by ``bound``. Nothing else may differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SNAPSHOT = Path(__file__).resolve().parent / "data" / "snapshot_demo"


@dataclass(frozen=True)
class Intended:
    """A change made on purpose to ``file``.``column`` in the rows selected by ``where``."""

    file: str
    column: str
    why: str
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)
    bound: float | None = None

    def rows(self, before: pd.DataFrame) -> np.ndarray:
        mask = np.ones(len(before), dtype=bool)
        for col, values in self.where.items():
            mask &= before[col].astype(str).isin(values).to_numpy()
        return mask


#: draws and permutations of the demo build (``BuildOptions()``, the CLI's defaults)
DEMO_DRAWS = 999
#: one p-value convention for every resampling method, (1 + #{|t*| >= |t|}) / (B + 1): a
#: bootstrap p-value that was #{|t*| >= |t|} / B moves by |B - k| / (B (B + 1)) <= 1 / (B + 1)
P_CONVENTION_BOUND = 1 / (DEMO_DRAWS + 1) + 1e-12
_WHY_P = ("one p-value convention for every resampling method (analysis.inference.pvalue): the "
          "Callaway-Sant'Anna wild bootstrap's p-values are (1 + #{|t*| >= |t|}) / (B + 1), no "
          "longer #{|t*| >= |t|} / B; randomisation p-values already were")
_WHY_PRE_CI = ("one test inversion (analysis.inference.pvalue.invert_test): the wild-bootstrap "
               "interval of a pre-period event time inverts its test (ends at the order statistic "
               "of |t*| where p crosses alpha) instead of interpolating the 0.95 quantile of |t*|; "
               "each interval widens by less than one gap between adjacent order statistics")
_WHY_WCR_CI = ("one test inversion (analysis.inference.pvalue.invert_test) for the regression wild "
               "bootstrap too: the interval is {r : p(r) > alpha} (the test rejects when p <= "
               "alpha), found on a grid and by bisection to 1e-8 s.e., no longer {r : p(r) >= "
               "alpha} by step doubling and bisection to 1e-4 s.e.; each interval narrows by about "
               "one step of the p-value curve")
_WILD = {"inference": ("wild_bootstrap",)}
_WCR_MODELS = ("dose_response", "placebo_lead", "dose_response_county_quarter",
               "placebo_lead_county_quarter")
RESAMPLING_CONVENTION: list[Intended] = [
    Intended("reform_aggregate", "p_value", _WHY_P, where=_WILD, bound=P_CONVENTION_BOUND),
    Intended("reform_diagnostics", "p_value", _WHY_P + " (pre-trend sum_t2 included)",
             where={**_WILD, "diagnostic": ("pretrend", "triple_difference",
                                            "placebo_ineligible")},
             bound=P_CONVENTION_BOUND),
    Intended("effectiveness", "p_value", _WHY_P,
             where={**_WILD, "model": ("repairing_event_study",)}, bound=P_CONVENTION_BOUND),
    *(Intended("reform_aggregate", col, _WHY_PRE_CI,
               where={**_WILD, "aggregation": ("dynamic",),
                      "key": tuple(str(e) for e in range(-13, 0))})
      for col in ("ci_low", "ci_high")),
    *(Intended("effectiveness", col, _WHY_PRE_CI,
               where={**_WILD, "model": ("repairing_event_study",),
                      "term": tuple(f"e={e}" for e in range(-8, 0))})
      for col in ("ci_low", "ci_high")),
    *(Intended("reform_diagnostics", col, _WHY_WCR_CI,
               where={**_WILD, "diagnostic": ("twfe_static",)}) for col in ("ci_low", "ci_high")),
    *(Intended("effectiveness", col, _WHY_WCR_CI, where={**_WILD, "model": _WCR_MODELS})
      for col in ("ci_low", "ci_high")),
]

INTENDED: list[Intended] = [
    Intended("effectiveness", "inference",
             "one vocabulary: the analytic clustered rows carry the domain name 'analytic' "
             "(analysis.domain.INFERENCE_NAMES)",
             where={"inference": ("cluster",)}, rename={"cluster": "analytic"}),
    Intended("reform_diagnostics", "inference",
             "one vocabulary: the analytic clustered TWFE rows are named 'analytic', not 'cluster'",
             where={"inference": ("cluster",)}, rename={"cluster": "analytic"}),
    *RESAMPLING_CONVENTION,
]
#: rows that measure the machine, not the data (file → (column, value) of the rows to drop)
VOLATILE: dict[str, tuple[str, str]] = {"allocation_summary": ("metric", "solve_seconds")}


def _files() -> list[str]:
    return sorted(p.stem for p in SNAPSHOT.glob("*.parquet"))


def test_snapshot_has_every_results_file(demo_root: Path) -> None:
    built = sorted(p.stem for p in (demo_root / "data/processed/demo/results").glob("*.parquet"))
    assert set(_files()) <= set(built), f"results files gone: {set(_files()) - set(built)}"


def _compare(stem: str, col: str, a: pd.Series, b: pd.Series, rows: np.ndarray) -> None:
    """Assert ``a`` equals ``b`` on ``rows``."""
    a, b = a[rows], b[rows]
    if pd.api.types.is_float_dtype(b) or pd.api.types.is_float_dtype(a):
        av = pd.to_numeric(a, errors="coerce").to_numpy(dtype=float)
        bv = pd.to_numeric(b, errors="coerce").to_numpy(dtype=float)
        assert np.array_equal(np.isnan(av), np.isnan(bv)), f"{stem}.{col}: missing values differ"
        ok = np.isclose(av, bv, rtol=1e-9, atol=1e-12) | np.isnan(bv)
        assert ok.all(), (f"{stem}.{col}: {int((~ok).sum())} value(s) differ, first: "
                          f"{av[~ok][0]!r} vs {bv[~ok][0]!r}")
    else:
        sa = a.astype("object").where(a.notna(), None).tolist()
        sb = b.astype("object").where(b.notna(), None).tolist()
        diff = [i for i, (x, y) in enumerate(zip(sa, sb, strict=True)) if x != y]
        assert not diff, (f"{stem}.{col}: {len(diff)} value(s) differ, first: "
                          f"{sa[diff[0]]!r} vs {sb[diff[0]]!r}")


@pytest.mark.parametrize("stem", _files())
def test_results_equal_snapshot(demo_root: Path, stem: str) -> None:
    before = pd.read_parquet(SNAPSHOT / f"{stem}.parquet")
    after = pd.read_parquet(demo_root / "data/processed/demo/results" / f"{stem}.parquet")
    if stem in VOLATILE:
        col, value = VOLATILE[stem]
        before, after = before[before[col] != value], after[after[col] != value]
    before, after = before.reset_index(drop=True), after.reset_index(drop=True)
    assert len(after) == len(before), f"{stem}: {len(before)} rows before, {len(after)} now"
    missing = [c for c in before.columns if c not in after.columns]
    assert not missing, f"{stem}: columns gone {missing}"
    for col in before.columns:
        a, b = after[col], before[col]
        exact = np.ones(len(before), dtype=bool)
        for it in (i for i in INTENDED if (i.file, i.column) == (stem, col)):
            rows = it.rows(before)
            exact &= ~rows
            if it.rename:
                renamed = b[rows].astype(str).map(lambda v, r=it.rename: r.get(v, v))
                _compare(stem, col, a[rows].astype(str).reset_index(drop=True),
                         renamed.reset_index(drop=True), np.ones(int(rows.sum()), dtype=bool))
            if it.bound is not None:
                d = np.abs(pd.to_numeric(a[rows]).to_numpy(float)
                           - pd.to_numeric(b[rows]).to_numpy(float))
                d = d[~np.isnan(d)]
                assert (d <= it.bound).all(), (f"{stem}.{col}: an intended change exceeds its "
                                               f"bound {it.bound}: max {d.max()}")
        _compare(stem, col, a, b, exact)


def test_intended_changes_are_real() -> None:
    """Every listed change concerns rows that exist in the snapshot (no stale exemptions)."""
    for it in INTENDED:
        before = pd.read_parquet(SNAPSHOT / f"{it.file}.parquet")
        assert it.column in before.columns, it
        assert it.rows(before).any(), f"{it.file}.{it.column}: no row matches {it.where}"
