"""The assignment problem in arrays, and the data of its configuration LP.

Assignment. Choose for each institution ``i`` a set ``S_i`` of units maximising
``Σ_i w_i [f(base_i + Σ_{u∈S_i} rate_u) − f(base_i)]`` (``f`` the piecewise-linear response of
:mod:`.response`) under full coverage (``|S_i| >= min_units``), unit capacity, at most ``K`` pairs
added and at most ``K`` ended (moving a unit = one change, as in the programme's "36 pairs
adjusted"), at most ``changes_per_institution`` added/ended at each institution, an optional
same-county restriction on new pairs, and an optional equity floor (activities per quarter) for
the neediest institutions. A unit is assumed to bring its historical activity rate wherever it
is paired; ``base_i`` is what the institution gets from county/township teams regardless.

Formulation. The textbook model — binary pair variables inside a concave piecewise-linear
function of ``Σ rate·x`` — is exact but its LP relaxation spreads units thinly along the concave
curve (Jensen) and branch-and-bound stalls (a 120 × 104 instance did not reach a 1% gap in 30 s).
Here every admissible set per institution is a column with its exact value: a set-partitioning
"configuration" model (Williams 2013, ch. 9), whose LP relaxation is far tighter because the
value of a set is exact, not a relaxation of a concave (submodular, Nemhauser, Wolsey & Fisher
1978) set function. This module holds

* :func:`candidate_pairs` and :func:`prepare`: the inputs validated and turned into index arrays
  (:class:`Problem`: one entry per candidate pair, sorted by institution);
* :func:`enumerate_configs`: every admissible unit set per institution (:class:`Configs`);
* :func:`master_matrix`: the configuration LP's constraint matrix over a subset of the sets
  (one equality row per institution, one capacity row per unit, two change-limit rows);
* :func:`intensity`, :func:`objective`, :func:`change_counts`: a plan evaluated on the pairs.

Solved by :mod:`.colgen` (column generation and the integer search) and :mod:`.blocks`
(Dantzig–Wolfe over independent blocks); diagnosed by :mod:`.diagnosis`.

Why hand-written rather than a modelling library: the models are small and fixed, building the
sparse matrices directly keeps national-size instances within memory, and SciPy already bundles
HiGHS (no new dependency).

References
----------
Nemhauser, G. L., Wolsey, L. A., & Fisher, M. L. (1978). An analysis of approximations for
maximizing submodular set functions. *Mathematical Programming*, 14, 265–294.
Williams, H. P. (2013). *Model Building in Mathematical Programming* (5th ed.). Wiley.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import SpecificationError
from .response import Response


def require_columns(df: pd.DataFrame, name: str, cols: list[str]) -> None:
    """Raise :class:`SpecificationError` naming the columns of ``cols`` that ``df`` lacks."""
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SpecificationError(f"{name} lacks the column(s) {missing}; it needs {cols}.")


def format_ids(ids: Any, limit: int = 5) -> str:
    """The first ``limit`` ids, comma-separated, and how many more there are (for messages)."""
    ids = list(ids)
    shown = ", ".join(map(str, ids[:limit]))
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def candidate_pairs(units: pd.DataFrame, institutions: pd.DataFrame, *,
                    same_county: bool = False) -> pd.DataFrame:
    """All unit × institution pairs, or only those within the same county (``county_code``)."""
    u = units[["unit_id"] + (["county_code"] if same_county else [])]
    i = institutions[["institution_id"] + (["county_code"] if same_county else [])]
    if same_county:
        for name, df in (("units", u), ("institutions", i)):
            if df["county_code"].isna().any():
                raise SpecificationError(
                    f"same_county=True needs county_code for every row of {name}; "
                    f"{int(df['county_code'].isna().sum())} are missing.")
        return u.merge(i, on="county_code")[["unit_id", "institution_id"]]
    return u.merge(i, how="cross")[["unit_id", "institution_id"]]


@dataclass(frozen=True, eq=False)
class Problem:
    """The assignment problem as arrays.

    ``e_u``, ``e_i``, ``e_cur``: unit index, institution index and "is a current pair" of every
    candidate pair ("edge"), sorted by institution then unit; ``rate``/``cap`` per unit,
    ``base``/``w``/``need`` per institution; counties when known (for messages and the
    within-county checks).
    """

    unit_ids: np.ndarray
    inst_ids: np.ndarray
    e_u: np.ndarray
    e_i: np.ndarray
    e_cur: np.ndarray
    rate: np.ndarray
    cap: np.ndarray
    base: np.ndarray
    w: np.ndarray
    need: np.ndarray | None
    inst_county: np.ndarray | None
    unit_county: np.ndarray | None
    min_units: int
    n_current: int


def prepare(units: pd.DataFrame, institutions: pd.DataFrame, current: pd.DataFrame,
            candidates: pd.DataFrame | None, *, same_county: bool, min_units: int) -> Problem:
    """Validate the inputs of :func:`~analysis.allocation.optimise_pairs` and index them.

    Current pairs are always candidates (a pair may be kept); with ``same_county`` given
    ``candidates`` are restricted to the unit's county. Raises :class:`SpecificationError` for
    missing columns, duplicate ids, negative or non-finite rates, capacities, bases or weights,
    and current pairs naming unknown units or institutions.
    """
    require_columns(units, "units", ["unit_id", "rate", "capacity"])
    require_columns(institutions, "institutions", ["institution_id", "base"])
    require_columns(current, "current", ["unit_id", "institution_id"])
    if units["unit_id"].duplicated().any() or institutions["institution_id"].duplicated().any():
        raise SpecificationError("unit_id and institution_id must be unique in units/institutions.")
    rate = units["rate"].to_numpy(float)
    cap = units["capacity"].to_numpy(float)
    base = institutions["base"].to_numpy(float)
    if np.any(~np.isfinite(rate)) or np.any(rate < 0):
        raise SpecificationError("units.rate (activities per quarter) must be finite and >= 0.")
    if np.any(~np.isfinite(cap)) or np.any(cap < 0) or np.any(cap != np.round(cap)):
        raise SpecificationError("units.capacity must be a whole number >= 0.")
    if np.any(~np.isfinite(base)) or np.any(base < 0):
        raise SpecificationError("institutions.base must be finite and >= 0.")
    w = (institutions["weight"].to_numpy(float) if "weight" in institutions.columns
         else np.ones(len(institutions)))
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise SpecificationError("institutions.weight must be finite and >= 0.")
    if not isinstance(min_units, (int, np.integer)) or min_units < 0:
        raise SpecificationError(f"min_units={min_units!r} must be a whole number >= 0.")
    unit_ids = units["unit_id"].to_numpy()
    inst_ids = institutions["institution_id"].to_numpy()
    u_index = pd.Index(unit_ids)
    i_index = pd.Index(inst_ids)

    cur = current[["unit_id", "institution_id"]].drop_duplicates()
    bad_u = ~cur["unit_id"].isin(u_index)
    bad_i = ~cur["institution_id"].isin(i_index)
    if bad_u.any() or bad_i.any():
        raise SpecificationError(
            "current pairs refer to unknown units or institutions: "
            f"{cur[bad_u | bad_i].head(5).to_dict('records')}")
    if candidates is None:
        candidates = candidate_pairs(units, institutions, same_county=same_county)
    elif same_county:
        require_columns(units, "units", ["county_code"])
        require_columns(institutions, "institutions", ["county_code"])
        uc = units.set_index("unit_id")["county_code"]
        ic = institutions.set_index("institution_id")["county_code"]
        candidates = candidates[candidates["unit_id"].map(uc).to_numpy()
                                == candidates["institution_id"].map(ic).to_numpy()]
    require_columns(candidates, "candidates", ["unit_id", "institution_id"])
    cand = pd.concat([candidates[["unit_id", "institution_id"]], cur], ignore_index=True)
    cand = cand.drop_duplicates(ignore_index=True)
    e_u = u_index.get_indexer(cand["unit_id"])
    e_i = i_index.get_indexer(cand["institution_id"])
    keep = (e_u >= 0) & (e_i >= 0)
    e_u, e_i = e_u[keep], e_i[keep]
    cur_key = set(zip(u_index.get_indexer(cur["unit_id"]), i_index.get_indexer(cur["institution_id"]),
                      strict=True))
    key = e_u.astype(np.int64) * (len(inst_ids) + 1) + e_i
    cur_codes = np.array([a * (len(inst_ids) + 1) + b for a, b in cur_key], dtype=np.int64)
    e_cur = np.isin(key, cur_codes)
    order = np.lexsort((e_u, e_i))
    need = institutions["need"].to_numpy(float) if "need" in institutions.columns else None
    return Problem(
        unit_ids=unit_ids, inst_ids=inst_ids, e_u=e_u[order], e_i=e_i[order], e_cur=e_cur[order],
        rate=rate, cap=cap, base=base, w=w, need=need,
        inst_county=(institutions["county_code"].to_numpy() if "county_code" in institutions.columns
                     else None),
        unit_county=units["county_code"].to_numpy() if "county_code" in units.columns else None,
        min_units=int(min_units), n_current=len(cur_key),
    )


def neediest_mask(p: Problem, share: float) -> np.ndarray:
    """The neediest ``share`` of institutions (at least one; ties in input order)."""
    if p.need is None:
        raise SpecificationError("An equity floor needs a 'need' column in institutions "
                                 "(e.g. from need_index()).")
    if not 0 < share <= 1:
        raise SpecificationError(f"neediest_share={share!r} must be in (0, 1].")
    n = len(p.inst_ids)
    k = max(1, math.ceil(share * n))
    order = np.argsort(-np.nan_to_num(p.need, nan=-np.inf), kind="stable")
    mask = np.zeros(n, dtype=bool)
    mask[order[:k]] = True
    return mask


# ---------------------------------------------------------------------------------------------
# a plan on the pairs
# ---------------------------------------------------------------------------------------------
def intensity(p: Problem, x: np.ndarray) -> np.ndarray:
    """Activities per quarter of every institution under the pair choice ``x`` (0/1 per pair)."""
    return p.base + np.bincount(p.e_i, weights=p.rate[p.e_u] * x, minlength=len(p.inst_ids))


def objective(p: Problem, resp: Response, x: np.ndarray) -> float:
    """Weighted predicted gain of ``x`` over no unit help."""
    y = intensity(p, x)
    return float(np.sum(p.w * (resp(y) - resp(p.base))))


def change_counts(p: Problem, x: np.ndarray) -> tuple[int, int]:
    """Pairs added and pairs ended by ``x`` relative to the current pairs."""
    return int(np.sum(x * ~p.e_cur)), int(np.sum((1 - x) * p.e_cur))


# ---------------------------------------------------------------------------------------------
# the configuration LP's data
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Configs:
    """Every admissible set of units per institution (size min_units..max_units), as arrays."""

    inst: np.ndarray          # institution index per configuration
    members: np.ndarray       # (n_conf, max_units) edge indices, -1 = empty slot
    gain: np.ndarray          # w_i · (f(base_i + Σ rate) − f(base_i))
    intensity: np.ndarray
    added: np.ndarray         # members that are not current pairs
    dropped: np.ndarray       # current pairs of the institution left out


def enumerate_configs(p: Problem, resp: Response, *, max_units: int | None,
                      per_institution: int, limit: int = 5_000_000) -> Configs:
    """Every admissible unit set per institution: the current set with at most ``per_institution``
    of its pairs ended and at most ``per_institution`` new pairs added, of size
    ``min_units``..``max_units`` (the equity floor is applied by the solver as a column filter,
    so that one enumeration serves every re-solve)."""
    from itertools import combinations

    n_i = len(p.inst_ids)
    starts = np.searchsorted(p.e_i, np.arange(n_i))
    ends = np.searchsorted(p.e_i, np.arange(n_i), side="right")
    n_cur = np.bincount(p.e_i[p.e_cur], minlength=n_i)
    n_new = (ends - starts) - n_cur
    c = per_institution
    est = sum(int(sum(math.comb(int(a), k) for k in range(min(c, a) + 1))
                  * sum(math.comb(int(b), k) for k in range(min(c, b) + 1)))
              for a, b in zip(n_cur, n_new, strict=True))
    if est > limit:
        raise SpecificationError(
            f"{est:,} candidate unit sets are too many to search exactly; lower "
            "changes_per_institution, use same_county=True or pass fewer candidate pairs.")
    width = int(n_cur.max(initial=0)) + c
    rows: list[tuple[int, ...]] = []
    insts: list[int] = []
    lo_size = p.min_units
    hi_size = width if max_units is None else max_units
    for i in range(n_i):
        e = np.arange(starts[i], ends[i])
        cur = tuple(e[p.e_cur[e]].tolist())
        new = e[~p.e_cur[e]].tolist()
        for kd in range(min(c, len(cur)) + 1):
            for drop in combinations(cur, kd):
                keep = tuple(x for x in cur if x not in drop)
                for ka in range(min(c, len(new)) + 1):
                    size = len(keep) + ka
                    if size < lo_size or size > hi_size:
                        continue
                    for add in combinations(new, ka):
                        rows.append(keep + add)
                        insts.append(i)
    members = np.full((len(rows), max(width, 1)), -1, dtype=np.int64)
    for r, m in enumerate(rows):
        members[r, :len(m)] = m
    inst = np.asarray(insts, dtype=np.int64)
    valid = members >= 0
    safe = np.where(valid, members, 0)
    rsum = np.where(valid, p.rate[p.e_u[safe]], 0.0).sum(axis=1)
    y = p.base[inst] + rsum
    gain = p.w[inst] * (resp(y) - resp(p.base[inst])) if inst.size else np.zeros(0)
    cur_m = np.where(valid, p.e_cur[safe], False)
    added = (valid & ~cur_m).sum(axis=1)
    dropped = n_cur[inst] - cur_m.sum(axis=1)
    return Configs(inst=inst, members=members, gain=gain, intensity=y, added=added,
                   dropped=dropped)


def master_matrix(p: Problem, cf: Configs, idx: np.ndarray, K: int | None
                  ) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    """The configuration LP's rows over the sets ``idx``: ``(A, lo, hi)`` with ``lo <= A x <= hi``.

    Rows: one per institution (exactly one set, ``lo = hi = 1``), one per unit (capacity), and
    with a change limit ``K`` two more (pairs added, pairs ended, each ``<= K``).
    """
    n_i, n_u = len(p.inst_ids), len(p.unit_ids)
    m = cf.members[idx]
    valid = m >= 0
    ncol = idx.size
    r_inst = cf.inst[idx]
    cc, uu = np.nonzero(valid)
    rows = [r_inst, n_i + p.e_u[m[cc, uu]]]
    cols = [np.arange(ncol), cc]
    vals = [np.ones(ncol), np.ones(cc.size)]
    nrow = n_i + n_u
    if K is not None:
        rows += [np.full(ncol, nrow), np.full(ncol, nrow + 1)]
        cols += [np.arange(ncol), np.arange(ncol)]
        vals += [cf.added[idx].astype(float), cf.dropped[idx].astype(float)]
        nrow += 2
    A = sp.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                     shape=(nrow, ncol))
    hi = np.concatenate([np.ones(n_i), p.cap.astype(float)]
                        + ([np.array([float(K), float(K)])] if K is not None else []))
    lo = np.concatenate([np.ones(n_i), np.full(nrow - n_i, -np.inf)])
    return A, lo, hi
