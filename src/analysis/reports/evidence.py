"""How strong is the evidence behind a number: the fixed ladder the report's key findings use.

Every finding that rests on an estimate says how much the estimate can carry, on one of four rungs
(in the spirit of the calibrated uncertainty language of the IPCC: Mastrandrea et al. 2010):

==================  ============  ===============================================================
rung                Chinese       meaning
==================  ============  ===============================================================
``strong``          有较强证据      the default few-cluster interval excludes zero, p < 0.01, and no
                                  check below weakens it
``some``            有一定证据      the interval excludes zero and p < 0.05, or a stronger result
                                  weakened by one of the checks below
``insufficient``    证据不足        the interval includes zero or p ≥ 0.05, or the design's own check
                                  (pre-trends) fails
``undetermined``    无法判断        no estimate, or the design is not credible (a dose-response whose
                                  lead placebo fails)
==================  ============  ===============================================================

The rules are a pure function, :func:`grade`, of the numbers a results file holds; the readers
:func:`reform_evidence` and :func:`dose_evidence` pick those numbers from ``reform_aggregate`` /
``reform_sensitivity`` / ``reform_pretrends`` and ``effectiveness``. The table of rules (thresholds
:data:`STRONG_P`, :data:`SOME_P`, :data:`ROBUST_M`, :data:`MIN_TREATED`, :data:`PLACEBO_P`) is
documented in ``docs/report_sections.md`` § Key findings.

* **p-value**: the multiplicity-adjusted p-value (``p_adjusted``, across the four targets) when the
  results carry one, else the p-value of the default few-cluster method: the wild cluster bootstrap
  (the Monte Carlo of ``docs/methods_reform.md`` keeps its size within 3.5–6.5%), else
  randomisation inference. An analytic (cluster-robust) row alone reaches at most ``some``: with
  eleven counties it rejects true nulls 8–11% of the time. From
  :data:`analysis.inference.policy.ANALYTIC_FROM_CLUSTERS` counties on the build runs analytic
  inference only (``validation/cluster_count_results.md`` measured its size there), so an analytic
  row clustered by that many counties — resting, for a reform estimate, on at least
  :data:`analysis.inference.policy.ANALYTIC_MIN_TREATED` treated counties — is the default method
  and is not capped.
* **What the number rests on** (reform): fewer than three comparison counties behind any cell with
  weight (``comparison_warning``), or fewer than :data:`MIN_TREATED` treated counties (the wild
  bootstrap is unreliable with one treated cluster: MacKinnon & Webb 2018), caps at ``some``; so
  does randomisation inference disagreeing (p ≥ 0.05).
* **Parallel trends** (reform): ``strong`` needs the Rambachan & Roth (2023) breakdown value of the
  relative-magnitudes restriction to be at least :data:`ROBUST_M` (the conclusion survives
  post-adoption violations as large as the largest seen before adoption); a smaller value, or no
  sensitivity analysis, caps at ``some``. The slope test of the leads rejecting at 5% caps at
  ``insufficient``.
* **Association, not cause** (dose-response): the dose-response is an association conditional on
  institution and quarter fixed effects; its lead placebo (next quarter's help) failing
  (p < :data:`PLACEBO_P` by the default method) makes the finding ``undetermined`` (not
  credible); without a placebo it reaches at most ``some``. The wording of such findings never
  says "caused".

References
----------
Mastrandrea, M. D. et al. (2010). Guidance note for lead authors of the IPCC Fifth Assessment
    Report on consistent treatment of uncertainties. IPCC.
MacKinnon, J. G., & Webb, M. D. (2018). The wild bootstrap for few (treated) clusters.
    *Econometrics Journal* 21(2), 114–135.
Rambachan, A., & Roth, J. (2023). A more credible approach to parallel trends. *Review of Economic
    Studies* 90(5), 2555–2591.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from ..domain import DIRECTION, indicator_column
from ..inference.policy import RESAMPLING, analytic_adequate

Level = Literal["strong", "some", "insufficient", "undetermined"]
#: the rungs, strongest first
LEVELS: tuple[str, ...] = ("strong", "some", "insufficient", "undetermined")
Design = Literal["causal", "association"]

#: p below this (and the interval excluding zero) is ``strong`` before the checks
STRONG_P = 0.01
#: p below this (and the interval excluding zero) is ``some``
SOME_P = 0.05
#: ``strong`` needs a relative-magnitudes breakdown value at least this large (Rambachan & Roth)
ROBUST_M = 1.0
#: fewer treated counties than this caps a reform estimate at ``some``
MIN_TREATED = 2
#: a lead-placebo p-value below this makes a dose-response not credible
PLACEBO_P = 0.05
#: the inference methods whose interval a finding quotes, in order of preference
DEFAULT_METHODS: tuple[str, ...] = ("wild_bootstrap", "randomization", "analytic", "cluster")

#: reason codes (why a finding is not on a higher rung); each has a label ``ev_reason_<code>``
REASONS: tuple[str, ...] = (
    "no_estimate", "placebo_failed", "analytic_only", "few_comparison", "few_treated",
    "randomization_disagrees", "no_sensitivity", "fragile_trends", "pretrend", "no_placebo",
)


def _num(v: object) -> float:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return f


def _finite(v: object) -> bool:
    return math.isfinite(_num(v))


@dataclass(frozen=True)
class Evidence:
    """One graded estimate: the rung, the numbers a sentence quotes, and why it is not higher.

    ``method`` is the inference method whose interval and p-value are quoted; ``p_used`` the
    p-value the rung was read from (``p_adjusted`` when present); ``reasons`` the codes of
    :data:`REASONS` that lowered the rung; ``breakdown_m`` the relative-magnitudes breakdown value
    (reform); ``n_treated`` / ``n_comparison`` the counties behind a reform estimate."""

    level: str
    design: str = "causal"
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_value: float = math.nan
    p_used: float = math.nan
    adjusted: bool = False
    method: str = ""
    reasons: tuple[str, ...] = ()
    n_treated: int | None = None
    n_comparison: int | None = None
    breakdown_m: float = math.nan

    def direction(self, outcome: str) -> str:
        """``improve``, ``worsen`` or ``none`` (the interval includes zero or no estimate): the
        sign of the estimate read with the outcome's direction (fewer hazards is better)."""
        if not (_finite(self.ci_low) and _finite(self.ci_high)):
            return "none"
        if self.ci_low <= 0 <= self.ci_high:
            return "none"
        good = (self.estimate > 0) == (DIRECTION[indicator_column(outcome)] > 0)
        return "improve" if good else "worsen"


