"""The group-time cells of Callaway & Sant'Anna (2021) and their comparison groups.

A cell is an adoption cohort ``g`` and a period ``t`` with its base period: the last period
``b`` with ``b + anticipation < g`` for post-treatment cells (``t >= g``; ``g - 1 -
anticipation`` on a regular grid), and for pre-treatment cells (``t < g``) either the previous
period (``base_period="varying"``, R ``did``'s default) or that same long base (``"universal"``,
whose reference cell ``t == base`` has ATT 0 by construction). As in R ``did``
(``compute.att_gt``), the pre/post split is ``t < g`` whatever the anticipation: with anticipation
``δ >= 1`` the cells inside the anticipation window ``g - δ <= t < g`` are pre-treatment cells and,
with the varying base, compare ``t`` with ``t - 1`` (not with ``g - 1 - δ``). The comparison units
of a cell are the never treated, or (``control_group="notyettreated"``) also those not yet treated
by ``max(t, base) + anticipation``.

A cell's sample (:data:`CellSample`): the units observed in both of its periods (a panel 2×2,
``"both_periods"``), or every observation of either period (``"either_period"``, the
repeated-cross-section estimator R ``did`` uses with ``allow_unbalanced_panel=TRUE``).

Why hand-written: these few loops are the definitions of the paper (Section 2–3) and R ``did``;
no Python package exposes them separately from its estimator.

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["BasePeriod", "CellSample", "Cells", "ControlGroup", "control_mask", "group_shares",
           "make_cells"]

ControlGroup = Literal["notyettreated", "nevertreated"]
BasePeriod = Literal["varying", "universal"]
#: the observations of a cell: units observed in both periods, or every observation of either
CellSample = Literal["both_periods", "either_period"]


@dataclass(frozen=True)
class Cells:
    """The group-time cells: cohort ``g``, period ``t`` and base period (time values and positions).

    ``tpos`` / ``bpos`` are the positions of ``t`` and the base in the panel's ``times``;
    ``reference`` marks the cells ``t == base`` of the universal base (ATT 0 by construction);
    ``sample`` says which observations a cell uses (:data:`CellSample`).
    """

    g: np.ndarray
    t: np.ndarray
    base: np.ndarray
    tpos: np.ndarray
    bpos: np.ndarray
    reference: np.ndarray
    sample: CellSample = "both_periods"

    def __len__(self) -> int:
        return len(self.g)

    def subset(self, keep: np.ndarray) -> Cells:
        """The cells where the boolean mask ``keep`` is true."""
        return Cells(g=self.g[keep], t=self.t[keep], base=self.base[keep], tpos=self.tpos[keep],
                     bpos=self.bpos[keep], reference=self.reference[keep], sample=self.sample)


def make_cells(times: np.ndarray, glist: np.ndarray, anticipation: int,
               base_period: BasePeriod, sample: CellSample = "both_periods") -> Cells:
    """Every group-time cell of the cohorts ``glist`` over ``times`` that has a pre-treatment base.

    Parameters
    ----------
    times : sorted period values; glist : cohorts (first-treatment periods).
    anticipation : periods before adoption in which units may react.
    base_period : ``"varying"`` or ``"universal"``.
    sample : the observations each cell uses (:data:`CellSample`).
    """
    g_, t_, b_, tp_, bp_, ref_ = [], [], [], [], [], []
    for g in glist:
        long_base = np.flatnonzero(times + anticipation < g)
        if len(long_base) == 0:
            continue
        lb = int(long_base[-1])
        start = 1 if base_period == "varying" else 0
        for tp in range(start, len(times)):
            if base_period == "varying":
                # R did: pre-treatment (t < g, anticipation window included) → previous period
                bp = tp - 1 if times[tp] < g else lb
            else:
                bp = lb
            g_.append(g)
            t_.append(times[tp])
            b_.append(times[bp])
            tp_.append(tp)
            bp_.append(bp)
            ref_.append(tp == bp)
    return Cells(
        g=np.array(g_, float), t=np.array(t_, float), base=np.array(b_, float),
        tpos=np.array(tp_, int), bpos=np.array(bp_, int), reference=np.array(ref_, bool),
        sample=sample,
    )


def control_mask(G: np.ndarray, g: float, t: float, b: float, control_group: ControlGroup,
                 anticipation: int) -> np.ndarray:
    """Comparison units of the cell ``(g, t)`` with base ``b``, as booleans over units with
    first-treatment periods ``G`` (``inf`` = never treated)."""
    if control_group == "nevertreated":
        return np.isinf(G)
    return np.isinf(G) | ((G > max(t, b) + anticipation) & (G != g))


def group_shares(G: np.ndarray, w: np.ndarray, glist: np.ndarray) -> np.ndarray:
    """P(G = g) for each cohort in ``glist`` (unit weights ``w`` with mean 1)."""
    return np.array([np.mean(w * (G == g)) for g in glist])
