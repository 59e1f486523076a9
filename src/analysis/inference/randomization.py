"""Randomisation inference over adoption dates, vectorised over permutations.

The adoption dates of the clusters (counties) are permuted among the clusters: under the sharp
null that the effect is ``τ₀`` for every treated observation, the untreated outcomes
``Y − τ₀·D`` are known, and the estimator can be recomputed for every other assignment of the
same adoption dates. The p-value is the share of assignments whose statistic is at least as
extreme as the observed one; the interval collects the ``τ₀`` not rejected (test inversion).

**Assumption.** Permuting adoption dates across counties is justified when the timing of adoption
is as good as randomly assigned across counties — Roth & Sant'Anna's (2023) random-timing design,
stronger than parallel trends. Its testable part is pre-period balance: :func:`balance_table`
compares the actual assignment's pre-period placebo effect with those of the permuted
assignments (a timing that tracked pre-period outcome paths would sit in a tail).

**Statistic** (``statistic``). ``"studentized"`` (the default): the cluster-robust t statistic
``(θ̂_p − τ₀) / se_p`` of each assignment ``p``, its standard error built from the same county
sums as the estimate (so it stays fast). ``"unstudentized"``: ``|θ̂_p − τ₀|``. MacKinnon & Webb
(2020) show that the unstudentised statistic is not exchangeable when treated and comparison
clusters differ in size or variance (it rejected 2.8–8.5% of true nulls in this package's worlds
with unusual never-treated counties); the t statistic is closer to pivotal, which is what
randomisation inference needs once the sharp null is not literally true.

Speed: the Callaway–Sant'Anna estimator without covariates is a difference of mean changes, so
everything it needs from the data is, per cluster and per group-time cell, the (weighted) sum of
outcome changes ``S_ck`` and the (weighted) number of units observed in both periods ``N_ck``.
Those ``G × K`` sums are computed once; each assignment only decides which clusters are treated or
comparison in each cell, a few ``(P × G) @ (G,)`` products for all ``P`` permutations at once.
The influence function of a cell summed within a cluster is also a function of these sums,

    ψ_ck = n [ 1{c treated} (S_ck − μ₁ N_ck) / N₁ − 1{c comparison} (S_ck − μ₀ N_ck) / N₀ ],

and the aggregates' influence functions (with the correction for estimated cohort shares) follow
from :func:`analysis.did.aggregate_psi`: the studentised statistic costs a few more products of the
same size. Everything is linear in the outcome, so ``θ_p(Y − τ₀ D) = θ_p(Y) − τ₀ θ_p(D)`` and
``ψ_p(Y − τ₀ D) = ψ_p(Y) − τ₀ ψ_p(D)``: the whole p-value curve costs two passes. With
anticipation ``δ`` the treatment indicator is ``D = 1{t ≥ G − δ}`` (units may react ``δ`` periods
early) and comparison units must be untreated until ``max(t, base) + δ``, as in the estimator.

Exact enumeration of the distinct assignments is used when their number (``G! / Π m_g!`` for
cohorts of sizes ``m_g``) is at most the requested number of permutations plus one; otherwise
assignments are sampled uniformly with ``numpy.random.default_rng(seed)`` and the observed one is
added. Either way the p-value is the package's one convention
(:func:`analysis.inference.pvalue.resampling_pvalue`): ``(1 + #{other assignments at least as
extreme}) / (number of other assignments + 1)`` — over an exact enumeration, the exact
permutation p-value — and the interval is ``{τ₀ : p(τ₀) > α}``
(:func:`analysis.inference.pvalue.invert_test`).

Why hand-written: no randomisation-inference package permutes staggered adoption dates for the
Callaway–Sant'Anna estimator; re-fitting it per permutation (``csdid``, R ``did``) costs about
80 ms each, this vectorised route a few milliseconds for all of them.

References
----------
Fisher, R. A. (1935). *The Design of Experiments*. Oliver & Boyd.
Roth, J., & Sant'Anna, P. H. C. (2023). Efficient estimation for staggered rollout designs.
    *Journal of Political Economy Microeconomics* 1(4), 669–709 (design-based view of staggered
    adoption: random timing, permuting adoption dates).
MacKinnon, J. G., & Webb, M. D. (2020). Randomization inference for difference-in-differences
    with few treated clusters. *Journal of Econometrics* 218(2), 435–450 (studentised RI-t).
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230 (the influence functions of the aggregates).
"""

from __future__ import annotations

import math
import weakref
from collections import Counter
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..did import AggSpec, ATTgtResult, aggregate_point, aggregate_psi, aggregate_table
from ..errors import SpecificationError
from .pvalue import invert_test, resampling_pvalue

