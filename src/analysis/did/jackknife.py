"""Leave-one-cluster-out Callaway–Sant'Anna aggregates, for CV3 (jackknife) studentisation.

The CV3 variance of an estimator ``θ̂`` with ``G`` clusters is

    V₃ = (G − 1)/G · Σ_g (θ̂₍g₎ − θ̂)²,

``θ̂₍g₎`` the estimate without cluster ``g`` (MacKinnon, Nielsen & Webb 2023, their CV₃ centred at
the full-sample estimate). For OLS it is the cluster generalisation of HC3; for any estimator it is
the delete-one-cluster jackknife, which is what it is here: each ``θ̂₍g₎`` re-runs the estimator
without cluster ``g`` — its cohort shares, comparison groups and cells as the smaller sample has
them. An aggregate that does not exist without some cluster (an event time observed for one county
only) has no CV3 variance; the bootstrap rows then say so.

The estimator is linear in the outcome for a fixed assignment, so one call evaluates the
leave-one-out aggregates of a whole batch of outcome arrays (the bootstrap's restricted residuals
restricted to each cluster), ``G`` runs of the batched core in all. The same routine serves the
wild bootstrap's CV3 studentisation (:mod:`analysis.inference.multiplier`) and the sensitivity
analysis' jackknife covariance (:func:`analysis.did.honest.cluster_jackknife`).

**Above** :data:`CLOSED_FORM_MIN_CLUSTERS` **clusters** the ``G`` re-runs are replaced by their
closed form when the cells are panel cells without covariates (the package's default): each
cell's ATT is a difference of two weighted means, so without cluster ``g`` it is
``(S − S_g)/(W − W_g)`` for the treated and the comparison units, ``S_g`` and ``W_g`` the cluster's
weighted outcome sum and weight in that cell (a cell whose treated or comparison units all sit in
cluster ``g`` does not exist without it, as in the re-run). The numbers are the re-runs' up to
rounding (``tests/test_jackknife_closed_form.py``); the cost falls from ``G`` runs of the core,
``O(G·R·n·K)``, to ``O(R·n·K)``, a factor ``G`` less for the hundreds of counties of a
province (``docs/scale.md``: 7.0 s against 0.41 s for 64 arrays with 183 counties).
Below the threshold the re-runs are kept, so small datasets' numbers stay exactly as they were.

Why hand-written: ``summclust`` / boottest compute CV3 for regressions; no library offers the
jackknife of the Callaway–Sant'Anna aggregates.

References
----------
MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2023). Fast and reliable jackknife and bootstrap
    methods for cluster-robust inference. *Journal of Applied Econometrics* 38(5), 671–694.
MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2023). Cluster-robust inference: A guide to
    empirical practice. *Journal of Econometrics* 232(2), 272–299.
"""

from __future__ import annotations

import numpy as np

from .aggregation import AggSpec, aggregate_point
from .cells import control_mask, group_shares
from .core import attgt_core
from .results import ATTgtResult

__all__ = ["CLOSED_FORM_MIN_CLUSTERS", "cv3_se", "leave_one_out"]

#: from this many clusters on, :func:`leave_one_out` uses the closed form (module docstring)
CLOSED_FORM_MIN_CLUSTERS = 50


