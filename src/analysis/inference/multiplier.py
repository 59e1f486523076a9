"""Restricted wild cluster bootstrap-t for estimators that are linear in the outcome.

The Callaway–Sant'Anna ATT(g,t), every aggregate of them and their influence functions are linear
in the outcome array for a fixed adoption assignment. The bootstrap therefore never re-estimates
anything. With the restricted model of :mod:`analysis.inference.restricted` (fitted values ``F``
and residuals ``ẽ`` with the tested null ``θ_j = τ₀`` imposed), the bootstrap outcome is
``y* = F + w ⊙ ẽ`` with one auxiliary weight per bootstrap group ``k`` (a county, or an
institution for the subcluster bootstrap), and

* ``θ* − τ₀ = Σ_k w_k T_k`` with ``T_k = θ(ẽ restricted to group k)`` (the restricted fit's
  aggregate is exactly ``τ₀``);
* the cluster sums of the bootstrap influence function are ``Ψ*_c = Ψ_c(F) + Σ_k w_k M_kc`` with
  ``M_kc = Ψ_c(ẽ restricted to group k)``.

``T`` and ``M`` come from one batched run of the estimator on the group-restricted residual
arrays; each draw then costs O(G²). The restricted residuals are linear in ``τ₀``
(``ẽ(τ₀) = E0 − τ₀ E1``), so the interval is found by test inversion with the draws held fixed, as
``boottest`` does for OLS. p-values and intervals follow the package's one convention
(:mod:`analysis.inference.pvalue`): ``p = (1 + #{|t*| ≥ |t|}) / (B + 1)`` and the interval
``{τ₀ : p(τ₀) > α}``.

**Options.**

* ``model`` — the restricted model (:mod:`analysis.inference.restricted`): ``"twfe"`` (unit and
  period effects plus one constant effect fixed at ``τ₀``; the default) or ``"cohort_period"``
  (the saturated cohort × period model with only the tested restriction imposed, the boottest way).
* ``studentization`` — ``"cv3"`` (the delete-one-cluster jackknife,
  :mod:`analysis.did.jackknife`; MacKinnon, Nielsen & Webb 2023; the default) or ``"cv1"``
  (the clustered influence-function standard error of the analytic row, ``G/(G−1)`` corrected),
  for the observed and every bootstrap statistic alike. An estimate that does not exist without
  some county (an event time only one county reaches) has no jackknife: its row is studentised by
  CV1 and its ``detail`` says so.
* ``level`` — ``"cluster"`` (one weight per county; the default) or ``"subcluster"`` (one weight
  per unit, standard errors still clustered by county: the wild subcluster bootstrap of MacKinnon
  & Webb 2018, meant for few treated clusters).

**Why these defaults** (``validation/wild_choice.py``; table in
``validation/wild_choice_results.md``). Null worlds shaped like the demo — 11 counties, cohorts of
one or two counties, two never-treated ones, 24 quarters, AR(1) county × quarter shocks — where
counties differ: adopting counties of 2 to 14 institutions (``unequal``), never-treated counties of
2 (``small_never``) or 20 (``large_never``) institutions, or with shocks twice as variable
(``noisy_never``); 300 worlds per scenario, common random numbers across methods, 399 draws.
Rejection of the true null at 5%, in percent (Monte Carlo standard error ≈ 1.3):

==================================  ======================  ======================
restricted model, studentisation     simple aggregate        balanced dynamic (0–7)
==================================  ======================  ======================
twfe, cv3 (default)                  5.3  4.7  5.7  5.3      6.0  5.7  5.7  5.7
twfe, cv1                            6.3  6.0  5.3  5.7      6.0  6.7  6.0  5.3
cohort_period, cv1                   7.0  5.3  6.3  7.7      8.7  7.0  8.7  9.3
cohort_period, cv3                   6.7  6.3  7.7  7.3      9.0  7.3  8.7  8.3
cohort_period, cv1, subcluster       9.0  5.3  8.3 10.0      8.7  7.0  7.7  8.7
==================================  ======================  ======================

(scenarios in the order unequal, small_never, large_never, noisy_never). Only twfe with CV3 stays
within 3.5–6.5% in every scenario. The saturated model over-rejects because its cohort × period
effects absorb the shocks of cohorts that are one or two counties, so its restricted residuals
understate what those counties contribute to the estimate; CV3 does not repair that and
subcluster weights make it worse. With effects that differ by cohort and grow with event time
(300 worlds, ``unequal``) the saturated model does not buy power either: at the true aggregate it
rejected 9.7–10.7% (simple) and 7.0–7.3% (balanced dynamic), against 1.7–2.7% for twfe (whose
restricted residuals then carry the effect heterogeneity: conservative), and at zero 69–73% vs
69% (simple) and 88–90% vs 93% (balanced dynamic). For the full dynamic overall (event times
0–17, where CV3 falls back to CV1) twfe rejected 5.3–6.3% of true nulls.

For pre-period keys whose aggregate does not depend on the model's effects (event times before
any anticipation) the null is "no effect in that pre-period" tested under the unrestricted model,
whose pre-period aggregates are zero: the post effects stay free and the bootstrap distribution
does not move with ``τ₀``, so inverting the test gives the symmetric bootstrap-t interval
``θ̂ ± q* · se``.

References
----------
Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). Bootstrap-based improvements for inference
    with clustered errors. *Review of Economics and Statistics* 90(3), 414–427.
Roodman, D., MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2019). Fast and wild: Bootstrap
    inference in Stata using boottest. *Stata Journal* 19(1), 4–60.
MacKinnon, J. G., & Webb, M. D. (2018). The wild bootstrap for few (treated) clusters.
    *Econometrics Journal* 21(2), 114–135 (the wild subcluster bootstrap).
MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2023). Fast and reliable jackknife and bootstrap
    methods for cluster-robust inference. *Journal of Applied Econometrics* 38(5), 671–694.
Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors. *Canadian
    Journal of Economics* 56(3), 839–858.
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230 (influence functions of the aggregates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..did import AggSpec, ATTgtResult, aggregate_table, attgt_core
from ..did.jackknife import cv3_se, leave_one_out
from ..errors import SpecificationError
from .pvalue import invert_test, resampling_pvalue
from .restricted import WildModel, restricted_model
from .weights import BootWeights, draw_weights

__all__ = ["BootLevel", "BootstrapT", "MAX_CLUSTERS", "MAX_SUBCLUSTER_UNITS", "Studentization",
           "WildOptions",
           "bootstrap_keys", "cs_wild_bootstrap", "group_codes", "linear_maps", "pretrend_wild"]

#: Above this many clusters the analytic standard errors are reliable and the O(G²) maps get big.
MAX_CLUSTERS = 200

#: studentisation of the wild bootstrap-t: clustered influence function (CV1) or jackknife (CV3)
Studentization = Literal["cv1", "cv3"]
#: the level of the auxiliary weights: one per cluster, or one per unit (wild subcluster)
BootLevel = Literal["cluster", "subcluster"]


@dataclass(frozen=True)
class WildOptions:
    """The wild bootstrap's choices (see the module docstring)."""

    model: WildModel = "twfe"
    studentization: Studentization = "cv3"
    level: BootLevel = "cluster"

    @property
    def detail(self) -> str:
        """How the rows were computed, for the ``detail`` column."""
        return f"{self.model}, {self.studentization}, {self.level}"