__all__ = [
    "PermutationEstimator",
    "RIStatistic",
    "assignments",
    "balance_spec",
    "balance_table",
    "cs_randomization",
    "n_distinct_assignments",
    "permutations",
    "pretrend_randomization",
]

#: which linear map: the outcome ``"Y"`` or the observed treatment indicator ``"D"``
Which = Literal["Y", "D"]
#: the randomisation statistic: cluster-robust t (default) or the absolute estimate
RIStatistic = Literal["studentized", "unstudentized"]


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
    """Callaway–Sant'Anna point estimates (and cluster sums of their influence functions) for many
    cluster-level assignments at once.

    Built from an :class:`~analysis.did.ATTgtResult`; ``estimate(A, which, spec)`` returns the
    aggregate keys (and overall, last) for every row of the assignment matrix ``A`` (P × G), for
    the outcome (``which="Y"``) or for the observed treatment indicator (``which="D"``);
    ``estimate_psi`` also returns the cluster sums of their influence functions, ``(P, G, J)``.
    """

    def __init__(self, res: ATTgtResult):
        p = res.panel
        if p.X is not None:
            raise SpecificationError(
                "Randomisation inference is implemented for the estimator without covariates; "
                "drop covariates= or use inference=('analytic', 'wild_bootstrap').")
        if getattr(res.cells, "sample", "both_periods") != "both_periods":
            raise SpecificationError(
                "Randomisation inference is implemented for the panel estimator (units observed "
                "in both periods of a cell); use inference=('analytic', 'wild_bootstrap') with "
                "the repeated-cross-section estimator.")
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
        D = (p.times[None, :] >= G[:, None] - res.anticipation).astype(float)
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
        self.nc = onehot.sum(1)  # units per cluster
        self.n = p.n
        self.se_factor = C / (C - 1) if (p.clustered and C > 1) else 1.0
        self._last: tuple[np.ndarray, dict[str, np.ndarray]] | None = None
        #: the balance table of this estimator's assignments, once computed
        self.balance: pd.DataFrame | None = None

    def cell_stats(self, A: np.ndarray) -> dict[str, np.ndarray]:
        """Cell-level quantities under each assignment (row of ``A``), for the outcome and the
        treatment indicator at once: ``att_Y``, ``att_D`` ``(P, K)``, the cluster sums of the
        cells' influence functions ``psi_Y``, ``psi_D`` ``(P, G, K)`` (scaled as R ``did``), the
        cohort shares ``pg`` ``(P, K)`` and the cluster sums of their estimation influence
        ``ind`` ``(P, G, K)``. The last call's result is kept (the same ``A`` is aggregated by
        several specs)."""
        if self._last is not None and self._last[0] is A:
            return self._last[1]
        cells = self.res.cells
        g = cells.g
        tr = A[:, :, None] == g[None, None, :]  # (P, G, K)
        never = np.isinf(A)[:, :, None]
        if self.res.control_group == "notyettreated":
            late = np.maximum(cells.t, cells.base) + self.res.anticipation
            ct = never | ((A[:, :, None] > late[None, None, :]) & ~tr)
        else:
            ct = np.broadcast_to(never, tr.shape)
        tr_f, ct_f = tr.astype(float), ct.astype(float)
        n1 = np.einsum("pck,ck->pk", tr_f, self.N)
        n0 = np.einsum("pck,ck->pk", ct_f, self.N)
        out: dict[str, np.ndarray] = {}
        ref = cells.reference
        for which in ("Y", "D"):
            S = self.S[which]
            with np.errstate(invalid="ignore", divide="ignore"):
                mu1 = np.einsum("pck,ck->pk", tr_f, S) / n1
                mu0 = np.einsum("pck,ck->pk", ct_f, S) / n0
                att = mu1 - mu0
                psi = self.n * (tr_f * (S[None] - mu1[:, None, :] * self.N[None]) / n1[:, None, :]
                                - ct_f * (S[None] - mu0[:, None, :] * self.N[None])
                                / n0[:, None, :])
            att[:, ref] = 0.0
            psi[:, :, ref] = 0.0
            out[f"att_{which}"], out[f"psi_{which}"] = att, psi
        out["pg"], out["ind"] = self.shares(A, g)
        self._last = (A, out)
        return out

    def cell_att(self, A: np.ndarray, which: Which) -> np.ndarray:
        """ATT(g,t) ``(P, K)`` under each assignment (row of ``A``)."""
        return self.cell_stats(A)[f"att_{which}"]

    def shares(self, A: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cohort shares ``(P, m)`` of ``groups`` under each assignment, and the cluster sums of
        their estimation influence ``w_i 1{G_i = g} − P(G = g)``, ``(P, G, m)``."""
        hit = (A[:, :, None] == np.asarray(groups, float)[None, None, :])  # (P, G, m)
        pg = np.einsum("pcm,c->pm", hit, self.wc) / self.n
        ind = hit * self.wc[None, :, None] - self.nc[None, :, None] * pg[:, None, :]
        return pg, ind

    def estimate(self, A: np.ndarray, which: Which, spec: AggSpec) -> np.ndarray:
        """Aggregates ``(P, nkeys + 1)`` (overall last) under each assignment."""
        cs = self.cell_stats(A)
        pgg = None
        if spec.overall == "pgg":
            pgg, _ = self.shares(A, spec.key_groups)
        keys, overall = aggregate_point(spec, cs[f"att_{which}"], cs["pg"], pgg)
        return np.concatenate([keys, overall[:, None]], axis=1)

    def estimate_psi(self, A: np.ndarray, which: Which, spec: AggSpec
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Aggregates ``(P, J)`` and the cluster sums of their influence functions ``(P, G, J)``
        (``J = nkeys + 1``, overall last) under each assignment."""
        cs = self.cell_stats(A)
        att = cs[f"att_{which}"]
        pgg = indg = None
        if spec.overall == "pgg":
            pgg, indg = self.shares(A, spec.key_groups)
        keys, overall = aggregate_point(spec, att, cs["pg"], pgg)
        est = np.concatenate([keys, overall[:, None]], axis=1)
        return est, aggregate_psi(spec, att, cs[f"psi_{which}"], cs["pg"], cs["ind"], pgg, indg)


class _Curve:
    """The randomisation statistic of one aggregate as a function of the null value ``τ₀``:
    estimates ``θ_p(Y) − τ₀ θ_p(D)`` and, studentised, divided by the cluster-robust standard
    error of ``Y − τ₀ D`` (quadratic in ``τ₀``). Row 0 is the observed assignment."""

    def __init__(self, SY: np.ndarray, SD: np.ndarray, PY: np.ndarray | None,
                 PD: np.ndarray | None, n: int, factor: float, statistic: RIStatistic):
        self.SY, self.SD, self.statistic = SY, SD, statistic
        if statistic == "studentized":
            self.A2 = (PY**2).sum(1)
            self.AB = (PY * PD).sum(1)
            self.B2 = (PD**2).sum(1)
            self.scale = factor / n**2

    def stat(self, tau0: np.ndarray) -> np.ndarray:
        """``|statistic|`` ``(P, len(tau0))``; NaN where it does not exist."""
        tau0 = np.atleast_1d(np.asarray(tau0, float))[None, :]
        num = self.SY[:, None] - tau0 * self.SD[:, None]
        if self.statistic == "unstudentized":
            return np.abs(num)
        var = self.scale * (self.A2[:, None] - 2 * tau0 * self.AB[:, None]
                            + tau0**2 * self.B2[:, None])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.abs(num / np.sqrt(np.where(var > 0, var, np.nan)))

    def pvalue(self, tau0: np.ndarray) -> np.ndarray:
        s = self.stat(tau0)
        return resampling_pvalue(s[0], s[1:])


def _curves(pe: PermutationEstimator, A: np.ndarray, spec: AggSpec, statistic: RIStatistic
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    if statistic == "studentized":
        SY, PY = pe.estimate_psi(A, "Y", spec)
        SD, PD = pe.estimate_psi(A, "D", spec)
        return SY, SD, PY, PD
    return pe.estimate(A, "Y", spec), pe.estimate(A, "D", spec), None, None


def _assignment_note(pe: PermutationEstimator, A: np.ndarray, exact: bool, seed: int,
                     statistic: RIStatistic, alpha: float) -> str:
    P = A.shape[0]
    note = (f"Randomisation inference: exact enumeration of all {P} distinct assignments of "
            f"adoption dates to {pe.C} clusters" if exact else
            f"Randomisation inference: {P - 1} sampled assignments of adoption dates to {pe.C} "
            f"clusters (of {n_distinct_assignments(pe.gc)} distinct), seed {seed}")
    note += ("; statistic: the cluster-robust t (studentised, MacKinnon & Webb 2020)."
             if statistic == "studentized" else
             "; statistic: the absolute estimate (unstudentised).")
    note += (" It assumes that the timing of adoption is as good as random across clusters "
             "(Roth & Sant'Anna 2023): see the pre-period balance of the permuted assignments.")
    if 1.0 / P > alpha:
        note += (f" Only {P} assignments exist: the smallest attainable p-value is {1.0 / P:.3f}, "
                 f"above {alpha}; the test cannot reject at that level.")
    return note


#: the permutation estimator and assignments of a fit, kept while the fit lives (aggregations,
#: the pre-trend test and the balance table of one fit share one set of assignments)
_DRAWS: dict[tuple[int, int, int], tuple[Any, PermutationEstimator, np.ndarray, bool]] = {}


def permutations(res: ATTgtResult, n_perm: int, seed: int
                 ) -> tuple[PermutationEstimator, np.ndarray, bool]:
    """The :class:`PermutationEstimator` of ``res`` and its assignments (first row observed), and
    whether they are the exact enumeration; the same objects for the same fit, ``n_perm`` and
    ``seed``."""
    key = (id(res), int(n_perm), int(seed))
    hit = _DRAWS.get(key)
    if hit is not None and hit[0]() is res:
        return hit[1], hit[2], hit[3]
    pe = PermutationEstimator(res)
    A, exact = assignments(pe.gc, n_perm, seed)
    _DRAWS[key] = (weakref.ref(res, lambda _, k=key, cache=_DRAWS: cache.pop(k, None)), pe, A, exact)
    return pe, A, exact


def cs_randomization(res: ATTgtResult, spec: AggSpec, *, n_perm: int = 999, seed: int = 0,
                     alpha: float = 0.05, statistic: RIStatistic = "studentized"
                     ) -> tuple[pd.DataFrame, str]:
    """Randomisation-inference rows (``inference = "randomization"``) for an aggregate.

    Statistic (``statistic``): the cluster-robust t ``(θ̂_p − τ₀) / se_p`` (default) or
    ``|θ̂_p − τ₀|`` of each key under the sharp null ``Y(0) = Y − τ₀ D``; p-value at ``τ₀ = 0``
    and interval by test inversion for post-adoption keys. Pre-period keys (event time < 0, and
    contrasts of them) are tested for zero after removing the estimated overall post effect (no
    interval). ``std_error`` is the standard deviation of the permutation distribution of the
    estimate under ``τ₀ = θ̂``. Returns the rows (``detail`` names the statistic) and a note on
    the assignments and the random-timing assumption.
    """
    pe, A, exact = permutations(res, n_perm, seed)
    SY, SD, PY, PD = _curves(pe, A, spec, statistic)
    est = SY[0]
    pre = spec.pre
    nk = len(spec.keys)
    lo, hi, pv, sd = (np.full(nk + 1, np.nan) for _ in range(4))
    tau_post = _post_effect(pe, A, res) if pre.any() else np.nan
    for j in range(nk + 1):
        if not np.isfinite(est[j]):
            continue
        PYj = None if PY is None else PY[:, :, j]
        PDj = None if PD is None else PD[:, :, j]
        curve = _Curve(SY[:, j], SD[:, j], PYj, PDj, pe.n, pe.se_factor, statistic)
        if pre[j]:  # "no effect in this pre-period" with the post effect removed
            pv[j] = curve.pvalue(np.array([tau_post]))[0]
            sd[j] = np.nanstd(SY[:, j] - tau_post * SD[:, j])
            continue
        pv[j] = curve.pvalue(np.array([0.0]))[0]
        sd[j] = np.nanstd(SY[:, j] - est[j] * SD[:, j])
        lo[j], hi[j] = invert_test(curve.pvalue, est[j], sd[j] if sd[j] > 0 else 1.0, alpha)
    note = _assignment_note(pe, A, exact, seed, statistic, alpha)
    tab = aggregate_table(spec, est, sd, lo, hi, pv, "randomization")
    tab["detail"] = statistic
    return tab, note


def _post_effect(pe: PermutationEstimator, A: np.ndarray, res: ATTgtResult) -> float:
    """The estimated simple aggregate: the post effect removed before testing pre-periods."""
    return float(pe.estimate(A, "Y", res.spec("simple"))[0, -1])


def pretrend_randomization(res: ATTgtResult, spec: AggSpec, *, n_perm: int = 999,
                           seed: int = 0, statistic: RIStatistic = "studentized"
                           ) -> tuple[float, float, bool]:
    """Joint pre-trend test judged by randomisation of adoption dates, after removing the
    estimated post effect: ``mean_e t_e²`` (each pre-period event-time ATT studentised by its own
    cluster-robust s.e. under every assignment; ``statistic="studentized"``, the default) or
    ``mean_e θ_e²`` (``"unstudentized"``). Returns ``(S, p_value, exact)``."""
    pe, A, exact = permutations(res, n_perm, seed)
    pre = spec.pre
    if not pre.any():
        return np.nan, np.nan, exact
    SY, SD, PY, PD = _curves(pe, A, spec, statistic)
    tau_post = _post_effect(pe, A, res)
    Z = SY[:, pre] - tau_post * SD[:, pre]
    if statistic == "studentized":
        ps = PY[:, :, pre] - tau_post * PD[:, :, pre]
        se = np.sqrt(pe.se_factor * (ps**2).sum(1)) / pe.n
        with np.errstate(invalid="ignore", divide="ignore"):
            Z = Z / np.where(se > 0, se, np.nan)
    S = np.nanmean(Z**2, axis=1)
    return float(S[0]), float(resampling_pvalue(S[0], S[1:])), exact


def balance_spec(res: ATTgtResult) -> AggSpec | None:
    """The pre-period placebo of :func:`balance_table`: the mean of the event-time ATTs computed
    from the cells whose period and base both precede the first adoption (less anticipation) —
    periods in which no county was treated under any assignment, so no effect needs removing.
    ``None`` when there is no such cell."""
    p, c = res.panel, res.cells
    first = float(np.min(p.G[np.isfinite(p.G)])) - res.anticipation
    clean = (c.t < first) & (c.base < first) & (c.t < c.g) & ~c.reference
    if not clean.any():
        return None
    e = c.t - c.g
    keys = np.unique(e[clean])
    members = np.array([clean & (e == k) for k in keys])
    nk = len(keys)
    return AggSpec("dynamic", tuple(int(k) if float(k).is_integer() else k for k in keys),
                   members, False, "mean", np.ones(nk, bool), np.array([]),
                   overall_weights=np.full(nk, 1.0 / nk), overall_name="pre_mean")


def balance_table(res: ATTgtResult, *, n_perm: int = 999, seed: int = 0) -> pd.DataFrame:
    """Pre-period balance of the permuted assignments: the actual assignment's pre-period
    placebo effect against its distribution over the assignments randomisation inference uses.

    The placebo is the mean of the event-time ATTs of the periods before the first adoption
    (:func:`balance_spec`: no county is treated there, whatever the assignment), as an estimate
    (``pre_mean``) and as its cluster-robust t (``pre_mean_t``), and the mean of the squared
    t statistics of those event times (``pre_mean_t2``, which also sees pre-period paths that
    differ by adoption date in opposite directions): how differently the counties given each
    cohort's adoption date moved before anyone adopted. Under random timing (Roth &
    Sant'Anna 2023) the actual value is a typical draw; in a tail (small ``p_value``), timing went
    with pre-period outcome paths and the permutation is not a credible design.

    Columns: ``statistic``, ``actual``, ``perm_mean``, ``perm_sd``, ``perm_q05``,
    ``perm_median``, ``perm_q95`` (over the other assignments), ``p_value`` (two-sided, the
    package's convention), ``n_assignments``, ``exact``. Empty when no pre-period exists.
    """
    cols = ["statistic", "actual", "perm_mean", "perm_sd", "perm_q05", "perm_median", "perm_q95",
            "p_value", "n_assignments", "exact"]
    spec = balance_spec(res)
    if spec is None:
        return pd.DataFrame(columns=cols)
    pe, A, exact = permutations(res, n_perm, seed)
    if pe.balance is not None:
        return pe.balance.copy()
    SY, PY = pe.estimate_psi(A, "Y", spec)
    se = np.sqrt(pe.se_factor * (PY**2).sum(1)) / pe.n
    with np.errstate(invalid="ignore", divide="ignore"):
        t = SY / np.where(se > 0, se, np.nan)
    t2 = np.nanmean(t[:, :-1] ** 2, axis=1)
    rows = []
    for name, v in (("pre_mean", SY[:, -1]), ("pre_mean_t", t[:, -1]), ("pre_mean_t2", t2)):
        others = v[1:][np.isfinite(v[1:])]
        q = np.quantile(others, [0.05, 0.5, 0.95]) if len(others) else [np.nan] * 3
        rows.append({"statistic": name, "actual": float(v[0]),
                     "perm_mean": float(others.mean()) if len(others) else np.nan,
                     "perm_sd": float(others.std()) if len(others) else np.nan,
                     "perm_q05": q[0], "perm_median": q[1], "perm_q95": q[2],
                     "p_value": float(resampling_pvalue(np.abs(v[0]), np.abs(v[1:]))),
                     "n_assignments": int(A.shape[0]), "exact": exact})
    pe.balance = pd.DataFrame(rows, columns=cols)
    return pe.balance.copy()
