"""Sensitivity to violations of parallel trends: Rambachan & Roth (2023) "honest" intervals.

The event-study coefficients on a universal base period, ``β = (β_pre, β_post)`` (pre-periods
``t = −K … −1`` and post-periods ``t = 1 … P`` in the paper's indexing; event times ``−K−1 … −2``
and ``0 … P−1`` here, with ``−1`` the reference), are ``β = τ + δ`` with ``τ_pre = 0``: ``δ`` is the
difference in trends. The target is ``θ = l'τ_post``. Instead of assuming ``δ_post = 0``, a set of
allowed ``δ`` is assumed and the interval covers ``θ`` for every ``δ`` in it:

* **smoothness** ``Δ^SD(M)``: the slope of ``δ`` changes by at most ``M`` per period
  (``|δ_{t+1} − 2δ_t + δ_{t−1}| ≤ M``); ``M = 0`` allows exactly a linear trend through the
  reference period. Interval: the optimal fixed-length confidence interval (FLCI; Armstrong &
  Kolesár 2018, RR Section 4.1): among affine estimators ``ℓ'β̂_pre + l'β̂_post`` that are unbiased
  under every linear trend, the one whose interval ``± cv_α(b/σ) σ`` is shortest, with ``b`` the
  worst-case bias over ``Δ^SD(M)`` (``M`` times an ℓ1 norm of ``ℓ``, derived from the second
  differences) and ``cv_α(t)`` the ``1−α`` quantile of ``|N(t, 1)|``. The half-length is convex in
  ``ℓ`` (the perspective of the convex ``cv_α``, increasing in ``b`` and ``σ``), so a local
  optimiser finds the optimum.
* **relative magnitudes** ``Δ^RM(M̄)``: no post-period change of ``δ`` exceeds ``M̄`` times the
  largest pre-period change. A union over which pre-period change is the largest and its sign of
  polyhedra ``A δ ≤ 0``; for each, the conditional-least-favourable hybrid test of Andrews, Roth &
  Pakes (2023) (``"C-LF"``, HonestDiD's default for this restriction; first stage at
  ``κ = α/10`` with the least-favourable critical value, second stage the conditional test at
  ``(α−κ)/(1−κ)``) or the conditional test alone (``"conditional"``), inverted over ``θ``. The
  interval is the hull of the ``θ`` some polyhedron accepts. As in HonestDiD only the moments that
  involve a post-period coefficient are used.

**How the conditional test is computed.** The test statistic is
``η̂ = min_ν max_j (Y_j(θ) − (Xν)_j)/σ̃_j``, a linear programme whose dual optimum is attained at a
vertex of the polytope ``{γ ≥ 0 : σ̃'γ = 1, X'γ = 0}``, which does not depend on ``θ``. The
vertices are enumerated once (basic feasible solutions; a few hundred for the sizes used here), so
``η̂(θ) = max_v γ_v'Y(θ)`` over a whole grid of ``θ`` is one matrix product, and the truncation
points of the conditional distribution (ARP's ``v_lo``, ``v_up``: the range of ``η`` over which the
optimal vertex stays optimal) are closed-form maxima and minima over the other vertices — the same
quantities HonestDiD finds with a sequence of linear programmes. The least-favourable critical
value is the ``1−κ`` quantile of ``max_v γ_v'ξ``, ``ξ ~ N(0, Σ_Y)``, simulated with
``numpy.random.default_rng(seed)`` (HonestDiD simulates it with R's generator, so its intervals
differ from these by that simulation noise).

**Few clusters.** The intervals need the covariance of the event-study coefficients. With 11
counties the analytic clustered covariance is too small; :func:`cluster_jackknife` gives the
delete-one-cluster jackknife (CV3; MacKinnon, Nielsen & Webb 2023), which exists whenever the
number of coefficients is below the number of clusters.

:func:`breakdown_m` is the smallest ``M`` (or ``M̄``) whose interval covers zero — "how large a
violation would overturn the conclusion".

Why hand-written: HonestDiD is R; its Python port ``honestdid`` solves one linear programme per
grid point and pulls in ``cvxpy``. The vertex enumeration above makes the conditional test a few
array operations for the small problems of this package (checked against independently derivable
numbers: ``M = 0`` smoothness is the linear-extrapolation interval; ``M̄ = 0`` with the conditional
test is the original interval; intervals widen with ``M``).

References
----------
Rambachan, A., & Roth, J. (2023). A more credible approach to parallel trends. *Review of Economic
    Studies* 90(5), 2555–2591.
Andrews, I., Roth, J., & Pakes, A. (2023). Inference for linear conditional moment inequalities.
    *Review of Economic Studies* 90(6), 2763–2791.
Armstrong, T. B., & Kolesár, M. (2018). Optimal inference in a class of regression models.
    *Econometrica* 86(2), 655–683.
MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2023). Cluster-robust inference: A guide to
    empirical practice. *Journal of Econometrics* 232(2), 272–299.
MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2023). Fast and reliable jackknife and bootstrap
    methods for cluster-robust inference. *Journal of Applied Econometrics* 38(5), 671–694.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ..errors import SpecificationError, check_option
from ..plots import new_axes
from ..results import ResultMixin
from .aggregation import AggSpec
from .jackknife import leave_one_out
from .results import ATTgtResult

__all__ = [
    "HonestResult",
    "Restriction",
    "RMMethod",
    "breakdown_m",
    "cluster_jackknife",
    "cv_folded_normal",
    "event_study_vector",
    "flci",
    "honest_did",
    "linear_extrapolation_ci",
    "rm_interval",
    "sd_upper_bound",
]

Restriction = Literal["relative_magnitude", "smoothness"]
RMMethod = Literal["C-LF", "conditional"]
Target = Literal["average", "first"]

#: tolerance for "non-negative" in the vertex enumeration and for ties
_TOL = 1e-10


# --------------------------------------------------------------------------------------------
# smoothness: the fixed-length confidence interval
# --------------------------------------------------------------------------------------------
def cv_folded_normal(t: np.ndarray | float, alpha: float) -> np.ndarray:
    """The ``1 − alpha`` quantile of ``|N(t, 1)|`` (elementwise), by Newton's method on
    ``Φ(c − t) − Φ(−c − t) = 1 − alpha`` from ``c = |t| + z_{1−α/2}`` (exact to ~1e-14)."""
    t = np.abs(np.asarray(t, float))
    c = t + special.ndtri(1 - alpha / 2)
    for _ in range(60):
        f = special.ndtr(c - t) - special.ndtr(-c - t) - (1 - alpha)
        fp = (np.exp(-0.5 * (c - t) ** 2) + np.exp(-0.5 * (c + t) ** 2)) / np.sqrt(2 * np.pi)
        step = f / fp
        c = c - step
        if np.all(np.abs(step) < 1e-15 * np.maximum(1, c)):
            break
    return c


def _cv_slope(t: float, c: float) -> float:
    """``d cv / d t`` at ``(t, c = cv(t))`` (implicit function theorem)."""
    a, b = np.exp(-0.5 * (c - t) ** 2), np.exp(-0.5 * (c + t) ** 2)
    return float((a - b) / (a + b))


def _pre_times(num_pre: int) -> np.ndarray:
    return np.arange(-num_pre, 0, dtype=float)


def _sd_bias_terms(num_pre: int, num_post: int, l_vec: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Worst-case bias over ``Δ^SD(M)`` of ``ℓ'β̂_pre + l'β̂_post`` (unbiased under linear trends) is
    ``M (‖G ℓ‖₁ + ‖g_post‖₁)``: ``G`` (K × K) maps ``ℓ`` to the coefficients of the second
    differences ``c_u``, ``u = −K+1 … 0``; ``g_post`` those of ``u = 1 … P−1`` (fixed by ``l``)."""
    tpre = _pre_times(num_pre)
    us = np.arange(-num_pre + 1, 1, dtype=float)
    G = np.where(tpre[None, :] < us[:, None], us[:, None] - tpre[None, :], 0.0)
    tpost = np.arange(1, num_post + 1, dtype=float)
    up = np.arange(1, num_post, dtype=float)
    g_post = (np.where(tpost[None, :] > up[:, None], tpost[None, :] - up[:, None], 0.0)
              @ l_vec) if num_post > 1 else np.zeros(0)
    return G, g_post


