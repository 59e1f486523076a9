"""Callaway–Sant'Anna group-time average treatment effects for staggered adoption.

The one staggered difference-in-differences implementation of pairing-eval: the county-management
reform and the re-pairing event study both use it.

``att_gt`` estimates ATT(g, t) for every adoption cohort ``g`` and period ``t`` by the
difference of mean outcome changes between cohort ``g`` and a comparison group (never-treated, or
not-yet-treated by ``max(t, base) + anticipation``), with the base period ``g - 1 - anticipation``
for post-treatment cells and either the previous period ("varying") or the same base
("universal") for pre-treatment cells. Without covariates this is exactly the doubly robust,
outcome-regression and IPW estimator of Callaway & Sant'Anna (2021) and R ``did``.
``ATTgtResult.aggregate`` gives the simple, dynamic (event-time), group and calendar
aggregations, with the influence-function correction for estimated weights exactly as R ``did``'s
``aggte``.

Inference, next to every aggregate:

* ``analytic`` — influence-function standard errors; clustered by ``cluster`` when given (cluster
  sums of the influence function with the ``G/(G-1)`` correction), else by unit (R ``did``'s
  default, no correction, so that R's numbers are reproduced to machine precision);
* ``wild_bootstrap`` — restricted wild cluster bootstrap-t with Webb weights
  (:mod:`analysis.inference.multiplier`);
* ``randomization`` — randomisation inference permuting adoption dates across clusters
  (:mod:`analysis.inference.randomization`), vectorised over permutations from cluster-level sums.

Unbalanced panels: each ATT(g, t) uses the units observed in both ``t`` and its base period (a
pairwise-balanced 2×2), and the influence function is rescaled by ``n / n_cell`` as in R ``did``.

Why hand-written: R ``did`` is the reference but is R; the Python ports (``csdid``,
``differences``) re-fit the whole estimator per permutation or bootstrap draw (about 80 ms each on
the demo panel), expose no cluster-level linear maps and no randomisation inference, and balance
unbalanced panels by dropping units. Everything below is linear in the outcome for a fixed
assignment, which is what makes exact few-cluster inference cheap.

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230.
Sant'Anna, P. H. C., & Zhao, J. (2020). Doubly robust difference-in-differences estimators.
    *Journal of Econometrics* 219(1), 101–122.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from .errors import SpecificationError, check_choice
from .results import FEW_CLUSTERS, ResultMixin

__all__ = ["att_gt", "ATTgtResult", "AggregateResult", "pretrend_test", "PretrendResult", "Cells",
           "PanelArrays"]

ControlGroup = Literal["notyettreated", "nevertreated"]
BasePeriod = Literal["varying", "universal"]
AggKind = Literal["simple", "dynamic", "group", "calendar"]
Inference = Literal["analytic", "wild_bootstrap", "randomization"]



# --------------------------------------------------------------------------------------------
# data in array form
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PanelArrays:
    """The panel as arrays: ``Y`` (n units × T periods, NaN where unobserved) and unit attributes."""

    Y: np.ndarray
    times: np.ndarray
    G: np.ndarray  # first-treatment time value, +inf = never treated in the window
    w: np.ndarray  # unit weights, mean 1
    cl: np.ndarray  # cluster codes 0..C-1
    n_clusters: int
    clustered: bool
    units: np.ndarray
    cluster_labels: np.ndarray
    X: np.ndarray | None = None  # covariates (n, T, p) or None

    @property
    def obs(self) -> np.ndarray:
        ok = ~np.isnan(self.Y)
        if self.X is not None:
            ok &= ~np.isnan(self.X).any(2)
        return ok

    @property
    def n(self) -> int:
        return self.Y.shape[0]


@dataclass(frozen=True)
class Cells:
    """The group-time cells: cohort ``g``, period ``t`` and base period (time values and positions)."""

    g: np.ndarray
    t: np.ndarray
    base: np.ndarray
    tpos: np.ndarray
    bpos: np.ndarray
    reference: np.ndarray  # universal base: the cell t == base (ATT 0 by construction)

    def __len__(self) -> int:
        return len(self.g)


def _cells(times: np.ndarray, glist: np.ndarray, anticipation: int, base_period: str) -> Cells:
    g_, t_, b_, tp_, bp_, ref_ = [], [], [], [], [], []
    for g in glist:
        long_base = np.flatnonzero(times + anticipation < g)
        if len(long_base) == 0:
            continue
        lb = int(long_base[-1])
        start = 1 if base_period == "varying" else 0
        for tp in range(start, len(times)):
            if base_period == "varying":
                bp = tp - 1 if times[tp] < g - anticipation else lb
            else:
                bp = lb
            g_.append(g)
            t_.append(times[tp])
            b_.append(times[bp])
            tp_.append(tp)
            bp_.append(bp)
            ref_.append(tp == bp)
    return Cells(
        g=np.array(g_, float), t=np.array(t_, float), base=np.array(b_, float),
        tpos=np.array(tp_, int), bpos=np.array(bp_, int), reference=np.array(ref_, bool),
    )


def _control_mask(G: np.ndarray, g: float, t: float, b: float, control_group: str,
                  anticipation: int) -> np.ndarray:
    if control_group == "nevertreated":
        return np.isinf(G)
    return np.isinf(G) | ((G > max(t, b) + anticipation) & (G != g))


# --------------------------------------------------------------------------------------------
# the estimator (batched over outcome replicates: Y of shape (R, n, T))
# --------------------------------------------------------------------------------------------
def _attgt_core(
    Yb: np.ndarray, obs: np.ndarray, G: np.ndarray, w: np.ndarray, cells: Cells,
    control_group: str, anticipation: int, *, want_if: bool = True,
    X: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """ATT(g,t) and influence functions for a batch of outcome arrays.

    ``Yb`` has shape ``(R, n, T)``; ``obs`` ``(n, T)`` says where the outcome is observed (the same
    for the whole batch). Returns ``att`` ``(R, K)``, ``inf`` ``(R, n, K)`` (scaled as R ``did``:
    ``se = sqrt(sum(inf**2)) / n``), and the treated and control unit counts ``(K,)``.
    With covariates ``X`` ``(n, T, p)`` the cell estimator is the outcome-regression DiD of
    Sant'Anna & Zhao (2020, ``reg_did_panel``) with base-period covariates.
    """
    R, n, _ = Yb.shape
    K = len(cells)
    att = np.full((R, K), np.nan)
    inf = np.zeros((R, n, K)) if want_if else None
    n1 = np.zeros(K, int)
    n0 = np.zeros(K, int)
    for k in range(K):
        if cells.reference[k]:
            att[:, k] = 0.0
            continue
        tp, bp, g = cells.tpos[k], cells.bpos[k], cells.g[k]
        both = obs[:, tp] & obs[:, bp]
        treat = both & (G == g)
        ctrl = both & _control_mask(G, g, cells.t[k], cells.base[k], control_group, anticipation)
        n1[k], n0[k] = treat.sum(), ctrl.sum()
        if n1[k] == 0 or n0[k] == 0:
            continue
        sub = treat | ctrl
        idx = np.flatnonzero(sub)
        m = len(idx)
        d = treat[idx]
        ws = w[idx]
        dy = Yb[:, idx, tp] - Yb[:, idx, bp]  # (R, m)
        if X is not None:
            att[:, k], psi = _reg_cell(dy, d, ws, X[idx, bp, :], want_if)
            if want_if:
                inf[:, idx, k] = psi * (n / m)
            continue
        w1 = ws * d
        w0 = ws * ~d
        mu1 = (dy * w1).sum(1) / w1.sum()
        mu0 = (dy * w0).sum(1) / w0.sum()
        att[:, k] = mu1 - mu0
        if want_if:
            # normalised weights within the cell (mean 1), as DRDID
            wn = ws / ws.mean()
            p1 = (wn * d).mean()
            p0 = (wn * ~d).mean()
            psi = (wn * d / p1)[None, :] * (dy - mu1[:, None]) - (wn * ~d / p0)[None, :] * (
                dy - mu0[:, None]
            )
            inf[:, idx, k] = psi * (n / m)
    return att, inf, n1, n0


def _reg_cell(dy: np.ndarray, d: np.ndarray, ws: np.ndarray, Xc: np.ndarray, want_if: bool
              ) -> tuple[np.ndarray, np.ndarray | None]:
    """Outcome-regression DiD for one cell (Sant'Anna & Zhao 2020, DRDID ``reg_did_panel``):
    regress the change on an intercept and ``Xc`` among comparison units, impute the treated
    units' counterfactual change. Returns the ATT ``(R,)`` and its influence function ``(R, m)``
    (unscaled, as DRDID)."""
    m = len(d)
    Z = np.column_stack([np.ones(m), Xc])
    wn = ws / ws.mean()
    w0 = wn * ~d
    wt = wn * d
    A = (Z * w0[:, None]).T @ Z
    try:
        beta = np.linalg.solve(A, (Z * w0[:, None]).T @ dy.T)  # (p+1, R)
    except np.linalg.LinAlgError as exc:
        raise SpecificationError("The covariates are collinear among the comparison units of a "
                                 "group-time cell; drop a covariate.") from exc
    od = (Z @ beta).T  # (R, m) predicted change
    eta_t = (wt * dy).sum(1) / wt.sum()
    eta_c = (wt * od).sum(1) / wt.sum()
    att = eta_t - eta_c
    if not want_if:
        return att, None
    mt = wt.mean()
    inf_treat = wt * (dy - eta_t[:, None]) / mt
    inf_c1 = wt * (od - eta_c[:, None])
    xpx_inv = np.linalg.inv(A / m)
    M1 = (wt[:, None] * Z).mean(0)
    lin = (w0 * (dy - od))  # (R, m)
    inf_c2 = lin * (Z @ (xpx_inv @ M1))[None, :]
    return att, inf_treat - (inf_c1 + inf_c2) / mt


def _group_shares(G: np.ndarray, w: np.ndarray, glist: np.ndarray) -> np.ndarray:
    """P(G = g) for each cohort in ``glist`` (weights with mean 1)."""
    return np.array([np.mean(w * (G == g)) for g in glist])


# --------------------------------------------------------------------------------------------
# aggregation (R did's aggte), vectorised over replicates with replicate-specific cohort shares
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AggSpec:
    """Which cells enter which key of an aggregation.

    ``members[j]`` is the boolean mask over cells of key ``j``; ``equal[j]`` says the cells are
    averaged with equal weights (group aggregation) instead of cohort shares. ``overall`` is
    ``"same"`` (simple), ``"mean"`` (dynamic over e >= 0; calendar) or ``"pgg"`` (group).
    """

    kind: str
    keys: tuple[Any, ...]
    members: np.ndarray  # (nkeys, K) bool
    equal: bool
    overall: str
    overall_keys: np.ndarray  # (nkeys,) bool: keys averaged in the overall
    key_groups: np.ndarray  # group value per key (group kind only)


def _agg_spec(kind: str, cells: Cells, times: np.ndarray, *, balance_e: int | None,
              min_e: float, max_e: float) -> AggSpec:
    g, t = cells.g, cells.t
    valid = np.ones(len(cells), bool)
    if kind == "simple":
        keep = (g <= t) & (t <= g + max_e)
        return AggSpec(kind, ("",), keep[None, :], False, "same", np.array([True]), np.array([]))
    if kind == "group":
        glist = np.unique(g)
        mem = np.array([(g == gg) & (gg <= t) & (t <= g + max_e) for gg in glist])
        has = mem.any(1)
        return AggSpec(kind, tuple(glist[has].tolist()), mem[has], True, "pgg",
                       np.ones(int(has.sum()), bool), glist[has])
    if kind == "dynamic":
        e = t - g
        inc = valid.copy()
        tmax, tmin = float(times.max()), float(times.min())
        if balance_e is not None:
            inc = (tmax - g) >= balance_e
        eseq = np.unique(e[inc])
        if balance_e is not None:
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - tmax + tmin)]
        eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
        mem = np.array([(e == ee) & inc for ee in eseq]).reshape(len(eseq), len(cells))
        return AggSpec(kind, tuple(int(x) if float(x).is_integer() else x for x in eseq), mem,
                       False, "mean", eseq >= 0, np.array([]))
    if kind == "calendar":
        tl = times[times >= g.min()] if len(g) else times[:0]
        mem = np.array([(t == tt) & (g <= t) for tt in tl]).reshape(len(tl), len(cells))
        has = mem.any(1)
        return AggSpec(kind, tuple(tl[has].tolist()), mem[has], False, "mean",
                       np.ones(int(has.sum()), bool), np.array([]))
    raise SpecificationError(f"kind={kind!r}")  # pragma: no cover - checked at entry


def _agg_point(spec: AggSpec, att: np.ndarray, pg_cells: np.ndarray,
               pg_groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate point estimates for each replicate.

    ``att`` ``(R, K)``; ``pg_cells`` ``(R, K)`` cohort share of each cell's cohort; ``pg_groups``
    ``(R, nkeys)`` cohort shares of the group keys (group kind). Returns ``(R, nkeys)``, ``(R,)``.
    """
    a = np.nan_to_num(att)
    ok = ~np.isnan(att)
    out = []
    for mem in spec.members:
        m = mem[None, :] & ok
        if spec.equal:
            wgt = m.astype(float)
        else:
            wgt = pg_cells * m
        s = wgt.sum(1)
        out.append(np.where(s > 0, (wgt * a).sum(1) / np.where(s > 0, s, 1), np.nan))
    keys = np.column_stack(out) if out else np.zeros((att.shape[0], 0))
    if spec.overall == "same":
        overall = keys[:, 0]
    elif spec.overall == "mean":
        overall = keys[:, spec.overall_keys].mean(1) if spec.overall_keys.any() else np.full(
            att.shape[0], np.nan)
    else:
        pgg = pg_groups
        overall = (keys * pgg).sum(1) / pgg.sum(1)
    return keys, overall


def _wif(members: np.ndarray, G: np.ndarray, w: np.ndarray, gcell: np.ndarray,
         pg: np.ndarray) -> np.ndarray:
    """R did's ``wif``: influence of estimating the cohort-share weights, ``(n, K)`` (zero off
    ``members``)."""
    n = len(G)
    K = len(gcell)
    out = np.zeros((n, K))
    kidx = np.flatnonzero(members)
    if len(kidx) == 0:
        return out
    S = pg[kidx].sum()
    ind = w[:, None] * (G[:, None] == gcell[None, kidx]) - pg[None, kidx]  # (n, k)
    if1 = ind / S
    if2 = ind.sum(1)[:, None] * (pg[kidx] / S**2)[None, :]
    out[:, kidx] = if1 - if2
    return out


def _agg_if(spec: AggSpec, att: np.ndarray, inf: np.ndarray, G: np.ndarray, w: np.ndarray,
            cells: Cells, pg_cells: np.ndarray, pg_groups: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Influence functions of the aggregates: ``(R, n, nkeys)`` and the overall ``(R, n)``.

    ``att`` ``(R, K)``, ``inf`` ``(R, n, K)``; cohort shares are those of the observed assignment
    (``pg_cells`` ``(K,)``).
    """
    a = np.nan_to_num(att)
    ok = ~np.isnan(att).any(0)
    R, n, _ = inf.shape
    key_if = []
    for mem in spec.members:
        m = mem & ok
        if spec.equal:
            wv = m / max(m.sum(), 1)
            key_if.append(inf @ wv)
        else:
            wv = pg_cells * m
            wv = wv / wv.sum() if wv.sum() > 0 else wv
            wif = _wif(m, G, w, cells.g, pg_cells)
            key_if.append(inf @ wv + a @ wif.T)
    kif = np.stack(key_if, axis=2) if key_if else np.zeros((R, n, 0))
    if spec.overall == "same":
        oif = kif[:, :, 0]
    elif spec.overall == "mean":
        oif = (kif[:, :, spec.overall_keys].mean(2) if spec.overall_keys.any()
               else np.zeros((R, n)))
    else:
        pgg = pg_groups
        keys_att, _ = _agg_point(spec, att, np.broadcast_to(pg_cells, att.shape),
                                 np.broadcast_to(pgg, (R, len(pgg))))
        oif = kif @ (pgg / pgg.sum())
        wif = _wif(np.ones(len(pgg), bool), G, w, np.asarray(spec.key_groups, float), pgg)
        oif = oif + np.nan_to_num(keys_att) @ wif.T
    return kif, oif


def _cluster_sums(inf: np.ndarray, cl: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sum an ``(R, n, m)`` influence array within clusters: ``(R, C, m)``."""
    R, n, m = inf.shape
    onehot = np.zeros((n_clusters, n))
    onehot[cl, np.arange(n)] = 1.0
    return np.einsum("cn,rnm->rcm", onehot, inf)


def _se_from_psi(psi: np.ndarray, n: int, clustered: bool) -> np.ndarray:
    """Standard error from cluster sums ``psi`` (..., C, m) of an influence function."""
    C = psi.shape[-2]
    factor = C / (C - 1) if (clustered and C > 1) else 1.0
    return np.sqrt(factor * (psi**2).sum(-2)) / n


# --------------------------------------------------------------------------------------------
# result objects
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AggregateResult(ResultMixin):
    """An aggregation of ATT(g,t): one row per key (and an overall row) per inference method.

    ``table`` columns: ``key``, ``att``, ``std_error``, ``ci_low``, ``ci_high``, ``p_value``,
    ``inference``, ``is_overall``, ``n_clusters``.
    """

    kind: str
    table: pd.DataFrame = field(repr=False)
    outcome: str = ""
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Callaway–Sant'Anna {self.kind} aggregation" + (
            f" — {self.outcome}" if self.outcome else "")

    def tidy(self) -> pd.DataFrame:
        return self.table.copy()

    def _display_table(self) -> pd.DataFrame:
        return self.table[["key", "inference", "att", "std_error", "ci_low", "ci_high", "p_value"]]

    def overall(self, inference: str = "analytic") -> pd.Series:
        t = self.table
        return t[(t["is_overall"]) & (t["inference"] == inference)].iloc[0]

    def plot(self, *, ax: Any = None, inference: str = "analytic", pre_shade: bool = True,
             labels: Any = None, window: tuple[float, float] | None = None) -> Any:
        """Estimates with 95% interval bars; for the dynamic kind, a band with pre-periods shaded.
        ``labels`` maps group / period keys to tick labels; ``window=(lo, hi)`` limits the event
        times shown (late event times rest on one or two counties and have very wide bands)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
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
            ax.set_xticks(x, [labels(k) if labels else str(k) for k in t["key"]], rotation=45)
            ax.set_xlabel(self.kind)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_ylabel("ATT")
        ax.set_title(self.title)
        ax.legend(loc="best", fontsize=8)
        return ax


@dataclass(frozen=True)
class ATTgtResult(ResultMixin):
    """Group-time average treatment effects ATT(g,t) with their influence functions.

    Use :meth:`tidy` for the table and :meth:`aggregate` for summaries.
    """

    outcome: str
    control_group: str
    anticipation: int
    base_period: str
    panel: PanelArrays = field(repr=False)
    cells: Cells = field(repr=False)
    att: np.ndarray = field(repr=False)
    inf: np.ndarray = field(repr=False)  # (n, K)
    n_treated: np.ndarray = field(repr=False)
    n_control: np.ndarray = field(repr=False)
    alpha: float = 0.05
    _notes: tuple[str, ...] = ()

    title = "Callaway–Sant'Anna ATT(g,t)"

    # ---- basic quantities -------------------------------------------------------------------
    @property
    def n_clusters(self) -> int:
        return self.panel.n_clusters

    @property
    def glist(self) -> np.ndarray:
        return np.unique(self.cells.g)

    def _pg_cells(self) -> np.ndarray:
        pg = _group_shares(self.panel.G, self.panel.w, self.glist)
        return pg[np.searchsorted(self.glist, self.cells.g)]

    def _psi(self, inf: np.ndarray) -> np.ndarray:
        p = self.panel
        if p.clustered:
            return _cluster_sums(inf, p.cl, p.n_clusters)
        return inf  # unit-level: each unit its own cluster

    @property
    def std_error(self) -> np.ndarray:
        se = _se_from_psi(self._psi(self.inf[None])[0], self.panel.n, self.panel.clustered)
        return np.where(self.cells.reference, np.nan, se)

    def tidy(self) -> pd.DataFrame:
        z = stats.norm.ppf(1 - self.alpha / 2)
        se = self.std_error
        c = self.cells
        with np.errstate(invalid="ignore", divide="ignore"):
            p = 2 * stats.norm.sf(np.abs(self.att / se))
        return pd.DataFrame({
            "group": c.g, "period": c.t, "base_period": c.base, "event_time": c.t - c.g,
            "post": c.t >= c.g, "att": self.att, "std_error": se,
            "ci_low": self.att - z * se, "ci_high": self.att + z * se, "p_value": p,
            "n_treated": self.n_treated, "n_control": self.n_control,
            "n_clusters": self.n_clusters,
        })

    def plot(self, *, ax: Any = None, value: str = "att", highlight_group: float | None = None,
             labels: Any = None) -> Any:
        """Group × period heatmap of ATT(g,t) (post cells outlined; ``highlight_group`` framed;
        ``labels`` maps time values to tick labels, e.g. ``analysis.reform.period_label``)."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        if ax is None:
            _, ax = plt.subplots(figsize=(9, 0.5 * len(self.glist) + 2))
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
            ax.set_xticklabels([labels(v) for v in mat.columns], rotation=90)
            ax.set_yticklabels([labels(v) for v in mat.index], rotation=0)
        ax.set_xlabel("period")
        ax.set_ylabel("adoption cohort")
        ax.set_title(f"ATT(g,t) — {self.outcome} (outlined: post-adoption)")
        return ax

    # ---- aggregation ------------------------------------------------------------------------
    def aggregate(
        self,
        kind: AggKind = "simple",
        *,
        balance_e: int | None = None,
        min_e: float = -np.inf,
        max_e: float = np.inf,
        inference: Sequence[Inference] = ("analytic",),
        n_boot: int = 999,
        n_perm: int = 999,
        seed: int = 0,
        boot_weights: Literal["webb", "rademacher"] = "webb",
    ) -> AggregateResult:
        """Aggregate ATT(g,t) as R ``did``'s ``aggte``.

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
        inference : sequence of {"analytic", "wild_bootstrap", "randomization"}
            Which inference to report; each adds rows with its name in column ``inference``.
        n_boot, n_perm, seed, boot_weights
            Bootstrap draws, permutations (exact enumeration when there are fewer distinct
            assignments), seed for ``numpy.random.default_rng``, weight distribution.

        References
        ----------
        Callaway & Sant'Anna (2021), Section 3; R ``did`` ``aggte``.
        """
        check_choice("kind", kind, ("simple", "dynamic", "group", "calendar"))
        inference = tuple(inference)
        for inf_name in inference:
            check_choice("inference", inf_name, ("analytic", "wild_bootstrap", "randomization"))
        if balance_e is not None and kind != "dynamic":
            raise SpecificationError("balance_e only applies to kind='dynamic'.")
        spec = _agg_spec(kind, self.cells, self.panel.times, balance_e=balance_e, min_e=min_e,
                         max_e=max_e)
        rows = [self._analytic_rows(spec)]
        notes = list(self._notes)
        if "wild_bootstrap" in inference:
            from .inference.multiplier import cs_wild_bootstrap

            rows.append(cs_wild_bootstrap(self, spec, B=n_boot, seed=seed, weights=boot_weights,
                                          alpha=self.alpha))
        if "randomization" in inference:
            from .inference.randomization import cs_randomization

            tab, note = cs_randomization(self, spec, n_perm=n_perm, seed=seed, alpha=self.alpha)
            rows.append(tab)
            if note:
                notes.append(note)
        table = pd.concat(rows, ignore_index=True)
        table["n_clusters"] = self.n_clusters
        if "analytic" not in inference:
            table = table[table["inference"] != "analytic"].reset_index(drop=True)
        return AggregateResult(kind=kind, table=table, outcome=self.outcome, _notes=tuple(notes))

    def _point(self, spec: AggSpec, att: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pgc = self._pg_cells()
        R = att.shape[0]
        pgg = None
        if spec.overall == "pgg":
            pgg = np.broadcast_to(_group_shares(self.panel.G, self.panel.w,
                                                np.asarray(spec.key_groups, float)),
                                  (R, len(spec.keys)))
        return _agg_point(spec, att, np.broadcast_to(pgc, att.shape), pgg)

    def _agg_psi(self, spec: AggSpec, att: np.ndarray, inf: np.ndarray) -> np.ndarray:
        """Cluster sums ``(R, C, nkeys + 1)`` of the aggregates' influence functions."""
        pgg = None
        if spec.overall == "pgg":
            pgg = _group_shares(self.panel.G, self.panel.w, np.asarray(spec.key_groups, float))
        kif, oif = _agg_if(spec, att, inf, self.panel.G, self.panel.w, self.cells,
                           self._pg_cells(), pgg)
        allif = np.concatenate([kif, oif[:, :, None]], axis=2)
        return self._psi(allif)

    def _analytic_rows(self, spec: AggSpec) -> pd.DataFrame:
        keys, overall = self._point(spec, self.att[None])
        est = np.concatenate([keys[0], overall])
        psi = self._agg_psi(spec, self.att[None], self.inf[None])[0]
        se = _se_from_psi(psi, self.panel.n, self.panel.clustered)
        z = stats.norm.ppf(1 - self.alpha / 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = 2 * stats.norm.sf(np.abs(est / se))
        return _rows(spec, est, se, est - z * se, est + z * se, p, "analytic")


def _rows(spec: AggSpec, est, se, lo, hi, p, inference: str) -> pd.DataFrame:
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


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------
def prepare_panel(
    data: pd.DataFrame, *, outcome: str, unit: str, time: str, group: str,
    cluster: str | None = None, weights: str | None = None, covariates: Sequence[str] = (),
) -> tuple[PanelArrays, list[str]]:
    """Turn long data into :class:`PanelArrays` (validating as it goes); also return notes."""
    covariates = list(covariates)
    cols = [outcome, unit, time, group] + [c for c in (cluster, weights) if c] + covariates
    missing = [c for c in dict.fromkeys(cols) if c not in data.columns]
    if missing:
        raise SpecificationError(f"Columns {missing} are not in the data; check the spelling "
                                 f"(available: {list(data.columns)[:20]}).")
    d = data.loc[:, list(dict.fromkeys(cols))]
    if d[unit].isna().any() or d[time].isna().any():
        raise SpecificationError(f"Columns {unit!r} and {time!r} must not have missing values.")
    try:
        tvals = d[time].astype(float).to_numpy()
        gvals = pd.to_numeric(d[group], errors="raise").astype(float).to_numpy()
    except (TypeError, ValueError) as exc:
        raise SpecificationError(
            f"{time!r} and {group!r} must be numeric on the same scale (e.g. the panel's integer "
            f"quarter index `t` and `adoption_t`): {exc}") from exc
    notes: list[str] = []
    if d.duplicated([unit, time]).any():
        raise SpecificationError(f"Several rows share the same ({unit}, {time}); the panel must "
                                 "have one row per unit and period.")
    ucodes, units = pd.factorize(d[unit], sort=True)
    times = np.unique(tvals)
    tpos = np.searchsorted(times, tvals)
    n, T = len(units), len(times)
    Y = np.full((n, T), np.nan)
    yv = pd.to_numeric(d[outcome], errors="coerce").to_numpy(float)
    Y[ucodes, tpos] = yv
    X = None
    if covariates:
        X = np.full((n, T, len(covariates)), np.nan)
        for j, c in enumerate(covariates):
            X[ucodes, tpos, j] = pd.to_numeric(d[c], errors="coerce").to_numpy(float)
    # unit-level attributes must be constant within unit
    g_unit = pd.Series(gvals).groupby(ucodes).agg(["min", "max", "count", "size"])
    gmin = g_unit["min"].to_numpy()
    gmax = g_unit["max"].to_numpy()
    if (np.nan_to_num(gmin, nan=-1) != np.nan_to_num(gmax, nan=-1)).any() or (
        (g_unit["count"] > 0) & (g_unit["count"] < g_unit["size"])
    ).any():
        raise SpecificationError(f"{group!r} (first treatment period) must be constant within each "
                                 f"{unit!r}.")
    G = gmin.copy()
    G[np.isnan(G) | (G == 0)] = np.inf
    late = np.isfinite(G) & (G > times.max())
    if late.any():
        notes.append(f"{int(late.sum())} unit(s) first treated after the last period are treated "
                     "as never treated in the window.")
        G[late] = np.inf
    early = np.isfinite(G) & (G <= times.min())
    if early.any():
        notes.append(f"{int(early.sum())} unit(s) already treated in the first period were dropped "
                     "(no pre-treatment observation).")
    if weights:
        wv = pd.Series(d[weights].astype(float).to_numpy()).groupby(ucodes).first().to_numpy()
        if (~np.isfinite(wv)).any() or (wv < 0).any():
            raise SpecificationError(f"weights column {weights!r} must be finite and >= 0.")
    else:
        wv = np.ones(n)
    if cluster:
        cu = pd.Series(d[cluster].astype(str).to_numpy()).groupby(ucodes).agg(["nunique", "first"])
        if (cu["nunique"] > 1).any():
            raise SpecificationError(f"Units must be nested in clusters: some {unit!r} appear in "
                                     f"several {cluster!r}.")
        clab = cu["first"].to_numpy()
    else:
        clab = np.asarray(units).astype(str)
    keep = ~early & np.isfinite(Y).any(1)
    Y, G, wv, clab, units = Y[keep], G[keep], wv[keep], clab[keep], np.asarray(units)[keep]
    if X is not None:
        X = X[keep]
    ccodes, cl_labels = pd.factorize(pd.Series(clab), sort=True)
    wv = wv / wv.mean()
    panel = PanelArrays(Y=Y, times=times, G=G, w=wv, cl=ccodes.astype(int),
                        n_clusters=len(cl_labels), clustered=cluster is not None, units=units,
                        cluster_labels=np.asarray(cl_labels), X=X)
    return panel, notes


def att_gt(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    group: str,
    cluster: str | None = None,
    control_group: ControlGroup = "notyettreated",
    anticipation: int = 0,
    base_period: BasePeriod = "varying",
    weights: str | None = None,
    covariates: Sequence[str] = (),
    alpha: float = 0.05,
) -> ATTgtResult:
    """Callaway–Sant'Anna group-time average treatment effects ATT(g, t).

    Parameters
    ----------
    data : DataFrame
        Long panel, one row per unit and period (not modified). Rows with a missing outcome are
        unobserved periods (unbalanced panels are allowed).
    outcome, unit, time : str
        Column names; ``time`` numeric (e.g. the quarter index ``t``).
    group : str
        First-treatment period on the scale of ``time``; NaN or 0 = never treated in the window.
        Must be constant within unit.
    cluster : str, optional
        Cluster variable for standard errors (e.g. ``county_code``); units must be nested in it.
        Default: clustered by unit, as R ``did``.
    control_group : {"notyettreated", "nevertreated"}
        Comparison units: not yet treated by ``max(t, base) + anticipation`` (including never
        treated), or never treated only.
    anticipation : int
        Number of periods before adoption in which units may already react.
    base_period : {"varying", "universal"}
        Pre-period cells compare ``t`` with ``t - 1`` ("varying", R's default) or all cells use
        ``g - 1 - anticipation`` ("universal").
    weights : str, optional
        Column of unit sampling weights (constant within unit).
    covariates : sequence of str
        Covariates for outcome-regression adjustment (Sant'Anna & Zhao 2020's ``reg_did_panel``,
        R ``did``'s ``est_method="reg"``), taken at each cell's base period. Empty (default): the
        difference of mean changes (= DR = REG = IPW without covariates). Randomisation
        inference is only available without covariates.
    alpha : float
        Level of the analytic pointwise intervals.

    Returns
    -------
    ATTgtResult

    References
    ----------
    Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
    periods. *Journal of Econometrics* 225(2), 200–230.
    """
    check_choice("control_group", control_group, ("notyettreated", "nevertreated"))
    check_choice("base_period", base_period, ("varying", "universal"))
    if int(anticipation) != anticipation or anticipation < 0:
        raise SpecificationError(f"anticipation={anticipation!r} must be a non-negative integer.")
    if not 0 < alpha < 1:
        raise SpecificationError(f"alpha={alpha!r} must lie strictly between 0 and 1.")
    panel, notes = prepare_panel(data, outcome=outcome, unit=unit, time=time, group=group,
                                 cluster=cluster, weights=weights, covariates=covariates)
    glist = np.unique(panel.G[np.isfinite(panel.G)])
    if len(glist) == 0:
        raise SpecificationError(f"No unit is treated within the window ({group!r} is empty, 0 or "
                                 "beyond the last period for all units).")
    if control_group == "nevertreated" and not np.isinf(panel.G).any():
        raise SpecificationError("control_group='nevertreated' needs never-treated units; none "
                                 "are in the data. Use control_group='notyettreated'.")
    cells = _cells(panel.times, glist, int(anticipation), base_period)
    if len(cells) == 0:
        raise SpecificationError("No group-time cell has a pre-treatment base period; check "
                                 "`anticipation` and the adoption dates.")
    att, inf, n1, n0 = _attgt_core(panel.Y[None], panel.obs, panel.G, panel.w, cells,
                                   control_group, int(anticipation), X=panel.X)
    empty = np.isnan(att[0])
    if empty.any():
        notes.append(f"{int(empty.sum())} ATT(g,t) cell(s) have no treated or no comparison "
                     "units observed in both periods and are left out.")
        keep = ~empty
        cells = Cells(*(getattr(cells, f)[keep] for f in
                        ("g", "t", "base", "tpos", "bpos", "reference")))
        att, inf, n1, n0 = att[:, keep], inf[:, :, keep], n1[keep], n0[keep]
    if cluster is not None and panel.n_clusters < FEW_CLUSTERS:
        notes.append(f"Only {panel.n_clusters} clusters: analytic clustered standard errors are "
                     "too small with fewer than 20 clusters; ask the aggregations for "
                     "inference=('wild_bootstrap', 'randomization') and read those rows.")
    return ATTgtResult(outcome=outcome, control_group=control_group,
                       anticipation=int(anticipation), base_period=base_period, panel=panel,
                       cells=cells, att=att[0], inf=inf[0], n_treated=n1, n_control=n0,
                       alpha=alpha, _notes=tuple(notes))


# --------------------------------------------------------------------------------------------
# joint pre-trend test that exists with few clusters
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PretrendResult(ResultMixin):
    """Joint tests of "no effect before adoption" over the pre-period event-time ATTs.

    Rows: ``wald`` (analytic clustered Wald χ², reported only when the clustered covariance of the
    pre-period ATTs is non-singular — with 11 clusters and more pre-periods than clusters it is
    not), ``sum_t2`` (sum of squared individually studentised pre-period ATTs, judged by the
    restricted wild cluster bootstrap) and ``mean_sq`` (mean squared pre-period ATT, judged by
    randomisation of adoption dates).
    """

    table: pd.DataFrame = field(repr=False)
    outcome: str = ""
    _notes: tuple[str, ...] = ()
    title = "Joint pre-trend test"

    def tidy(self) -> pd.DataFrame:
        return self.table.copy()

    def plot(self, *, ax: Any = None) -> Any:
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3))
        t = self.table.dropna(subset=["p_value"])
        ax.barh(t["statistic"] + " (" + t["inference"] + ")", t["p_value"], color="C0")
        ax.axvline(0.05, color="red", ls="--", lw=0.8)
        ax.set_xlim(0, 1)
        ax.set_xlabel("p-value")
        ax.set_title(self.title)
        return ax


PRETREND_METHODS = ("analytic", "wild_bootstrap", "randomization")


def pretrend_test(res: ATTgtResult, *, n_boot: int = 999, n_perm: int = 999, seed: int = 0,
                  min_e: float = -np.inf,
                  methods: tuple[str, ...] = PRETREND_METHODS) -> PretrendResult:
    """Joint pre-trend test on the dynamic aggregation's pre-period ATTs (event time < 0).

    Parameters
    ----------
    res : ATTgtResult (clustered, for the bootstrap and randomisation rows).
    n_boot, n_perm, seed : draws, permutations and seed.
    min_e : earliest event time used (e.g. ``-8`` to test only the last eight pre-periods).
    methods : which tests to run, any of ``"analytic"`` (Wald, when the covariance has full
        rank), ``"wild_bootstrap"`` and ``"randomization"`` (both need a clustered fit).
        Randomisation permutes adoption dates across clusters, so it needs one adoption date per
        cluster; leave it out when adoption varies within a cluster (e.g. re-pairing dates of
        institutions clustered by county).

    References
    ----------
    Callaway & Sant'Anna (2021), Section 4.2 (pre-tests); Roth, J. (2022), "Pretest with caution",
    *AER: Insights* 4(3), 305–322; MacKinnon & Webb (2020) for randomisation with few clusters.
    """
    from .inference.multiplier import pretrend_wild
    from .inference.randomization import pretrend_randomization

    methods = tuple(methods)
    for m in methods:
        check_choice("methods", m, PRETREND_METHODS)
    if not methods:
        raise SpecificationError(f"methods is empty; choose at least one of {PRETREND_METHODS}.")
    spec = _agg_spec("dynamic", res.cells, res.panel.times, balance_e=None, min_e=min_e,
                     max_e=-1)
    nk = len(spec.keys)
    notes: list[str] = []
    rows = []
    keys, _ = res._point(spec, res.att[None])
    est = keys[0]
    psi = res._agg_psi(spec, res.att[None], res.inf[None])[0][:, :nk]
    C = psi.shape[0]
    f = C / (C - 1) if res.panel.clustered else 1.0
    V = f * psi.T @ psi / res.panel.n**2
    rank = np.linalg.matrix_rank(V) if nk else 0
    if "analytic" not in methods:
        pass
    elif nk and rank == nk:
        W = float(est @ np.linalg.solve(V, est))
        rows.append({"statistic": "wald", "value": W, "df": nk, "p_value": stats.chi2.sf(W, nk),
                     "inference": "analytic"})
    else:
        rows.append({"statistic": "wald", "value": np.nan, "df": nk, "p_value": np.nan,
                     "inference": "analytic"})
        notes.append(f"The clustered covariance of the {nk} pre-period ATTs has rank {rank} with "
                     f"{C} clusters: no Wald test exists; read the scalar-statistic rows "
                     "(wild bootstrap, randomisation).")
    from .inference.multiplier import MAX_CLUSTERS

    if res.panel.clustered and nk and res.n_clusters <= MAX_CLUSTERS:
        if "wild_bootstrap" in methods:
            s, p = pretrend_wild(res, spec, B=n_boot, seed=seed)
            rows.append({"statistic": "sum_t2", "value": s, "df": nk, "p_value": p,
                         "inference": "wild_bootstrap"})
        if "randomization" in methods:
            s, p, exact = pretrend_randomization(res, spec, n_perm=n_perm, seed=seed)
            rows.append({"statistic": "mean_sq", "value": s, "df": nk, "p_value": p,
                         "inference": "randomization"})
    elif set(methods) - {"analytic"}:
        notes.append("The wild bootstrap and randomisation pre-trend tests need a fit clustered "
                     f"by at most {MAX_CLUSTERS} clusters; they were not run.")
    table = pd.DataFrame(rows)
    table["n_pre"] = nk
    table["n_clusters"] = res.n_clusters
    return PretrendResult(table=table, outcome=res.outcome, _notes=tuple(notes))
