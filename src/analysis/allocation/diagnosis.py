"""Why an assignment problem has no plan, and which constraints bind in the plan it has.

* :func:`precheck` — counting arguments decided before any solve (unit slots vs capacity, an
  institution without enough candidate units, a county whose units cannot cover its homes, an
  equity floor no set of candidates reaches, a change limit below the changes that uncovered homes
  or overfull units force). Each raises :class:`~analysis.errors.InfeasibleError` naming the
  constraint and the amount.
* :func:`diagnose` — when HiGHS finds the configuration model infeasible for a reason no count
  catches (e.g. Hall's condition failing on the candidate pairs), a **phase-one** (elastic) model
  on the pair variables: every constraint family gets a non-negative slack and the total slack is
  minimised (Chinneck 2008, ch. 6 "elastic programming"); the slacks of the optimum name the
  smallest relaxation that admits a plan.
* :func:`assignment_constraints` — the constraints table of a plan: rows at their bound, and
  which constraints *bind* (relaxing them would raise the optimum), known exactly where the
  caller priced them by re-solving.

Hand-written because the elastic model is a few sparse rows on the existing index arrays;
HiGHS (through SciPy) solves it.

References
----------
Chinneck, J. W. (2008). *Feasibility and Infeasibility in Optimization: Algorithms and
Computational Methods*. Springer.
Huangfu, Q., & Hall, J. A. J. (2018). Parallelizing the dual revised simplex method.
*Mathematical Programming Computation*, 10(1), 119–142 (HiGHS).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from ..errors import InfeasibleError, SpecificationError
from .problem import Problem, change_counts, format_ids


# ---------------------------------------------------------------------------------------------
# before solving: counts
# ---------------------------------------------------------------------------------------------
def precheck(p: Problem, K: int | None, floor: np.ndarray) -> None:
    """Raise :class:`InfeasibleError` when a count already shows that no plan exists."""
    n_i = len(p.inst_ids)
    need_slots = p.min_units * n_i
    total_cap = int(p.cap.sum())
    if total_cap < need_slots:
        raise InfeasibleError(
            f"Full coverage needs {need_slots} unit slots ({n_i} institutions × {p.min_units}) but "
            f"unit capacity totals {total_cap}: raise capacity by {need_slots - total_cap}, add "
            f"units, or lower min_units.")
    deg = np.bincount(p.e_i, minlength=n_i)
    # the most units an institution could get: its candidate units, each at most once
    short = np.flatnonzero(deg < p.min_units)
    if short.size:
        where = ""
        if p.inst_county is not None:
            where = " (counties " + format_ids(sorted(set(p.inst_county[short].astype(str)))) + ")"
        raise InfeasibleError(
            f"Full coverage cannot be met: {short.size} institution(s) have fewer than "
            f"{p.min_units} candidate unit(s){where}: {format_ids(p.inst_ids[short])}. Allow "
            "cross-county pairs (same_county=False), add units in those counties, or pass more "
            "candidate pairs.")
    # per connected group when candidates are restricted by county
    if p.inst_county is not None and p.unit_county is not None:
        cnt_cap = pd.Series(p.cap).groupby(p.unit_county).sum()
        need_c = pd.Series(np.full(n_i, p.min_units)).groupby(p.inst_county).sum()
        cross = (p.unit_county[p.e_u] != p.inst_county[p.e_i]).any()
        if not cross:
            gap = (need_c - cnt_cap.reindex(need_c.index).fillna(0)).loc[lambda s: s > 0]
            if len(gap):
                parts = [f"{c}: needs {int(need_c[c])} slots, has {int(need_c[c] - g)}"
                         for c, g in gap.items()]
                raise InfeasibleError(
                    "Full coverage within counties cannot be met; unit capacity falls short in "
                    f"{len(gap)} county(ies) ({'; '.join(parts[:5])}). Raise capacity there by "
                    f"{int(gap.sum())} in all, or allow cross-county pairs.")
    reach = p.base + np.bincount(p.e_i, weights=p.rate[p.e_u], minlength=n_i)
    short_f = np.flatnonzero(reach + 1e-9 < floor)
    if short_f.size:
        worst = short_f[np.argmax(floor[short_f] - reach[short_f])]
        raise InfeasibleError(
            f"The equity floor of {floor[worst]:.3g} activities per quarter cannot be met for "
            f"{short_f.size} of the neediest institution(s) ({format_ids(p.inst_ids[short_f])}) "
            f"even with every candidate unit: e.g. {p.inst_ids[worst]} reaches at most "
            f"{reach[worst]:.3g} (short by {floor[worst] - reach[worst]:.3g}). Lower the floor or "
            "widen the candidate pairs.")
    if K is not None:
        if K < 0:
            raise SpecificationError(f"max_changes={K!r} must be >= 0.")
        # pairs that must change: uncovered institutions need additions, overfull units removals
        cur_cnt_i = np.bincount(p.e_i[p.e_cur], minlength=n_i)
        cur_cnt_u = np.bincount(p.e_u[p.e_cur], minlength=len(p.unit_ids))
        adds = int(np.clip(p.min_units - cur_cnt_i, 0, None).sum())
        drops = int(np.clip(cur_cnt_u - p.cap, 0, None).sum())
        if adds > K or drops > K:
            what = (f"{adds} institution slot(s) are uncovered by current pairs, so at least "
                    f"{adds} pairs must be added" if adds > K else
                    f"current pairs exceed unit capacity by {drops}, so at least {drops} pairs "
                    "must end")
            raise InfeasibleError(
                f"The change limit max_changes={K} cannot be met: {what}. Raise max_changes by "
                f"{max(adds, drops) - K} or raise capacity.")


# ---------------------------------------------------------------------------------------------
# after an infeasible solve: phase one
# ---------------------------------------------------------------------------------------------
def phase_one(p: Problem, *, K: int | None, floor: np.ndarray, max_units: int | None,
              per_institution: int, time_limit: float) -> dict[str, Any]:
    """Elastic feasibility model on the pair variables: the smallest total relaxation (slack) of
    coverage, capacity, the change limit and the equity floor that admits a plan.

    Returns ``{"message": str, "slacks": {family: array} or None}`` (``None`` when HiGHS found
    no solution of the elastic model either).
    """
    n_e, n_i, n_u = len(p.e_u), len(p.inst_ids), len(p.unit_ids)
    ar_e, ar_i, ar_u = np.arange(n_e), np.arange(n_i), np.arange(n_u)
    rows, cols, vals, lo, hi = [], [], [], [], []
    slack: dict[str, tuple[int, int]] = {}
    ncol, nrow = n_e, 0

    def new_slack(name: str, n: int) -> int:
        nonlocal ncol
        slack[name] = (ncol, n)
        ncol += n
        return slack[name][0]

    s0 = new_slack("coverage", n_i)
    rows += [nrow + p.e_i, nrow + ar_i]
    cols += [ar_e, s0 + ar_i]
    vals += [np.ones(n_e), np.ones(n_i)]
    lo.append(np.full(n_i, float(p.min_units)))
    hi.append(np.full(n_i, np.inf if max_units is None else float(max_units)))
    nrow += n_i
    s0 = new_slack("capacity", n_u)
    rows += [nrow + p.e_u, nrow + ar_u]
    cols += [ar_e, s0 + ar_u]
    vals += [np.ones(n_e), -np.ones(n_u)]
    lo.append(np.full(n_u, -np.inf))
    hi.append(p.cap.astype(float))
    nrow += n_u
    if K is not None:
        s0 = new_slack("max_changes", 2)
        rows += [np.where(p.e_cur, nrow + 1, nrow), np.array([nrow, nrow + 1])]
        cols += [ar_e, np.array([s0, s0 + 1])]
        vals += [np.where(p.e_cur, -1.0, 1.0), -np.ones(2)]
        lo.append(np.full(2, -np.inf))
        hi.append(np.array([float(K), float(K - p.n_current)]))
        nrow += 2
    # per-institution change limit (hard): at most c pairs added and c ended at each institution
    rows += [nrow + 2 * p.e_i + p.e_cur]
    cols += [ar_e]
    vals += [np.where(p.e_cur, -1.0, 1.0)]
    n_cur_i = np.bincount(p.e_i[p.e_cur], minlength=n_i).astype(float)
    lo.append(np.full(2 * n_i, -np.inf))
    hi.append(np.column_stack([np.full(n_i, float(per_institution)),
                               per_institution - n_cur_i]).ravel())
    nrow += 2 * n_i
    fl = np.flatnonzero(floor > 0)
    if fl.size:
        s0 = new_slack("equity_floor", fl.size)
        fmap = np.full(n_i, -1)
        fmap[fl] = np.arange(fl.size)
        ef = np.flatnonzero(fmap[p.e_i] >= 0)
        rows += [nrow + fmap[p.e_i[ef]], nrow + np.arange(fl.size)]
        cols += [ef, s0 + np.arange(fl.size)]
        vals += [p.rate[p.e_u[ef]], np.ones(fl.size)]
        lo.append(floor[fl] - p.base[fl])
        hi.append(np.full(fl.size, np.inf))
        nrow += fl.size
    A = sp.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                     shape=(nrow, ncol))
    c = np.zeros(ncol)
    c[n_e:] = 1.0
    ub = np.full(ncol, np.inf)
    ub[:n_e] = 1.0
    integ = np.zeros(ncol, dtype=np.uint8)
    integ[:n_e] = 1
    res = milp(c, integrality=integ, bounds=Bounds(np.zeros(ncol), ub),
               constraints=LinearConstraint(A, np.concatenate(lo), np.concatenate(hi)),
               options={"time_limit": time_limit})
    out: dict[str, Any] = {"message": res.message, "slacks": None}
    if res.x is not None:
        out["slacks"] = {k: res.x[s:s + n] for k, (s, n) in slack.items()}
    return out


def diagnose(p: Problem, K: int | None, floor: np.ndarray, max_units: int | None,
             per_institution: int, time_limit: float) -> InfeasibleError:
    """The error to raise for an infeasible problem: the smallest relaxation, in words."""
    res = phase_one(p, K=K, floor=floor, max_units=max_units, per_institution=per_institution,
                    time_limit=time_limit)
    if res["slacks"] is None:
        return InfeasibleError("The allocation problem is infeasible and HiGHS could not find the "
                               f"smallest relaxation ({res['message']}).")
    parts = []
    for name, s in res["slacks"].items():
        amount = float(np.sum(s))
        if amount > 1e-6:
            if name == "coverage":
                ids = p.inst_ids[s > 1e-6]
                parts.append(f"full coverage falls short by {amount:.0f} unit slot(s) at "
                             f"{format_ids(ids)}")
            elif name == "capacity":
                ids = p.unit_ids[s > 1e-6]
                parts.append(f"unit capacity would have to rise by {amount:.0f} "
                             f"(units {format_ids(ids)})")
            elif name == "max_changes":
                parts.append(f"max_changes={K} would have to rise by {max(s):.0f}")
            elif name == "equity_floor":
                parts.append(f"the equity floor would have to fall by {amount:.3g} activities per "
                             "quarter in total")
    return InfeasibleError("The allocation constraints cannot all be met together; the smallest "
                           "relaxation: " + "; ".join(parts) + ".")


# ---------------------------------------------------------------------------------------------
# the plan's constraints
# ---------------------------------------------------------------------------------------------
def change_limit_at_bound(p: Problem, x: np.ndarray, K: int) -> int:
    """How many of the two change-limit rows (added, ended) ``x`` holds at ``K``."""
    added, ended = change_counts(p, x)
    return int(added >= K) + int(ended >= K)


def assignment_constraints(p: Problem, x: np.ndarray, y: np.ndarray, *, K: int | None,
                           floor: np.ndarray, neediest: np.ndarray, equity_floor: float | None,
                           neediest_share: float, same_county: bool,
                           change_price: float = np.nan,
                           floor_price: float = np.nan) -> pd.DataFrame:
    """The constraints table of the plan ``x`` (intensities ``y``).

    ``constraint``, ``rows``, ``at_bound`` (rows at their bound), ``shadow_price`` and ``binds``.
    ``change_price``: the gain of one more change (the caller re-solved with ``K + 1``);
    ``floor_price``: the gain if the equity floor were removed (re-solved without it); ``NaN``
    when not priced. A constraint binds when relaxing it would raise the optimum: known exactly
    where it was priced; for coverage and capacity only "rows at their bound" is reported.
    """
    n_i = len(p.inst_ids)
    cnt_i = np.bincount(p.e_i, weights=x, minlength=n_i)
    cnt_u = np.bincount(p.e_u, weights=x, minlength=len(p.unit_ids))
    rows = [
        {"constraint": "coverage", "rows": n_i, "at_bound": int(np.sum(cnt_i <= p.min_units)),
         "shadow_price": np.nan, "note": f"every institution has >= {p.min_units} unit(s)"},
        {"constraint": "capacity", "rows": len(p.unit_ids),
         "at_bound": int(np.sum(cnt_u >= p.cap)), "shadow_price": np.nan,
         "note": "units at their capacity"},
    ]
    if K is not None:
        added, ended = change_counts(p, x)
        rows.append({"constraint": "max_changes", "rows": 2,
                     "at_bound": change_limit_at_bound(p, x, K), "shadow_price": change_price,
                     "note": f"added {added}, ended {ended} of at most {K} each; shadow price = "
                             "gain from one more change (re-solved)"})
    if equity_floor is not None:
        rows.append({"constraint": "equity_floor", "rows": int(neediest.sum()),
                     "at_bound": int(np.sum(neediest & (y <= floor + 1e-7))),
                     "shadow_price": floor_price,
                     "note": f">= {equity_floor:g} activities/quarter for the neediest "
                             f"{neediest_share:.0%}; shadow price = gain if the floor were removed"})
    if same_county:
        rows.append({"constraint": "same_county", "rows": len(p.e_u), "at_bound": 0,
                     "shadow_price": np.nan, "note": "candidate pairs restricted to the county"})
    constraints = pd.DataFrame(rows)
    constraints["binds"] = np.where(constraints["shadow_price"].notna(),
                                    constraints["shadow_price"] > 1e-9, pd.NA)
    return constraints
