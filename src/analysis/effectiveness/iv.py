"""Instrumental-variable dose-response: a design that survives help going where problems were.

The fixed-effects dose-response needs help to be unrelated to the outcome's shocks given the fixed
effects (strict exogeneity). When help goes to the homes that had a bad quarter it is not
(``validation/targeting.py`` measures what that does). This module instruments the
institution's lagged intensity ``log1p(activities_lag1)`` by ``log1p(partner_activity_lag1)``:
what the institution's helper units did **at their other institutions** in the same quarter
(:func:`analysis.effectiveness.prepare.partner_activity`, leave-one-out), with the same
institution and quarter fixed effects and controls. The instrument moves with a unit's busy or
slack quarters; it is valid when those are unrelated to this institution's outcome shocks —
the unit's other homes' needs must not share this home's shocks (need relative to the county
mean, not county shocks), and units must not choose their other homes' help by this home's
outcomes.

Estimation is two-stage least squares by hand on the within-transformed data (Frisch–Waugh–
Lovell; the fixed effects absorbed by :func:`analysis.within.demean`, Gaure 2013): with ``X̃``
the demeaned ``[x, controls]``, ``Z̃`` the demeaned ``[z, controls]`` and ``X̂ = P_Z̃ X̃``,
``β = (X̂'X̂)⁻¹X̂'ỹ``, the cluster-robust (CR1) covariance ``(X̂'X̂)⁻¹ Σ_g X̂_g'û_g û_g'X̂_g
(X̂'X̂)⁻¹`` with ``û = ỹ − X̃β`` (Cameron & Miller 2015, §VII; Wooldridge 2010, *Econometric
Analysis of Cross Section and Panel Data*, §5.2 and §11.1).

* **Inference**: the headline row clusters by **county** with ``t(G − 1)`` critical values
  (``G`` = 11 counties in the demo; the package's few-cluster convention) and carries, beside
  it, the delete-one-county jackknife (CV3, MacKinnon, Nielsen & Webb 2023, *J. Econometrics*
  232(2)) standard error and interval on the same ``t(G − 1)``; a row clustered by institution
  is shown for comparison.
* **First-stage strength**: the cluster-robust first-stage F of the excluded instrument (by
  county and by institution). With one instrument it equals the Kleibergen–Paap Wald F and the
  *effective F* of Montiel Olea & Pflueger (2013, *JBES* 31(3)), whose critical value for a 10 %
  worst-case bias at the 5 % level is 23.1; rows below it carry ``weak_instrument = True``.

References
----------
Gaure (2013) *CSDA* 66; Cameron & Miller (2015) *J. Human Resources* 50(2); Montiel Olea &
Pflueger (2013) *JBES* 31(3); Andrews, Stock & Sun (2019) *Annual Review of Economics* 11;
MacKinnon, Nielsen & Webb (2023) *J. Econometrics* 232(2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from ..domain import OutcomeOrComposite, outcome_label
from ..errors import SpecificationError
from ..results import ResultMixin
from ..within import demean, factorize, fe_rank
from .prepare import DEFAULT_CONTROLS, partner_activity, tables_of, with_outcome

__all__ = ["EFFECTIVE_F_CRITICAL", "IVResult", "dose_response_iv"]

#: Montiel Olea & Pflueger (2013) critical value of the effective F (one instrument, 5 % test
#: that the worst-case Nagar bias exceeds 10 % of the OLS benchmark)
EFFECTIVE_F_CRITICAL = 23.109

ENDOGENOUS = "log1p(activities_lag1)"
INSTRUMENT = "log1p(partner_activity_lag1)"


@dataclass(frozen=True)
class IVResult(ResultMixin):
    """Two-stage least squares dose-response with institution and quarter fixed effects.

    ``tables()``: ``coefficients`` (the dose term clustered by county — the headline, with the
    county jackknife's CV3 standard error and interval beside it — and by institution) and ``first_stage`` (the instrument's first-stage
    coefficient and its cluster-robust F by county and by institution).
    """

    display_columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "coefficients": ("term", "inference", "cluster", "estimate", "std_error", "ci_low",
                         "ci_high", "p_value", "cv3_std_error", "first_stage_f", "n_clusters",
                         "n_obs")}

    outcome: str
    table: pd.DataFrame = field(repr=False)
    first_stage: pd.DataFrame = field(repr=False)
    n_obs: int
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Dose-response, instrumented: {self.outcome} on {ENDOGENOUS}"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"coefficients": self.table, "first_stage": self.first_stage}

    def coefficient(self, cluster: str = "county_code", inference: str = "analytic") -> pd.Series:
        """The dose row of one clustering and inference method."""
        t = self.table
        return t[(t["cluster"] == cluster) & (t["inference"] == inference)].iloc[0]

    def plot(self, *, ax: Any = None) -> Any:
        """The dose coefficient with its intervals, one line per inference."""
        from ..plots import PALETTE, new_axes

        ax = new_axes(ax)
        t = self.table.reset_index(drop=True)
        for k, r in t.iterrows():
            ax.errorbar(r["estimate"], k, xerr=[[r["estimate"] - r["ci_low"]],
                                                [r["ci_high"] - r["estimate"]]],
                        fmt="o", color=PALETTE["city"], capsize=3)
        ax.set_yticks(range(len(t)), [f"{i} ({c})" for i, c in zip(t["inference"], t["cluster"],
                                                                     strict=True)])
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_xlabel(f"2SLS coefficient on {ENDOGENOUS}")
        ax.set_title(f"Instrumented dose-response: {outcome_label(self.outcome)}")
        return ax


def _tsls(y: np.ndarray, X: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    """2SLS of ``y`` on ``X`` with instruments ``Z`` (all demeaned): coefficients, ``X̂`` and
    residuals."""
    gamma, *_ = np.linalg.lstsq(Z, X, rcond=None)
    Xh = Z @ gamma
    beta = np.linalg.solve(Xh.T @ Xh, Xh.T @ y)
    return beta, Xh, y - X @ beta


def _cr1(Xh: np.ndarray, resid: np.ndarray, codes: np.ndarray, g: int, n_params: int) -> np.ndarray:
    n = len(resid)
    bread = np.linalg.inv(Xh.T @ Xh)
    scores = np.zeros((g, Xh.shape[1]))
    np.add.at(scores, codes, Xh * resid[:, None])
    factor = g / (g - 1) * (n - 1) / (n - n_params)
    return factor * bread @ (scores.T @ scores) @ bread


def dose_response_iv(
    panel: pd.DataFrame,
    tables: Any,
    *,
    outcome: OutcomeOrComposite = "environment_score",
    controls: Sequence[str] = DEFAULT_CONTROLS,
    jackknife: bool = True,
    alpha: float = 0.05,
) -> IVResult:
    """Dose-response of ``outcome`` on ``log1p(activities_lag1)`` instrumented by the partner
    units' leave-one-out activity, with institution and quarter fixed effects.

    Parameters
    ----------
    panel : pandas.DataFrame
        The institution-quarter panel (not modified).
    tables : Processed or dict of pandas.DataFrame
        The raw tables (``activities``, ``pairings``) the instrument is built from.
    outcome : str
        One of the four targets or ``"composite"``.
    controls : sequence of str
        Exogenous time-varying controls (default: reform status and re-pairing, as the
        fixed-effects dose-response); those that do not vary are dropped.
    jackknife : bool
        Add the delete-one-county jackknife (CV3) row (one 2SLS fit per county).
    alpha : float
        1 − level of the intervals.

    Returns
    -------
    IVResult
        ``tidy()`` columns: outcome, model (``dose_response_iv``), term, estimate, std_error,
        ci_low, ci_high, p_value, inference (``analytic``), cluster (``county_code``: the
        headline; ``institution_id``), n_clusters, critical (``"t"``), df, first_stage_f,
        weak_instrument, cv3_std_error, cv3_ci_low, cv3_ci_high (county row; NaN without
        ``jackknife``), headline, n_obs, instrument.

    Raises
    ------
    SpecificationError
        When the instrument does not vary within the fixed effects (no unit serves two
        institutions) or fewer than three counties remain.

    References
    ----------
    Wooldridge (2010) §5.2; Cameron & Miller (2015); Montiel Olea & Pflueger (2013) *JBES* 31(3);
    MacKinnon, Nielsen & Webb (2023) *J. Econometrics* 232(2).
    """
    d = with_outcome(panel, outcome)
    z = partner_activity(tables_of(tables), d)
    d = d.assign(**{INSTRUMENT: np.log1p(z["partner_activity_lag1"].to_numpy(float)),
                    ENDOGENOUS: np.log1p(d["activities_lag1"].to_numpy(float))})
    controls = [c for c in controls if c in d.columns]
    d = d.dropna(subset=[outcome, ENDOGENOUS, INSTRUMENT, *controls]).reset_index(drop=True)
    controls = [c for c in controls if d[c].nunique() > 1]
    if d["county_code"].nunique() < 3:
        raise SpecificationError("The instrumented dose-response needs at least three counties.")
    fe = [factorize(d["institution_id"])[0], factorize(d["period"])[0]]
    yt = demean(d[outcome].to_numpy(float), fe)
    Xt = demean(d[[ENDOGENOUS, *controls]].to_numpy(float), fe).reshape(len(d), -1)
    Zt = demean(d[[INSTRUMENT, *controls]].to_numpy(float), fe).reshape(len(d), -1)
    if np.sqrt((Zt[:, 0] ** 2).sum()) <= 1e-9 * max(1.0, np.sqrt((d[INSTRUMENT] ** 2).sum())):
        raise SpecificationError(
            "The partner units' activity elsewhere does not vary within institutions and quarters "
            "(no unit serves two institutions): the instrumented dose-response cannot be formed.")
    n = len(d)
    n_params = Xt.shape[1] + fe_rank(fe)
    cv3 = float("nan")
    beta, Xh, resid = _tsls(yt, Xt, Zt)
    # first stage: x on [z, controls]
    gam, *_ = np.linalg.lstsq(Zt, Xt[:, 0], rcond=None)
    fs_resid = Xt[:, 0] - Zt @ gam
    crit_rows, fs_rows = [], []
    for cluster in ("county_code", "institution_id"):
        codes, g = factorize(d[cluster])
        V = _cr1(Xh, resid, codes, g, n_params)
        Vf = _cr1(Zt, fs_resid, codes, g, n_params)
        f_stat = float(gam[0] ** 2 / Vf[0, 0])
        fs_rows.append({"cluster": cluster, "n_clusters": g, "coefficient": float(gam[0]),
                        "std_error": float(np.sqrt(Vf[0, 0])), "first_stage_f": f_stat,
                        "weak_instrument": bool(f_stat < EFFECTIVE_F_CRITICAL)})
        crit_rows.append(("analytic", cluster, g, float(np.sqrt(V[0, 0])), f_stat))
        if cluster == "county_code" and jackknife:
            # delete-one-county jackknife (CV3) of the 2SLS coefficient
            loo = []
            for c in range(g):
                keep = codes != c
                fe_c = [factorize(d.loc[keep, "institution_id"])[0],
                        factorize(d.loc[keep, "period"])[0]]
                b, *_ = _tsls(demean(d.loc[keep, outcome].to_numpy(float), fe_c),
                              demean(d.loc[keep, [ENDOGENOUS, *controls]].to_numpy(float),
                                     fe_c).reshape(int(keep.sum()), -1),
                              demean(d.loc[keep, [INSTRUMENT, *controls]].to_numpy(float),
                                     fe_c).reshape(int(keep.sum()), -1))
                loo.append(b[0])
            loo_a = np.asarray(loo)
            cv3 = float(np.sqrt((g - 1) / g * ((loo_a - beta[0]) ** 2).sum()))
    rows = []
    for inference, cluster, g, se, f_stat in crit_rows:
        q = stats.t.ppf(1 - alpha / 2, g - 1)
        tstat = beta[0] / se
        rows.append({"term": ENDOGENOUS, "estimate": float(beta[0]), "std_error": se,
                     "ci_low": float(beta[0] - q * se), "ci_high": float(beta[0] + q * se),
                     "p_value": float(2 * stats.t.sf(abs(tstat), g - 1)),
                     "inference": inference, "cluster": cluster, "n_clusters": g,
                     "critical": "t", "df": float(g - 1), "first_stage_f": f_stat,
                     "weak_instrument": bool(f_stat < EFFECTIVE_F_CRITICAL)})
    table = pd.DataFrame(rows)
    county = (table["cluster"] == "county_code").to_numpy()
    q10 = stats.t.ppf(1 - alpha / 2, table["n_clusters"].to_numpy(float) - 1)
    table["cv3_std_error"] = np.where(county, cv3, np.nan)
    table["cv3_ci_low"] = np.where(county, beta[0] - q10 * cv3, np.nan)
    table["cv3_ci_high"] = np.where(county, beta[0] + q10 * cv3, np.nan)
    table.insert(0, "model", "dose_response_iv")
    table.insert(0, "outcome", outcome)
    table["headline"] = county
    table["n_obs"] = n
    table["instrument"] = INSTRUMENT
    first = pd.DataFrame(fs_rows)
    f_county = float(first.loc[first["cluster"] == "county_code", "first_stage_f"].iloc[0])
    notes = [
        f"2SLS: {ENDOGENOUS} instrumented by {INSTRUMENT} (the helper units' activity at their "
        "other institutions, leave-one-out), institution and quarter fixed effects, controls "
        f"{', '.join(controls) or 'none'}; {n} institution-quarters.",
        f"First stage: cluster-robust F = {f_county:.1f} by county (= the effective F of Montiel "
        f"Olea & Pflueger 2013 with one instrument; {EFFECTIVE_F_CRITICAL} is their 10 % bias "
        "threshold)" + (" — weak instrument: do not read the 2SLS estimate." if
                        f_county < EFFECTIVE_F_CRITICAL else "."),
        "Headline interval: CR1 clustered by county with t(G − 1) critical values; the "
        "delete-one-county jackknife (CV3) standard error and interval on the same row "
        "(cv3_std_error, cv3_ci_low, cv3_ci_high) and the institution-clustered row beside it.",
        "Valid only if the units' busy and slack quarters are unrelated to this institution's "
        "outcome shocks (see docs/methods_effectiveness.md).",
    ]
    return IVResult(outcome=outcome, table=table, first_stage=first, n_obs=n, _notes=tuple(notes))
