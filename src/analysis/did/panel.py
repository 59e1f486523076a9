"""Long panel data → the arrays every Callaway–Sant'Anna computation works on.

:func:`prepare_panel` validates the long data once (one row per unit and period, adoption date and
cluster constant within unit, numeric time scale) and returns :class:`PanelArrays`: the outcome as
an ``n units × T periods`` array with NaN where a unit is unobserved, and the unit attributes
(first-treatment period, weights, cluster codes). Everything downstream — the ATT(g,t) core, the
aggregations, the resampling methods of :mod:`analysis.inference` — reads these arrays.

Why hand-written: a pivot of the long table; what it adds is the validation with messages that
name the column to fix, and R ``did``'s conventions for units treated before the window (dropped)
or after it (never treated in the window).

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import SpecificationError

__all__ = ["PanelArrays", "prepare_panel"]


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


def prepare_panel(
    data: pd.DataFrame, *, outcome: str, unit: str, time: str, group: str,
    cluster: str | None = None, weights: str | None = None, covariates: Sequence[str] = (),
) -> tuple[PanelArrays, list[str]]:
    """Turn long data into :class:`PanelArrays`, validating as it goes.

    Parameters
    ----------
    data : DataFrame
        Long panel, one row per unit and period (not modified).
    outcome, unit, time, group, cluster, weights, covariates
        As :func:`analysis.did.att_gt`.

    Returns
    -------
    (PanelArrays, list of str)
        The arrays and notes on units dropped or recoded.
    """
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
