"""The restricted model of the wild cluster bootstrap of Callaway–Sant'Anna aggregates.

A restricted (null-imposed) wild bootstrap draws outcomes ``y* = ỹ + w ⊙ ẽ`` from a model fitted
under the null. For an OLS coefficient the model is the regression itself (Roodman, Nielsen,
MacKinnon & Webb 2019, "boottest"); the Callaway–Sant'Anna estimator is not a regression, so the
model is chosen here (``model``):

* ``"cohort_period"``: unit and period fixed effects plus one effect for every treated
  cohort × period cell (``t ≥ g − δ``, anticipation included) — the saturated ("extended",
  Wooldridge 2021) two-way model that nests any pattern of effects over cohorts and event times
  and keeps the parallel-trends structure the estimator relies on. The null imposes only the
  tested linear restriction ``r'β = τ₀``, with ``r_m = θ(Z_m)`` the aggregate of the ``m``-th
  effect dummy: the restricted fit's aggregate is exactly ``τ₀`` and every other cohort × period
  effect stays free, as boottest imposes one restriction on an unrestricted regression.
* ``"twfe"`` (the default): unit and period fixed effects plus one constant effect ``τ₀·D``.
  Heterogeneous effects then end up in the restricted residuals, which makes the bootstrap
  conservative when effects differ.

Which holds its size was measured (:mod:`analysis.inference.multiplier`, "Why these defaults"):
with cohorts of one or two counties the saturated model's cohort × period effects absorb those
counties' shocks, and it rejected 5.3–10.0% of true nulls in null worlds (7.0–14.3% of the true
aggregate with heterogeneous effects) where the constant-effect model with CV3 studentisation
rejected 4.7–6.0% (2.0–2.7%); ``"cohort_period"`` stays available for designs with many counties
per cohort.

With restriction vector ``r`` and ``A = (Z̃'Z̃)⁺`` (``Z̃`` the effect dummies with the fixed
effects projected out), the restricted residuals are

    ẽ(τ₀) = ê + h (r'β̂ − τ₀),   h = Z̃ A r / (r' A r),

linear in ``τ₀`` — which is what lets the interval be found by test inversion with the draws held
fixed. A key whose aggregate does not depend on the model's effects (``r = 0``: a pre-period
event time before any anticipation) is tested under the unrestricted model, whose pre-period
aggregates are zero by construction: the null is "no pre-trend", the post effects stay free.

Why hand-written: the restricted least squares is three lines once the fixed effects are projected
out (:func:`analysis.within.demean`); what matters is that the restriction is the aggregate's own
linear map, computed by running the estimator on the effect dummies.

References
----------
Roodman, D., MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2019). Fast and wild: Bootstrap
    inference in Stata using boottest. *Stata Journal* 19(1), 4–60 (the restricted model imposes
    the tested restriction only).
Wooldridge, J. M. (2021). Two-way fixed effects, the two-way Mundlak regression, and
    difference-in-differences estimators. Working paper, SSRN 3906345 (the saturated cohort ×
    period model).
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..did import AggSpec, ATTgtResult, attgt_core
from ..within import demean

__all__ = ["RestrictedModel", "WildModel", "effect_design", "restricted_model"]

#: the restricted model of the wild bootstrap: saturated cohort × period effects, or one effect
WildModel = Literal["cohort_period", "twfe"]


def effect_design(res: ATTgtResult, model: WildModel) -> np.ndarray:
    """The effect dummies ``(M, n, T)`` of the model (NaN where the outcome is unobserved).

    ``"twfe"``: ``D = 1{t ≥ G − δ}``. ``"cohort_period"``: one dummy per cohort ``g`` and period
    ``t ≥ g − δ`` in which some unit of the cohort is observed.
    """
    p = res.panel
    obs = p.obs
    D = (p.times[None, :] >= p.G[:, None] - res.anticipation) & obs
    if model == "twfe":
        Z = D[None].astype(float)
    else:
        cols = []
        for g in np.unique(p.G[np.isfinite(p.G)]):
            unit = p.G == g
            for tp in np.flatnonzero(p.times >= g - res.anticipation):
                m = np.zeros(p.Y.shape)
                m[unit, tp] = 1.0
                m = m * obs
                if m.any():
                    cols.append(m)
        Z = np.array(cols) if cols else np.zeros((0, *p.Y.shape))
    Z[:, ~obs] = np.nan
    return Z


@dataclass(frozen=True)
class RestrictedModel:
    """The restricted residuals of every key of a spec, ``ẽ_j(τ₀) = E0_j − τ₀ E1_j``.

    ``resid`` ``(n, T)``: the unrestricted residuals ``ê``; ``h`` ``(J, n, T)``: the direction of
    each key's restriction (zero where ``r_j = 0``); ``shift`` ``(J,)``: ``r_j'β̂``; so
    ``E0_j = ê + shift_j h_j`` and ``E1_j = h_j``. ``restricted`` ``(J,)``: whether the key's
    aggregate depends on the model's effects (``r_j ≠ 0``). ``model``: the model's name.
    """

    model: WildModel
    resid: np.ndarray
    h: np.ndarray
    shift: np.ndarray
    restricted: np.ndarray

    def E0(self, j: int) -> np.ndarray:
        """The restricted residuals of key ``j`` at ``τ₀ = 0``."""
        return self.resid + self.shift[j] * self.h[j]


@dataclass(frozen=True)
class _Fit:
    """The spec-independent part of the model: effect dummies ``Z`` (raw), their demeaned values
    on the observed cells, ``A = (Z̃'Z̃)⁺``, ``β̂`` and the residuals ``ê``."""

    Z: np.ndarray
    Z_t: np.ndarray
    A: np.ndarray
    beta: np.ndarray
    resid: np.ndarray


#: fits of the model per (result, model); an entry lives as long as its result
_FITS: dict[tuple[int, str], tuple[Any, _Fit]] = {}


def _fit(res: ATTgtResult, model: WildModel) -> _Fit:
    key = (id(res), model)
    hit = _FITS.get(key)
    if hit is not None and hit[0]() is res:
        return hit[1]
    p = res.panel
    obs = p.obs
    ui, ti = np.nonzero(obs)
    Z = effect_design(res, model)
    M = Z.shape[0]
    cols = np.column_stack([p.Y[ui, ti], *(z[ui, ti] for z in Z)]) if M else p.Y[ui, ti, None]
    dm = demean(cols, [ui, ti])
    y_t, Z_t = dm[:, 0], dm[:, 1:]
    if M:
        # symmetric pseudo-inverse (the dummies of cohorts observed in every period can be
        # collinear with the period effects when no unit is never treated)
        vals, vecs = np.linalg.eigh(Z_t.T @ Z_t)
        keep = vals > 1e-10 * max(float(vals.max()), 1e-300)
        A = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
        beta = A @ (Z_t.T @ y_t)
        e = y_t - Z_t @ beta
    else:
        A, beta, e = np.zeros((0, 0)), np.zeros(0), y_t
    resid = np.full(p.Y.shape, np.nan)
    resid[ui, ti] = e
    fit = _Fit(Z=Z, Z_t=Z_t, A=A, beta=beta, resid=resid)
    _FITS[key] = (weakref.ref(res, lambda _, k=key, cache=_FITS: cache.pop(k, None)), fit)
    return fit


def restricted_model(res: ATTgtResult, spec: AggSpec, model: WildModel) -> RestrictedModel:
    """Fit the model with unit and period fixed effects and find each key's restriction.

    Parameters
    ----------
    res : ATTgtResult
    spec : AggSpec
        The keys (and overall, last) whose nulls ``θ_j = τ₀`` are imposed one at a time.
    model : {"cohort_period", "twfe"}

    Returns
    -------
    RestrictedModel
    """
    p = res.panel
    obs = p.obs
    ui, ti = np.nonzero(obs)
    fit = _fit(res, model)
    Z, Z_t, A, beta = fit.Z, fit.Z_t, fit.A, fit.beta
    M = Z.shape[0]
    J = len(spec.keys) + 1
    # r[m, j] = θ_j(Z_m): the aggregate's linear map applied to each effect dummy
    if M:
        att, _, _, _ = attgt_core(Z, obs, p.G, p.w, res.cells, res.control_group,
                                  res.anticipation, want_if=False, X=p.X)
        att = np.where(np.isnan(res.att)[None, :], np.nan, att)
        keys, overall = res.point(spec, att)
        r = np.nan_to_num(np.column_stack([keys, overall]))
    else:
        r = np.zeros((0, J))
    h = np.zeros((J, *p.Y.shape))
    h[:, ~obs] = np.nan
    shift = np.zeros(J)
    restricted = np.zeros(J, bool)
    for j in range(J):
        rj = r[:, j]
        if not M or np.abs(rj).max() <= 1e-10:  # the key does not depend on the effects
            continue
        s = float(rj @ A @ rj)  # > 0: r is orthogonal to the null space of Z̃ (θ kills the FEs)
        restricted[j] = True
        h[j, ui, ti] = Z_t @ (A @ rj) / s
        shift[j] = float(rj @ beta)
    return RestrictedModel(model=model, resid=fit.resid, h=h, shift=shift, restricted=restricted)
