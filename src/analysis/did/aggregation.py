"""Aggregations of ATT(g,t) (R ``did``'s ``aggte``): which cells enter which key, with what weight.

Four kinds (Callaway & Sant'Anna 2021, Section 3): ``simple`` (post-treatment cells weighted by
cohort size), ``dynamic`` (by event time ``e = t - g``), ``group`` (by cohort, post cells averaged
with equal weights) and ``calendar`` (by period). :class:`AggSpec` records the cells of each key;
:func:`aggregate_point` evaluates the aggregates for a batch of ATT(g,t) vectors with
replicate-specific cohort shares (which is what randomisation inference needs), and
:func:`aggregate_influence` gives their influence functions, including the correction for
estimating the cohort-share weights exactly as ``aggte`` (its ``wif``). :func:`aggregate_psi` gives
the same influence functions summed within clusters, for a batch of replicates that may each have
their own cohort shares (a permuted assignment of adoption dates): everything the studentised
randomisation inference of :mod:`analysis.inference` needs, from cluster-level sums only.
:func:`contrast_spec` turns the keys of a spec into one linear combination (e.g. the slope of the
pre-period event-time ATTs) whose overall row is tested like any aggregate.

Why hand-written: the weights and the weight-estimation correction are R ``did``'s and are checked
against it to 1e-9 on ``mpdta``; a Python port would have to be re-run per replicate, while these
functions take the whole batch at once.

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230 (Section 3 and the influence functions of the
    aggregates, Appendix).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from ..errors import SpecificationError
from .cells import Cells

__all__ = ["AggKind", "AggSpec", "aggregate_influence", "aggregate_point", "aggregate_psi",
           "aggregation_spec", "cell_weights", "contrast_spec", "weight_influence"]

AggKind = Literal["simple", "dynamic", "group", "calendar"]


@dataclass(frozen=True)
class AggSpec:
    """Which cells enter which key of an aggregation.

    Attributes
    ----------
    kind : the aggregation.
    keys : the key values (event times, cohorts, periods; ``("",)`` for simple).
    members : ndarray (nkeys, K) of bool
        ``members[j]`` masks the cells of key ``j``.
    equal : bool
        Cells of a key are averaged with equal weights (group kind) instead of cohort shares.
    overall : ``"same"`` (simple: the key is the overall), ``"mean"`` (mean of ``overall_keys``:
        dynamic over ``e >= 0``, calendar; or the linear combination ``overall_weights``) or
        ``"pgg"`` (group: weighted by cohort shares).
    overall_keys : ndarray (nkeys,) of bool
        Keys averaged in the overall.
    key_groups : ndarray
        Cohort of each key (group kind only).
    overall_weights : ndarray (nkeys,), optional
        With ``overall="mean"``: the overall is ``Σ_j overall_weights[j] · key_j`` instead of the
        mean of ``overall_keys`` (a contrast, :func:`contrast_spec`).
    overall_name : str
        Label of the overall row (``"overall"``, or the contrast's name).
    """

    kind: AggKind
    keys: tuple[Any, ...]
    members: np.ndarray
    equal: bool
    overall: Literal["same", "mean", "pgg"]
    overall_keys: np.ndarray
    key_groups: np.ndarray
    overall_weights: np.ndarray | None = None
    overall_name: str = "overall"

    @property
    def pre(self) -> np.ndarray:
        """``(nkeys + 1,)`` booleans over the keys and the overall (last): pre-adoption event
        times (dynamic kind, ``e < 0``); the overall is pre when every key it uses is."""
        nk = len(self.keys)
        pre = np.zeros(nk + 1, bool)
        if self.kind == "dynamic":
            pre[:nk] = np.array([float(k) < 0 for k in self.keys])
            if self.overall == "mean":
                used = self.overall_vector() != 0
                pre[nk] = bool(used.any() and pre[:nk][used].all())
        return pre

    def overall_vector(self) -> np.ndarray:
        """``(nkeys,)``: the weight of each key in the overall (``"mean"`` overall only)."""
        if self.overall_weights is not None:
            return np.asarray(self.overall_weights, float)
        k = np.asarray(self.overall_keys, bool)
        return k / max(int(k.sum()), 1)


def contrast_spec(spec: AggSpec, weights: Any, *, name: str = "contrast") -> AggSpec:
    """``spec`` with its overall replaced by ``Σ_j weights[j] · key_j`` (``weights``: one number per
    key; zero leaves a key out).

    Every inference method treats the overall row like any aggregate, so a one-degree-of-freedom
    test of the pre-period event-time ATTs (their slope, or the mean of the last four) is
    ``contrast_spec(res.spec("dynamic", max_e=-1), c)``. Keys all before adoption make the contrast
    a pre-period one (tested for zero, with the post effect left free).
    """
    w = np.asarray(weights, float)
    if spec.overall == "pgg" or w.shape != (len(spec.keys),) or not np.isfinite(w).all():
        raise SpecificationError(f"weights must give one finite number per key of the {spec.kind} "
                                 f"aggregation ({len(spec.keys)} keys).")
    return replace(spec, overall="mean", overall_keys=w != 0, overall_weights=w,
                   overall_name=name)


def aggregation_spec(kind: AggKind, cells: Cells, times: np.ndarray, *, balance_e: int | None,
                     min_e: float, max_e: float) -> AggSpec:
    """The :class:`AggSpec` of ``kind`` over ``cells`` (R ``did``'s ``aggte`` rules).

    ``balance_e`` (dynamic): keep cohorts observed for ``balance_e`` periods after adoption;
    ``min_e``, ``max_e``: event-time window (dynamic) or the longest post period (simple, group).
    """
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


def aggregate_point(spec: AggSpec, att: np.ndarray, pg_cells: np.ndarray,
                    pg_groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate point estimates for each replicate.

    Parameters
    ----------
    spec : AggSpec
    att : ndarray (R, K)
    pg_cells : ndarray (R, K)
        Cohort share of each cell's cohort (per replicate: a permuted assignment changes them).
    pg_groups : ndarray (R, nkeys), optional
        Cohort shares of the group keys (group kind).

    Returns
    -------
    keys : ndarray (R, nkeys); overall : ndarray (R,)
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
        overall = _mean_overall(spec, keys)
    else:
        pgg = pg_groups
        overall = (keys * pgg).sum(1) / pgg.sum(1)
    return keys, overall


def _mean_overall(spec: AggSpec, keys: np.ndarray) -> np.ndarray:
    """The ``"mean"`` overall of key values ``(R, nkeys)`` (or key influence ``(R, C, nkeys)``)."""
    if spec.overall_weights is None:
        if not spec.overall_keys.any():
            return np.full(keys.shape[:-1], np.nan)
        return keys[..., spec.overall_keys].mean(-1)
    w = spec.overall_vector()
    used = w != 0
    return keys[..., used] @ w[used]


def cell_weights(spec: AggSpec, pg_cells: np.ndarray,
                 pg_groups: np.ndarray | None = None) -> np.ndarray:
    """``(nkeys + 1, K)``: the weight of each cell in each key and in the overall (last) at the
    cohort shares ``pg_cells`` ``(K,)`` — the aggregates are these linear maps of ATT(g,t)."""
    K = len(pg_cells)
    eye = np.eye(K)
    pgg = None if pg_groups is None else np.broadcast_to(pg_groups, (K, len(pg_groups)))
    keys, overall = aggregate_point(spec, eye, np.broadcast_to(pg_cells, (K, K)), pgg)
    return np.nan_to_num(np.column_stack([keys, overall]).T)


def weight_influence(members: np.ndarray, G: np.ndarray, w: np.ndarray, gcell: np.ndarray,
                     pg: np.ndarray) -> np.ndarray:
    """R ``did``'s ``wif``: influence of estimating the cohort-share weights, ``(n, K)`` (zero off
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


def aggregate_influence(spec: AggSpec, att: np.ndarray, inf: np.ndarray, G: np.ndarray,
                        w: np.ndarray, cells: Cells, pg_cells: np.ndarray,
                        pg_groups: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Influence functions of the aggregates: ``(R, n, nkeys)`` and the overall ``(R, n)``.

    ``att`` ``(R, K)``, ``inf`` ``(R, n, K)``; cohort shares are those of the observed assignment
    (``pg_cells`` ``(K,)``, ``pg_groups`` ``(nkeys,)`` for the group kind).
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
            wif = weight_influence(m, G, w, cells.g, pg_cells)
            key_if.append(inf @ wv + a @ wif.T)
    kif = np.stack(key_if, axis=2) if key_if else np.zeros((R, n, 0))
    if spec.overall == "same":
        oif = kif[:, :, 0]
    elif spec.overall == "mean":
        oif = (np.nan_to_num(_mean_overall(spec, kif)) if spec.overall_vector().any()
               else np.zeros((R, n)))
    else:
        pgg = pg_groups
        keys_att, _ = aggregate_point(spec, att, np.broadcast_to(pg_cells, att.shape),
                                      np.broadcast_to(pgg, (R, len(pgg))))
        oif = kif @ (pgg / pgg.sum())
        wif = weight_influence(np.ones(len(pgg), bool), G, w, np.asarray(spec.key_groups, float),
                               pgg)
        oif = oif + np.nan_to_num(keys_att) @ wif.T
    return kif, oif


def aggregate_psi(spec: AggSpec, att: np.ndarray, psi: np.ndarray, pg_cells: np.ndarray,
                  ind: np.ndarray, pg_groups: np.ndarray | None = None,
                  ind_groups: np.ndarray | None = None) -> np.ndarray:
    """Cluster sums of the aggregates' influence functions, ``(R, C, nkeys + 1)`` (overall last).

    The cluster-level form of :func:`aggregate_influence` (summing a unit-level influence function
    within clusters commutes with aggregating it), for replicates that may each have their own
    cohort shares.

    Parameters
    ----------
    spec : AggSpec
    att : ndarray (R, K)
        ATT(g,t) of each replicate (NaN: the cell does not exist in that replicate).
    psi : ndarray (R, C, K)
        Cluster sums of the cells' influence functions (scaled as R ``did``).
    pg_cells : ndarray (R, K)
        Cohort share of each cell's cohort.
    ind : ndarray (R, C, K)
        Cluster sums of ``w_i 1{G_i = g_k} − pg_k`` (the cohort-share estimation's influence).
    pg_groups, ind_groups : ndarray (R, nkeys), (R, C, nkeys)
        The same for the cohorts of the group keys (group kind).
    """
    R, C, K = psi.shape
    ok = ~np.isnan(att)
    pg_cells = np.broadcast_to(pg_cells, (R, K))
    a = np.nan_to_num(att)
    psi = np.nan_to_num(psi)
    out = []
    for mem in spec.members:
        idx = np.flatnonzero(mem)  # the key's cells only: every key costs its own cells
        m = ok[:, idx]
        ps = psi[:, :, idx]
        if spec.equal:
            cnt = m.sum(1, keepdims=True)
            wv = m / np.maximum(cnt, 1)
            out.append(np.einsum("rck,rk->rc", ps, wv))
            continue
        pw = pg_cells[:, idx] * m
        S = pw.sum(1)
        Sd = np.where(S > 0, S, 1.0)
        wv = pw / Sd[:, None]
        # Σ_k wif_ck a_k with wif = ind·m/S − (Σ_k ind·m) pw/S² (R did's wif), contracted
        ik = ind[:, :, idx]
        am = a[:, idx] * m
        wif_a = (_contract(ik, am) / Sd[:, None]
                 - _contract(ik, m.astype(float)) * ((pw * a[:, idx]).sum(1) / Sd**2)[:, None])
        out.append(_contract(ps, wv) + wif_a)
    kif = np.stack(out, axis=2) if out else np.zeros((R, C, 0))
    if spec.overall == "same":
        oif = kif[:, :, 0]
    elif spec.overall == "mean":
        oif = (np.nan_to_num(_mean_overall(spec, kif)) if spec.overall_vector().any()
               else np.zeros((R, C)))
    else:
        pgg = pg_groups
        keys_att, _ = aggregate_point(spec, att, pg_cells, pgg)
        ka = np.nan_to_num(keys_att)
        S = pgg.sum(1)
        oif = _contract(kif, pgg / S[:, None])
        oif = oif + (_contract(ind_groups, ka) / S[:, None]
                     - _contract(ind_groups, np.ones_like(ka)) * ((pgg * ka).sum(1)
                                                                   / S**2)[:, None])
    return np.concatenate([kif, oif[:, :, None]], axis=2)


def _contract(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Σ_k x[r, c, k] v[r, k]`` → ``(R, C)``; ``x`` may have a single replicate (shared)."""
    if x.shape[0] == 1:
        return v @ x[0].T
    return np.einsum("rck,rk->rc", x, v)
