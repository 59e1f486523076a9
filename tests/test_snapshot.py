"""The demo build's results, pinned: a restructuring must not change a number.

``tests/data/snapshot_demo/`` holds every results file of the demo build (default options) as it
was before the architecture-v2 restructuring. Every results file the build writes today is compared
with it: same files, same columns, same rows in the same order, equal values (floats to a relative
1e-9, so that a newer BLAS cannot fail the test on the last bit).

Intended changes are listed in ``INTENDED``, each as narrowly as possible — a file, a column, the
rows it concerns (``where``: column → allowed values) and what may change: a renaming of values
(``rename``), a numeric change bounded by ``bound``, or a change that must satisfy a stated
``relation`` between the rows before and after (e.g. analytic half-widths scale by t/z exactly).
Rows a change adds are listed in ``ADDED`` (file and the values that select them); they are set
aside before the comparison and must exist. Nothing else may differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

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
    #: (before rows, after rows) → booleans: the relation each changed row must satisfy
    relation: Callable[[pd.DataFrame, pd.DataFrame], np.ndarray] | None = None

    def rows(self, before: pd.DataFrame) -> np.ndarray:
        mask = np.ones(len(before), dtype=bool)
        for col, values in self.where.items():
            mask &= before[col].astype(str).isin(values).to_numpy()
        return mask


_WHY_REML = ("the unit mixed model from sparse cross products: its REML optimum is now found "
             "exactly on the likelihood's slope instead of to the bounded scalar optimiser's "
             "tolerance, which moves the shrunken estimates by at most 1e-7")
_WHY_TIES = ("units whose estimates are exactly equal share a rank (method 'min' on values "
             "no longer split by rounding noise)")
#: the unit mixed model's changes of issue 15 (effectiveness/units.py)
ISSUE_15_UNITS: list[Intended] = [
    *(Intended("unit_contributions", c, _WHY_REML, bound=1e-6)
      for c in ("shrunken", "shrunken_se", "ci_low", "ci_high")),
    *(Intended("unit_contributions", c, _WHY_TIES,
               relation=lambda b, a, c=c: (a[c] - b[c]).abs().to_numpy() <= 1)
      for c in ("naive_rank", "shrunken_rank")),
]

#: draws and permutations of the demo build (``BuildOptions()``, the CLI's defaults)
DEMO_DRAWS = 999
_WHY_WCR_CI = ("one test inversion (analysis.inference.pvalue.invert_test) for the regression wild "
               "bootstrap too: the interval is {r : p(r) > alpha} (the test rejects when p <= "
               "alpha), found on a grid and by bisection to 1e-8 s.e., no longer {r : p(r) >= "
               "alpha} by step doubling and bisection to 1e-4 s.e.; each interval narrows by about "
               "one step of the p-value curve")
_WILD = {"inference": ("wild_bootstrap",)}
_WCR_MODELS = ("dose_response", "placebo_lead", "dose_response_county_quarter",
               "placebo_lead_county_quarter")
#: the one p-value convention and test inversion of the architecture restructuring, for the
#: regression wild bootstrap (the Callaway-Sant'Anna wild bootstrap's p-values and pre-period
#: intervals it also moved are changed again, and more, by issue 11's restricted model: ISSUE_11)
RESAMPLING_CONVENTION: list[Intended] = [
    *(Intended("reform_diagnostics", col, _WHY_WCR_CI,
               where={**_WILD, "diagnostic": ("twfe_static",)}) for col in ("ci_low", "ci_high")),
    *(Intended("effectiveness", col, _WHY_WCR_CI, where={**_WILD, "model": _WCR_MODELS})
      for col in ("ci_low", "ci_high")),
]

# ---- issue 11: inference that holds when counties differ -------------------------------------
_Z = stats.norm.ppf(0.975)


def _t(frame: pd.DataFrame) -> np.ndarray:
    """``t_{G−1, 0.975}`` of each row (``G`` = its ``n_clusters``)."""
    return stats.t.ppf(0.975, frame["n_clusters"].to_numpy(float) - 1)


def _same_or_both_missing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.isclose(a, b, rtol=1e-9, atol=1e-12) | (np.isnan(a) & np.isnan(b))


def _estimate(frame: pd.DataFrame) -> np.ndarray:
    return frame["att" if "att" in frame.columns else "estimate"].to_numpy(float)


def _half_widths_scale_by_t_over_z(end: str) -> Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]:
    """The analytic interval end ``end`` moved from ``att ± z·se`` to ``att ± t_{G−1}·se``: its
    distance to the estimate scales by ``t_{G−1}/z`` exactly."""

    def check(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
        half_b = before[end].to_numpy(float) - _estimate(before)
        half_a = after[end].to_numpy(float) - _estimate(after)
        return _same_or_both_missing(half_a, half_b * _t(before) / _Z)

    return check


def _t_pvalues(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """p-values moved from ``2Φ(−|t|)`` to ``2·P(T_{G−1} > |t|)`` of the same ``t = est/se``."""
    t = np.abs(_estimate(before) / before["std_error"].to_numpy(float))
    was = _same_or_both_missing(before["p_value"].to_numpy(float), 2 * stats.norm.sf(t))
    now = _same_or_both_missing(after["p_value"].to_numpy(float),
                                2 * stats.t.sf(t, before["n_clusters"].to_numpy(float) - 1))
    return was & now


def _resampling_pvalue(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """A resampling p-value of the package's convention: in ``[1/(B+1), 1]``."""
    p = after["p_value"].to_numpy(float)
    return np.isnan(p) | ((p >= 1 / (DEMO_DRAWS + 1) - 1e-12) & (p <= 1))


