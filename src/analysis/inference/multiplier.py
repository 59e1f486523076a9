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
draws held fixed, as ``boottest`` does for OLS.

For pre-period keys (event time < 0) the null is "no effect in that pre-period": the restricted
model is the two-way fixed-effects model with a free post-adoption effect; their interval is the
symmetric bootstrap-t interval ``θ̂ ± q*₀.₉₅ · se``.

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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import SpecificationError
from ..within import demean
from .weights import draw_weights

if TYPE_CHECKING:  # pragma: no cover
    from ..staggered import AggSpec, ATTgtResult

__all__ = ["cs_wild_bootstrap", "invert_pvalue", "LinearBootstrap", "MAX_CLUSTERS"]

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
    from ..staggered import _attgt_core

    p = res.panel
    C = p.n_clusters
    Eb = np.zeros((C, *E.shape))
    for k in range(C):
        Eb[k] = np.where(p.cl[:, None] == k, E, 0.0)
    Eb[:, ~p.obs] = np.nan
    att, inf, _, _ = _attgt_core(Eb, p.obs, p.G, p.w, res.cells, res.control_group,
                                 res.anticipation, X=p.X)
    att = np.where(np.isnan(res.att)[None, :], np.nan, att)
    keys, overall = res._point(spec, att)
    T = np.concatenate([keys, overall[:, None]], axis=1)
    M = res._agg_psi(spec, att, inf)
    return T, M


