"""Budget allocation: split a budget across institutions to maximise predicted improvement.

A linear programme (solved by HiGHS through ``scipy.optimize.linprog(method="highs")``):
maximise ``Σ_i w_i [z_i − f(base_i)]`` subject to ``b_i >= floor_i``, ``Σ b_i <= B`` and
``z_i <= intercept_k + slope_k · (base_i + b_i / cost_per_activity)`` for every segment ``k`` of
the concave piecewise-linear response ``f`` (a concave function is the minimum of its segment
lines, so no integer variables are needed: Williams 2013, §9.3). The exact dual values give the
shadow price of the budget and of each floor.

Hand-written because the model is a handful of sparse rows; only the segments an institution's
intensity can reach between its floor and the whole budget are generated, which keeps the LP
small.

References
----------
Huangfu, Q., & Hall, J. A. J. (2018). Parallelizing the dual revised simplex method.
*Mathematical Programming Computation*, 10(1), 119–142 (HiGHS).
Williams, H. P. (2013). *Model Building in Mathematical Programming* (5th ed.). Wiley.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog

from ..errors import InfeasibleError, SpecificationError
from .problem import require_columns
from .response import Response
from .result import AllocationResult


def budget_lp(base: np.ndarray, w: np.ndarray, floor: np.ndarray, B: float, cost: float,
              resp: Response, ub: np.ndarray | None = None) -> tuple[Any, float]:
    """The budget LP (see the module docstring) solved by HiGHS: ``(linprog result, seconds)``.

    Columns: the amounts ``b`` (``n``), then the gains ``z`` (``n``); rows: the budget, then one
    row per segment of the response that each institution's intensity can reach
    (``z_i <= intercept_k + slope_k · (base_i + b_i / cost)``).
    """
    n = len(base)
    hi_b = np.full(n, B) if ub is None else ub
    y_lo = base + floor / cost
    y_hi = base + hi_b / cost
    b = np.asarray(resp.breakpoints, dtype=float)
    seg_lo = np.clip(np.searchsorted(b, y_lo, side="right") - 1, 0, len(b) - 2)
    seg_hi = np.maximum(np.clip(np.searchsorted(b, y_hi, side="left") - 1, 0, len(b) - 2), seg_lo)
    nseg = seg_hi - seg_lo + 1
    ar = np.arange(n)
    inst = np.repeat(ar, nseg)
    seg = np.repeat(seg_lo, nseg) + np.arange(nseg.sum()) - np.repeat(np.cumsum(nseg) - nseg, nseg)
    m = seg.size
    # columns: b (n), z (n); rows: budget (1), pwl (m)
    rows = np.concatenate([np.zeros(n, int), 1 + np.arange(m), 1 + np.arange(m)])
    cols = np.concatenate([ar, n + inst, inst])
    vals = np.concatenate([np.ones(n), np.ones(m), -resp.slopes[seg] / cost])
    A = sp.csr_array((vals, (rows, cols)), shape=(1 + m, 2 * n))
    rhs = np.concatenate([[B], resp.intercepts[seg] + resp.slopes[seg] * base[inst]])
    c = np.concatenate([np.zeros(n), -w])
    bounds = list(zip(floor, hi_b, strict=True)) + [(None, None)] * n
    t0 = time.perf_counter()
    res = linprog(c, A_ub=A, b_ub=rhs, bounds=bounds, method="highs")
    return res, time.perf_counter() - t0


def allocate_budget(
    institutions: pd.DataFrame,
    *,
    budget: float,
    cost_per_activity: float,
    response: Response | None = None,
    floors: pd.Series | float | None = None,
) -> AllocationResult:
    """Split a budget across institutions to maximise predicted improvement (a linear programme).

    Parameters
    ----------
    institutions : DataFrame
        ``institution_id``, ``base`` (activities per quarter they get anyway), optional
        ``current_spend`` (status-quo shares of the budget follow it; equal shares without it),
        ``weight``, ``floor`` (minimum amount), ``county_code``, ``need``.
    budget : float
        Amount ``B`` to distribute (RMB per quarter).
    cost_per_activity : float
        RMB that buy one activity; money ``b_i`` adds ``b_i / cost_per_activity`` activities.
    response : Response, optional
    floors : float or Series indexed by institution_id, optional
        Minimum amount per institution (overrides a ``floor`` column).

    Returns
    -------
    AllocationResult
        ``plan``: ``institution_id``, ``current`` (status-quo amount), ``recommended``,
        ``floor``, ``predicted_gain``. Shadow prices: gain per RMB of budget (exact LP duals) and
        the number of floors that bind with their mean dual.

    Raises
    ------
    InfeasibleError
        When the floors add up to more than the budget.
    """
    resp = response or Response()
    require_columns(institutions, "institutions", ["institution_id", "base"])
    if not np.isfinite(budget) or budget < 0:
        raise SpecificationError(f"budget={budget!r} must be a finite amount >= 0.")
    if not np.isfinite(cost_per_activity) or cost_per_activity <= 0:
        raise SpecificationError(f"cost_per_activity={cost_per_activity!r} must be > 0.")
    ids = institutions["institution_id"].to_numpy()
    n = len(ids)
    base = institutions["base"].to_numpy(float)
    w = (institutions["weight"].to_numpy(float) if "weight" in institutions.columns
         else np.ones(n))
    if floors is None:
        floor = (institutions["floor"].to_numpy(float) if "floor" in institutions.columns
                 else np.zeros(n))
    elif isinstance(floors, pd.Series):
        floor = floors.reindex(ids).fillna(0).to_numpy(float)
    else:
        floor = np.full(n, float(floors))
    if np.any(~np.isfinite(floor)) or np.any(floor < 0):
        raise SpecificationError("Budget floors must be finite and >= 0.")
    if floor.sum() > budget * (1 + 1e-12):
        raise InfeasibleError(
            f"The per-institution floors total {floor.sum():,.0f} but the budget is {budget:,.0f}: "
            f"raise the budget by {floor.sum() - budget:,.0f} or lower the floors.")
    cur = (institutions["current_spend"].to_numpy(float) if "current_spend" in institutions.columns
           else np.ones(n))
    share = cur / cur.sum() if cur.sum() > 0 else np.full(n, 1 / n)
    sq = budget * share

    def obj_of(b):
        return float(np.sum(w * (resp(base + b / cost_per_activity) - resp(base))))

    res, secs = budget_lp(base, w, floor, budget, cost_per_activity, resp)
    if res.status != 0:
        raise SpecificationError(f"HiGHS could not solve the budget problem: {res.message}")
    b = np.clip(res.x[:n], floor, None)
    res_u, secs_u = budget_lp(base, w, np.zeros(n), budget, cost_per_activity, resp)
    unc = obj_of(res_u.x[:n]) if res_u.status == 0 else np.nan
    obj = obj_of(b)
    budget_dual = -float(res.ineqlin.marginals[0])
    floor_dual = -np.asarray(res.lower.marginals[:n], dtype=float)
    bind = (b <= floor + 1e-6 * max(1.0, budget)) & (floor > 0)
    cons = pd.DataFrame([
        {"constraint": "budget", "rows": 1, "at_bound": int(b.sum() >= budget * (1 - 1e-9)),
         "shadow_price": budget_dual,
         "note": "predicted gain per extra RMB (exact LP dual)"},
        {"constraint": "floors", "rows": int(np.sum(floor > 0)), "at_bound": int(bind.sum()),
         "shadow_price": float(np.mean(floor_dual[bind])) if bind.any() else 0.0,
         "note": "mean change in gain per RMB a floor at its bound is raised (LP duals; < 0: "
                 "the floor costs gain)"},
    ])
    cons["binds"] = [budget_dual > 1e-12, bool(np.any(floor_dual[bind] < -1e-12))]
    y_sq = base + sq / cost_per_activity
    y_rec = base + b / cost_per_activity
    inst = pd.DataFrame({
        "institution_id": ids, "base": base, "weight": w,
        "intensity_current": y_sq, "intensity_recommended": y_rec, "floor": floor,
        "neediest": floor > 0,
        "gain_current": w * (resp(y_sq) - resp(base)),
        "gain_recommended": w * (resp(y_rec) - resp(base)),
    })
    for col in ("county_code", "need"):
        if col in institutions.columns:
            inst[col] = institutions[col].to_numpy()
    inst["predicted_gain"] = inst["gain_recommended"] - inst["gain_current"]
    plan = pd.DataFrame({"institution_id": ids, "current": sq, "recommended": b, "floor": floor,
                         "predicted_gain": inst["predicted_gain"].to_numpy(),
                         "shadow_price_floor": floor_dual})
    if "county_code" in institutions.columns:
        plan["county_code"] = institutions["county_code"].to_numpy()
    return AllocationResult(
        problem="budget", plan=plan, institutions=inst, objective=obj,
        status_quo_objective=obj_of(sq), unconstrained_objective=max(unc, obj),
        constraints=cons, solver_status="optimal", mip_gap=0.0, solve_seconds=secs + secs_u,
        response=resp,
        options={"budget": budget, "cost_per_activity": cost_per_activity},
        _notes=(f"Response: {resp.description}.",
                "Status quo: the same budget split in proportion to current spending.",
                f"Money buys activities at {cost_per_activity:,.0f} RMB each."),
    )