def _interval_around_estimate(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """A test-inversion interval contains the estimate (or does not exist, as before)."""
    lo, hi = after["ci_low"].to_numpy(float), after["ci_high"].to_numpy(float)
    est = _estimate(after)
    missing = np.isnan(lo) & np.isnan(before["ci_low"].to_numpy(float))
    return missing | ((lo <= est + 1e-12) & (est - 1e-12 <= hi))


def _nonnegative(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """A sum or mean of squares."""
    return after["estimate"].to_numpy(float) >= 0


def _positive_or_missing(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """A standard error: positive, or missing where it was."""
    se = after["std_error"].to_numpy(float)
    return (se > 0) | (np.isnan(se) & before["std_error"].isna().to_numpy())


_WHY_T = ("analytic clustered intervals and p-values use t(G - 1) critical values (G = 11 "
          "counties: t_10 = 2.228 instead of z = 1.960); the estimate and its standard error are "
          "unchanged")
_WHY_WCB = ("the Callaway-Sant'Anna wild bootstrap-t is studentised by the delete-one-county "
            "jackknife (CV3, MacKinnon, Nielsen & Webb 2023; CV1 where an estimate does not exist "
            "without some county), the default chosen by validation/wild_choice.py; its "
            "std_error is the standard error it studentises by, and p-values, intervals and the "
            "pre-trend sum_t2 move with it")
_WHY_RI = ("randomisation inference uses the studentised statistic (the cluster-robust t, "
           "MacKinnon & Webb 2020) by default, was |estimate|; the pre-trend row is the mean of "
           "squared pre-period t statistics (mean_t2), was the mean of squared ATTs (mean_sq)")
_AN = {"inference": ("analytic",)}
_RI = {"inference": ("randomization",)}
_CS_DIAG = ("triple_difference", "placebo_ineligible")
#: the triple difference's analytic rows changed again with its weighting (ISSUE_12_SECONDARY)
_CS_DIAG_AN = ("placebo_ineligible",)
ISSUE_11: list[Intended] = [
    # t(G - 1): ATT(g,t) rows, aggregate and diagnostic analytic rows, the re-pairing event study
    *(Intended(f, end, _WHY_T, where=w, relation=_half_widths_scale_by_t_over_z(end))
      for f, w in (("reform_attgt", {}), ("reform_aggregate", _AN),
                   ("reform_diagnostics", {**_AN, "diagnostic": _CS_DIAG_AN}),
                   ("effectiveness", {"inference": ("cluster",),
                                      "model": ("repairing_event_study",)}))
      for end in ("ci_low", "ci_high")),
    *(Intended(f, "p_value", _WHY_T, where=w, relation=_t_pvalues)
      for f, w in (("reform_attgt", {}), ("reform_aggregate", _AN),
                   ("reform_diagnostics", {**_AN, "diagnostic": _CS_DIAG_AN}),
                   ("effectiveness", {"inference": ("cluster",),
                                      "model": ("repairing_event_study",)}))),
    # the wild bootstrap's restricted model: CS aggregates, their diagnostics, the pre-trend test
    # and the re-pairing event study (which uses the same bootstrap)
    *(Intended(f, "p_value", _WHY_WCB, where=w, relation=_resampling_pvalue)
      for f, w in (("reform_aggregate", _WILD),
                   ("reform_diagnostics", {**_WILD, "diagnostic": (*_CS_DIAG, "pretrend")}),
                   ("effectiveness", {**_WILD, "model": ("repairing_event_study",)}))),
    *(Intended(f, end, _WHY_WCB, where=w, relation=_interval_around_estimate)
      for f, w in (("reform_aggregate", _WILD),
                   ("reform_diagnostics", {**_WILD, "diagnostic": _CS_DIAG}),
                   ("effectiveness", {**_WILD, "model": ("repairing_event_study",)}))
      for end in ("ci_low", "ci_high")),
    # studentised randomisation inference
    *(Intended(f, "p_value", _WHY_RI, where=w, relation=_resampling_pvalue)
      for f, w in (("reform_aggregate", _RI),
                   ("reform_diagnostics", {**_RI, "diagnostic": (*_CS_DIAG, "pretrend")}))),
    *(Intended(f, end, _WHY_RI, where=w, relation=_interval_around_estimate)
      for f, w in (("reform_aggregate", _RI),
                   ("reform_diagnostics", {**_RI, "diagnostic": _CS_DIAG}))
      for end in ("ci_low", "ci_high")),
    *(Intended(f, "std_error", _WHY_WCB, where=w, relation=_positive_or_missing)
      for f, w in (("reform_aggregate", _WILD),
                   ("reform_diagnostics", {**_WILD, "diagnostic": _CS_DIAG}),
                   ("effectiveness", {**_WILD, "model": ("repairing_event_study",)}))),
    Intended("reform_diagnostics", "estimate", _WHY_WCB,
             where={**_WILD, "diagnostic": ("pretrend",)}, relation=_nonnegative),
    Intended("reform_diagnostics", "term", _WHY_RI,
             where={**_RI, "diagnostic": ("pretrend",)}, rename={"mean_sq": "mean_t2"}),
    Intended("reform_diagnostics", "estimate", _WHY_RI,
             where={**_RI, "diagnostic": ("pretrend",)}, relation=_nonnegative),
]


# ---- issue 12: a planted resolution effect; the response's words -----------------------------
_WHY_RES = ("the demo world plants a resolution-time effect (problems found while a health-sector "
            "department was paired resolve with hazard ratio 1.5, TRUTH.json 'resolution'): "
            "those problems' times shrink, nothing else in the world changes")


def _no_later(col: str) -> Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]:
    """Times can only shrink: the value is at most what it was (or missing as before)."""

    def check(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
        a, b = after[col].to_numpy(float), before[col].to_numpy(float)
        return (a <= b + 1e-9) | (np.isnan(a) & np.isnan(b)) | np.isnan(b)

    return check


def _more_resolved(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """More problems resolved, fewer open, the same problems."""
    return ((after["resolved"].to_numpy() >= before["resolved"].to_numpy())
            & (after["resolved"].to_numpy() + after["open"].to_numpy()
               == before["resolved"].to_numpy() + before["open"].to_numpy()))


def _fewer_open(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    return ((after["open"].to_numpy() <= before["open"].to_numpy())
            & (after["resolved"].to_numpy() + after["open"].to_numpy()
               == before["resolved"].to_numpy() + before["open"].to_numpy()))


def _health_faster(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """The planted covariate's hazard ratio moves to cover 1.5; every other one stays within
    0.1 of what it was."""
    hr_a, hr_b = after["hazard_ratio"].to_numpy(float), before["hazard_ratio"].to_numpy(float)
    health = after["covariate"].astype(str).eq("sector_health").to_numpy()
    planted = (after["ci_low"].to_numpy(float) <= 1.5) & (1.5 <= after["ci_high"].to_numpy(float))
    return np.where(health, planted, np.abs(hr_a - hr_b) <= 0.1)


def _says_both_clusterings(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """The response's description names the county interval and the institution-clustered s.e.,
    and keeps the coefficient it quoted."""
    text = after["value"].astype(str)
    return (text.str.contains("clustered by county", regex=False)
            & text.str.contains("clustered by institution", regex=False)).to_numpy()


ISSUE_12: list[Intended] = [
    *(Intended("survival", col, _WHY_RES, relation=_no_later(col))
      for col in ("median_days", "ci_low", "ci_high")),
    Intended("survival", "resolved", _WHY_RES, relation=_more_resolved),
    Intended("survival", "open", _WHY_RES, relation=_fewer_open),
    *(Intended("survival_cox", col, _WHY_RES, relation=_health_faster)
      for col in ("hazard_ratio", "ci_low", "ci_high", "p_value")),
    Intended("allocation_summary", "value",
             "the response's description quotes the headline county wild-bootstrap interval with "
             "the institution-clustered s.e. beside it (it said 'cluster s.e.' of the institution "
             "clustering) and what the coefficient means (issue 12)",
             where={"metric": ("response_description", "notes")},
             relation=_says_both_clusterings),
]


# ---- issue 12, items 4-5: secondary designs made honest --------------------------------------
def _interval_and_pvalue(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """A Cox row: its interval contains its hazard ratio and its p-value is a probability."""
    hr, p = after["hazard_ratio"].to_numpy(float), after["p_value"].to_numpy(float)
    return ((after["ci_low"].to_numpy(float) <= hr) & (hr <= after["ci_high"].to_numpy(float))
            & (p >= 0) & (p <= 1))


def _hazard_ratio_near(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """Stratifying by home size moves no hazard ratio by more than a factor of 1.6."""
    return np.abs(np.log(after["hazard_ratio"].to_numpy(float)
                         / before["hazard_ratio"].to_numpy(float))) <= np.log(1.6)


def _probability(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    p = after["p_value"].to_numpy(float)
    return np.isnan(p) | ((p >= 0) & (p <= 1))


_WHY_COX = ("the Cox model clusters its errors by institution (Lin & Wei sandwich, lifelines "
            "cluster_col) and is stratified by home-size band (quartiles of beds), so sector is "
            "compared within homes of similar size (issue 12, item 5)")
_WHY_DDD = ("the triple difference weights counties by their eligible institutions, the main "
            "estimate's estimand (was: counties equally), on an outer merge (issue 12, item 5)")
_DDD = {"diagnostic": ("triple_difference",)}
ISSUE_12_SECONDARY: list[Intended] = [
    Intended("survival_cox", "se_type", _WHY_COX, rename={"model": "robust_institution"}),
    Intended("survival_cox", "hazard_ratio", _WHY_COX, relation=_hazard_ratio_near),
    *(Intended("survival_cox", col, _WHY_COX, relation=_interval_and_pvalue)
      for col in ("ci_low", "ci_high", "p_value")),
    Intended("reform_diagnostics", "estimate", _WHY_DDD, where=_DDD, bound=0.5),
    Intended("reform_diagnostics", "std_error", _WHY_DDD, where=_DDD,
             relation=_positive_or_missing),
    Intended("reform_diagnostics", "p_value", _WHY_DDD, where=_DDD, relation=_probability),
    *(Intended("reform_diagnostics", end, _WHY_DDD, where=_DDD,
               relation=_interval_around_estimate) for end in ("ci_low", "ci_high")),
]


@dataclass(frozen=True)
class Added:
    """Rows a change adds to ``file``: those whose ``where`` columns take the listed values."""

    file: str
    where: dict[str, tuple[str, ...]]
    why: str

    def rows(self, after: pd.DataFrame) -> np.ndarray:
        mask = np.ones(len(after), dtype=bool)
        for col, values in self.where.items():
            mask &= after[col].astype(str).isin(values).to_numpy()
        return mask


ADDED: list[Added] = [
    Added("reform_aggregate", {"aggregation": ("dynamic_balanced",)},
          "the headline dynamic summary on a balanced event window in which every event time has "
          "at least three comparison counties (issue 11)"),
    Added("reform_diagnostics", {"diagnostic": ("randomization_balance",)},
          "pre-period balance of the permuted assignments of randomisation inference (issue 11)"),
    Added("reform_diagnostics", {"diagnostic": ("triple_difference_coverage",)},
          "the county-quarters of the triple difference and what an inner merge would drop "
          "(issue 12, item 5)"),
    Added("reform_diagnostics", {"diagnostic": ("bacon",),
                                 "term": ("twfe_institution_not_decomposed",)},
          "the reported institution-level TWFE beside the Bacon decomposition of the balanced "
          "county-mean TWFE, labelled as not decomposed (issue 12, item 5)"),
    Added("effectiveness", {"model": ("dose_response_iv",)},
          "the instrumented dose-response (partner units' leave-one-out activity as instrument), "
          "clustered by county and by institution, with its first-stage F (issue 12)"),
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
    *ISSUE_11,
    *ISSUE_12_SECONDARY,
    *ISSUE_12,
    *ISSUE_15_UNITS,
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
    for added in (a for a in ADDED if a.file == stem):
        new = added.rows(after)
        assert new.any(), f"{stem}: the added rows {added.where} are missing"
        after = after[~new]
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
            if it.relation is not None:
                ok = it.relation(before[rows].reset_index(drop=True),
                                 after[rows].reset_index(drop=True))
                assert ok.all(), (f"{stem}.{col}: {int((~ok).sum())} changed row(s) break the "
                                  f"stated relation ({it.why})")
        _compare(stem, col, a, b, exact)


def test_intended_changes_are_real() -> None:
    """Every listed change concerns rows that exist in the snapshot (no stale exemptions)."""
    for it in INTENDED:
        before = pd.read_parquet(SNAPSHOT / f"{it.file}.parquet")
        assert it.column in before.columns, it
        assert it.rows(before).any(), f"{it.file}.{it.column}: no row matches {it.where}"
