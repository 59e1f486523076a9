"""Dose-response: each outcome on last quarter's pairing intensity, with honest few-cluster inference.

``y_it = α_i + γ_t + f(intensity_i,t−1) + controls_it·δ [+ g(intensity_i,t+1)] + ε_it``.

* Fixed effects (institution and quarter, or institution and county × quarter) are absorbed by
  alternating projections (Gaure 2013, *CSDA* 66) in :mod:`analysis.within`, never by dummy
  matrices; standard errors are CR1 clustered by institution (Cameron & Miller 2015, *J. Human
  Resources* 50(2)), with intervals and p-values from Student's t with ``G − 1`` degrees of
  freedom, ``G`` the number of institutions (columns ``critical`` and ``df``; the band of the
  curve uses the same critical value).
* With ~11 counties the county-clustered analytic test is unreliable, so the restricted wild
  cluster bootstrap-t by county (Cameron, Gelbach & Miller 2008, *REStat* 90(3); Roodman et al.
  2019, *Stata Journal* 19(1); Webb 2023, *CJE* 56(3) weights) of
  :mod:`analysis.inference.wild` gives the p-values and intervals every output points to.
* ``f`` is ``β·log1p(x)``, linear, or a restricted cubic spline (Harrell 2015, *Regression
  Modeling Strategies*, §2.4.5). The spline basis is written out here because patsy's ``cr()``
  uses a different (centred, penalised-regression) parametrisation; Harrell's keeps the linear
  term as the first coefficient and is linear beyond the outer knots, as ``rms::rcs``.
* A lead placebo (next quarter's intensity) is available with ``placebo=True``: a future dose
  cannot cause today's outcome. It detects help that follows the outcome of the quarter before
  it (its power against such targeting: ``validation/targeting_results.md``), not every
  violation of strict exogeneity.
* **What the coefficient means**: an association conditional on the fixed effects and controls.
  It is a causal dose-response only under strict exogeneity (help unrelated to past, present and
  future outcome shocks given the fixed effects; Wooldridge 2010, §10.5); help that goes where
  problems were breaks it (``docs/caveats.md``, E1). :mod:`.iv` is the design that survives that.
  The **headline** interval is the county wild bootstrap's (column ``headline``); the
  institution-clustered analytic row is shown beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..domain import OutcomeOrComposite, outcome_label
from ..errors import SpecificationError, check_option
from ..inference import wild_cluster_bootstrap
from ..inference.stepdown import NullDraws
from ..results import ResultMixin
from ..within import fe_ols
from .prepare import DEFAULT_CONTROLS, INTENSITIES, Intensity, axis_label, with_outcome

__all__ = ["DoseInference", "DoseResponseResult", "TimeEffects", "Transform", "dose_response",
           "rcs_basis"]

Transform = Literal["log1p", "spline", "linear"]
TimeEffects = Literal["quarter", "county_quarter"]
#: the inference methods of a dose-response (names from :data:`analysis.domain.INFERENCE_NAMES`)
#: (``analytic_county`` gives rows with ``inference="analytic"`` and ``cluster="county_code"``)
DoseInference = Literal["analytic", "analytic_county", "wild_bootstrap"]


def _analytic_rows(fit: Any, terms: list[str], cluster: str, alpha: float) -> list[dict]:
    """The analytic rows of ``terms`` from an :func:`~analysis.within.fe_ols` fit clustered by
    ``cluster`` (CR1, ``t(G − 1)``)."""
    t = fit.coef_table(alpha=alpha)
    return [{"term": r["term"], "estimate": r["estimate"], "std_error": r["std_error"],
             "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p_value": r["p_value"],
             "inference": "analytic", "cluster": cluster, "n_clusters": fit.n_clusters,
             "critical": "t", "df": float(fit.df_inference)}
            for _, r in t[t["term"].isin(terms)].iterrows()]


def rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Restricted (natural) cubic spline basis of Harrell (2015, §2.4.5), scaled by the knot range.

    Parameters
    ----------
    x : numpy.ndarray
        Values (1-d).
    knots : numpy.ndarray
        Increasing knots (at least 3).

    Returns
    -------
    numpy.ndarray
        ``len(x) × (len(knots) − 1)``: the linear term plus ``len(knots) − 2`` non-linear terms,
        linear beyond the outer knots.
    """
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
    """Fixed-effects dose-response of one outcome on lagged pairing intensity.

    ``tables()``: ``coefficients`` (one row per dose term and inference method). ``curve`` (the
    predicted change relative to no activity on a grid up to the 99th percentile, with its
    institution-clustered band) and ``x_observed`` (percentiles of the intensity) are what
    :meth:`plot` draws.
    """

    display_columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "coefficients": ("term", "inference", "estimate", "std_error", "ci_low", "ci_high",
                         "p_value", "cluster", "n_clusters", "n_obs")}

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
    #: the wild bootstrap's null draws of each tested term (for the Romano–Wolf adjustment across
    #: outcomes, :mod:`analysis.inference.stepdown`); empty without wild-bootstrap rows
    null_draws: dict[str, NullDraws] = field(default_factory=dict, repr=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Dose-response: {self.outcome} on {self.transform}({self.intensity}, lagged)"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"coefficients": self.table}

    def coefficient(self, term: str | None = None,
                    inference: DoseInference = "analytic") -> pd.Series:
        """The row of ``term`` (default: the first dose term) for one inference method
        (``analytic``: clustered by institution; ``analytic_county``: by county)."""
        check_option("inference", inference, DoseInference)
        term = term or self.terms[0]
        t = self.table
        if inference == "analytic_county":
            return t[(t["term"] == term) & (t["inference"] == "analytic")
                     & (t["cluster"] == "county_code")].iloc[0]
        if inference == "analytic":
            return t[(t["term"] == term) & (t["inference"] == "analytic")
                     & (t["cluster"] == "institution_id")].iloc[0]
        return t[(t["term"] == term) & (t["inference"] == inference)].iloc[0]

    def plot(self, *, ax: Any = None) -> Any:
        """Predicted change relative to no activity, with the pointwise 95% band (cluster SE)."""
        from ..plots import PALETTE, new_axes

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
        ax.set_ylabel(axis_label(self.outcome, "change in "))
        ax.set_title(f"Dose-response: {outcome_label(self.outcome)}")
        ax.legend(fontsize=8)
        return ax


def dose_response(
    panel: pd.DataFrame,
    *,
    outcome: OutcomeOrComposite = "environment_score",
    intensity: Intensity = "activities",
    transform: Transform = "log1p",
    controls: Sequence[str] = DEFAULT_CONTROLS,
    time_effects: TimeEffects = "quarter",
    placebo: bool = False,
    inference: Sequence[DoseInference] = ("analytic", "wild_bootstrap"),
    n_knots: int = 4,
    n_boot: int = 999,
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
    panel : pandas.DataFrame
        The institution-quarter panel (not modified).
    outcome : {"environment_score", "service_score", "happiness_score", "safety_hazards", \
"composite"}
        One of the four targets or the composite index (:mod:`analysis.indicators`).
    intensity : {"activities", "visits", "value_per_resident"}
        The pairing intensity, lagged one quarter (money as RMB per resident).
    transform : {"log1p", "spline", "linear"}
        The form of ``f``.
    controls : sequence of str
        Time-varying controls; by default the reform status (``reform_treated``) and a
        post-re-pairing indicator (``repaired``), two other programmes that move the outcomes.
        Controls that do not vary are dropped.
    time_effects : {"quarter", "county_quarter"}
        One effect per quarter (the primary specification) or per county and quarter (absorbs
        county-level shocks such as a county campaign, at the price of using only
        within-county-quarter variation).
    placebo : bool
        Add next quarter's intensity (same transform); a future dose cannot cause today's
        outcome, so its coefficient should be zero.
    inference : sequence of {"analytic", "analytic_county", "wild_bootstrap"}
        ``"analytic"``: CR1 clustered by institution, t with G−1 df (``G`` institutions; stated in
        the columns ``critical`` and ``df``). ``"analytic_county"``: CR1 clustered by county, t
        with G−1 df (``G`` counties); rows with ``inference="analytic"``,
        ``cluster="county_code"`` — the build's headline from
        :data:`analysis.inference.policy.ANALYTIC_FROM_CLUSTERS` counties on, where it replaces the
        bootstrap. ``"wild_bootstrap"``:
        restricted wild cluster bootstrap-t by county, Webb weights, ``n_boot`` draws, interval
        by test inversion (Cameron, Gelbach & Miller 2008; Roodman et al. 2019).
    n_knots : int
        Knots of the spline (3 to 7).
    n_boot : int
        Wild-bootstrap draws.
    seed : int
        Seed of ``numpy.random.default_rng`` for the bootstrap (one stream for all terms).
    alpha : float
        1 − level of the intervals.

    Returns
    -------
    DoseResponseResult
        ``tidy()`` columns: outcome, model, term, estimate, std_error, ci_low, ci_high, p_value,
        inference, cluster, n_clusters, critical (``"t"`` on analytic rows), df (``G − 1``
        there), n_obs, intensity, transform, time_effects, headline (``True`` on the county
        wild-bootstrap rows, the interval to quote; else on the county-clustered analytic rows;
        on the institution-clustered analytic rows when neither ran).

    Raises
    ------
    SpecificationError
        For an unknown option, missing panel columns, negative intensities or a spline the data
        cannot support.

    References
    ----------
    Gaure (2013) *CSDA* 66; Cameron & Miller (2015) *J. Human Resources* 50(2); Harrell (2015)
    *Regression Modeling Strategies*, §2.4.5 (restricted cubic splines); Webb (2023) *CJE* 56(3).
    """
    check_option("intensity", intensity, Intensity)
    check_option("transform", transform, Transform)
    check_option("time_effects", time_effects, TimeEffects)
    inference = tuple(inference)
    for name in inference:
        check_option("inference", name, DoseInference)
    if not inference:
        raise SpecificationError("inference is empty; ask for 'analytic', 'analytic_county' "
                                 "and/or 'wild_bootstrap'.")
    if transform == "spline" and not 3 <= n_knots <= 7:
        raise SpecificationError(f"n_knots={n_knots} must be between 3 and 7 (Harrell recommends 4 or 5).")
    d = with_outcome(panel, outcome)
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
        basis = rcs_basis(x, knots)
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
    null_draws: dict[str, NullDraws] = {}
    fit = fe_ols(d, y=outcome, x=xcols, fe=fes, cluster="institution_id")
    n_counties = int(d["county_code"].nunique())
    if "analytic_county" in inference:
        cfit = fe_ols(d, y=outcome, x=xcols, fe=fes, cluster="county_code")
        rows += _analytic_rows(cfit, terms + placebo_terms, "county_code", alpha)
        notes.append(
            f"County-clustered analytic rows: CR1 clustered by county, t({cfit.df_inference}) "
            f"critical values (G = {cfit.n_clusters} counties).")
    if "analytic" in inference:
        rows += _analytic_rows(fit, terms + placebo_terms, "institution_id", alpha)
        notes.append(
            f"Analytic rows: CR1 clustered by institution, t({fit.df_inference}) critical values "
            f"and p-values (G − 1 degrees of freedom, G = {fit.n_clusters} institutions).")
    if "wild_bootstrap" in inference:
        wb = wild_cluster_bootstrap(d, y=outcome, x=xcols, term=terms + placebo_terms,
                                    cluster="county_code", fe=boot_fe, dummies=boot_dummies,
                                    n_boot=n_boot, seed=seed, alpha=alpha)
        labels = tuple(sorted(d["county_code"].astype(str).unique()))
        for _, r in wb.table.iterrows():
            null_draws[r["term"]] = NullDraws(
                abs(float(r["statistic"])), np.abs(wb.t_star[r["term"]]),
                ("wcr", labels, int(seed), int(n_boot), tuple(terms + placebo_terms),
                 (terms + placebo_terms).index(r["term"])), "wild_bootstrap")
            rows.append({"term": r["term"], "estimate": r["estimate"], "std_error": r["std_error"],
                         "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p_value": r["p_value"],
                         "inference": "wild_bootstrap", "cluster": "county_code",
                         "n_clusters": r["n_clusters"], "critical": None, "df": np.nan})
        notes.append(
            f"Wild bootstrap: restricted wild cluster bootstrap-t by county ({n_counties} clusters, "
            f"Webb weights, n_boot={n_boot}); with so few counties its p-value is the honest one, and the "
            "std_error shown beside it is the analytic county-clustered SE (not used for the test).")
    table = pd.DataFrame(rows)
    table.insert(0, "model", model)
    table.insert(0, "outcome", outcome)
    table["n_obs"] = fit.n_obs
    table["intensity"] = intensity
    table["transform"] = transform
    table["time_effects"] = time_effects
    # the headline interval: the county few-cluster one (wild bootstrap) when it was computed,
    # else the county-clustered analytic one, else the institution-clustered one
    if "wild_bootstrap" in inference:
        table["headline"] = table["inference"] == "wild_bootstrap"
    elif "analytic_county" in inference:
        table["headline"] = (table["inference"] == "analytic") & (table["cluster"] == "county_code")
    else:
        table["headline"] = table["inference"] == "analytic"
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
        G = rcs_basis(grid, knots) - rcs_basis(np.zeros(1), knots)
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
        notes.append(
            "Placebo: the lead (next quarter's intensity) should have no effect. A lead near zero "
            "does not show that help is exogenous: it detects help that follows the outcome of the "
            "quarter before it, not help that follows what the outcome does not record "
            "(validation/targeting_results.md).")
    notes.append(
        "Read as an association conditional on the fixed effects and controls, not as a causal "
        "effect: it needs help to be unrelated to the outcome's shocks (strict exogeneity), which "
        "fails where help goes to the homes that had a bad quarter (docs/caveats.md, E1). "
        + ("Headline interval: the county wild bootstrap; the institution-clustered row is shown "
           "beside it." if "wild_bootstrap" in inference else
           "Headline interval: clustered by county (analytic, enough counties for it); the "
           "institution-clustered row is shown beside it." if "analytic_county" in inference else
           "Only the institution-clustered interval was computed: it ignores county-wide shocks."))
    return DoseResponseResult(
        outcome=outcome, intensity=intensity, transform=transform, terms=tuple(terms + placebo_terms),
        table=table, curve=curve, x_observed=np.quantile(x, np.linspace(0, 1, 101)),
        n_obs=fit.n_obs, n_institutions=int(d["institution_id"].nunique()), n_counties=n_counties,
        _notes=tuple(notes), null_draws=null_draws,
    )

