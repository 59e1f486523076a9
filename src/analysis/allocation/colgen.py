"""Exact search over unit sets: column generation on the configuration LP, then an integer search
closed by reduced-cost fixing.

The configuration LP of :mod:`.problem` has one column per admissible unit set per institution.

1. **Column generation** (Gilmore & Gomory 1961; Lübbecke & Desrosiers 2005) on its LP relaxation:
   start from the current sets and the best few sets per institution, solve the restricted LP
   (HiGHS), price every admissible set with the LP duals, add those with negative reduced cost,
   until none has — the LP value then bounds every plan over *all* sets. Small models are solved
   as one LP over every set; with independent blocks (counties) the LP is solved by Dantzig–Wolfe
   decomposition instead (:mod:`.blocks`).
2. **Integer search**: a MILP over the LP support and the sets priced at zero gives an incumbent;
   every set whose reduced cost lies within the LP-bound-to-incumbent gap is added and the MILP
   re-solved (no other set can be part of a better plan: reduced-cost fixing, see Nemhauser &
   Wolsey 1988), so the final plan is optimal over all sets up to HiGHS's MIP gap.

Hand-written because the pricing step enumerates the problem's own sets (vectorised numpy over
the :class:`~.problem.Configs` arrays) — a generic column-generation framework would add a
dependency and a modelling layer for a loop of a few lines; HiGHS (bundled with SciPy) solves
every LP and MILP.

References
----------
Gilmore, P. C., & Gomory, R. E. (1961). A linear programming approach to the cutting-stock
problem. *Operations Research*, 9(6), 849–859.
Huangfu, Q., & Hall, J. A. J. (2018). Parallelizing the dual revised simplex method.
*Mathematical Programming Computation*, 10(1), 119–142 (HiGHS).
Lübbecke, M. E., & Desrosiers, J. (2005). Selected topics in column generation. *Operations
Research*, 53(6), 1007–1023.
Nemhauser, G. L., & Wolsey, L. A. (1988). *Integer and Combinatorial Optimization*. Wiley.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from .blocks import lp_by_blocks
from .problem import Configs, Problem, enumerate_configs, format_ids, master_matrix
from .response import Response

#: how the configuration LP is solved (see :func:`solve_config`)
LPRoute = Literal["auto", "blocks", "single"]
#: the LP methods of HiGHS used (dual simplex; interior point with crossover)
LPMethod = Literal["highs-ds", "highs-ipm"]
#: what a plan's solve reached
SolverStatus = Literal["optimal", "time_limit"]
#: scipy.optimize.milp status codes → words
HIGHS_STATUS = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded", 4: "error"}


def solve_config(p: Problem, resp: Response, *, K: int | None, floor: np.ndarray,
                 max_units: int | None, per_institution: int, gap: float, time_limit: float,
                 configs: Configs | None = None, all_columns: int = 2_000_000,
                 batch: int = 10, lp_method: LPMethod | None = None,
                 warm: np.ndarray | None = None, lp_route: LPRoute = "auto") -> dict[str, Any]:
    """Exact search over unit sets per institution (a set-partitioning "configuration" model).

    1. Column generation on the LP relaxation (HiGHS simplex): start from the current sets and
       the best single units, price every admissible set with the LP duals, add those with
       negative reduced cost, until none: the LP bound then holds over *all* sets.
    2. MILP over the generated sets gives an incumbent; every set whose reduced cost is within
       the LP-bound-to-incumbent gap is added (no other set can appear in a better plan) and the
       MILP re-solved, so the final plan is optimal over all sets (up to HiGHS's mip gap).

    ``lp_route``: ``"blocks"`` solves step 1 by :func:`~.blocks.lp_by_blocks` (Dantzig–Wolfe
    over the independent blocks; falls back to the single LP when there is one block);
    ``"auto"`` does so above 150,000 sets; ``"single"`` never. Step 2 is the same for all routes.
    The caller validates ``lp_route``.

    ``warm`` (a mask over ``configs``, e.g. the previous solve's ``warm_next``) starts column
    generation from a few promising sets when there are more than ``all_columns`` sets (below
    that every set enters one LP and ``warm`` is not needed); pricing every set still certifies
    the LP bound, so the result is the same.

    The configuration LP of an assignment with a concave (submodular) value per institution is
    much tighter than the compact "Σ rate·x inside a concave function" formulation, whose
    relaxation spreads units thinly along the concave curve (Jensen) and stalls branch-and-bound.

    Returns
    -------
    dict
        ``status`` (``optimal``, ``time_limit``, ``infeasible`` or ``error``), ``message``,
        ``x`` (0/1 per candidate pair, ``None`` without a plan), ``seconds``, ``gap`` (the
        certified relative gap); with a plan also ``lp_gap``, ``lp_bound``, ``rounds``, the final
        model's ``n_rows``/``n_cols``/``nnz``, ``n_sets`` (admissible sets) and ``warm_next`` (a
        warm start for re-solves of the same sets).
    """
    t0 = time.perf_counter()
    cf = configs if configs is not None else enumerate_configs(
        p, resp, max_units=max_units, per_institution=per_institution)
    n_i, n_u = len(p.inst_ids), len(p.unit_ids)
    n_conf = cf.inst.size
    allowed = cf.intensity + 1e-9 >= floor[cf.inst]
    have = np.bincount(cf.inst[allowed], minlength=n_i)
    if np.any(have == 0):
        bad = np.flatnonzero(have == 0)
        return {"status": "infeasible", "message": f"no admissible unit set for {bad.size} "
                f"institution(s): {format_ids(p.inst_ids[bad])}", "x": None, "seconds": 0.0,
                "gap": np.nan}
    # initial columns: current set (when admissible) and the best set per institution
    chosen = np.zeros(n_conf, dtype=bool)
    is_cur = (cf.added == 0) & (cf.dropped == 0)
    chosen[is_cur] = True
    order = np.lexsort((-cf.gain, cf.inst))
    rank0 = np.arange(order.size) - np.searchsorted(cf.inst[order], cf.inst[order])
    chosen[order[rank0 < batch]] = True
    if n_conf <= all_columns:
        # small enough: one LP over every set, no column generation. A warm start is not used
        # here: it would only restrict the first LP, and the extra pricing rounds cost more than
        # they save (measured on the synthetic Sichuan plan: the re-solve for one more change
        # took 24 s over every set and about 66 s from the warm start)
        chosen[:] = True
    elif warm is not None:
        chosen |= warm
    chosen &= allowed
    if lp_method is None:
        # measured: dual simplex is faster up to ~10^5 columns, the interior-point method (with
        # crossover to a vertex) several times faster on national-size models
        lp_method = "highs-ipm" if n_conf > 150_000 else "highs-ds"
    big = 1e3 * (float(np.max(cf.gain, initial=0.0)) + 1.0)
    lp_obj = np.nan
    rounds = 0
    blk = None
    if lp_route == "blocks" or (lp_route == "auto" and n_conf > 150_000):
        blk = lp_by_blocks(p, cf, allowed, K, time_limit, t0)
    if blk is not None:
        if blk["status"] != "ok":
            return {"status": "infeasible" if blk["status"] == "infeasible" else "error",
                    "message": blk.get("message", "the LP relaxation is infeasible"), "x": None,
                    "seconds": time.perf_counter() - t0, "gap": np.nan, "rounds": blk["rounds"]}
        idx, lam, lp_obj, rounds = blk["idx"], blk["lam"], blk["lp_obj"], blk["rounds"]
        m = cf.members
        valid = m >= 0
        mu_sum = np.where(valid, blk["mu"][p.e_u[np.where(valid, m, 0)]], 0.0).sum(axis=1)
        red = (-cf.gain - blk["pi"][cf.inst] - mu_sum - blk["k_add"] * cf.added
               - blk["k_drop"] * cf.dropped)
    while blk is None:
        rounds += 1
        idx = np.flatnonzero(chosen)
        A, lo, hi = master_matrix(p, cf, idx, K)
        # artificial column per institution row keeps the master feasible (phase one by penalty)
        A = sp.hstack([A, sp.csr_array((np.ones(n_i), (np.arange(n_i), np.arange(n_i))),
                                       shape=(A.shape[0], n_i))], format="csr")
        c = np.concatenate([-cf.gain[idx], np.full(n_i, big)])
        n_eq = n_i
        res = linprog(c, A_ub=A[n_eq:], b_ub=hi[n_eq:], A_eq=A[:n_eq], b_eq=lo[:n_eq],
                      bounds=(0, None), method=lp_method)
        if res.status != 0:
            return {"status": "error", "message": res.message, "x": None,
                    "seconds": time.perf_counter() - t0, "gap": np.nan}
        pi = res.eqlin.marginals
        mu = np.concatenate([res.ineqlin.marginals, np.zeros(0)])
        mu_u = mu[:n_u]
        k_add, k_drop = (mu[n_u], mu[n_u + 1]) if K is not None else (0.0, 0.0)
        m = cf.members
        valid = m >= 0
        mu_sum = np.where(valid, mu_u[p.e_u[np.where(valid, m, 0)]], 0.0).sum(axis=1)
        red = (-cf.gain - pi[cf.inst] - mu_sum - k_add * cf.added - k_drop * cf.dropped)
        lp_obj = res.fun
        tol = 1e-9 * max(1.0, abs(lp_obj))
        neg = np.flatnonzero((red < -tol) & ~chosen & allowed)
        if neg.size == 0 or time.perf_counter() - t0 > time_limit:
            break
        # add the best few per institution
        o = neg[np.lexsort((red[neg], cf.inst[neg]))]
        rank = np.arange(o.size) - np.searchsorted(cf.inst[o], cf.inst[o])
        chosen[o[rank < batch]] = True
    art = res.x[idx.size:] if blk is None else np.zeros(0)
    lam = res.x[:idx.size] if blk is None else lam
    if np.any(art > 1e-7):
        return {"status": "infeasible", "message": "the LP relaxation needs the artificial "
                "columns", "x": None, "seconds": time.perf_counter() - t0, "gap": np.nan,
                "rounds": rounds}
    lp_bound = -lp_obj   # upper bound on the optimum over all sets
    # restrict the integer search to the LP support and the sets priced at (near) zero; the
    # reduced-cost closure below adds whatever else could still improve the incumbent
    support = np.zeros(n_conf, dtype=bool)
    support[idx[lam > 1e-9]] = True
    chosen = (support | (red <= 1e-9 * max(1.0, abs(lp_obj)))) & allowed
    # a warm start for re-solves of the same sets: the support and the cheapest sets per home
    o_w = np.lexsort((red, cf.inst))
    rank_w = np.arange(o_w.size) - np.searchsorted(cf.inst[o_w], cf.inst[o_w])
    warm_next = support.copy()
    warm_next[o_w[rank_w < 20]] = True
    status = "optimal"
    x_best = None
    best = -np.inf
    mip_gap = np.nan
    integral = bool(np.all(np.minimum(lam, 1 - lam) < 1e-9))
    if integral and blk is not None:
        # the decomposed LP's bound and primal value meet only up to its tolerance: the
        # integral solution is accepted as optimal when that gap is within mip_rel_gap
        val = float(cf.gain[idx[lam > 0.5]].sum())
        integral = lp_bound - val <= gap * max(abs(val), 1e-12)
    if integral:
        # the LP optimum is integral: it is optimal over all sets, no branching needed
        x_best = idx[lam > 0.5]
        best = float(cf.gain[x_best].sum())
        mip_gap = 0.0 if blk is None else max(0.0, (lp_bound - best) / max(abs(best), 1e-12))
        chosen[:] = False
        chosen[x_best] = True
    for _attempt in range(6 if x_best is None else 0):
        idx = np.flatnonzero(chosen)
        A, lo, hi = master_matrix(p, cf, idx, K)
        remaining = max(time_limit - (time.perf_counter() - t0), 1.0)
        res = milp(-cf.gain[idx], integrality=np.ones(idx.size, dtype=np.uint8),
                   bounds=Bounds(0, 1), constraints=LinearConstraint(A, lo, hi),
                   options={"mip_rel_gap": gap, "time_limit": remaining})
        st = HIGHS_STATUS.get(res.status, "error")
        if res.x is not None:
            val = float(cf.gain[idx] @ np.round(res.x))
            if val > best:
                best = val
                x_best = idx[np.round(res.x) > 0.5]
            mip_gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
        slack_val = (lp_bound - best) if np.isfinite(best) else None
        # sets that could still improve on the incumbent: reduced cost within the gap
        thresh = -lp_obj - (best if np.isfinite(best) else -np.inf)
        scale = 1e-9 * max(1.0, abs(lp_obj))
        if slack_val is not None and thresh <= scale:
            break  # the incumbent reaches the LP bound over all sets: proven optimal
        extra = np.flatnonzero(~chosen & allowed
                               & (red < (thresh if slack_val is not None else np.inf) - scale))
        if st == "time_limit" or time.perf_counter() - t0 > time_limit:
            status = "time_limit"
            break
        if extra.size == 0 and x_best is not None:
            break
        if slack_val is None:
            # no incumbent among generated sets: add the next-best sets by reduced cost
            cand = np.flatnonzero(~chosen & allowed)
            extra = cand[np.argsort(red[cand])[: max(10 * n_i, 1000)]]
            if extra.size == 0:
                return {"status": "infeasible", "message": res.message, "x": None,
                        "seconds": time.perf_counter() - t0, "gap": np.nan, "rounds": rounds}
        chosen[extra] = True
    if x_best is None:
        return {"status": "infeasible" if status == "optimal" else status,
                "message": "no integer plan found", "x": None,
                "seconds": time.perf_counter() - t0, "gap": np.nan, "rounds": rounds}
    x = np.zeros(len(p.e_u))
    mem = cf.members[x_best]
    x[mem[mem >= 0]] = 1.0
    lp_gap = max(0.0, (lp_bound - best) / max(abs(best), 1e-12))
    # after the reduced-cost closure no set outside the restricted model can improve the plan,
    # so HiGHS's gap on the restricted MILP is the gap over all sets; otherwise only the
    # configuration-LP bound certifies it
    certified = (mip_gap if status == "optimal" and np.isfinite(mip_gap) else lp_gap)
    if blk is not None and x_best is not None and "A" not in locals():
        A, _, _ = master_matrix(p, cf, np.flatnonzero(chosen), K)
    return {"status": status, "message": "", "x": x, "seconds": time.perf_counter() - t0,
            "gap": certified, "lp_gap": lp_gap, "rounds": rounds, "lp_bound": lp_bound,
            "n_rows": A.shape[0], "n_cols": int(chosen.sum()),
            "nnz": int(A.nnz), "n_sets": int(allowed.sum()), "warm_next": warm_next}
