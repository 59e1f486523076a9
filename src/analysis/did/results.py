"""Result objects of the Callaway–Sant'Anna estimator: ATT(g,t) and its aggregations.

:class:`ATTgtResult` holds every ATT(g,t) with its influence function and answers the questions
the resampling methods of :mod:`analysis.inference` ask of it (aggregate point estimates for a
batch of outcome arrays, cluster sums of the aggregates' influence functions, the analytic rows).
:meth:`ATTgtResult.aggregate` gives the analytic aggregation; wild-bootstrap and randomisation
rows come from :func:`analysis.inference.aggregate`, which hands them to
:meth:`ATTgtResult.aggregate_result`. Both return an :class:`AggregateResult` whose table has one
row per key (and an overall row) per inference method.

Analytic inference: influence-function standard errors (:mod:`analysis.did.influence`), normal
critical values and two-sided normal p-values.

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import SpecificationError, check_option
from ..plots import new_axes, safe_labels
from ..results import ResultMixin
from .aggregation import AggKind, AggSpec, aggregate_influence, aggregate_point, aggregation_spec
from .cells import BasePeriod, Cells, ControlGroup, group_shares
from .influence import cluster_sums, se_from_psi
from .panel import PanelArrays

__all__ = ["AggregateResult", "ATTgtResult", "aggregate_table"]


def aggregate_table(spec: AggSpec, est: np.ndarray, se: np.ndarray, lo: np.ndarray,
                    hi: np.ndarray, p: np.ndarray, inference: str) -> pd.DataFrame:
    """The rows of one inference method for an aggregation: one per key and the overall.

    ``est``, ``se``, ``lo``, ``hi``, ``p`` have one value per key and the overall (last); for the
    simple kind the single key *is* the overall row. Columns: ``key``, ``att``, ``std_error``,
    ``ci_low``, ``ci_high``, ``p_value``, ``inference``, ``is_overall``.
    """
    keys = list(spec.keys)
    n_over = 0 if spec.overall == "same" else 1
    if spec.overall == "same":
        key_col: list[Any] = keys
        overall_flag = [True]
        est, se, lo, hi, p = (np.asarray(v)[:1] for v in (est, se, lo, hi, p))
    else:
        key_col = [*keys, "overall"]
        overall_flag = [False] * len(keys) + [True] * n_over
    return pd.DataFrame({
        "key": pd.Series(key_col, dtype=object), "att": est, "std_error": se, "ci_low": lo,
        "ci_high": hi, "p_value": p, "inference": inference, "is_overall": overall_flag,
    })


@dataclass(frozen=True)
class AggregateResult(ResultMixin):
    """An aggregation of ATT(g,t): one row per key (and an overall row) per inference method.

    ``table`` columns: ``key``, ``att``, ``std_error``, ``ci_low``, ``ci_high``, ``p_value``,
    ``inference``, ``is_overall``, ``n_clusters``.
    """

    kind: AggKind
    table: pd.DataFrame = field(repr=False)
    outcome: str = ""
    _notes: tuple[str, ...] = ()

    display_columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "aggregate": ("key", "inference", "att", "std_error", "ci_low", "ci_high", "p_value")}

    @property
    def title(self) -> str:
        return f"Callaway–Sant'Anna {self.kind} aggregation" + (
            f" — {self.outcome}" if self.outcome else "")

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"aggregate": self.table}

    def overall(self, inference: str = "analytic") -> pd.Series:
        """The overall row of one inference method."""
        t = self.table
        return t[(t["is_overall"]) & (t["inference"] == inference)].iloc[0]

    def plot(self, *, ax: Any = None, inference: str = "analytic", pre_shade: bool = True,
             labels: Any = None, window: tuple[float, float] | None = None) -> Any:
        """Estimates with 95% interval bars; for the dynamic kind, a band with pre-periods shaded.

        ``labels`` maps group / period keys to tick labels; ``window=(lo, hi)`` limits the event
        times shown (late event times rest on one or two counties and have very wide bands).
        """
        ax = new_axes(ax, figsize=(7, 4))
        t = self.table[(~self.table["is_overall"]) & (self.table["inference"] == inference)]
        if len(t) == 0:
            return ax
        if self.kind == "dynamic":
            if window is not None:
                e = t["key"].astype(float)
                t = t[(e >= window[0]) & (e <= window[1])]
            x = t["key"].astype(float).to_numpy()
            ax.fill_between(x, t["ci_low"], t["ci_high"], alpha=0.25, color="C0", step=None,
                            label=f"95% CI ({inference})")
            ax.plot(x, t["att"], "o-", color="C0", label="ATT(e)")
            if pre_shade and (x < 0).any():
                ax.axvspan(x.min() - 0.5, -0.5, color="grey", alpha=0.12, label="pre-period")
            ax.axvline(-0.5, color="grey", lw=0.8, ls=":")
            ax.set_xlabel("event time (periods since adoption)")
        else:
            x = np.arange(len(t))
            err = np.vstack([t["att"] - t["ci_low"], t["ci_high"] - t["att"]])
            ax.errorbar(x, t["att"], yerr=err, fmt="o", capsize=3, label=f"95% CI ({inference})")
            ax.set_xticks(x, safe_labels(labels(k) if labels else k for k in t["key"]), rotation=45)
            ax.set_xlabel(self.kind)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_ylabel("ATT")
        ax.set_title(self.title)
        ax.legend(loc="best", fontsize=8)
        return ax


@dataclass(frozen=True)
class ATTgtResult(ResultMixin):
    """Group-time average treatment effects ATT(g,t) with their influence functions.

    ``tidy()`` is the ATT(g,t) table; :meth:`aggregate` the analytic aggregations;
    :func:`analysis.inference.aggregate` adds wild-bootstrap and randomisation rows.
    """

    outcome: str
    control_group: ControlGroup
    anticipation: int
    base_period: BasePeriod
    panel: PanelArrays = field(repr=False)
    cells: Cells = field(repr=False)
    att: np.ndarray = field(repr=False)
    inf: np.ndarray = field(repr=False)  # (n, K)
    n_treated: np.ndarray = field(repr=False)
    n_control: np.ndarray = field(repr=False)
    alpha: float = 0.05
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"Callaway–Sant'Anna ATT(g,t) — {self.outcome}"

    # ---- basic quantities -------------------------------------------------------------------
    @property
    def n_clusters(self) -> int:
        return self.panel.n_clusters

    @property
    def glist(self) -> np.ndarray:
        """The adoption cohorts."""
        return np.unique(self.cells.g)

    def cohort_shares(self) -> np.ndarray:
        """``(K,)``: the share P(G = g) of each cell's cohort (observed assignment)."""
        pg = group_shares(self.panel.G, self.panel.w, self.glist)
        return pg[np.searchsorted(self.glist, self.cells.g)]

    def psi(self, inf: np.ndarray) -> np.ndarray:
        """Cluster sums ``(R, C, m)`` of an influence array ``(R, n, m)`` (unit-level when the fit
        is not clustered: each unit its own cluster)."""
        p = self.panel
        if p.clustered:
            return cluster_sums(inf, p.cl, p.n_clusters)
        return inf

    @property
    def std_error(self) -> np.ndarray:
        """Analytic standard error of each ATT(g,t) (NaN for the universal base's reference)."""
        se = se_from_psi(self.psi(self.inf[None])[0], self.panel.n, self.panel.clustered)
        return np.where(self.cells.reference, np.nan, se)

    def tables(self) -> dict[str, pd.DataFrame]:
        z = stats.norm.ppf(1 - self.alpha / 2)
        se = self.std_error
        c = self.cells
        with np.errstate(invalid="ignore", divide="ignore"):
            p = 2 * stats.norm.sf(np.abs(self.att / se))
        return {"attgt": pd.DataFrame({
            "group": c.g, "period": c.t, "base_period": c.base, "event_time": c.t - c.g,
            "post": c.t >= c.g, "att": self.att, "std_error": se,
            "ci_low": self.att - z * se, "ci_high": self.att + z * se, "p_value": p,
            "n_treated": self.n_treated, "n_control": self.n_control,
            "n_clusters": self.n_clusters,
        })}

    def plot(self, *, ax: Any = None, value: str = "att", highlight_group: float | None = None,
             labels: Any = None) -> Any:
        """Group × period heatmap of ATT(g,t) (post cells outlined; ``highlight_group`` framed;
        ``labels`` maps time values to tick labels, e.g. ``analysis.domain.t_to_period``)."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        ax = new_axes(ax, figsize=(9, 0.5 * len(self.glist) + 2))
        t = self.tidy()
        mat = t.pivot(index="group", columns="period", values=value)
        lim = np.nanmax(np.abs(mat.to_numpy())) if np.isfinite(mat.to_numpy()).any() else 1
        sns.heatmap(mat, ax=ax, cmap="RdBu_r", center=0, vmin=-lim, vmax=lim,
                    cbar_kws={"label": value})
        for i, g in enumerate(mat.index):
            for j, per in enumerate(mat.columns):
                if per >= g:
                    ax.add_patch(plt.Rectangle((j, i), 1, 1, fill=False, lw=0.4, ec="black"))
            if highlight_group is not None and g == highlight_group:
                ax.add_patch(plt.Rectangle((0, i), len(mat.columns), 1, fill=False, lw=2.0,
                                           ec="gold"))
        if labels is not None:
            ax.set_xticklabels(safe_labels(labels(v) for v in mat.columns), rotation=90)
            ax.set_yticklabels(safe_labels(labels(v) for v in mat.index), rotation=0)
        ax.set_xlabel("period")
        ax.set_ylabel("adoption cohort")
        ax.set_title(f"ATT(g,t) — {self.outcome} (outlined: post-adoption)")
        return ax

    # ---- aggregation ------------------------------------------------------------------------
    def spec(self, kind: AggKind = "simple", *, balance_e: int | None = None,
             min_e: float = -np.inf, max_e: float = np.inf) -> AggSpec:
        """The :class:`~analysis.did.aggregation.AggSpec` of an aggregation (arguments as
        :meth:`aggregate`), validated."""
        check_option("kind", kind, AggKind)
        if balance_e is not None and kind != "dynamic":
            raise SpecificationError("balance_e only applies to kind='dynamic'.")
        return aggregation_spec(kind, self.cells, self.panel.times, balance_e=balance_e,
                                min_e=min_e, max_e=max_e)

    def aggregate(self, kind: AggKind = "simple", *, balance_e: int | None = None,
                  min_e: float = -np.inf, max_e: float = np.inf) -> AggregateResult:
        """Aggregate ATT(g,t) as R ``did``'s ``aggte``, with analytic inference.

        Parameters
        ----------
        kind : {"simple", "dynamic", "group", "calendar"}
            Overall post-treatment average weighted by cohort size; by event time ``e = t - g``;
            by cohort; by calendar period.
        balance_e : int, optional
            Dynamic only: keep cohorts observed for at least ``balance_e`` periods after adoption
            (a balanced event-time window).
        min_e, max_e : float
            Event-time window (dynamic), or the longest post period kept (simple, group).

        Returns
        -------
        AggregateResult
            Rows with ``inference = "analytic"``. For the wild bootstrap and randomisation
            inference next to them use :func:`analysis.inference.aggregate`.

        References
        ----------
        Callaway & Sant'Anna (2021), Section 3; R ``did`` ``aggte``.
        """
        return self.aggregate_result(self.spec(kind, balance_e=balance_e, min_e=min_e,
                                               max_e=max_e))

    def aggregate_result(self, spec: AggSpec, resampled: Sequence[pd.DataFrame] = (), *,
                         notes: Sequence[str] = (), analytic: bool = True) -> AggregateResult:
        """The :class:`AggregateResult` of ``spec``: the analytic rows (unless ``analytic`` is
        false), then the rows of each resampling method in ``resampled`` (tables as
        :func:`aggregate_table` makes them, from :mod:`analysis.inference`), with ``notes``
        added to the fit's own."""
        table = pd.concat([self.analytic_rows(spec), *resampled], ignore_index=True)
        table["n_clusters"] = self.n_clusters
        if not analytic:
            table = table[table["inference"] != "analytic"].reset_index(drop=True)
        return AggregateResult(kind=spec.kind, table=table, outcome=self.outcome,
                               _notes=(*self._notes, *notes))

    def point(self, spec: AggSpec, att: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Aggregates ``(R, nkeys)`` and overall ``(R,)`` of a batch of ATT(g,t) vectors ``att``
        ``(R, K)``, with the observed cohort shares."""
        pgc = self.cohort_shares()
        R = att.shape[0]
        pgg = None
        if spec.overall == "pgg":
            pgg = np.broadcast_to(group_shares(self.panel.G, self.panel.w,
                                               np.asarray(spec.key_groups, float)),
                                  (R, len(spec.keys)))
        return aggregate_point(spec, att, np.broadcast_to(pgc, att.shape), pgg)

    def aggregate_psi(self, spec: AggSpec, att: np.ndarray, inf: np.ndarray) -> np.ndarray:
        """Cluster sums ``(R, C, nkeys + 1)`` of the aggregates' influence functions (overall
        last) for a batch of ATT(g,t) ``(R, K)`` and influence functions ``(R, n, K)``."""
        pgg = None
        if spec.overall == "pgg":
            pgg = group_shares(self.panel.G, self.panel.w, np.asarray(spec.key_groups, float))
        kif, oif = aggregate_influence(spec, att, inf, self.panel.G, self.panel.w, self.cells,
                                       self.cohort_shares(), pgg)
        allif = np.concatenate([kif, oif[:, :, None]], axis=2)
        return self.psi(allif)

    def estimates(self, spec: AggSpec) -> tuple[np.ndarray, np.ndarray]:
        """Point estimates and analytic standard errors of every key and the overall (last)."""
        keys, overall = self.point(spec, self.att[None])
        est = np.concatenate([keys[0], overall])
        psi = self.aggregate_psi(spec, self.att[None], self.inf[None])[0]
        return est, se_from_psi(psi, self.panel.n, self.panel.clustered)

    def analytic_rows(self, spec: AggSpec) -> pd.DataFrame:
        """The ``analytic`` rows of an aggregation: influence-function standard errors, normal
        intervals and p-values."""
        est, se = self.estimates(spec)
        z = stats.norm.ppf(1 - self.alpha / 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = 2 * stats.norm.sf(np.abs(est / se))
        return aggregate_table(spec, est, se, est - z * se, est + z * se, p, "analytic")
