"""The result of the pairing optimiser and of the budget allocation (one shape for both).

:class:`AllocationResult` follows the package's result protocol (:mod:`analysis.results`): its
tables are the summary metrics (main), the constraints with their shadow prices, the plan and the
per-institution intensities and gains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..results import ResultMixin
from .response import Response

#: which model produced a result
AllocationProblem = Literal["assignment", "budget"]


@dataclass(frozen=True, eq=False)
class AllocationResult(ResultMixin):
    """Result of :func:`~analysis.allocation.optimise_pairs` or
    :func:`~analysis.allocation.allocate_budget` (same shape for both).

    Attributes
    ----------
    problem : {"assignment", "budget"}
    plan : DataFrame
        Assignment: one row per pair that is current or recommended — ``unit_id``,
        ``institution_id``, ``current``, ``recommended``, ``change`` {kept, added, ended},
        ``unit_rate``, ``predicted_gain`` (the change in the *institution's* predicted outcome
        per quarter, recommended vs current; sum it over distinct institutions, not rows).
        Budget: one row per institution — ``current`` (status-quo amount), ``recommended``,
        ``floor``, ``predicted_gain``.
    institutions : DataFrame
        Per institution: ``base``, ``intensity_current``, ``intensity_recommended``,
        ``gain_current``, ``gain_recommended``, ``predicted_gain``, ``neediest``, ``floor``.
    objective : float
        Predicted total improvement of the plan over no unit help (assignment) or no budget
        (budget), in outcome points per quarter, weighted by the institution weights.
    status_quo_objective, unconstrained_objective : float
        The same for the current pairs / current budget shares, and for the optimum without the
        change limit and the equity floor (assignment) or without floors (budget).
    constraints : DataFrame
        ``constraint``, ``rows``, ``at_bound`` (rows at their bound), ``shadow_price`` (objective
        change per unit relaxation where meaningful), ``note`` and ``binds``.
    solver_status : {"optimal", "time_limit"}
    mip_gap : float
        HiGHS's relative optimality gap (0 for the budget LP).
    solve_seconds : float
        Time spent in the solver (all solves, including the pricing re-solves).
    response : Response
        The dose-response the plan maximises.
    options : dict
        The options of the call and the size of the final model.
    """

    problem: AllocationProblem
    plan: pd.DataFrame = field(repr=False)
    institutions: pd.DataFrame = field(repr=False)
    objective: float
    status_quo_objective: float
    unconstrained_objective: float
    constraints: pd.DataFrame = field(repr=False)
    solver_status: str
    mip_gap: float
    solve_seconds: float
    response: Response = field(repr=False)
    options: dict = field(default_factory=dict, repr=False)
    _notes: tuple[str, ...] = field(default=(), repr=False)

    display_columns = {
        "plan": ("unit_id", "institution_id", "county_code", "current", "recommended", "change",
                 "unit_rate", "floor", "predicted_gain"),
        "institutions": ("institution_id", "county_code", "need", "neediest", "floor",
                         "intensity_current", "intensity_recommended", "predicted_gain"),
    }

    @property
    def title(self) -> str:
        return "Allocation plan" if self.problem == "assignment" else "Budget allocation"

    @property
    def gain_vs_status_quo(self) -> float:
        return self.objective - self.status_quo_objective

    @property
    def gain_vs_unconstrained(self) -> float:
        """Non-positive: what the change limit / equity floor cost relative to the free optimum."""
        return self.objective - self.unconstrained_objective

    def changes(self) -> pd.DataFrame:
        """Rows of the plan that differ from the status quo."""
        if self.problem == "assignment":
            return self.plan[self.plan["current"] != self.plan["recommended"]].reset_index(drop=True)
        diff = ~np.isclose(self.plan["current"], self.plan["recommended"], rtol=1e-9, atol=1e-6)
        return self.plan[diff].reset_index(drop=True)

    def metrics(self) -> pd.DataFrame:
        """The summary metrics (``metric``, ``value`` as text): objective, gains, solver status."""
        rows = [
            ("problem", self.problem),
            ("response", f"{self.response.source} (beta={self.response.beta:.4g}, "
                         f"{self.response.outcome})"),
            ("objective", self.objective),
            ("status_quo_objective", self.status_quo_objective),
            ("gain_vs_status_quo", self.gain_vs_status_quo),
            ("unconstrained_objective", self.unconstrained_objective),
            ("gain_vs_unconstrained", self.gain_vs_unconstrained),
            ("n_changes", len(self.changes())),
            ("solver_status", self.solver_status),
            ("mip_gap", self.mip_gap),
            ("solve_seconds", self.solve_seconds),
        ]
        out = pd.DataFrame(rows, columns=["metric", "value"])
        out["value"] = out["value"].map(lambda v: f"{v:.6g}" if isinstance(v, float) else str(v))
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.metrics(), "constraints": self.constraints, "plan": self.plan,
                "institutions": self.institutions}

    def plot(self, *, ax: Any = None, top: int = 20) -> Any:
        """Predicted gain at the institutions whose help changes (largest ``top`` by |gain|)."""
        from ..plots import PALETTE, new_axes, safe_labels

        ax = new_axes(ax)
        inst = self.institutions
        changed = inst[~np.isclose(inst["intensity_current"], inst["intensity_recommended"])]
        changed = changed.reindex(changed["predicted_gain"].abs().sort_values(
            ascending=False).index).head(top).iloc[::-1]
        colors = np.where(changed["predicted_gain"] >= 0, PALETTE["good"], PALETTE["bad"])
        y = np.arange(len(changed))
        ax.barh(y, changed["predicted_gain"], color=colors)
        ax.set_yticks(y, safe_labels(changed["institution_id"]))
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel(f"predicted gain per quarter ({self.response.outcome}, {self.response.source}"
                      " response)")
        ax.set_ylabel("institution")
        ax.set_title(f"{self.problem}: +{self.gain_vs_status_quo:.3g} vs status quo")
        return ax
