"""Attrition: does adoption change who is observed, and how much could that move the estimate?

Each ATT(g,t) of an unbalanced panel compares the units observed in the cell's periods. If the
reform changes which institutions are assessed (homes merged, closed or newly inspected), the
observed cohort is no longer comparable with its comparison units. Two pieces:

* the reform's effect on being observed is the Callaway–Sant'Anna estimator on the observation
  indicator (``1`` when the outcome is observed), whose panel is balanced by construction — fit it
  with :func:`analysis.did.att_gt` and pass the result here;
* :func:`lee_bounds` — Lee (2009) bounds for the post-period cells and the simple aggregate, cell by
  cell: with ``Δ`` the cell's effect on being observed in its period and ``q`` the observed share
  of the group that is observed more often (the cohort when ``Δ > 0``, its counterfactual —
  comparison — side when ``Δ < 0``), a share ``p = |Δ| / q`` of that group's observed units would
  not be observed without (or with) the reform; trimming that share of its outcome changes from
  the top gives the lower bound of the cell's ATT and from the bottom the upper bound (Lee's
  monotonicity: the reform moves observation in one direction for everyone). Trimmed means are
  weighted (a unit at the cut counts with its remaining weight). The bounds of the simple
  aggregate weight the cells' bounds as the estimate weights its cells.

The comparison side's trimming when ``Δ < 0`` treats the comparison units' outcome changes as the
cohort's counterfactual distribution, which is the difference-in-differences reading of Lee's
argument rather than Lee's randomised-experiment setting; the bounds are point bounds (no
sampling uncertainty), to be read beside the attrition effect and its few-cluster interval.

Why hand-written: trimmed means of a few dozen changes per cell; no package computes Lee bounds
on the cells of a staggered design.

References
----------
Lee, D. S. (2009). Training, wages, and sample selection: Estimating sharp bounds on treatment
    effects. *Review of Economic Studies* 76(3), 1071–1102.
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import SpecificationError
from .aggregation import aggregate_point
from .cells import control_mask
from .results import ATTgtResult

__all__ = ["lee_bounds", "trimmed_mean"]


def trimmed_mean(y: np.ndarray, w: np.ndarray, share: float, side: str) -> float:
    """Weighted mean of ``y`` after removing the share ``share`` of the total weight from the
    ``"top"`` or the ``"bottom"`` (the unit at the cut keeps its remaining weight)."""
    if not 0 <= share < 1:
        raise SpecificationError(f"share={share!r} must lie in [0, 1).")
    order = np.argsort(y, kind="stable")
    if side == "top":
        order = order[::-1]
    y, w = y[order], w[order]
    cut = share * w.sum()
    before = np.cumsum(w) - w  # weight strictly before each unit in trimming order
    removed = np.clip(cut - before, 0, w)
    keep = w - removed
    return float((keep * y).sum() / keep.sum())


def lee_bounds(res: ATTgtResult, observed: ATTgtResult) -> pd.DataFrame:
    """Lee (2009) bounds of the post-period ATT(g,t) of ``res`` and of its simple aggregate.

    Parameters
    ----------
    res : ATTgtResult
        The outcome's fit (pairwise cells: ``unbalanced="pairwise"`` or ``"drop_units"``).
    observed : ATTgtResult
        The same design fitted on the observation indicator of the same units (1 when the
        outcome is observed), e.g. the panel's ``assessed`` column.

    Returns
    -------
    DataFrame
        One row per post-period cell (``group``, ``period``) and a last row ``key = "simple"``:
        ``att``, ``attrition`` (the cell's effect on being observed), ``trim_share``,
        ``trimmed`` (``"cohort"`` or ``"comparison"``), ``lower``, ``upper``.
    """
    if res.cells.sample != "both_periods":
        raise SpecificationError("Lee bounds are computed on panel cells; fit with "
                                 "unbalanced='pairwise' or 'drop_units'.")
    p = res.panel
    obs_att = observed.tidy().set_index(["group", "period"])["att"]
    cells = res.cells
    K = len(cells)
    lower, upper = np.full(K, np.nan), np.full(K, np.nan)
    rows = []
    for k in range(K):
        g, t = cells.g[k], cells.t[k]
        if t < g or np.isnan(res.att[k]):
            continue
        tp, bp = cells.tpos[k], cells.bpos[k]
        both = p.obs[:, tp] & p.obs[:, bp]
        treat = both & (p.G == g)
        ctrl = both & control_mask(p.G, g, t, cells.base[k], res.control_group, res.anticipation)
        dy = p.Y[:, tp] - p.Y[:, bp]
        delta = float(obs_att.get((g, t), np.nan))
        if not np.isfinite(delta):
            continue
        cohort = p.G == g
        share_obs = float((p.w * (cohort & p.obs[:, tp])).sum() / (p.w * cohort).sum())
        if delta >= 0:
            side, grp, q = "cohort", treat, share_obs
        else:
            side, grp, q = "comparison", ctrl, share_obs - delta  # counterfactual share
        trim = min(abs(delta) / q, 0.99) if q > 0 else 0.0
        y, w = dy[grp], p.w[grp]
        m_t = np.average(dy[treat], weights=p.w[treat])
        m_c = np.average(dy[ctrl], weights=p.w[ctrl])
        if side == "cohort":
            lo = trimmed_mean(y, w, trim, "top") - m_c
            hi = trimmed_mean(y, w, trim, "bottom") - m_c
        else:
            lo = m_t - trimmed_mean(y, w, trim, "bottom")
            hi = m_t - trimmed_mean(y, w, trim, "top")
        lower[k], upper[k] = lo, hi
        rows.append({"key": "cell", "group": g, "period": t, "att": res.att[k],
                     "attrition": delta, "trim_share": trim, "trimmed": side, "lower": lo,
                     "upper": hi})
    spec = res.spec("simple")
    pgc = res.cohort_shares()[None]
    lo_s = aggregate_point(spec, lower[None], pgc)[1][0]
    hi_s = aggregate_point(spec, upper[None], pgc)[1][0]
    est = aggregate_point(spec, res.att[None], pgc)[1][0]
    cells_df = pd.DataFrame(rows)
    att_obs = observed.aggregate("simple").tidy()
    rows.append({"key": "simple", "group": np.nan, "period": np.nan, "att": est,
                 "attrition": float(att_obs["att"].iloc[0]),
                 "trim_share": float(cells_df["trim_share"].max()) if len(cells_df) else np.nan,
                 "trimmed": "", "lower": lo_s, "upper": hi_s})
    return pd.DataFrame(rows)