#: the wild subcluster bootstrap keeps ``units × units × periods`` arrays: at most this many units
MAX_SUBCLUSTER_UNITS = 500


def group_codes(res: ATTgtResult, level: BootLevel) -> tuple[np.ndarray, int]:
    """The bootstrap group of each unit (cluster or unit) and the number of groups."""
    p = res.panel
    if level == "subcluster":
        if p.n > MAX_SUBCLUSTER_UNITS:
            raise SpecificationError(
                f"The wild subcluster bootstrap draws one weight per unit; {p.n} units are more "
                f"than {MAX_SUBCLUSTER_UNITS}. Use boot_level='cluster'.")
        return np.arange(p.n), p.n
    return p.cl, p.n_clusters


def _restrict(E: np.ndarray, codes: np.ndarray, n_groups: int, obs: np.ndarray) -> np.ndarray:
    """``(n_groups, n, T)``: ``E`` kept on the units of one group at a time (zero elsewhere, NaN
    where unobserved)."""
    out = np.where(codes[None, :, None] == np.arange(n_groups)[:, None, None], E[None], 0.0)
    out[:, ~obs] = np.nan
    return out


def linear_maps(res: ATTgtResult, spec: AggSpec, arrays: np.ndarray, *, chunk: int = 128
                ) -> tuple[np.ndarray, np.ndarray]:
    """For outcome-shaped arrays ``(R, n, T)``: the aggregates ``(R, J)`` and the cluster sums of
    their influence functions ``(R, C, J)`` (``J`` = keys and the overall, last), in chunks."""
    p = res.panel
    J = len(spec.keys) + 1
    Ts, Ms = [np.zeros((0, J))], [np.zeros((0, p.n_clusters if p.clustered else p.n, J))]
    for s in range(0, arrays.shape[0], chunk):
        att, inf, _, _ = attgt_core(arrays[s:s + chunk], p.obs, p.G, p.w, res.cells,
                                    res.control_group, res.anticipation, X=p.X)
        att = np.where(np.isnan(res.att)[None, :], np.nan, att)
        keys, overall = res.point(spec, att)
        Ts.append(np.column_stack([keys, overall]))
        Ms.append(res.aggregate_psi(spec, att, inf))
    return np.concatenate(Ts), np.concatenate(Ms)