class LinearBootstrap:
    """Bootstrap-t of ``θ̂ − τ₀`` for a statistic whose restricted residuals are ``a − τ₀ b``.

    ``TY, TD`` (G,) and ``MY, MD`` (G, G) are the linear maps of the two residual pieces; ``W``
    (B, G) the weights; ``se_factor`` the small-sample factor; ``n`` the number of units.
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
        """Bootstrap t statistics ``(B, len(tau0))``."""
        tau0 = np.atleast_1d(np.asarray(tau0, float))[None, :]
        num = self.wTY[:, None] - tau0 * self.wTD[:, None]
        ss = self.A2[:, None] - 2 * tau0 * self.AB[:, None] + tau0**2 * self.B2[:, None]
        se = np.sqrt(self.f * np.maximum(ss, 0.0)) / self.n
        with np.errstate(invalid="ignore", divide="ignore"):
            return num / se


def invert_pvalue(pfun: Callable[[np.ndarray], np.ndarray], center: float, scale: float,
                  alpha: float) -> tuple[float, float]:
    """Interval ``{τ₀ : p(τ₀) > α}`` around ``center`` by a grid then bisection on each side."""
    if not np.isfinite(center) or not np.isfinite(scale) or scale <= 0:
        return np.nan, np.nan
    for width in (8.0, 30.0, 120.0):
        grid = center + scale * np.linspace(-width, width, 97)
        pv = pfun(grid)
        inside = pv > alpha
        if not inside.any():
            return np.nan, np.nan
        first, last = np.flatnonzero(inside)[[0, -1]]
        if first > 0 and last < len(grid) - 1:
            break
    else:
        return -np.inf, np.inf

    def bisect(out: float, inn: float) -> float:
        for _ in range(24):
            mid = 0.5 * (out + inn)
            if pfun(np.array([mid]))[0] > alpha:
                inn = mid
            else:
                out = mid
        return 0.5 * (out + inn)

    return bisect(grid[first - 1], grid[first]), bisect(grid[last + 1], grid[last])


def cs_wild_bootstrap(res: ATTgtResult, spec: AggSpec, *, B: int = 999, seed: int = 0,
                      weights: str = "webb", alpha: float = 0.05) -> pd.DataFrame:
    """Restricted wild cluster bootstrap-t rows (``inference = "wild_bootstrap"``) for an aggregate.

    Parameters
    ----------
    res : ATTgtResult
        Must be clustered (``cluster=`` in ``att_gt``) with at most ``MAX_CLUSTERS`` clusters.
    spec : AggSpec
        The aggregation (from ``ATTgtResult.aggregate``).
    B, seed, weights, alpha
        Draws, seed of ``numpy.random.default_rng``, ``"webb"`` or ``"rademacher"``, level.

    Returns
    -------
    DataFrame with the columns of ``AggregateResult.table``; ``std_error`` is the analytic one
    used for studentising, the interval and p-value are the bootstrap's.
    """
    from ..staggered import _rows, _se_from_psi

    p = res.panel
    if not p.clustered:
        raise SpecificationError("The wild cluster bootstrap needs clusters: pass cluster= to "
                                 "att_gt (e.g. cluster='county_code').")
    if p.n_clusters > MAX_CLUSTERS:
        raise SpecificationError(f"{p.n_clusters} clusters: the analytic standard errors are "
                                 "reliable; request inference=('analytic',).")
    C = p.n_clusters
    f = C / (C - 1)
    rng = np.random.default_rng(seed)
    W = draw_weights(rng, C, B, weights)
    eY, eD = twfe_residuals(res)
    TY, MY = linear_maps(res, spec, eY)
    TD, MD = linear_maps(res, spec, eD)
    keys, overall = res._point(spec, res.att[None])
    est = np.concatenate([keys[0], overall])
    psi = res._agg_psi(spec, res.att[None], res.inf[None])[0]
    se = _se_from_psi(psi, p.n, True)
    # which keys are pre-period (dynamic e < 0)
    nk = len(spec.keys)
    pre = np.zeros(nk + 1, bool)
    if spec.kind == "dynamic":
        pre[:nk] = np.array([float(k) < 0 for k in spec.keys])
    dd = np.nansum(eD * eD)
    beta = np.nansum(eD * eY) / dd if dd > 0 else 0.0
    lo, hi, pv = (np.full(nk + 1, np.nan) for _ in range(3))
    for j in range(nk + 1):
        if not np.isfinite(est[j]) or not np.isfinite(se[j]) or se[j] == 0:
            continue
        if pre[j]:
            lb = LinearBootstrap(TY[:, j] - beta * TD[:, j], np.zeros(C), MY[:, :, j] - beta *
                                 MD[:, :, j], np.zeros((C, C)), W, p.n, f)
            ts = np.abs(lb.tstar(np.array([0.0]))[:, 0])
            pv[j] = np.mean(ts >= abs(est[j] / se[j]) - 1e-12)
            q = np.nanquantile(ts, 1 - alpha)
            lo[j], hi[j] = est[j] - q * se[j], est[j] + q * se[j]
            continue
        lb = LinearBootstrap(TY[:, j], TD[:, j], MY[:, :, j], MD[:, :, j], W, p.n, f)

        def pfun(tau0: np.ndarray, lb: Any = lb, j: int = j) -> np.ndarray:
            ts = np.abs(lb.tstar(tau0))
            tobs = np.abs((est[j] - tau0) / se[j])
            return np.mean(ts >= tobs[None, :] - 1e-12, axis=0)

        pv[j] = pfun(np.array([0.0]))[0]
        lo[j], hi[j] = invert_pvalue(pfun, est[j], se[j], alpha)
    return _rows(spec, est, se, lo, hi, pv, "wild_bootstrap")


def pretrend_wild(res: ATTgtResult, spec: AggSpec, *, B: int = 999, seed: int = 0,
                  weights: str = "webb") -> tuple[float, float]:
    """Joint pre-trend test: ``S = Σ_e t_e²`` over pre-period event times (each studentised by
    its own clustered s.e., so no inverse of the singular covariance is needed), judged by the
    restricted wild cluster bootstrap (restricted model: no pre-trends, free post effect).
    Returns ``(S, p_value)``."""
    from ..staggered import _se_from_psi

    p = res.panel
    C = p.n_clusters
    f = C / (C - 1)
    nk = len(spec.keys)
    pre = np.array([float(k) < 0 for k in spec.keys] + [False])
    keys, overall = res._point(spec, res.att[None])
    est = np.concatenate([keys[0], overall])
    psi = res._agg_psi(spec, res.att[None], res.inf[None])[0]
    se = _se_from_psi(psi, p.n, True)
    use = pre & np.isfinite(est) & (se > 0)
    if not use.any():
        return np.nan, np.nan
    eY, eD = twfe_residuals(res)
    TY, MY = linear_maps(res, spec, eY)
    TD, MD = linear_maps(res, spec, eD)
    dd = np.nansum(eD * eD)
    beta = np.nansum(eD * eY) / dd if dd > 0 else 0.0
    W = draw_weights(np.random.default_rng(seed), C, B, weights)
    S_obs = float(np.sum((est[use] / se[use]) ** 2))
    S_star = np.zeros(B)
    for j in np.flatnonzero(use):
        num = W @ (TY[:, j] - beta * TD[:, j])
        ps = W @ (MY[:, :, j] - beta * MD[:, :, j])
        sej = np.sqrt(f * (ps**2).sum(1)) / p.n
        with np.errstate(invalid="ignore", divide="ignore"):
            S_star += (num / sej) ** 2
    _ = nk
    return S_obs, float(np.mean(S_star >= S_obs - 1e-12))