def linear_extrapolation_ci(betahat: np.ndarray, sigma: np.ndarray, num_pre: int,
                            num_post: int, l_vec: Sequence[float], alpha: float = 0.05
                            ) -> tuple[float, float, np.ndarray]:
    """The interval when ``δ`` is exactly linear through the reference period: the
    minimum-variance estimator ``ℓ'β̂_pre + l'β̂_post`` with ``ℓ't_pre = −l't_post`` (generalised
    least squares extrapolation of the pre-period trend), ``± z_{1−α/2} σ``. Returns
    ``(low, high, ℓ)``."""
    b, S, lv = _check_inputs(betahat, sigma, num_pre, num_post, l_vec)
    a = _pre_times(num_pre)
    r = -float(lv @ np.arange(1, num_post + 1))
    Spp, Spq = S[:num_pre, :num_pre], S[:num_pre, num_pre:]
    try:
        Sa = np.linalg.solve(Spp, a)
        Sq = np.linalg.solve(Spp, Spq @ lv)
    except np.linalg.LinAlgError as exc:
        raise SpecificationError("The covariance of the pre-period coefficients is singular; use "
                                 "fewer pre-periods or a covariance with more clusters.") from exc
    lam = (r + a @ Sq) / (a @ Sa)
    ell = lam * Sa - Sq
    v = np.concatenate([ell, lv])
    est, sd = float(v @ b), float(np.sqrt(v @ S @ v))
    z = stats.norm.ppf(1 - alpha / 2)
    return est - z * sd, est + z * sd, ell


