"""Prescriptive allocation: re-pair helper units with institutions, or split a budget, so as to
maximise the predicted improvement from the estimated concave dose-response.

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
Here every admissible set per institution is a column with its exact value (a set-partitioning
"configuration" model, whose LP relaxation is far tighter); the LP over all columns (or column
generation when they are many; by Dantzig–Wolfe decomposition over independent blocks such as
counties, which only the change limit couples) bounds every plan, and a MILP over the LP's support plus every
column whose reduced cost is within the LP-bound-to-incumbent gap (reduced-cost fixing) proves
the plan optimal over all admissible plans up to HiGHS's MIP gap.

Budget. A linear programme (``scipy.optimize.linprog(method="highs")``): ``b_i >= floor_i``,
``Σ b_i <= B``, ``y_i = base_i + b_i / cost_per_activity``; exact dual values give the shadow
price of the budget and of each floor.

Why hand-written rather than a modelling library: the models are small and fixed, building the
sparse matrices directly keeps national-size instances within memory, and SciPy already bundles
HiGHS (no new dependency).

References
----------
Huangfu, Q., & Hall, J. A. J. (2018). Parallelizing the dual revised simplex method.
*Mathematical Programming Computation*, 10(1), 119–142 (HiGHS).
Nemhauser, G. L., Wolsey, L. A., & Fisher, M. L. (1978). An analysis of approximations for
maximizing submodular set functions. *Mathematical Programming*, 14, 265–294.
Williams, H. P. (2013). *Model Building in Mathematical Programming* (5th ed.). Wiley.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from ..errors import InfeasibleError, SpecificationError
from ..results import ResultMixin
from .response import Response

_STATUS = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded", 4: "error"}


# ---------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class AllocationResult(ResultMixin):
    """Result of :func:`optimise_pairs` or :func:`allocate_budget` (same shape for both).

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
        ``constraint``, ``rows``, ``binding`` (rows at their bound), ``shadow_price`` (objective
        change per unit relaxation where meaningful) and ``note``.
    solver_status : str
        ``optimal`` or ``time_limit``.
    mip_gap : float
        HiGHS's relative optimality gap (0 for the budget LP).
    """

    problem: str
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

    title = "Allocation plan"

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

    def tidy(self) -> pd.DataFrame:
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

    def summary(self) -> str:
        body = super().summary()
        with pd.option_context("display.width", 120, "display.max_columns", 30):
            cons = self.constraints.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return f"{body}\n\nConstraints\n-----------\n{cons}"

    def _repr_html_(self) -> str:
        cons = self.constraints.to_html(index=False, escape=True, border=0,
                                        float_format=lambda v: f"{v:.4g}", classes="pe-result")
        return super()._repr_html_() + f"<div class='pe-result'><h4>Constraints</h4>{cons}</div>"

    def plot(self, *, ax: Any = None, top: int = 20) -> Any:
        """Predicted gain at the institutions whose help changes (largest ``top`` by |gain|)."""
        import matplotlib.pyplot as plt

        ax = ax or plt.gca()
        inst = self.institutions
        changed = inst[~np.isclose(inst["intensity_current"], inst["intensity_recommended"])]
        changed = changed.reindex(changed["predicted_gain"].abs().sort_values(
            ascending=False).index).head(top).iloc[::-1]
        colors = np.where(changed["predicted_gain"] >= 0, "#2a9d8f", "#e76f51")
        ax.barh(changed["institution_id"].astype(str), changed["predicted_gain"], color=colors)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel(f"predicted gain per quarter ({self.response.outcome}, {self.response.source}"
                      " response)")
        ax.set_ylabel("institution")
        ax.set_title(f"{self.problem}: +{self.gain_vs_status_quo:.3g} vs status quo")
        return ax


# ---------------------------------------------------------------------------------------------
# input preparation
# ---------------------------------------------------------------------------------------------
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


def _require(df: pd.DataFrame, name: str, cols: list[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SpecificationError(f"{name} lacks the column(s) {missing}; it needs {cols}.")


@dataclass(frozen=True, eq=False)
class _Problem:
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


def _prepare(units, institutions, current, candidates, *, same_county, min_units) -> _Problem:
    _require(units, "units", ["unit_id", "rate", "capacity"])
    _require(institutions, "institutions", ["institution_id", "base"])
    _require(current, "current", ["unit_id", "institution_id"])
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
        _require(units, "units", ["county_code"])
        _require(institutions, "institutions", ["county_code"])
        uc = units.set_index("unit_id")["county_code"]
        ic = institutions.set_index("institution_id")["county_code"]
        candidates = candidates[candidates["unit_id"].map(uc).to_numpy()
                                == candidates["institution_id"].map(ic).to_numpy()]
    _require(candidates, "candidates", ["unit_id", "institution_id"])
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
    return _Problem(
        unit_ids=unit_ids, inst_ids=inst_ids, e_u=e_u[order], e_i=e_i[order], e_cur=e_cur[order],
        rate=rate, cap=cap, base=base, w=w, need=need,
        inst_county=(institutions["county_code"].to_numpy() if "county_code" in institutions.columns
                     else None),
        unit_county=units["county_code"].to_numpy() if "county_code" in units.columns else None,
        min_units=int(min_units), n_current=len(cur_key),
    )


def _neediest(p: _Problem, share: float) -> np.ndarray:
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


def _fmt_ids(ids: Any, limit: int = 5) -> str:
    ids = list(ids)
    shown = ", ".join(map(str, ids[:limit]))
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


# ---------------------------------------------------------------------------------------------
# diagnosis of infeasibility
# ---------------------------------------------------------------------------------------------
def _precheck(p: _Problem, K: int | None, floor: np.ndarray) -> None:
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
            where = " (counties " + _fmt_ids(sorted(set(p.inst_county[short].astype(str)))) + ")"
        raise InfeasibleError(
            f"Full coverage cannot be met: {short.size} institution(s) have fewer than "
            f"{p.min_units} candidate unit(s){where}: {_fmt_ids(p.inst_ids[short])}. Allow "
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
            f"{short_f.size} of the neediest institution(s) ({_fmt_ids(p.inst_ids[short_f])}) even "
            f"with every candidate unit: e.g. {p.inst_ids[worst]} reaches at most "
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
# the MILP
# ---------------------------------------------------------------------------------------------
def _intensity(p: _Problem, x: np.ndarray) -> np.ndarray:
    return p.base + np.bincount(p.e_i, weights=p.rate[p.e_u] * x, minlength=len(p.inst_ids))


def _objective(p: _Problem, resp: Response, x: np.ndarray) -> float:
    y = _intensity(p, x)
    return float(np.sum(p.w * (resp(y) - resp(p.base))))


def _phase_one(p: _Problem, *, K: int | None, floor: np.ndarray, max_units: int | None,
               per_institution: int, time_limit: float) -> dict:
    """Elastic feasibility model on the pair variables: the smallest total relaxation (slack) of
    coverage, capacity, the change limit and the equity floor that admits a plan."""
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


@dataclass(frozen=True, eq=False)
class _Configs:
    """Every admissible set of units per institution (size min_units..max_units), as arrays."""

    inst: np.ndarray          # institution index per configuration
    members: np.ndarray       # (n_conf, max_units) edge indices, -1 = empty slot
    gain: np.ndarray          # w_i · (f(base_i + Σ rate) − f(base_i))
    intensity: np.ndarray
    added: np.ndarray         # members that are not current pairs
    dropped: np.ndarray       # current pairs of the institution left out


def _enumerate_configs(p: _Problem, resp: Response, *, max_units: int | None,
                       per_institution: int, limit: int = 5_000_000) -> _Configs:
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
    return _Configs(inst=inst, members=members, gain=gain, intensity=y, added=added,
                    dropped=dropped)


def _master_matrix(p: _Problem, cf: _Configs, idx: np.ndarray, K: int | None):
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


_BLOCK_CHUNK_COLUMNS = 4000   # columns per batched block LP (whole blocks)


def _lp_by_blocks(p: _Problem, cf: _Configs, allowed: np.ndarray, K: int | None,
                  time_limit: float, t0: float, *, chunk_columns: int | None = None,
                  rel_tol: float = 1e-9, max_rounds: int = 200) -> dict | None:
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
    chunk_columns = _BLOCK_CHUNK_COLUMNS if chunk_columns is None else chunk_columns
    comp_ids, comp_size = np.unique(comp_col, return_counts=True)
    chunk_of_comp = np.full(n_comp, -1)
    chunk_of_comp[comp_ids] = np.cumsum(comp_size) // max(chunk_columns, 1)
    chunk_col = chunk_of_comp[comp_col]
    A_full, _, _ = _master_matrix(p, cf, idx, None)   # rows: institutions, then units
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


def _solve_config(p: _Problem, resp: Response, *, K: int | None, floor: np.ndarray,
                  max_units: int | None, per_institution: int, gap: float, time_limit: float,
                  configs: _Configs | None = None, all_columns: int = 2_000_000,
                  batch: int = 10, lp_method: str | None = None,
                  warm: np.ndarray | None = None, lp_route: str = "auto") -> dict:
    """Exact search over unit sets per institution (a set-partitioning "configuration" model).

    1. Column generation on the LP relaxation (HiGHS simplex): start from the current sets and
       the best single units, price every admissible set with the LP duals, add those with
       negative reduced cost, until none: the LP bound then holds over *all* sets.
    2. MILP over the generated sets gives an incumbent; every set whose reduced cost is within
       the LP-bound-to-incumbent gap is added (no other set can appear in a better plan) and the
       MILP re-solved, so the final plan is optimal over all sets (up to HiGHS's mip gap).

    ``lp_route``: ``"blocks"`` solves step 1 by :func:`_lp_by_blocks` (Dantzig–Wolfe over the
    independent blocks; falls back to the single LP when there is one block); ``"auto"`` does so
    above 150,000 sets. Step 2 is the same for both routes.

    ``warm`` (a mask over ``configs``, e.g. the previous solve's ``warm_next``) starts column
    generation from a few promising sets instead of all of them; pricing every set still
    certifies the LP bound, so the result is the same, only faster when re-solving.

    The configuration LP of an assignment with a concave (submodular) value per institution is
    much tighter than the compact "Σ rate·x inside a concave function" formulation, whose
    relaxation spreads units thinly along the concave curve (Jensen) and stalls branch-and-bound.
    """
    t0 = time.perf_counter()
    cf = configs if configs is not None else _enumerate_configs(
        p, resp, max_units=max_units, per_institution=per_institution)
    n_i, n_u = len(p.inst_ids), len(p.unit_ids)
    n_conf = cf.inst.size
    allowed = cf.intensity + 1e-9 >= floor[cf.inst]
    have = np.bincount(cf.inst[allowed], minlength=n_i)
    if np.any(have == 0):
        bad = np.flatnonzero(have == 0)
        return {"status": "infeasible", "message": f"no admissible unit set for {bad.size} "
                f"institution(s): {_fmt_ids(p.inst_ids[bad])}", "x": None, "seconds": 0.0,
                "gap": np.nan}
    # initial columns: current set (when admissible) and the best set per institution
    chosen = np.zeros(n_conf, dtype=bool)
    is_cur = (cf.added == 0) & (cf.dropped == 0)
    chosen[is_cur] = True
    order = np.lexsort((-cf.gain, cf.inst))
    rank0 = np.arange(order.size) - np.searchsorted(cf.inst[order], cf.inst[order])
    chosen[order[rank0 < batch]] = True
    if warm is not None:
        chosen |= warm
    elif n_conf <= all_columns:
        chosen[:] = True   # small enough: one LP over every set, no column generation
    chosen &= allowed
    if lp_method is None:
        # measured: dual simplex is faster up to ~10^5 columns, the interior-point method (with
        # crossover to a vertex) several times faster on national-size models
        lp_method = "highs-ipm" if n_conf > 150_000 else "highs-ds"
    big = 1e3 * (float(np.max(cf.gain, initial=0.0)) + 1.0)
    lp_obj = np.nan
    rounds = 0
    if lp_route not in ("auto", "blocks", "single"):
        raise SpecificationError(f"lp_route={lp_route!r} must be 'auto', 'blocks' or 'single'.")
    blk = None
    if lp_route == "blocks" or (lp_route == "auto" and n_conf > 150_000):
        blk = _lp_by_blocks(p, cf, allowed, K, time_limit, t0)
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
        A, lo, hi = _master_matrix(p, cf, idx, K)
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
        A, lo, hi = _master_matrix(p, cf, idx, K)
        remaining = max(time_limit - (time.perf_counter() - t0), 1.0)
        res = milp(-cf.gain[idx], integrality=np.ones(idx.size, dtype=np.uint8),
                   bounds=Bounds(0, 1), constraints=LinearConstraint(A, lo, hi),
                   options={"mip_rel_gap": gap, "time_limit": remaining})
        st = _STATUS.get(res.status, "error")
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
        A, _, _ = _master_matrix(p, cf, np.flatnonzero(chosen), K)
    return {"status": status, "message": "", "x": x, "seconds": time.perf_counter() - t0,
            "gap": certified, "lp_gap": lp_gap, "rounds": rounds, "lp_bound": lp_bound,
            "n_rows": A.shape[0], "n_cols": int(chosen.sum()),
            "nnz": int(A.nnz), "n_sets": int(allowed.sum()), "warm_next": warm_next}


def _diagnose(p: _Problem, K: int | None, floor: np.ndarray, max_units: int | None,
              per_institution: int, time_limit: float) -> InfeasibleError:
    """Phase-one (elastic) model: the smallest total relaxation that makes the problem feasible."""
    res = _phase_one(p, K=K, floor=floor, max_units=max_units, per_institution=per_institution,
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
                             f"{_fmt_ids(ids)}")
            elif name == "capacity":
                ids = p.unit_ids[s > 1e-6]
                parts.append(f"unit capacity would have to rise by {amount:.0f} "
                             f"(units {_fmt_ids(ids)})")
            elif name == "max_changes":
                parts.append(f"max_changes={K} would have to rise by {max(s):.0f}")
            elif name == "equity_floor":
                parts.append(f"the equity floor would have to fall by {amount:.3g} activities per "
                             "quarter in total")
    return InfeasibleError("The allocation constraints cannot all be met together; the smallest "
                           "relaxation: " + "; ".join(parts) + ".")


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
    lp_route: str = "auto",
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
    resp = response or Response()
    if max_changes is not None and (not isinstance(max_changes, (int, np.integer))
                                    or max_changes < 0):
        raise SpecificationError(f"max_changes={max_changes!r} must be a whole number >= 0 or None.")
    p = _prepare(units, institutions, current, candidates, same_county=same_county,
                 min_units=min_units)
    n_i = len(p.inst_ids)
    neediest = np.zeros(n_i, dtype=bool)
    floor = np.zeros(n_i)
    if equity_floor is not None:
        if not np.isfinite(equity_floor) or equity_floor < 0:
            raise SpecificationError(f"equity_floor={equity_floor!r} must be >= 0.")
        neediest = _neediest(p, neediest_share)
        floor = np.where(neediest, float(equity_floor), 0.0)
    K = None if max_changes is None else int(max_changes)
    if max_units is not None and (not isinstance(max_units, (int, np.integer))
                                  or max_units < max(1, min_units)):
        raise SpecificationError(f"max_units={max_units!r} must be a whole number >= min_units "
                                 f"({min_units}) and >= 1, or None.")
    if not isinstance(changes_per_institution, (int, np.integer)) or changes_per_institution < 0:
        raise SpecificationError(f"changes_per_institution={changes_per_institution!r} must be a "
                                 "whole number >= 0.")
    _precheck(p, K, floor)
    n_cur_i = np.bincount(p.e_i[p.e_cur], minlength=n_i)
    short = np.flatnonzero(n_cur_i + changes_per_institution < p.min_units)
    if short.size:
        raise InfeasibleError(
            f"{short.size} institution(s) have {int(n_cur_i[short].min())} current unit(s) and at "
            f"most {changes_per_institution} may be added, short of min_units={p.min_units}: "
            f"{_fmt_ids(p.inst_ids[short])}. Raise changes_per_institution.")
    t_enum = time.perf_counter()
    cf = _enumerate_configs(p, resp, max_units=max_units, per_institution=changes_per_institution)
    t_enum = time.perf_counter() - t_enum
    common = dict(max_units=max_units, per_institution=changes_per_institution, gap=mip_rel_gap,
                  time_limit=time_limit, configs=cf, lp_route=lp_route)
    main = _solve_config(p, resp, K=K, floor=floor, **common)
    main["seconds"] += t_enum
    if main["status"] == "infeasible":
        raise _diagnose(p, K, floor, max_units, changes_per_institution, time_limit)
    if main["x"] is None:
        raise SpecificationError(f"HiGHS stopped without a plan: {main['message']}. Raise "
                                 "time_limit or mip_rel_gap.")
    x = main["x"]
    obj = _objective(p, resp, x)
    x0 = p.e_cur.astype(float)
    sq_obj = _objective(p, resp, x0)
    total_seconds = main["seconds"]

    unc_obj = obj
    if compare_unconstrained and (K is not None or equity_floor is not None):
        unc = _solve_config(p, resp, K=None, floor=np.zeros(n_i), warm=main["warm_next"],
                            **common)
        total_seconds += unc["seconds"]
        if unc["x"] is not None:
            unc_obj = _objective(p, resp, unc["x"])
    y = _intensity(p, x)
    # constraints table
    added = int(np.sum(x * ~p.e_cur))
    ended = int(np.sum((1 - x) * p.e_cur))
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
        price = np.nan
        binding = int(added >= K) + int(ended >= K)
        if marginal_values and binding:
            more = _solve_config(p, resp, K=K + 1, floor=floor, warm=main["warm_next"],
                                 **common)
            total_seconds += more["seconds"]
            if more["x"] is not None:
                price = _objective(p, resp, more["x"]) - obj
        rows.append({"constraint": "max_changes", "rows": 2, "at_bound": binding,
                     "shadow_price": price,
                     "note": f"added {added}, ended {ended} of at most {K} each; shadow price = "
                             "gain from one more change (re-solved)"})
    if equity_floor is not None:
        price = np.nan
        binding = int(np.sum(neediest & (y <= floor + 1e-7)))
        if marginal_values:
            free = _solve_config(p, resp, K=K, floor=np.zeros(n_i), warm=main["warm_next"],
                                 **common)
            total_seconds += free["seconds"]
            if free["x"] is not None:
                price = _objective(p, resp, free["x"]) - obj
        rows.append({"constraint": "equity_floor", "rows": int(neediest.sum()), "at_bound": binding,
                     "shadow_price": price,
                     "note": f">= {equity_floor:g} activities/quarter for the neediest "
                             f"{neediest_share:.0%}; shadow price = gain if the floor were removed"})
    if same_county:
        rows.append({"constraint": "same_county", "rows": len(p.e_u), "at_bound": 0,
                     "shadow_price": np.nan, "note": "candidate pairs restricted to the county"})
    constraints = pd.DataFrame(rows)
    # a constraint binds when relaxing it would raise the optimum: known exactly where it was
    # priced by re-solving; for coverage/capacity only "rows at their bound" is reported
    constraints["binds"] = np.where(constraints["shadow_price"].notna(),
                                    constraints["shadow_price"] > 1e-9, pd.NA)

    inst = pd.DataFrame({
        "institution_id": p.inst_ids, "base": p.base, "weight": p.w,
        "intensity_current": _intensity(p, x0), "intensity_recommended": y,
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


# ---------------------------------------------------------------------------------------------
# budget allocation
# ---------------------------------------------------------------------------------------------
def _budget_lp(base, w, floor, B, cost, resp, ub=None):
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
    _require(institutions, "institutions", ["institution_id", "base"])
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

    res, secs = _budget_lp(base, w, floor, budget, cost_per_activity, resp)
    if res.status != 0:
        raise SpecificationError(f"HiGHS could not solve the budget problem: {res.message}")
    b = np.clip(res.x[:n], floor, None)
    res_u, secs_u = _budget_lp(base, w, np.zeros(n), budget, cost_per_activity, resp)
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
