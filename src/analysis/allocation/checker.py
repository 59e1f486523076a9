"""An independent check of every constraint of a returned plan.

Written apart from the optimiser on purpose: it takes the plan as the user receives it (a table of
pairs or of amounts), recomputes everything with plain pandas group-bys from the original inputs,
and never touches the optimiser's matrices. Tests run it on every plan the optimiser returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import SpecificationError
from .response import Response
from .result import AllocationResult


@dataclass(frozen=True)
class CheckReport:
    """Violations found (empty when the plan meets every constraint) and recomputed figures."""

    violations: tuple[str, ...]
    objective: float
    status_quo_objective: float
    added: int
    ended: int

    @property
    def ok(self) -> bool:
        return not self.violations

    def raise_if_failed(self) -> None:
        if self.violations:
            raise SpecificationError("The plan violates its constraints:\n  "
                                     + "\n  ".join(self.violations))


def _predicted(resp: Response, institutions: pd.DataFrame, pairs: pd.DataFrame,
               units: pd.DataFrame) -> tuple[pd.Series, float]:
    rate = units.set_index("unit_id")["rate"]
    got = pairs.assign(rate=pairs["unit_id"].map(rate)).groupby("institution_id")["rate"].sum()
    inst = institutions.set_index("institution_id")
    y = inst["base"] + got.reindex(inst.index).fillna(0.0)
    w = inst["weight"] if "weight" in inst.columns else pd.Series(1.0, index=inst.index)
    total = float((w * (pd.Series(resp(y.to_numpy()), index=y.index)
                        - pd.Series(resp(inst["base"].to_numpy()), index=y.index))).sum())
    return y, total


def check_assignment(
    plan: pd.DataFrame | AllocationResult,
    units: pd.DataFrame,
    institutions: pd.DataFrame,
    current: pd.DataFrame,
    *,
    response: Response | None = None,
    candidates: pd.DataFrame | None = None,
    max_changes: int | None = None,
    same_county: bool = False,
    equity_floor: float | None = None,
    neediest_share: float = 0.2,
    min_units: int = 1,
    objective: float | None = None,
    tol: float = 1e-6,
) -> CheckReport:
    """Check a recommended set of pairs against every constraint.

    ``plan`` is an :class:`AllocationResult` or a table with ``unit_id``, ``institution_id`` and
    ``recommended`` (rows with ``recommended`` false are ignored). ``objective`` (taken from the
    result when given one) is compared with the recomputed predicted gain.
    """
    resp = response
    if isinstance(plan, AllocationResult):
        resp = resp or plan.response
        objective = plan.objective if objective is None else objective
        plan = plan.plan
    resp = resp or Response()
    rec = plan.loc[plan["recommended"].astype(bool), ["unit_id", "institution_id"]]
    v: list[str] = []
    if rec.duplicated().any():
        v.append(f"duplicate pairs in the plan: {rec[rec.duplicated()].head(3).to_dict('records')}")
    unknown = ~rec["unit_id"].isin(units["unit_id"]) | ~rec["institution_id"].isin(
        institutions["institution_id"])
    if unknown.any():
        v.append(f"{int(unknown.sum())} pair(s) refer to unknown units or institutions")
    # coverage
    n_per_inst = rec.groupby("institution_id").size().reindex(
        institutions["institution_id"]).fillna(0)
    under = n_per_inst[n_per_inst < min_units]
    if len(under):
        v.append(f"coverage: {len(under)} institution(s) have fewer than {min_units} unit(s): "
                 f"{list(under.index[:5])}")
    # capacity
    n_per_unit = rec.groupby("unit_id").size()
    cap = units.set_index("unit_id")["capacity"]
    over = n_per_unit[n_per_unit > cap.reindex(n_per_unit.index)]
    if len(over):
        v.append(f"capacity: {len(over)} unit(s) exceed their capacity: {list(over.index[:5])}")
    # candidate set / same county
    cur = current[["unit_id", "institution_id"]].drop_duplicates()
    cur_keys = set(map(tuple, cur.to_numpy()))
    new_pairs = [t for t in map(tuple, rec.to_numpy()) if t not in cur_keys]
    if candidates is not None:
        allowed = set(map(tuple, candidates[["unit_id", "institution_id"]].to_numpy()))
        bad = [t for t in new_pairs if t not in allowed]
        if bad:
            v.append(f"{len(bad)} new pair(s) are not among the candidate pairs: {bad[:3]}")
    if same_county:
        uc = units.set_index("unit_id")["county_code"]
        ic = institutions.set_index("institution_id")["county_code"]
        bad = [t for t in new_pairs if uc.get(t[0]) != ic.get(t[1])]
        if bad:
            v.append(f"same_county: {len(bad)} new pair(s) cross county lines: {bad[:3]}")
    # change limit
    rec_keys = set(map(tuple, rec.to_numpy()))
    added = len(rec_keys - cur_keys)
    ended = len(cur_keys - rec_keys)
    if max_changes is not None and (added > max_changes or ended > max_changes):
        v.append(f"max_changes: {added} pairs added and {ended} ended, limit {max_changes} each")
    # equity floor
    y, total = _predicted(resp, institutions, rec, units)
    if equity_floor is not None:
        need = institutions.set_index("institution_id")["need"]
        k = max(1, math.ceil(neediest_share * len(need)))
        top = need.sort_values(ascending=False, kind="stable").index[:k]
        low = y.loc[top][y.loc[top] < equity_floor - tol]
        if len(low):
            v.append(f"equity_floor: {len(low)} of the neediest get fewer than {equity_floor} "
                     f"activities per quarter: {list(low.index[:5])}")
    if objective is not None and not np.isclose(objective, total, rtol=1e-7, atol=1e-7):
        v.append(f"objective: reported {objective:.10g} but the plan predicts {total:.10g}")
    _, sq = _predicted(resp, institutions, cur, units)
    return CheckReport(violations=tuple(v), objective=total, status_quo_objective=sq,
                       added=added, ended=ended)


def check_budget(
    result: AllocationResult,
    institutions: pd.DataFrame,
    *,
    budget: float,
    cost_per_activity: float,
    floors: pd.Series | float | None = None,
    tol: float = 1e-6,
) -> CheckReport:
    """Check a budget plan: non-negative amounts, floors met, total within the budget, objective."""
    plan = result.plan.set_index("institution_id")["recommended"]
    ids = institutions["institution_id"]
    v: list[str] = []
    if set(plan.index) != set(ids):
        v.append("the plan does not list every institution exactly once")
    plan = plan.reindex(ids).fillna(0.0)
    if floors is None:
        fl = (institutions.set_index("institution_id")["floor"] if "floor" in institutions.columns
              else pd.Series(0.0, index=ids))
    elif isinstance(floors, pd.Series):
        fl = floors.reindex(ids).fillna(0.0)
    else:
        fl = pd.Series(float(floors), index=ids)
    scale = max(1.0, budget)
    if (plan < -tol * scale).any():
        v.append("negative amounts in the plan")
    below = plan[plan.to_numpy() < fl.to_numpy() - tol * scale]
    if len(below):
        v.append(f"floors: {len(below)} institution(s) below their floor: {list(below.index[:5])}")
    if plan.sum() > budget + tol * scale:
        v.append(f"budget: plan spends {plan.sum():,.2f} of {budget:,.2f}")
    inst = institutions.set_index("institution_id")
    w = inst["weight"] if "weight" in inst.columns else pd.Series(1.0, index=inst.index)
    y = inst["base"] + plan / cost_per_activity
    resp = result.response
    total = float((w * (resp(y.to_numpy()) - resp(inst["base"].to_numpy()))).sum())
    if not np.isclose(result.objective, total, rtol=1e-7, atol=1e-7):
        v.append(f"objective: reported {result.objective:.10g} but the plan predicts {total:.10g}")
    return CheckReport(violations=tuple(v), objective=total,
                       status_quo_objective=result.status_quo_objective, added=0, ended=0)
