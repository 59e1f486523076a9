"""Did the pairings move the 三升一降 targets, and which help works?

Five analyses, each a pure function returning a frozen result object:

* :func:`dose_response` — each outcome on lagged pairing intensity (activities, visits or money per
  resident) with institution and quarter fixed effects absorbed by the within transformation
  (:mod:`analysis.within`, no dummy matrices), a concave form (``log1p`` or a restricted cubic
  spline), standard errors clustered by institution, and restricted wild-cluster-bootstrap
  p-values and intervals clustered by **county** (:mod:`analysis.inference.wild`). With ~11
  counties the county-clustered analytic test is unreliable, which every output says. A lead
  placebo (next quarter's intensity) is available with ``placebo=True``.
* :func:`repairing_event_study` — institutions whose pair was adjusted vs those not yet adjusted,
  by event time, with the Callaway–Sant'Anna estimator of :mod:`analysis.staggered` (the same
  implementation the reform analysis uses) and a pre-trend Wald test.
* :func:`interrupted_time_series` — segmented regression of the city mean at the programme start
  with Newey–West (HAC) errors; **descriptive: no control group**, as every output says.
* :func:`problem_survival` — Kaplan–Meier curves and median days to resolution (with intervals)
  by problem category, county or helper-unit sector, open problems censored; a Cox model.
* :func:`unit_contributions` — helper-unit effects from a linear mixed model with unit random
  effects (statsmodels ``MixedLM``), shrunken estimates next to the naive no-pooling league table.

:func:`build_results` writes ``effectiveness.parquet`` (and ``survival``, ``unit_contributions``,
``dose_response_curve``) during ``pairing-eval build``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from .errors import SpecificationError, check_choice
from .indicators import composite_index
from .inference.wild import wild_cluster_bootstrap
from .results import ResultMixin
from .within import demean, factorize, fe_ols, fe_rank
from .build.steps import BuildOptions, Step

__all__ = [
    "OUTCOMES",
    "INTENSITIES",
    "DoseResponseResult",
    "dose_response",
    "EventStudyResult",
    "repairing_event_study",
    "ITSResult",
    "interrupted_time_series",
    "SurvivalResult",
    "problem_survival",
    "UnitContributionResult",
    "unit_contributions",
    "build_results",
]

OUTCOMES = ("environment_score", "service_score", "happiness_score", "safety_hazards", "composite")
#: intensity name → (lagged column, lead column)
INTENSITIES = {
    "activities": ("activities_lag1", "activities_lead1"),
    "visits": ("visits_lag1", "visits_lead1"),
    "value_per_resident": ("value_per_resident_lag1", "value_per_resident_lead1"),
}
OUTCOME_LABELS = {"environment_score": "Environment score", "service_score": "Service score",
                  "happiness_score": "Happiness score", "safety_hazards": "Safety hazards",
                  "composite": "Composite index (z)"}
DEFAULT_CONTROLS = ("reform_treated", "repaired")
DESCRIPTIVE = "descriptive: no control group"

Outcome = Literal["environment_score", "service_score", "happiness_score", "safety_hazards",
                  "composite"]
Intensity = Literal["activities", "visits", "value_per_resident"]
Transform = Literal["log1p", "spline", "linear"]
Inference = Literal["analytic", "wild_bootstrap"]
TimeEffects = Literal["quarter", "county_quarter"]


# --------------------------------------------------------------------------------------------
# shared preparation
# --------------------------------------------------------------------------------------------
def _with_outcome(panel: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """The panel (copied) with ``composite`` and ``repaired`` columns added when needed."""
    check_choice("outcome", outcome, OUTCOMES)
    need = ["institution_id", "county_code", "period", "t"]
    missing = [c for c in need if c not in panel.columns]
    if missing:
        raise SpecificationError(
            f"The panel lacks columns {missing}; pass `load_processed(...).panel`.")
    d = panel.copy()
    if outcome == "composite" and "composite" not in d.columns:
        sc = composite_index(panel).scores[["institution_id", "period", "composite"]]
        d = d.merge(sc, on=["institution_id", "period"], how="left")
    if "repaired" not in d.columns:
        rt = d["repair_t"] if "repair_t" in d.columns else pd.Series(np.nan, index=d.index)
        d["repaired"] = (d["t"] >= rt).astype(float)
    if "reform_treated" in d.columns:
        d["reform_treated"] = d["reform_treated"].astype(float)
    return d


def _rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Restricted (natural) cubic spline basis of Harrell (2015, §2.4.5), scaled by the knot range:
    linear term plus ``len(knots) − 2`` non-linear terms, linear beyond the outer knots."""
    k = np.asarray(knots, float)
    scale = (k[-1] - k[0]) ** 2
    cols = [x]
    for j in range(len(k) - 2):
        term = (np.clip(x - k[j], 0, None) ** 3
                - np.clip(x - k[-2], 0, None) ** 3 * (k[-1] - k[j]) / (k[-1] - k[-2])
                + np.clip(x - k[-1], 0, None) ** 3 * (k[-2] - k[j]) / (k[-1] - k[-2]))
        cols.append(term / scale)
    return np.column_stack(cols)


# --------------------------------------------------------------------------------------------
# dose-response
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DoseResponseResult(ResultMixin):
    """Fixed-effects dose-response of one outcome on lagged pairing intensity."""

    outcome: str
    intensity: str
    transform: str
    terms: tuple[str, ...]
    table: pd.DataFrame = field(repr=False)
    curve: pd.DataFrame = field(repr=False)
    x_observed: np.ndarray = field(repr=False)
    n_obs: int
    n_institutions: int
    n_counties: int
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Dose-response: {self.outcome} on {self.transform}({self.intensity}, lagged)"

    def tidy(self) -> pd.DataFrame:
        return self.table.copy()

    def _display_table(self) -> pd.DataFrame:
        return self.table[["term", "inference", "estimate", "std_error", "ci_low", "ci_high",
                           "p_value", "cluster", "n_clusters", "n_obs"]]

    def coefficient(self, term: str | None = None, inference: str = "analytic") -> pd.Series:
        """The row of ``term`` (default: the first dose term) for one inference."""
        term = term or self.terms[0]
        t = self.table
        return t[(t["term"] == term) & (t["inference"] == inference)].iloc[0]

    def plot(self, *, ax: Any = None) -> Any:
        """Predicted change relative to no activity, with the pointwise 95% band (cluster SE)."""
        from .plots import PALETTE, new_axes

        ax = new_axes(ax)
        c = self.curve
        ax.plot(c["x"], c["effect"], color=PALETTE["city"], lw=2, label=f"{self.transform} fit")
        ax.fill_between(c["x"], c["ci_low"], c["ci_high"], color=PALETTE["city"], alpha=0.2,
                        label="95% band (clustered by institution)")
        xs = self.x_observed[self.x_observed <= c["x"].max()]
        ymin = ax.get_ylim()[0]
        ax.plot(xs, np.full(len(xs), ymin), "|", color="grey", alpha=0.3, ms=8)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlim(0, c["x"].max())
        ax.set_xlabel(f"{self.intensity} in the previous quarter (up to its 99th percentile; "
                      "ticks: percentiles)")
        ax.set_ylabel(f"change in {OUTCOME_LABELS.get(self.outcome, self.outcome)}")
        ax.set_title(f"Dose-response: {OUTCOME_LABELS.get(self.outcome, self.outcome)}")
        ax.legend(fontsize=8)
        return ax