def leave_one_out(res: ATTgtResult, spec: AggSpec, arrays: np.ndarray, *,
                  chunk: int = 256) -> np.ndarray:
    """``(G, R, J)``: the aggregates (keys and overall, last) of each outcome array in ``arrays``
    ``(R, n, T)`` estimated without each cluster in turn (NaN where an aggregate does not exist
    without that cluster)."""
    p = res.panel
    C = p.n_clusters
    R = arrays.shape[0]
    J = len(spec.keys) + 1
    out = np.full((C, R, J), np.nan)
    glist = np.unique(res.cells.g)
    closed = (C >= CLOSED_FORM_MIN_CLUSTERS and p.X is None
              and res.cells.sample != "either_period")
    shares = []
    for c in range(C):
        keep = p.cl != c
        if not keep.any():
            shares.append(None)
            continue
        G, w = p.G[keep], p.w[keep]
        pg = group_shares(G, w, glist)
        pgc = pg[np.searchsorted(glist, res.cells.g)]
        pgg = None
        if spec.overall == "pgg":
            pgg = group_shares(G, w, np.asarray(spec.key_groups, float))
        shares.append((keep, pgc, pgg))
    if closed:  # chunks outside, clusters inside: (G, chunk, K) at a time
        for s in range(0, R, chunk):
            loo = _closed_form_att(res, arrays[s:s + chunk])
            for c, sh in enumerate(shares):
                if sh is not None:
                    out[c, s:s + loo.shape[1]] = _aggregate(spec, loo[c], sh[1], sh[2])
        return out
    for c, sh in enumerate(shares):
        if sh is None:
            continue
        keep = sh[0]
        X = None if p.X is None else p.X[keep]
        for s in range(0, R, chunk):
            att, _, _, _ = attgt_core(arrays[s:s + chunk][:, keep], p.obs[keep], p.G[keep],
                                      p.w[keep], res.cells, res.control_group,
                                      res.anticipation, want_if=False, X=X)
            out[c, s:s + att.shape[0]] = _aggregate(spec, att, sh[1], sh[2])
    return out


def _aggregate(spec: AggSpec, att: np.ndarray, pgc: np.ndarray,
               pgg: np.ndarray | None) -> np.ndarray:
    """``(r, J)``: the keys and the overall (last) of ``att`` ``(r, K)`` with the cohort shares
    of the sample without one cluster."""
    r = att.shape[0]
    keys, overall = aggregate_point(spec, att, np.broadcast_to(pgc, att.shape),
                                    None if pgg is None else np.broadcast_to(pgg, (r, len(pgg))))
    if spec.overall == "pgg":  # cohorts absent without the cluster have share 0
        k = np.isfinite(keys)
        wk = np.where(k, pgg[None, :], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            overall = (np.where(k, keys, 0.0) * wk).sum(1) / wk.sum(1)
    return np.column_stack([keys, overall])


def _closed_form_att(res: ATTgtResult, arrays: np.ndarray) -> np.ndarray:
    """``(G, R, K)``: each panel cell's ATT of each outcome array without each cluster in turn,
    from the cells' cluster sums (no covariates; module docstring). NaN where the cell has no
    treated or no comparison unit without that cluster."""
    p = res.panel
    cells = res.cells
    C = p.n_clusters
    R = arrays.shape[0]
    K = len(cells)
    out = np.full((C, R, K), np.nan)
    for k in range(K):
        if cells.reference[k]:
            out[:, :, k] = 0.0
            continue
        tp, bp, g = cells.tpos[k], cells.bpos[k], cells.g[k]
        both = p.obs[:, tp] & p.obs[:, bp]
        treat = both & (p.G == g)
        ctrl = both & control_mask(p.G, g, cells.t[k], cells.base[k], res.control_group,
                                   res.anticipation)
        mus = []
        for units in (treat, ctrl):
            idx = np.flatnonzero(units)
            cl, w = p.cl[idx], p.w[idx]
            n_c = np.bincount(cl, minlength=C)
            w_c = np.bincount(cl, weights=w, minlength=C)
            onehot = np.zeros((len(idx), C))
            onehot[np.arange(len(idx)), cl] = 1.0
            dy = arrays[:, idx, tp] - arrays[:, idx, bp]  # (R, m)
            s_c = (dy * w[None, :]) @ onehot  # (R, C)
            with np.errstate(invalid="ignore", divide="ignore"):
                mu = (s_c.sum(1)[:, None] - s_c) / (w.sum() - w_c)[None, :]
            mu[:, len(idx) - n_c == 0] = np.nan
            mus.append(mu)
        out[:, :, k] = (mus[0] - mus[1]).T
    return out


def cv3_se(estimate: np.ndarray, loo: np.ndarray) -> np.ndarray:
    """CV3 standard errors ``sqrt((G − 1)/G · Σ_g (θ̂₍g₎ − θ̂)²)`` from the leave-one-out
    estimates ``loo`` ``(G, ...)`` and the estimates ``(...)``; NaN when some ``θ̂₍g₎`` does not
    exist."""
    C = loo.shape[0]
    return np.sqrt((C - 1) / C * ((loo - estimate[None]) ** 2).sum(0))