def _cap(level: str, ceiling: str) -> str:
    return LEVELS[max(LEVELS.index(level), LEVELS.index(ceiling))]


def grade(
    estimate: object,
    ci_low: object,
    ci_high: object,
    p_value: object,
    *,
    method: str = "wild_bootstrap",
    design: Design = "causal",
    p_adjusted: object = None,
    p_randomization: object = None,
    few_comparison: bool = False,
    n_treated: int | None = None,
    n_comparison: int | None = None,
    breakdown_m: object = None,
    pretrend_p: object = None,
    placebo_p: object = None,
    n_clusters: object = None,
) -> Evidence:
    """The rung of one estimate, by the rules of this module's docstring (a pure function).

    Parameters
    ----------
    estimate, ci_low, ci_high, p_value : numbers of the row of ``method`` (missing: NaN/None).
    method : the inference method of that row (``wild_bootstrap``, ``randomization``, ``analytic``).
    design : ``"causal"`` (the reform's difference-in-differences) or ``"association"`` (the
        dose-response).
    p_adjusted : the multiplicity-adjusted p-value, when the results carry one.
    p_randomization : randomisation inference's p-value (reform), when it is not ``method``.
    few_comparison : a cell with weight has fewer than three comparison counties.
    n_treated, n_comparison : counties behind the estimate (reform).
    breakdown_m : Rambachan & Roth relative-magnitudes breakdown value (reform); ``None`` when no
        sensitivity analysis exists.
    pretrend_p : p-value of the slope test of the leads (reform), by the default method.
    placebo_p : p-value of the lead placebo (dose-response), by the default method; ``None`` when
        there is none.
    n_clusters : the counties an analytic row is clustered by; from
        :data:`analysis.inference.policy.ANALYTIC_FROM_CLUSTERS` on — and, for a reform estimate,
        with at least :data:`~analysis.inference.policy.ANALYTIC_MIN_TREATED` treated counties
        behind it — the analytic interval is the adequate one (the build runs no resampling
        there) and is not capped as ``analytic_only``.

    Returns
    -------
    Evidence
    """
    est, lo, hi, p = _num(estimate), _num(ci_low), _num(ci_high), _num(p_value)
    p_adj = _num(p_adjusted)
    adjusted = math.isfinite(p_adj)
    p_used = p_adj if adjusted else p
    bm = _num(breakdown_m)
    base = dict(design=design, estimate=est, ci_low=lo, ci_high=hi, p_value=p, p_used=p_used,
                adjusted=adjusted, method=method, n_treated=n_treated, n_comparison=n_comparison,
                breakdown_m=bm)
    if not all(math.isfinite(v) for v in (est, lo, hi, p_used)):
        return Evidence(level="undetermined", reasons=("no_estimate",), **base)
    if design == "association" and _finite(placebo_p) and _num(placebo_p) < PLACEBO_P:
        return Evidence(level="undetermined", reasons=("placebo_failed",), **base)
    excludes = lo > 0 or hi < 0
    if excludes and p_used < STRONG_P:
        level = "strong"
    elif excludes and p_used < SOME_P:
        level = "some"
    else:
        level = "insufficient"
    checks: list[tuple[bool, str, str]] = [
        (method not in RESAMPLING and not analytic_adequate(n_clusters, n_treated), "some",
         "analytic_only"),
    ]
    if design == "causal":
        checks += [
            (bool(few_comparison), "some", "few_comparison"),
            (n_treated is not None and n_treated < MIN_TREATED, "some", "few_treated"),
            (method != "randomization" and _finite(p_randomization)
             and _num(p_randomization) >= SOME_P, "some", "randomization_disagrees"),
            (breakdown_m is None or not math.isfinite(bm), "some", "no_sensitivity"),
            (math.isfinite(bm) and bm < ROBUST_M, "some", "fragile_trends"),
            (_finite(pretrend_p) and _num(pretrend_p) < SOME_P, "insufficient", "pretrend"),
        ]
    else:
        checks.append((not _finite(placebo_p), "some", "no_placebo"))
    # every check that would lower the rung the interval and p-value alone give is a reason
    reasons = []
    uncapped = level
    for applies, ceiling, code in checks:
        if applies and _cap(uncapped, ceiling) != uncapped:
            reasons.append(code)
            level = _cap(level, ceiling)
    return Evidence(level=level, reasons=tuple(reasons), **base)


