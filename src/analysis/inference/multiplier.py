"""Restricted wild cluster bootstrap-t for estimators that are linear in the outcome.

The Callaway–Sant'Anna ATT(g,t), every aggregate of them and their influence functions are linear
in the outcome array for a fixed adoption assignment. The bootstrap therefore never re-estimates
anything: with restricted residuals ``ẽ`` (a two-way fixed-effects model with a constant
post-adoption effect fixed at the hypothesised value ``τ₀``), the bootstrap outcome is
``fitted + w_c ẽ`` with one Webb weight ``w_c`` per cluster, and

* ``θ* − τ₀ = Σ_k w_k T_k`` with ``T_k = θ(ẽ restricted to cluster k)``;
* the cluster sums of the bootstrap influence function are ``Ψ*_c = Σ_k w_k M_kc`` with
  ``M_kc = Ψ_c(ẽ restricted to cluster k)``

(the fitted values of the restricted model have zero influence function and ATT exactly ``τ₀``
under the estimator's own parallel-trends structure). ``T`` and ``M`` come from one batched run
of the estimator on ``2G`` outcome arrays; each draw then costs O(G²). The restricted residuals are
linear in ``τ₀`` (``ẽ(τ₀) = ẽ_Y − τ₀ ẽ_D``), so the interval is found by test inversion with the
draws held fixed, as ``boottest`` does for OLS. p-values and intervals follow the package's one
convention (:mod:`analysis.inference.pvalue`): ``p = (1 + #{|t*| ≥ |t|}) / (B + 1)`` and the
interval ``{τ₀ : p(τ₀) > α}``.

For pre-period keys (event time < 0) the null is "no effect in that pre-period": the restricted
model is the two-way fixed-effects model with a free post-adoption effect, whose residuals do not
depend on ``τ₀``; inverting that test gives the symmetric bootstrap-t interval
``θ̂ ± q* · se`` with ``q*`` the order statistic of ``|t*|`` at which the p-value crosses ``α``.

The studentisation uses the same clustered influence-function standard error as the analytic row.
With strongly heterogeneous effects the constant-effect restriction leaves part of the effect
heterogeneity in the residuals, which makes the interval conservative rather than too short.

References
----------
Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). Bootstrap-based improvements for inference
    with clustered errors. *Review of Economics and Statistics* 90(3), 414–427.
Roodman, D., MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2019). Fast and wild: Bootstrap
    inference in Stata using boottest. *Stata Journal* 19(1), 4–60.
Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors. *Canadian
    Journal of Economics* 56(3), 839–858.
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230 (influence functions of the aggregates).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..did import AggSpec, ATTgtResult, aggregate_table, attgt_core
from ..errors import SpecificationError
from ..within import demean
from .pvalue import invert_test, resampling_pvalue
from .weights import BootWeights, draw_weights

__all__ = ["LinearBootstrap", "MAX_CLUSTERS", "cs_wild_bootstrap", "linear_maps", "pretrend_wild",
           "twfe_residuals"]

#: Above this many clusters the analytic standard errors are reliable and the O(G²) maps get big.
MAX_CLUSTERS = 200


def twfe_residuals(res: ATTgtResult) -> tuple[np.ndarray, np.ndarray]:
    """Two-way (unit and period) fixed-effects residuals of the outcome and of the adoption
    indicator ``D = 1{t >= g - anticipation}`` on the observed cells; ``(n, T)`` arrays, NaN where
    unobserved."""
    p = res.panel
    obs = p.obs
    ui, ti = np.nonzero(obs)
    y = p.Y[ui, ti]
    D = (p.times[ti] >= p.G[ui] - res.anticipation).astype(float)
    rY, rD = demean(np.column_stack([y, D]), [ui, ti]).T
    eY = np.full(p.Y.shape, np.nan)
    eD = np.full(p.Y.shape, np.nan)
    eY[ui, ti] = rY
    eD[ui, ti] = rD
    return eY, eD


def linear_maps(res: ATTgtResult, spec: AggSpec, E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For an outcome-shaped array ``E`` (n, T): ``T[k, j] = θ_j(E restricted to cluster k)`` and
    ``M[k, c, j] = Ψ_{c,j}(E restricted to cluster k)`` for every aggregate key ``j`` (overall
    last)."""
    p = res.panel
    C = p.n_clusters
    Eb = np.zeros((C, *E.shape))
    for k in range(C):
        Eb[k] = np.where(p.cl[:, None] == k, E, 0.0)
    Eb[:, ~p.obs] = np.nan
    att, inf, _, _ = attgt_core(Eb, p.obs, p.G, p.w, res.cells, res.control_group,
                                res.anticipation, X=p.X)
    att = np.where(np.isnan(res.att)[None, :], np.nan, att)
    keys, overall = res.point(spec, att)
    T = np.concatenate([keys, overall[:, None]], axis=1)
    M = res.aggregate_psi(spec, att, inf)
    return T, M


