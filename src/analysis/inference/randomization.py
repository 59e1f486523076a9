"""Randomisation inference over adoption dates, vectorised over permutations.

The adoption dates of the clusters (counties) are permuted among the clusters: under the sharp
null that the effect is ``τ₀`` for every treated observation, the untreated outcomes
``Y − τ₀·D`` are known, and the estimator can be recomputed for every other assignment of the
same adoption dates. The p-value is the share of assignments whose statistic is at least as
extreme as the observed one; the interval collects the ``τ₀`` not rejected (test inversion).

Speed: the Callaway–Sant'Anna estimator without covariates is a difference of mean changes, so
everything it needs from the data is, per cluster and per group-time cell, the (weighted) sum of
outcome changes and the (weighted) number of units observed in both periods. Those ``G × K`` sums
are computed once; each assignment only decides which clusters are treated or comparison in each
cell, a few ``(P × G) @ (G,)`` products for all ``P`` permutations at once. 999 permutations of
the demo panel take a few milliseconds per outcome instead of re-fitting the estimator 999 times.
The statistic is linear in the outcome, so ``θ_p(Y − τ₀ D) = θ_p(Y) − τ₀ θ_p(D)`` and the whole
p-value curve costs two passes.

Exact enumeration of the distinct assignments is used when their number (``G! / Π m_g!`` for
cohorts of sizes ``m_g``) is at most the requested number of permutations plus one; otherwise
assignments are sampled uniformly with ``numpy.random.default_rng(seed)`` and the observed one is
added. Either way the p-value is the package's one convention
(:func:`analysis.inference.pvalue.resampling_pvalue`): ``(1 + #{other assignments at least as
extreme}) / (number of other assignments + 1)`` — over an exact enumeration, the exact
permutation p-value — and the interval is ``{τ₀ : p(τ₀) > α}``
(:func:`analysis.inference.pvalue.invert_test`).

References
----------
Fisher, R. A. (1935). *The Design of Experiments*. Oliver & Boyd.
Roth, J., & Sant'Anna, P. H. C. (2023). Efficient estimation for staggered rollout designs.
    *Journal of Political Economy Microeconomics* 1(4), 669–709 (design-based view of staggered
    adoption: permuting adoption dates).
MacKinnon, J. G., & Webb, M. D. (2020). Randomization inference for difference-in-differences
    with few treated clusters. *Journal of Econometrics* 218(2), 435–450.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Literal

import numpy as np
import pandas as pd

from ..did import AggSpec, ATTgtResult, aggregate_point, aggregate_table
from ..errors import SpecificationError
from .pvalue import invert_test, resampling_pvalue

__all__ = [
    "PermutationEstimator",
    "assignments",
    "cs_randomization",
    "n_distinct_assignments",
    "pretrend_randomization",
]

#: which linear map: the outcome ``"Y"`` or the observed treatment indicator ``"D"``
Which = Literal["Y", "D"]


def n_distinct_assignments(labels: np.ndarray) -> int:
    """Number of distinct permutations of the multiset ``labels`` (``G! / Π m!``)."""
    counts = Counter(np.asarray(labels).tolist())
    out = math.factorial(len(labels))
    for m in counts.values():
        out //= math.factorial(m)
    return out


def _multiset_permutations(values: list) -> Iterator[tuple]:
    counts = Counter(values)
    keys = sorted(counts, key=lambda v: (np.isinf(v), v) if isinstance(v, float) else (0, v))
    n = len(values)
    cur: list = []

    def rec() -> Iterator[tuple]:
        if len(cur) == n:
            yield tuple(cur)
            return
        for k in keys:
            if counts[k]:
                counts[k] -= 1
                cur.append(k)
                yield from rec()
                cur.pop()
                counts[k] += 1

    yield from rec()


def assignments(labels: np.ndarray, n_perm: int, seed: int) -> tuple[np.ndarray, bool]:
    """Assignments of ``labels`` to positions: ``(P, G)`` array whose first row is the observed
    assignment, and whether the set is the exact enumeration.

    Exact when the number of distinct assignments is at most ``n_perm + 1``; otherwise ``n_perm``
    uniform random permutations (``numpy.random.default_rng(seed)``) plus the observed one.
    """
    labels = np.asarray(labels, dtype=float)
    total = n_distinct_assignments(labels)
    if total <= n_perm + 1:
        allp = np.array(list(_multiset_permutations(labels.tolist())), dtype=float)
        is_obs = (allp == labels[None, :]).all(1)
        allp = np.vstack([labels[None, :], allp[~is_obs]])
        return allp, True
    rng = np.random.default_rng(seed)
    perms = np.array([rng.permutation(labels) for _ in range(n_perm)])
    return np.vstack([labels[None, :], perms]), False


class PermutationEstimator:
    """Callaway–Sant'Anna point estimates for many cluster-level assignments at once.

    Built from an :class:`~analysis.did.ATTgtResult`; ``estimate(A, which, spec)`` returns the
    aggregate keys (and overall, last) for every row of the assignment matrix ``A`` (P × G), for
    the outcome (``which="Y"``) or for the observed treatment indicator (``which="D"``).
    """

    def __init__(self, res: ATTgtResult):
        p = res.panel
        if p.X is not None:
            raise SpecificationError(
                "Randomisation inference is implemented for the estimator without covariates; "
                "drop covariates= or use inference=('analytic', 'wild_bootstrap').")
        G = p.G
        C = p.n_clusters
        gc = np.full(C, np.nan)
        for c in range(C):
            vals = np.unique(G[p.cl == c])
            if len(vals) != 1:
                raise SpecificationError(
                    "Randomisation inference permutes adoption dates across clusters, so every "
                    "unit of a cluster must share its adoption date; some cluster has several. "
                    "Use cluster= the level at which adoption is decided (e.g. county_code).")
            gc[c] = vals[0]
        self.res = res
        self.gc = gc
        self.C = C
        cells = res.cells
        K = len(cells)
        obs = p.obs
        D = (p.times[None, :] >= G[:, None]).astype(float)
        onehot = np.zeros((C, p.n))
        onehot[p.cl, np.arange(p.n)] = 1.0
        self.S = {"Y": np.zeros((C, K)), "D": np.zeros((C, K))}
        self.N = np.zeros((C, K))
        for k in range(K):
            tp, bp = cells.tpos[k], cells.bpos[k]
            both = obs[:, tp] & obs[:, bp]
            wb = p.w * both
            self.N[:, k] = onehot @ wb
            self.S["Y"][:, k] = onehot @ (wb * np.where(both, p.Y[:, tp] - p.Y[:, bp], 0.0))
            self.S["D"][:, k] = onehot @ (wb * (D[:, tp] - D[:, bp]))
        self.wc = onehot @ p.w  # weighted units per cluster
        self.n = p.n

    def cell_att(self, A: np.ndarray, which: Which) -> np.ndarray:
        """ATT(g,t) ``(P, K)`` under each assignment (row of ``A``)."""
        cells = self.res.cells
        S = self.S[which]
        N = self.N
        P = A.shape[0]
        K = len(cells)
        att = np.full((P, K), np.nan)
        never = np.isinf(A)
        antic = self.res.anticipation
        nyt = self.res.control_group == "notyettreated"
        for k in range(K):
            if cells.reference[k]:
                att[:, k] = 0.0
                continue
            g = cells.g[k]
            tr = (A == g).astype(float)
            if nyt:
                ct = (never | ((A > max(cells.t[k], cells.base[k]) + antic) & (A != g))).astype(
                    float)
            else:
                ct = never.astype(float)
            n1, n0 = tr @ N[:, k], ct @ N[:, k]
            with np.errstate(invalid="ignore", divide="ignore"):
                att[:, k] = (tr @ S[:, k]) / n1 - (ct @ S[:, k]) / n0
        return att

    def estimate(self, A: np.ndarray, which: Which, spec: AggSpec) -> np.ndarray:
        """Aggregates ``(P, nkeys + 1)`` (overall last) under each assignment."""
        att = self.cell_att(A, which)
        cells = self.res.cells
        pg_cells = np.stack([(A == g) @ self.wc for g in cells.g], axis=1) / self.n
        pgg = None
        if spec.overall == "pgg":
            pgg = np.stack([(A == g) @ self.wc for g in spec.key_groups], axis=1) / self.n
        keys, overall = aggregate_point(spec, att, pg_cells, pgg)
        return np.concatenate([keys, overall[:, None]], axis=1)


def cs_randomization(res: ATTgtResult, spec: AggSpec, *, n_perm: int = 999, seed: int = 0,
                     alpha: float = 0.05) -> tuple[pd.DataFrame, str]:
    """Randomisation-inference rows (``inference = "randomization"``) for an aggregate.

    Statistic ``|θ̂|`` of each key under the sharp null ``Y(0) = Y − τ₀ D``; p-value at
    ``τ₀ = 0`` and interval by test inversion for post-adoption keys. Pre-period keys (event time
    < 0) are tested for zero after removing the estimated overall post effect (no interval).
    ``std_error`` is the standard deviation of the permutation distribution under ``τ₀ = θ̂``.
    Returns the rows and a note on exact vs sampled assignments.
    """
    pe = PermutationEstimator(res)
    A, exact = assignments(pe.gc, n_perm, seed)
    SY = pe.estimate(A, "Y", spec)  # (P, nkeys+1); row 0 = observed
    SD = pe.estimate(A, "D", spec)
    est = SY[0]
    pre = spec.pre
    P = A.shape[0]
    nk = len(spec.keys)
    lo, hi, pv, sd = (np.full(nk + 1, np.nan) for _ in range(4))
    tau_post = np.nan
    if pre.any():
        tau_post = pe.estimate(A[:1], "Y", res.spec("simple"))[0, -1]
    for j in range(nk + 1):
        if not np.isfinite(est[j]):
            continue
        if pre[j]:
            stat = np.abs(SY[:, j] - tau_post * SD[:, j])
            pv[j] = resampling_pvalue(stat[0], stat[1:])
            sd[j] = np.nanstd(SY[:, j] - tau_post * SD[:, j])
            continue

        def pfun(tau0: np.ndarray, j: int = j) -> np.ndarray:
            stat = np.abs(SY[:, j][:, None] - tau0[None, :] * SD[:, j][:, None])
            return resampling_pvalue(stat[0], stat[1:])

        pv[j] = pfun(np.array([0.0]))[0]
        sd[j] = np.nanstd(SY[:, j] - est[j] * SD[:, j])
        lo[j], hi[j] = invert_test(pfun, est[j], sd[j] if sd[j] > 0 else 1.0, alpha)
    note = (f"Randomisation inference: exact enumeration of all {P} distinct assignments of "
            f"adoption dates to {pe.C} clusters." if exact else
            f"Randomisation inference: {P - 1} sampled assignments of adoption dates to {pe.C} "
            f"clusters (of {n_distinct_assignments(pe.gc)} distinct), seed {seed}.")
    min_p = 1.0 / P
    if min_p > alpha:
        note += (f" Only {P} assignments exist: the smallest attainable p-value is {min_p:.3f}, "
                 f"above {alpha}; the test cannot reject at that level.")
    return aggregate_table(spec, est, sd, lo, hi, pv, "randomization"), note


def pretrend_randomization(res: ATTgtResult, spec: AggSpec, *, n_perm: int = 999,
                           seed: int = 0) -> tuple[float, float, bool]:
    """Joint pre-trend test: ``S = mean_e θ_e²`` over pre-period event times, judged by
    randomisation of adoption dates (after removing the estimated post effect). Returns
    ``(S, p_value, exact)``."""
    pe = PermutationEstimator(res)
    A, exact = assignments(pe.gc, n_perm, seed)
    pre = spec.pre
    if not pre.any():
        return np.nan, np.nan, exact
    SY = pe.estimate(A, "Y", spec)
    SD = pe.estimate(A, "D", spec)
    tau_post = pe.estimate(A[:1], "Y", res.spec("simple"))[0, -1]
    Z = SY[:, pre] - tau_post * SD[:, pre]
    S = np.nanmean(Z**2, axis=1)
    return float(S[0]), float(resampling_pvalue(S[0], S[1:])), exact
