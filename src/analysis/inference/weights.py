"""Auxiliary weight draws for wild (cluster) bootstrap and multiplier bootstrap.

Each function returns a ``(n_boot, n_clusters)`` float array: one row per bootstrap replication,
one column per cluster. With few clusters the two-point Rademacher distribution has only
``2**n_clusters`` distinct draws (2,048 for 11 counties), so p-values are coarse and many draws
repeat; Webb's six-point distribution has ``6**n_clusters`` and is the recommended default below
~12 clusters.

The draws take a ``numpy.random.Generator`` rather than a seed: they are the primitives the
public functions (which take an ``int`` ``seed`` and build ``numpy.random.default_rng(seed)``
themselves) call, sometimes several times from one stream.

References
----------
Webb, M. D. (2014/2023). "Reworking wild bootstrap-based inference for clustered errors."
    Canadian Journal of Economics 56(3), 839-858.
Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). "Bootstrap-based improvements for
    inference with clustered errors." Review of Economics and Statistics 90(3), 414-427.

The draws are a few lines of NumPy; they are written here rather than taken from a bootstrap
library so that the reform estimator can apply one weight matrix to all of its influence functions
at once (a single matrix product), which no packaged wild bootstrap exposes.
"""

from __future__ import annotations

import numpy as np

from ..domain import BootWeights
from ..errors import SpecificationError, check_option

__all__ = ["BootWeights", "WEBB_POINTS", "draw_weights", "rademacher", "webb"]

#: Support of Webb's six-point distribution (each point has probability 1/6; mean 0, variance 1).
WEBB_POINTS = np.array(
    [-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)], dtype=float
)


def _check(n_clusters: int, n_boot: int) -> None:
    if int(n_clusters) != n_clusters or n_clusters < 1:
        raise SpecificationError(f"n_clusters={n_clusters!r} must be a positive integer.")
    if int(n_boot) != n_boot or n_boot < 1:
        raise SpecificationError(f"n_boot={n_boot!r} (bootstrap replications) must be a positive "
                                 "integer.")


def rademacher(rng: np.random.Generator, n_clusters: int, n_boot: int) -> np.ndarray:
    """Rademacher weights: +1 or -1 with probability 1/2 each.

    Parameters
    ----------
    rng : numpy.random.Generator
        From ``numpy.random.default_rng(seed)``.
    n_clusters : int
        Number of clusters (columns).
    n_boot : int
        Number of bootstrap replications (rows).

    Returns
    -------
    numpy.ndarray
        ``(n_boot, n_clusters)`` float array.
    """
    _check(n_clusters, n_boot)
    return rng.integers(0, 2, size=(int(n_boot), int(n_clusters))).astype(float) * 2.0 - 1.0


def webb(rng: np.random.Generator, n_clusters: int, n_boot: int) -> np.ndarray:
    """Webb (2014) six-point weights: ±sqrt(1/2), ±1, ±sqrt(3/2), each with probability 1/6.

    Parameters
    ----------
    rng : numpy.random.Generator
        From ``numpy.random.default_rng(seed)``.
    n_clusters : int
        Number of clusters (columns).
    n_boot : int
        Number of bootstrap replications (rows).

    Returns
    -------
    numpy.ndarray
        ``(n_boot, n_clusters)`` float array with mean 0 and variance 1 per entry.
    """
    _check(n_clusters, n_boot)
    idx = rng.integers(0, 6, size=(int(n_boot), int(n_clusters)))
    return WEBB_POINTS[idx]


def draw_weights(rng: np.random.Generator, n_clusters: int, n_boot: int,
                 kind: BootWeights = "webb") -> np.ndarray:
    """``(n_boot, n_clusters)`` draws of the distribution ``kind`` (``"webb"`` or
    ``"rademacher"``)."""
    check_option("weights", kind, BootWeights)
    if kind == "webb":
        return webb(rng, n_clusters, n_boot)
    return rademacher(rng, n_clusters, n_boot)
