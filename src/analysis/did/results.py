"""Result objects of the Callaway–Sant'Anna estimator: ATT(g,t) and its aggregations.

:class:`ATTgtResult` holds every ATT(g,t) with its influence function and answers the questions
the resampling methods of :mod:`analysis.inference` ask of it (aggregate point estimates for a
batch of outcome arrays, cluster sums of the aggregates' influence functions, the analytic rows).
:meth:`ATTgtResult.aggregate` gives the analytic aggregation; wild-bootstrap and randomisation
rows come from :func:`analysis.inference.aggregate`, which hands them to
:meth:`ATTgtResult.aggregate_result`. Both return an :class:`AggregateResult` whose table has one
row per key (and an overall row) per inference method.

Analytic inference: influence-function standard errors (:mod:`analysis.did.influence`) with
critical values and p-values from Student's t with ``G − 1`` degrees of freedom (``G`` clusters;
``critical="t"``, the default) or from the normal distribution (``critical="normal"``, R
``did``'s own intervals). Every table says which (columns ``critical`` and ``df``).

**What each number rests on.** Every ATT(g,t) row and every aggregate row carries the number of
clusters (counties) with treated units and with comparison units behind it
(``n_treated_clusters``, ``n_comparison_clusters``: the union over the cells an aggregate uses),
the fewest comparison clusters of any cell it uses with positive weight
(``min_comparison_clusters``), the share of its weight in cells with fewer than
:data:`MIN_COMPARISON_CLUSTERS` comparison clusters (``few_comparison_weight``) and a
``comparison_warning`` text when that share is not zero. With two never-treated counties as the
only comparison of late cells, an estimate can rest on two counties whatever the total number of
clusters is; :meth:`ATTgtResult.headline_window` chooses the balanced event window
(``balance_e = max_e``) in which every event time has at least three comparison clusters.

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

from ..errors import SpecificationError, check_option
from ..plots import new_axes, safe_labels
from ..results import ResultMixin
from .aggregation import (
    AggKind,
    AggSpec,
    aggregate_point,
    aggregate_psi,
    aggregation_spec,
    cell_weights,
)
from .cells import BasePeriod, Cells, ControlGroup, control_mask, group_shares
from .influence import (
    Critical,
    analytic_pvalue,
    cluster_sums,
    critical_df,
    critical_value,
    se_from_psi,
)
from .panel import PanelArrays

__all__ = ["AggregateResult", "ATTgtResult", "MIN_COMPARISON_CLUSTERS", "aggregate_table",
           "comparison_warning"]

#: an estimate resting on cells with fewer comparison clusters than this carries a warning
MIN_COMPARISON_CLUSTERS = 3


def comparison_warning(share: float, fewest: float) -> str:
    """The warning of an estimate with ``share`` of its weight in cells with fewer than
    :data:`MIN_COMPARISON_CLUSTERS` comparison clusters (``fewest``: the fewest of any cell);
    ``""`` when the share is zero."""
    if not share > 0:
        return ""
    return (f"{share:.0%} of this estimate's weight rests on cells with fewer than "
            f"{MIN_COMPARISON_CLUSTERS} comparison counties (clusters), down to {int(fewest)}: "
            "it compares with those few counties only.")


def aggregate_table(spec: AggSpec, est: np.ndarray, se: np.ndarray, lo: np.ndarray,
                    hi: np.ndarray, p: np.ndarray, inference: str) -> pd.DataFrame:
    """The rows of one inference method for an aggregation: one per key and the overall.

    ``est``, ``se``, ``lo``, ``hi``, ``p`` have one value per key and the overall (last); for the
    simple kind the single key *is* the overall row. Columns: ``key``, ``att``, ``std_error``,
    ``ci_low``, ``ci_high``, ``p_value``, ``inference``, ``is_overall`` (the overall row's key is
    ``spec.overall_name``, ``"overall"`` unless the spec is a contrast).
    """
    keys = list(spec.keys)
    n_over = 0 if spec.overall == "same" else 1
    if spec.overall == "same":
        key_col: list[Any] = keys
        overall_flag = [True]
        est, se, lo, hi, p = (np.asarray(v)[:1] for v in (est, se, lo, hi, p))
    else:
        key_col = [*keys, spec.overall_name]
        overall_flag = [False] * len(keys) + [True] * n_over
    return pd.DataFrame({
        "key": pd.Series(key_col, dtype=object), "att": est, "std_error": se, "ci_low": lo,
        "ci_high": hi, "p_value": p, "inference": inference, "is_overall": overall_flag,
    })


#: the columns of an aggregate row that say how many counties it rests on
REST_COLUMNS = ("n_treated_clusters", "n_comparison_clusters", "min_comparison_clusters",
                "few_comparison_weight", "comparison_warning")


def counties_behind(**aggregates: AggregateResult | None) -> pd.DataFrame:
    """One row per named aggregate: how many treated and comparison counties its overall estimate
    rests on (:meth:`AggregateResult.rests_on`), e.g.
    ``counties_behind(simple=simple, headline=headline)``; an aggregate given as ``None`` (a
    headline no event window supports: :func:`analysis.inference.headline_aggregate`) has no row."""
    return pd.DataFrame({name: a.rests_on() for name, a in aggregates.items()
                         if a is not None}).T


@dataclass(frozen=True)
class AggregateResult(ResultMixin):
    """An aggregation of ATT(g,t): one row per key (and an overall row) per inference method.

    ``table`` columns: ``key``, ``att``, ``std_error``, ``ci_low``, ``ci_high``, ``p_value``,
    ``inference``, ``is_overall``, ``n_clusters``, ``critical`` and ``df`` (the analytic rows'
    reference distribution), ``detail`` (the resampling rows' statistic and model), and what the
    row rests on: ``n_treated_clusters``, ``n_comparison_clusters``, ``min_comparison_clusters``,
    ``few_comparison_weight``, ``comparison_warning`` (see the module docstring). ``balance``: the
    pre-period balance of the permuted assignments of randomisation inference, when it ran.
    """

    kind: AggKind
    table: pd.DataFrame = field(repr=False)
    outcome: str = ""
    balance: pd.DataFrame | None = field(default=None, repr=False)
    _notes: tuple[str, ...] = ()

    display_columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "aggregate": ("key", "inference", "att", "std_error", "ci_low", "ci_high", "p_value",
                      "critical", "n_treated_clusters", "n_comparison_clusters",
                      "min_comparison_clusters")}

    @property
    def title(self) -> str:
        return f"Callaway–Sant'Anna {self.kind} aggregation" + (
            f" — {self.outcome}" if self.outcome else "")

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"aggregate": self.table}
        if self.balance is not None:
            out["randomization_balance"] = self.balance
        return out

    def overall(self, inference: str = "analytic") -> pd.Series:
        """The overall row of one inference method."""
        t = self.table
        return t[(t["is_overall"]) & (t["inference"] == inference)].iloc[0]

    def rests_on(self) -> pd.Series:
        """What the overall estimate rests on: the number of treated counties, of comparison
        counties (all, and the fewest any of its cells uses), the weight on cells with fewer than
        :data:`MIN_COMPARISON_CLUSTERS` comparison counties, and the warning flag. The same for
        every inference method, so read off the first overall row."""
        row = self.table[self.table["is_overall"]].iloc[0]
        return row[list(REST_COLUMNS)]

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
    critical: Critical = "t"
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"Callaway–Sant'Anna ATT(g,t) — {self.outcome}"

    @property
    def notes(self) -> tuple[str, ...]:
        """The fit's notes and the analytic rows' critical values."""
        return (*self._notes, self.critical_note())

    def critical_note(self) -> str:
        """Which critical values the analytic rows use, in words."""
        if self.critical == "normal":
            return ("Analytic intervals and p-values use normal critical values (as R did); with "
                    f"{self.n_clusters} clusters t({self.n_clusters - 1}) would be wider.")
        what = "clusters" if self.panel.clustered else "units, each its own cluster"
        return (f"Analytic intervals and p-values use t({self.df:g}) critical values "
                f"({self.critical_value():.3f} at the {1 - self.alpha:.0%} level: G − 1 degrees "
                f"of freedom, G = {self.n_clusters} {what}).")

    @property
    def df(self) -> float:
        """Degrees of freedom of the analytic rows (``inf`` for normal critical values)."""
        return critical_df(self.critical, self.n_clusters)

    def critical_value(self) -> float:
        """The analytic rows' two-sided critical value at level ``alpha``."""
        return critical_value(self.critical, self.alpha, self.n_clusters)

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

    def cluster_sizes(self) -> np.ndarray:
        """``(C,)``: units per cluster (one each when the fit is not clustered)."""
        p = self.panel
        if p.clustered:
            return np.bincount(p.cl, minlength=p.n_clusters).astype(float)
        return np.ones(p.n)

    def share_influence(self, groups: np.ndarray) -> np.ndarray:
        """``(C, len(groups))``: cluster sums of ``w_i 1{G_i = g} − P(G = g)``, the influence of
        estimating the cohort shares of the cohorts ``groups`` (R ``did``'s ``wif``)."""
        p = self.panel
        groups = np.asarray(groups, float)
        ind = p.w[:, None] * (p.G[:, None] == groups[None, :]) - group_shares(p.G, p.w, groups)
        return self.psi(ind[None])[0]

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
        """``attgt``: one row per cell — ATT, analytic standard error, interval and p-value
        (``critical``/``df``), treated and comparison units and clusters, and a
        ``comparison_warning`` when fewer than :data:`MIN_COMPARISON_CLUSTERS` comparison
        clusters are behind the cell."""
        z = self.critical_value()
        se = self.std_error
        c = self.cells
        with np.errstate(invalid="ignore", divide="ignore"):
            p = analytic_pvalue(self.att / se, self.critical, self.n_clusters)
        treated, comparison = self.cell_clusters()
        n0 = comparison.sum(1)
        few = (n0 < MIN_COMPARISON_CLUSTERS) & ~c.reference
        return {"attgt": pd.DataFrame({
            "group": c.g, "period": c.t, "base_period": c.base, "event_time": c.t - c.g,
            "post": c.t >= c.g, "att": self.att, "std_error": se,
            "ci_low": self.att - z * se, "ci_high": self.att + z * se, "p_value": p,
            "n_treated": self.n_treated, "n_control": self.n_control,
            "n_clusters": self.n_clusters, "critical": self.critical, "df": self.df,
            "n_treated_clusters": treated.sum(1), "n_comparison_clusters": n0,
            "comparison_warning": [comparison_warning(1.0, k) if f else ""
                                   for k, f in zip(n0, few, strict=True)],
        })}

    def cell_clusters(self) -> tuple[np.ndarray, np.ndarray]:
        """``(K, C)`` booleans: the clusters with treated units, and with comparison units,
        observed in both periods of each cell (each unit its own cluster when not clustered)."""
        p = self.panel
        c = self.cells
        obs = p.obs
        K = len(c)
        C = p.n_clusters if p.clustered else p.n
        codes = p.cl if p.clustered else np.arange(p.n)
        treated = np.zeros((K, C), bool)
        comparison = np.zeros((K, C), bool)
        for k in range(K):
            both = obs[:, c.tpos[k]] & obs[:, c.bpos[k]]
            tr = both & (p.G == c.g[k])
            ct = both & control_mask(p.G, c.g[k], c.t[k], c.base[k], self.control_group,
                                     self.anticipation)
            treated[k, np.unique(codes[tr])] = True
            comparison[k, np.unique(codes[ct])] = True
        return treated, comparison

    def support(self, spec: AggSpec) -> pd.DataFrame:
        """What each key and the overall (last) of ``spec`` rest on: ``n_treated_clusters``,
        ``n_comparison_clusters`` (unions over the cells with positive weight),
        ``min_comparison_clusters``, ``few_comparison_weight`` (share of the absolute weight in
        cells with fewer than :data:`MIN_COMPARISON_CLUSTERS` comparison clusters) and
        ``comparison_warning``."""
        omega = np.abs(self.weights(spec))
        treated, comparison = self.cell_clusters()
        n0 = comparison.sum(1)
        rows = []
        for wj in omega:
            use = wj > 0
            if not use.any():
                rows.append({"n_treated_clusters": 0, "n_comparison_clusters": 0,
                             "min_comparison_clusters": np.nan, "few_comparison_weight": np.nan,
                             "comparison_warning": ""})
                continue
            few = float(wj[use & (n0 < MIN_COMPARISON_CLUSTERS)].sum() / wj.sum())
            fewest = float(n0[use].min())
            rows.append({"n_treated_clusters": int(treated[use].any(0).sum()),
                         "n_comparison_clusters": int(comparison[use].any(0).sum()),
                         "min_comparison_clusters": fewest, "few_comparison_weight": few,
                         "comparison_warning": comparison_warning(few, fewest)})
        return pd.DataFrame(rows)

    def weights(self, spec: AggSpec) -> np.ndarray:
        """``(nkeys + 1, K)``: each key's and the overall's (last) weight on each ATT(g,t)."""
        pgg = None
        if spec.overall == "pgg":
            pgg = group_shares(self.panel.G, self.panel.w, np.asarray(spec.key_groups, float))
        return cell_weights(spec, self.cohort_shares(), pgg)

    def headline_window(self, *, min_comparison: int = MIN_COMPARISON_CLUSTERS) -> int | None:
        """The longest balanced event window for a headline dynamic summary: the largest ``E``
        such that in ``spec("dynamic", balance_e=E, min_e=0, max_e=E)`` (cohorts observed for at
        least ``E`` periods after adoption, event times ``0..E``) every event time ``0..E``
        exists and rests on at least ``min_comparison`` comparison clusters (the union over its
        cells, column ``n_comparison_clusters``); ``None`` when even ``E = 0`` fails. Single cells
        may still rest on fewer (``min_comparison_clusters``, ``comparison_warning``)."""
        post = self.cells.t - self.cells.g
        if not len(post) or post.max() < 0:
            return None
        _, comparison = self.cell_clusters()
        best = None
        for E in range(int(post.max()) + 1):
            spec = self.spec("dynamic", balance_e=E, min_e=0, max_e=E)
            if [float(k) for k in spec.keys] != [float(e) for e in range(E + 1)]:
                continue
            w = np.abs(self.weights(spec))[:-1]  # the keys, not the overall
            n0 = np.array([comparison[wj > 0].any(0).sum() for wj in w])
            if (n0 >= min_comparison).all():
                best = E
        return best

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
                         notes: Sequence[str] = (), analytic: bool = True,
                         balance: pd.DataFrame | None = None) -> AggregateResult:
        """The :class:`AggregateResult` of ``spec``: the analytic rows (unless ``analytic`` is
        false), then the rows of each resampling method in ``resampled`` (tables as
        :func:`aggregate_table` makes them, from :mod:`analysis.inference`), with ``notes``
        added to the fit's own, the columns saying what each row rests on, and ``balance`` (the
        randomisation's pre-period balance table) when given."""
        table = pd.concat([self.analytic_rows(spec), *resampled], ignore_index=True)
        table["n_clusters"] = self.n_clusters
        is_an = table["inference"] == "analytic"
        table["critical"] = pd.Series(np.where(is_an, self.critical, None), dtype=object)
        table["df"] = np.where(is_an, self.df, np.nan)
        detail = table["detail"] if "detail" in table.columns else pd.Series(None, index=table.index)
        table = table.drop(columns="detail", errors="ignore")
        table["detail"] = detail.astype(object).where(detail.notna(), None)
        sup = self.support(spec)
        if spec.overall == "same":
            sup = sup.iloc[:1]
        nrows = len(sup)
        reps = len(table) // nrows
        sup = pd.concat([sup] * reps, ignore_index=True)
        for col in sup.columns:
            table[col] = sup[col].to_numpy()
        if not analytic:
            table = table[~is_an].reset_index(drop=True)
        return AggregateResult(kind=spec.kind, table=table, outcome=self.outcome,
                               balance=balance,
                               _notes=(*self.notes, *notes, *self.support_notes(sup)))

    def support_notes(self, sup: pd.DataFrame) -> tuple[str, ...]:
        """A note when some row rests on cells with few comparison clusters."""
        few = sup["few_comparison_weight"].fillna(0)
        if not (few > 0).any():
            return ()
        return (f"Some estimates rest partly on cells with fewer than {MIN_COMPARISON_CLUSTERS} "
                f"comparison counties (up to {few.max():.0%} of an estimate's weight; column "
                "comparison_warning): they compare with those few counties only.",)

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
        last) for a batch of ATT(g,t) ``(R, K)`` and influence functions ``(R, n, K)``, at the
        observed cohort shares."""
        R, K = att.shape
        att = np.where(np.isnan(att).any(0, keepdims=True), np.nan, att)
        pgc = np.broadcast_to(self.cohort_shares(), (R, K))
        ind = self.share_influence(self.cells.g)[None]
        pgg = indg = None
        if spec.overall == "pgg":
            groups = np.asarray(spec.key_groups, float)
            pgg = np.broadcast_to(group_shares(self.panel.G, self.panel.w, groups),
                                  (R, len(groups)))
            indg = self.share_influence(groups)[None]
        return aggregate_psi(spec, att, self.psi(inf), pgc, ind, pgg, indg)

    def estimates(self, spec: AggSpec) -> tuple[np.ndarray, np.ndarray]:
        """Point estimates and analytic standard errors of every key and the overall (last)."""
        keys, overall = self.point(spec, self.att[None])
        est = np.concatenate([keys[0], overall])
        psi = self.aggregate_psi(spec, self.att[None], self.inf[None])[0]
        return est, se_from_psi(psi, self.panel.n, self.panel.clustered)

    def analytic_rows(self, spec: AggSpec) -> pd.DataFrame:
        """The ``analytic`` rows of an aggregation: influence-function standard errors,
        intervals and p-values from ``t(G − 1)`` (or normal with ``critical="normal"``)."""
        est, se = self.estimates(spec)
        z = self.critical_value()
        with np.errstate(invalid="ignore", divide="ignore"):
            p = analytic_pvalue(est / se, self.critical, self.n_clusters)
        return aggregate_table(spec, est, se, est - z * se, est + z * se, p, "analytic")
