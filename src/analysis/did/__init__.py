"""Callaway–Sant'Anna group-time average treatment effects for staggered adoption.

The one staggered difference-in-differences implementation of pairing-eval: the county-management
reform and the re-pairing event study both use it.

:func:`att_gt` estimates ATT(g, t) for every adoption cohort ``g`` and period ``t`` by the
difference of mean outcome changes between cohort ``g`` and a comparison group (never-treated, or
not-yet-treated by ``max(t, base) + anticipation``), with the base period ``g - 1 - anticipation``
for post-treatment cells and either the previous period ("varying") or the same base
("universal") for pre-treatment cells. Without covariates this is exactly the doubly robust,
outcome-regression and IPW estimator of Callaway & Sant'Anna (2021) and R ``did``; with
covariates, the outcome-regression DiD of Sant'Anna & Zhao (2020). ``ATTgtResult.aggregate``
gives the simple, dynamic (event-time), group and calendar aggregations with the
influence-function correction for estimated weights exactly as R ``did``'s ``aggte``, and analytic
(influence-function) standard errors: clustered by ``cluster`` when given (``G/(G-1)``
correction), else by unit without correction, as R ``did``.

Modules, each public so that :mod:`analysis.inference` (which sits above this package and is
never imported by it) can build the wild bootstrap and randomisation inference on them:

- :mod:`~analysis.did.panel` — long data → :class:`PanelArrays`;
- :mod:`~analysis.did.cells` — the group-time cells and comparison groups;
- :mod:`~analysis.did.core` — the ATT(g,t) estimator and influence functions, batched over outcome
  arrays;
- :mod:`~analysis.did.aggregation` — aggregation specs, point estimates, their influence functions;
- :mod:`~analysis.did.influence` — standard errors from influence functions;
- :mod:`~analysis.did.results` — :class:`ATTgtResult`, :class:`AggregateResult`;
- :mod:`~analysis.did.pretrend` — the analytic Wald pre-trend row, :class:`PretrendResult`;
- :mod:`~analysis.did.honest` — Rambachan & Roth (2023) sensitivity to parallel-trends
  violations, :func:`honest_did`, the cluster jackknife covariance;
- :mod:`~analysis.did.attrition` — Lee (2009) bounds given the effect on being observed;
- :mod:`~analysis.did.estimate` — the entry point :func:`att_gt`.

Unbalanced panels (``att_gt(unbalanced=...)``): by default each ATT(g, t) uses the units observed in
both ``t`` and its base period (a pairwise-balanced 2×2), the influence function rescaled by
``n / n_cell`` as in R ``did``; ``"drop_units"`` is R ``did``'s default (units not observed in every
period dropped) and ``"repeated_cross_section"`` its ``allow_unbalanced_panel=TRUE``.

Why hand-written: R ``did`` is the reference but is R; the Python ports (``csdid``,
``differences``) re-fit the whole estimator per permutation or bootstrap draw (about 80 ms each on
the demo panel), expose no cluster-level linear maps and no randomisation inference, and balance
unbalanced panels by dropping units. Everything here is linear in the outcome for a fixed
assignment, which is what makes exact few-cluster inference cheap.

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230.
Sant'Anna, P. H. C., & Zhao, J. (2020). Doubly robust difference-in-differences estimators.
    *Journal of Econometrics* 219(1), 101–122.
"""

from .aggregation import (
    AggKind,
    AggSpec,
    aggregate_influence,
    aggregate_point,
    aggregate_psi,
    aggregation_spec,
    cell_weights,
    contrast_spec,
)
from .attrition import lee_bounds
from .cells import BasePeriod, Cells, ControlGroup, control_mask, group_shares, make_cells
from .core import attgt_core
from .estimate import att_gt
from .honest import HonestResult, honest_did
from .influence import Critical, analytic_pvalue, cluster_sums, critical_value, se_from_psi
from .panel import PanelArrays, Unbalanced, prepare_panel, unbalanced_summary
from .pretrend import (
    PretrendResult,
    last_leads_min_e,
    lead_slope_spec,
    pretrend_spec,
    wald_row,
)
from .results import (
    MIN_COMPARISON_CLUSTERS,
    AggregateResult,
    ATTgtResult,
    aggregate_table,
    counties_behind,
)

__all__ = [
    "AggKind",
    "AggSpec",
    "AggregateResult",
    "ATTgtResult",
    "BasePeriod",
    "Cells",
    "ControlGroup",
    "Critical",
    "HonestResult",
    "MIN_COMPARISON_CLUSTERS",
    "PanelArrays",
    "PretrendResult",
    "Unbalanced",
    "aggregate_influence",
    "aggregate_point",
    "aggregate_psi",
    "aggregate_table",
    "aggregation_spec",
    "analytic_pvalue",
    "att_gt",
    "attgt_core",
    "counties_behind",
    "cell_weights",
    "cluster_sums",
    "contrast_spec",
    "control_mask",
    "critical_value",
    "group_shares",
    "honest_did",
    "last_leads_min_e",
    "lead_slope_spec",
    "lee_bounds",
    "make_cells",
    "prepare_panel",
    "pretrend_spec",
    "se_from_psi",
    "unbalanced_summary",
    "wald_row",
]
