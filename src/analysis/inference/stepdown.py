"""Multiplicity: Romano–Wolf step-down adjusted p-values from the draws each test already uses.

The composite index is the pre-specified primary outcome (:data:`analysis.domain.PRIMARY_OUTCOME`);
it is tested once and not adjusted. The four targets (:data:`analysis.domain.SECONDARY_OUTCOMES`)
form one family, and their p-values are adjusted together so that the probability of rejecting
*any* true null among them (the family-wise error rate, FWER) stays at the nominal level.

**Romano–Wolf step-down (max-t).** With observed statistics ``s_k = |t_k|`` (larger = more
extreme) and resampled statistics ``s*_bk`` drawn *jointly* under the null — the same bootstrap
weights, or the same permuted assignment, for every outcome in draw ``b`` — order the hypotheses
so that ``s_(1) ≥ s_(2) ≥ …``. The adjusted p-value of the ``j``-th is

    p̃_(j) = max( p̃_(j−1), (1 + #{b : max_{i ≥ j} s*_b(i) ≥ s_(j)}) / (B + 1) ),

the package's one p-value convention (:mod:`analysis.inference.pvalue`) applied to the maximum
over the hypotheses not yet rejected (Romano & Wolf 2005, Algorithm 2.1; the adjusted p-values of
Romano & Wolf 2016, Algorithm 4.1; Westfall & Young 1993 for the same max-T step-down with
permutations). Because the draws share one random stream across outcomes, the joint dependence of
the four tests is kept and the adjustment is less conservative than Holm's; it costs one maximum
per draw. Each adjusted p-value is at least the raw p-value of its own test computed from the same
draws (the maximum includes the test itself), and the adjusted p-values are monotone in the
observed statistics.

Where no joint draws exist (the analytic rows), :func:`holm` gives Holm's (1979) step-down
adjustment, valid under any dependence.

The draws of a Callaway–Sant'Anna aggregate come from :func:`cs_null_draws`: the restricted wild
bootstrap of :mod:`analysis.inference.multiplier` (``t*`` at ``τ₀ = 0``, the draws of the
``wild_bootstrap`` row) or the permuted assignments of :mod:`analysis.inference.randomization`
(the studentised statistic of every assignment at ``τ₀ = 0``, the draws of the ``randomization``
row). :func:`family_adjust` checks that the draws of a family are aligned (same clusters, same
weights or assignments) before taking the maximum.

References
----------
Romano, J. P., & Wolf, M. (2005). Stepwise multiple testing as formalized data snooping.
    *Econometrica* 73(4), 1237–1282.
Romano, J. P., & Wolf, M. (2016). Efficient computation of adjusted p-values for
    resampling-based stepdown multiple testing. *Statistics & Probability Letters* 113, 38–40.
Westfall, P. H., & Young, S. S. (1993). *Resampling-Based Multiple Testing*. Wiley.
Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian Journal
    of Statistics* 6(2), 65–70.
Clarke, D., Romano, J. P., & Wolf, M. (2020). The Romano–Wolf multiple-hypothesis correction in
    Stata. *Stata Journal* 20(4), 812–843.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..did import AggSpec, ATTgtResult
from ..errors import SpecificationError
from .multiplier import WildOptions, bootstrap_keys
from .pvalue import TIE_TOLERANCE
from .randomization import RIStatistic, _Curve, _curves, permutations
from .weights import BootWeights

__all__ = ["ADJUSTMENT_NAMES", "Adjustment", "NullDraws", "cs_null_draws", "family_adjust",
           "holm", "romano_wolf"]

#: how a ``p_adjusted`` value was computed (column ``adjustment`` of the results tables)
Adjustment = Literal["romano_wolf", "holm"]
ADJUSTMENT_NAMES: dict[str, str] = {
    "romano_wolf": "Romano–Wolf step-down (max-t over the same draws)",
    "holm": "Holm step-down (analytic rows: no joint draws)",
}


def romano_wolf(observed: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Romano–Wolf step-down adjusted p-values.

    Parameters
    ----------
    observed : ndarray (K,)
        Observed statistics, larger = more extreme (``|t|``). NaN: the test does not exist; it
        is left out of the family and its adjusted p-value is NaN.
    draws : ndarray (B, K)
        Resampled statistics under the null, drawn jointly: row ``b`` holds every test's statistic
        in the same draw. NaN draws count as not extreme (as in
        :func:`analysis.inference.pvalue.resampling_pvalue`).

    Returns
    -------
    ndarray (K,)
        Adjusted p-values in ``[1/(B+1), 1]``, each at least its raw resampling p-value.

    References
    ----------
    Romano & Wolf (2005), Algorithm 2.1; Romano & Wolf (2016), Algorithm 4.1.
    """
    obs = np.asarray(observed, float)
    D = np.asarray(draws, float)
    if D.ndim != 2 or obs.ndim != 1 or D.shape[1] != obs.shape[0]:
        raise SpecificationError(f"draws must be (B, K) with K = len(observed); got {D.shape} and "
                                 f"{obs.shape}.")
    out = np.full(obs.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(obs))
    if not len(ok):
        return out
    D = np.where(np.isnan(D), -np.inf, D)
    order = ok[np.argsort(-obs[ok], kind="stable")]
    B = D.shape[0]
    prev = 0.0
    for j, k in enumerate(order):
        rest = order[j:]
        mx = D[:, rest].max(axis=1)
        p = (1 + np.sum(mx >= obs[k] - TIE_TOLERANCE)) / (B + 1)
        prev = max(prev, float(p))
        out[k] = prev
    return out


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values (NaN left out and kept NaN)."""
    p = np.asarray(pvalues, float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    prev = 0.0
    for j, k in enumerate(ok[np.argsort(p[ok], kind="stable")]):
        prev = max(prev, min(1.0, (m - j) * float(p[k])))
        out[k] = prev
    return out


@dataclass(frozen=True)
class NullDraws:
    """One test's observed statistic and its resampled statistics under the null.

    ``alignment``: what must be equal across the tests of a family for their draws to be joint
    (the cluster labels and the weights' seed; the permuted assignments). ``p_value``: the raw
    resampling p-value from these draws (equal to the test's reported p-value).
    """

    observed: float
    draws: np.ndarray = field(repr=False)
    alignment: tuple = field(repr=False)
    method: str = ""

    @property
    def p_value(self) -> float:
        d = np.where(np.isnan(self.draws), -np.inf, self.draws)
        return float((1 + np.sum(d >= self.observed - TIE_TOLERANCE)) / (len(d) + 1))


def cs_null_draws(
    res: ATTgtResult,
    spec: AggSpec,
    inference: Literal["wild_bootstrap", "randomization"],
    *,
    n_boot: int = 999,
    n_perm: int = 999,
    seed: int = 0,
    boot_weights: BootWeights = "webb",
    ri_statistic: RIStatistic = "studentized",
    options: WildOptions = WildOptions(),
) -> NullDraws | None:
    """The null draws behind the overall row of a Callaway–Sant'Anna aggregate (the same draws as
    :func:`analysis.inference.aggregate` with the same options and seed): ``|t*|`` of the
    restricted wild bootstrap at ``τ₀ = 0``, or the studentised (or absolute) statistic of every
    permuted assignment at ``τ₀ = 0``. ``None`` when the estimate or its draws do not exist."""
    if spec.pre[-1]:
        raise SpecificationError("The multiplicity adjustment is for post-adoption aggregates; "
                                 "a pre-period aggregate is tested with the post effect removed.")
    cl = tuple(str(c) for c in res.panel.cluster_labels)
    if inference == "wild_bootstrap":
        bt = bootstrap_keys(res, spec, n_boot=n_boot, seed=seed, weights=boot_weights,
                            options=options)[-1]
        if bt is None:
            return None
        zero = np.array([0.0])
        return NullDraws(float(bt.t_observed(zero)[0]), np.abs(bt.tstar(zero)[:, 0]),
                         ("wild_bootstrap", cl, int(seed), int(n_boot), boot_weights,
                          options.detail), "wild_bootstrap")
    if inference == "randomization":
        pe, A, _ = permutations(res, n_perm, seed)
        SY, SD, PY, PD = _curves(pe, A, spec, ri_statistic)
        if not np.isfinite(SY[0, -1]):
            return None
        curve = _Curve(SY[:, -1], SD[:, -1], None if PY is None else PY[:, :, -1],
                       None if PD is None else PD[:, :, -1], pe.n, pe.se_factor, ri_statistic)
        s = curve.stat(np.array([0.0]))[:, 0]
        return NullDraws(float(s[0]), s[1:], ("randomization", cl, A.tobytes(), ri_statistic),
                         "randomization")
    raise SpecificationError(f"inference={inference!r}: the adjustment needs draws; choose "
                             "'wild_bootstrap' or 'randomization'.")


def family_adjust(draws: Mapping[str, NullDraws | None]) -> dict[str, float]:
    """Romano–Wolf adjusted p-values of a family of tests (name → draws; ``None`` where a test
    does not exist, NaN out). The draws must be aligned (same method, clusters and weights or
    assignments, same number of draws): otherwise the maximum over tests would mix unrelated
    draws, and a :class:`~analysis.errors.SpecificationError` says so."""
    names = [k for k, v in draws.items() if v is not None]
    out = {k: np.nan for k in draws}
    if not names:
        return out
    first = draws[names[0]]
    assert first is not None
    for k in names[1:]:
        d = draws[k]
        assert d is not None
        if d.alignment != first.alignment or d.draws.shape != first.draws.shape:
            raise SpecificationError(
                f"The draws of {k!r} are not those of {names[0]!r} (other clusters, weights or "
                "assignments): a max-t adjustment needs the same draws for every test.")
    obs = np.array([draws[k].observed for k in names])  # type: ignore[union-attr]
    D = np.column_stack([draws[k].draws for k in names])  # type: ignore[union-attr]
    adj = romano_wolf(obs, D)
    out.update(dict(zip(names, adj.tolist(), strict=True)))
    return out