class LinearBootstrap:
    """Bootstrap-t of ``θ̂ − τ₀`` for a statistic whose restricted residuals are ``a − τ₀ b``.

    ``TY, TD`` (G,) and ``MY, MD`` (G, G) are the linear maps of the two residual pieces; ``W``
    (n_boot, G) the weights; ``se_factor`` the small-sample factor; ``n`` the number of units.
    """

    def __init__(self, TY, TD, MY, MD, W, n: int, se_factor: float):
        self.wTY, self.wTD = W @ TY, W @ TD
        wMY, wMD = W @ MY, W @ MD
        # Σ_c (a_c − τ b_c)² = A2 − 2τ AB + τ² B2: the bootstrap s.e. is quadratic in τ₀
        self.A2 = (wMY**2).sum(1)
        self.AB = (wMY * wMD).sum(1)
        self.B2 = (wMD**2).sum(1)
        self.n, self.f = n, se_factor

    def tstar(self, tau0: np.ndarray) -> np.ndarray:
        """Bootstrap t statistics ``(n_boot, len(tau0))``."""
        tau0 = np.atleast_1d(np.asarray(tau0, float))[None, :]
        num = self.wTY[:, None] - tau0 * self.wTD[:, None]
        ss = self.A2[:, None] - 2 * tau0 * self.AB[:, None] + tau0**2 * self.B2[:, None]
        se = np.sqrt(self.f * np.maximum(ss, 0.0)) / self.n
        with np.errstate(invalid="ignore", divide="ignore"):
            return num / se


def _restricted_pieces(res: ATTgtResult, spec: AggSpec):
    """Residuals of the restricted TWFE model and their linear maps: ``(TY, MY, TD, MD, beta)``,
    ``beta`` the TWFE coefficient of ``D`` (the free post effect of the pre-period nulls)."""
    eY, eD = twfe_residuals(res)
    TY, MY = linear_maps(res, spec, eY)
    TD, MD = linear_maps(res, spec, eD)
    dd = np.nansum(eD * eD)
    beta = np.nansum(eD * eY) / dd if dd > 0 else 0.0
    return TY, MY, TD, MD, beta


def _check_clusters(res: ATTgtResult) -> None:
    p = res.panel
    if not p.clustered:
        raise SpecificationError("The wild cluster bootstrap needs clusters: pass cluster= to "
                                 "att_gt (e.g. cluster='county_code').")
    if p.n_clusters > MAX_CLUSTERS:
        raise SpecificationError(f"{p.n_clusters} clusters: the analytic standard errors are "
                                 "reliable; request inference=('analytic',).")


