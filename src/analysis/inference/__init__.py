"""Inference that stays honest with few clusters (Leshan has 11 counties).

- :mod:`analysis.inference.weights` — Rademacher and Webb six-point bootstrap weights.
- :mod:`analysis.inference.wild` — restricted wild cluster bootstrap-t for one OLS coefficient.
- :mod:`analysis.inference.multiplier` — restricted wild cluster bootstrap-t for estimators that are
  linear in the outcome (the Callaway–Sant'Anna aggregates), by cluster-level linear maps.
- :mod:`analysis.inference.randomization` — randomisation inference over adoption dates.
"""

from .weights import WEBB_POINTS, draw_weights, rademacher, webb
from .wild import WCRBootstrap, WildBootstrapResult, wild_cluster_bootstrap

__all__ = [
    "WEBB_POINTS",
    "draw_weights",
    "rademacher",
    "webb",
    "WCRBootstrap",
    "WildBootstrapResult",
    "wild_cluster_bootstrap",
]
