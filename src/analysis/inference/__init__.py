"""Inference that stays honest with few clusters (Leshan has 11 counties).

- :mod:`analysis.inference.weights` — Rademacher and Webb six-point bootstrap weights.
- :mod:`analysis.inference.multiplier` — wild (multiplier) cluster bootstrap of influence functions.
- :mod:`analysis.inference.randomization` — randomisation inference over adoption dates.
- :mod:`analysis.inference.wild` — wild cluster bootstrap for OLS coefficients.
"""

from .weights import WEBB_POINTS, draw_weights, rademacher, webb

__all__ = ["WEBB_POINTS", "draw_weights", "rademacher", "webb"]
