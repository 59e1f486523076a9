"""Long panel data → the arrays every Callaway–Sant'Anna computation works on.

:func:`prepare_panel` validates the long data once (one row per unit and period, adoption date and
cluster constant within unit, numeric time scale) and returns :class:`PanelArrays`: the outcome as
an ``n units × T periods`` array with NaN where a unit is unobserved, and the unit attributes
(first-treatment period, weights, cluster codes). Everything downstream — the ATT(g,t) core, the
aggregations, the resampling methods of :mod:`analysis.inference` — reads these arrays.

R ``did``'s conventions (``pre_process_did``): rows with a missing outcome (or covariate) are
unobserved, and the periods are those with at least one observation; units first treated after
``last period + anticipation`` are never treated in the window; units first treated at or before
``first period + anticipation`` have no untreated base period and are dropped.

Unbalanced panels, three ways (``unbalanced``, :data:`Unbalanced`):

* ``"pairwise"`` (default): every unit stays; each ATT(g,t) uses the units observed in both of its
  periods (the cell's own balanced 2×2), so the estimand can move cell by cell.
* ``"drop_units"``: R ``did``'s default (``panel=TRUE, allow_unbalanced_panel=FALSE``): units not
  observed in every period are dropped before anything else, one balanced panel for every cell.
* ``"repeated_cross_section"``: R ``did``'s ``allow_unbalanced_panel=TRUE``: every observation is
  used; each cell is the repeated-cross-section estimator on the observations of its two periods,
  its influence function summed within unit (:mod:`analysis.did.core`). On a balanced panel R
  falls back to the panel estimator, and so does this (the two then coincide).

:func:`unbalanced_summary` counts what each way leaves out.

Why hand-written: a pivot of the long table; what it adds is the validation with messages that
name the column to fix, and R ``did``'s conventions above.

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import SpecificationError, check_option
from .cells import BasePeriod, ControlGroup, control_mask, make_cells

__all__ = ["PanelArrays", "Unbalanced", "balanced_units", "prepare_panel", "unbalanced_summary"]

#: how an unbalanced panel is handled (see the module docstring)
Unbalanced = Literal["pairwise", "drop_units", "repeated_cross_section"]


@dataclass(frozen=True)
class PanelArrays:
    """The panel as arrays: ``Y`` (n units × T periods, NaN where unobserved) and unit attributes.

    Attributes
    ----------
    Y : ndarray (n, T)
        Outcome, NaN where the unit is not observed in the period.
    times : ndarray (T,)
        The sorted period values.
    G : ndarray (n,)
        First-treatment period of each unit; ``+inf`` = never treated in the window.
    w : ndarray (n,)
        Unit weights with mean 1.
    cl : ndarray (n,)
        Cluster code ``0..C-1`` of each unit.
    n_clusters : int
        ``C``.
    clustered : bool
        Whether a cluster variable was given (else every unit is its own cluster).
    units, cluster_labels : ndarray
        Unit identifiers and cluster labels (in code order).
    X : ndarray (n, T, p) or None
        Covariates, when given.
    unbalanced : str
        The way an unbalanced panel is handled (:data:`Unbalanced`) *as applied*: a
        ``"repeated_cross_section"`` request on a balanced panel is recorded as ``"pairwise"``
        (R ``did`` then uses the panel estimator too).
    n_units_input : int
        Units with at least one observation before ``drop_units`` (equal to ``n`` otherwise).
    """

    Y: np.ndarray
    times: np.ndarray
    G: np.ndarray
    w: np.ndarray
    cl: np.ndarray
    n_clusters: int
    clustered: bool
    units: np.ndarray
    cluster_labels: np.ndarray
    X: np.ndarray | None = None
    unbalanced: Unbalanced = "pairwise"
    n_units_input: int = 0

    @property
    def obs(self) -> np.ndarray:
        """``(n, T)`` booleans: the outcome (and every covariate) is observed."""
        ok = ~np.isnan(self.Y)
        if self.X is not None:
            ok &= ~np.isnan(self.X).any(2)
        return ok

    @property
    def n(self) -> int:
        """Number of units."""
        return self.Y.shape[0]

    @property
    def balanced(self) -> bool:
        """Every unit is observed in every period."""
        return bool(self.obs.all())


def balanced_units(obs: np.ndarray) -> np.ndarray:
    """Units observed in every period (rows of the ``(n, T)`` observation mask that are all
    true): the units R ``did`` keeps by default."""
    return obs.all(axis=1)


def prepare_panel(
    data: pd.DataFrame, *, outcome: str, unit: str, time: str, group: str,
    cluster: str | None = None, weights: str | None = None, covariates: Sequence[str] = (),
    anticipation: int = 0, unbalanced: Unbalanced = "pairwise",
) -> tuple[PanelArrays, list[str]]:
    """Turn long data into :class:`PanelArrays`, validating as it goes.

    Parameters
    ----------
    data : DataFrame
        Long panel, one row per unit and period (not modified).
    outcome, unit, time, group, cluster, weights, covariates, anticipation, unbalanced
        As :func:`analysis.did.att_gt`.

    Returns
    -------
    (PanelArrays, list of str)
        The arrays and notes on units dropped or recoded.
    """
    check_option("unbalanced", unbalanced, Unbalanced)
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
    yv = pd.to_numeric(d[outcome], errors="coerce").to_numpy(float)
    xv = [pd.to_numeric(d[c], errors="coerce").to_numpy(float) for c in covariates]
    # R did drops rows with a missing outcome or covariate first: the periods are the observed ones
    row_ok = np.isfinite(yv)
    for v in xv:
        row_ok &= np.isfinite(v)
    times = np.unique(tvals[row_ok]) if row_ok.any() else np.unique(tvals)
    on_grid = np.isin(tvals, times)
    tpos = np.searchsorted(times, tvals[on_grid])
    uc = ucodes[on_grid]
    n, T = len(units), len(times)
    Y = np.full((n, T), np.nan)
    Y[uc, tpos] = yv[on_grid]
    X = None
    if covariates:
        X = np.full((n, T, len(covariates)), np.nan)
        for j, v in enumerate(xv):
            X[uc, tpos, j] = v[on_grid]
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
    delta = int(anticipation)
    late = np.isfinite(G) & (G > times.max() + delta)
    antic = f" + anticipation {delta}" if delta else ""
    if late.any():
        notes.append(f"{int(late.sum())} unit(s) first treated after the last period{antic} are "
                     "treated as never treated in the window.")
        G[late] = np.inf
    early = np.isfinite(G) & (G <= times.min() + delta)
    if early.any():
        notes.append(f"{int(early.sum())} unit(s) already treated in the first period{antic} were "
                     "dropped (no pre-treatment observation).")
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
    obs = np.isfinite(Y)
    if X is not None:
        obs &= np.isfinite(X).all(2)
    keep = ~early & obs.any(1)
    n_input = int(keep.sum())
    applied: Unbalanced = unbalanced
    if unbalanced == "drop_units":
        full = balanced_units(obs)
        dropped = keep & ~full
        if dropped.any():
            notes.append(f"unbalanced='drop_units': {int(dropped.sum())} of {n_input} units "
                         f"({dropped.sum() / max(n_input, 1):.1%}) are not observed in every "
                         f"period and were dropped (R did's default).")
        keep &= full
        if not keep.any():
            raise SpecificationError("No unit is observed in every period, so "
                                     "unbalanced='drop_units' leaves nothing; use "
                                     "unbalanced='pairwise' or 'repeated_cross_section'.")
    elif unbalanced == "repeated_cross_section" and balanced_units(obs[keep]).all():
        applied = "pairwise"
        notes.append("unbalanced='repeated_cross_section': the panel is balanced, so the panel "
                     "estimator is used (as R did does).")
    Y, G, wv, clab, units = Y[keep], G[keep], wv[keep], clab[keep], np.asarray(units)[keep]
    if X is not None:
        X = X[keep]
    ccodes, cl_labels = pd.factorize(pd.Series(clab), sort=True)
    wv = wv / wv.mean()
    panel = PanelArrays(Y=Y, times=times, G=G, w=wv, cl=ccodes.astype(int),
                        n_clusters=len(cl_labels), clustered=cluster is not None, units=units,
                        cluster_labels=np.asarray(cl_labels), X=X, unbalanced=applied,
                        n_units_input=n_input)
    return panel, notes


def unbalanced_summary(
    data: pd.DataFrame, *, outcome: str, unit: str, time: str, group: str,
    control_group: ControlGroup = "notyettreated", anticipation: int = 0,
    base_period: BasePeriod = "varying",
) -> pd.DataFrame:
    """What each way of handling an unbalanced panel leaves out.

    One row per way (:data:`Unbalanced`) with ``units`` (units with an observation),
    ``units_dropped`` and ``share_units_dropped`` (units that enter no cell at all: ``drop_units``
    drops those not observed in every period), and ``share_cell_units_unused``: over the
    group-time cells, the mean share of a cell's cohort and comparison units that contribute no
    observation to it — ``pairwise``: not observed in both of the cell's periods;
    ``drop_units``: dropped; ``repeated_cross_section``: observed in neither period.

    Parameters
    ----------
    data, outcome, unit, time, group, control_group, anticipation, base_period
        As :func:`analysis.did.att_gt`.
    """
    p, _ = prepare_panel(data, outcome=outcome, unit=unit, time=time, group=group,
                         anticipation=anticipation)
    obs = p.obs
    full = balanced_units(obs)
    glist = np.unique(p.G[np.isfinite(p.G)])
    cells = make_cells(p.times, glist, int(anticipation), base_period)
    unused: dict[str, list[float]] = {"pairwise": [], "drop_units": [],
                                      "repeated_cross_section": []}
    for k in np.flatnonzero(~cells.reference):
        tp, bp, g = cells.tpos[k], cells.bpos[k], cells.g[k]
        members = (p.G == g) | control_mask(p.G, g, cells.t[k], cells.base[k],
                                            control_group, int(anticipation))
        m = max(int(members.sum()), 1)
        unused["pairwise"].append(float((members & ~(obs[:, tp] & obs[:, bp])).sum() / m))
        unused["drop_units"].append(float((members & ~full).sum() / m))
        unused["repeated_cross_section"].append(
            float((members & ~(obs[:, tp] | obs[:, bp])).sum() / m))
    n = p.n
    rows = []
    for mode, dropped in (("pairwise", 0), ("drop_units", int((~full).sum())),
                          ("repeated_cross_section", 0)):
        rows.append({"unbalanced": mode, "units": n, "units_dropped": dropped,
                     "share_units_dropped": dropped / n if n else np.nan,
                     "share_cell_units_unused": float(np.mean(unused[mode])) if unused[mode]
                     else np.nan})
    return pd.DataFrame(rows)