class BootstrapT:
    """Restricted wild bootstrap-t of one aggregate, as a function of the null value ``τ₀``.

    ``T(τ₀) = TY − τ₀ TD`` (groups,) and ``M(τ₀) = MY − τ₀ MD`` (groups, C) are the linear maps
    of the restricted residuals restricted to each bootstrap group; ``F0 + τ₀ F1`` (C,) the
    cluster sums of the restricted fit's influence function and ``f0 + τ₀ f1`` its aggregate;
    ``W`` (n_boot, groups) the weights. CV3 (``jack``): ``L`` (C,) the leave-one-cluster-out
    estimates and ``J0``, ``J1`` (C, groups) the leave-one-out maps of the residual pieces.
    """

    def __init__(self, est: float, TY: np.ndarray, TD: np.ndarray, MY: np.ndarray,
                 MD: np.ndarray, psi_hat: np.ndarray, W: np.ndarray, n: int, factor: float,
                 jack: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
        self.est, self.n, self.f = est, n, factor
        #: the studentisation used: ``"cv3"`` when the jackknife pieces were given, else ``"cv1"``
        self.studentization: Studentization = "cv1" if jack is None else "cv3"
        self.wTY, self.wTD = W @ TY, W @ TD
        # Ψ*(τ₀) = Ψ(F(τ₀)) + W M(τ₀) = a − τ₀ b
        F0 = psi_hat - MY.sum(0)
        F1 = MD.sum(0)
        a = F0[None, :] + W @ MY
        b = W @ MD - F1[None, :]
        self.A2, self.AB, self.B2 = (a**2).sum(1), (a * b).sum(1), (b**2).sum(1)
        self.se = float(np.sqrt(factor * (psi_hat**2).sum()) / n)
        self.jack = None
        if jack is not None:
            L, J0, J1 = jack
            C = len(L)
            f0, f1 = est - TY.sum(), TD.sum()
            # θ*₍c₎ − θ* = u + τ₀ v, per draw and cluster
            u = (L - J0.sum(1) - f0)[None, :] + W @ (J0 - TY[None, :]).T
            v = (J1.sum(1) - f1)[None, :] - W @ (J1 - TD[None, :]).T
            k = (C - 1) / C
            self.jack = (k * (u**2).sum(1), k * (u * v).sum(1), k * (v**2).sum(1))
            self.se = float(cv3_se(np.asarray(est), L[:, None])[0])

    def t_observed(self, tau0: np.ndarray) -> np.ndarray:
        """``|θ̂ − τ₀| / se`` for each null value."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.abs(self.est - np.atleast_1d(tau0)) / self.se

    def tstar(self, tau0: np.ndarray) -> np.ndarray:
        """Bootstrap t statistics ``(n_boot, len(tau0))``."""
        tau0 = np.atleast_1d(np.asarray(tau0, float))[None, :]
        num = self.wTY[:, None] - tau0 * self.wTD[:, None]
        if self.jack is None:
            ss = self.A2[:, None] - 2 * tau0 * self.AB[:, None] + tau0**2 * self.B2[:, None]
            var = self.f * np.maximum(ss, 0.0) / self.n**2
        else:
            U2, UV, V2 = self.jack
            var = np.maximum(U2[:, None] + 2 * tau0 * UV[:, None] + tau0**2 * V2[:, None], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return num / np.sqrt(var)

    def pvalue(self, tau0: np.ndarray) -> np.ndarray:
        """``(1 + #{|t*| ≥ |t|}) / (B + 1)`` for each null value."""
        return resampling_pvalue(self.t_observed(tau0), np.abs(self.tstar(tau0)))


def _check_clusters(res: ATTgtResult) -> None:
    p = res.panel
    if not p.clustered:
        raise SpecificationError("The wild cluster bootstrap needs clusters: pass cluster= to "
                                 "att_gt (e.g. cluster='county_code').")
    if p.n_clusters > MAX_CLUSTERS:
        raise SpecificationError(f"{p.n_clusters} clusters: the analytic standard errors are "
                                 "reliable; request inference=('analytic',).")


def bootstrap_keys(res: ATTgtResult, spec: AggSpec, *, n_boot: int = 999, seed: int = 0,
                   weights: BootWeights = "webb", options: WildOptions = WildOptions()
                   ) -> list[BootstrapT | None]:
    """One :class:`BootstrapT` per key and the overall (last) of ``spec`` (``None`` where the
    estimate or its standard error does not exist), all with the same draws. With CV3, a key
    whose estimate does not exist without some county (its jackknife does not exist) is
    studentised by CV1 instead (:attr:`BootstrapT.studentization` says which)."""
    _check_clusters(res)
    p = res.panel
    C = p.n_clusters
    codes, n_groups = group_codes(res, options.level)
    W = draw_weights(np.random.default_rng(seed), n_groups, n_boot, weights)
    rm = restricted_model(res, spec, options.model)
    J = len(spec.keys) + 1
    est_all, _ = res.estimates(spec)
    psi_hat = res.aggregate_psi(spec, res.att[None], res.inf[None])[0]  # (C, J)
    # maps of the unrestricted residuals (every key) and of each restriction's direction
    Te, Me = linear_maps(res, spec, _restrict(rm.resid, codes, n_groups, p.obs))
    rj = np.flatnonzero(rm.restricted)
    hb = np.concatenate([_restrict(rm.h[j], codes, n_groups, p.obs) for j in rj]) if len(rj) \
        else np.zeros((0, *p.Y.shape))
    Th, Mh = linear_maps(res, spec, hb)
    jack = None
    if options.studentization == "cv3":
        stack = np.concatenate([p.Y[None], _restrict(rm.resid, codes, n_groups, p.obs), hb])
        jack = leave_one_out(res, spec, stack)  # (C, 1 + groups + len(rj)·groups, J)
    out: list[BootstrapT | None] = []
    factor = C / (C - 1)
    for j in range(J):
        TY, MY = Te[:, j], Me[:, :, j]
        TD, MD = np.zeros(n_groups), np.zeros((n_groups, C))
        J0 = J1 = None
        if rm.restricted[j]:
            i = int(np.searchsorted(rj, j))
            sl = slice(i * n_groups, (i + 1) * n_groups)
            TD, MD = Th[sl, j], Mh[sl, :, j]
            TY, MY = TY + rm.shift[j] * TD, MY + rm.shift[j] * MD
        jk = None
        if jack is not None:
            L = jack[:, 0, j]
            J0 = jack[:, 1:1 + n_groups, j]
            J1 = np.zeros_like(J0)
            if rm.restricted[j]:
                J1 = jack[:, 1 + n_groups + i * n_groups:1 + n_groups + (i + 1) * n_groups, j]
                J0 = J0 + rm.shift[j] * J1
            jk = (L, J0, J1)
        if jk is not None and not np.isfinite(jk[0]).all():
            jk = None  # some county alone makes this estimate possible: no CV3, CV1 instead
        bt = BootstrapT(float(est_all[j]), TY, TD, MY, MD, psi_hat[:, j], W, p.n, factor, jk)
        ok = np.isfinite(bt.est) and np.isfinite(bt.se) and bt.se > 0
        out.append(bt if ok else None)
    return out


def cs_wild_bootstrap(res: ATTgtResult, spec: AggSpec, *, n_boot: int = 999, seed: int = 0,
                      weights: BootWeights = "webb", alpha: float = 0.05,
                      options: WildOptions = WildOptions()) -> pd.DataFrame:
    """Restricted wild cluster bootstrap-t rows (``inference = "wild_bootstrap"``) for an aggregate.

    Parameters
    ----------
    res : ATTgtResult
        Must be clustered (``cluster=`` in ``att_gt``) with at most ``MAX_CLUSTERS`` clusters.
    spec : AggSpec
        The aggregation (``res.spec(kind, ...)``).
    n_boot, seed, weights, alpha
        Draws, seed of ``numpy.random.default_rng``, ``"webb"`` or ``"rademacher"``, level.
    options : WildOptions
        Restricted model, studentisation and level of the weights (module docstring).

    Returns
    -------
    DataFrame with the columns of :func:`analysis.did.aggregate_table` and ``detail``;
    ``std_error`` is the standard error used for studentising (CV1: the analytic one; CV3: the
    jackknife), the interval and p-value are the bootstrap's.
    """
    boots = bootstrap_keys(res, spec, n_boot=n_boot, seed=seed, weights=weights, options=options)
    est, se_an = res.estimates(spec)
    J = len(boots)
    lo, hi, pv = (np.full(J, np.nan) for _ in range(3))
    se = se_an.copy() if options.studentization == "cv1" else np.full(J, np.nan)
    detail = np.full(J, options.detail, dtype=object)
    for j, bt in enumerate(boots):
        if bt is None:
            continue
        se[j] = bt.se
        if bt.studentization != options.studentization:
            detail[j] = (f"{options.model}, cv1 (no cv3: the estimate does not exist without "
                         f"some county), {options.level}")
        pv[j] = bt.pvalue(np.array([0.0]))[0]
        lo[j], hi[j] = invert_test(bt.pvalue, bt.est, bt.se, alpha)
    tab = aggregate_table(spec, est, se, lo, hi, pv, "wild_bootstrap")
    tab["detail"] = detail if spec.overall != "same" else detail[:1]
    return tab


def pretrend_wild(res: ATTgtResult, spec: AggSpec, *, n_boot: int = 999, seed: int = 0,
                  weights: BootWeights = "webb", options: WildOptions = WildOptions()
                  ) -> tuple[float, float]:
    """Joint pre-trend test: ``S = Σ_e t_e²`` over pre-period event times (each studentised by
    its own standard error, so no inverse of the singular covariance is needed), judged by the
    restricted wild cluster bootstrap (restricted model: no pre-trends, post effects free).
    Returns ``(S, p_value)``."""
    boots = bootstrap_keys(res, spec, n_boot=n_boot, seed=seed, weights=weights, options=options)
    use = [j for j, bt in enumerate(boots[:-1]) if bt is not None and spec.pre[j]]
    if not use:
        return np.nan, np.nan
    zero = np.array([0.0])
    S_obs = float(sum(boots[j].t_observed(zero)[0] ** 2 for j in use))
    S_star = sum(boots[j].tstar(zero)[:, 0] ** 2 for j in use)
    return S_obs, float(resampling_pvalue(S_obs, S_star))