# ----------------------------------------------------------------------------------------------
# readers of the results files
# ----------------------------------------------------------------------------------------------


def pick_method(rows: pd.DataFrame) -> pd.Series | None:
    """The row of the first method of :data:`DEFAULT_METHODS` present in ``rows`` (one estimate,
    one row per inference method), else ``None``. Where rows carry a ``cluster`` column, rows
    clustered by county come first within a method (the dose-response's institution-clustered
    analytic row is never the one quoted when a county-clustered one exists)."""
    if rows is None or rows.empty or "inference" not in rows.columns:
        return None
    by = rows.assign(_m=rows["inference"].astype(str))
    if "cluster" in by.columns:
        county = (by["cluster"].astype(str) == "county_code").to_numpy()
        by = pd.concat([by[county], by[~county]])
    for m in DEFAULT_METHODS:
        hit = by[by["_m"] == m]
        if len(hit):
            return hit.iloc[0]
    return None


def _method_p(rows: pd.DataFrame, method: str) -> float | None:
    hit = rows[rows["inference"].astype(str) == method]
    return float(hit["p_value"].iloc[0]) if len(hit) and _finite(hit["p_value"].iloc[0]) else None


def _county_clusters(row: pd.Series) -> object:
    """The row's ``n_clusters`` when it counts counties (no ``cluster`` column, or clustered by
    county), else ``None``: institution clusters never make the analytic interval adequate."""
    cluster = row.get("cluster")
    if isinstance(cluster, str) and cluster not in ("", "county_code"):
        return None
    return row.get("n_clusters")


def _opt_int(v: object) -> int | None:
    return int(_num(v)) if _finite(v) else None


def _few(row: pd.Series) -> bool:
    w = row.get("few_comparison_weight")
    if _finite(w):
        return float(w) > 0
    warn = row.get("comparison_warning")
    return isinstance(warn, str) and bool(warn.strip())


def breakdown(sensitivity: pd.DataFrame | None, outcome: str,
              restriction: str = "relative_magnitude") -> float | None:
    """The breakdown value of ``outcome`` under ``restriction`` from ``reform_sensitivity``
    (``None`` when the file or the row is missing)."""
    if sensitivity is None or sensitivity.empty:
        return None
    s = sensitivity[(sensitivity["outcome"] == outcome)
                    & (sensitivity["restriction"] == restriction)]
    if s.empty or not _finite(s["breakdown_m"].iloc[0]):
        return None
    return float(s["breakdown_m"].iloc[0])


