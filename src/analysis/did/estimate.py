"""The entry point :func:`att_gt`: Callaway–Sant'Anna ATT(g,t) from a long panel.

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230.
Sant'Anna, P. H. C., & Zhao, J. (2020). Doubly robust difference-in-differences estimators.
    *Journal of Econometrics* 219(1), 101–122.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import SpecificationError, check_option
from ..results import FEW_CLUSTERS
from .cells import BasePeriod, ControlGroup, make_cells
from .core import attgt_core
from .influence import Critical
from .panel import Unbalanced, prepare_panel
from .results import ATTgtResult

__all__ = ["att_gt"]


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
    critical: Critical = "t",
    unbalanced: Unbalanced = "pairwise",
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
        Number of periods ``δ`` before adoption in which units may already react: post cells use
        the base ``g - 1 - δ``, comparison units must be untreated until ``max(t, base) + δ``,
        units first treated after ``last period + δ`` are never treated in the window and units
        first treated by ``first period + δ`` are dropped (R ``did``'s rules).
    base_period : {"varying", "universal"}
        Pre-period cells (``t < g``, the anticipation window included, as R ``did``) compare ``t``
        with ``t - 1`` ("varying", R's default) or all cells use ``g - 1 - δ`` ("universal").
    weights : str, optional
        Column of unit sampling weights (constant within unit).
    covariates : sequence of str
        Covariates for outcome-regression adjustment (Sant'Anna & Zhao 2020's ``reg_did_panel``,
        R ``did``'s ``est_method="reg"``), taken at each cell's base period. Empty (default): the
        difference of mean changes (= DR = REG = IPW without covariates). Randomisation
        inference is only available without covariates.
    alpha : float
        Level of the analytic pointwise intervals.
    critical : {"t", "normal"}
        Critical values and p-values of the analytic rows: Student's t with ``G − 1`` degrees of
        freedom (``G`` clusters, or units without ``cluster=``; the default), or normal as R
        ``did`` (``"normal"`` reproduces its analytic intervals exactly).
    unbalanced : {"pairwise", "drop_units", "repeated_cross_section"}
        Unbalanced panels: each cell uses the units observed in both of its periods (default);
        R ``did``'s default, which drops the units not observed in every period; or R ``did``'s
        ``allow_unbalanced_panel=TRUE``, the repeated-cross-section estimator on every
        observation of the cell's two periods (no covariates; on a balanced panel the panel
        estimator, as R). The notes say how many units are dropped; see
        :func:`analysis.did.panel.unbalanced_summary`.

    Returns
    -------
    ATTgtResult
        ``.aggregate(kind)`` for analytic aggregations; :func:`analysis.inference.aggregate` for
        the wild-bootstrap and randomisation rows beside them.

    References
    ----------
    Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
    periods. *Journal of Econometrics* 225(2), 200–230.
    """
    check_option("control_group", control_group, ControlGroup)
    check_option("base_period", base_period, BasePeriod)
    check_option("critical", critical, Critical)
    if int(anticipation) != anticipation or anticipation < 0:
        raise SpecificationError(f"anticipation={anticipation!r} must be a non-negative integer.")
    if not 0 < alpha < 1:
        raise SpecificationError(f"alpha={alpha!r} must lie strictly between 0 and 1.")
    check_option("unbalanced", unbalanced, Unbalanced)
    if unbalanced == "repeated_cross_section" and len(covariates):
        raise SpecificationError("unbalanced='repeated_cross_section' is implemented without "
                                 "covariates; drop covariates= or use unbalanced='pairwise' or "
                                 "'drop_units'.")
    panel, notes = prepare_panel(data, outcome=outcome, unit=unit, time=time, group=group,
                                 cluster=cluster, weights=weights, covariates=covariates,
                                 anticipation=int(anticipation), unbalanced=unbalanced)
    glist = np.unique(panel.G[np.isfinite(panel.G)])
    if len(glist) == 0:
        raise SpecificationError(f"No unit is treated within the window ({group!r} is empty, 0 or "
                                 "beyond the last period for all units).")
    if control_group == "nevertreated" and not np.isinf(panel.G).any():
        raise SpecificationError("control_group='nevertreated' needs never-treated units; none "
                                 "are in the data. Use control_group='notyettreated'.")
    sample = "either_period" if panel.unbalanced == "repeated_cross_section" else "both_periods"
    cells = make_cells(panel.times, glist, int(anticipation), base_period, sample)
    if len(cells) == 0:
        raise SpecificationError("No group-time cell has a pre-treatment base period; check "
                                 "`anticipation` and the adoption dates.")
    att, inf, n1, n0 = attgt_core(panel.Y[None], panel.obs, panel.G, panel.w, cells,
                                  control_group, int(anticipation), X=panel.X)
    empty = np.isnan(att[0])
    if empty.any():
        notes.append(f"{int(empty.sum())} ATT(g,t) cell(s) have no treated or no comparison "
                     "units observed in both periods and are left out.")
        keep = ~empty
        cells = cells.subset(keep)
        att, inf, n1, n0 = att[:, keep], inf[:, :, keep], n1[keep], n0[keep]
    if cluster is not None and panel.n_clusters < FEW_CLUSTERS:
        notes.append(f"Only {panel.n_clusters} clusters: analytic clustered standard errors are "
                     "too small with fewer than 20 clusters; read the wild_bootstrap and "
                     "randomization rows of analysis.inference.aggregate(res, kind).")
    return ATTgtResult(outcome=outcome, control_group=control_group,
                       anticipation=int(anticipation), base_period=base_period, panel=panel,
                       cells=cells, att=att[0], inf=inf[0], n_treated=n1, n_control=n0,
                       alpha=alpha, critical=critical, _notes=tuple(notes))
