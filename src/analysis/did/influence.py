"""Standard errors from influence functions, clustered or by unit.

With ``ψ_c`` the cluster sums of an estimator's influence function (scaled as R ``did``), the
standard error is ``sqrt(f · Σ_c ψ_c²) / n`` with ``f = C/(C−1)`` when a cluster variable was given
and ``f = 1`` for the unit-level form R ``did`` reports by default (so that its numbers are
reproduced to machine precision). Every analytic row of :mod:`analysis.did` and the
studentisation of the wild bootstrap in :mod:`analysis.inference` use these two functions.

Why hand-written: two lines of NumPy; a sandwich-estimator library would need a model object the
influence functions do not come from.

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230 (Section 4).
Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference.
    *Journal of Human Resources* 50(2), 317–372 (the ``G/(G−1)`` correction).
"""

from __future__ import annotations

import numpy as np

__all__ = ["cluster_sums", "se_from_psi"]


def cluster_sums(inf: np.ndarray, cl: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sum an ``(R, n, m)`` influence array within clusters (codes ``cl``): ``(R, C, m)``."""
    R, n, m = inf.shape
    onehot = np.zeros((n_clusters, n))
    onehot[cl, np.arange(n)] = 1.0
    return np.einsum("cn,rnm->rcm", onehot, inf)


def se_from_psi(psi: np.ndarray, n: int, clustered: bool) -> np.ndarray:
    """Standard errors from cluster sums ``psi`` ``(..., C, m)`` of an influence function:
    ``(..., m)``, with the ``C/(C−1)`` factor when ``clustered``."""
    C = psi.shape[-2]
    factor = C / (C - 1) if (clustered and C > 1) else 1.0
    return np.sqrt(factor * (psi**2).sum(-2)) / n
