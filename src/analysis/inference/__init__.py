"""Inference that stays honest with few clusters (Leshan has 11 counties).

Sits above :mod:`analysis.did` (which it uses and which never imports it):

- :mod:`analysis.inference.pvalue` — the one p-value convention ``(1 + #{|t*| ≥ |t|}) / (B + 1)``
  and the one test inversion (interval ``{τ₀ : p(τ₀) > α}``) every resampling method uses.
- :mod:`analysis.inference.weights` — Rademacher and Webb six-point bootstrap weights.
- :mod:`analysis.inference.wild` — restricted wild cluster bootstrap-t for OLS coefficients.
- :mod:`analysis.inference.restricted` — the wild bootstrap's restricted model of the
  Callaway–Sant'Anna aggregates (saturated cohort × period effects, only the tested restriction
  imposed; or one constant effect).
- CV3 studentisation uses :mod:`analysis.did.jackknife` (leave-one-cluster-out aggregates).
- :mod:`analysis.inference.multiplier` — restricted wild cluster bootstrap-t for estimators that are
  linear in the outcome (the Callaway–Sant'Anna aggregates), by cluster-level linear maps; CV1 or
  CV3 studentisation, cluster or subcluster weights.
- :mod:`analysis.inference.randomization` — randomisation inference over adoption dates
  (studentised by default), and the pre-period balance of the permuted assignments.
- :mod:`analysis.inference.attgt` — :func:`aggregate` and :func:`pretrend_test`: a
  Callaway–Sant'Anna fit's aggregations and pre-trend test with all three kinds of rows.

A notebook needs only::

    from analysis.did import att_gt
    from analysis.inference import aggregate, pretrend_test

    res = att_gt(panel, outcome=..., unit=..., time="t", group="adoption_t", cluster="county_code")
    aggregate(res, "dynamic", n_boot=999, n_perm=999, seed=1)
    pretrend_test(res, seed=1)
"""

from .attgt import CSInference, aggregate, aggregate_spec, headline_aggregate, pretrend_test
from .multiplier import MAX_CLUSTERS, BootLevel, Studentization, WildOptions
from .pvalue import invert_test, resampling_pvalue
from .randomization import RIStatistic, balance_table
from .restricted import WildModel
from .weights import WEBB_POINTS, BootWeights, draw_weights, rademacher, webb
from .wild import WCRBootstrap, WildBootstrapResult, wild_cluster_bootstrap

__all__ = [
    "BootLevel",
    "BootWeights",
    "CSInference",
    "MAX_CLUSTERS",
    "RIStatistic",
    "Studentization",
    "WCRBootstrap",
    "WEBB_POINTS",
    "WildBootstrapResult",
    "WildModel",
    "WildOptions",
    "aggregate",
    "aggregate_spec",
    "headline_aggregate",
    "balance_table",
    "draw_weights",
    "invert_test",
    "pretrend_test",
    "rademacher",
    "resampling_pvalue",
    "webb",
    "wild_cluster_bootstrap",
]