def flci(betahat: np.ndarray, sigma: np.ndarray, num_pre: int, num_post: int,
         l_vec: Sequence[float], M: float, alpha: float = 0.05) -> tuple[float, float, np.ndarray]:
    """Optimal fixed-length confidence interval under ``Δ^SD(M)`` (RR Section 4.1).

    Parameters
    ----------
    betahat : ndarray (K + P,)
        Event-study coefficients, pre-periods first, the reference left out.
    sigma : ndarray (K + P, K + P)
        Their covariance.
    num_pre, num_post : int
        ``K`` (at least 2) and ``P``.
    l_vec : sequence (P,)
        Target weights on the post-period coefficients.
    M : float
        Bound on the change in slope of the trend difference per period (outcome units).
    alpha : float

    Returns
    -------
    (low, high, ℓ) with ``ℓ`` the pre-period weights of the estimator.
    """
    b, S, lv = _check_inputs(betahat, sigma, num_pre, num_post, l_vec)
    if num_pre < 2:
        raise SpecificationError("The smoothness restriction needs at least two pre-periods.")
    if M < 0 or not np.isfinite(M):
        raise SpecificationError(f"M={M!r} must be a finite number >= 0.")
    lo0, hi0, ell0 = linear_extrapolation_ci(b, S, num_pre, num_post, lv, alpha)
    if M == 0:
        return lo0, hi0, ell0
    G, g_post = _sd_bias_terms(num_pre, num_post, lv)
    const = float(np.abs(g_post).sum())
    a = _pre_times(num_pre)
    # ℓ = ell0 + N z spans the estimators unbiased under linear trends (a'ℓ fixed)
    N = np.linalg.svd(a[None, :])[2][1:].T
    Spp, Spq = S[:num_pre, :num_pre], S[:num_pre, num_pre:]
    spost = float(lv @ S[num_pre:, num_pre:] @ lv)

    q = N.shape[1]
    GN, Gl0 = G @ N, G @ ell0
    r0 = Spp @ ell0 + Spq @ lv
    var0 = float(ell0 @ Spp @ ell0 + 2 * ell0 @ Spq @ lv + spost)

    # variables x = (z, U): U ≥ |G ℓ| componentwise; half-length σ cv(M (ΣU + const) / σ)
    def parts(x: np.ndarray) -> tuple[float, float, float, float]:
        z, U = x[:q], x[q:]
        var = var0 + 2 * z @ (N.T @ r0) + z @ (N.T @ Spp @ N) @ z
        sd = float(np.sqrt(max(var, 1e-300)))
        tb = M * (U.sum() + const) / sd
        return sd, tb, float(cv_folded_normal(tb, alpha)), var

    def fun(x: np.ndarray) -> float:
        sd, _, c, _ = parts(x)
        return sd * c

    def jac(x: np.ndarray) -> np.ndarray:
        z = x[:q]
        sd, tb, c, _ = parts(x)
        slope = _cv_slope(tb, c)
        dsd = (N.T @ r0 + N.T @ Spp @ N @ z) / sd
        return np.r_[(c - tb * slope) * dsd, np.full(num_pre, M * slope)]

    cons = [{"type": "ineq", "fun": lambda x: x[q:] - (GN @ x[:q] + Gl0),
             "jac": lambda x: np.hstack([-GN, np.eye(num_pre)])},
            {"type": "ineq", "fun": lambda x: x[q:] + (GN @ x[:q] + Gl0),
             "jac": lambda x: np.hstack([GN, np.eye(num_pre)])}]
    starts = [np.zeros(q)]
    lb = optimize.linprog(np.r_[np.zeros(q), np.ones(num_pre)],
                          A_ub=np.block([[GN, -np.eye(num_pre)], [-GN, -np.eye(num_pre)]]),
                          b_ub=np.r_[-Gl0, Gl0], bounds=[(None, None)] * (q + num_pre),
                          method="highs")
    if lb.status == 0:
        starts.append(lb.x[:q])
    best = None
    for z0 in starts:
        x0 = np.r_[z0, np.abs(GN @ z0 + Gl0)]
        r = optimize.minimize(fun, x0, jac=jac, constraints=cons, method="SLSQP",
                              options={"ftol": 1e-15, "maxiter": 1000})
        if best is None or r.fun < best.fun:
            best = r
    ell = ell0 + N @ best.x[:q]
    est = float(np.concatenate([ell, lv]) @ b)
    return est - best.fun, est + best.fun, ell


def sd_upper_bound(betahat: np.ndarray, sigma: np.ndarray, num_pre: int,
                   alpha: float = 0.05) -> float:
    """HonestDiD's default top of the ``M`` grid (``DeltaSD_upperBound_Mpre``): the largest
    one-sided ``1−α`` upper bound of ``±`` the pre-period second differences (the last one through
    the reference period, where ``δ = 0``)."""
    b = np.asarray(betahat, float)[:num_pre]
    S = np.asarray(sigma, float)[:num_pre, :num_pre]
    A = np.zeros((num_pre - 1, num_pre + 1))
    for r in range(num_pre - 1):
        A[r, r:r + 3] = (1, -2, 1)
    A = A[:, :num_pre]  # the reference column (δ_0 = 0) contributes nothing
    A = np.vstack([A, -A])
    return float(np.max(A @ b + stats.norm.ppf(1 - alpha) * np.sqrt(np.diag(A @ S @ A.T))))


