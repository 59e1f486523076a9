"""Standard errors from influence functions, clustered or by unit, and their critical values.

With ``ψ_c`` the cluster sums of an estimator's influence function (scaled as R ``did``), the
standard error is ``sqrt(f · Σ_c ψ_c²) / n`` with ``f = C/(C−1)`` when a cluster variable was given
and ``f = 1`` for the unit-level form R ``did`` reports by default (so that its numbers are
reproduced to machine precision). Every analytic row of :mod:`analysis.did` and the
studentisation of the wild bootstrap in :mod:`analysis.inference` use these two functions.

**Critical values.** A cluster-robust t statistic built from ``G`` cluster sums is compared with
Student's t with ``G − 1`` degrees of freedom (``critical="t"``, the default): with 11 counties
the normal critical value 1.96 becomes t₁₀ = 2.23, the reference distribution of a cluster-robust t
statistic with ``G`` clusters (Cameron & Miller 2015, Section VI.C; Bester, Conley & Hansen 2011).
It is not a cure: with clusters of unequal size or few treated clusters even ``t(G − 1)`` can
over-reject (Imbens & Kolesár 2016; MacKinnon & Webb 2017), which is why the resampling rows of
:mod:`analysis.inference` stay the ones to read. Without a cluster variable each unit
is its own cluster and ``G`` is the number of units. ``critical="normal"`` gives R ``did``'s own
analytic intervals (``att ± qnorm(1 − α/2) · se``) and reproduces them exactly.

Why hand-written: two lines of NumPy; a sandwich-estimator library would need a model object the
influence functions do not come from.

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230 (Section 4).
Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference.
    *Journal of Human Resources* 50(2), 317–372 (the ``G/(G−1)`` correction and ``t(G−1)``).
Bester, C. A., Conley, T. G., & Hansen, C. B. (2011). Inference with dependent data using cluster
    covariance estimators. *Journal of Econometrics* 165(2), 137–151.
Imbens, G. W., & Kolesár, M. (2016). Robust standard errors in small samples: Some practical
    advice. *Review of Economics and Statistics* 98(4), 701–712.
MacKinnon, J. G., & Webb, M. D. (2017). Wild bootstrap inference for wildly different cluster
    sizes. *Journal of Applied Econometrics* 32(2), 233–254.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats

__all__ = ["Critical", "cluster_sums", "critical_df", "critical_value", "analytic_pvalue",
           "se_from_psi"]

#: critical values of the analytic rows: Student's t with G − 1 degrees of freedom, or normal (R)
Critical = Literal["t", "normal"]


def cluster_sums(inf: np.ndarray, cl: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sum an ``(R, n, m)`` influence array within clusters (codes ``cl``): ``(R, C, m)``.

    By a sparse ``C × n`` indicator matrix: ``O(R·n·m)`` time and no dense ``C × n`` array (a
    dense one-hot product costs ``O(R·C·n·m)``: with the national world's 2,850 counties and
    40,000 institutions, 114 million indicator cells per call)."""
    from scipy import sparse

    R, n, m = inf.shape
    onehot = sparse.csr_matrix((np.ones(n), (np.asarray(cl), np.arange(n))),
                               shape=(n_clusters, n))
    out = np.empty((R, n_clusters, m))
    for r in range(R):
        out[r] = onehot @ inf[r]
    return out


def se_from_psi(psi: np.ndarray, n: int, clustered: bool) -> np.ndarray:
    """Standard errors from cluster sums ``psi`` ``(..., C, m)`` of an influence function:
    ``(..., m)``, with the ``C/(C−1)`` factor when ``clustered``."""
    C = psi.shape[-2]
    factor = C / (C - 1) if (clustered and C > 1) else 1.0
    return np.sqrt(factor * (psi**2).sum(-2)) / n


def critical_df(critical: Critical, n_clusters: int) -> float:
    """Degrees of freedom of the analytic reference distribution: ``G − 1`` for ``"t"``,
    ``inf`` for ``"normal"``."""
    if critical == "normal":
        return np.inf
    return float(max(n_clusters - 1, 1))


def critical_value(critical: Critical, alpha: float, n_clusters: int) -> float:
    """Two-sided critical value at level ``alpha``: ``t_{G−1, 1−α/2}`` or ``z_{1−α/2}``."""
    df = critical_df(critical, n_clusters)
    if np.isinf(df):
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.t.ppf(1 - alpha / 2, df))


def analytic_pvalue(tstat: np.ndarray, critical: Critical, n_clusters: int) -> np.ndarray:
    """Two-sided p-values of t statistics against ``t(G−1)`` or the normal distribution."""
    df = critical_df(critical, n_clusters)
    with np.errstate(invalid="ignore"):
        a = np.abs(np.asarray(tstat, float))
        return 2 * (stats.norm.sf(a) if np.isinf(df) else stats.t.sf(a, df))
