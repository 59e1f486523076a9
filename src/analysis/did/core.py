"""The ATT(g,t) estimator and its influence function, batched over outcome arrays.

Without covariates each ATT(g,t) is the difference of (weighted) mean outcome changes between
cohort ``g`` and its comparison units over the units observed in both ``t`` and the base period —
exactly the doubly robust, outcome-regression and IPW estimators of Callaway & Sant'Anna (2021)
and R ``did``, which coincide without covariates. With covariates the cell estimator is the
outcome-regression DiD of Sant'Anna & Zhao (2020, DRDID ``reg_did_panel``) with base-period
covariates. Unbalanced panels: each cell is a pairwise-balanced 2×2 and its influence function is
rescaled by ``n / n_cell`` as R ``did`` does.

Cells whose sample is ``"either_period"`` (:data:`~analysis.did.cells.CellSample`, R ``did``'s
``allow_unbalanced_panel=TRUE``) use the repeated-cross-section estimator instead
(:func:`rcs_cell`): every observation of the cell's two periods among its cohort and comparison
units, ``ATT = (ȳ_{g,t} − ȳ_{g,base}) − (ȳ_{C,t} − ȳ_{C,base})`` with four (weighted) means over
observations — what DRDID's ``drdid_rc``, ``reg_did_rc`` and ``std_ipw_did_rc`` all reduce to
without covariates. Its influence function is per observation, rescaled by
``n / n_observations`` and summed within unit, as R ``did`` does.

:func:`attgt_core` takes a *batch* of outcome arrays ``(R, n, T)`` sharing one observation
pattern. The estimator is linear in the outcome for a fixed adoption assignment, so the resampling
methods of :mod:`analysis.inference` run it once on a batch of cluster-restricted residual arrays
instead of once per draw.

Why hand-written: R ``did`` is the reference but is R; the Python ports (``csdid``,
``differences``) re-fit the whole estimator per draw, offer no batched evaluation and balance
unbalanced panels by dropping units.

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230.
Sant'Anna, P. H. C., & Zhao, J. (2020). Doubly robust difference-in-differences estimators.
    *Journal of Econometrics* 219(1), 101–122.
"""

from __future__ import annotations

import numpy as np

from ..errors import SpecificationError
from .cells import Cells, ControlGroup, control_mask

__all__ = ["attgt_core", "rcs_cell", "reg_cell"]


