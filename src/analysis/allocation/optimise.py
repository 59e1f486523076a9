"""The pairing optimiser's public entry: :func:`optimise_pairs`.

Re-pair helper units with institutions so as to maximise the predicted improvement from the
estimated concave dose-response (:mod:`.response`), under full coverage, unit capacity, a change
limit, a per-institution change limit, an optional same-county restriction and an optional equity
floor for the neediest. The model and its data are in :mod:`.problem`, the exact search in
:mod:`.colgen` (with the Dantzig–Wolfe block route of :mod:`.blocks`), infeasibility diagnosis and
the constraints table in :mod:`.diagnosis`; this module validates the options, runs the main solve
and the re-solves that price the change limit and the equity floor (integer programmes have no
meaningful duals, so they are priced by re-solving), and assembles the
:class:`~.result.AllocationResult`.

Why hand-written rather than a modelling library: the models are small and fixed, building the
sparse matrices directly keeps national-size instances within memory, and SciPy already bundles
HiGHS (no new dependency).

References
----------
Huangfu, Q., & Hall, J. A. J. (2018). Parallelizing the dual revised simplex method.
*Mathematical Programming Computation*, 10(1), 119–142 (HiGHS).
Williams, H. P. (2013). *Model Building in Mathematical Programming* (5th ed.). Wiley.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..errors import InfeasibleError, SpecificationError, check_option
from .colgen import LPRoute, solve_config
from .diagnosis import assignment_constraints, change_limit_at_bound, diagnose, precheck
from .problem import (
    enumerate_configs,
    format_ids,
    intensity,
    neediest_mask,
    objective,
    prepare,
)
from .response import Response
from .result import AllocationResult


def optimise_pairs(
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
    max_units: int | None = None,
    changes_per_institution: int = 1,
    mip_rel_gap: float = 1e-7,
    time_limit: float = 120.0,
    marginal_values: bool = True,
    compare_unconstrained: bool = True,
    lp_route: LPRoute = "auto",
) -> AllocationResult:
    """Assign helper units to institutions to maximise predicted improvement.

    Parameters
    ----------
    units : DataFrame
        ``unit_id``, ``rate`` (activities per quarter a unit brings to one paired institution),
        ``capacity`` (most institutions it can serve), optional ``county_code``.
    institutions : DataFrame
        ``institution_id``, ``base`` (activities per quarter from non-unit teams), optional
        ``county_code``, ``need`` (for the equity floor), ``weight`` (objective weight, default 1).
    current : DataFrame
        Current pairs ``unit_id``, ``institution_id``.
    response : Response, optional
        The concave response (default: :class:`Response` with its documented default).
    candidates : DataFrame, optional
        Allowed pairs; default every unit × institution (within county when ``same_county``).
        Current pairs may always be kept.
    max_changes : int, optional
        At most this many pairs added and at most this many ended.
    same_county : bool
        Only pair units with institutions of their own county (needs ``county_code``).
    equity_floor : float, optional
        Minimum activities per quarter for the neediest ``neediest_share`` of institutions.
    min_units : int
        Units every institution must have (full coverage: 1).
    max_units : int, optional
        Most units one institution may receive (default: no limit beyond the change limits).
    changes_per_institution : int
        At most this many of an institution's current pairs end and at most this many new pairs
        start at it (default 1: keep, add one unit, end one pair, or swap one unit for another —
        the programme's "adjusted pair"). The search is exact over every plan in which each
        institution's set of units stays within this distance of its current set.
    mip_rel_gap, time_limit : float
        HiGHS options. The default gap proves optimality to 1e-6 relative.
    marginal_values : bool
        Re-solve to price the change limit (+1 change) and the equity floor (removed).
    compare_unconstrained : bool
        Also solve without the change limit and the equity floor.
    lp_route : {"auto", "blocks", "single"}
        How the configuration LP is solved. ``"blocks"``: Dantzig–Wolfe decomposition over the
        independent blocks (e.g. counties under ``same_county=True``) coupled only by the change
        limit; ``"single"``: one LP over every set (column generation when very large);
        ``"auto"``: blocks above 150,000 sets when there are at least two blocks. Same optimum.

    Returns
    -------
    AllocationResult

    Raises
    ------
    InfeasibleError
        Naming the constraint that cannot be met and by how much.
    """
    check_option("lp_route", lp_route, LPRoute)
    resp = response or Response()
    if max_changes is not None and (not isinstance(max_changes, (int, np.integer))
                                    or max_changes < 0):
        raise SpecificationError(f"max_changes={max_changes!r} must be a whole number >= 0 or None.")
    p = prepare(units, institutions, current, candidates, same_county=same_county,
                min_units=min_units)
    n_i = len(p.inst_ids)
    neediest = np.zeros(n_i, dtype=bool)
    floor = np.zeros(n_i)
    if equity_floor is not None:
        if not np.isfinite(equity_floor) or equity_floor < 0:
            raise SpecificationError(f"equity_floor={equity_floor!r} must be >= 0.")
        neediest = neediest_mask(p, neediest_share)
        floor = np.where(neediest, float(equity_floor), 0.0)
    K = None if max_changes is None else int(max_changes)
    if max_units is not None and (not isinstance(max_units, (int, np.integer))
                                  or max_units < max(1, min_units)):
        raise SpecificationError(f"max_units={max_units!r} must be a whole number >= min_units "
                                 f"({min_units}) and >= 1, or None.")
    if not isinstance(changes_per_institution, (int, np.integer)) or changes_per_institution < 0:
        raise SpecificationError(f"changes_per_institution={changes_per_institution!r} must be a "
                                 "whole number >= 0.")
    precheck(p, K, floor)
    n_cur_i = np.bincount(p.e_i[p.e_cur], minlength=n_i)
    short = np.flatnonzero(n_cur_i + changes_per_institution < p.min_units)
    if short.size:
        raise InfeasibleError(
            f"{short.size} institution(s) have {int(n_cur_i[short].min())} current unit(s) and at "
            f"most {changes_per_institution} may be added, short of min_units={p.min_units}: "
            f"{format_ids(p.inst_ids[short])}. Raise changes_per_institution.")
    t_enum = time.perf_counter()
    cf = enumerate_configs(p, resp, max_units=max_units, per_institution=changes_per_institution)
    t_enum = time.perf_counter() - t_enum
    common = dict(max_units=max_units, per_institution=changes_per_institution, gap=mip_rel_gap,
                  time_limit=time_limit, configs=cf, lp_route=lp_route)
    main = solve_config(p, resp, K=K, floor=floor, **common)
    main["seconds"] += t_enum
    if main["status"] == "infeasible":
        raise diagnose(p, K, floor, max_units, changes_per_institution, time_limit)
    if main["x"] is None:
        raise SpecificationError(f"HiGHS stopped without a plan: {main['message']}. Raise "
                                 "time_limit or mip_rel_gap.")
    x = main["x"]
    obj = objective(p, resp, x)
    x0 = p.e_cur.astype(float)
    sq_obj = objective(p, resp, x0)
    total_seconds = main["seconds"]

    unc_obj = obj
    if compare_unconstrained and (K is not None or equity_floor is not None):
        unc = solve_config(p, resp, K=None, floor=np.zeros(n_i), warm=main["warm_next"],
                           **common)
        total_seconds += unc["seconds"]
        if unc["x"] is not None:
            unc_obj = objective(p, resp, unc["x"])
    y = intensity(p, x)
    # shadow prices by re-solving: one more change allowed, the equity floor removed
    change_price = floor_price = np.nan
    if K is not None and marginal_values and change_limit_at_bound(p, x, K):
        more = solve_config(p, resp, K=K + 1, floor=floor, warm=main["warm_next"], **common)
        total_seconds += more["seconds"]
        if more["x"] is not None:
            change_price = objective(p, resp, more["x"]) - obj
    if equity_floor is not None and marginal_values:
        free = solve_config(p, resp, K=K, floor=np.zeros(n_i), warm=main["warm_next"],
                            **common)
        total_seconds += free["seconds"]
        if free["x"] is not None:
            floor_price = objective(p, resp, free["x"]) - obj
    constraints = assignment_constraints(
        p, x, y, K=K, floor=floor, neediest=neediest, equity_floor=equity_floor,
        neediest_share=neediest_share, same_county=same_county, change_price=change_price,
        floor_price=floor_price)
    cnt_i = np.bincount(p.e_i, weights=x, minlength=n_i)

    inst = pd.DataFrame({
        "institution_id": p.inst_ids, "base": p.base, "weight": p.w,
        "intensity_current": intensity(p, x0), "intensity_recommended": y,
        "n_units_current": np.bincount(p.e_i, weights=x0, minlength=n_i).astype(int),
        "n_units_recommended": cnt_i.astype(int),
        "neediest": neediest, "floor": floor,
    })
    if p.inst_county is not None:
        inst.insert(1, "county_code", p.inst_county)
    if p.need is not None:
        inst["need"] = p.need
    inst["gain_current"] = p.w * (resp(inst["intensity_current"].to_numpy()) - resp(p.base))
    inst["gain_recommended"] = p.w * (resp(y) - resp(p.base))
    inst["predicted_gain"] = inst["gain_recommended"] - inst["gain_current"]

    sel = (x > 0.5) | p.e_cur
    plan = pd.DataFrame({
        "unit_id": p.unit_ids[p.e_u[sel]], "institution_id": p.inst_ids[p.e_i[sel]],
        "current": p.e_cur[sel], "recommended": x[sel] > 0.5,
        "unit_rate": p.rate[p.e_u[sel]],
    })
    plan["change"] = np.select([plan["current"] & plan["recommended"], plan["recommended"]],
                               ["kept", "added"], "ended")
    plan["predicted_gain"] = plan["institution_id"].map(
        inst.set_index("institution_id")["predicted_gain"]).to_numpy(float)
    if p.inst_county is not None:
        plan["county_code"] = plan["institution_id"].map(
            inst.set_index("institution_id")["county_code"])
    plan = plan.sort_values(["institution_id", "unit_id"], ignore_index=True)
    notes = [f"Response: {resp.description}.",
             "predicted_gain in the plan is the change at the row's institution (recommended vs "
             "current pairs); sum it over distinct institutions.",
             "A unit is assumed to bring its historical activity rate to any institution."]
    if main["status"] != "optimal":
        notes.append(f"HiGHS stopped at {main['status']} with gap {main['gap']:.2%}: the plan is "
                     "feasible but not proven optimal.")
    return AllocationResult(
        problem="assignment", plan=plan, institutions=inst, objective=obj,
        status_quo_objective=sq_obj, unconstrained_objective=max(unc_obj, obj),
        constraints=constraints, solver_status=main["status"], mip_gap=main["gap"],
        solve_seconds=total_seconds, response=resp,
        options={"max_changes": K, "same_county": same_county, "max_units": max_units,
                 "changes_per_institution": changes_per_institution, "equity_floor": equity_floor,
                 "neediest_share": neediest_share, "min_units": p.min_units,
                 "main_solve_seconds": main["seconds"], "n_pairs": len(p.e_u),
                 "cg_rounds": main.get("rounds", 0), "lp_gap": main.get("lp_gap", np.nan),
                 "lp_route": lp_route,
                 "n_sets": main.get("n_sets", 0),
                 "n_rows": main["n_rows"], "n_cols": main["n_cols"], "nnz": main["nnz"]},
        _notes=tuple(notes),
    )
