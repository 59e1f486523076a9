"""The effectiveness results of a build: ``build_results`` and the build ``STEP``.

Runs the analyses of :mod:`analysis.effectiveness` on the processed dataset and writes
``effectiveness`` (every model's coefficients in one long table), ``dose_response_curve``,
``survival``, ``survival_cox`` and ``unit_contributions`` to ``data/processed/<dataset>/results/``.
No estimator lives here; the papers are cited by the analysis modules.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..build.steps import BuildOptions, Step
from ..domain import ALL_OUTCOMES, COMPOSITE, SECONDARY_OUTCOMES, is_primary
from ..errors import SpecificationError
from ..inference.policy import ANALYTIC_FROM_CLUSTERS, methods_for, resampling_applies
from ..inference.stepdown import family_adjust, holm
from .dose import dose_response
from .event_study import EventStudyResult, repairing_event_study
from .its import interrupted_time_series
from .iv import dose_response_iv
from .prepare import tables_of, with_outcome
from .survival import problem_survival
from .units import unit_contributions

__all__ = ["RESULT_COLUMNS", "STEP", "build_results"]

#: the leading columns of ``effectiveness.parquet`` (dose-response rows add ``intensity``,
#: ``transform`` and ``time_effects``)
RESULT_COLUMNS = ["outcome", "model", "term", "estimate", "std_error", "ci_low", "ci_high",
                  "p_value", "inference", "n_obs", "cluster", "n_clusters", "note"]


def _event_rows(es: EventStudyResult, n_obs: int) -> pd.DataFrame:
    """The event study's rows of ``effectiveness.parquet``: its aggregations, then the pre-trend
    test."""
    tables = es.tables()
    t = tables["event_study"]
    out = pd.DataFrame({
        "outcome": es.outcome, "model": "repairing_event_study",
        "term": np.where(t["aggregation"] == "simple", "overall",
                         np.where(t["key"].astype(str) == "overall", "dynamic_overall",
                                  "e=" + t["key"].astype(str))),
        "estimate": t["att"], "std_error": t["std_error"], "ci_low": t["ci_low"],
        "ci_high": t["ci_high"], "p_value": t["p_value"],
        "inference": t["inference"], "n_obs": n_obs,
        "cluster": "county_code", "n_clusters": t.get("n_clusters", np.nan),
        "note": "Callaway–Sant'Anna, not-yet-adjusted comparison",
    })
    pre = tables["pretrend"]
    pre_rows = pd.DataFrame({
        "outcome": es.outcome, "model": "repairing_pretrend", "term": pre["statistic"],
        "estimate": pre["value"], "std_error": np.nan, "ci_low": np.nan, "ci_high": np.nan,
        "p_value": pre["p_value"], "inference": pre["inference"],
        "n_obs": n_obs, "cluster": "institution_id", "n_clusters": pre["n_clusters"],
        "note": "joint test of the pre-period event-time ATTs (df = " + pre["df"].astype(str) + ")",
    })
    return pd.concat([out, pre_rows], ignore_index=True)


def dose_multiplicity(eff: pd.DataFrame, draws: dict[str, Any]) -> pd.DataFrame:
    """``effectiveness`` with ``primary``, ``p_adjusted`` and ``adjustment``.

    ``primary``: the row's outcome is the pre-specified primary outcome (the composite index,
    :data:`analysis.domain.PRIMARY_OUTCOME`). ``p_adjusted``: the dose term of the primary
    ``dose_response`` model adjusted across the four target outcomes — Romano–Wolf step-down over
    the wild bootstrap's own draws on its ``wild_bootstrap`` rows (the same county weights in every
    outcome's draw: one seed; :func:`analysis.inference.stepdown.family_adjust`), Holm on its
    ``analytic`` rows; missing on every other row (primary outcome, other models and terms)."""
    out = eff.copy()
    out["primary"] = out["outcome"].map(is_primary).astype(bool)
    out["p_adjusted"] = np.nan
    out["adjustment"] = None
    first = {o: d for o, d in draws.items() if d is not None}
    base = (out["model"] == "dose_response") & out["outcome"].isin(SECONDARY_OUTCOMES)
    if first:
        adj = family_adjust(draws)
        rows = base & (out["inference"] == "wild_bootstrap")
        rows &= out["term"] == out["outcome"].map(lambda o: _first_term(out, o))
        out.loc[rows, "p_adjusted"] = out.loc[rows, "outcome"].map(adj).to_numpy(float)
        out.loc[rows, "adjustment"] = "romano_wolf"
    rows = base & (out["inference"] == "analytic")
    rows &= out["term"] == out["outcome"].map(lambda o: _first_term(out, o))
    # one family per clustering (institution; county, from ANALYTIC_FROM_CLUSTERS counties on)
    for _, idx in out[rows].groupby(out.loc[rows, "cluster"].astype(str)).groups.items():
        out.loc[idx, "p_adjusted"] = holm(out.loc[idx, "p_value"].to_numpy(float))
        out.loc[idx, "adjustment"] = "holm"
    out["adjustment"] = out["adjustment"].astype("string")
    return out


def _first_term(eff: pd.DataFrame, outcome: str) -> str:
    """The dose term of the primary ``dose_response`` model of ``outcome``."""
    t = eff.loc[(eff["model"] == "dose_response") & (eff["outcome"] == outcome), "term"]
    return str(t.iloc[0]) if len(t) else ""


def build_results(processed: Any, *, n_boot: int = 999,
                  seed: int = 20210101) -> dict[str, pd.DataFrame]:
    """Results hook: ``effectiveness``, ``dose_response_curve``, ``survival``, ``survival_cox`` and
    ``unit_contributions`` tables for ``data/processed/<dataset>/results/``.

    ``effectiveness`` models: ``dose_response`` (primary: log1p(activities_lag1), institution and
    quarter effects, reform and re-pairing controls; inference ``analytic`` (clustered by
    institution) and ``wild_bootstrap`` by county), ``placebo_lead`` (same plus the lead),
    ``dose_response_county_quarter`` / ``placebo_lead_county_quarter`` (county × quarter effects),
    ``dose_response_visits_log1p`` and ``dose_response_value_per_resident_log1p`` (other
    intensities, analytic inference), ``dose_response_iv`` (two-stage least squares with the
    partner units' leave-one-out activity as instrument, :mod:`.iv`; clustered by county with
    t(G − 1) — the headline — and by institution; first-stage F), ``repairing_event_study`` and
    ``repairing_pretrend``, and ``its`` (descriptive: no control group).

    Parameters
    ----------
    processed : Processed
        The processed dataset (``panel`` and ``tables``).
    n_boot : int
        Wild-bootstrap draws of the dose-response and event-study rows (and permutations of the
        re-pairing pre-trend test).
    seed : int
        The seed every resampling of this step starts from (the build's root seed).

    Returns
    -------
    dict of str to pandas.DataFrame
        File stem → table; ``survival``/``survival_cox`` only when there are problems,
        ``unit_contributions`` only when there are pairings.
    """
    panel = with_outcome(processed.panel, COMPOSITE)  # composite and repaired, once
    parts, curves = [], []
    family_draws: dict[str, Any] = {}
    # with few counties the county wild bootstrap; from ANALYTIC_FROM_CLUSTERS on, the analytic
    # county-clustered rows in its place (analysis.inference.policy)
    n_counties = int(panel["county_code"].nunique())
    county = (("wild_bootstrap",) if resampling_applies(n_counties) else ("analytic_county",))
    dose_inf = ("analytic", *county)
    event_inf = methods_for(n_counties, ("analytic", "wild_bootstrap"))
    for outcome in ALL_OUTCOMES:
        primary = dose_response(panel, outcome=outcome, inference=dose_inf, n_boot=n_boot,
                                seed=seed)
        if outcome in SECONDARY_OUTCOMES:
            family_draws[outcome] = primary.null_draws.get(primary.terms[0])
        parts.append(primary.tidy())
        curves.append(primary.curve)
        for time_effects in ("quarter", "county_quarter"):
            if time_effects != "quarter":
                parts.append(dose_response(panel, outcome=outcome, time_effects=time_effects,
                                           inference=dose_inf, n_boot=n_boot, seed=seed).tidy())
            parts.append(dose_response(panel, outcome=outcome, time_effects=time_effects,
                                       placebo=True, inference=dose_inf, n_boot=n_boot,
                                       seed=seed).tidy())
        for intensity in ("visits", "value_per_resident"):
            parts.append(dose_response(panel, outcome=outcome, intensity=intensity,
                                       inference=("analytic",)).tidy())
    eff = pd.concat(parts, ignore_index=True)
    eff["note"] = np.where(
        eff["inference"] == "wild_bootstrap",
        "restricted wild cluster bootstrap-t, Webb weights, few clusters",
        np.where((eff["inference"] == "analytic") & (eff["cluster"] == "county_code"),
                 f"CR1 clustered by county, t(G − 1): {n_counties} counties, at least "
                 f"{ANALYTIC_FROM_CLUSTERS} (analysis.inference.policy)", ""))
    rows = [eff]
    for outcome in ALL_OUTCOMES:  # the instrumented dose-response (robust to targeting)
        try:
            # the delete-one-county jackknife refits 2SLS once per county: a few-cluster
            # refinement, dropped with the resampling methods from ANALYTIC_FROM_CLUSTERS on
            iv = dose_response_iv(panel, tables_of(processed), outcome=outcome,
                                  jackknife=resampling_applies(n_counties)).tidy()
        except SpecificationError:  # no unit serves two institutions: no instrument
            continue
        iv["note"] = np.where(iv["weak_instrument"],
                              "2SLS, partner units' leave-one-out activity; WEAK first stage "
                              "(F below 23.1): not informative",
                              "2SLS, partner units' leave-one-out activity as instrument")
        rows.append(iv)
    has_repair = "repair_t" in panel.columns and panel["repair_t"].notna().any()
    for outcome in ALL_OUTCOMES:
        if has_repair:
            es = repairing_event_study(panel, outcome=outcome, inference=event_inf,
                                       n_boot=n_boot, seed=seed)
            n_obs = int(panel[outcome].notna().sum())
            rows.append(_event_rows(es, n_obs))
        try:
            its = interrupted_time_series(panel, outcome=outcome).tidy()
        except SpecificationError:  # no programme start in the window, or too few quarters
            continue
        its["cluster"] = ""
        its["n_clusters"] = np.nan
        rows.append(its)
    effectiveness = pd.concat(rows, ignore_index=True)
    extra = [c for c in effectiveness.columns if c not in RESULT_COLUMNS]
    effectiveness = effectiveness[RESULT_COLUMNS + extra]
    effectiveness["term"] = effectiveness["term"].astype(str)
    effectiveness["note"] = effectiveness["note"].fillna("").astype(str)
    effectiveness["cluster"] = effectiveness["cluster"].fillna("").astype(str)
    effectiveness = dose_multiplicity(effectiveness, family_draws)
    out: dict[str, pd.DataFrame] = {"effectiveness": effectiveness,
                                    "dose_response_curve": pd.concat(curves, ignore_index=True)}
    tables = tables_of(processed)
    if len(tables.get("problems", ())):
        by_category = problem_survival(processed, by="category", cox=True)
        km = [by_category.tidy()] + [problem_survival(processed, by=by, cox=False).tidy()
                                     for by in ("county", "sector")]
        out["survival"] = pd.concat(km, ignore_index=True)
        out["survival_cox"] = by_category.cox
    if len(tables.get("pairings", ())):
        out["unit_contributions"] = unit_contributions(processed, outcome="composite").tidy()
    return out


def _run_step(processed: Any, options: BuildOptions) -> dict[str, pd.DataFrame]:
    return build_results(processed, n_boot=options.n_boot, seed=options.seed)


#: the build step (draws: ``options.n_boot``; seed: ``options.seed``)
STEP = Step("effectiveness", run=_run_step, description="pairing effectiveness")