def attgt_core(
    Yb: np.ndarray, obs: np.ndarray, G: np.ndarray, w: np.ndarray, cells: Cells,
    control_group: ControlGroup, anticipation: int, *, want_if: bool = True,
    X: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """ATT(g,t) and influence functions for a batch of outcome arrays.

    Parameters
    ----------
    Yb : ndarray (R, n, T)
        Outcome arrays (one per replicate).
    obs : ndarray (n, T)
        Where the outcome is observed (the same for the whole batch).
    G, w : ndarray (n,)
        First-treatment periods (``inf`` = never) and unit weights (mean 1).
    cells : Cells
    control_group, anticipation : as :func:`analysis.did.att_gt`.
    want_if : bool
        Whether to compute the influence functions.
    X : ndarray (n, T, p), optional
        Covariates for outcome-regression adjustment.

    Returns
    -------
    att : ndarray (R, K)
    inf : ndarray (R, n, K) or None
        Influence functions scaled as R ``did`` (``se = sqrt(sum(inf**2)) / n``).
    n_treated, n_control : ndarray (K,)
        Treated and comparison units of each cell.
    """
    R, n, _ = Yb.shape
    K = len(cells)
    att = np.full((R, K), np.nan)
    inf = np.zeros((R, n, K)) if want_if else None
    n1 = np.zeros(K, int)
    n0 = np.zeros(K, int)
    rcs = cells.sample == "either_period"
    if rcs and X is not None:
        raise SpecificationError("The repeated-cross-section cells are implemented without "
                                 "covariates; drop covariates= or use another `unbalanced`.")
    for k in range(K):
        if cells.reference[k]:
            att[:, k] = 0.0
            continue
        tp, bp, g = cells.tpos[k], cells.bpos[k], cells.g[k]
        if rcs:
            o1, o0 = obs[:, tp], obs[:, bp]
            seen = o1 | o0
            treat = seen & (G == g)
            ctrl = seen & control_mask(G, g, cells.t[k], cells.base[k], control_group,
                                       anticipation)
            n1[k], n0[k] = treat.sum(), ctrl.sum()
            # R did: a cell needs cohort and comparison observations in both periods
            if not ((treat & o1).any() and (treat & o0).any() and (ctrl & o1).any()
                    and (ctrl & o0).any()):
                continue
            idx = np.flatnonzero(treat | ctrl)
            att[:, k], psi, n_rows = rcs_cell(Yb[:, idx, tp], Yb[:, idx, bp], o1[idx], o0[idx],
                                              treat[idx], w[idx], want_if)
            if want_if:
                inf[:, idx, k] = psi * (n / n_rows)
            continue
        both = obs[:, tp] & obs[:, bp]
        treat = both & (G == g)
        ctrl = both & control_mask(G, g, cells.t[k], cells.base[k], control_group, anticipation)
        n1[k], n0[k] = treat.sum(), ctrl.sum()
        if n1[k] == 0 or n0[k] == 0:
            continue
        sub = treat | ctrl
        idx = np.flatnonzero(sub)
        m = len(idx)
        d = treat[idx]
        ws = w[idx]
        dy = Yb[:, idx, tp] - Yb[:, idx, bp]  # (R, m)
        if X is not None:
            att[:, k], psi = reg_cell(dy, d, ws, X[idx, bp, :], want_if)
            if want_if:
                inf[:, idx, k] = psi * (n / m)
            continue
        w1 = ws * d
        w0 = ws * ~d
        mu1 = (dy * w1).sum(1) / w1.sum()
        mu0 = (dy * w0).sum(1) / w0.sum()
        att[:, k] = mu1 - mu0
        if want_if:
            # normalised weights within the cell (mean 1), as DRDID
            wn = ws / ws.mean()
            p1 = (wn * d).mean()
            p0 = (wn * ~d).mean()
            psi = (wn * d / p1)[None, :] * (dy - mu1[:, None]) - (wn * ~d / p0)[None, :] * (
                dy - mu0[:, None]
            )
            inf[:, idx, k] = psi * (n / m)
    return att, inf, n1, n0


def rcs_cell(y1: np.ndarray, y0: np.ndarray, o1: np.ndarray, o0: np.ndarray, d: np.ndarray,
             ws: np.ndarray, want_if: bool) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Repeated-cross-section DiD for one cell (DRDID ``drdid_rc`` without covariates).

    Parameters
    ----------
    y1, y0 : ndarray (R, m)
        Outcomes of the cell's units in the period and in the base period (any value where the
        unit is unobserved: it is not read).
    o1, o0 : ndarray (m,) of bool
        Observed in the period / in the base period.
    d : ndarray (m,) of bool
        Cohort (true) or comparison unit.
    ws : ndarray (m,)
        Unit weights.
    want_if : bool

    Returns
    -------
    att : ndarray (R,)
    psi : ndarray (R, m) or None
        Each unit's influence function: the sum of its observations' terms
        ``± w (y − ȳ_S) / π_S`` over the four cells ``S`` (cohort/comparison × period/base), with
        ``π_S`` the (weighted) share of the cell's observations in ``S``.
    n_rows : int
        Observations in the cell (R ``did``'s ``n1``).
    """
    n_rows = int(o1.sum() + o0.sum())
    wn = ws / ((ws * o1).sum() + (ws * o0).sum()) * n_rows  # observation weights, mean 1
    att = np.zeros(y1.shape[0])
    psi = np.zeros(y1.shape) if want_if else None
    for y, o, sign_t in ((y1, o1, 1.0), (y0, o0, -1.0)):
        yy = np.where(o[None, :], y, 0.0)
        for grp, sign_g in ((d, 1.0), (~d, -1.0)):
            m = o & grp
            wm = wn * m
            pi = wm.sum() / n_rows
            mean = (yy * wm).sum(1) / wm.sum()
            att += sign_t * sign_g * mean
            if want_if:
                psi += sign_t * sign_g * wm[None, :] * (yy - mean[:, None]) / pi
    return att, psi, n_rows


def reg_cell(dy: np.ndarray, d: np.ndarray, ws: np.ndarray, Xc: np.ndarray, want_if: bool
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """Outcome-regression DiD for one cell (Sant'Anna & Zhao 2020, DRDID ``reg_did_panel``).

    Regress the change ``dy`` ``(R, m)`` on an intercept and ``Xc`` among comparison units
    (``~d``), impute the treated units' counterfactual change. Returns the ATT ``(R,)`` and its
    influence function ``(R, m)`` (unscaled, as DRDID).
    """
    m = len(d)
    Z = np.column_stack([np.ones(m), Xc])
    wn = ws / ws.mean()
    w0 = wn * ~d
    wt = wn * d
    A = (Z * w0[:, None]).T @ Z
    try:
        beta = np.linalg.solve(A, (Z * w0[:, None]).T @ dy.T)  # (p+1, R)
    except np.linalg.LinAlgError as exc:
        raise SpecificationError("The covariates are collinear among the comparison units of a "
                                 "group-time cell; drop a covariate.") from exc
    od = (Z @ beta).T  # (R, m) predicted change
    eta_t = (wt * dy).sum(1) / wt.sum()
    eta_c = (wt * od).sum(1) / wt.sum()
    att = eta_t - eta_c
    if not want_if:
        return att, None
    mt = wt.mean()
    inf_treat = wt * (dy - eta_t[:, None]) / mt
    inf_c1 = wt * (od - eta_c[:, None])
    xpx_inv = np.linalg.inv(A / m)
    M1 = (wt[:, None] * Z).mean(0)
    lin = (w0 * (dy - od))  # (R, m)
    inf_c2 = lin * (Z @ (xpx_inv @ M1))[None, :]
    return att, inf_treat - (inf_c1 + inf_c2) / mt
