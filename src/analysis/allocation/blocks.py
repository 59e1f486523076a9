"""The configuration LP by Dantzig–Wolfe decomposition over independent blocks.

Institutions and units that share no admissible unit set (e.g. different counties under
``same_county=True``) form independent blocks of the configuration LP of :mod:`.problem`; only the
two change-limit rows couple them. Dantzig & Wolfe (1960) decomposition solves such an LP through
a small master problem over block solutions and independent block LPs priced with the master's
multipliers of the coupling rows; with thousands of county blocks it is several times faster than
one LP over every set (``benchmarks/allocation_scale.py``) and needs less memory.

Hand-written because no maintained Python package offers Dantzig–Wolfe on top of SciPy's HiGHS
for this structure; every LP (master and blocks) is solved by HiGHS's dual simplex through
:func:`scipy.optimize.linprog`.

References
----------
Dantzig, G. B., & Wolfe, P. (1960). Decomposition principle for linear programs. *Operations
Research*, 8(1), 101–111.
Lübbecke, M. E., & Desrosiers, J. (2005). Selected topics in column generation. *Operations
Research*, 53(6), 1007–1023.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .problem import Configs, Problem, master_matrix

#: columns per batched block LP (whole blocks)
BLOCK_CHUNK_COLUMNS = 4000


def lp_by_blocks(p: Problem, cf: Configs, allowed: np.ndarray, K: int | None,
                 time_limit: float, t0: float, *, chunk_columns: int | None = None,
                 rel_tol: float = 1e-9, max_rounds: int = 200) -> dict[str, Any] | None:
    """The configuration LP by Dantzig–Wolfe decomposition over independent blocks.

    Institutions and units that share no admissible set (e.g. different counties with
    ``same_county=True``) form separate blocks; only the two change-limit rows couple them. A
    small master LP over block solutions ("proposals") prices the two coupling rows
    (multipliers ``λ_add, λ_drop >= 0``); each block LP is then re-solved with set values
    ``gain − λ_add·added − λ_drop·dropped`` (dual simplex, blocks batched into chunks). For any
    ``λ >= 0`` the block LP duals together with ``λ`` are a feasible dual solution of the full LP,
    so ``Σ_b z_b(λ) + K(λ_add + λ_drop)`` is a valid upper bound over all sets, and the master's
    value is attained by a feasible LP solution (a convex combination of block solutions). The
    loop stops when the two meet (relative ``rel_tol``). Returns ``None`` when there is a single
    block (nothing to decompose) so the caller solves the one LP.

    Returns
    -------
    dict or None
        ``status`` (``ok``, ``infeasible`` or ``error``), ``rounds``; when ``ok`` also ``idx``
        (the allowed sets), ``lam`` (the LP solution over them), the duals ``pi`` (institution
        rows), ``mu`` (unit rows), ``k_add``/``k_drop`` (change rows, min form), ``lp_obj`` (the
        bound, min form), ``master_obj``, ``n_blocks`` and ``primal``.
    """
    import scipy.sparse.csgraph as csgraph

    n_i, n_u = len(p.inst_ids), len(p.unit_ids)
    idx = np.flatnonzero(allowed)
    m = cf.members[idx]
    valid = m >= 0
    cc, ss = np.nonzero(valid)
    units_of = p.e_u[m[cc, ss]]
    # bipartite graph institution -- unit through every admissible set
    g = sp.csr_array((np.ones(cc.size), (cf.inst[idx][cc], n_i + units_of)),
                     shape=(n_i + n_u, n_i + n_u))
    n_comp, lab = csgraph.connected_components(g, directed=False)
    comp_col = lab[cf.inst[idx]]
    n_blocks = np.unique(comp_col).size
    if n_blocks < 2:
        return None
    # chunks of whole blocks, about chunk_columns columns each
    chunk_columns = BLOCK_CHUNK_COLUMNS if chunk_columns is None else chunk_columns
    comp_ids, comp_size = np.unique(comp_col, return_counts=True)
    chunk_of_comp = np.full(n_comp, -1)
    chunk_of_comp[comp_ids] = np.cumsum(comp_size) // max(chunk_columns, 1)
    chunk_col = chunk_of_comp[comp_col]
    A_full, _, _ = master_matrix(p, cf, idx, None)   # rows: institutions, then units
    A_full = A_full.tocsc()
    chunks = []
    for ch in np.unique(chunk_col):
        cols = np.flatnonzero(chunk_col == ch)
        sub = sp.csr_array(A_full[:, cols])
        rows = np.flatnonzero(np.diff(sub.indptr))
        sub = sub[rows]
        eq = rows < n_i
        chunks.append((cols, sub[eq], sub[~eq], rows[eq], rows[~eq]))
    cap = p.cap.astype(float)
    gain = cf.gain[idx]
    add = cf.added[idx].astype(float)
    drop = cf.dropped[idx].astype(float)
    # block index 0..n_blocks-1 per column
    block_col = np.searchsorted(comp_ids, comp_col)
    coupled = K is not None
    lam_a = lam_d = 0.0
    props_x: list[np.ndarray] = []       # full x over idx per round
    props_v, props_a, props_d, props_b, props_r = [], [], [], [], []
    best_ub, best = np.inf, None
    master_obj = -np.inf
    theta = None
    big = 1e3 * (float(np.max(gain, initial=0.0)) + 1.0)
    rounds = 0
    while True:
        rounds += 1
        c = -gain + lam_a * add + lam_d * drop
        x = np.zeros(idx.size)
        pi = np.zeros(n_i)
        mu = np.zeros(n_u)
        z_min = 0.0
        for cols, a_eq, a_ub, r_eq, r_ub in chunks:
            res = linprog(c[cols], A_ub=a_ub, b_ub=cap[r_ub - n_i], A_eq=a_eq,
                          b_eq=np.ones(r_eq.size), bounds=(0, None), method="highs-ds")
            if res.status == 2:
                return {"status": "infeasible", "rounds": rounds}
            if res.status != 0:
                return {"status": "error", "message": res.message, "rounds": rounds}
            x[cols] = res.x
            pi[r_eq] = res.eqlin.marginals
            mu[r_ub - n_i] = res.ineqlin.marginals
            z_min += res.fun
        # min-form dual objective of the full LP: Σ block optima − λ·K (a valid bound)
        lp_min = z_min - (lam_a + lam_d) * (K if coupled else 0)
        if -lp_min < best_ub:
            best_ub = -lp_min
            best = (pi, mu, lam_a, lam_d)
        # per-block proposal from this round
        blk_val = np.bincount(block_col, weights=gain * x, minlength=n_blocks)
        blk_a = np.bincount(block_col, weights=add * x, minlength=n_blocks)
        blk_d = np.bincount(block_col, weights=drop * x, minlength=n_blocks)
        props_x.append(x)
        props_v.append(blk_val)
        props_a.append(blk_a)
        props_d.append(blk_d)
        props_b.append(np.arange(n_blocks))
        props_r.append(np.full(n_blocks, rounds - 1))
        if not coupled:
            theta = np.ones(n_blocks)
            master_obj = float(blk_val.sum())
            break
        # master LP over all proposals: convexity per block, the two change rows (elastic)
        v = np.concatenate(props_v)
        pa = np.concatenate(props_a)
        pd_ = np.concatenate(props_d)
        pb = np.concatenate(props_b)
        n_p = v.size
        conv = sp.csr_array((np.ones(n_p), (pb, np.arange(n_p))), shape=(n_blocks, n_p + 2))
        link = sp.csr_array((np.concatenate([pa, pd_, [-1.0, -1.0]]),
                             (np.concatenate([np.zeros(n_p, int), np.ones(n_p, int), [0, 1]]),
                              np.concatenate([np.arange(n_p), np.arange(n_p),
                                              [n_p, n_p + 1]]))), shape=(2, n_p + 2))
        mres = linprog(np.concatenate([-v, [big, big]]), A_ub=link, b_ub=[K, K], A_eq=conv,
                       b_eq=np.ones(n_blocks), bounds=(0, None), method="highs-ds")
        if mres.status != 0:
            return {"status": "error", "message": mres.message, "rounds": rounds}
        theta_all = mres.x[:n_p]
        slack = mres.x[n_p:]
        master_obj = -float(mres.fun)
        lam_a, lam_d = (-float(mres.ineqlin.marginals[0]), -float(mres.ineqlin.marginals[1]))
        lam_a, lam_d = max(lam_a, 0.0), max(lam_d, 0.0)
        converged = best_ub - master_obj <= rel_tol * max(1.0, abs(best_ub))
        if converged or rounds >= max_rounds or time.perf_counter() - t0 > time_limit:
            if np.any(slack > 1e-7):
                # the elastic master needs the change-limit slack: infeasible when converged;
                # otherwise let the caller solve the single LP
                return {"status": "infeasible", "rounds": rounds} if converged else None
            theta = theta_all
            break
    # the LP solution: every round's block solution weighted by its master weight
    lam = np.zeros(idx.size)
    if coupled and theta is not None:
        wts = theta.reshape(len(props_x), n_blocks)
        for t, xt in enumerate(props_x):
            lam += xt * wts[t][block_col]
    elif theta is not None:
        lam = props_x[0]
    pi, mu, lam_a, lam_d = best
    return {"status": "ok", "idx": idx, "lam": lam, "pi": pi, "mu": mu,
            "k_add": -lam_a, "k_drop": -lam_d, "lp_obj": -best_ub, "master_obj": master_obj,
            "rounds": rounds, "n_blocks": n_blocks, "primal": theta is not None}