# --------------------------------------------------------------------------------------------
# relative magnitudes: the ARP conditional / hybrid test by vertex enumeration
# --------------------------------------------------------------------------------------------
def _rm_matrix(num_pre: int, num_post: int, Mbar: float, s: int, positive: bool) -> np.ndarray:
    """HonestDiD's ``.create_A_RM``: ``A δ ≤ 0`` for "the pre-period change ending at ``s``
    (``−K+1 ≤ s ≤ 0``, paper indexing) is the largest, with sign ``positive``"; zero rows dropped,
    the reference column dropped."""
    K, P = num_pre, num_post
    At = np.zeros((K + P, K + P + 1))
    for r in range(K + P):
        At[r, r:r + 2] = (-1, 1)
    v = np.zeros(K + P + 1)
    v[K + s - 1:K + s + 1] = (-1, 1)
    if not positive:
        v = -v
    UB = np.vstack([np.tile(v, (K, 1)), np.tile(Mbar * v, (P, 1))])
    A = np.vstack([At - UB, -At - UB])
    A = A[(A * A).sum(1) > 1e-10]
    return np.delete(A, K, axis=1)


def _vertices(W: np.ndarray) -> np.ndarray:
    """Vertices of ``{γ ≥ 0 : W'γ = e₁}`` (``W`` m × q, rank q): the basic feasible solutions
    (supports of q moments whose rows of ``W`` are independent), as rows."""
    m, q = W.shape
    if np.linalg.matrix_rank(W) < q:
        raise SpecificationError("The moment inequalities are degenerate (dependent nuisance "
                                 "directions); use fewer post-periods.")
    combos = np.array(list(itertools.combinations(range(m), q)), dtype=int)
    WB = W[combos].transpose(0, 2, 1)  # (ncomb, q, q): W_B'
    scale = np.abs(W).max()
    ok = np.abs(np.linalg.det(WB / scale)) > 1e-10
    combos, WB = combos[ok], WB[ok]
    e1 = np.zeros((len(WB), q, 1))
    e1[:, 0, 0] = 1.0
    g = np.linalg.solve(WB, e1)[:, :, 0]
    feasible = (g >= -_TOL).all(1)
    out = np.zeros((int(feasible.sum()), m))
    rows = np.repeat(np.arange(len(out)), q)
    out[rows, combos[feasible].ravel()] = np.maximum(g[feasible], 0.0).ravel()
    return np.unique(np.round(out, 12), axis=0) if len(out) else out