def cs_wild_bootstrap(res: ATTgtResult, spec: AggSpec, *, n_boot: int = 999, seed: int = 0,
                      weights: BootWeights = "webb", alpha: float = 0.05) -> pd.DataFrame:
    """Restricted wild cluster bootstrap-t rows (``inference = "wild_bootstrap"``) for an aggregate.

    Parameters
    ----------
    res : ATTgtResult
        Must be clustered (``cluster=`` in ``att_gt``) with at most ``MAX_CLUSTERS`` clusters.
    spec : AggSpec
        The aggregation (``res.spec(kind, ...)``).
    n_boot, seed, weights, alpha
        Draws, seed of ``numpy.random.default_rng``, ``"webb"`` or ``"rademacher"``, level.

    Returns
    -------
    DataFrame with the columns of :func:`analysis.did.aggregate_table`; ``std_error`` is the
    analytic one used for studentising, the interval and p-value are the bootstrap's.
    """
    _check_clusters(res)
    p = res.panel
    C = p.n_clusters
    f = C / (C - 1)
    W = draw_weights(np.random.default_rng(seed), C, n_boot, weights)
    TY, MY, TD, MD, beta = _restricted_pieces(res, spec)
    est, se = res.estimates(spec)
    pre = spec.pre
    nk = len(spec.keys)
    lo, hi, pv = (np.full(nk + 1, np.nan) for _ in range(3))
    for j in range(nk + 1):
        if not np.isfinite(est[j]) or not np.isfinite(se[j]) or se[j] == 0:
            continue
        if pre[j]:
            lb = LinearBootstrap(TY[:, j] - beta * TD[:, j], np.zeros(C), MY[:, :, j] - beta *
                                 MD[:, :, j], np.zeros((C, C)), W, p.n, f)
            ts = np.abs(lb.tstar(np.array([0.0]))[:, 0])

            def pfun(tau0: np.ndarray, ts: Any = ts, j: int = j) -> np.ndarray:
                return resampling_pvalue(np.abs((est[j] - tau0) / se[j]), ts[:, None])
        else:
            lb = LinearBootstrap(TY[:, j], TD[:, j], MY[:, :, j], MD[:, :, j], W, p.n, f)

            def pfun(tau0: np.ndarray, lb: Any = lb, j: int = j) -> np.ndarray:
                return resampling_pvalue(np.abs((est[j] - tau0) / se[j]), np.abs(lb.tstar(tau0)))

        pv[j] = pfun(np.array([0.0]))[0]
        lo[j], hi[j] = invert_test(pfun, est[j], se[j], alpha)
    return aggregate_table(spec, est, se, lo, hi, pv, "wild_bootstrap")


def pretrend_wild(res: ATTgtResult, spec: AggSpec, *, n_boot: int = 999, seed: int = 0,
                  weights: BootWeights = "webb") -> tuple[float, float]:
    """Joint pre-trend test: ``S = Σ_e t_e²`` over pre-period event times (each studentised by
    its own clustered s.e., so no inverse of the singular covariance is needed), judged by the
    restricted wild cluster bootstrap (restricted model: no pre-trends, free post effect).
    Returns ``(S, p_value)``."""
    _check_clusters(res)
    p = res.panel
    C = p.n_clusters
    f = C / (C - 1)
    est, se = res.estimates(spec)
    use = spec.pre & np.isfinite(est) & (se > 0)
    if not use.any():
        return np.nan, np.nan
    TY, MY, TD, MD, beta = _restricted_pieces(res, spec)
    W = draw_weights(np.random.default_rng(seed), C, n_boot, weights)
    S_obs = float(np.sum((est[use] / se[use]) ** 2))
    S_star = np.zeros(n_boot)
    for j in np.flatnonzero(use):
        num = W @ (TY[:, j] - beta * TD[:, j])
        ps = W @ (MY[:, :, j] - beta * MD[:, :, j])
        sej = np.sqrt(f * (ps**2).sum(1)) / p.n
        with np.errstate(invalid="ignore", divide="ignore"):
            S_star += (num / sej) ** 2
    return S_obs, float(resampling_pvalue(S_obs, S_star))