def dose_response(
    panel: pd.DataFrame,
    *,
    outcome: Outcome = "environment_score",
    intensity: Intensity = "activities",
    transform: Transform = "log1p",
    controls: Sequence[str] = DEFAULT_CONTROLS,
    time_effects: TimeEffects = "quarter",
    placebo: bool = False,
    inference: Sequence[Inference] = ("analytic", "wild_bootstrap"),
    n_knots: int = 4,
    B: int = 999,
    seed: int = 0,
    alpha: float = 0.05,
) -> DoseResponseResult:
    """Two-way fixed-effects dose-response of an outcome on last quarter's pairing intensity.

    ``y_it = α_i + γ_t + f(intensity_i,t−1) + controls_it·δ [+ g(intensity_i,t+1)] + ε_it``, with
    ``f`` = ``β·log1p(x)`` (default), a restricted cubic spline with ``n_knots`` knots at quantiles
    of the positive values, or linear. Institution and quarter effects are absorbed by alternating
    projections (Gaure 2013), never by dummy matrices.

    Parameters
    ----------
    panel : the institution-quarter panel (not modified).
    outcome : one of the four targets or ``"composite"`` (see :mod:`analysis.indicators`).
    intensity : ``"activities"``, ``"visits"`` or ``"value_per_resident"`` (RMB per resident).
    transform : ``"log1p"``, ``"spline"`` or ``"linear"``.
    controls : time-varying controls; by default the reform status (``reform_treated``) and a
        post-re-pairing indicator (``repaired``), two other programmes that move the outcomes.
    time_effects : ``"quarter"`` (the primary specification: one effect per quarter) or
        ``"county_quarter"`` (one per county and quarter: absorbs county-level shocks such as a
        county campaign, at the price of using only within-county-quarter variation).
    placebo : add next quarter's intensity (same transform); a future dose cannot cause today's
        outcome, so its coefficient should be zero.
    inference : ``"analytic"`` (CR1 clustered by institution, t with G−1 df) and/or
        ``"wild_bootstrap"`` (restricted wild cluster bootstrap-t by county, Webb weights, ``B``
        draws, interval by test inversion; Cameron, Gelbach & Miller 2008; Roodman et al. 2019).
    seed : seed of ``numpy.random.default_rng`` for the bootstrap.

    Returns
    -------
    DoseResponseResult; ``tidy()`` columns: outcome, model, term, estimate, std_error, ci_low,
    ci_high, p_value, inference, cluster, n_clusters, n_obs.

    References
    ----------
    Gaure (2013) *CSDA* 66; Cameron & Miller (2015) *J. Human Resources* 50(2); Harrell (2015)
    *Regression Modeling Strategies*, §2.4.5 (restricted cubic splines); Webb (2023) *CJE* 56(3).
    """
    check_choice("intensity", intensity, tuple(INTENSITIES))
    check_choice("transform", transform, ("log1p", "spline", "linear"))
    check_choice("time_effects", time_effects, ("quarter", "county_quarter"))
    inference = tuple(inference)
    for name in inference:
        check_choice("inference", name, ("analytic", "wild_bootstrap"))
    if not inference:
        raise SpecificationError("inference is empty; ask for 'analytic' and/or 'wild_bootstrap'.")
    if transform == "spline" and not 3 <= n_knots <= 7:
        raise SpecificationError(f"n_knots={n_knots} must be between 3 and 7 (Harrell recommends 4 or 5).")
    d = _with_outcome(panel, outcome)
    lag_col, lead_col = INTENSITIES[intensity]
    controls = list(controls)
    missing = [c for c in [outcome, lag_col, lead_col, *controls] if c not in d.columns]
    if missing:
        raise SpecificationError(f"Columns {missing} are not in the panel; check controls= and the panel.")
    d = d.dropna(subset=[outcome, lag_col, *controls] + ([lead_col] if placebo else []))
    d = d.reset_index(drop=True)
    x = d[lag_col].to_numpy(float)
    if (x < 0).any():
        raise SpecificationError(f"{lag_col} has negative values; intensities must be ≥ 0.")
    knots = None
    if transform == "log1p":
        terms = [f"log1p({lag_col})"]
        d[terms[0]] = np.log1p(x)
    elif transform == "linear":
        terms = [lag_col]
    else:
        pos = x[x > 0]
        if len(np.unique(pos)) < n_knots + 2:
            raise SpecificationError(
                f"{intensity} takes too few distinct values for a {n_knots}-knot spline; use "
                "transform='log1p' or fewer knots.")
        knots = np.quantile(pos, np.linspace(0.05, 0.95, n_knots))
        basis = _rcs_basis(x, knots)
        terms = [f"rcs{j}({lag_col})" for j in range(basis.shape[1])]
        for j, name in enumerate(terms):
            d[name] = basis[:, j]
    placebo_terms: list[str] = []
    if placebo:
        lead = d[lead_col].to_numpy(float)
        if transform == "log1p":
            placebo_terms = [f"log1p({lead_col})"]
            d[placebo_terms[0]] = np.log1p(lead)
        elif transform == "linear":
            placebo_terms = [lead_col]
        else:
            placebo_terms = [f"rcs0({lead_col})"]
            d[placebo_terms[0]] = lead
    # drop controls that do not vary (e.g. no reform in the window)
    controls = [c for c in controls if d[c].nunique() > 1]
    xcols = terms + placebo_terms + controls
    model = "dose_response"
    if intensity != "activities" or transform != "log1p":
        model += f"_{intensity}_{transform}"
    if time_effects == "county_quarter":
        model += "_county_quarter"
        d["county_quarter"] = d["county_code"].astype(str) + ":" + d["period"].astype(str)
        fes, boot_fe, boot_dummies = ["institution_id", "county_quarter"], ["institution_id", "county_quarter"], []
    else:
        fes, boot_fe, boot_dummies = ["institution_id", "period"], ["institution_id"], ["period"]
    if placebo:
        model = model.replace("dose_response", "placebo_lead")
    rows = []
    notes: list[str] = []
    fit = fe_ols(d, y=outcome, x=xcols, fe=fes, cluster="institution_id")
    n_counties = int(d["county_code"].nunique())
    if "analytic" in inference:
        t = fit.coef_table(alpha=alpha)
        t = t[t["term"].isin(terms + placebo_terms)]
        for _, r in t.iterrows():
            rows.append({"term": r["term"], "estimate": r["estimate"], "std_error": r["std_error"],
                         "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p_value": r["p_value"],
                         "inference": "analytic", "cluster": "institution_id",
                         "n_clusters": fit.n_clusters})
    if "wild_bootstrap" in inference:
        rng = np.random.default_rng(seed)
        for term in terms + placebo_terms:
            wb = wild_cluster_bootstrap(d, y=outcome, x=xcols, term=term, cluster="county_code",
                                        fe=boot_fe, dummies=boot_dummies, B=B,
                                        rng=rng, alpha=alpha)
            rows.append({"term": term, "estimate": wb.estimate, "std_error": wb.std_error,
                         "ci_low": wb.ci_low, "ci_high": wb.ci_high, "p_value": wb.p_value,
                         "inference": "wild_bootstrap", "cluster": "county_code",
                         "n_clusters": wb.n_clusters})
        notes.append(
            f"Wild bootstrap: restricted wild cluster bootstrap-t by county ({n_counties} clusters, "
            f"Webb weights, B={B}); with so few counties its p-value is the honest one, and the "
            "std_error shown beside it is the analytic county-clustered SE (not used for the test).")
    table = pd.DataFrame(rows)
    table.insert(0, "model", model)
    table.insert(0, "outcome", outcome)
    table["n_obs"] = fit.n_obs
    table["intensity"] = intensity
    table["transform"] = transform
    table["time_effects"] = time_effects
    # curve relative to zero intensity, analytic band from the institution-clustered covariance
    idx = [xcols.index(tn) for tn in terms]
    beta = fit.coef[idx]
    V = fit.vcov[np.ix_(idx, idx)]
    grid = np.linspace(0, np.quantile(x, 0.99) if len(x) else 1, 60)
    if transform == "log1p":
        G = np.log1p(grid)[:, None]
    elif transform == "linear":
        G = grid[:, None]
    else:
        G = _rcs_basis(grid, knots) - _rcs_basis(np.zeros(1), knots)
    eff = G @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", G, V, G))
    crit = stats.t.ppf(1 - alpha / 2, fit.df_inference)
    curve = pd.DataFrame({"outcome": outcome, "intensity": intensity, "transform": transform,
                          "x": grid, "effect": eff, "std_error": se,
                          "ci_low": eff - crit * se, "ci_high": eff + crit * se})
    notes.append(
        f"Fixed effects: institution and {time_effects.replace('_', ' × ')} (within transformation); controls: "
        f"{', '.join(controls) or 'none'}; cluster SEs by institution ({fit.n_clusters} clusters).")
    if placebo:
        notes.append("Placebo: the lead (next quarter's intensity) should have no effect.")
    return DoseResponseResult(
        outcome=outcome, intensity=intensity, transform=transform, terms=tuple(terms + placebo_terms),
        table=table, curve=curve, x_observed=np.quantile(x, np.linspace(0, 1, 101)),
        n_obs=fit.n_obs, n_institutions=int(d["institution_id"].nunique()), n_counties=n_counties,
        _notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------------
# re-pairing event study (Callaway–Sant'Anna, the one staggered implementation)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventStudyResult(ResultMixin):
    """Re-pairing event study: dynamic and overall ATT of an adjusted pairing, pre-trend test."""

    outcome: str
    cluster: str
    dynamic: Any = field(repr=False)
    simple: Any = field(repr=False)
    pretrend: Any = field(repr=False)
    n_repaired: int = 0
    n_institutions: int = 0
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Re-pairing event study (Callaway–Sant'Anna): {self.outcome}"

    def tidy(self) -> pd.DataFrame:
        dyn = self.dynamic.tidy().assign(aggregation="dynamic")
        sim = self.simple.tidy().assign(aggregation="simple")
        out = pd.concat([sim, dyn], ignore_index=True)
        out.insert(0, "outcome", self.outcome)
        return out

    def _display_table(self) -> pd.DataFrame:
        t = self.tidy()
        return t[["aggregation", "key", "inference", "att", "std_error", "ci_low", "ci_high",
                  "p_value"]]

    def summary(self) -> str:
        return super().summary() + "\n\n" + self.pretrend.summary()

    def plot(self, *, ax: Any = None, inference: str = "analytic") -> Any:
        from .plots import new_axes

        ax = new_axes(ax)
        self.dynamic.plot(ax=ax, inference=inference)
        ax.set_xlabel("quarters since the adjusted pairing started")
        ax.set_title(f"Re-pairing event study: {OUTCOME_LABELS.get(self.outcome, self.outcome)}")
        return ax


def repairing_event_study(
    panel: pd.DataFrame,
    *,
    outcome: Outcome = "environment_score",
    control_group: Literal["notyettreated", "nevertreated"] = "notyettreated",
    cluster: Literal["county", "institution"] = "county",
    min_e: int = -8,
    max_e: int = 8,
    inference: Sequence[Literal["analytic", "wild_bootstrap", "randomization"]] = (
        "analytic", "wild_bootstrap"),
    n_boot: int = 999,
    seed: int = 0,
) -> EventStudyResult:
    """Effect of re-pairing (an institution's first *adjusted* pairing) by event time.

    Institutions whose pair was adjusted in quarter ``g`` (panel ``repair_t``) are compared with
    institutions not yet adjusted (or never adjusted: ``control_group="nevertreated"``), by the
    Callaway–Sant'Anna group-time ATT and its dynamic and simple aggregations, as implemented once
    in :func:`analysis.staggered.att_gt` (the reform analysis uses the same code). Pre-period
    event times are placebo comparisons; :func:`analysis.staggered.pretrend_test` tests them
    jointly (Wald when it exists, wild bootstrap and randomisation otherwise).

    Parameters
    ----------
    panel : the institution-quarter panel (not modified).
    outcome : target or ``"composite"``.
    control_group : ``"notyettreated"`` (default) or ``"nevertreated"``.
    cluster : ``"county"`` (11 clusters: read the wild bootstrap rows) or ``"institution"``.
    min_e, max_e : event-time window of the dynamic aggregation.
    inference, n_boot, seed : passed to ``ATTgtResult.aggregate``.

    References
    ----------
    Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
    periods. *Journal of Econometrics* 225(2), 200–230. Sun, L., & Abraham, S. (2021) on why
    two-way fixed-effects event studies are not used here.
    """
    from .staggered import att_gt, pretrend_test

    check_choice("cluster", cluster, ("county", "institution"))
    check_choice("control_group", control_group, ("notyettreated", "nevertreated"))
    if min_e >= 0 or max_e < 0:
        raise SpecificationError(f"The window min_e={min_e}, max_e={max_e} must contain pre (<0) "
                                 "and post (≥0) event times, e.g. min_e=-8, max_e=8.")
    d = _with_outcome(panel, outcome)
    if "repair_t" not in d.columns or d["repair_t"].notna().sum() == 0:
        raise SpecificationError("No institution has an adjusted pairing (panel repair_t is empty), "
                                 "so there is no re-pairing to study.")
    d = d[["institution_id", "county_code", "t", "repair_t", outcome]]
    cl = "county_code" if cluster == "county" else None
    res = att_gt(d, outcome=outcome, unit="institution_id", time="t", group="repair_t",
                 cluster=cl, control_group=control_group)
    inference = tuple(inference)
    if cl is None:
        inference = tuple(i for i in inference if i == "analytic") or ("analytic",)
    dyn = res.aggregate("dynamic", min_e=min_e, max_e=max_e, inference=inference, n_boot=n_boot,
                        seed=seed)
    sim = res.aggregate("simple", max_e=max_e, inference=inference, n_boot=n_boot, seed=seed)
    # The joint pre-trend test uses the institution-level influence function (104 units, so the
    # Wald statistic exists). Re-pairing is decided per institution, not per county, so
    # randomisation of adoption dates across counties does not apply here.
    res_unit = res if cl is None else att_gt(d, outcome=outcome, unit="institution_id", time="t",
                                             group="repair_t", control_group=control_group)
    pre = pretrend_test(res_unit, n_boot=n_boot, n_perm=n_boot, seed=seed, min_e=min_e)
    n_rep = int(d.groupby("institution_id")["repair_t"].first().notna().sum())
    notes = list(res.notes) + [
        f"{n_rep} institutions with an adjusted pairing; comparison: {control_group} institutions; "
        f"standard errors clustered by {cluster}."]
    return EventStudyResult(outcome=outcome, cluster=cluster, dynamic=dyn, simple=sim,
                            pretrend=pre, n_repaired=n_rep,
                            n_institutions=int(d["institution_id"].nunique()), _notes=tuple(notes))


# --------------------------------------------------------------------------------------------
# interrupted time series (descriptive: no control group)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ITSResult(ResultMixin):
    """Segmented regression at the programme start. Descriptive: no control group."""

    outcome: str
    start_period: str
    scope: str
    table: pd.DataFrame = field(repr=False)
    series: pd.DataFrame = field(repr=False)
    maxlags: int = 4
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        return (f"Interrupted time series at {self.start_period}: {self.outcome} ({self.scope}) — "
                f"{DESCRIPTIVE}")

    def tidy(self) -> pd.DataFrame:
        return self.table.copy()

    def _display_table(self) -> pd.DataFrame:
        return self.table.drop(columns=["note"])  # the title and the notes say it

    def plot(self, *, ax: Any = None) -> Any:
        from .plots import PALETTE, new_axes

        ax = new_axes(ax)
        s = self.series
        x = np.arange(len(s))
        ax.plot(x, s["value"], "o", ms=4, color=PALETTE["city"], label="observed mean")
        ax.plot(x, s["fitted"], color=PALETTE["county"], lw=2, label="segmented fit")
        post = s["post"].to_numpy(bool)
        ax.plot(x[post], s.loc[post, "counterfactual"], color=PALETTE["county"], ls="--", lw=1.2,
                label="pre-trend extended")
        start = int(np.argmax(post)) if post.any() else len(s)
        ax.axvline(start - 0.5, color="grey", ls=":", lw=1)
        step = max(1, len(s) // 8)
        ax.set_xticks(x[::step], s["period"].iloc[::step], rotation=45)
        ax.set_ylabel(OUTCOME_LABELS.get(self.outcome, self.outcome))
        ax.set_title(f"ITS at {self.start_period} ({DESCRIPTIVE})")
        ax.legend(fontsize=8)
        return ax


def interrupted_time_series(
    panel: pd.DataFrame,
    *,
    outcome: Outcome = "environment_score",
    county_code: str | None = None,
    start_period: str | None = None,
    weighting: Literal["residents", "unweighted"] = "unweighted",
    maxlags: int = 4,
    alpha: float = 0.05,
) -> ITSResult:
    """Segmented regression of the quarterly mean outcome at the programme start, HAC errors.

    ``ȳ_t = β₀ + β₁·(t − t₀) + β₂·post_t + β₃·(t − t₀)·post_t + ε_t`` on the city (or one county's)
    mean by quarter, with Newey–West standard errors (``maxlags`` quarters, small-sample
    corrected). ``β₂`` is the level change and ``β₃`` the slope change at ``t₀``. There is no
    control group: anything else that changed at ``t₀`` (the reform, a new assessment form) is
    attributed to the programme, so the result is **descriptive only** and says so everywhere.

    Parameters
    ----------
    panel : the institution-quarter panel (not modified).
    outcome : target or ``"composite"``.
    county_code : ``None`` or ``"all"`` for the whole city, else one county.
    start_period : programme start (default: the first quarter with any pairing).
    weighting : mean over institutions ``"unweighted"`` or weighted by ``"residents"``.
    maxlags : Newey–West truncation lag in quarters.

    References
    ----------
    Wagner, A. K., Soumerai, S. B., Zhang, F., & Ross-Degnan, D. (2002). Segmented regression
    analysis of interrupted time series studies. *J. Clinical Pharmacy and Therapeutics* 27(4),
    299–309. Newey, W. K., & West, K. D. (1987). *Econometrica* 55(3), 703–708.
    """
    import statsmodels.api as sm

    check_choice("weighting", weighting, ("residents", "unweighted"))
    d = _with_outcome(panel, outcome).dropna(subset=[outcome])
    county_code = None if county_code in (None, "all") else str(county_code)
    if county_code is not None:
        if county_code not in set(d["county_code"]):
            raise SpecificationError(
                f"county_code={county_code!r} is not in the panel; choose one of "
                f"{sorted(d['county_code'].unique())} or None for the city.")
        d = d[d["county_code"] == county_code]
    if start_period is None:
        if "paired" not in d.columns or not d["paired"].astype(bool).any():
            raise SpecificationError("No pairing in the panel; pass start_period='2021Q1' explicitly.")
        start_t = int(panel.loc[panel["paired"].astype(bool), "t"].min())
        start_period = str(panel.loc[panel["t"] == start_t, "period"].iloc[0])
    else:
        if start_period not in set(panel["period"]):
            raise SpecificationError(f"start_period={start_period!r} is not a quarter of the panel "
                                     "(write it like '2021Q1').")
        start_t = int(panel.loc[panel["period"] == start_period, "t"].iloc[0])
    w = d["residents"].fillna(0) if weighting == "residents" else pd.Series(1.0, index=d.index)
    d = d.assign(_w=w, _wy=w * d[outcome])
    s = d.groupby(["t", "period"]).agg(wy=("_wy", "sum"), w=("_w", "sum"),
                                       n=("institution_id", "nunique")).reset_index()
    s = s[s["w"] > 0].sort_values("t").reset_index(drop=True)
    s["value"] = s["wy"] / s["w"]
    s["time"] = s["t"] - start_t
    s["post"] = (s["t"] >= start_t).astype(float)
    s["time_post"] = s["time"] * s["post"]
    n_pre, n_post = int((s["post"] == 0).sum()), int((s["post"] == 1).sum())
    if n_pre < 3 or n_post < 3:
        raise SpecificationError(f"Segmented regression needs ≥3 quarters on each side of {start_period}"
                                 f" (have {n_pre} before, {n_post} after); choose another start_period.")
    X = sm.add_constant(s[["time", "post", "time_post"]])
    fit = sm.OLS(s["value"], X).fit(cov_type="HAC", cov_kwds={"maxlags": maxlags,
                                                              "use_correction": True}, use_t=True)
    ci = fit.conf_int(alpha)
    names = {"const": "pre_level", "time": "pre_slope", "post": "level_change",
             "time_post": "slope_change"}
    table = pd.DataFrame({
        "outcome": outcome, "model": "its", "term": [names[k] for k in fit.params.index],
        "estimate": fit.params.to_numpy(), "std_error": fit.bse.to_numpy(),
        "ci_low": ci[0].to_numpy(), "ci_high": ci[1].to_numpy(), "p_value": fit.pvalues.to_numpy(),
        "inference": "hac", "n_obs": len(s), "note": DESCRIPTIVE,
    })
    s["fitted"] = fit.fittedvalues
    s["counterfactual"] = fit.params["const"] + fit.params["time"] * s["time"]
    scope = "city" if county_code is None else f"county {county_code}"
    notes = (f"{DESCRIPTIVE.capitalize()}: the segmented regression compares the series with its "
             "own extrapolated pre-trend, so anything else that changed at the start is included.",
             f"Newey–West (HAC) errors with {maxlags} lags; {n_pre} quarters before, {n_post} after; "
             f"{weighting} mean over institutions.")
    return ITSResult(outcome=outcome, start_period=start_period, scope=scope, table=table,
                     series=s[["period", "t", "value", "n", "post", "fitted", "counterfactual"]],
                     maxlags=maxlags, _notes=notes)


# --------------------------------------------------------------------------------------------
# problem resolution: Kaplan–Meier and Cox
# --------------------------------------------------------------------------------------------
SurvivalBy = Literal["category", "county", "sector"]


def _tables(data: Any) -> dict[str, pd.DataFrame]:
    tables = getattr(data, "tables", data)
    if not isinstance(tables, dict):
        raise SpecificationError("Pass the processed dataset (`load_processed(...)`) or its tables dict.")
    return tables


def problem_durations(data: Any, *, end_date: Any = None) -> pd.DataFrame:
    """One row per problem: days to resolution (or to ``end_date`` when open), event flag,
    category, county and the sector of the helper unit paired with the institution on the day the
    problem was found (``"unpaired"`` when none). When several units cover that day, a city-level
    unit is preferred to a county-level one and that to a township team (every institution has
    its township team; the departments are what differ), then the earliest pairing."""
    tables = _tables(data)
    for name in ("problems", "institutions"):
        if name not in tables:
            raise SpecificationError(f"The {name} table is missing; load the processed dataset.")
    pr = tables["problems"].copy()
    if pr.empty:
        raise SpecificationError("The problems table is empty: nothing to analyse.")
    if end_date is None:
        end = max(pr["found_date"].max(), pr["resolved_date"].max())
    else:
        end = pd.Timestamp(end_date)
        if end < pr["found_date"].max():
            raise SpecificationError(f"end_date={end.date()} is before the last problem found "
                                     f"({pr['found_date'].max().date()}); use a later date.")
    pr["event"] = pr["resolved_date"].notna() & (pr["resolved_date"] <= end)
    stop = pr["resolved_date"].where(pr["event"], end)
    pr["days"] = (stop - pr["found_date"]).dt.days.astype(float)
    inst = tables["institutions"][["institution_id", "county_code"]]
    pr = pr.merge(inst, on="institution_id", how="left")
    pr["sector"] = "unpaired"
    if "pairings" in tables and "units" in tables and len(tables["pairings"]):
        pa = tables["pairings"][["institution_id", "unit_id", "start_date", "end_date"]]
        m = pr[["problem_id", "institution_id", "found_date"]].merge(pa, on="institution_id")
        cover = (m["start_date"] <= m["found_date"]) & (m["end_date"].isna()
                                                        | (m["end_date"] >= m["found_date"]))
        units = tables["units"]
        lv = units["level"] if "level" in units.columns else pd.Series("", index=units.index)
        rank = dict(zip(units["unit_id"], lv.map({"city": 0, "county": 1, "township": 2}).fillna(3),
                        strict=True))
        m = m[cover].assign(_lv=lambda f: f["unit_id"].map(rank).fillna(3))
        m = m.sort_values(["problem_id", "_lv", "start_date", "unit_id"]).drop_duplicates("problem_id")
        m = m.merge(units[["unit_id", "sector"]], on="unit_id", how="left")
        pr = pr.drop(columns="sector").merge(m[["problem_id", "sector"]], on="problem_id", how="left")
        pr["sector"] = pr["sector"].fillna("unpaired")
    return pr[["problem_id", "institution_id", "county_code", "category", "sector", "found_date",
               "resolved_date", "days", "event"]]


@dataclass(frozen=True)
class SurvivalResult(ResultMixin):
    """Kaplan–Meier medians by group with intervals, KM curves, and a Cox model."""

    by: str
    km: pd.DataFrame = field(repr=False)
    curves: pd.DataFrame = field(repr=False)
    cox: pd.DataFrame = field(repr=False)
    n_problems: int = 0
    n_open: int = 0
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Days to resolve a problem, by {self.by} (Kaplan–Meier)"

    def tidy(self) -> pd.DataFrame:
        return self.km.copy()

    def summary(self) -> str:
        cox = self.cox.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return super().summary() + "\n\nCox proportional hazards (hazard ratio > 1: resolved faster)\n" + cox

    def plot(self, *, ax: Any = None, max_groups: int = 8) -> Any:
        from .plots import new_axes

        ax = new_axes(ax)
        top = self.km.sort_values("n", ascending=False)["group"].head(max_groups)
        for g in top:
            c = self.curves[self.curves["group"] == g]
            ax.step(c["days"], 1 - c["survival"], where="post", label=str(g))
        ax.set_xlabel("days since the problem was found")
        ax.set_ylabel("share resolved")
        ax.set_ylim(0, 1)
        ax.set_title(f"Problem resolution by {self.by} (open problems censored)")
        ax.legend(fontsize=7, ncol=2)
        return ax


def problem_survival(
    data: Any,
    *,
    by: SurvivalBy = "category",
    county_code: str | None = None,
    end_date: Any = None,
    alpha: float = 0.05,
    cox: bool = True,
    robust: bool = False,
) -> SurvivalResult:
    """Kaplan–Meier time-to-resolution curves and medians by group; Cox model of resolution.

    Open problems are right-censored at ``end_date`` (default: the last date in the problems
    table). Medians come with Brookmeyer–Crowley intervals (the times at which the pointwise
    log(−log) confidence band of the KM curve crosses 0.5, as lifelines computes them). The Cox
    model has category, county and helper-unit sector (of the unit paired with the institution on
    the day the problem was found) as covariates; hazard ratios above 1 mean faster resolution.

    Parameters
    ----------
    data : the processed dataset or its tables (problems, institutions, pairings, units).
    by : group of the KM curves: ``"category"``, ``"county"`` or ``"sector"``.
    county_code : restrict to one county (``None`` or ``"all"``: the city).
    end_date : censoring date for open problems.
    cox : fit the Cox model.
    robust : Cox standard errors clustered by institution (Lin & Wei 1989 sandwich; lifelines
        computes it slowly: ~10 s on the demo). Default: model-based errors, which ignore that
        problems of one institution may be correlated — the notes say so.

    References
    ----------
    Kaplan, E. L., & Meier, P. (1958). *JASA* 53(282), 457–481. Cox, D. R. (1972). *JRSS B*
    34(2), 187–220. Brookmeyer, R., & Crowley, J. (1982). *Biometrics* 38(1), 29–41.
    """
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.utils import median_survival_times

    check_choice("by", by, ("category", "county", "sector"))
    pr = problem_durations(data, end_date=end_date)
    county_code = None if county_code in (None, "all") else str(county_code)
    if county_code is not None:
        if county_code not in set(pr["county_code"]):
            raise SpecificationError(f"county_code={county_code!r} has no problems; choose one of "
                                     f"{sorted(pr['county_code'].dropna().unique())} or None.")
        pr = pr[pr["county_code"] == county_code]
    col = "county_code" if by == "county" else by
    rows, curves = [], []
    for g, sub in pr.groupby(col, sort=True):
        kmf = KaplanMeierFitter(alpha=alpha).fit(sub["days"], sub["event"], label=str(g))
        med = float(kmf.median_survival_time_)
        ci = median_survival_times(kmf.confidence_interval_)
        lo, hi = (float(v) for v in ci.iloc[0].to_numpy())
        rows.append({"by": by, "group": str(g), "n": len(sub), "resolved": int(sub["event"].sum()),
                     "open": int((~sub["event"]).sum()), "median_days": med,
                     "ci_low": lo, "ci_high": hi})
        sf = kmf.survival_function_.iloc[:, 0]
        curves.append(pd.DataFrame({"group": str(g), "days": sf.index.to_numpy(float),
                                    "survival": sf.to_numpy(float)}))
    cox_table = pd.DataFrame(columns=["covariate", "hazard_ratio", "ci_low", "ci_high", "p_value"])
    notes = [f"{len(pr)} problems, {int((~pr['event']).sum())} still open (censored)."]
    if cox and len(pr) > 20:
        covs = ["category", "sector"] + (["county_code"] if county_code is None else [])
        X = pr[["days", "event", "institution_id"] + covs].copy()
        X["event"] = X["event"].astype(int)
        # reference level: the most frequent one of each factor
        dummies = []
        for c in covs:
            ref = X[c].value_counts().index[0]
            dm = pd.get_dummies(X[c], prefix=c, dtype=float).drop(columns=f"{c}_{ref}")
            dm = dm.loc[:, dm.sum() >= 5]
            dummies.append(dm)
            notes.append(f"Cox reference {c}: {ref}.")
        Xc = pd.concat([X[["days", "event", "institution_id"]], *dummies], axis=1)
        if robust:
            cph = CoxPHFitter(alpha=alpha).fit(Xc, duration_col="days", event_col="event",
                                               cluster_col="institution_id")
        else:
            cph = CoxPHFitter(alpha=alpha).fit(Xc.drop(columns="institution_id"),
                                               duration_col="days", event_col="event")
        s = cph.summary
        lo_col = next(c for c in s.columns if c.startswith("exp(coef) lower"))
        hi_col = next(c for c in s.columns if c.startswith("exp(coef) upper"))
        cox_table = pd.DataFrame({
            "covariate": s.index.to_numpy(), "hazard_ratio": s["exp(coef)"].to_numpy(),
            "ci_low": s[lo_col].to_numpy(), "ci_high": s[hi_col].to_numpy(),
            "p_value": s["p"].to_numpy(), "se_type": "robust_institution" if robust else "model"})
        notes.append("Cox model: Efron ties; " + (
            "robust (sandwich) errors clustered by institution" if robust else
            "model-based errors (problems of one institution may be correlated; robust=True "
            "clusters by institution)") + "; hazard ratio > 1 = resolved faster than the reference.")
    return SurvivalResult(by=by, km=pd.DataFrame(rows), curves=pd.concat(curves, ignore_index=True),
                          cox=cox_table, n_problems=len(pr), n_open=int((~pr["event"]).sum()),
                          _notes=tuple(notes))


# --------------------------------------------------------------------------------------------
# helper-unit contributions: partial pooling vs the naive league table
# --------------------------------------------------------------------------------------------
def unit_membership(panel_rows: pd.DataFrame, pairings: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """``Z`` (rows × units): ``1/k`` for each of the ``k`` units whose pairing covers any day of the
    row's quarter, 0 otherwise; and the unit ids of the columns."""
    per = pd.PeriodIndex(panel_rows["period"].astype(str), freq="Q")
    rows = pd.DataFrame({"institution_id": panel_rows["institution_id"].to_numpy(),
                         "row": np.arange(len(panel_rows)), "qs": per.start_time,
                         "qe": per.end_time.normalize()})
    m = rows.merge(pairings[["institution_id", "unit_id", "start_date", "end_date"]],
                   on="institution_id")
    m = m[(m["start_date"] <= m["qe"]) & (m["end_date"].isna() | (m["end_date"] >= m["qs"]))]
    m = m.drop_duplicates(["row", "unit_id"])
    units = sorted(m["unit_id"].unique())
    col = {u: i for i, u in enumerate(units)}
    Z = np.zeros((len(panel_rows), len(units)))
    Z[m["row"].to_numpy(), m["unit_id"].map(col).to_numpy()] = 1.0
    k = Z.sum(axis=1, keepdims=True)
    return np.divide(Z, k, out=np.zeros_like(Z), where=k > 0), units


@dataclass(frozen=True)
class UnitContributionResult(ResultMixin):
    """Helper-unit effects: naive no-pooling estimates next to mixed-model shrunken estimates."""

    outcome: str
    table: pd.DataFrame = field(repr=False)
    sigma_unit: float = np.nan
    sigma_resid: float = np.nan
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Helper-unit contributions (partial pooling): {self.outcome}"

    def tidy(self) -> pd.DataFrame:
        return self.table.copy()

    def _display_table(self) -> pd.DataFrame:
        t = self.table.sort_values("shrunken", ascending=False)
        return t[["unit_id", "sector", "exposure", "naive", "naive_rank", "shrunken", "ci_low",
                  "ci_high", "shrunken_rank"]]

    def plot(self, *, ax: Any = None, top: int = 40) -> Any:
        """Naive (grey) and shrunken (with 95% interval) unit effects, ordered by the naive ranking."""
        from .plots import PALETTE, new_axes

        t = self.table.sort_values("naive").reset_index(drop=True)
        if len(t) > top:  # show the extremes of the naive ranking, where overstatement is largest
            t = pd.concat([t.head(top // 2), t.tail(top - top // 2)]).reset_index(drop=True)
        ax = new_axes(ax, figsize=(7, max(3.0, 0.16 * len(t) + 1)))
        y = np.arange(len(t))
        ax.plot(t["naive"], y, "o", color=PALETTE["other"], ms=4, label="naive (no pooling)")
        ax.errorbar(t["shrunken"], y, xerr=[t["shrunken"] - t["ci_low"], t["ci_high"] - t["shrunken"]],
                    fmt="o", ms=3, color=PALETTE["city"], capsize=2, lw=0.8,
                    label="mixed model (shrunken, 95% interval)")
        for yi, a, b in zip(y, t["naive"], t["shrunken"], strict=True):
            ax.plot([a, b], [yi, yi], color=PALETTE["other"], lw=0.5)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(y, t["unit_id"], fontsize=6)
        ax.set_xlabel(f"unit effect on {OUTCOME_LABELS.get(self.outcome, self.outcome)}")
        ax.set_title("Naive league table vs partial pooling")
        ax.legend(fontsize=7, loc="lower right")
        return ax


def _profiled_reml(y: np.ndarray, Z: np.ndarray, df_resid: int) -> dict[str, Any]:
    """Exact REML for ``y = (fixed) + Z b + e`` with ``b ~ N(0, γσ²I)``, ``e ~ N(0, σ²I)``, given
    ``y`` and ``Z`` already residualised on all fixed effects (``My``, ``MZ``) and the residual
    degrees of freedom ``n − rank(X)``. With ``Z'MZ = UΛU'`` and ``w = U'Z'My`` the REML
    log-likelihood profiled over σ² is ``−½[Σ log(1+γλ_j) + (n−p) log S(γ)]``,
    ``S(γ) = y'My − Σ w_j² γ/(1+γλ_j)``: a one-dimensional maximisation (Patterson & Thompson
    1971; the spectral form as in Kang et al. 2008, EMMA)."""
    from scipy.optimize import minimize_scalar

    lam, U = np.linalg.eigh(Z.T @ Z)
    lam = np.clip(lam, 0, None)
    w = U.T @ (Z.T @ y)
    yy = float(y @ y)

    def negll(log_g: float) -> float:
        g = np.exp(log_g)
        S = yy - float(np.sum(w**2 * g / (1 + g * lam)))
        return 0.5 * (np.sum(np.log1p(g * lam)) + df_resid * np.log(max(S, 1e-300)))

    opt = minimize_scalar(negll, bounds=(np.log(1e-8), np.log(1e4)), method="bounded",
                          options={"xatol": 1e-10})
    g = float(np.exp(opt.x))
    if negll(np.log(1e-8)) <= opt.fun + 1e-9:
        g = 0.0
    shrink = g / (1 + g * lam)
    S = yy - float(np.sum(w**2 * shrink))
    sigma2 = S / df_resid
    blup = U @ (shrink * w)
    cond_cov = sigma2 * (U * shrink) @ U.T
    return {"gamma": g, "sigma2": sigma2, "sigma2_unit": g * sigma2, "blup": blup,
            "cond_cov": cond_cov}


def unit_contributions(
    data: Any,
    *,
    outcome: Outcome = "composite",
    controls: Sequence[str] = DEFAULT_CONTROLS,
    engine: Literal["profiled", "statsmodels"] = "profiled",
    alpha: float = 0.05,
) -> UnitContributionResult:
    """Helper-unit effects by a linear mixed model with unit random effects (partial pooling).

    ``y_it = α_i + γ_t + β·log1p(activities_i,t−1) + controls·δ + Σ_u z_itu b_u + ε_it`` where
    ``z_itu = 1/k`` for each of the ``k`` units paired with institution ``i`` in quarter ``t``
    (an institution with two units gets their average effect), ``b_u ~ N(0, σ_u²)``. Institution
    and quarter effects are fixed (dummies: the mixed model needs them explicitly; this is meant
    for a city's few hundred institutions, not a national panel). Fitted by REML with
    ``statsmodels.MixedLM`` (one group, the unit effects as a variance component); the shrunken
    estimates are the BLUPs with intervals from their conditional variances. The naive league
    table is the same model with ``b_u`` as fixed effects (no pooling), centred. Unit effects are
    identified relative to one another only (the average unit effect is confounded with the
    programme start), so both columns are centred on zero.

    Parameters
    ----------
    data : the processed dataset (panel, pairings, units).
    outcome : target or ``"composite"``.
    controls : as in :func:`dose_response`.
    engine : ``"statsmodels"`` fits ``MixedLM`` with institution and quarter dummies (exact REML,
        several seconds on the demo city, impossible at national scale); ``"profiled"`` (default)
        absorbs the fixed effects by the within transformation and maximises the same REML
        likelihood profiled over σ² in one dimension via the eigendecomposition of ``Z'MZ``
        (milliseconds). Tests check that both engines give the same σ_u and BLUPs.

    References
    ----------
    Patterson, H. D., & Thompson, R. (1971). Recovery of inter-block information when block
    sizes are unequal. *Biometrika* 58(3), 545–554. Robinson, G. K. (1991). That BLUP is a good thing: the estimation of random effects.
    *Statistical Science* 6(1), 15–32. Gelman, A., & Hill, J. (2007), *Data Analysis Using
    Regression and Multilevel/Hierarchical Models*, ch. 12 (partial pooling).
    """
    from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

    panel = getattr(data, "panel", None)
    tables = _tables(data)
    if panel is None or "pairings" not in tables:
        raise SpecificationError("Pass the processed dataset (`load_processed(...)`): the panel and "
                                 "the pairings table are both needed.")
    d = _with_outcome(panel, outcome)
    controls = [c for c in controls if c in d.columns]
    d = d.dropna(subset=[outcome, "activities_lag1", *controls]).reset_index(drop=True)
    controls = [c for c in controls if d[c].nunique() > 1]
    check_choice("engine", engine, ("profiled", "statsmodels"))
    Z, units = unit_membership(d, tables["pairings"])
    if len(units) < 5:
        raise SpecificationError(f"Only {len(units)} helper units are paired in the data; a mixed "
                                 "model needs at least 5.")
    d["dose"] = np.log1p(d["activities_lag1"].to_numpy(float))
    yv = d[outcome].to_numpy(float)
    Xc = d[["dose", *controls]].to_numpy(float)
    q = len(units)
    if engine == "statsmodels":
        import warnings

        fixed = pd.get_dummies(d[["institution_id", "period"]], drop_first=True, dtype=float)
        X = np.column_stack([np.ones(len(d)), Xc, fixed.to_numpy()])
        vc = VCSpec(names=["unit"], colnames=[[[str(u) for u in units]]], mats=[[Z]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = MixedLM(yv, X, groups=np.zeros(len(d)), exog_vc=vc).fit(reml=True)
        blup = np.asarray(fit.random_effects[0], float)
        cond = np.asarray(fit.random_effects_cov[0], float)
        sigma2_unit, sigma2 = float(np.asarray(fit.vcomp)[0]), float(fit.scale)
    else:
        codes = [factorize(d[c])[0] for c in ("institution_id", "period")]
        yt, Xt, Zt = (demean(a, codes) for a in (yv, Xc, Z))
        # residualise on the remaining fixed regressors (FWL): M = M_D − X̃(X̃'X̃)⁻¹X̃'
        proj = np.linalg.lstsq(Xt, np.column_stack([yt, Zt]), rcond=None)[0]
        R = np.column_stack([yt, Zt]) - Xt @ proj
        df_resid = len(d) - Xt.shape[1] - fe_rank(codes)
        est = _profiled_reml(R[:, 0], R[:, 1:], df_resid)
        blup, cond = est["blup"], est["cond_cov"]
        sigma2_unit, sigma2 = est["sigma2_unit"], est["sigma2"]
    se_b = np.sqrt(np.clip(np.diag(cond), 0, None))
    # no pooling: unit effects as fixed regressors, by the within transformation, centred
    codes = [factorize(d[c])[0] for c in ("institution_id", "period")]
    XZ = demean(np.column_stack([Xc, Z]), codes)
    yt = demean(yv, codes)
    # minimum-norm least squares through the small cross-product matrix (k + q columns)
    ev, EV = np.linalg.eigh(XZ.T @ XZ)
    keep = ev > ev.max() * 1e-10
    xtx_pinv = (EV[:, keep] / ev[keep]) @ EV[:, keep].T
    coef = xtx_pinv @ (XZ.T @ yt)
    resid = yt - XZ @ coef
    rank = int(keep.sum()) + fe_rank(codes)
    s2 = resid @ resid / (len(yv) - rank)
    P = np.eye(q) - 1.0 / q
    k = Xc.shape[1]
    naive = P @ coef[k:]
    cov_all = xtx_pinv[k:, k:] * s2
    naive_se = np.sqrt(np.clip(np.diag(P @ cov_all @ P), 0, None))
    shr = blup - blup.mean()
    z = stats.norm.ppf(1 - alpha / 2)
    sector = dict(zip(tables["units"]["unit_id"], tables["units"]["sector"], strict=False)) \
        if "units" in tables else {}
    table = pd.DataFrame({
        "outcome": outcome, "unit_id": [str(u) for u in units],
        "sector": [sector.get(u, "") for u in units],
        "exposure": Z.sum(axis=0),
        "naive": naive, "naive_se": naive_se, "shrunken": shr, "shrunken_se": se_b,
        "ci_low": shr - z * se_b, "ci_high": shr + z * se_b,
    })
    table["naive_rank"] = table["naive"].rank(ascending=False, method="min").astype(int)
    table["shrunken_rank"] = table["shrunken"].rank(ascending=False, method="min").astype(int)
    sigma_u = float(np.sqrt(max(sigma2_unit, 0.0)))
    ratio = float(table["naive"].std() / table["shrunken"].std()) if table["shrunken"].std() > 0 else np.inf
    notes = (
        f"{q} helper units; estimated SD of true unit effects σ_u = {sigma_u:.3g}; the naive league "
        f"table's spread (SD {table['naive'].std():.3g}) is {ratio:.1f}× the shrunken one "
        f"(SD {table['shrunken'].std():.3g}).",
        "Exposure = institution-quarters covered, each shared equally among the units paired that "
        "quarter. Rank by the shrunken estimate and read its interval; most units cannot be told apart.",
    )
    return UnitContributionResult(outcome=outcome, table=table, sigma_unit=sigma_u,
                                  sigma_resid=float(np.sqrt(sigma2)), _notes=notes)


# --------------------------------------------------------------------------------------------
# results hook
# --------------------------------------------------------------------------------------------
RESULT_COLUMNS = ["outcome", "model", "term", "estimate", "std_error", "ci_low", "ci_high",
                  "p_value", "inference", "n_obs", "cluster", "n_clusters", "note"]


def _event_rows(es: EventStudyResult, n_obs: int) -> pd.DataFrame:
    t = es.tidy()
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
    pre = es.pretrend.tidy()
    pre_rows = pd.DataFrame({
        "outcome": es.outcome, "model": "repairing_pretrend", "term": pre["statistic"],
        "estimate": pre["value"], "std_error": np.nan, "ci_low": np.nan, "ci_high": np.nan,
        "p_value": pre["p_value"], "inference": pre["inference"],
        "n_obs": n_obs, "cluster": "institution_id", "n_clusters": pre["n_clusters"],
        "note": "joint test of the pre-period event-time ATTs (df = " + pre["df"].astype(str) + ")",
    })
    return pd.concat([out, pre_rows], ignore_index=True)


def build_results(processed: Any, *, B: int = 999, seed: int = 20210101) -> dict[str, pd.DataFrame]:
    """Results hook: ``effectiveness``, ``dose_response_curve``, ``survival``, ``survival_cox`` and
    ``unit_contributions`` tables for ``data/processed/<dataset>/results/``.

    ``effectiveness`` models: ``dose_response`` (primary: log1p(activities_lag1), institution and
    quarter effects, reform and re-pairing controls; inference ``analytic`` (clustered by institution) and
    ``wild_bootstrap`` by county), ``placebo_lead`` (same plus the lead),
    ``dose_response_county_quarter`` / ``placebo_lead_county_quarter`` (county × quarter effects),
    ``dose_response_visits_log1p`` and ``dose_response_value_per_resident_log1p`` (other
    intensities, analytic inference), ``repairing_event_study`` and ``repairing_pretrend``, and
    ``its`` (descriptive: no control group).
    """
    panel = _with_outcome(processed.panel, "composite")  # composite and repaired, once
    parts, curves = [], []
    for outcome in OUTCOMES:
        primary = dose_response(panel, outcome=outcome, B=B, seed=seed)
        parts.append(primary.tidy())
        curves.append(primary.curve)
        parts.append(dose_response(panel, outcome=outcome, placebo=True, B=B, seed=seed).tidy())
        for te in ("county_quarter",):
            parts.append(dose_response(panel, outcome=outcome, time_effects=te, B=B, seed=seed).tidy())
            parts.append(dose_response(panel, outcome=outcome, time_effects=te, placebo=True, B=B,
                                       seed=seed).tidy())
        for intensity in ("visits", "value_per_resident"):
            parts.append(dose_response(panel, outcome=outcome, intensity=intensity,
                                       inference=("analytic",)).tidy())
    eff = pd.concat(parts, ignore_index=True)
    eff["note"] = np.where(eff["inference"] == "wild_bootstrap",
                           "restricted wild cluster bootstrap-t, Webb weights, few clusters", "")
    rows = [eff]
    has_repair = "repair_t" in panel.columns and panel["repair_t"].notna().any()
    for outcome in OUTCOMES:
        if has_repair:
            es = repairing_event_study(panel, outcome=outcome, n_boot=B, seed=seed)
            n_obs = int(_with_outcome(panel, outcome)[outcome].notna().sum())
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
    out: dict[str, pd.DataFrame] = {"effectiveness": effectiveness,
                                    "dose_response_curve": pd.concat(curves, ignore_index=True)}
    tables = _tables(processed)
    if len(tables.get("problems", ())):
        km, cox = [], None
        for by in ("category", "county", "sector"):
            sv = problem_survival(processed, by=by, cox=(by == "category"))
            km.append(sv.km)
            if cox is None:
                cox = sv.cox
        out["survival"] = pd.concat(km, ignore_index=True)
        out["survival_cox"] = cox if cox is not None else pd.DataFrame()
    if len(tables.get("pairings", ())):
        out["unit_contributions"] = unit_contributions(processed, outcome="composite").tidy()
    return out


def _run_step(processed: Any, options: BuildOptions) -> dict[str, pd.DataFrame]:
    return build_results(processed, B=options.n_boot, seed=options.seed)


#: the build step (draws: ``options.n_boot``; seed: ``options.seed``)
STEP = Step("effectiveness", run=_run_step, description="pairing effectiveness")