def _truncnorm_quantile(p: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Quantile ``p`` of the standard normal truncated to ``[lo, hi]`` (elementwise), in log
    space in the tails so that truncation far out (``lo = 400``) is still exact (as R's
    ``TruncatedNormal::norminvp`` that HonestDiD uses)."""
    lo, hi = np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # upper tail (lo > 0): P(Z > q) = sf(lo) − p (sf(lo) − sf(hi))
        lsa, lsb = special.log_ndtr(-lo), special.log_ndtr(-hi)
        up = -special.ndtri_exp(lsa + np.log1p(-p * (1 - np.exp(lsb - lsa))))
        # otherwise: P(Z < q) = cdf(lo) + p (cdf(hi) − cdf(lo))
        la, lb = special.log_ndtr(lo), special.log_ndtr(hi)
        down = special.ndtri_exp(lb + np.log(p + (1 - p) * np.exp(la - lb)))
    return np.where(lo > 0, up, down)


class _ARPTest:
    """The ARP test of ``E[Y(θ)] − Xν ≤ 0`` for all ``θ`` of a grid at once,
    ``Y(θ) = y0 − a θ``, ``Y ~ N(·, Σ_Y)``, given the dual vertices ``V`` (rows) and, for the
    hybrid, standard normal draws ``Z`` (n_sims × m) for the least-favourable critical value."""

    def __init__(self, y0: np.ndarray, a: np.ndarray, SY: np.ndarray, V: np.ndarray,
                 alpha: float, method: RMMethod, Z: np.ndarray | None):
        self.y0, self.a, self.SY, self.V = y0, a, SY, V
        self.method = method
        kappa = alpha / 10
        self.size = (alpha - kappa) / (1 - kappa) if method == "C-LF" else alpha
        self.lf_cv = np.inf
        if method == "C-LF" and len(V) and Z is not None:
            w, Q = np.linalg.eigh(SY)
            xi = Z @ (Q * np.sqrt(np.clip(w, 0, None))).T
            self.lf_cv = float(np.quantile((xi @ V.T).max(1), 1 - kappa))

    def accept(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_1d(np.asarray(theta, float))
        if not len(self.V):  # no dual vertex: the moments cannot all bind, nothing is rejected
            return np.ones(len(theta), bool)
        Y = self.y0[None, :] - theta[:, None] * self.a[None, :]  # (n, m)
        vals = Y @ self.V.T  # (n, nv): γ_v'Y
        j = vals.argmax(1)
        eta = vals[np.arange(len(theta)), j]  # the LP's optimum η̂
        g = self.V[j]
        Sg = g @ self.SY
        sb2 = (Sg * g).sum(1)
        out = np.ones(len(theta), bool)
        ok = sb2 > 1e-300
        out[~ok] = eta[~ok] <= 0
        c = Sg / np.where(ok, sb2, 1.0)[:, None]  # Σγ*/σ_B²
        S = Y - c * eta[:, None]
        num = S @ self.V.T  # γ_v'S
        den = 1 - c @ self.V.T  # 1 − γ_v'c: γ* stays optimal while γ_v'S ≤ (1 − γ_v'c) η
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = num / den
        vlo = np.where(den > 1e-10, ratio, -np.inf).max(1)
        vup = np.where(den < -1e-10, ratio, np.inf).min(1)
        sb = np.sqrt(np.where(ok, sb2, 1.0))
        if self.method == "C-LF":
            vup = np.minimum(vup, self.lf_cv)
        stat, zlo, zup = eta / sb, vlo / sb, vup / sb
        inside = (zlo <= stat + 1e-12) & (stat <= zup + 1e-12)
        cval = np.maximum(0.0, _truncnorm_quantile(1 - self.size, zlo, zup))
        reject = inside & (stat > cval)
        if self.method == "C-LF":
            reject |= eta > self.lf_cv
        out[ok] = ~reject[ok]
        return out


class _RMProblem:
    """``Δ^RM`` for one ``β̂, Σ`` and target: per polyhedron (largest pre-period change ``s`` and
    its sign) the post-period moment rows ``A(M̄) = A0 + M̄ A1``, the dual vertex directions (their
    supports do not depend on the moments' scales, so they are enumerated once) and the
    standard normal draws of the least-favourable critical value (common to every ``M̄``)."""

    def __init__(self, betahat: np.ndarray, sigma: np.ndarray, num_pre: int, num_post: int,
                 l_vec: np.ndarray, alpha: float, method: RMMethod, seed: int, n_sims: int):
        self.b, self.S, self.K, self.alpha, self.method = betahat, sigma, num_pre, alpha, method
        self._l = l_vec
        K, P = num_pre, num_post
        u = l_vec / (l_vec @ l_vec)
        N = np.linalg.svd(l_vec[None, :])[2][1:].T if P > 1 else np.zeros((P, 0))
        self.polys = []
        for s in range(-(K - 1), 1):
            for positive in (True, False):
                A0 = _rm_matrix(K, P, 0.0, s, positive)
                A1 = _rm_matrix(K, P, 1.0, s, positive) - A0
                post = np.abs(A0[:, K:]).sum(1) > 0
                A0, A1 = A0[post], A1[post]
                Apost = A0[:, K:]
                D = _vertices(np.column_stack([np.ones(len(A0)), Apost @ N]))
                # the same draws for every polyhedron, as HonestDiD (it re-seeds for each)
                Z = (np.random.default_rng(seed).standard_normal((n_sims, len(A0)))
                     if method == "C-LF" else None)
                self.polys.append((A0, A1, Apost @ u, D, Z))

    def tests(self, Mbar: float) -> list[_ARPTest]:
        out = []
        for A0, A1, a, D, Z in self.polys:
            A = A0 + Mbar * A1
            SY = A @ self.S @ A.T
            sd = np.sqrt(np.clip(np.diag(SY), 0, None))
            V = D / (D @ sd)[:, None] if len(D) else D
            out.append(_ARPTest(A @ self.b, a, SY, V, self.alpha, self.method, Z))
        return out

    def identified_set(self, Mbar: float) -> tuple[float, float]:
        """Bounds of ``θ`` over ``Δ^RM(M̄)`` at ``β = β̂`` (HonestDiD's
        ``.compute_IDset_DeltaRM``, a linear programme per polyhedron there). With ``δ_pre = β̂_pre``
        the largest pre-period change ``D`` is known, so the union of the polyhedra is
        ``|δ_{t} − δ_{t−1}| ≤ M̄ D`` for every post-period ``t`` and the bounds are
        ``l'β̂_post ∓ M̄ D Σ_r |Σ_{t ≥ r} l_t|``."""
        K = self.K
        pre = np.r_[self.b[:K], 0.0]
        D = float(np.abs(np.diff(pre)).max())
        lv = self._l
        reach = float(np.abs(np.cumsum(lv[::-1])[::-1]).sum())
        mid = float(lv @ self.b[K:])
        return mid - Mbar * D * reach, mid + Mbar * D * reach


def _invert(accept: Callable[[np.ndarray], np.ndarray], centre: float, scale: float,
            half_width: float = 0.0) -> tuple[float, float]:
    """Hull of the accepted ``θ``: a grid of 401 points over ``centre ± (half_width + w·scale)``
    (``w`` = 10, 40, 160 until the accepted set is inside), then 24 bisections at both ends
    (ends to about ``1e-8`` of the grid's width)."""
    for w in (10.0, 40.0, 160.0):
        grid = centre + (half_width + w * scale) * np.linspace(-1, 1, 401)
        acc = accept(grid)
        if not acc.any():
            return np.nan, np.nan
        i, j = np.flatnonzero(acc)[[0, -1]]
        if i > 0 and j < len(grid) - 1:
            break
    else:
        return -np.inf, np.inf
    out = np.array([grid[i - 1], grid[j + 1]])
    inn = np.array([grid[i], grid[j]])
    for _ in range(24):
        mid = 0.5 * (out + inn)
        ok = accept(mid)
        inn = np.where(ok, mid, inn)
        out = np.where(ok, out, mid)
    return float(inn[0]), float(inn[1])


def rm_interval(betahat: np.ndarray, sigma: np.ndarray, num_pre: int, num_post: int,
                l_vec: Sequence[float], Mbar: float, alpha: float = 0.05,
                method: RMMethod = "C-LF", seed: int = 0, n_sims: int = 5_000
                ) -> tuple[float, float]:
    """Confidence interval for ``θ = l'τ_post`` under ``Δ^RM(M̄)`` (RR Section 4.2).

    Parameters
    ----------
    betahat, sigma, num_pre, num_post, l_vec, alpha
        As :func:`flci`.
    Mbar : float
        Largest post-period change of ``δ`` relative to the largest pre-period change.
    method : {"C-LF", "conditional"}
        ARP's conditional-least-favourable hybrid (HonestDiD's default) or the conditional test.
    seed, n_sims : int
        Seed and draws of the simulated least-favourable critical value (``"C-LF"``).
    """
    b, S, lv = _check_inputs(betahat, sigma, num_pre, num_post, l_vec)
    check_option("method", method, RMMethod)
    if Mbar < 0 or not np.isfinite(Mbar):
        raise SpecificationError(f"Mbar={Mbar!r} must be a finite number >= 0.")
    problem = _RMProblem(b, S, num_pre, num_post, lv, alpha, method, seed, n_sims)
    return _rm_ci(problem, float(Mbar), lv)


def _rm_ci(problem: _RMProblem, Mbar: float, lv: np.ndarray) -> tuple[float, float]:
    """The interval of one ``M̄``: the hull of the ``θ`` some polyhedron's test accepts, searched
    around the identified set."""
    tests = problem.tests(Mbar)
    K = problem.K
    sd = float(np.sqrt(lv @ problem.S[K:, K:] @ lv))
    idl, idu = problem.identified_set(Mbar)
    if not (np.isfinite(idl) and np.isfinite(idu)):
        idl = idu = float(lv @ problem.b[K:])

    def accept(theta: np.ndarray) -> np.ndarray:
        out = np.zeros(len(theta), bool)
        for t in tests:
            out |= t.accept(theta)
        return out

    return _invert(accept, 0.5 * (idl + idu), max(sd, 1e-12), half_width=0.5 * (idu - idl))


def breakdown_m(interval: Callable[[float], tuple[float, float]], *, m_max: float,
                tol: float = 1e-3, bracket: tuple[float, float] | None = None) -> float:
    """The smallest ``M`` whose interval covers zero (intervals widen with ``M``): 0 when the
    ``M = 0`` interval already does, ``inf`` when even ``m_max`` does not; else bisection to
    ``tol`` times the bracket (``bracket``: an ``M`` known not to cover zero and one known to)."""
    def covers(m: float) -> bool:
        lo, hi = interval(m)
        return bool(not np.isfinite(lo) or not np.isfinite(hi) or lo <= 0 <= hi)

    if bracket is None:
        if covers(0.0):
            return 0.0
        if not covers(m_max):
            return np.inf
        bracket = (0.0, m_max)
    lo, hi = bracket
    width = hi - lo
    while hi - lo > tol * max(width, 1e-300):
        mid = 0.5 * (lo + hi)
        if covers(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _breakdown_from_grid(interval: Callable[[float], tuple[float, float]], grid: np.ndarray,
                         cis: Sequence[tuple[float, float]], m_max: float) -> float:
    """:func:`breakdown_m` bracketed by the grid's own intervals when one of them covers zero
    (and the grid starts at 0); beyond the grid, doubling up to ``m_max``."""
    cover = [not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0 <= hi for lo, hi in cis]
    order = np.argsort(grid)
    g = np.asarray(grid, float)[order]
    c = np.asarray(cover)[order]
    if len(g) and g[0] == 0 and c[0]:
        return 0.0
    if c.any() and len(g) and g[0] == 0:
        k = int(np.flatnonzero(c)[0])
        return breakdown_m(interval, m_max=m_max, bracket=(float(g[k - 1]), float(g[k])))
    lo = float(g[-1]) if len(g) else 0.0
    hi = max(2 * lo, 1e-6)
    while hi <= m_max:
        a, b = interval(hi)
        if not (np.isfinite(a) and np.isfinite(b)) or a <= 0 <= b:
            return breakdown_m(interval, m_max=m_max, bracket=(lo, hi))
        lo, hi = hi, 2 * hi
    return np.inf


def _check_inputs(betahat: Any, sigma: Any, num_pre: int, num_post: int, l_vec: Any
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = np.asarray(betahat, float).ravel()
    S = np.asarray(sigma, float)
    lv = np.asarray(l_vec, float).ravel()
    if num_pre < 1 or num_post < 1 or len(b) != num_pre + num_post:
        raise SpecificationError(f"betahat has {len(b)} coefficients; expected num_pre + num_post "
                                 f"= {num_pre} + {num_post}.")
    if S.shape != (len(b), len(b)) or not np.isfinite(S).all():
        raise SpecificationError("sigma must be a finite square matrix matching betahat.")
    if len(lv) != num_post or not np.isfinite(lv).all() or not lv.any():
        raise SpecificationError(f"l_vec must give {num_post} finite weights, not all zero.")
    if not np.isfinite(b).all():
        raise SpecificationError("betahat has missing coefficients; narrow the event window.")
    return b, S, lv


# --------------------------------------------------------------------------------------------
# the event-study vector of a Callaway–Sant'Anna fit and its cluster jackknife covariance
# --------------------------------------------------------------------------------------------
def event_study_vector(res: ATTgtResult, num_pre: int, num_post: int
                       ) -> tuple[AggSpec, np.ndarray, np.ndarray]:
    """The dynamic aggregation over event times ``−num_pre−1 … num_post−1`` of a universal-base
    fit and the positions of the coefficients RR use (the reference ``−1`` left out): ``(spec,
    keys, estimates)`` with ``keys`` the event times of the returned estimates."""
    if res.base_period != "universal":
        raise SpecificationError("Sensitivity to parallel-trends violations needs event-study "
                                 "coefficients on a universal base period: fit att_gt with "
                                 "base_period='universal'.")
    spec = res.spec("dynamic", min_e=-num_pre - 1, max_e=num_post - 1)
    keys = np.array([float(k) for k in spec.keys])
    want = np.r_[np.arange(-num_pre - 1, -1), np.arange(0, num_post)].astype(float)
    missing = sorted(set(want) - set(keys))
    if missing:
        raise SpecificationError(f"Event times {missing} have no estimate; choose fewer pre- or "
                                 "post-periods.")
    est, _ = res.estimates(spec)
    pos = np.searchsorted(keys, want)
    return spec, want, est[pos]


def cluster_jackknife(res: ATTgtResult, spec: AggSpec) -> tuple[np.ndarray, np.ndarray]:
    """Delete-one-cluster jackknife of the keys of ``spec``: the leave-one-out estimates
    ``(C, nkeys)`` and the covariance ``(C−1)/C · Σ_c (θ_(c) − θ̂)(θ_(c) − θ̂)'`` centred at the
    full-sample estimate ``θ̂`` (MacKinnon, Nielsen & Webb's CV3, as the wild bootstrap's CV3
    studentisation in :mod:`analysis.inference`).

    Each leave-one-out fit reuses the cells of ``res`` on the remaining units (a cell or key
    whose cohort or comparison units were all in the left-out cluster is missing in that fit; the
    aggregate then weights the cohorts that remain, as a fit without the cluster would).
    """
    p = res.panel
    if not p.clustered:
        raise SpecificationError("The cluster jackknife needs a fit with cluster=.")
    C = p.n_clusters
    L = leave_one_out(res, spec, p.Y[None])[:, 0, :-1]  # keys only (the overall is last)
    if np.isnan(L).any():
        bad = [spec.keys[j] for j in np.flatnonzero(np.isnan(L).any(0))]
        raise SpecificationError(f"Leaving out one cluster leaves keys {bad} without an estimate; "
                                 "narrow the event window.")
    full, _ = res.point(spec, res.att[None])
    D = L - full[0]
    return L, (C - 1) / C * D.T @ D


# --------------------------------------------------------------------------------------------
# the result and the entry point
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HonestResult(ResultMixin):
    """Rambachan–Roth intervals over a grid of ``M`` for one or both restrictions.

    ``table`` columns: ``restriction`` (``relative_magnitude``, ``smoothness``), ``m``, ``ci_low``,
    ``ci_high``, ``breakdown_m`` (the smallest ``M`` whose interval covers zero), ``method``,
    ``estimate`` (``l'β̂_post``), ``original_low``, ``original_high`` (``± z σ`` under exact
    parallel trends), ``target``, ``n_pre``, ``n_post``, ``covariance``, ``n_clusters``.
    """

    table: pd.DataFrame = field(repr=False)
    outcome: str = ""
    _notes: tuple[str, ...] = ()

    display_columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "sensitivity": ("restriction", "m", "ci_low", "ci_high", "breakdown_m", "method")}

    @property
    def title(self) -> str:
        return ("Sensitivity to violations of parallel trends (Rambachan & Roth)"
                + (f" — {self.outcome}" if self.outcome else ""))

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"sensitivity": self.table}

    def plot(self, *, ax: Any = None, restriction: Restriction | None = None) -> Any:
        """Intervals against ``M`` (the original interval at the left), the breakdown value
        marked."""
        t = self.table
        if restriction is None:
            restriction = t["restriction"].iloc[0]
        t = t[t["restriction"] == restriction]
        ax = new_axes(ax, figsize=(6, 3.5))
        if t.empty:
            return ax
        m = t["m"].to_numpy(float)
        step = (m[1] - m[0]) if len(m) > 1 else 1.0
        x0 = m[0] - 0.8 * step
        ax.errorbar([x0], [t["estimate"].iloc[0]],
                    yerr=[[t["estimate"].iloc[0] - t["original_low"].iloc[0]],
                          [t["original_high"].iloc[0] - t["estimate"].iloc[0]]],
                    fmt="s", color="C1", capsize=3, label="original")
        mid = 0.5 * (t["ci_low"] + t["ci_high"])
        ax.errorbar(m, mid, yerr=[mid - t["ci_low"], t["ci_high"] - mid], fmt="none", color="C0",
                    capsize=3, label=f"robust ({t['method'].iloc[0]})")
        bd = float(t["breakdown_m"].iloc[0])
        if np.isfinite(bd):
            ax.axvline(bd, color="red", ls="--", lw=0.8, label=f"breakdown M = {bd:.3g}")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel("M̄ (relative magnitude)" if restriction == "relative_magnitude"
                      else "M (change in slope per period)")
        ax.set_ylabel(str(t["target"].iloc[0]))
        ax.set_title(f"Honest intervals, {restriction.replace('_', ' ')}"
                     + (f" — {self.outcome}" if self.outcome else ""))
        ax.legend(fontsize=8, loc="best")
        return ax


def honest_did(
    res: ATTgtResult,
    *,
    restrictions: Sequence[Restriction] = ("relative_magnitude", "smoothness"),
    num_pre: int = 4,
    num_post: int = 4,
    target: Target = "average",
    m_grid: dict[str, Sequence[float]] | None = None,
    alpha: float = 0.05,
    method: RMMethod = "C-LF",
    seed: int = 0,
    covariance: np.ndarray | None = None,
) -> HonestResult:
    """Rambachan–Roth sensitivity of a Callaway–Sant'Anna event study.

    Parameters
    ----------
    res : ATTgtResult
        A fit on a universal base period (``base_period="universal"``), clustered.
    restrictions : sequence of {"relative_magnitude", "smoothness"}
    num_pre, num_post : int
        Pre-period coefficients (event times ``−num_pre−1 … −2``) and post-period ones
        (``0 … num_post−1``) used; their number must be below the number of clusters for the
        jackknife covariance to exist.
    target : {"average", "first"}
        ``θ``: the mean effect over event times ``0 … num_post−1``, or the effect at 0.
    m_grid : dict, optional
        The ``M`` values per restriction; default ``0, 0.25, …, 2`` for relative magnitudes and
        ten points from 0 to HonestDiD's pre-period upper bound for smoothness.
    alpha, method, seed
        Level; the relative-magnitudes test (:func:`rm_interval`); seed of its simulated critical
        value.
    covariance : ndarray, optional
        Covariance of the ``num_pre + num_post`` coefficients; default the delete-one-cluster
        jackknife (:func:`cluster_jackknife`).

    Returns
    -------
    HonestResult

    References
    ----------
    Rambachan & Roth (2023); Andrews, Roth & Pakes (2023); MacKinnon, Nielsen & Webb (2023).
    """
    for r in restrictions:
        check_option("restriction", r, Restriction)
    check_option("target", target, Target)
    check_option("method", method, RMMethod)
    spec, want, beta = event_study_vector(res, num_pre, num_post)
    keys = np.array([float(k) for k in spec.keys])
    pos = np.searchsorted(keys, want)
    notes = []
    if covariance is None:
        if num_pre + num_post >= res.n_clusters:
            raise SpecificationError(f"{num_pre + num_post} coefficients with {res.n_clusters} "
                                     "clusters: the jackknife covariance would be singular; use "
                                     "fewer pre- or post-periods.")
        _, V = cluster_jackknife(res, spec)
        sigma = V[np.ix_(pos, pos)]
        cov_name = "cluster jackknife (CV3)"
        notes.append(f"Covariance of the {len(want)} event-study coefficients: delete-one-cluster "
                     f"jackknife over {res.n_clusters} clusters.")
    else:
        sigma = np.asarray(covariance, float)
        cov_name = "given"
    l_vec = (np.full(num_post, 1 / num_post) if target == "average"
             else np.eye(num_post)[0])
    tname = (f"mean ATT over event times 0–{num_post - 1}" if target == "average"
             else "ATT at event time 0")
    est = float(l_vec @ beta[num_pre:])
    sd = float(np.sqrt(l_vec @ sigma[num_pre:, num_pre:] @ l_vec))
    z = stats.norm.ppf(1 - alpha / 2)
    grids = dict(m_grid or {})
    rows = []
    for r in restrictions:
        if r == "relative_magnitude":
            grid = np.asarray(grids.get(r, np.arange(0, 2.0001, 0.25)), float)
            problem = _RMProblem(beta, sigma, num_pre, num_post, l_vec, alpha, method, seed,
                                 5_000)

            def interval(m: float, problem: _RMProblem = problem) -> tuple[float, float]:
                return _rm_ci(problem, float(m), l_vec)

            m_max, meth = 50.0, method
        else:
            top = sd_upper_bound(beta, sigma, num_pre, alpha)
            grid = np.asarray(grids.get(r, np.linspace(0, max(top, 1e-8), 10)), float)

            def interval(m: float) -> tuple[float, float]:
                lo, hi, _ = flci(beta, sigma, num_pre, num_post, l_vec, m, alpha)
                return lo, hi

            m_max, meth = max(float(grid.max()) * 100, 1e-6), "FLCI"
        cis = [interval(float(m)) for m in grid]
        bd = _breakdown_from_grid(interval, grid, cis, m_max)
        for m, (lo, hi) in zip(grid, cis, strict=True):
            rows.append({"restriction": r, "m": float(m), "ci_low": lo, "ci_high": hi,
                         "breakdown_m": bd, "method": meth, "estimate": est,
                         "original_low": est - z * sd, "original_high": est + z * sd,
                         "target": tname, "n_pre": num_pre, "n_post": num_post,
                         "covariance": cov_name, "n_clusters": res.n_clusters})
    table = pd.DataFrame(rows)
    return HonestResult(table=table, outcome=res.outcome, _notes=(*res._notes, *notes))