def pretrend_p(pretrends: pd.DataFrame | None, outcome: str) -> float | None:
    """The slope test of the leads for ``outcome`` (``reform_pretrends``), by the default method."""
    if pretrends is None or pretrends.empty:
        return None
    rows = pretrends[(pretrends["outcome"] == outcome) & (pretrends["test"] == "slope")]
    row = pick_method(rows)
    return None if row is None or not _finite(row["p_value"]) else float(row["p_value"])


def reform_rows(agg: pd.DataFrame, outcome: str, *, aggregation: str,
                key: str | None = None) -> pd.DataFrame:
    """The rows (one per inference method) of one reform estimate: ``aggregation`` and ``key``
    (``None`` for the simple aggregate; ``overall`` for an aggregation's overall row; for
    ``dynamic_balanced`` the ``headline`` rows when flagged)."""
    a = agg[(agg["outcome"] == outcome) & (agg["aggregation"] == aggregation)]
    if key is None:
        return a
    if aggregation == "dynamic_balanced" and key == "overall" and "headline" in a.columns:
        head = a[a["headline"].astype("boolean").fillna(False).astype(bool)]
        if len(head):
            return head
    return a[a["key"].astype(str) == str(key)]


def reform_evidence(agg: pd.DataFrame | None, outcome: str, *, aggregation: str,
                    key: str | None = None, sensitivity: pd.DataFrame | None = None,
                    pretrends: pd.DataFrame | None = None) -> Evidence:
    """The graded reform estimate ``(outcome, aggregation, key)`` of ``reform_aggregate``, with the
    checks of :func:`grade` read from its rows (counties behind it, randomisation p-value,
    ``p_adjusted``) and from ``reform_sensitivity`` / ``reform_pretrends`` when given."""
    if agg is None or agg.empty:
        return grade(None, None, None, None)
    rows = reform_rows(agg, outcome, aggregation=aggregation, key=key)
    row = pick_method(rows)
    if row is None:
        return grade(None, None, None, None)
    return grade(
        row["att"], row["ci_low"], row["ci_high"], row["p_value"],
        method=str(row["inference"]), design="causal",
        p_adjusted=row.get("p_adjusted"), p_randomization=_method_p(rows, "randomization"),
        few_comparison=_few(row), n_treated=_opt_int(row.get("n_treated_counties")),
        n_comparison=_opt_int(row.get("n_comparison_counties")),
        breakdown_m=breakdown(sensitivity, outcome), pretrend_p=pretrend_p(pretrends, outcome),
        n_clusters=_county_clusters(row),
    )


#: the dose-response rows of ``effectiveness`` a finding reads (model, term prefix of the dose)
DOSE_MODEL, PLACEBO_MODEL = "dose_response", "placebo_lead"


def _lead(term: object) -> bool:
    return "lead" in str(term)


def dose_evidence(eff: pd.DataFrame | None, outcome: str) -> Evidence:
    """The graded dose-response of ``outcome`` (``effectiveness``: model ``dose_response``, its
    lagged-intensity term; the placebo from model ``placebo_lead``'s lead term), an association."""
    if eff is None or eff.empty:
        return grade(None, None, None, None, design="association")
    e = eff
    if "county_code" in e.columns:
        e = e[e["county_code"].isna()]
    dose = e[(e["model"] == DOSE_MODEL) & (e["outcome"] == outcome) & ~e["term"].map(_lead)]
    if "primary" in dose.columns:
        primary = dose["primary"].astype("boolean").fillna(False).astype(bool)
        if primary.any():
            dose = dose[primary]
    row = pick_method(dose)
    if row is None:
        return grade(None, None, None, None, design="association")
    placebo = e[(e["model"] == PLACEBO_MODEL) & (e["outcome"] == outcome) & e["term"].map(_lead)]
    prow = pick_method(placebo)
    return grade(
        row["estimate"], row["ci_low"], row["ci_high"], row["p_value"],
        method=str(row["inference"]), design="association", p_adjusted=row.get("p_adjusted"),
        placebo_p=None if prow is None else prow["p_value"], n_clusters=_county_clusters(row),
    )


__all__ = [
    "DEFAULT_METHODS", "Evidence", "LEVELS", "MIN_TREATED", "PLACEBO_P", "REASONS", "ROBUST_M",
    "SOME_P", "STRONG_P", "breakdown", "dose_evidence", "grade", "pick_method", "pretrend_p",
    "reform_evidence", "reform_rows",
]
