"""Aggregations of ATT(g,t) (R ``did``'s ``aggte``): which cells enter which key, with what weight.

Four kinds (Callaway & Sant'Anna 2021, Section 3): ``simple`` (post-treatment cells weighted by
cohort size), ``dynamic`` (by event time ``e = t - g``), ``group`` (by cohort, post cells averaged
with equal weights) and ``calendar`` (by period). :class:`AggSpec` records the cells of each key;
:func:`aggregate_point` evaluates the aggregates for a batch of ATT(g,t) vectors with
replicate-specific cohort shares (which is what randomisation inference needs), and
:func:`aggregate_influence` gives their influence functions, including the correction for
estimating the cohort-share weights exactly as ``aggte`` (its ``wif``).

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

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..errors import SpecificationError
from .cells import Cells

__all__ = ["AggKind", "AggSpec", "aggregate_influence", "aggregate_point", "aggregation_spec",
           "weight_influence"]

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
        dynamic over ``e >= 0``, calendar) or ``"pgg"`` (group: weighted by cohort shares).
    overall_keys : ndarray (nkeys,) of bool
        Keys averaged in the overall.
    key_groups : ndarray
        Cohort of each key (group kind only).
    """

    kind: AggKind
    keys: tuple[Any, ...]
    members: np.ndarray
    equal: bool
    overall: Literal["same", "mean", "pgg"]
    overall_keys: np.ndarray
    key_groups: np.ndarray

    @property
    def pre(self) -> np.ndarray:
        """``(nkeys + 1,)`` booleans over the keys and the overall (last): pre-adoption event
        times (dynamic kind, ``e < 0``)."""
        nk = len(self.keys)
        pre = np.zeros(nk + 1, bool)
        if self.kind == "dynamic":
            pre[:nk] = np.array([float(k) < 0 for k in self.keys])
        return pre


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
        overall = keys[:, spec.overall_keys].mean(1) if spec.overall_keys.any() else np.full(
            att.shape[0], np.nan)
    else:
        pgg = pg_groups
        overall = (keys * pgg).sum(1) / pgg.sum(1)
    return keys, overall


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
        oif = (kif[:, :, spec.overall_keys].mean(2) if spec.overall_keys.any()
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
