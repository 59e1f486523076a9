"""The joint pre-trend test on the pre-adoption event-time ATTs: the analytic Wald row and the
result object that also carries the resampling rows of :mod:`analysis.inference`.

The Wald statistic ``θ̂' V⁻¹ θ̂`` over the pre-period event times (judged by Hotelling's T²
reference with ``G`` clusters, or ``χ²`` with ``critical="normal"``: :func:`wald_pvalue`) needs the clustered covariance ``V`` of those ATTs to be non-singular; with 11 clusters
and more pre-periods than clusters it is not, and the row is reported as missing with the rank in
a note. The scalar statistics that always exist (``sum_t2`` judged by the restricted wild
bootstrap, ``mean_t2`` — or ``mean_sq`` unstudentised — by randomisation of adoption dates) are
computed in :func:`analysis.inference.pretrend_test`, which assembles the :class:`PretrendResult`.

Tests that mean something (Roth 2022: a joint test of many noisy leads has little power against
the violations that matter). On a **universal** base period each lead ``θ_e`` is the change from
the reference ``e = −1`` to ``e`` — the same long difference as the post-period effects — and
under a linear differential trend of slope ``s`` per period ``θ_e = s (e + 1)``. Two focused tests:

* the **slope** of the leads, one degree of freedom: :func:`lead_slope_weights` gives the
  least-squares slope through the reference, ``ŝ = Σ_e (e + 1) θ_e / Σ_e (e + 1)²`` (on a varying
  base each lead is a one-period change, so the slope is their mean); :func:`lead_slope_spec`
  makes it the overall row of a contrast so that every inference method of
  :mod:`analysis.inference` tests it;
* the **last four leads** jointly: :func:`last_leads_min_e` is the ``min_e`` of
  :func:`analysis.inference.pretrend_test` that keeps them (on a universal base the reference is
  left out of every pre-trend test: it is zero by construction).

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230 (Section 4.2, pre-tests).
Roth, J. (2022). Pretest with caution: Event-study estimates after testing for parallel trends.
    *American Economic Review: Insights* 4(3), 305–322.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import SpecificationError
from ..plots import new_axes
from ..results import ResultMixin
from .aggregation import AggSpec, contrast_spec
from .results import ATTgtResult

__all__ = ["PretrendResult", "last_leads_min_e", "lead_slope_spec", "lead_slope_weights",
           "pretrend_spec", "wald_pvalue", "wald_row"]


@dataclass(frozen=True)
class PretrendResult(ResultMixin):
    """Joint tests of "no effect before adoption" over the pre-period event-time ATTs.

    Rows: ``wald`` (analytic clustered Wald χ², reported only when the clustered covariance of the
    pre-period ATTs is non-singular — with 11 clusters and more pre-periods than clusters it is
    not), ``sum_t2`` (sum of squared individually studentised pre-period ATTs, judged by the
    restricted wild cluster bootstrap) and ``mean_t2`` (mean squared pre-period t statistic;
    ``mean_sq``, the mean squared pre-period ATT, when unstudentised), judged by randomisation of
    adoption dates. Columns: ``statistic``, ``value``, ``df``, ``p_value``,
    ``inference``, ``n_pre``, ``n_clusters``.
    """

    table: pd.DataFrame = field(repr=False)
    outcome: str = ""
    _notes: tuple[str, ...] = ()

    @classmethod
    def from_rows(cls, res: ATTgtResult, spec: AggSpec, rows: Sequence[dict[str, Any]],
                  notes: Sequence[str] = ()) -> PretrendResult:
        """The result of the test rows ``rows`` on the pre-period keys of ``spec``."""
        table = pd.DataFrame(list(rows))
        table["n_pre"] = len(spec.keys)
        table["n_clusters"] = res.n_clusters
        return cls(table=table, outcome=res.outcome, _notes=tuple(notes))

    @property
    def title(self) -> str:
        return "Joint pre-trend test" + (f" — {self.outcome}" if self.outcome else "")

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"pretrend": self.table}

    def plot(self, *, ax: Any = None) -> Any:
        """The p-value of each test against the 5% line."""
        ax = new_axes(ax, figsize=(5, 3))
        t = self.table.dropna(subset=["p_value"])
        ax.barh(t["statistic"] + " (" + t["inference"] + ")", t["p_value"], color="C0")
        ax.axvline(0.05, color="red", ls="--", lw=0.8)
        ax.set_xlim(0, 1)
        ax.set_xlabel("p-value")
        ax.set_title(self.title)
        return ax


def pretrend_spec(res: ATTgtResult, *, min_e: float = -np.inf) -> AggSpec:
    """The dynamic aggregation restricted to the pre-period event times ``min_e <= e <= -1``
    (``<= -2`` on a universal base, whose ``e = -1`` is the reference, zero by construction)."""
    return res.spec("dynamic", min_e=min_e, max_e=-2 if res.base_period == "universal" else -1)


def lead_slope_weights(keys: Sequence[float], base_period: str) -> np.ndarray:
    """Weights of the leads' slope per period: least squares through the reference
    (``(e + 1) / Σ (e + 1)²``) on a universal base, the mean of the one-period changes on a
    varying base."""
    e = np.asarray(keys, float)
    if base_period == "universal":
        x = e + 1
        return x / (x @ x)
    return np.full(len(e), 1 / len(e))


def lead_slope_spec(res: ATTgtResult, *, min_e: float = -np.inf) -> AggSpec:
    """The pre-period dynamic aggregation whose overall row is the slope of the leads
    (:func:`lead_slope_weights`), named ``"slope"``: pass it to
    :func:`analysis.inference.aggregate_spec` for the few-cluster tests."""
    spec = pretrend_spec(res, min_e=min_e)
    if not len(spec.keys):
        raise SpecificationError("No pre-period event time to test; check min_e.")
    w = lead_slope_weights([float(k) for k in spec.keys], res.base_period)
    return contrast_spec(spec, w, name="slope")


def last_leads_min_e(res: ATTgtResult, n: int = 4) -> int:
    """``min_e`` that keeps the last ``n`` leads (``-n - 1`` on a universal base, ``-n``
    otherwise)."""
    return -n - 1 if res.base_period == "universal" else -n


def wald_pvalue(W: float, k: int, n_clusters: int | None, critical: str) -> float:
    """p-value of a clustered Wald statistic ``W`` of ``k`` restrictions.

    With ``critical="t"`` and ``G`` clusters, Hotelling's T² reference:
    ``W (G − k) / (k (G − 1)) ~ F(k, G − k)`` (for ``k = 1`` the square of the t(G − 1) test of
    the scalar rows, so the two agree); ``χ²(k)`` with ``critical="normal"`` (R ``did``'s pre-test)
    or without clusters. In demo-like null worlds with 11 counties (``validation/worlds.py``, 400
    worlds each) the χ² test of the last four leads rejected 27–38% of true nulls, ``W/k`` against
    F(k, G − 1) 16–23%, Hotelling's reference 5.2–8.5% (``docs/monte_carlo.md``)."""
    if critical == "normal" or n_clusters is None or n_clusters - k < 1:
        return float(stats.chi2.sf(W, k))
    G = n_clusters
    return float(stats.f.sf(W * (G - k) / (k * (G - 1)), k, G - k))


def wald_row(res: ATTgtResult, spec: AggSpec) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The analytic Wald row over the keys of ``spec`` (missing when the clustered covariance is
    singular), and the note that says why it is missing."""
    nk = len(spec.keys)
    keys, _ = res.point(spec, res.att[None])
    est = keys[0]
    psi = res.aggregate_psi(spec, res.att[None], res.inf[None])[0][:, :nk]
    C = psi.shape[0]
    f = C / (C - 1) if res.panel.clustered else 1.0
    V = f * psi.T @ psi / res.panel.n**2
    rank = np.linalg.matrix_rank(V) if nk else 0
    if nk and rank == nk:
        W = float(est @ np.linalg.solve(V, est))
        return ({"statistic": "wald", "value": W, "df": nk,
                 "p_value": wald_pvalue(W, nk, C if res.panel.clustered else None, res.critical),
                 "inference": "analytic"}, ())
    note = (f"The clustered covariance of the {nk} pre-period ATTs has rank {rank} with {C} "
            "clusters: no Wald test exists; read the scalar-statistic rows (wild bootstrap, "
            "randomisation).")
    return ({"statistic": "wald", "value": np.nan, "df": nk, "p_value": np.nan,
             "inference": "analytic"}, (note,))
