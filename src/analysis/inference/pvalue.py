"""One p-value convention and one test inversion for every resampling method.

**p-value.** With ``B`` resampled statistics ``s*`` (bootstrap draws, or the assignments other than
the observed one in randomisation inference) and the observed statistic ``s`` (larger = more
extreme; ``|t|`` for a symmetric test), the p-value is

    p = (1 + #{s* ≥ s}) / (B + 1),

the Monte Carlo p-value that counts the observed statistic among the draws: it is never 0, and the
test "reject when p ≤ α" has level exactly α when ``α (B + 1)`` is an integer and the statistics
are exchangeable under the null (Davison & Hinkley 1997, §4.2.1; Dufour 2006). For randomisation
inference over an exact enumeration of the assignments it is the exact permutation p-value.
Statistics within ``1e-12`` of the observed one count as ties (as extreme), so that a draw equal
to the observed statistic up to rounding is never missed.

**Resolution.** ``B`` draws cannot give a p-value below ``1 / (B + 1)`` (:func:`pvalue_floor`): a
p-value at that floor says only that no draw was as extreme, i.e. ``p ≤ 1 / (B + 1)``, and is shown
as that bound, never as 0 (:func:`at_floor`; the report's display is
``analysis.reports.sections.estimates.p_text``).

**Interval.** The confidence set of a test is the set of null values it does not reject,
``{τ₀ : p(τ₀) > α}``. :func:`invert_test` finds its ends for any vectorised p-value function: a
grid of 97 points over ``estimate ± 8 scale`` (widened to ±30 and ±120 scales when the set reaches
the grid's edge), then 24 bisections between the last accepted and first rejected grid points on
each side (ends to about ``1e-8 · scale``). It returns the outermost accepted grid points' ends,
so a p-value curve that dips below α and recovers inside the grid does not cut the interval short;
``(−inf, inf)`` when the accepted set still reaches an edge of the ±120-scale grid and
``(nan, nan)`` when no grid point is accepted.

Why hand-written: the convention is one line, and no library offers test inversion for the
restricted (null-imposed) bootstraps used here, whose draws are held fixed while the null moves.

References
----------
Davison, A. C., & Hinkley, D. V. (1997). *Bootstrap Methods and their Application*. Cambridge
    University Press, §4.2.1.
Dufour, J.-M. (2006). Monte Carlo tests with nuisance parameters. *Journal of Econometrics*
    133(2), 443–477.
Roodman, D., MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2019). Fast and wild: Bootstrap
    inference in Stata using boottest. *Stata Journal* 19(1), 4–60 (intervals by inverting the
    restricted bootstrap test).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["TIE_TOLERANCE", "at_floor", "invert_test", "pvalue_floor", "resampling_pvalue"]

#: resampled statistics this close below the observed one count as ties (as extreme)
TIE_TOLERANCE = 1e-12


def resampling_pvalue(observed: np.ndarray | float, draws: np.ndarray) -> np.ndarray:
    """``(1 + #{draws ≥ observed}) / (B + 1)`` along the first axis of ``draws``.

    Parameters
    ----------
    observed : float or ndarray
        The observed statistic(s), larger = more extreme (pass ``|t|`` for a symmetric test);
        broadcast against ``draws[0]``.
    draws : ndarray (B, ...)
        The resampled statistics. NaN draws (a draw where the statistic does not exist) count as
        not extreme.

    Returns
    -------
    ndarray of shape ``draws.shape[1:]`` (a 0-d array for a 1-d ``draws``).
    """
    draws = np.asarray(draws, float)
    hits = np.sum(draws >= np.asarray(observed, float) - TIE_TOLERANCE, axis=0)
    return (1 + hits) / (draws.shape[0] + 1)


def pvalue_floor(n_draws: int) -> float:
    """The smallest p-value ``n_draws`` resampled statistics can give: ``1 / (B + 1)``."""
    n = int(n_draws)
    if n < 1:
        raise ValueError(f"n_draws={n_draws!r}: at least one draw")
    return 1.0 / (n + 1)


def at_floor(p: float, n_draws: int) -> bool:
    """Whether ``p`` is at (or, computed another way, below) the floor of ``n_draws`` draws: no
    draw was as extreme, and all the p-value says is ``p ≤ 1 / (B + 1)``."""
    return float(p) <= pvalue_floor(n_draws) * (1 + 1e-9)


def invert_test(pvalue: Callable[[np.ndarray], np.ndarray], estimate: float, scale: float,
                alpha: float) -> tuple[float, float]:
    """The confidence interval ``{τ₀ : p(τ₀) > α}`` of a test, around ``estimate``.

    Parameters
    ----------
    pvalue : callable
        ``pvalue(tau0)`` → p-values for an array of null values.
    estimate, scale : float
        Centre of the search and its unit (a standard error).
    alpha : float
        Level: the test rejects when ``p ≤ alpha``.

    Returns
    -------
    (low, high)
    """
    if not np.isfinite(estimate) or not np.isfinite(scale) or scale <= 0:
        return np.nan, np.nan
    for width in (8.0, 30.0, 120.0):
        grid = estimate + scale * np.linspace(-width, width, 97)
        inside = pvalue(grid) > alpha
        if not inside.any():
            return np.nan, np.nan
        first, last = np.flatnonzero(inside)[[0, -1]]
        if first > 0 and last < len(grid) - 1:
            break
    else:
        return -np.inf, np.inf

    # both ends bisected at once (one call of ``pvalue`` with two points per step; each point's
    # p-value is the same as on its own, so the ends are those of two separate bisections)
    out = np.array([grid[first - 1], grid[last + 1]])
    inn = np.array([grid[first], grid[last]])
    for _ in range(24):
        mid = 0.5 * (out + inn)
        accept = np.asarray(pvalue(mid)) > alpha
        inn = np.where(accept, mid, inn)
        out = np.where(accept, out, mid)
    lo, hi = 0.5 * (out + inn)
    return float(lo), float(hi)
